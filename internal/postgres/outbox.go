package postgres

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/secondment"
)

// Notification is a message to the holders of a role in a unit, kept in
// the outbox table: written in the transaction of the step that caused it,
// delivered by a worker, shown in the header badge until read.
type Notification struct {
	ID            int64
	Role          secondment.Role
	UnitID        int64
	UserID        int64 // 0: every holder of the role in the unit
	SecondmentID  int64 // 0 when about no request
	Message       secondment.Message
	CreatedAt     time.Time
	DeliveredAt   time.Time // zero until delivered
	ReadAt        time.Time // zero until read
	Attempts      int       // deliveries claimed so far
	NextAttemptAt time.Time
	LastError     string
}

// NotificationLease is how long a claimed notification stays with its
// worker: if the worker neither marks it delivered nor failed within the
// lease (it crashed), another claim takes it again. Delivery is therefore
// at least once.
const NotificationLease = 5 * time.Minute

// notificationColumns lists the columns scanNotification reads, of the
// table aliased n.
const notificationColumns = `n.id, n.recipient_role, n.recipient_unit_id, coalesce(n.recipient_user_id, 0),
       coalesce(n.secondment_id, 0), n.message_id, n.message_data, n.created_at, n.delivered_at, n.read_at,
       n.attempts, n.next_attempt_at, n.last_error`

func scanNotification(row pgx.Row) (Notification, error) {
	var n Notification
	var data []byte
	var delivered, read *time.Time
	err := row.Scan(&n.ID, &n.Role, &n.UnitID, &n.UserID, &n.SecondmentID, &n.Message.ID, &data,
		&n.CreatedAt, &delivered, &read, &n.Attempts, &n.NextAttemptAt, &n.LastError)
	if err != nil {
		return n, err
	}
	if delivered != nil {
		n.DeliveredAt = *delivered
	}
	if read != nil {
		n.ReadAt = *read
	}
	// Numbers stay json.Number, which a template prints as written
	// ("92", not "92.0" or "9.2e+01").
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&n.Message.Data); err != nil {
		return n, fmt.Errorf("decode notification %d: %w", n.ID, err)
	}
	if len(n.Message.Data) == 0 {
		n.Message.Data = nil
	}
	return n, nil
}

