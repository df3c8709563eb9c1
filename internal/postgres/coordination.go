package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/auth"
	"secondment/internal/secondment"
)

// Notify queues a notification to the holders of role in unitID, or to
// userID alone (0: all of them), about request secondmentID (0: none).
func (t *Tx) Notify(ctx context.Context, role secondment.Role, unitID, userID, secondmentID int64, m secondment.Message, now time.Time) error {
	return notifyUser(ctx, t.q, role, unitID, userID, secondmentID, m, now)
}

func notifyUser(ctx context.Context, q dbtx, role secondment.Role, unitID, userID, secondmentID int64, m secondment.Message, now time.Time) error {
	data := []byte("{}")
	if m.Data != nil {
		var err error
		if data, err = json.Marshal(m.Data); err != nil {
			return fmt.Errorf("encode notification: %w", err)
		}
	}
	_, err := q.Exec(ctx, `
		INSERT INTO notification_outbox (recipient_role, recipient_unit_id, recipient_user_id, secondment_id,
		                                 message_id, message_data, created_at, next_attempt_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, role, unitID, nullID(userID), nullID(secondmentID), m.ID, data, now)
	if err != nil {
		return fmt.Errorf("queue notification %s: %w", m.ID, mapError(err, "notification"))
	}
	return nil
}

// Audit writes e in the transaction, so it commits with its change.
func (t *Tx) Audit(ctx context.Context, e AuditEvent) error { return auditInsert(ctx, t.q, e) }

// UrgedSince reports whether userID urged request id after since. It locks
// the user's row first, so two simultaneous urges by one user count as two.
func (t *Tx) UrgedSince(ctx context.Context, id, userID int64, since time.Time) (bool, error) {
	if _, err := t.q.Exec(ctx, `SELECT 1 FROM app_user WHERE id = $1 FOR UPDATE`, userID); err != nil {
		return false, fmt.Errorf("lock user %d: %w", userID, err)
	}
	var recent bool
	err := t.q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM secondment_urge
		WHERE secondment_id = $1 AND user_id = $2 AND at > $3)`, id, userID, since).Scan(&recent)
	if err != nil {
		return false, fmt.Errorf("check urges: %w", err)
	}
	return recent, nil
}

// UrgeRecord records that userID urged step of request id.
func (t *Tx) UrgeRecord(ctx context.Context, id, userID int64, step secondment.State, now time.Time) error {
	if _, err := t.q.Exec(ctx, `INSERT INTO secondment_urge (secondment_id, user_id, step, at) VALUES ($1, $2, $3, $4)`,
		id, userID, step, now); err != nil {
		return fmt.Errorf("record urge: %w", err)
	}
	return nil
}

// UserByLogin returns the enabled account with login; any other is
// ENotFound.
func (t *Tx) UserByLogin(ctx context.Context, login string) (auth.User, error) {
	u, err := scanUser(t.q.QueryRow(ctx, `SELECT `+userColumns+` FROM app_user u JOIN unit un ON un.id = u.unit_id
		WHERE u.login = $1 AND u.disabled_at IS NULL`, login))
	return u, mapError(err, "user")
}

// UserGet returns the enabled account id; any other is ENotFound.
func (t *Tx) UserGet(ctx context.Context, id int64) (auth.User, error) {
	u, err := scanUser(t.q.QueryRow(ctx, `SELECT `+userColumns+` FROM app_user u JOIN unit un ON un.id = u.unit_id
		WHERE u.id = $1 AND u.disabled_at IS NULL`, id))
	return u, mapError(err, "user")
}

// CopyIn copies userID in on request id, read-only (抄送); it reports
// false when they were already.
func (t *Tx) CopyIn(ctx context.Context, id, userID, by int64, now time.Time) (bool, error) {
	tag, err := t.q.Exec(ctx, `INSERT INTO secondment_cc (secondment_id, user_id, added_by, added_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, id, userID, by, now)
	if err != nil {
		return false, fmt.Errorf("copy in: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// HandlerSet hands step of request id to userID (转交), bumping the
// request's version when it is still version: a hand-over changes who may
// act, so a page read before it is stale, and a step racing it loses.
func (t *Tx) HandlerSet(ctx context.Context, id int64, version int, step secondment.State, userID, by int64, now time.Time) error {
	tag, err := t.q.Exec(ctx, `UPDATE secondment SET version = version + 1, updated_at = $3 WHERE id = $1 AND version = $2`,
		id, version, now)
	if err != nil {
		return fmt.Errorf("hand over: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrVersion
	}
	if _, err := t.q.Exec(ctx, `
		INSERT INTO secondment_handler (secondment_id, step, user_id, assigned_by, assigned_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (secondment_id, step) DO UPDATE SET user_id = EXCLUDED.user_id, assigned_by = EXCLUDED.assigned_by,
			assigned_at = EXCLUDED.assigned_at`, id, step, userID, by, now); err != nil {
		return fmt.Errorf("hand over: %w", err)
	}
	return nil
}

// UserColleagues lists the enabled users of unitID holding role.
func (s *Store) UserColleagues(ctx context.Context, unitID int64, role auth.Role) ([]auth.User, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+userColumns+` FROM app_user u JOIN unit un ON un.id = u.unit_id
		WHERE u.unit_id = $1 AND u.disabled_at IS NULL
		  AND EXISTS (SELECT 1 FROM user_role r WHERE r.user_id = u.id AND r.role = $2)
		ORDER BY u.login`, unitID, role)
	if err != nil {
		return nil, fmt.Errorf("list colleagues: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (auth.User, error) { return scanUser(r) })
}

// DirectoryOf lists up to limit enabled accounts of units that take part
// in the approval chain (any of its roles), for a picker: who may be
// copied in, or named a proxy. By unit, then login.
func (s *Store) DirectoryOf(ctx context.Context, units []int64, limit int) ([]auth.User, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+userColumns+` FROM app_user u JOIN unit un ON un.id = u.unit_id
		WHERE u.unit_id = ANY ($1::bigint[]) AND u.disabled_at IS NULL
		  AND EXISTS (SELECT 1 FROM user_role r WHERE r.user_id = u.id AND r.role IN ('borrower', 'lender', 'orgdept', 'registrar'))
		ORDER BY un.code, u.login LIMIT $2`, units, limit)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (auth.User, error) { return scanUser(r) })
}
