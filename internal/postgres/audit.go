package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditEvent is one line of the audit trail.
type AuditEvent struct {
	ID         int64
	At         time.Time
	ActorID    int64 // 0: the system, or someone not signed in
	ActorName  string
	Action     string // e.g. user.sign_in, secondment.approve
	ObjectType string
	ObjectID   int64
	UnitID     int64
	Detail     map[string]any
	RequestID  string
}

type requestIDKey struct{}

// WithRequestID tags ctx with the HTTP request's ID, which every audit
// event written under it records.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// auditInsert writes e in the caller's transaction, so the event commits
// with the change it describes or not at all.
func auditInsert(ctx context.Context, tx pgx.Tx, e AuditEvent) error {
	detail := e.Detail
	if detail == nil {
		detail = map[string]any{}
	}
	b, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("encode audit detail: %w", err)
	}
	if e.RequestID == "" {
		e.RequestID = requestID(ctx)
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO audit_event (at, actor_user_id, actor_name, action, object_type, object_id, unit_id, detail, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		e.At, nullID(e.ActorID), e.ActorName, e.Action, e.ObjectType, nullID(e.ObjectID), nullID(e.UnitID), b, e.RequestID)
	if err != nil {
		return fmt.Errorf("write audit event %s: %w", e.Action, err)
	}
	return nil
}

// AuditFilter narrows the audit trail; zero values do not filter.
type AuditFilter struct {
	Action  string // prefix, e.g. "user." or "secondment.approve"
	ActorID int64
	From    time.Time
	To      time.Time // exclusive
	Before  int64     // keyset: events older than this one; 0: the newest
	Limit   int
}

// AuditList returns events newest first (in the order they were written),
// and whether more follow. Only the filters set are written into the query,
// which walks the primary key backwards from Before.
func (s *Store) AuditList(ctx context.Context, f AuditFilter) ([]AuditEvent, bool, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	where := []string{"true"}
	if f.Action != "" {
		where = append(where, "starts_with(action, "+arg(f.Action)+")")
	}
	if f.ActorID != 0 {
		where = append(where, "actor_user_id = "+arg(f.ActorID))
	}
	if !f.From.IsZero() {
		where = append(where, "at >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "at < "+arg(f.To))
	}
	if f.Before != 0 {
		where = append(where, "id < "+arg(f.Before))
	}
	rows, err := s.Pool.Query(ctx, `
		SELECT id, at, coalesce(actor_user_id, 0), actor_name, action, object_type, coalesce(object_id, 0),
		       coalesce(unit_id, 0), detail, request_id
		FROM audit_event WHERE `+strings.Join(where, " AND ")+`
		ORDER BY id DESC LIMIT `+arg(f.Limit+1), args...)
	if err != nil {
		return nil, false, fmt.Errorf("list audit events: %w", err)
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEvent, error) {
		var e AuditEvent
		err := r.Scan(&e.ID, &e.At, &e.ActorID, &e.ActorName, &e.Action, &e.ObjectType, &e.ObjectID,
			&e.UnitID, &e.Detail, &e.RequestID)
		return e, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("list audit events: %w", err)
	}
	more := len(events) > f.Limit
	if more {
		events = events[:f.Limit]
	}
	return events, more, nil
}
