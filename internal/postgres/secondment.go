package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"secondment/internal/secondment"
)

// Sentinel causes of the EConflict errors the store returns, for errors.Is.
// Both carry the message "error.conflict" (已被他人处理).
var (
	// ErrStale: the version the caller read (If-Match) is no longer the
	// stored one. The HTTP layer answers 412.
	ErrStale = errors.New("stale version")
	// ErrConcurrentUpdate: another transaction changed the request between
	// this one's read and its guarded write.
	ErrConcurrentUpdate = errors.New("concurrent update")
)

func conflictError(cause error) error {
	return &secondment.Error{Code: secondment.EConflict, Message: secondment.Msg("error.conflict"), Err: cause}
}

func forbiddenError(cause error) error {
	return &secondment.Error{Code: secondment.EForbidden, Message: secondment.Msg("error.forbidden"),
		Err: fmt.Errorf("%w: %w", secondment.ErrForbidden, cause)}
}

// versionError is the error for a guarded write that found another version:
// stale when the caller named the version it saw, a lost race otherwise.
func versionError(id int64, ifVersion, stored int) error {
	if ifVersion != 0 {
		return conflictError(fmt.Errorf("secondment %d: version %d is not the stored %d: %w", id, ifVersion, stored, ErrStale))
	}
	return conflictError(fmt.Errorf("secondment %d changed since version %d: %w", id, stored, ErrConcurrentUpdate))
}

// SecondmentRecord is a request as stored: the domain's Secondment with the
// store's bookkeeping.
type SecondmentRecord struct {
	secondment.Secondment
	Number               string // 借调〔2024〕0001, "" for a draft
	Version              int    // optimistic concurrency; every change increments it
	ChangedSinceSentBack bool   // edited after a send-back: a resubmission asks the lender again
	TransferLeadership   bool   // the transfer-in applied for fills a leadership post (R12)
	CreatedAt, UpdatedAt time.Time
	ClosedAt             time.Time // zero until a terminal state
}

// SecondmentFilter narrows SecondmentList; zero fields do not filter, and
// the fields that are set must all match.
type SecondmentFilter struct {
	BorrowerID int64
	LenderID   int64
	OrgDeptID  int64
	PersonID   int64
	States     []secondment.State
	Limit      int // 0: no limit
}

// dbtx is what a use case reads through: the pool or its transaction.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const secondmentSelect = `
SELECT s.id, s.state, s.kind, s.alias, s.purpose, s.task, s.person_id, s.borrower_id, s.lender_id,
       s.start_date, s.end_date, coalesce(s.previous_id, 0), s.justification,
       coalesce(s.jurisdiction_id, 0), coalesce(s.org_dept_id, 0), coalesce(pol.version, 0),
       s.submitted_on, coalesce(s.submitted_by, 0), s.consented_on, s.approved_on,
       s.exception_rules, s.exception_approver, s.started_on, s.filed_by_borrower, s.filed_by_lender,
       s.recalled_on, s.returned_on, s.handover, s.return_confirmed_on, coalesce(s.renewal_id, 0),
       coalesce(s.transfer_method, ''), coalesce(s.number, ''), s.version, s.changed_since_sent_back,
       s.transfer_leadership, s.created_at, s.updated_at, s.closed_at,
       pe.name, b.name, l.name
