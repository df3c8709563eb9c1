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
	// Preview writes the secondment row alone, not its ledger entries and
	// audit event: a preview is rolled back, and what the rows after it
	// read is the row (a third of an import's writing time).
	Preview bool
	// ImportID is the import file the row came from; 0 for one registered
	// by hand.
	ImportID int64
}

// Registered is what a registration wrote, or found already written.
type Registered struct {
	ID      int64
	Number  string
	Already bool // the same person, borrowing unit and start were registered before: nothing written
}

// RegisterKey is what registering one existing secondment weighs facts
// of.
type RegisterKey struct {
	PersonID, LenderID, BorrowerID int64
	Start                          secondment.Date
}

// RegisterFacts are those facts: the person's other requests and the
// people away from the lending unit (as Facts), and the secondment
// registered before for the same person, borrowing unit and start, if
// any.
type RegisterFacts struct {
	History  []SecondmentRecord
	Away     int
	Existing *Registered
}

// RegisterFactsOf reads the facts of each key in one round trip, after
// the registrations RegisterLater queued: an import costs one round trip
// a row (or a window of rows), and each row still sees the rows written
// before it.
func (t *Tx) RegisterFactsOf(ctx context.Context, keys []RegisterKey) ([]RegisterFacts, error) {
	b := &pgx.Batch{}
	pending := t.queued(b)
	for _, k := range keys {
		b.Queue(historySQL, k.PersonID, int64(0))
		b.Queue(awaySQL, k.LenderID, k.PersonID)
		b.Queue(`SELECT id, number FROM secondment
			WHERE person_id = $1 AND borrower_id = $2 AND start_date = $3 AND registered_on IS NOT NULL`,
			k.PersonID, k.BorrowerID, dateArg(k.Start))
	}
	br := t.q.SendBatch(ctx, b)
	defer br.Close()
	if err := pending(br); err != nil {
		return nil, err
	}
	out := make([]RegisterFacts, len(keys))
	for i, k := range keys {
		f := &out[i]
		var err error
		if f.History, err = collectHistory(br.Query()); err != nil {
			return nil, fmt.Errorf("history of person %d: %w", k.PersonID, err)
		}
		if err := br.QueryRow().Scan(&f.Away); err != nil {
			return nil, fmt.Errorf("count people away from unit %d: %w", k.LenderID, err)
		}
		var r Registered
		switch err := br.QueryRow().Scan(&r.ID, &r.Number); {
		case err == nil:
			r.Already = true
			f.Existing = &r
		case !errors.Is(err, pgx.ErrNoRows):
			return nil, fmt.Errorf("find registration: %w", err)
		}
	}
	return out, br.Close()
}

