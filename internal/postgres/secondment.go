package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"secondment/internal/secondment"
)

// ErrVersion is a guarded write that found another version than the one
// its caller read: someone changed the request in between. The use case
// says what that means to its caller (a stale form, a lost race).
var ErrVersion = errors.New("the request changed since it was read")

// SecondmentRecord is a request as stored: the domain's Secondment with the
// store's bookkeeping.
type SecondmentRecord struct {
	secondment.Secondment
	Version              int // optimistic concurrency; every change increments it
	CreatedAt, UpdatedAt time.Time
	ClosedAt             time.Time // zero until a terminal state
}

// SecondmentFilter narrows SecondmentList; zero fields do not filter, and
// the fields that are set must all match. It serves tools and tests; pages
// read through the index-backed inbox queries (inbox.go).
type SecondmentFilter struct {
	BorrowerID int64
	LenderID   int64
	OrgDeptID  int64
	PersonID   int64
	States     []secondment.State
	Limit      int // 0: no limit
}

// dbtx is what a statement runs on: the pool or a use case's transaction.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// secondmentColumns are the columns of secondmentRow, of the tables
// aliased s (secondment), pe (person), b and l (borrowing and lending
// unit) and pol (policy).
const secondmentColumns = `s.id, s.state, s.kind, s.alias, s.purpose, s.task, s.person_id, s.borrower_id, s.lender_id,
       s.start_date, s.end_date, coalesce(s.previous_id, 0) AS previous_id, s.justification, s.programme,
       s.salary_with, s.self_opinion, s.evaluation, s.key_post,
       coalesce(s.jurisdiction_id, 0) AS jurisdiction_id, coalesce(s.org_dept_id, 0) AS org_dept_id,
       coalesce(pol.version, 0) AS policy_version, s.submitted_on, coalesce(s.submitted_by, 0) AS submitted_by,
       s.consented_on, s.approved_on, s.exception_rules, s.exception_approver, s.started_on,
       s.filed_by_borrower, s.filed_by_lender, s.recalled_on, s.returned_on, s.handover, s.return_confirmed_on,
       coalesce(s.renewal_id, 0) AS renewal_id, coalesce(s.transfer_method, '') AS transfer_method,
       coalesce(s.number, '') AS number, s.version, s.changed_since_sent_back, s.transfer_leadership,
       s.registered_on, s.approval_ref,
       s.created_at, s.updated_at, s.closed_at, pe.name AS person_name, b.name AS borrower_name, l.name AS lender_name`

const secondmentFrom = `
FROM secondment s` + secondmentJoins

// secondmentJoins are secondmentFrom's joins to the request s.
const secondmentJoins = `
JOIN person pe ON pe.id = s.person_id
JOIN unit b ON b.id = s.borrower_id
JOIN unit l ON l.id = s.lender_id
LEFT JOIN policy pol ON pol.id = s.policy_id`

const secondmentSelect = `SELECT ` + secondmentColumns + secondmentFrom