FROM secondment s
JOIN person pe ON pe.id = s.person_id
JOIN unit b ON b.id = s.borrower_id
JOIN unit l ON l.id = s.lender_id
LEFT JOIN policy pol ON pol.id = s.policy_id`

// dateCol scans a nullable PostgreSQL date into a civil date (NULL = zero).
type dateCol struct{ d *secondment.Date }

func (c dateCol) ScanDate(v pgtype.Date) error {
	*c.d = secondment.Date{}
	if v.Valid {
		*c.d = dateOf(v.Time)
	}
	return nil
}

// dateArg is a civil date as a query argument; the zero Date is NULL.
func dateArg(d secondment.Date) pgtype.Date {
	if d.IsZero() {
		return pgtype.Date{}
	}
	return pgtype.Date{Time: time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC), Valid: true}
}

func scanSecondment(row pgx.Row) (SecondmentRecord, error) {
	var r SecondmentRecord
	s := &r.Secondment
	var exceptions []string
	var closed *time.Time
	err := row.Scan(&s.ID, &s.State, &s.Kind, &s.Alias, &s.Purpose, &s.Task, &s.PersonID, &s.BorrowerID, &s.LenderID,
		dateCol{&s.Start}, dateCol{&s.End}, &s.PreviousID, &s.Justification,
		&s.JurisdictionID, &s.OrgDeptID, &s.PolicyVersion,
		dateCol{&s.SubmittedOn}, &s.SubmittedBy, dateCol{&s.ConsentedOn}, dateCol{&s.ApprovedOn},
		&exceptions, &s.ExceptionApprover, dateCol{&s.StartedOn}, dateCol{&s.FiledByBorrower}, dateCol{&s.FiledByLender},
		dateCol{&s.RecalledOn}, dateCol{&s.ReturnedOn}, &s.Handover, dateCol{&s.ReturnConfirmedOn}, &s.RenewalID,
		&s.TransferMethod, &r.Number, &r.Version, &r.ChangedSinceSentBack,
		&r.TransferLeadership, &r.CreatedAt, &r.UpdatedAt, &closed,
		&s.PersonName, &s.BorrowerName, &s.LenderName)
	if err != nil {
		return r, err
	}
	for _, e := range exceptions {
		s.ExceptionRules = append(s.ExceptionRules, secondment.RuleID(e))
	}
	if closed != nil {
		r.ClosedAt = *closed
	}
	return r, nil
}

// getSecondment reads one request with its decisions in time order.
func getSecondment(ctx context.Context, q dbtx, id int64) (SecondmentRecord, error) {
	r, err := scanSecondment(q.QueryRow(ctx, secondmentSelect+` WHERE s.id = $1`, id))
	if err != nil {
		return r, fmt.Errorf("get secondment %d: %w", id, mapError(err, "secondment"))
	}
	rows, err := q.Query(ctx, `
		SELECT step, action, role, coalesce(actor_user_id, 0), actor_name, on_behalf_of,
		       coalesce(on_behalf_of_user_id, 0), opinion, at
		FROM decision WHERE secondment_id = $1 ORDER BY at, id`, id)
	if err != nil {
		return r, fmt.Errorf("list decisions of secondment %d: %w", id, err)
	}
	r.Decisions, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (secondment.Decision, error) {
		var d secondment.Decision
		err := row.Scan(&d.Step, &d.Action, &d.Role, &d.ActorID, &d.ActorName, &d.OnBehalfOf, &d.ForID, &d.Opinion, &d.At)
		return d, err
	})
	if err != nil {
		return r, fmt.Errorf("list decisions of secondment %d: %w", id, err)
	}
	return r, nil
}

// SecondmentGet returns a request with its decisions in time order, the
// names of its person and units, the policy version it is judged by, and its
// version for If-Match. A missing request is ENotFound.
func (s *Store) SecondmentGet(ctx context.Context, id int64) (secondment.Secondment, int, error) {
	r, err := s.SecondmentGetRecord(ctx, id)
	return r.Secondment, r.Version, err
}

// SecondmentGetRecord is SecondmentGet with the store's bookkeeping: the
// request number, the version, the times. The request and its decisions
// are read from one snapshot.
func (s *Store) SecondmentGetRecord(ctx context.Context, id int64) (SecondmentRecord, error) {
	tx, err := s.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return SecondmentRecord{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	return getSecondment(ctx, tx, id)
}

// SecondmentList returns the requests matching f, newest first, with the
// names filled and without decisions.
func (s *Store) SecondmentList(ctx context.Context, f SecondmentFilter) ([]SecondmentRecord, error) {
	states := make([]string, len(f.States))
	for i, st := range f.States {
		states[i] = string(st)
	}
	var limit *int
	if f.Limit > 0 {
		limit = &f.Limit
	}
	rows, err := s.Pool.Query(ctx, secondmentSelect+`
		WHERE ($1::bigint = 0 OR s.borrower_id = $1)
		  AND ($2::bigint = 0 OR s.lender_id = $2)
		  AND ($3::bigint = 0 OR s.org_dept_id = $3)
		  AND ($4::bigint = 0 OR s.person_id = $4)
		  AND (cardinality($5::text[]) = 0 OR s.state = ANY ($5))
		ORDER BY s.created_at DESC, s.id DESC
		LIMIT $6`, f.BorrowerID, f.LenderID, f.OrgDeptID, f.PersonID, states, limit)
	if err != nil {
		return nil, fmt.Errorf("list secondments: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (SecondmentRecord, error) { return scanSecondment(row) })
	if err != nil {
		return nil, fmt.Errorf("list secondments: %w", err)
	}
	return out, nil
}

// editable keeps of d what the borrowing unit fills in, as a draft.
func editable(d secondment.Secondment) secondment.Secondment {
	return secondment.Secondment{State: secondment.StateDraft, Kind: d.Kind, Alias: d.Alias, Purpose: d.Purpose,
		Task: d.Task, PersonID: d.PersonID, BorrowerID: d.BorrowerID, Start: d.Start, End: d.End,
		PreviousID: d.PreviousID, Justification: d.Justification}
}

// checkDraft fills the lending unit from the person's home unit, checks
// that a renewal continues a term of the same person, and runs Validate,
// returning every field error at once.
func checkDraft(ctx context.Context, q dbtx, d *secondment.Secondment) error {
	var fe []secondment.FieldError
	personUnknown := false
	if d.PersonID > 0 {
		err := q.QueryRow(ctx, `SELECT home_unit_id FROM person WHERE id = $1`, d.PersonID).Scan(&d.LenderID)
		if errors.Is(err, pgx.ErrNoRows) {
			personUnknown, d.LenderID = true, 0
			fe = append(fe, secondment.FieldError{Field: "person", Message: secondment.Msg("error.not_found")})
		} else if err != nil {
			return fmt.Errorf("look up person %d: %w", d.PersonID, err)
		}
	}
	if d.PreviousID != 0 {
		var ok bool
		err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM secondment WHERE id = $1 AND person_id = $2)`,
			d.PreviousID, d.PersonID).Scan(&ok)
		if err != nil {
			return fmt.Errorf("look up previous term %d: %w", d.PreviousID, err)
		}
		if !ok {
			fe = append(fe, secondment.FieldError{Field: "previous", Message: secondment.Msg("error.not_found")})
		}
	}
	var ve *secondment.Error
	if err := d.Validate(); errors.As(err, &ve) {
		for _, f := range ve.Fields {
			if f.Field == "lender" && personUnknown {
				continue // the unknown person says it: the lender is their home unit
			}
			fe = append(fe, f)
		}
	} else if err != nil {
		return err
	}
	if len(fe) > 0 {
		return &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"), Fields: fe}
	}
	return nil
}

