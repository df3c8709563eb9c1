package province

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/auth"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// province is the loaded province as the database numbers it.
type province struct {
	units     map[string]secondment.Unit // by code
	byID      map[int64]secondment.Unit
	h         *secondment.Hierarchy
	policies  map[int64][]secondment.Policy // by jurisdiction
	policyIDs map[int64]int64               // jurisdiction → its one policy row
}

func readProvince(ctx context.Context, store *postgres.Store) (province, error) {
	p := province{units: map[string]secondment.Unit{}, byID: map[int64]secondment.Unit{}, policyIDs: map[int64]int64{}}
	units, err := store.UnitAll(ctx)
	if err != nil {
		return p, fmt.Errorf("read units: %w", err)
	}
	for _, u := range units {
		p.units[u.Code], p.byID[u.ID] = u, u
	}
	if p.h, err = secondment.NewHierarchy(units); err != nil {
		return p, fmt.Errorf("unit hierarchy: %w", err)
	}
	if p.policies, err = store.PolicyAll(ctx); err != nil {
		return p, fmt.Errorf("read policies: %w", err)
	}
	rows, err := store.Pool.Query(ctx, `SELECT jurisdiction_id, id FROM policy`)
	if err != nil {
		return p, fmt.Errorf("read policy IDs: %w", err)
	}
	var j, id int64
	_, err = pgx.ForEachRow(rows, []any{&j, &id}, func() error { p.policyIDs[j] = id; return nil })
	if err != nil {
		return p, fmt.Errorf("read policy IDs: %w", err)
	}
	return p, nil
}

// borrowerRefs resolves, for every lending unit, the organs that may
// borrow from it with the jurisdiction and org dept the domain gives each,
// so the rows say what a submission through the service would have said.
func (p province) borrowerRefs(sh shape) (map[int64][]borrowerRef, error) {
	resolved := map[string]borrowerRef{}
	out := map[int64][]borrowerRef{}
	for lender, codes := range sh.borrowers {
		for _, code := range codes {
			b, ok := resolved[code]
			if !ok {
				u := p.units[code]
				j, err := p.h.Jurisdiction(u.ID, p.policies)
				if err != nil {
					return nil, fmt.Errorf("jurisdiction of %s: %w", code, err)
				}
				b = borrowerRef{id: u.ID, jurisdiction: j.Root.ID, orgDept: j.OrgDept.ID, policy: p.policyIDs[j.Root.ID]}
				resolved[code] = b
			}
			out[p.units[lender].ID] = append(out[p.units[lender].ID], b)
		}
	}
	return out, nil
}

// copyPeople gives every staffed unit as many people as its headcount.
func copyPeople(ctx context.Context, tx pgx.Tx, sh shape, p province, rng *rand.Rand) ([]personRef, error) {
	var people []personRef
	var rows [][]any
	for _, u := range sh.units { // in plan order, so IDs are the same every run
		for range sh.people[u.Code] {
			id := int64(len(people) + 1)
			people = append(people, personRef{id: id, unit: p.units[u.Code].ID})
			rows = append(rows, []any{id, fmt.Sprintf("%s-P%06d", RootCode, id), personName(rng), p.units[u.Code].ID,
				posts[rng.IntN(len(posts))], ranks[rng.IntN(len(ranks))]})
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"person"}, []string{"id", "code", "name", "home_unit_id", "post", "rank"},
		pgx.CopyFromRows(rows)); err != nil {
		return nil, fmt.Errorf("copy people: %w", err)
	}
	return people, nil
}

// accountSet holds the accounts made and the plaintext tokens of those
// that act in the benchmark (lending units and org depts).
type accountSet struct {
	accounts map[accountKey]account
	tokens   map[accountKey]string
	logins   []string // lending-unit accounts, for the sign-ins
}

