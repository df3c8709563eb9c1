package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"secondment/internal/secondment"
)

// LedgerSort orders the ledger.
type LedgerSort string

const (
	LedgerByStart LedgerSort = "start" // latest start first (the default)
	LedgerByEnd   LedgerSort = "end"   // soonest end first: what runs out next
)

// LedgerFilter is one page of the ledger (台账) of a party: a role in a
// unit. Zero fields do not filter. Only the conditions that are set are
// written into the query, so each query is planned for the filters it has
// (no "$1 = 0 OR …" that a generic plan cannot use an index for).
type LedgerFilter struct {
	Role   secondment.Role // borrower, lender, or orgdept/registrar (the approving org dept)
	UnitID int64

	States         []secondment.State // default: every state of a secondment that happened
	Kind           secondment.Kind
	Alias          *secondment.Alias // nil: any
	Purpose        secondment.Purpose
	LenderLevel    secondment.Level
	System         secondment.System // of the lending unit
	BorrowerID     int64
	LenderID       int64
	From, To       secondment.Date // the term overlaps [From, To]
	EndFrom, EndTo secondment.Date // the term ends within [EndFrom, EndTo]
	Unrenewed      bool            // no renewal asked for (none, or only refused or withdrawn ones)
	Overdue        bool            // overdue only (R10), whatever States says
	Irregular      bool            // with an open ledger entry
	Renewals       bool            // renewals only
	Registered     bool            // registered stock only
	ImportID       int64           // the rows of one import file only
	Query          string          // in the person's name, or the number
	Sort           LedgerSort
	AfterDate      secondment.Date // keyset: the sort date of the last row shown
	AfterID        int64           // and its id; 0: the first page
	Limit          int
}

// LedgerStates are the states of a secondment that happened: approved or
// later. Requests under review or refused are in the inboxes, not here.
var LedgerStates = []secondment.State{secondment.StateApproved, secondment.StateActive, secondment.StateExpired,
	secondment.StateOverdue, secondment.StateReturnRecorded, secondment.StateReturned, secondment.StateRenewed,
	secondment.StateTransferPending, secondment.StateTransferred}

// ledgerStates are the states a filter lists: those asked for (only
// overdue, when Overdue), within LedgerStates.
func ledgerStates(f LedgerFilter) []secondment.State {
	states := f.States
	if len(states) == 0 {
		states = LedgerStates
	}
	if f.Overdue {
		if !slices.Contains(states, secondment.StateOverdue) {
			return nil
		}
		return []secondment.State{secondment.StateOverdue}
	}
	return states
}

// ledgerGroups are the state groups of f's branches: one per state, each
// read from its party's index in the order asked; but the org dept's (or
// registrar's) irregular secondments are one group, read from its open
// ledger entries (a few thousand at most). A branch per state scanned each
// state's rows for the few with an entry: 98,816 returned rows of the
// benchmark's busiest org dept to find none, 40–270 ms.
func ledgerGroups(f LedgerFilter, states []secondment.State) [][]secondment.State {
	if f.Irregular && column(f.Role) == "org_dept_id" {
		return [][]secondment.State{states}
	}
	out := make([][]secondment.State, len(states))
	for i, st := range states {
		out[i] = []secondment.State{st}
	}
	return out
}