// insertNotifications adds a step's notifications to the outbox, due now.
func insertNotifications(ctx context.Context, tx pgx.Tx, secondmentID int64, ns []secondment.Notification, now time.Time) error {
	for _, n := range ns {
		data, err := json.Marshal(n.Message.Data)
		if err != nil {
			return fmt.Errorf("encode notification %s: %w", n.Message.ID, err)
		}
		if n.Message.Data == nil {
			data = []byte("{}")
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO notification_outbox (recipient_role, recipient_unit_id, secondment_id, message_id,
			                                 message_data, created_at, next_attempt_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6)`,
			n.Role, n.UnitID, nullID(secondmentID), n.Message.ID, data, now)
		if err != nil {
			return fmt.Errorf("queue notification %s to %s of unit %d: %w", n.Message.ID, n.Role, n.UnitID,
				mapError(err, "notification"))
		}
	}
	return nil
}

// NotificationClaim hands a worker up to limit notifications due at now,
// oldest due first. Each claimed row counts an attempt and is leased for
// NotificationLease; rows another worker is claiming at the same moment
// are skipped (FOR UPDATE SKIP LOCKED), so two workers never get the same
// row.
func (s *Store) NotificationClaim(ctx context.Context, limit int, now time.Time) ([]Notification, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.Pool.Query(ctx, `
		WITH due AS (
		    SELECT id FROM notification_outbox
		    WHERE delivered_at IS NULL AND next_attempt_at <= $1
		    ORDER BY next_attempt_at, id
		    LIMIT $2
		    FOR UPDATE SKIP LOCKED)
		UPDATE notification_outbox n
		SET attempts = n.attempts + 1, next_attempt_at = $3
		FROM due WHERE n.id = due.id
		RETURNING `+notificationColumns,
		now, limit, now.Add(NotificationLease))
	if err != nil {
		return nil, fmt.Errorf("claim notifications: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notification, error) { return scanNotification(r) })
	if err != nil {
		return nil, fmt.Errorf("claim notifications: %w", err)
	}
	slices.SortFunc(out, func(a, b Notification) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// NotificationMarkDelivered records a delivery. Marking a delivered
// notification again changes nothing.
func (s *Store) NotificationMarkDelivered(ctx context.Context, id int64, now time.Time) error {
	tag, err := s.Pool.Exec(ctx, `
		UPDATE notification_outbox SET delivered_at = $2, last_error = '' WHERE id = $1 AND delivered_at IS NULL`, id, now)
	if err != nil {
		return fmt.Errorf("mark notification %d delivered: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return s.notificationExists(ctx, id)
	}
	return nil
}

// NotificationMarkFailed records a failed delivery; the notification is
// due again at retryAt. Failed notifications are never dropped: the worker
// chooses the backoff from Attempts.
func (s *Store) NotificationMarkFailed(ctx context.Context, id int64, cause string, retryAt time.Time) error {
	if r := []rune(cause); len(r) > 2000 {
		cause = string(r[:2000])
	}
	tag, err := s.Pool.Exec(ctx, `
		UPDATE notification_outbox SET last_error = $2, next_attempt_at = $3 WHERE id = $1 AND delivered_at IS NULL`,
		id, cause, retryAt)
	if err != nil {
		return fmt.Errorf("mark notification %d failed: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return s.notificationExists(ctx, id) // delivered meanwhile: nothing to retry
	}
	return nil
}

func (s *Store) notificationExists(ctx context.Context, id int64) error {
	var ok bool
	if err := s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM notification_outbox WHERE id = $1)`, id).Scan(&ok); err != nil {
		return fmt.Errorf("look up notification %d: %w", id, err)
	}
	if !ok {
		return secondment.NotFound("notification")
	}
	return nil
}

// NotificationCountFor counts the unread notifications to role in unitID,
// for the header badge.
func (s *Store) NotificationCountFor(ctx context.Context, role secondment.Role, unitID, userID int64) (int, error) {
	var n int
	err := s.Pool.QueryRow(ctx, `
		SELECT count(*) FROM notification_outbox
		WHERE recipient_role = $1 AND recipient_unit_id = $2 AND read_at IS NULL
		  AND (recipient_user_id IS NULL OR recipient_user_id = $3)`, role, unitID, userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count notifications: %w", err)
	}
	return n, nil
}

// NotificationListFor lists a page of the notifications to role in
// unitID (those to the whole role and those to userID), newest first,
// read ones included, after the cursor (zero: the first page).
func (s *Store) NotificationListFor(ctx context.Context, role secondment.Role, unitID, userID int64, after Cursor, limit int) ([]Notification, error) {
	args := []any{role, unitID, userID, limit}
	page := ""
	if after.ID != 0 {
		args = append(args, after.CreatedAt, after.ID)
		page = ` AND (created_at, id) < ($5::timestamptz, $6::bigint)`
	}
	rows, err := s.Pool.Query(ctx, `
		SELECT `+notificationColumns+` FROM notification_outbox n
		WHERE recipient_role = $1 AND recipient_unit_id = $2
		  AND (recipient_user_id IS NULL OR recipient_user_id = $3)`+page+`
		ORDER BY created_at DESC, id DESC LIMIT $4`, args...)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notification, error) { return scanNotification(r) })
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return out, nil
}

// NotificationPrune deletes up to batch notifications read and delivered
// before cutoff, and reports how many: the inbox keeps what a user may
// still look for, not every message ever sent.
func (s *Store) NotificationPrune(ctx context.Context, cutoff time.Time, batch int) (int, error) {
	tag, err := s.Pool.Exec(ctx, `
		DELETE FROM notification_outbox WHERE id IN (
			SELECT id FROM notification_outbox
			WHERE read_at < $1 AND delivered_at IS NOT NULL
			LIMIT $2 FOR UPDATE SKIP LOCKED)`, cutoff, batch)
	if err != nil {
		return 0, fmt.Errorf("prune notifications: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// NotificationMarkAllRead marks everything told to role in unitID (to the
// whole role or to userID) read, in one statement; it returns how many. A
// user can only clear their own badge: the recipient is the filter.
func (s *Store) NotificationMarkAllRead(ctx context.Context, role secondment.Role, unitID, userID int64, now time.Time) (int, error) {
	tag, err := s.Pool.Exec(ctx, `
		UPDATE notification_outbox SET read_at = $3
		WHERE recipient_role = $1 AND recipient_unit_id = $2 AND read_at IS NULL AND created_at <= $3
		  AND (recipient_user_id IS NULL OR recipient_user_id = $4)`,
		role, unitID, now, userID)
	if err != nil {
		return 0, fmt.Errorf("mark notifications read: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
