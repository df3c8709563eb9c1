package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/secondment"
)

// Registration is an existing secondment as the use case placed it: the
// row to insert, the ledger entries its broken rules open, and its audit.
type Registration struct {
	secondment.Secondment // State, dates and units as secondment.Register gave them
	JurisdictionID        int64
	OrgDeptID             int64
	PolicyVersion         int // the policy in force on the registration day
	Irregular             []secondment.RuleID
	Details               []string // per irregular rule: the message ID that explains it
	ActorID               int64
	ActorName             string
	UnitID                int64 // the registering user's unit, for the audit
	Today                 secondment.Date
	Now                   time.Time
	AuditDetail           map[string]any
	// MoveHome: a transfer-in on record whose person still belongs to the
	// lending unit now belongs to the borrowing unit.
	MoveHome bool
}

// Registered is what a registration wrote, or found already written.
type Registered struct {
	ID      int64
	Number  string
	Already bool // the same person, borrowing unit and start were registered before: nothing written
}

// Register writes one registration: the secondment with the next number
// of the jurisdiction's register series, its ledger entries (closed at
// once when the person is back or transferred: nothing is left to
// rectify) and its audit event. The same person at the same borrowing unit
// from the same day is one secondment, so registering it again writes
// nothing and says so.
func (t *Tx) Register(ctx context.Context, r Registration) (Registered, error) {
	var existing Registered
	err := t.q.QueryRow(ctx, `SELECT id, number FROM secondment
		WHERE person_id = $1 AND borrower_id = $2 AND start_date = $3 AND registered_on IS NOT NULL`,
		r.PersonID, r.BorrowerID, dateArg(r.Start)).Scan(&existing.ID, &existing.Number)
	switch {
	case err == nil:
		existing.Already = true
		return existing, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return Registered{}, fmt.Errorf("find registration: %w", err)
	}
	// The number, the row, its ledger entries and its audit event in one
	// statement: an import registers thousands of rows in one transaction,
	// and each round trip counts.
	s := r.Secondment
	var closed *time.Time
	if s.State.Terminal() {
		closed = &r.Now
	}
	var method *string
	if s.TransferMethod != "" {
		m := string(s.TransferMethod)
		method = &m
	}
	var closedOn any
	if !s.State.Away() {
		closedOn = dateArg(r.Today)
	}
	detail := map[string]any{"state": s.State, "irregular": ruleNames(r.Irregular)}
	if r.MoveHome {
		detail["moved_home"] = map[string]any{"from": s.LenderID, "to": s.BorrowerID}
	}
	for k, v := range r.AuditDetail {
		detail[k] = v
	}
	audit, err := json.Marshal(detail)
	if err != nil {
		return Registered{}, fmt.Errorf("encode audit detail: %w", err)
	}
	var out Registered
	err = t.q.QueryRow(ctx, `
		WITH n AS (
		    INSERT INTO secondment_number_counter (jurisdiction_id, series, year, last_value) VALUES ($12, 'register', $26, 1)
		    ON CONFLICT (jurisdiction_id, series, year) DO UPDATE SET last_value = secondment_number_counter.last_value + 1
		    RETURNING '登记〔' || $26::int || '〕' || lpad(last_value::text, greatest(4, length(last_value::text)), '0') AS number),
		ins AS (
		    INSERT INTO secondment (number, state, kind, alias, purpose, task, person_id, borrower_id, lender_id,
		        start_date, end_date, justification, jurisdiction_id, org_dept_id, policy_id,
		        approved_on, started_on, returned_on, return_confirmed_on, transfer_method,
		        registered_on, registered_by, approval_ref, closed_at, created_at, updated_at)
		    SELECT n.number, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
		        (SELECT id FROM policy WHERE jurisdiction_id = $12 AND version = $14),
		        $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $24
		    FROM n
		    ON CONFLICT (person_id, borrower_id, start_date) WHERE registered_on IS NOT NULL DO NOTHING
		    RETURNING id, number),
		le AS (
		    INSERT INTO ledger_entry (secondment_id, rule, opened_on, detail, responsible_unit_id, closed_on, created_at)
		    SELECT ins.id, l.rule, $20, l.detail, $7, $25, $24
		    FROM ins, unnest($27::text[], $28::text[]) AS l(rule, detail)),
		au AS (
		    INSERT INTO audit_event (at, actor_user_id, actor_name, action, object_type, object_id, unit_id, detail, request_id)
		    SELECT $24, $21, $29, 'secondment.register', 'secondment', ins.id, $30,
		           $31::jsonb || jsonb_build_object('number', ins.number), $32
		    FROM ins)
		SELECT id, number FROM ins`,
		s.State, s.Kind, s.Alias, s.Purpose, s.Task, s.PersonID, s.BorrowerID, s.LenderID,
		dateArg(s.Start), dateArg(s.End), s.Justification, r.JurisdictionID, r.OrgDeptID, r.PolicyVersion,
		dateArg(s.ApprovedOn), dateArg(s.StartedOn), dateArg(s.ReturnedOn), dateArg(s.ReturnConfirmedOn), method,
		dateArg(r.Today), r.ActorID, s.ApprovalRef, closed, r.Now, closedOn, r.Today.Year,
		ruleNames(r.Irregular), r.Details, r.ActorName, nullID(r.UnitID), audit, requestID(ctx)).Scan(&out.ID, &out.Number)
	if errors.Is(err, pgx.ErrNoRows) {
		// Registered by someone else since the lookup: theirs stands, and
		// this transaction gives its number back by rolling back.
		return Registered{}, secondment.Errorf(secondment.EConflict, secondment.Msg("stock.error.race"), errors.New("registration raced"))
	}
	if err != nil {
		return Registered{}, fmt.Errorf("insert registration: %w", mapError(err, "secondment"))
	}
	if r.MoveHome {
		if err := moveHome(ctx, t.q, s, s.BorrowerID, r.Now); err != nil {
			return Registered{}, err
		}
	}
	return out, nil
}