// secondmentRow is one row of secondmentSelect. Its fields follow
// secondmentColumns' order, and their tags name those columns, which
// TestRowsScanInTheirColumnsOrder checks.
type secondmentRow struct {
	ID                   int64       `db:"id"`
	State                string      `db:"state"`
	Kind                 string      `db:"kind"`
	Alias                string      `db:"alias"`
	Purpose              string      `db:"purpose"`
	Task                 string      `db:"task"`
	PersonID             int64       `db:"person_id"`
	BorrowerID           int64       `db:"borrower_id"`
	LenderID             int64       `db:"lender_id"`
	Start                pgtype.Date `db:"start_date"`
	End                  pgtype.Date `db:"end_date"`
	PreviousID           int64       `db:"previous_id"`
	Justification        string      `db:"justification"`
	Programme            string      `db:"programme"`
	SalaryWith           string      `db:"salary_with"`
	SelfOpinion          string      `db:"self_opinion"`
	Evaluation           string      `db:"evaluation"`
	KeyPost              bool        `db:"key_post"`
	JurisdictionID       int64       `db:"jurisdiction_id"`
	OrgDeptID            int64       `db:"org_dept_id"`
	PolicyVersion        int         `db:"policy_version"`
	SubmittedOn          pgtype.Date `db:"submitted_on"`
	SubmittedBy          int64       `db:"submitted_by"`
	ConsentedOn          pgtype.Date `db:"consented_on"`
	ApprovedOn           pgtype.Date `db:"approved_on"`
	ExceptionRules       []string    `db:"exception_rules"`
	ExceptionApprover    string      `db:"exception_approver"`
	StartedOn            pgtype.Date `db:"started_on"`
	FiledByBorrower      pgtype.Date `db:"filed_by_borrower"`
	FiledByLender        pgtype.Date `db:"filed_by_lender"`
	RecalledOn           pgtype.Date `db:"recalled_on"`
	ReturnedOn           pgtype.Date `db:"returned_on"`
	Handover             string      `db:"handover"`
	ReturnConfirmedOn    pgtype.Date `db:"return_confirmed_on"`
	RenewalID            int64       `db:"renewal_id"`
	TransferMethod       string      `db:"transfer_method"`
	Number               string      `db:"number"`
	Version              int         `db:"version"`
	ChangedSinceSentBack bool        `db:"changed_since_sent_back"`
	TransferLeadership   bool        `db:"transfer_leadership"`
	RegisteredOn         pgtype.Date `db:"registered_on"`
	ApprovalRef          string      `db:"approval_ref"`
	CreatedAt            time.Time   `db:"created_at"`
	UpdatedAt            time.Time   `db:"updated_at"`
	ClosedAt             *time.Time  `db:"closed_at"`
	PersonName           string      `db:"person_name"`
	BorrowerName         string      `db:"borrower_name"`
	LenderName           string      `db:"lender_name"`
}

// targets appends the destinations of secondmentColumns, in their order,
// to dst. Rows are scanned by position: by name, pgx matched each row's
// columns to the fields by reflection, a fifth of the server's time on an
// inbox page of 50 requests.
func (r *secondmentRow) targets(dst []any) []any {
	return append(dst,
		&r.ID, &r.State, &r.Kind, &r.Alias, &r.Purpose, &r.Task, &r.PersonID, &r.BorrowerID, &r.LenderID, &r.Start,
		&r.End, &r.PreviousID, &r.Justification, &r.Programme, &r.SalaryWith, &r.SelfOpinion, &r.Evaluation,
		&r.KeyPost, &r.JurisdictionID, &r.OrgDeptID, &r.PolicyVersion, &r.SubmittedOn, &r.SubmittedBy,
		&r.ConsentedOn, &r.ApprovedOn, &r.ExceptionRules, &r.ExceptionApprover, &r.StartedOn, &r.FiledByBorrower,
		&r.FiledByLender, &r.RecalledOn, &r.ReturnedOn, &r.Handover, &r.ReturnConfirmedOn, &r.RenewalID,
		&r.TransferMethod, &r.Number, &r.Version, &r.ChangedSinceSentBack, &r.TransferLeadership, &r.RegisteredOn,
		&r.ApprovalRef, &r.CreatedAt, &r.UpdatedAt, &r.ClosedAt, &r.PersonName, &r.BorrowerName, &r.LenderName)
}

// scanRow scans a row into a new T by position (secondmentRow,
// withDecisions, loadedRow), as pgx.CollectRows takes it.
func scanRow[T any, P interface {
	*T
	targets([]any) []any
}](row pgx.CollectableRow) (T, error) {
	var r T
	err := row.Scan(P(&r).targets(make([]any, 0, loadedColumns))...)
	return r, err
}

// civil converts a nullable PostgreSQL date to a civil date (NULL = zero).
func civil(d pgtype.Date) secondment.Date {
	if !d.Valid {
		return secondment.Date{}
	}
	return dateOf(d.Time)
}