// ledgerBranch is the FROM and WHERE of one group of states' rows of the
// filter: the party's unit and the state first, as the index has them,
// then the other conditions that are set, and only the joins they need.
func ledgerBranch(f LedgerFilter, states []secondment.State, arg func(any) string) string {
	var w []string
	add := func(s string) { w = append(w, s) }
	from := "FROM secondment s"
	party := arg(f.UnitID)
	add("s." + column(f.Role) + " = " + party + "::bigint")
	if len(states) == 1 {
		add("s.state = " + arg(string(states[0])) + "::text")
	} else {
		add("s.state = ANY (" + arg(stateNames(states)) + "::text[])")
	}
	if f.Kind != "" {
		add("s.kind = " + arg(string(f.Kind)))
	}
	if f.Alias != nil {
		add("s.alias = " + arg(string(*f.Alias)))
	}
	if f.Purpose != "" {
		add("s.purpose = " + arg(string(f.Purpose)))
	}
	if f.LenderLevel != "" || f.System != "" {
		from += " JOIN unit l ON l.id = s.lender_id"
		if f.LenderLevel != "" {
			add("l.level = " + arg(string(f.LenderLevel)))
		}
		if f.System != "" {
			add("l.system = " + arg(string(f.System)))
		}
	}
	if f.BorrowerID != 0 {
		add("s.borrower_id = " + arg(f.BorrowerID) + "::bigint")
	}
	if f.LenderID != 0 {
		add("s.lender_id = " + arg(f.LenderID) + "::bigint")
	}
	if !f.From.IsZero() {
		add("s.end_date >= " + arg(dateArg(f.From)) + "::date")
	}
	if !f.To.IsZero() {
		add("s.start_date <= " + arg(dateArg(f.To)) + "::date")
	}
	if !f.EndFrom.IsZero() {
		add("s.end_date >= " + arg(dateArg(f.EndFrom)) + "::date")
	}
	if !f.EndTo.IsZero() {
		add("s.end_date <= " + arg(dateArg(f.EndTo)) + "::date")
	}
	if f.Unrenewed {
		add(`NOT EXISTS (SELECT 1 FROM secondment r WHERE r.previous_id = s.id
			AND r.state NOT IN ('declined', 'rejected', 'withdrawn'))`)
	}
	switch {
	case f.Irregular && column(f.Role) == "org_dept_id":
		// An entry's org dept is its secondment's (migration 21). As an
		// array, the open entries drive the read (their secondments by
		// primary key, 3.7 ms); as IN (…), PostgreSQL hashed them and read
		// every row of the org dept's states (39–134 ms).
		add("s.id = ANY (ARRAY(SELECT le.secondment_id FROM ledger_entry le WHERE le.org_dept_id = " + party +
			"::bigint AND le.closed_on IS NULL))")
	case f.Irregular:
		add("EXISTS (SELECT 1 FROM ledger_entry le WHERE le.secondment_id = s.id AND le.closed_on IS NULL)")
	}
	if f.Renewals {
		add("s.previous_id IS NOT NULL")
	}
	if f.Registered {
		add("s.registered_on IS NOT NULL")
	}
	if f.ImportID != 0 {
		add("s.import_id = " + arg(f.ImportID))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		from += " JOIN person pe ON pe.id = s.person_id"
		p := arg("%" + likeEscape(q) + "%")
		add("(pe.name LIKE " + p + " OR s.number LIKE " + p + ")")
	}
	return from + " WHERE " + strings.Join(w, " AND ")
}

// likeEscape makes s match itself in a LIKE pattern.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// sortOf is the column and direction of a sort.
func sortOf(s LedgerSort) (col, dir, cmp string) {
	if s == LedgerByEnd {
		return "end_date", "ASC", ">"
	}
	return "start_date", "DESC", "<"
}

// Ledger returns one page of the ledger, in the filter's order. Each state
// is one bounded scan of the index on (party, state, sort key, id) — at
// most a page of rows whatever the party's history — and the page is the
// first rows of their union (as the inboxes are read).
func (s *Store) Ledger(ctx context.Context, f LedgerFilter) ([]secondment.LedgerLine, error) {
	sql, args := ledgerSQL(f)
	if sql == "" {
		return nil, nil
	}
	return collectLedger(s.Pool.Query(ctx, sql, args...))
}

// LedgerWithCount is Ledger and LedgerCount in one round trip, as a page
// shows them.
func (s *Store) LedgerWithCount(ctx context.Context, f LedgerFilter, limit int) ([]secondment.LedgerLine, int, error) {
	sql, args := ledgerSQL(f)
	if sql == "" {
		return nil, 0, nil
	}
	csql, cargs := ledgerCountSQL(f, limit)
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	b.Queue(csql, cargs...)
	br := s.Pool.SendBatch(ctx, b)
	defer br.Close()
	rows, err := collectLedger(br.Query())
	if err != nil {
		return nil, 0, err
	}
	var n int
	if err := br.QueryRow().Scan(&n); err != nil {
		return nil, 0, fmt.Errorf("count ledger: %w", err)
	}
	return rows, n, br.Close()
}

// ledgerSQL is the page query of f; "" when f lists no state.
func ledgerSQL(f LedgerFilter) (string, []any) {
	states := ledgerStates(f)
	if len(states) == 0 {
		return "", nil
	}
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	col, dir, cmp := sortOf(f.Sort)
	lim := arg(f.Limit)
	after := ""
	if f.AfterID != 0 {
		after = " AND (s." + col + ", s.id) " + cmp + " (" + arg(dateArg(f.AfterDate)) + "::date, " + arg(f.AfterID) + "::bigint)"
	}
	order := " ORDER BY s." + col + " " + dir + ", s.id " + dir
	var branches []string
	for _, g := range ledgerGroups(f, states) {
		branches = append(branches, "(SELECT s.id, s."+col+" AS key "+ledgerBranch(f, g, arg)+after+order+" LIMIT "+lim+")")
	}
	sql := `SELECT s.id, coalesce(s.number, ''), s.state, s.kind, s.alias, s.purpose, s.task, pe.name, b.name, l.name, l.level,
	       s.start_date, s.end_date, s.returned_on, s.previous_id IS NOT NULL, s.registered_on, s.approval_ref,
	       ARRAY(SELECT le.rule FROM ledger_entry le WHERE le.secondment_id = s.id AND le.closed_on IS NULL ORDER BY le.rule),
	       pe.category, s.salary_with
	FROM (SELECT id FROM (` + strings.Join(branches, " UNION ALL ") + `) u ORDER BY key ` + dir + `, id ` + dir + ` LIMIT ` + lim + `) page
	JOIN secondment s ON s.id = page.id
	JOIN person pe ON pe.id = s.person_id
	JOIN unit b ON b.id = s.borrower_id
	JOIN unit l ON l.id = s.lender_id` + order
	return sql, args
}