func ruleNames(rs []secondment.RuleID) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, string(r))
	}
	return out
}

// ImportSave keeps an uploaded import file for its preview and commit.
// It is audited with its name and size, in the same transaction.
func (s *Store) ImportSave(ctx context.Context, e AuditEvent, name string, content []byte) (int64, error) {
	var id int64
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := tx.q.QueryRow(ctx, `INSERT INTO stock_import (user_id, name, content, created_at) VALUES ($1, $2, $3, $4)
			RETURNING id`, e.ActorID, name, content, e.At).Scan(&id); err != nil {
			return fmt.Errorf("save import file: %w", mapError(err, "import"))
		}
		e.Action, e.ObjectType, e.ObjectID = "stock.upload", "stock_import", id
		e.Detail = map[string]any{"name": name, "bytes": len(content)}
		return auditInsert(ctx, tx.q, e)
	})
	return id, err
}

// ImportFile is an uploaded import file.
type ImportFile struct {
	ID          int64
	Name        string
	Content     []byte
	CommittedAt *time.Time
}

// ImportGet reads upload id of userID; anyone else's is not found.
func (s *Store) ImportGet(ctx context.Context, id, userID int64) (ImportFile, error) {
	f := ImportFile{ID: id}
	err := s.Pool.QueryRow(ctx, `SELECT name, content, committed_at FROM stock_import WHERE id = $1 AND user_id = $2`,
		id, userID).Scan(&f.Name, &f.Content, &f.CommittedAt)
	if err != nil {
		return f, fmt.Errorf("get import %d: %w", id, mapError(err, "import"))
	}
	return f, nil
}

// ImportCommitted marks upload id committed, with its audit event.
// A commit again of an upload committed before changes nothing (its rows
// are all registered) and is not audited again.
func (t *Tx) ImportCommitted(ctx context.Context, id int64, e AuditEvent) error {
	tag, err := t.q.Exec(ctx, `UPDATE stock_import SET committed_at = $2 WHERE id = $1 AND committed_at IS NULL`, id, e.At)
	if err != nil {
		return fmt.Errorf("mark import %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return nil
	}
	return auditInsert(ctx, t.q, e)
}

// PeopleNamed returns the people with any of codes, or any of names with
// a home unit among units: what an import's rows may refer to, in one
// query for the whole file.
func (t *Tx) PeopleNamed(ctx context.Context, codes, names []string, units []int64) ([]secondment.PersonView, error) {
	rows, err := t.q.Query(ctx, `SELECT `+personColumns+` FROM person p JOIN unit u ON u.id = p.home_unit_id
		WHERE p.code = ANY ($1) OR (p.name = ANY ($2) AND p.home_unit_id = ANY ($3))`, codes, names, units)
	if err != nil {
		return nil, fmt.Errorf("find people: %w", err)
	}
	return collectPeople(rows)
}

// PersonAdd creates a person, with its audit event.
func (t *Tx) PersonAdd(ctx context.Context, p secondment.Person, e AuditEvent) (int64, error) {
	var id int64
	if err := t.q.QueryRow(ctx, `INSERT INTO person (code, name, home_unit_id, post, rank, note, leader)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, p.Code, p.Name, p.HomeUnitID, p.Post, p.Rank, p.Note, p.Leader).Scan(&id); err != nil {
		return 0, fmt.Errorf("add person %s: %w", p.Code, mapError(err, "person"))
	}
	e.ObjectType, e.ObjectID = "person", id
	return id, auditInsert(ctx, t.q, e)
}