// errIdempotentReplay rolls back a create that lost the race for its
// idempotency key to a concurrent create of the same key.
var errIdempotentReplay = errors.New("idempotency key taken concurrently")

// SecondmentCreate saves a draft by a clerk of the borrowing unit. The
// lending unit is the person's home unit. A non-empty idempotency key makes
// the create happen once per actor and key: repeating it (a double click, a
// retried request) returns the draft it created, never a second one.
func (s *Store) SecondmentCreate(ctx context.Context, actor secondment.Actor, draft secondment.Secondment,
	idempotencyKey string, now time.Time) (secondment.Secondment, error) {
	if actor.Role != secondment.RoleBorrower || actor.UnitID == 0 || actor.UnitID != draft.BorrowerID {
		return secondment.Secondment{}, forbiddenError(fmt.Errorf("%s of unit %d creating a draft for unit %d",
			actor.Role, actor.UnitID, draft.BorrowerID))
	}
	if utf8.RuneCountInString(idempotencyKey) > 200 {
		return secondment.Secondment{}, &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"),
			Fields: []secondment.FieldError{{Field: "idempotency_key", Message: secondment.Msg("error.length", "Min", 0, "Max", 200)}}}
	}
	d := editable(draft)
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if idempotencyKey != "" {
			err := tx.QueryRow(ctx, `SELECT secondment_id FROM idempotency_key WHERE user_id = $1 AND key = $2`,
				actor.UserID, idempotencyKey).Scan(&id)
			if err == nil {
				return nil // done before: the same draft
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("look up idempotency key: %w", err)
			}
		}
		if err := checkDraft(ctx, tx, &d); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `
			INSERT INTO secondment (state, kind, alias, purpose, task, person_id, borrower_id, lender_id,
			                        start_date, end_date, previous_id, justification, created_at, updated_at)
			VALUES ('draft', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
			RETURNING id`,
			d.Kind, d.Alias, d.Purpose, d.Task, d.PersonID, d.BorrowerID, d.LenderID,
			dateArg(d.Start), dateArg(d.End), nullID(d.PreviousID), d.Justification, now).Scan(&id)
		if err != nil {
			return fmt.Errorf("save draft: %w", mapError(err, "secondment"))
		}
		if idempotencyKey != "" {
			tag, err := tx.Exec(ctx, `
				INSERT INTO idempotency_key (user_id, key, secondment_id, created_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (user_id, key) DO NOTHING`, actor.UserID, idempotencyKey, id, now)
			if err != nil {
				return fmt.Errorf("save idempotency key: %w", err)
			}
			if tag.RowsAffected() == 0 {
				return errIdempotentReplay
			}
		}
		actorID, actorName := actorOf(actor)
		return auditInsert(ctx, tx, AuditEvent{At: now, ActorID: actorID, ActorName: actorName, Action: "secondment.create",
			ObjectType: "secondment", ObjectID: id, UnitID: d.BorrowerID, Detail: map[string]any{"state": secondment.StateDraft,
				"person_id": d.PersonID, "lender_id": d.LenderID, "start": d.Start, "end": d.End, "version": 1}})
	})
	if errors.Is(err, errIdempotentReplay) {
		// The concurrent create committed first (its key insert made ours
		// wait for it); ours rolled back. Return its draft.
		err = s.Pool.QueryRow(ctx, `SELECT secondment_id FROM idempotency_key WHERE user_id = $1 AND key = $2`,
			actor.UserID, idempotencyKey).Scan(&id)
		if err != nil {
			return secondment.Secondment{}, fmt.Errorf("look up idempotency key: %w", err)
		}
	}
	if err != nil {
		return secondment.Secondment{}, fmt.Errorf("create secondment: %w", err)
	}
	r, err := s.SecondmentGetRecord(ctx, id)
	return r.Secondment, err
}