func (r *secondmentRow) record() SecondmentRecord {
	out := SecondmentRecord{Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.ClosedAt != nil {
		out.ClosedAt = *r.ClosedAt
	}
	out.Secondment = secondment.Secondment{ID: r.ID, State: secondment.State(r.State), Kind: secondment.Kind(r.Kind),
		Alias: secondment.Alias(r.Alias), Purpose: secondment.Purpose(r.Purpose), Task: r.Task,
		PersonID: r.PersonID, BorrowerID: r.BorrowerID, LenderID: r.LenderID, Start: civil(r.Start), End: civil(r.End),
		PreviousID: r.PreviousID, Justification: r.Justification, Programme: r.Programme,
		SalaryWith: secondment.SalaryWith(r.SalaryWith), SelfOpinion: r.SelfOpinion, Evaluation: r.Evaluation, KeyPost: r.KeyPost,
		PersonName: r.PersonName, BorrowerName: r.BorrowerName, LenderName: r.LenderName,
		Number: r.Number, JurisdictionID: r.JurisdictionID, OrgDeptID: r.OrgDeptID, PolicyVersion: r.PolicyVersion,
		SubmittedOn: civil(r.SubmittedOn), SubmittedBy: r.SubmittedBy, ConsentedOn: civil(r.ConsentedOn),
		ApprovedOn: civil(r.ApprovedOn), ExceptionApprover: r.ExceptionApprover, StartedOn: civil(r.StartedOn),
		FiledByBorrower: civil(r.FiledByBorrower), FiledByLender: civil(r.FiledByLender), RecalledOn: civil(r.RecalledOn),
		ReturnedOn: civil(r.ReturnedOn), Handover: r.Handover, ReturnConfirmedOn: civil(r.ReturnConfirmedOn),
		RenewalID: r.RenewalID, TransferMethod: secondment.TransferMethod(r.TransferMethod),
		TransferLeadership: r.TransferLeadership, ChangedSinceSentBack: r.ChangedSinceSentBack,
		RegisteredOn: civil(r.RegisteredOn), ApprovalRef: r.ApprovalRef}
	for _, e := range r.ExceptionRules {
		out.ExceptionRules = append(out.ExceptionRules, secondment.RuleID(e))
	}
	return out
}

// collectSecondments reads every row of a secondmentSelect query.
func collectSecondments(rows pgx.Rows, err error) ([]SecondmentRecord, error) {
	if err != nil {
		return nil, err
	}
	raw, err := pgx.CollectRows(rows, scanRow[secondmentRow])
	if err != nil {
		return nil, err
	}
	out := make([]SecondmentRecord, len(raw))
	for i, r := range raw {
		out[i] = r.record()
	}
	return out, nil
}

// dateArg is a civil date as a query argument; the zero Date is NULL.
func dateArg(d secondment.Date) pgtype.Date {
	if d.IsZero() {
		return pgtype.Date{}
	}
	return pgtype.Date{Time: time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC), Valid: true}
}

// decisionsArray aggregates the decisions of request s.id in time order,
// each a row of text: step, action, role, actor, actor's name, on behalf
// of, for whom, opinion, and the time in microseconds since 1970. A text
// array scans in binary; the JSON it replaces was a fifth of an inbox
// page's server time to decode. It stays a scalar subquery, as the JSON
// was: aggregated in a lateral join instead, the list query's generic
// plan was priced above its custom ones and every execution was planned
// afresh.
const decisionsArray = `(SELECT array_agg(ARRAY[d.step, d.action, d.role, coalesce(d.actor_user_id, 0)::text, d.actor_name,
           d.on_behalf_of, coalesce(d.on_behalf_of_user_id, 0)::text, d.opinion, (extract(epoch FROM d.at) * 1000000)::bigint::text]
           ORDER BY d.at, d.id)
       FROM decision d WHERE d.secondment_id = s.id)`

// withDecisions is a request row with its decisions (decisionsArray).
type withDecisions struct {
	secondmentRow
	// Decisions is the two-dimensional array of decisionsArray, its text
	// in one slice, a decision every decisionFields: scanned into
	// [][]string, it took pgx's reflective plan for nested slices.
	Decisions pgtype.Array[string] `db:"decisions"`
}

// decisionFields is how many texts decisionsArray gives a decision.
const decisionFields = 9