// RegisterLater queues one registration, to be written with the next
// RegisterFactsOf or Flush of t (at the latest, before t commits): the
// secondment with the next number of the jurisdiction's register series,
// its ledger entries (closed at once when the person is back or
// transferred: nothing is left to rectify) and its audit event; it returns
// the number the secondment will have. done gets
// what was written, or the error, and what it returns stops the flush.
// The same person at the same borrowing unit from the same day is one
// secondment: the caller checks RegisterFacts' Existing first, and one
// registered by someone else since is a conflict.
func (t *Tx) RegisterLater(ctx context.Context, r Registration, done func(Registered, error) error) (string, error) {
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
		return "", fmt.Errorf("encode audit detail: %w", err)
	}
	number, err := t.registerNumber(ctx, r.JurisdictionID, r.Today.Year)
	if err != nil {
		return "", err
	}
	// The row, its ledger entries and its audit event in one statement.
	t.queue(`
		WITH ins AS (
		    INSERT INTO secondment (number, state, kind, alias, purpose, task, person_id, borrower_id, lender_id,
		        start_date, end_date, justification, jurisdiction_id, org_dept_id, policy_id,
		        approved_on, started_on, returned_on, return_confirmed_on, transfer_method,
		        registered_on, registered_by, approval_ref, closed_at, created_at, updated_at, import_id)
		    VALUES ($26, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
		        (SELECT id FROM policy WHERE jurisdiction_id = $12 AND version = $14),
		        $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $24, $34)
		    ON CONFLICT (person_id, borrower_id, start_date) WHERE registered_on IS NOT NULL DO NOTHING
		    RETURNING id, number),
		le AS (
		    INSERT INTO ledger_entry (secondment_id, rule, opened_on, detail, responsible_unit_id, org_dept_id, closed_on,
		        status, created_at)
		    SELECT ins.id, l.rule, $20, l.detail, $7, $13, $25,
		        CASE WHEN $25::date IS NULL THEN 'rectifying' ELSE 'closed' END, $24
		    FROM ins, unnest($27::text[], $28::text[]) AS l(rule, detail) WHERE NOT $33::bool),
		au AS (
		    INSERT INTO audit_event (at, actor_user_id, actor_name, action, object_type, object_id, unit_id, detail, request_id)
		    SELECT $24, $21, $29, 'secondment.register', 'secondment', ins.id, $30,
		           $31::jsonb || jsonb_build_object('number', ins.number), $32
		    FROM ins WHERE NOT $33::bool)
		SELECT id, number FROM ins`,
		[]any{s.State, s.Kind, s.Alias, s.Purpose, s.Task, s.PersonID, s.BorrowerID, s.LenderID,
			dateArg(s.Start), dateArg(s.End), s.Justification, r.JurisdictionID, r.OrgDeptID, r.PolicyVersion,
			dateArg(s.ApprovedOn), dateArg(s.StartedOn), dateArg(s.ReturnedOn), dateArg(s.ReturnConfirmedOn), method,
			dateArg(r.Today), r.ActorID, s.ApprovalRef, closed, r.Now, closedOn, number,
			ruleNames(r.Irregular), r.Details, r.ActorName, nullID(r.UnitID), audit, requestID(ctx), r.Preview, nullID(r.ImportID)},
		func(br pgx.BatchResults) error {
			var out Registered
			err := br.QueryRow().Scan(&out.ID, &out.Number)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				// Registered by someone else since the lookup: theirs
				// stands, and this transaction gives its number back by
				// rolling back.
				err = secondment.Errorf(secondment.EConflict, secondment.Msg("stock.error.race"), errors.New("registration raced"))
			case err != nil:
				err = fmt.Errorf("insert registration: %w", mapError(err, "secondment"))
			}
			return done(out, err)
		})
	if r.MoveHome {
		t.moveHome(s, s.BorrowerID, r.Now)
	}
	return number, nil
}

// RegisterNumber is the number of a registered secondment: its own series
// (登记〔2024〕0001), apart from the requests' (借调〔2024〕0001).
func RegisterNumber(year, n int) string { return fmt.Sprintf("登记〔%d〕%04d", year, n) }

// numberKey is one series of register numbers: a jurisdiction's year.
type numberKey struct {
	jurisdiction int64
	year         int
}

// numberBlock are the register numbers next..last, reserved by the
// transaction and not yet used.
type numberBlock struct{ next, last int }

// ExpectRegistrations tells t that about n registrations follow, so that
// it reserves their numbers in blocks: the counter row updated once per
// row of an import made each update slower than the last (every version
// of the row stays until the transaction ends), 0.16 ms a row at 10,000.
func (t *Tx) ExpectRegistrations(n int) { t.ahead = n }

// maxNumberBlock bounds one reservation.
const maxNumberBlock = 1000

// registerNumber takes the next register number of a series: from the
// block the transaction reserved, or from a new block, reserved with the
// pending writes in one round trip. The counter row stays locked until
// the transaction ends, so the numbers stay the transaction's; those left
// are given back before it commits (releaseNumbers), leaving no gap.
func (t *Tx) registerNumber(ctx context.Context, jurisdiction int64, year int) (string, error) {
	k := numberKey{jurisdiction, year}
	b, ok := t.numbers[k]
	if !ok || b.next > b.last {
		n := min(max(t.ahead, 1), maxNumberBlock)
		batch := &pgx.Batch{}
		read := t.queued(batch)
		batch.Queue(`
			INSERT INTO secondment_number_counter (jurisdiction_id, series, year, last_value) VALUES ($1, 'register', $2, $3)
			ON CONFLICT (jurisdiction_id, series, year) DO UPDATE SET last_value = secondment_number_counter.last_value + $3
			RETURNING last_value`, jurisdiction, year, n)
		br := t.q.SendBatch(ctx, batch)
		err := read(br)
		var last int
		if err == nil {
			if err = br.QueryRow().Scan(&last); err != nil {
				err = fmt.Errorf("reserve register numbers of jurisdiction %d, %d: %w", jurisdiction, year, err)
			}
		}
		if cerr := br.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			return "", err
		}
		b = numberBlock{last - n + 1, last}
	}
	if t.numbers == nil {
		t.numbers = map[numberKey]numberBlock{}
	}
	t.numbers[k] = numberBlock{b.next + 1, b.last}
	t.ahead = max(t.ahead-1, 0)
	return RegisterNumber(year, b.next), nil
}