// SecondmentUpdateDraft edits a draft or a sent-back request of the
// actor's borrowing unit; ifVersion (0 = don't check) is the version the
// form was read at. It returns the request and its new version. Editing a
// sent-back request records that it changed, so its resubmission goes to
// the lending unit again. A save that changes nothing writes nothing. The
// person can change only while the request is a draft: after submission a
// different person is a different request.
func (s *Store) SecondmentUpdateDraft(ctx context.Context, actor secondment.Actor, id int64, ifVersion int,
	fields secondment.Secondment, now time.Time) (secondment.Secondment, int, error) {
	var out SecondmentRecord
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cur, err := getSecondment(ctx, tx, id)
		if err != nil {
			return err
		}
		if ifVersion != 0 && ifVersion != cur.Version {
			return versionError(id, ifVersion, cur.Version)
		}
		if actor.Role != secondment.RoleBorrower || actor.UnitID != cur.BorrowerID {
			return forbiddenError(fmt.Errorf("%s of unit %d editing secondment %d of unit %d",
				actor.Role, actor.UnitID, id, cur.BorrowerID))
		}
		if cur.State != secondment.StateDraft && cur.State != secondment.StateSentBack {
			return conflictError(fmt.Errorf("secondment %d is %s, not editable: %w", id, cur.State,
				secondment.ErrInvalidTransition))
		}
		d := editable(fields)
		d.BorrowerID = cur.BorrowerID
		if cur.State == secondment.StateSentBack && d.PersonID != cur.PersonID {
			return &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"),
				Fields: []secondment.FieldError{{Field: "person", Message: secondment.Msg("error.invalid")}}}
		}
		if err := checkDraft(ctx, tx, &d); err != nil {
			return err
		}
		changed := changedFields(cur.Secondment, d)
		if len(changed) == 0 {
			out = cur
			return nil
		}
		var version int
		err = tx.QueryRow(ctx, `
			UPDATE secondment SET kind = $3, alias = $4, purpose = $5, task = $6, person_id = $7, lender_id = $8,
			       start_date = $9, end_date = $10, previous_id = $11, justification = $12,
			       changed_since_sent_back = (state = 'sent_back'), version = version + 1, updated_at = $13
			WHERE id = $1 AND version = $2
			RETURNING version`,
			id, cur.Version, d.Kind, d.Alias, d.Purpose, d.Task, d.PersonID, d.LenderID,
			dateArg(d.Start), dateArg(d.End), nullID(d.PreviousID), d.Justification, now).Scan(&version)
		if errors.Is(err, pgx.ErrNoRows) {
			return versionError(id, ifVersion, cur.Version)
		}
		if err != nil {
			return fmt.Errorf("update secondment %d: %w", id, mapError(err, "secondment"))
		}
		actorID, actorName := actorOf(actor)
		if err := auditInsert(ctx, tx, AuditEvent{At: now, ActorID: actorID, ActorName: actorName, Action: "secondment.update",
			ObjectType: "secondment", ObjectID: id, UnitID: cur.BorrowerID,
			Detail: map[string]any{"state": cur.State, "fields": changed, "version": version}}); err != nil {
			return err
		}
		out, err = getSecondment(ctx, tx, id)
		return err
	})
	if err != nil {
		return secondment.Secondment{}, 0, fmt.Errorf("update secondment: %w", err)
	}
	return out.Secondment, out.Version, nil
}

// changedFields names the fields of the form that differ.
func changedFields(a, b secondment.Secondment) []string {
	var out []string
	for _, f := range []struct {
		name string
		same bool
	}{
		{"kind", a.Kind == b.Kind}, {"alias", a.Alias == b.Alias}, {"purpose", a.Purpose == b.Purpose},
		{"task", a.Task == b.Task}, {"person", a.PersonID == b.PersonID}, {"start", a.Start == b.Start},
		{"end", a.End == b.End}, {"previous", a.PreviousID == b.PreviousID},
		{"justification", a.Justification == b.Justification},
	} {
		if !f.same {
			out = append(out, f.name)
		}
	}
	return out
}

// actorOf is the audit trail's view of a domain actor.
func actorOf(a secondment.Actor) (int64, string) {
	if a.Name == "" && a.Role == secondment.RoleSystem {
		return 0, "system"
	}
	return a.UserID, a.Name
}

// statesWhere lists the states for which keep holds, as query text values,
// so that the SQL never repeats the domain's state sets.
func statesWhere(keep func(secondment.State) bool) []string {
	var out []string
	for _, st := range secondment.AllStates {
		if keep(st) {
			out = append(out, string(st))
		}
	}
	return out
}