// targets appends the destinations of secondmentColumns and the decisions
// to dst.
func (r *withDecisions) targets(dst []any) []any {
	return append(r.secondmentRow.targets(dst), &r.Decisions)
}

func (r *withDecisions) record() (SecondmentRecord, error) {
	out := r.secondmentRow.record()
	all := r.Decisions.Elements
	if len(all) == 0 {
		return out, nil
	}
	if d := r.Decisions.Dims; len(d) != 2 || d[1].Length != decisionFields {
		return out, fmt.Errorf("decisions of secondment %d: dimensions %v", r.ID, d)
	}
	out.Decisions = make([]secondment.Decision, len(all)/decisionFields)
	for i := range out.Decisions {
		f := all[i*decisionFields : (i+1)*decisionFields]
		actor, err1 := strconv.ParseInt(f[3], 10, 64)
		forID, err2 := strconv.ParseInt(f[6], 10, 64)
		micro, err3 := strconv.ParseInt(f[8], 10, 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			return out, fmt.Errorf("decision %d of secondment %d: %w", i, r.ID, err)
		}
		out.Decisions[i] = secondment.Decision{Step: secondment.State(f[0]), Action: secondment.Action(f[1]),
			Role: secondment.Role(f[2]), ActorID: actor, ActorName: f[4], OnBehalfOf: f[5], ForID: forID, Opinion: f[7],
			At: time.UnixMicro(micro)}
	}
	return out, nil
}

// secondmentGetSQL reads request $1 with its decisions.
const secondmentGetSQL = `SELECT ` + secondmentColumns + `, ` + decisionsArray + ` AS decisions` + secondmentFrom + ` WHERE s.id = $1`

// secondmentGet reads one request with its decisions, in one statement.
func secondmentGet(ctx context.Context, q dbtx, id int64, lock bool) (SecondmentRecord, error) {
	sql := secondmentGetSQL
	if lock {
		sql += ` FOR UPDATE OF s`
	}
	rows, _ := q.Query(ctx, sql, id)
	r, err := pgx.CollectExactlyOneRow(rows, scanRow[withDecisions])
	if err != nil {
		return SecondmentRecord{}, fmt.Errorf("get secondment %d: %w", id, mapError(err, "secondment"))
	}
	return r.record()
}

// SecondmentGet reads one request with its decisions in time order; a
// missing one is ENotFound.
func (s *Store) SecondmentGet(ctx context.Context, id int64) (SecondmentRecord, error) {
	return secondmentGet(ctx, s.Pool, id, false)
}

// SecondmentList returns the requests matching f, newest first, without
// decisions. Only the filters given become conditions, so that each query
// PostgreSQL plans (custom or generic) can use the index of its column.
func (s *Store) SecondmentList(ctx context.Context, f SecondmentFilter) ([]SecondmentRecord, error) {
	var args []any
	var where []string
	cond := func(format string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(format, len(args)))
	}
	for _, c := range []struct {
		col string
		id  int64
	}{{"s.borrower_id = $%d", f.BorrowerID}, {"s.lender_id = $%d", f.LenderID}, {"s.org_dept_id = $%d", f.OrgDeptID}, {"s.person_id = $%d", f.PersonID}} {
		if c.id != 0 {
			cond(c.col, c.id)
		}
	}
	if len(f.States) > 0 {
		cond("s.state = ANY ($%d)", stateNames(f.States))
	}
	sql := secondmentSelect
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	sql += " ORDER BY s.created_at DESC, s.id DESC"
	if f.Limit > 0 {
		args = append(args, f.Limit)
		sql += fmt.Sprintf(" LIMIT $%d", len(args))
	}
	out, err := collectSecondments(s.Pool.Query(ctx, sql, args...))
	if err != nil {
		return nil, fmt.Errorf("list secondments: %w", err)
	}
	return out, nil
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

// actorOf is the audit trail's view of a domain actor.
func actorOf(a secondment.Actor) (int64, string) {
	if a.Name == "" && a.Role == secondment.RoleSystem {
		return 0, "system"
	}
	return a.UserID, a.Name
}
