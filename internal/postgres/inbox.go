package postgres

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/secondment"
)

// InboxParty is one way a user takes part in requests: a chain role in a
// unit (their own, or a colleague's they stand in for).
type InboxParty struct {
	Role   secondment.Role
	UnitID int64
}

// Cursor is where a page of an inbox ends: the (created_at, id) of its
// last row; the next page starts after it.
type Cursor struct {
	CreatedAt time.Time
	ID        int64
}

// where is the predicate of the rows after c in (created_at, id) order,
// its arguments added by arg; "" for the first page.
func (c Cursor) where(arg func(any) string) string {
	if c.ID == 0 {
		return ""
	}
	return ` AND (s.created_at, s.id) < (` + arg(c.CreatedAt) + `::timestamptz, ` + arg(c.ID) + `::bigint)`
}

// InboxQuery is one page of the requests of some parties, newest first.
type InboxQuery struct {
	Parties []InboxParty
	// States, per role, are the states listed: those the role has to act
	// in for a to-do list, every state the role sees for the whole list.
	// Each (party, state) is one bounded scan of the index on (unit, state,
	// created_at, id).
	States map[secondment.Role][]secondment.State
	// Supervisors are the org depts whose flagged waiting steps are listed
	// too.
	Supervisors []int64
	After       Cursor // zero: the first page
	Limit       int
	// Narrow filters the list: only requests in State ("": any), and
	// created in [CreatedFrom, CreatedBefore) (zero: open). Each keeps the
	// branches index ranges: the state picks the branches, and the
	// creation time is the index's own order.
	Narrow Narrow
	// SearchWindow, when not zero, replaces searchWindow in a search
	// (negative: none, every match read from its own index), for tests
	// that compare the two ways of reading a page.
	SearchWindow int
}

// limit is the page's size: Limit, or 50 when it is not set.
func (q InboxQuery) limit() int {
	if q.Limit <= 0 {
		return 50
	}
	return q.Limit
}

// Narrow is a filter of an inbox query.
type Narrow struct {
	State                      secondment.State
	CreatedFrom, CreatedBefore time.Time
}

// where is n as predicates on s, with their arguments added by arg.
func (n Narrow) where(arg func(any) string) string {
	var w string
	if n.State != "" {
		w += ` AND s.state = ` + arg(string(n.State)) + `::text`
	}
	if !n.CreatedFrom.IsZero() {
		w += ` AND s.created_at >= ` + arg(n.CreatedFrom) + `::timestamptz`
	}
	if !n.CreatedBefore.IsZero() {
		w += ` AND s.created_at < ` + arg(n.CreatedBefore) + `::timestamptz`
	}
	return w
}

// column is the request column that ties a role to its unit.
func column(r secondment.Role) string {
	switch r {
	case secondment.RoleBorrower:
		return "borrower_id"
	case secondment.RoleLender:
		return "lender_id"
	}
	return "org_dept_id"
}

// inboxBranches builds one bounded index scan per party and state, so that
// a page reads at most limit rows per branch whatever a party's history:
// each branch is an index range in (created_at, id) order (migration
// 000013). It returns the UNION ALL of their IDs and the arguments.
func inboxBranches(q InboxQuery, limit int) (string, []any) {
	return inboxBranchesAfter(q, limit, nil)
}

// inboxBranchesAfter is inboxBranches with its arguments numbered after
// args.
func inboxBranchesAfter(q InboxQuery, limit int, args []any) (string, []any) {
	var parts []string
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	after := q.After.where(arg)
	lim := arg(limit)
	// Every placeholder must be used (PostgreSQL cannot type an unused
	// one), and a filter may skip a party's every branch: the days' and
	// each party's unit's arguments are added with their first branch.
	created, createdSet := "", false
	for _, p := range q.Parties {
		col, unit := column(p.Role), ""
		for _, st := range q.States[p.Role] {
			if q.Narrow.State != "" && st != q.Narrow.State {
				continue
			}
			if unit == "" {
				unit = arg(p.UnitID)
			}
			if !createdSet {
				created, createdSet = Narrow{CreatedFrom: q.Narrow.CreatedFrom, CreatedBefore: q.Narrow.CreatedBefore}.where(arg), true
			}
			parts = append(parts, `(SELECT s.id, s.created_at FROM secondment s WHERE s.`+col+` = `+unit+`::bigint AND s.state = `+
				arg(string(st))+`::text`+after+created+` ORDER BY s.created_at DESC, s.id DESC LIMIT `+lim+`)`)
		}
	}
	for _, sup := range q.Supervisors {
		parts = append(parts, `(SELECT s.id, s.created_at FROM escalation e JOIN secondment s
			ON s.id = e.secondment_id AND s.state = e.step WHERE e.supervisor_id = `+arg(sup)+`::bigint`+after+q.Narrow.where(arg)+
			` ORDER BY s.created_at DESC, s.id DESC LIMIT `+lim+`)`)
	}
	return strings.Join(parts, " UNION ALL "), args
}