// releaseNumbers gives back the register numbers t reserved and did not
// use, with its pending writes. Nobody else took one meanwhile: the
// counter row has been locked by t since it reserved them.
func (t *Tx) releaseNumbers(ctx context.Context) error {
	for k, b := range t.numbers {
		if b.next > b.last {
			continue
		}
		t.queue(`UPDATE secondment_number_counter SET last_value = $4
			WHERE jurisdiction_id = $1 AND series = 'register' AND year = $2 AND last_value = $3`,
			[]any{k.jurisdiction, k.year, b.last, b.next - 1},
			func(br pgx.BatchResults) error {
				tag, err := br.Exec()
				if err == nil && tag.RowsAffected() != 1 {
					err = errors.New("the counter moved while locked")
				}
				if err != nil {
					return fmt.Errorf("give back register numbers of jurisdiction %d, %d: %w", k.jurisdiction, k.year, err)
				}
				return nil
			})
	}
	clear(t.numbers)
	return t.Flush(ctx)
}

func ruleNames(rs []secondment.RuleID) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, string(r))
	}
	return out
}

// ImportKind is the template an uploaded file follows.
type ImportKind string

const (
	ImportStock  ImportKind = "stock"  // existing secondments
	ImportPeople ImportKind = "people" // the register of people
)

// ImportSave keeps an uploaded import file for its preview and commit.
// It is audited with its name and size, in the same transaction.
func (s *Store) ImportSave(ctx context.Context, e AuditEvent, kind ImportKind, name string, content []byte) (int64, error) {
	var id int64
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := tx.q.QueryRow(ctx, `INSERT INTO stock_import (user_id, kind, name, content, created_at) VALUES ($1, $2, $3, $4, $5)
			RETURNING id`, e.ActorID, kind, name, content, e.At).Scan(&id); err != nil {
			return fmt.Errorf("save import file: %w", mapError(err, "import"))
		}
		e.Action, e.ObjectType, e.ObjectID = string(kind)+".upload", "stock_import", id
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

// ImportGet reads upload id of userID, of kind; anyone else's, or one of
// the other kind, is not found.
func (s *Store) ImportGet(ctx context.Context, id, userID int64, kind ImportKind) (ImportFile, error) {
	f := ImportFile{ID: id}
	err := s.Pool.QueryRow(ctx, `SELECT name, content, committed_at FROM stock_import WHERE id = $1 AND user_id = $2 AND kind = $3`,
		id, userID, kind).Scan(&f.Name, &f.Content, &f.CommittedAt)
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

// PeopleNamedLocked is PeopleNamed with the people found locked until the
// transaction ends, for an import that edits them.
func (t *Tx) PeopleNamedLocked(ctx context.Context, codes, names []string, units []int64) ([]secondment.PersonView, error) {
	rows, err := t.q.Query(ctx, `SELECT `+personColumns+` FROM person p JOIN unit u ON u.id = p.home_unit_id
		WHERE p.code = ANY ($1) OR (p.name = ANY ($2) AND p.home_unit_id = ANY ($3))
		ORDER BY p.id FOR NO KEY UPDATE OF p`, codes, names, units)
	if err != nil {
		return nil, fmt.Errorf("find and lock people: %w", err)
	}
	return collectPeople(rows)
}

// PersonAdd creates a person, with its audit event.
func (t *Tx) PersonAdd(ctx context.Context, p secondment.Person, e AuditEvent) (int64, error) {
	var id int64
	if err := t.q.QueryRow(ctx, `INSERT INTO person (code, name, home_unit_id, post, rank, note, leader,
		gender, born, political, category, education)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`, p.Code, p.Name, p.HomeUnitID, p.Post, p.Rank, p.Note, p.Leader,
		p.Gender, dateArg(p.Born), p.Political, p.Category, p.Education).Scan(&id); err != nil {
		return 0, fmt.Errorf("add person %s: %w", p.Code, mapError(err, "person"))
	}
	e.ObjectType, e.ObjectID = "person", id
	return id, auditInsert(ctx, t.q, e)
}