// copyAccounts creates, like a real deployment, a borrowing clerk and a
// lending-unit contact for every unit with staff and a reviewer for every
// org dept, all with one password hash (hashing each would take minutes
// for nothing), and an API token for each contact and reviewer.
func copyAccounts(ctx context.Context, tx pgx.Tx, p province, hash string, now time.Time) (accountSet, error) {
	set := accountSet{accounts: map[accountKey]account{}, tokens: map[accountKey]string{}}
	var users, roles, tokens [][]any
	add := func(u secondment.Unit, role, who string) {
		id := int64(len(users) + 1)
		login := strings.ToLower(u.Code) + "." + role
		a := account{id: id, name: u.Name + who}
		users = append(users, []any{id, login, a.name, u.ID, hash, now, false, now, now})
		roles = append(roles, []any{id, role})
		k := accountKey{u.ID, role}
		set.accounts[k] = a
		if role != "borrower" {
			token, h := auth.NewToken()
			set.tokens[k] = token
			tokens = append(tokens, []any{id, "bench", h, now, now.AddDate(1, 0, 0)})
		}
		if role == "lender" {
			set.logins = append(set.logins, login)
		}
	}
	for _, u := range sortedUnits(p) {
		if u.StaffingQuota == nil {
			continue // a region: no staff of its own
		}
		add(u, "borrower", "经办人")
		add(u, "lender", "联络人")
		if od, ok := p.h.OrgDeptOf(u.ParentID); ok && od.ID == u.ID {
			add(u, "orgdept", "审批人")
		}
	}
	for _, c := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"app_user", []string{"id", "login", "name", "unit_id", "password_hash", "password_changed_at",
			"must_change_password", "created_at", "updated_at"}, users},
		{"user_role", []string{"user_id", "role"}, roles},
		{"api_token", []string{"user_id", "name", "token_hash", "created_at", "expires_at"}, tokens},
	} {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
			return set, fmt.Errorf("copy %s: %w", c.table, err)
		}
	}
	return set, nil
}

func sortedUnits(p province) []secondment.Unit {
	units := make([]secondment.Unit, 0, len(p.byID))
	for _, u := range p.byID {
		units = append(units, u)
	}
	slices.SortFunc(units, func(a, b secondment.Unit) int { return cmp.Compare(a.ID, b.ID) })
	return units
}

// Fixture is what the phases need: the waiting requests, each with the
// token of the account that takes its next step, and accounts to sign in.
type Fixture struct {
	Consent, Approve []Work
	Logins           []string
}

// work is one request to move on, and who moves it.
type Work struct {
	ID    int64
	Token string
}

func (set accountSet) Fixture(consent, approve []srow) *Fixture {
	fx := &Fixture{Logins: set.logins}
	for _, s := range consent {
		fx.Consent = append(fx.Consent, Work{s.id, set.tokens[accountKey{s.lender, "lender"}]})
	}
	for _, s := range approve {
		fx.Approve = append(fx.Approve, Work{s.id, set.tokens[accountKey{s.orgDept, "orgdept"}]})
	}
	return fx
}

// reuse prepares a run on a database loaded before (-skip-load): fresh
// tokens for the benchmark's accounts (only their hashes were kept) and
// whatever requests wait for consent and sign-off now, which includes
// those an earlier run consented to.
func Reuse(ctx context.Context, store *postgres.Store, now time.Time) (*Fixture, error) {
	var exists bool
	if err := store.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM unit WHERE code = $1)`, RootCode).Scan(&exists); err != nil {
		return nil, fmt.Errorf("look for the benchmark's data: %w", err)
	}
	if !exists {
		return nil, ErrNoData
	}
	set := accountSet{tokens: map[accountKey]string{}}
	rows, err := store.Pool.Query(ctx, `
		SELECT u.id, u.unit_id, r.role, u.login FROM app_user u JOIN user_role r ON r.user_id = u.id
		WHERE r.role IN ('lender', 'orgdept') AND u.login LIKE $1 ORDER BY u.id`, strings.ToLower(RootCode)+"-%")
	if err != nil {
		return nil, fmt.Errorf("read accounts: %w", err)
	}
	var tokens [][]any
	var id, unit int64
	var role, login string
	_, err = pgx.ForEachRow(rows, []any{&id, &unit, &role, &login}, func() error {
		token, h := auth.NewToken()
		set.tokens[accountKey{unit, role}] = token
		tokens = append(tokens, []any{id, "bench", h, now, now.AddDate(1, 0, 0)})
		if role == "lender" {
			set.logins = append(set.logins, login)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read accounts: %w", err)
	}
	if _, err := store.Pool.CopyFrom(ctx, pgx.Identifier{"api_token"}, []string{"user_id", "name", "token_hash", "created_at", "expires_at"},
		pgx.CopyFromRows(tokens)); err != nil {
		return nil, fmt.Errorf("new API tokens: %w", err)
	}
	waiting := func(state string) ([]srow, error) {
		rows, err := store.Pool.Query(ctx, `SELECT id, lender_id, org_dept_id FROM secondment WHERE state = $1 ORDER BY id`, state)
		if err != nil {
			return nil, fmt.Errorf("read requests %s: %w", state, err)
		}
		return pgx.CollectRows(rows, func(r pgx.CollectableRow) (srow, error) {
			var s srow
			return s, r.Scan(&s.id, &s.lender, &s.orgDept)
		})
	}
	consent, err := waiting("awaiting_consent")
	if err != nil {
		return nil, err
	}
	approve, err := waiting("awaiting_signoff")
	if err != nil {
		return nil, err
	}
	return set.Fixture(consent, approve), nil
}