// SecondmentInbox returns one page of q, newest first, each request once,
// loaded as SecondmentLoad loads one for viewerID (decisions and handlers
// included, so each row's actions are those its page offers).
func (s *Store) SecondmentInbox(ctx context.Context, q InboxQuery, viewerID int64) ([]Loaded, error) {
	sql, args := inboxSQL(q, viewerID)
	if sql == "" {
		return nil, nil
	}
	rows, err := s.Pool.Query(ctx, sql, args...)
	return collectInbox(rows, err, q.limit())
}

// SecondmentInboxWithCount is SecondmentInbox of q, SecondmentInboxCount
// of counted and SecondmentListCounts of viewerID in one round trip, as a
// page shows them.
func (s *Store) SecondmentInboxWithCount(ctx context.Context, q InboxQuery, viewerID int64, counted InboxQuery, max int) ([]Loaded, int, map[ListKind]int, error) {
	sql, args := inboxSQL(q, viewerID)
	csql, cargs := inboxCountSQL(counted, max)
	b := &pgx.Batch{}
	if sql != "" {
		b.Queue(sql, args...)
	}
	b.Queue(csql, cargs...)
	b.Queue(listCountsSQL, viewerID, max)
	br := s.Pool.SendBatch(ctx, b)
	defer br.Close()
	var rows []Loaded
	if sql != "" {
		r, err := br.Query()
		if rows, err = collectInbox(r, err, q.limit()); err != nil {
			return nil, 0, nil, err
		}
	}
	var n int
	if err := br.QueryRow().Scan(&n); err != nil {
		return nil, 0, nil, fmt.Errorf("count inbox: %w", err)
	}
	counts, err := scanListCounts(br.QueryRow())
	if err != nil {
		return nil, 0, nil, err
	}
	return rows, min(n, max), counts, br.Close()
}

// inboxSQL is the page query of q; "" when q has no branch.
func inboxSQL(q InboxQuery, viewerID int64) (string, []any) {
	q.Limit = q.limit()
	branches, args := inboxBranches(q, q.Limit)
	if branches == "" {
		return "", nil
	}
	args = append(args, viewerID, q.Limit)
	// A request in two branches (a party's state and an escalation to
	// the same org dept) is listed once.
	return loadPageQuery("$"+strconv.Itoa(len(args)-1), `SELECT DISTINCT id, created_at FROM (`+branches+`) b
		ORDER BY created_at DESC, id DESC LIMIT $`+strconv.Itoa(len(args))), args
}