// collectLedger scans the rows of ledgerSQL.
func collectLedger(rows pgx.Rows, err error) ([]secondment.LedgerLine, error) {
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (secondment.LedgerLine, error) {
		var l secondment.LedgerLine
		var start, end, returned, registered pgtype.Date
		var irregular []string
		err := r.Scan(&l.ID, &l.Number, &l.State, &l.Kind, &l.Alias, &l.Purpose, &l.Task, &l.PersonName, &l.BorrowerName,
			&l.LenderName, &l.LenderLevel, &start, &end, &returned, &l.Renewal, &registered, &l.ApprovalRef, &irregular,
			&l.Category, &l.SalaryWith)
		l.Start, l.End, l.ReturnedOn, l.RegisteredOn = civil(start), civil(end), civil(returned), civil(registered)
		for _, x := range irregular {
			l.Irregular = append(l.Irregular, secondment.RuleID(x))
		}
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return out, nil
}

// LedgerCount counts the rows of the filter, up to limit: a province's
// ledger may hold a million rows, and "10000+" tells a clerk as much as
// the exact number while costing a bounded scan. Like Ledger, each state
// is its own scan, with no join the filter does not need.
func (s *Store) LedgerCount(ctx context.Context, f LedgerFilter, limit int) (int, error) {
	sql, args := ledgerCountSQL(f, limit)
	var n int
	if err := s.Pool.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count ledger: %w", err)
	}
	return n, nil
}

// LedgerCounts counts the rows of each filter, up to limit, in one round
// trip: a dashboard's figures.
func (s *Store) LedgerCounts(ctx context.Context, fs []LedgerFilter, limit int) ([]int, error) {
	b := &pgx.Batch{}
	for _, f := range fs {
		sql, args := ledgerCountSQL(f, limit)
		b.Queue(sql, args...)
	}
	br := s.Pool.SendBatch(ctx, b)
	defer br.Close()
	out := make([]int, len(fs))
	for i := range fs {
		if err := br.QueryRow().Scan(&out[i]); err != nil {
			return nil, fmt.Errorf("count ledger: %w", err)
		}
	}
	return out, br.Close()
}

// ledgerCountSQL is the count query of f, up to limit.
func ledgerCountSQL(f LedgerFilter, limit int) (string, []any) {
	states := ledgerStates(f)
	if len(states) == 0 {
		return "SELECT 0", nil
	}
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	lim := arg(limit)
	var branches []string
	for _, g := range ledgerGroups(f, states) {
		branches = append(branches, "(SELECT 1 "+ledgerBranch(f, g, arg)+" LIMIT "+lim+")")
	}
	return `SELECT count(*) FROM (SELECT 1 FROM (` + strings.Join(branches, " UNION ALL ") + `) u LIMIT ` + lim + `) c`, args
}

// UnitCount is a unit and a count of ledger rows.
type UnitCount struct {
	UnitID int64
	Count  int
}

// LedgerByUnit counts the rows in states of the ledger of a party (role
// in unitID), per lending unit (by RoleLender) or borrowing unit, most
// first, for the limit units with the most. It reads the party's rows of
// those states through the index on (party, state, …).
func (s *Store) LedgerByUnit(ctx context.Context, role secondment.Role, unitID int64, by secondment.Role,
	states []secondment.State, limit int) ([]UnitCount, error) {
	rows, err := s.Pool.Query(ctx, `SELECT s.`+column(by)+`, count(*) FROM secondment s
		WHERE s.`+column(role)+` = $1 AND s.state = ANY ($2) GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $3`,
		unitID, stateNames(states), limit)
	if err != nil {
		return nil, fmt.Errorf("ledger by unit: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[UnitCount])
	if err != nil {
		return nil, fmt.Errorf("ledger by unit: %w", err)
	}
	return out, nil
}

// stateNames are states as query text values.
func stateNames(states []secondment.State) []string {
	out := make([]string, len(states))
	for i, st := range states {
		out[i] = string(st)
	}
	return out
}
