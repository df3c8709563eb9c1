package postgres_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

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
// page after page, with a state filter too.
func TestSearchFindsWhatAFilterFinds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, url := dbtest.URLs(t) // the loader drops and restores foreign keys: the owner's work
	store := &postgres.Store{Pool: dbtest.Pool(t, url)}
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
	// The parties: the busiest org dept, its busiest lending unit, and a
	// borrowing unit of it; each with a few texts its requests match,
	// commonly or rarely, and one matching nothing.
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
		GROUP BY 1 ORDER BY count(*) LIMIT 1) FROM secondment WHERE org_dept_id = $1 GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`,
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
	}
	filter := func(p party, text string, state secondment.State, after postgres.Cursor, limit int) []int64 {
		t.Helper()
		col := map[secondment.Role]string{secondment.RoleOrgDept: "org_dept_id", secondment.RoleLender: "lender_id",
			secondment.RoleBorrower: "borrower_id"}[p.role]
		var states []string
		for _, st := range visible(p.role) {
			if state == "" || st == state {
				states = append(states, string(st))
			}
		}
		rows, err := store.Pool.Query(ctx, `SELECT s.id FROM secondment s
			WHERE (s.number = $1 OR s.person_id IN (SELECT id FROM person WHERE strpos(name, $1) > 0)
			       OR s.lender_id IN (SELECT id FROM unit WHERE strpos(name, $1) > 0)
			       OR s.borrower_id IN (SELECT id FROM unit WHERE strpos(name, $1) > 0))
			  AND s.`+col+` = $2 AND s.state = ANY ($3) AND ($4::bigint = 0 OR (s.created_at, s.id) < ($5, $4))
			ORDER BY s.created_at DESC, s.id DESC LIMIT $6`, text, p.unit, states, after.ID, after.CreatedAt, limit)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		return ids
	}
	const limit = 10
	hits := 0
	for _, p := range []party{{secondment.RoleOrgDept, orgDept}, {secondment.RoleLender, lender}, {secondment.RoleBorrower, borrower}} {
		for _, text := range texts {
			for _, state := range []secondment.State{"", secondment.StateReturned} {
				for _, window := range []int{0, -1, 7} { // the service's; none; one that sees a few
					name := fmt.Sprintf("%s %d, %q, state %q, window %d", p.role, p.unit, text, state, window)
					var after postgres.Cursor
					for page := 1; page <= 3; page++ {
						q := postgres.InboxQuery{Parties: []postgres.InboxParty{{Role: p.role, UnitID: p.unit}},
							States: map[secondment.Role][]secondment.State{p.role: visible(p.role)}, After: after, Limit: limit,
							Narrow: postgres.Narrow{State: state}, SearchWindow: window}
						got, err := store.SecondmentSearch(ctx, q, 0, text)
						if err != nil {
							t.Fatalf("%s: %v", name, err)
						}
						var ids []int64
						for _, r := range got {
							ids = append(ids, r.ID)
						}
						want := filter(p, text, state, after, limit)
						if !slices.Equal(ids, want) {
							t.Fatalf("%s, page %d: %v; a filter finds %v", name, page, ids, want)
						}
						hits += len(ids)
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
	if hits < 500 {
		t.Fatalf("only %d rows found in all: the texts do not exercise the search", hits)
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