// collectInbox scans the rows of loadSelect (an inbox's page, a search's,
// a user's own list) into at most size requests. Each row is scanned into one
// reused row and made a Loaded in a slice of the page's size: collected
// as rows first (pgx.CollectRows), the large rows were copied as their
// slice grew and copied again, a tenth of the server's time on a page.
func collectInbox(rows pgx.Rows, err error, size int) ([]Loaded, error) {
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	defer rows.Close()
	var out []Loaded
	var r loadedRow
	targets := r.targets(make([]any, 0, loadedColumns))
	for rows.Next() {
		r = loadedRow{}
		if err := rows.Scan(targets...); err != nil {
			return nil, fmt.Errorf("inbox: %w", err)
		}
		if out == nil {
			out = make([]Loaded, 0, max(size, 1))
		}
		l, err := r.loaded()
		if err != nil {
			return nil, fmt.Errorf("inbox: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	return out, nil
}

// SecondmentInboxCount counts the requests of q, up to max (a badge says
// "999+", it never counts a province's history).
func (s *Store) SecondmentInboxCount(ctx context.Context, q InboxQuery, max int) (int, error) {
	sql, args := inboxCountSQL(q, max)
	var n int
	if err := s.Pool.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count inbox: %w", err)
	}
	return min(n, max), nil
}

// inboxCountSQL is the count query of q, each branch up to max.
func inboxCountSQL(q InboxQuery, max int) (string, []any) {
	q.After = Cursor{}
	branches, args := inboxBranches(q, max)
	if branches == "" {
		return "SELECT 0", nil
	}
	return `SELECT count(DISTINCT id) FROM (` + branches + `) b`, args
}

// PersonSearch lists up to limit people a borrowing clerk may propose:
// those of units, outside unit exclude, who are not leaders of the units
// in noLeadersOf (an org dept's own leaders are nobody's candidates),
// whose name or home unit's name contains q.
func (s *Store) PersonSearch(ctx context.Context, units []int64, exclude int64, noLeadersOf []int64, q string, limit int) ([]secondment.PersonView, error) {
	args := []any{units, exclude}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	where := "p.home_unit_id = ANY ($1::bigint[]) AND p.home_unit_id <> $2"
	if len(noLeadersOf) > 0 {
		where += " AND NOT (p.leader AND p.home_unit_id = ANY (" + arg(noLeadersOf) + "::bigint[]))"
	}
	if q = strings.TrimSpace(q); q != "" {
		x := arg(q)
		where += " AND (strpos(p.name, " + x + ") > 0 OR strpos(u.name, " + x + ") > 0)"
	}
	rows, err := s.Pool.Query(ctx, `SELECT `+personColumns+` FROM person p JOIN unit u ON u.id = p.home_unit_id
		WHERE `+where+` ORDER BY u.code, p.code LIMIT `+arg(limit), args...)
	if err != nil {
		return nil, fmt.Errorf("search people: %w", err)
	}
	return collectPeople(rows)
}

// ListKind is one of a user's own lists beside the to-do list.
type ListKind string

const (
	ListDone   ListKind = "done" // the steps the user took (已办), newest first
	ListMine   ListKind = "mine" // the requests the user submitted (我发起的)
	ListCopied ListKind = "cc"   // the requests copied to the user (抄送我)
)

// Listed is a request of a user's list with what put it there: the step
// the user took and when (ListDone), when it was submitted or copied.
type Listed struct {
	Loaded
	At     time.Time
	Action secondment.Action // ListDone: the step taken
	Key    Cursor            // this row's place in the list, for the next page's cursor
}

// listKeys is each list's keyset scan: the request's ID, the row's time,
// a tie-breaking ID and the step taken, newest first, after ($2, $3).
var listKeys = map[ListKind]string{
	ListDone: `SELECT d.secondment_id, d.at, d.id, d.action FROM decision d
		WHERE d.actor_user_id = $1 AND (d.at, d.id) < ($2::timestamptz, $3::bigint)
		ORDER BY d.at DESC, d.id DESC LIMIT $4`,
	ListMine: `SELECT s.id, s.created_at, s.id, '' FROM secondment s
		WHERE s.submitted_by = $1 AND (s.created_at, s.id) < ($2::timestamptz, $3::bigint)
		ORDER BY s.created_at DESC, s.id DESC LIMIT $4`,
	ListCopied: `SELECT c.secondment_id, c.added_at, c.secondment_id, '' FROM secondment_cc c
		WHERE c.user_id = $1 AND (c.added_at, c.secondment_id) < ($2::timestamptz, $3::bigint)
		ORDER BY c.added_at DESC, c.secondment_id DESC LIMIT $4`,
}

// SecondmentOwnList reads one page of userID's list kind after cursor (zero:
// the first page), each request loaded as SecondmentLoad loads it.
func (s *Store) SecondmentOwnList(ctx context.Context, kind ListKind, userID int64, after Cursor, limit int) ([]Listed, error) {
	keys, ok := listKeys[kind]
	if !ok {
		return nil, fmt.Errorf("no list %q", kind)
	}
	if after.ID == 0 {
		after = Cursor{CreatedAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), ID: math.MaxInt64}
	}
	rows, err := s.Pool.Query(ctx, keys, userID, after.CreatedAt, after.ID, limit)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, err)
	}
	var out []Listed
	var ids []int64
	for rows.Next() {
		var l Listed
		var id int64
		var action string
		if err := rows.Scan(&id, &l.At, &l.Key.ID, &action); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list %s: %w", kind, err)
		}
		l.ID, l.Action, l.Key.CreatedAt = id, secondment.Action(action), l.At
		out = append(out, l)
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err = s.Pool.Query(ctx, loadQuery("$2", "s.id = ANY ($1::bigint[])"), ids, userID)
	loaded, err := collectInbox(rows, err, len(ids))
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]Loaded, len(loaded))
	for _, l := range loaded {
		byID[l.ID] = l
	}
	for i := range out {
		out[i].Loaded = byID[out[i].ID]
	}
	return out, nil
}

