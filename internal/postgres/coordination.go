package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/auth"
	"secondment/internal/secondment"
)

// PendingParty is who must act on a request now: the role and the unit
// whose move it is; ok is false when nothing waits for anyone.
func PendingParty(rec SecondmentRecord) (role secondment.Role, unitID int64, ok bool) {
	switch rec.State {
	case secondment.StateAwaitingConsent, secondment.StateReturnRecorded:
		return secondment.RoleLender, rec.LenderID, true
	case secondment.StateAwaitingSignoff, secondment.StateTransferPending:
		return secondment.RoleOrgDept, rec.OrgDeptID, true
	case secondment.StateSentBack, secondment.StateApproved:
		return secondment.RoleBorrower, rec.BorrowerID, true
	}
	return "", 0, false
}

// ErrTooSoon is a repeated urge within the interval.
var ErrTooSoon = errors.New("urged too recently")

func notifyUser(ctx context.Context, tx pgx.Tx, role secondment.Role, unitID, userID, secondmentID int64, m secondment.Message, now time.Time) error {
	data := []byte("{}")
	if m.Data != nil {
		var err error
		if data, err = json.Marshal(m.Data); err != nil {
			return fmt.Errorf("encode notification: %w", err)
		}
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO notification_outbox (recipient_role, recipient_unit_id, recipient_user_id, secondment_id,
		                                 message_id, message_data, created_at, next_attempt_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, role, unitID, nullID(userID), nullID(secondmentID), m.ID, data, now)
	if err != nil {
		return fmt.Errorf("queue notification %s: %w", m.ID, mapError(err, "notification"))
	}
	return nil
}

// SecondmentUrge reminds whoever must act on a request (催办). One user may
// urge one request once per interval; more is ErrTooSoon, inside EConflict.
func (s *Store) SecondmentUrge(ctx context.Context, by auth.User, id int64, interval time.Duration, now time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		rec, err := getSecondment(ctx, tx, id)
		if err != nil {
			return err
		}
		role, unit, ok := PendingParty(rec)
		if !ok || unit == 0 {
			return conflictError(fmt.Errorf("secondment %d in %s waits for nobody", id, rec.State))
		}
		if unit == by.UnitID && hasChainRole(by, role) {
			return forbiddenError(fmt.Errorf("%s would urge their own step", by.Login))
		}
		// Lock the urger's row so two simultaneous urges count as two.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM app_user WHERE id = $1 FOR UPDATE`, by.ID); err != nil {
			return fmt.Errorf("lock user: %w", err)
		}
		var recent bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM secondment_urge
			WHERE secondment_id = $1 AND user_id = $2 AND at > $3)`, id, by.ID, now.Add(-interval)).Scan(&recent); err != nil {
			return fmt.Errorf("check urges: %w", err)
		}
		if recent {
			return &secondment.Error{Code: secondment.EConflict, Message: secondment.Msg("urge.error.too_soon",
				"Hours", int(interval/time.Hour)), Err: ErrTooSoon}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO secondment_urge (secondment_id, user_id, step, at) VALUES ($1, $2, $3, $4)`,
			id, by.ID, rec.State, now); err != nil {
			return fmt.Errorf("record urge: %w", err)
		}
		var handler int64
		_ = tx.QueryRow(ctx, `SELECT user_id FROM secondment_handler WHERE secondment_id = $1 AND step = $2`, id, rec.State).Scan(&handler)
		m := secondment.Msg("notify.urge", "Actor", by.Name, "Unit", by.UnitName, "Number", rec.Number, "Person", rec.PersonName)
		if err := notifyUser(ctx, tx, role, unit, handler, id, m, now); err != nil {
			return err
		}
		return auditInsert(ctx, tx, AuditEvent{At: now, ActorID: by.ID, ActorName: by.Name, Action: "secondment.urge",
			ObjectType: "secondment", ObjectID: id, UnitID: rec.BorrowerID,
			Detail: map[string]any{"state": rec.State, "to_role": role, "to_unit": unit}})
	})
}

// SecondmentCopy copies a user in on a request, read-only (抄送).
func (s *Store) SecondmentCopy(ctx context.Context, by auth.User, id int64, login string, now time.Time) (auth.User, error) {
	var to auth.User
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rec, err := getSecondment(ctx, tx, id)
		if err != nil {
			return err
		}
		to, err = scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM app_user u JOIN unit un ON un.id = u.unit_id
			WHERE u.login = $1 AND u.disabled_at IS NULL`, login))
		if errors.Is(err, pgx.ErrNoRows) {
			return fieldError("login", "cc.error.unknown")
		}
		if err != nil {
			return fmt.Errorf("look up %s: %w", login, err)
		}
		var role secondment.Role
		for _, r := range to.Roles {
			if cr, ok := r.Chain(); ok {
				role = cr
				break
			}
		}
		if role == "" {
			// The same words as for an unknown name: the answer must not
			// tell which accounts exist.
			return fieldError("login", "cc.error.unknown")
		}
		tag, err := tx.Exec(ctx, `INSERT INTO secondment_cc (secondment_id, user_id, added_by, added_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`, id, to.ID, by.ID, now)
		if err != nil {
			return fmt.Errorf("copy in: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return nil // already copied in: nothing to do, nothing to say again
		}
		m := secondment.Msg("notify.cc", "Actor", by.Name, "Number", rec.Number, "Person", rec.PersonName)
		if err := notifyUser(ctx, tx, role, to.UnitID, to.ID, id, m, now); err != nil {
			return err
		}
		return auditInsert(ctx, tx, AuditEvent{At: now, ActorID: by.ID, ActorName: by.Name, Action: "secondment.cc",
			ObjectType: "secondment", ObjectID: id, UnitID: rec.BorrowerID, Detail: map[string]any{"to": to.Login}})
	})
	return to, err
}

// SecondmentCopied reports whether the user was copied in on a request.
func (s *Store) SecondmentCopied(ctx context.Context, id, userID int64) (bool, error) {
	var ok bool
	err := s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM secondment_cc WHERE secondment_id = $1 AND user_id = $2)`, id, userID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("check copy: %w", err)
	}
	return ok, nil
}

