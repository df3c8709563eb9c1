package postgres_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/auth"
	"secondment/internal/dbtest"
	"secondment/internal/postgres"
	"secondment/internal/province"
	"secondment/internal/secondment"
)

// TestSearchFindsWhatAFilterFinds: a search reads a page from the parties'
// newest requests when the matches are common there, and from the matches'
// own indexes when they are rare. Whichever way, and when the two mix, the
// page is the one a plain filter over the parties' whole history gives,
// page after page, with a state filter too. So is the list unsearched
// (SecondmentInbox), which picks its page from the branches' index
// entries before reading a request: a request in two branches (its own
// org dept's, and escalated to it) is listed once.
func TestSearchFindsWhatAFilterFinds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, url := dbtest.URLs(t) // the loader drops and restores foreign keys: the owner's work
	// Connected as the service connects (without JIT, which would compile
	// the rare branches' overestimated plans).
	store, err := postgres.Open(ctx, url, postgres.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	hash, err := auth.Hasher{Params: auth.CheapParams}.Hash("x-unused-password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := province.Load(ctx, store, province.Options{N: 3000, Consent: 10, Approve: 10, PasswordHash: hash,
		Now: time.Now(), Seed: 3, Log: io.Discard}); err != nil {
		t.Fatal(err)
	}
	visible := func(r secondment.Role) []secondment.State {
		var out []secondment.State
		for _, st := range secondment.AllStates {
			if st.VisibleTo(r) {
				out = append(out, st)
			}
		}
		return out
	}
	// The parties: the busiest org dept, and its busiest lending and
	// borrowing units, alone and in pairs that share requests (a user who
	// stands in for a colleague); the texts: a number, a common and a rare
	// name, the two units' names, two words in many units' names, and one
	// matching nothing.
	type party struct {
		role secondment.Role
		unit int64
	}
	var orgDept, lender, borrower int64
	one := func(sql string, args ...any) (v string) {
		t.Helper()
		if err := store.Pool.QueryRow(ctx, sql, args...).Scan(&v); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return v
	}
	if err := store.Pool.QueryRow(ctx, `SELECT org_dept_id FROM secondment WHERE org_dept_id IS NOT NULL
		GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`).Scan(&orgDept); err != nil {
		t.Fatal(err)
	}
	if err := store.Pool.QueryRow(ctx, `SELECT lender_id, (SELECT borrower_id FROM secondment WHERE org_dept_id = $1
		GROUP BY 1 ORDER BY count(*) DESC LIMIT 1) FROM secondment WHERE org_dept_id = $1 GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`,
		orgDept).Scan(&lender, &borrower); err != nil {
		t.Fatal(err)
	}
	texts := []string{
		one(`SELECT number FROM secondment WHERE org_dept_id = $1 AND number IS NOT NULL ORDER BY id LIMIT 1 OFFSET 100`, orgDept),
		one(`SELECT p.name FROM secondment s JOIN person p ON p.id = s.person_id WHERE s.org_dept_id = $1
			GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`, orgDept),
		one(`SELECT p.name FROM secondment s JOIN person p ON p.id = s.person_id WHERE s.org_dept_id = $1
			GROUP BY 1 ORDER BY count(*), 1 LIMIT 1`, orgDept),
		one(`SELECT name FROM unit WHERE id = $1`, lender),
		one(`SELECT name FROM unit WHERE id = $1`, borrower),
		"局", "乡", "没有这个人",
		"", // no search: the inbox's own page
	}
	// The plain filter: each party's requests in the states it sees (and
	// the steps escalated to a supervisor), narrowed, matching.
	filter := func(ps []party, sup []int64, text string, n postgres.Narrow, after postgres.Cursor, limit int) []int64 {
		t.Helper()
		args := []any{text, after.ID, after.CreatedAt, limit, sup, string(n.State), n.CreatedFrom, n.CreatedBefore}
		var or []string
		for _, p := range ps {
			col := map[secondment.Role]string{secondment.RoleOrgDept: "org_dept_id", secondment.RoleLender: "lender_id",
				secondment.RoleBorrower: "borrower_id"}[p.role]
			var states []string
			for _, st := range visible(p.role) {
				states = append(states, string(st))
			}
			args = append(args, p.unit, states)
			or = append(or, fmt.Sprintf("(s.%s = $%d AND s.state = ANY ($%d))", col, len(args)-1, len(args)))
		}
		or = append(or, `EXISTS (SELECT 1 FROM escalation e WHERE e.secondment_id = s.id AND e.step = s.state AND e.supervisor_id = ANY ($5))`)
		rows, err := store.Pool.Query(ctx, `SELECT s.id FROM secondment s
			WHERE ($1 = '' OR s.number = $1 OR s.person_id IN (SELECT id FROM person WHERE strpos(name, $1) > 0)
			       OR s.lender_id IN (SELECT id FROM unit WHERE strpos(name, $1) > 0)
			       OR s.borrower_id IN (SELECT id FROM unit WHERE strpos(name, $1) > 0))
			  AND (`+strings.Join(or, " OR ")+`)
			  AND ($6 = '' OR s.state = $6)
			  AND ($7::timestamptz = '0001-01-01Z' OR s.created_at >= $7) AND ($8::timestamptz = '0001-01-01Z' OR s.created_at < $8)
			  AND ($2::bigint = 0 OR (s.created_at, s.id) < ($3, $2))
			ORDER BY s.created_at DESC, s.id DESC LIMIT $4`, args...)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	var mid time.Time
	if err := store.Pool.QueryRow(ctx, `SELECT created_at FROM secondment WHERE org_dept_id = $1 ORDER BY created_at
		OFFSET (SELECT count(*) / 2 FROM secondment WHERE org_dept_id = $1) LIMIT 1`, orgDept).Scan(&mid); err != nil {
		t.Fatal(err)
	}
	// Steps escalated to the org dept: forty of another org dept's
	// requests, of every age, and one of its own.
	escalated := map[int64]bool{}
	rows, err := store.Pool.Query(ctx, `INSERT INTO escalation (secondment_id, step, flagged_on, supervisor_id, waited_days)
		SELECT id, state, current_date, $1, 5 FROM (
			(SELECT id, state FROM secondment WHERE org_dept_id <> $1 AND state <> 'draft' ORDER BY id % 97, id LIMIT 40)
			UNION ALL
			(SELECT id, state FROM secondment WHERE org_dept_id = $1 AND state = 'returned' ORDER BY id LIMIT 1)) e
		RETURNING secondment_id`, orgDept)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(ids) != 41 {
		t.Fatalf("escalations: %d, %v", len(ids), err)
	}
	for _, id := range ids[:40] {
		escalated[id] = true
	}
	od, ln, br := party{secondment.RoleOrgDept, orgDept}, party{secondment.RoleLender, lender}, party{secondment.RoleBorrower, borrower}
	const limit = 10
	hits, viaEscalation := 0, 0
	for _, ps := range [][]party{{od}, {ln}, {br}, {od, br}, {ln, br}} { // the last two overlap
		var sup []int64
		if ps[0] == od {
			sup = []int64{orgDept}
		}
		for _, text := range texts {
			for _, n := range []postgres.Narrow{{}, {State: secondment.StateReturned},
				{CreatedFrom: mid.AddDate(-1, 0, 0), CreatedBefore: mid}} {
				for _, window := range []int{0, -1, 25} { // the service's; none; one a common match can fill
					if text == "" && window != 0 {
						continue // the inbox has no window
					}
					name := fmt.Sprintf("%v, %q, %+v, window %d", ps, text, n, window)
					var after postgres.Cursor
					for page := 1; page <= 3; page++ {
						q := postgres.InboxQuery{States: map[secondment.Role][]secondment.State{}, Supervisors: sup,
							After: after, Limit: limit, Narrow: n, SearchWindow: window}
						for _, p := range ps {
							q.Parties = append(q.Parties, postgres.InboxParty{Role: p.role, UnitID: p.unit})
							q.States[p.role] = visible(p.role)
						}
						var got []postgres.Loaded
						if text == "" {
							got, err = store.SecondmentInbox(ctx, q, 0)
						} else {
							got, err = store.SecondmentSearch(ctx, q, 0, text)
						}
						if err != nil {
							t.Fatalf("%s: %v", name, err)
						}
						var ids []int64
						for _, r := range got {
							ids = append(ids, r.ID)
						}
						want := filter(ps, sup, text, n, after, limit)
						if !slices.Equal(ids, want) {
							t.Fatalf("%s, page %d: %v; a filter finds %v", name, page, ids, want)
						}
						hits += len(ids)
						for _, id := range ids {
							if escalated[id] {
								viaEscalation++
							}
						}
						if len(got) < limit {
							break
						}
						last := got[len(got)-1]
						after = postgres.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
					}
				}
			}
		}
	}
	if hits < 1000 || viaEscalation == 0 {
		t.Fatalf("%d rows found in all, %d of them escalated steps: the texts do not exercise the search", hits, viaEscalation)
	}
}

// TestConnectionsRunWithoutJIT: the service's connections do not compile
// plans (a search's overestimated plan spent a second on it at a
// province's size), unless the URL asks for it.
func TestConnectionsRunWithoutJIT(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, _ := dbtest.URLs(t)
	for _, c := range []struct{ url, want string }{{url, "off"}, {url + "&jit=on", "on"}} {
		s, err := postgres.Open(ctx, c.url, postgres.ConnectOptions{MaxConns: 2})
		if err != nil {
			t.Fatal(err)
		}
		var jit string
		if err := s.Pool.QueryRow(ctx, `SHOW jit`).Scan(&jit); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if jit != c.want {
			t.Errorf("%s: jit %s; want %s", c.url, jit, c.want)
		}
	}
}