// listCountsSQL counts a user's own lists ($1), each up to $2.
const listCountsSQL = `SELECT
	(SELECT count(*) FROM (SELECT 1 FROM decision WHERE actor_user_id = $1 LIMIT $2) a),
	(SELECT count(*) FROM (SELECT 1 FROM secondment WHERE submitted_by = $1 LIMIT $2) b),
	(SELECT count(*) FROM (SELECT 1 FROM secondment_cc WHERE user_id = $1 LIMIT $2) c)`

func scanListCounts(row pgx.Row) (map[ListKind]int, error) {
	var done, mine, cc int
	if err := row.Scan(&done, &mine, &cc); err != nil {
		return nil, fmt.Errorf("count lists: %w", err)
	}
	return map[ListKind]int{ListDone: done, ListMine: mine, ListCopied: cc}, nil
}

// SecondmentListCounts counts userID's lists, each up to max.
func (s *Store) SecondmentListCounts(ctx context.Context, userID int64, max int) (map[ListKind]int, error) {
	return scanListCounts(s.Pool.QueryRow(ctx, listCountsSQL, userID, max))
}

// searchWindow is how many of the parties' newest requests a search reads
// first, in their lists' own order: where matches are common (a busy unit's
// name), the page is found among them; past it, the matches are read from
// their own indexes.
const searchWindow = 2000

// searchMatch is whether request s matches the search text $1: its
// number, or a part of its person's or either unit's name.
const searchMatch = `(s.number = $1
	OR EXISTS (SELECT 1 FROM person p WHERE p.id = s.person_id AND strpos(p.name, $1) > 0)
	OR EXISTS (SELECT 1 FROM unit u WHERE u.id = s.lender_id AND strpos(u.name, $1) > 0)
	OR EXISTS (SELECT 1 FROM unit u WHERE u.id = s.borrower_id AND strpos(u.name, $1) > 0))`

// SecondmentSearch reads one page of q's requests (its parties in their
// states, and the steps escalated to its supervisors, newest first, after
// q.After) whose number is text, or whose person's, lending unit's or
// borrowing unit's name contains text: the page a filter over all of them
// would give.
//
// It never reads a party's whole history, as that filter did (an org
// dept's 120,000 requests for a number that matched one). It reads the
// parties' newest searchWindow requests in their index order, and keeps
// those that match: when they fill the page, that is the page, for no
// request past the window is newer. When they do not, the matches are
// rare, and the page is built from them: the number in each
// jurisdiction's index of numbers, each person named in the index of
// people, each unit named, per state, as a range of its own index in
// (created_at, id) order, each branch at most a page.
func (s *Store) SecondmentSearch(ctx context.Context, q InboxQuery, viewerID int64, text string) ([]Loaded, error) {
	sql, args := searchSQL(q, viewerID, text)
	if sql == "" {
		return nil, nil
	}
	rows, err := s.Pool.Query(ctx, sql, args...)
	return collectInbox(rows, err, q.limit())
}