// SecondmentHandOver hands the pending step of a request to a colleague of
// the same unit holding the same role (转交). From then on only they take
// that step. by must be a party to the step.
func (s *Store) SecondmentHandOver(ctx context.Context, by auth.User, id int64, toUserID int64, now time.Time) (auth.User, error) {
	var to auth.User
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rec, err := getSecondment(ctx, tx, id)
		if err != nil {
			return err
		}
		role, unit, ok := PendingParty(rec)
		if !ok || unit != by.UnitID || !hasChainRole(by, role) {
			return forbiddenError(fmt.Errorf("%s may not hand over step %s of secondment %d", by.Login, rec.State, id))
		}
		var handler int64
		_ = tx.QueryRow(ctx, `SELECT user_id FROM secondment_handler WHERE secondment_id = $1 AND step = $2`, id, rec.State).Scan(&handler)
		if handler != 0 && handler != by.ID {
			return forbiddenError(fmt.Errorf("step %s of secondment %d is handled by user %d", rec.State, id, handler))
		}
		to, err = scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM app_user u JOIN unit un ON un.id = u.unit_id
			WHERE u.id = $1 AND u.disabled_at IS NULL`, toUserID))
		if err != nil || to.UnitID != unit || !hasChainRole(to, role) || to.ID == by.ID {
			return fieldError("to", "handover.error.colleague")
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO secondment_handler (secondment_id, step, user_id, assigned_by, assigned_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (secondment_id, step) DO UPDATE SET user_id = EXCLUDED.user_id, assigned_by = EXCLUDED.assigned_by,
				assigned_at = EXCLUDED.assigned_at`, id, rec.State, to.ID, by.ID, now); err != nil {
			return fmt.Errorf("hand over: %w", err)
		}
		m := secondment.Msg("notify.handover", "Actor", by.Name, "Number", rec.Number, "Person", rec.PersonName)
		if err := notifyUser(ctx, tx, role, unit, to.ID, id, m, now); err != nil {
			return err
		}
		return auditInsert(ctx, tx, AuditEvent{At: now, ActorID: by.ID, ActorName: by.Name, Action: "secondment.handover",
			ObjectType: "secondment", ObjectID: id, UnitID: rec.BorrowerID,
			Detail: map[string]any{"step": rec.State, "to": to.Login}})
	})
	return to, err
}

func hasChainRole(u auth.User, r secondment.Role) bool {
	for _, role := range u.Roles {
		if cr, ok := role.Chain(); ok && cr == r {
			return true
		}
	}
	return false
}

// SecondmentHandler is the user a request's current step was handed to, if
// any.
func (s *Store) SecondmentHandler(ctx context.Context, id int64, step secondment.State) (auth.User, bool, error) {
	var userID int64
	err := s.Pool.QueryRow(ctx, `SELECT user_id FROM secondment_handler WHERE secondment_id = $1 AND step = $2`, id, step).Scan(&userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return auth.User{}, false, nil
	}
	if err != nil {
		return auth.User{}, false, fmt.Errorf("read handler: %w", err)
	}
	u, err := s.UserGet(ctx, userID)
	return u, err == nil, err
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

// checkHandler refuses the pending step to anyone but the colleague it was
// handed to; the other parties' steps (a borrower's withdrawal) are not
// affected.
func checkHandler(ctx context.Context, tx pgx.Tx, rec SecondmentRecord, actor secondment.Actor) error {
	if role, _, ok := PendingParty(rec); !ok || actor.Role != role {
		return nil
	}
	var handler int64
	err := tx.QueryRow(ctx, `SELECT user_id FROM secondment_handler WHERE secondment_id = $1 AND step = $2`, rec.ID, rec.State).Scan(&handler)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read handler: %w", err)
	}
	if handler != actor.UserID {
		return &secondment.Error{Code: secondment.EForbidden, Message: secondment.Msg("handover.error.not_yours"),
			Err: fmt.Errorf("%w: step handed to user %d", secondment.ErrForbidden, handler)}
	}
	return nil
}