// searchSQL is SecondmentSearch's query; "" when q lists nothing.
func searchSQL(q InboxQuery, viewerID int64, text string) (string, []any) {
	q.Limit = q.limit()
	args := []any{text, viewerID, q.Limit}
	size := searchWindow
	if q.SearchWindow != 0 {
		size = max(q.SearchWindow, 0)
	}
	window, args := inboxBranchesAfter(q, size, args)
	if window == "" {
		return "", nil
	}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	// The page's start and the days, in every rare branch.
	since := q.After.where(arg) + Narrow{CreatedFrom: q.Narrow.CreatedFrom, CreatedBefore: q.Narrow.CreatedBefore}.where(arg)
	page := ` ORDER BY s.created_at DESC, s.id DESC LIMIT $3`
	var parties []string
	var states []string // every party's, for the units' branches
	for _, p := range q.Parties {
		var own []string
		for _, st := range q.States[p.Role] {
			if q.Narrow.State != "" && st != q.Narrow.State {
				continue
			}
			own = append(own, string(st))
			if !slices.Contains(states, string(st)) {
				states = append(states, string(st))
			}
		}
		if len(own) > 0 {
			parties = append(parties, "(s."+column(p.Role)+" = "+arg(p.UnitID)+"::bigint AND s.state = ANY ("+arg(own)+"::text[]))")
		}
	}
	var rare []string
	if len(parties) > 0 {
		filter := ` AND (` + strings.Join(parties, " OR ") + `)` + since
		st := arg(states)
		unitBranch := func(col string) string {
			return `(SELECT x.id, x.created_at FROM (SELECT id FROM unit WHERE strpos(name, $1) > 0) u
				CROSS JOIN unnest(` + st + `::text[]) AS st(state)
				CROSS JOIN LATERAL (SELECT s.id, s.created_at FROM secondment s
					WHERE s.` + col + ` = u.id AND s.state = st.state` + filter + page + `) x)`
		}
		rare = append(rare,
			// A number is unique within its jurisdiction: the
			// jurisdictions are walked in the numbers' index (a loose
			// scan, one probe each).
			`(WITH RECURSIVE j(id) AS (
				SELECT min(jurisdiction_id) FROM secondment
				UNION ALL
				SELECT (SELECT min(jurisdiction_id) FROM secondment WHERE jurisdiction_id > j.id) FROM j WHERE j.id IS NOT NULL)
			  SELECT s.id, s.created_at FROM j JOIN secondment s ON s.jurisdiction_id = j.id AND s.number = $1 WHERE true`+filter+`)`,
			// Each person named, in the people's index of requests.
			`(SELECT x.id, x.created_at FROM (SELECT id FROM person WHERE strpos(name, $1) > 0) p
				CROSS JOIN LATERAL (SELECT s.id, s.created_at FROM secondment s
					WHERE s.person_id = p.id`+filter+page+`) x)`,
			unitBranch("lender_id"),
			unitBranch("borrower_id"))
	}
	if len(q.Supervisors) > 0 {
		// The steps escalated to the supervisors are few: each is checked.
		var state string
		if q.Narrow.State != "" {
			state = ` AND s.state = ` + arg(string(q.Narrow.State)) + `::text`
		}
		rare = append(rare, `(SELECT s.id, s.created_at FROM escalation e JOIN secondment s
			ON s.id = e.secondment_id AND s.state = e.step WHERE e.supervisor_id = ANY (`+arg(q.Supervisors)+`::bigint[])
			AND `+searchMatch+state+since+page+`)`)
	}
	// The window's matches (a request listed for two parties counts
	// once). The rare branches run only when those do not fill the page
	// and the window was cut off, so that it did not hold the whole list
	// (conditions on no row of theirs, which PostgreSQL checks once before
	// starting them).
	matches := `WITH w AS MATERIALIZED (
		SELECT id, created_at FROM (` + window + `) b ORDER BY created_at DESC, id DESC LIMIT ` + strconv.Itoa(size) + `),
	win AS MATERIALIZED (
		SELECT DISTINCT w.id, w.created_at FROM w JOIN secondment s ON s.id = w.id
		WHERE ` + searchMatch + `
		ORDER BY w.created_at DESC, w.id DESC LIMIT $3)
	SELECT id, created_at FROM win`
	if len(rare) > 0 {
		matches += `
	UNION
	SELECT id, created_at FROM (` + strings.Join(rare, " UNION ALL ") + `) r
	WHERE (SELECT count(*) FROM win) < $3 AND (SELECT count(*) FROM w) >= ` + strconv.Itoa(size)
	}
	return loadPageQuery("$2", `SELECT id, created_at FROM (`+matches+`) m ORDER BY created_at DESC, id DESC LIMIT $3`), args
}
