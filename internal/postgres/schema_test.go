package postgres_test

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"secondment/internal/dbtest"
	"secondment/internal/demo"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// checkLiterals returns the quoted literals of the CHECK constraint of
// table whose definition starts with mention (or, for a mention that is not
// a "CHECK (" prefix, contains it).
func checkLiterals(t *testing.T, pool *pgxpool.Pool, table, mention string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		SELECT pg_get_constraintdef(oid) FROM pg_constraint
		WHERE conrelid = $1::regclass AND contype = 'c'`, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	lit := regexp.MustCompile(`'([a-z_]*)'::text`)
	for rows.Next() {
		var def string
		if err := rows.Scan(&def); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(def, mention) || (!strings.HasPrefix(mention, "CHECK") && strings.Contains(def, mention)) {
			var out []string
			for _, m := range lit.FindAllStringSubmatch(def, -1) {
				out = append(out, m[1])
			}
			slices.Sort(out)
			return slices.Compact(out)
		}
	}
	t.Fatalf("no CHECK on %s mentions %q", table, mention)
	return nil
}

func sorted[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// The schema's lists of states, actions, roles … are the domain's.
func TestSchemaMirrorsDomain(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t, dbtest.URL(t))
	var terminal []secondment.State
	for _, s := range secondment.AllStates {
		if s.Terminal() {
			terminal = append(terminal, s)
		}
	}
	for _, c := range []struct {
		table, mention string
		want           []string
	}{
		{"secondment", "CHECK ((state = ANY", sorted(secondment.AllStates)},
		{"secondment", "CHECK ((kind = ANY", sorted(secondment.AllKinds)},
		{"secondment", "CHECK ((alias = ANY", sorted(secondment.AllAliases)},
		{"secondment", "CHECK ((purpose = ANY", sorted(secondment.AllPurposes)},
		{"secondment", "CHECK ((transfer_method = ANY", sorted(secondment.AllTransferMethods)},
		{"secondment", "closed_at IS NOT NULL", sorted(terminal)},
		{"decision", "CHECK ((action = ANY", sorted(secondment.AllActions)},
		{"decision", "CHECK ((role = ANY", sorted(secondment.AllRoles)},
		{"policy", "CHECK ((preset = ANY", append([]string{""}, sorted(secondment.AllPresets)...)},
	} {
		if got := checkLiterals(t, pool, c.table, c.mention); !slices.Equal(got, c.want) {
			t.Errorf("%s CHECK %q lists %v; the domain has %v", c.table, c.mention, got, c.want)
		}
	}
}

// fixture is a demo database with one submitted request of 芦长丽.
type fixture struct {
	pool                     *pgxpool.Pool
	person, borrower, lender int64
	jurisdiction, orgDept    int64
	policy, secondment       int64
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	s := dbtest.Store(t)
	if _, err := demo.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	f := fixture{pool: s.Pool}
	q := func(sql string, dst *int64, args ...any) {
		if err := s.Pool.QueryRow(ctx, sql, args...).Scan(dst); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	q(`SELECT id FROM person WHERE name = '芦长丽'`, &f.person)
	q(`SELECT id FROM unit WHERE code = 'NMG-BT-QS-RD'`, &f.borrower)
	q(`SELECT id FROM unit WHERE code = 'NMG-BT-QS-KXL'`, &f.lender)
	q(`SELECT id FROM unit WHERE code = 'NMG-BT'`, &f.jurisdiction)
	q(`SELECT id FROM unit WHERE code = 'NMG-BT-QS-ZZB'`, &f.orgDept)
	q(`SELECT id FROM policy WHERE jurisdiction_id = $1 AND version = 2`, &f.policy, f.jurisdiction)
	q(`INSERT INTO secondment (number, state, kind, purpose, task, person_id, borrower_id, lender_id,
	       start_date, end_date, jurisdiction_id, org_dept_id, policy_id, submitted_on)
	   VALUES ('借调〔2024〕0001', 'awaiting_signoff', 'secondment', 'key_task', '人大换届', $1, $2, $3,
	       '2024-03-01', '2024-05-31', $4, $5, $6, '2024-02-20') RETURNING id`,
		&f.secondment, f.person, f.borrower, f.lender, f.jurisdiction, f.orgDept, f.policy)
	return f
}

func (f fixture) exec(sql string, args ...any) error {
	_, err := f.pool.Exec(context.Background(), sql, args...)
	return err
}

// decide records an org-dept decision on secondment id and returns its id.
func (f fixture) decide(t *testing.T, id int64, action string) int64 {
	t.Helper()
	var d int64
	err := f.pool.QueryRow(context.Background(), `
		INSERT INTO decision (secondment_id, step, action, role, actor_name, opinion, at)
		VALUES ($1, 'awaiting_signoff', $2, 'orgdept', '李志强', '同意', now()) RETURNING id`, id, action).Scan(&d)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSecondmentConstraints(t *testing.T) {
	t.Parallel()
	f := newFixture(t)

	mustFail := func(name, sql string, args ...any) {
		t.Helper()
		err := f.exec(sql, args...)
		var pe *pgconn.PgError
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if !errors.As(err, &pe) || !strings.HasPrefix(pe.Code, "23") {
			t.Errorf("%s: %v; want an integrity constraint violation", name, err)
		}
	}
	mustFail("end before start", `UPDATE secondment SET end_date = '2024-02-01' WHERE id = $1`, f.secondment)
	mustFail("approved without sign-off", `UPDATE secondment SET state = 'approved', approved_on = '2024-02-25' WHERE id = $1`, f.secondment)
	mustFail("submitted without a policy", `UPDATE secondment SET policy_id = NULL WHERE id = $1`, f.secondment)
	mustFail("terminal without its time", `UPDATE secondment SET state = 'rejected' WHERE id = $1`, f.secondment)
	mustFail("time without a terminal state", `UPDATE secondment SET closed_at = now() WHERE id = $1`, f.secondment)
	mustFail("silent exception", `UPDATE secondment SET exception_rules = '{R4}' WHERE id = $1`, f.secondment)
	mustFail("borrowing from itself", `UPDATE secondment SET lender_id = borrower_id WHERE id = $1`, f.secondment)
	mustFail("alias on an attachment", `UPDATE secondment SET kind = 'attachment', alias = 'shadowing' WHERE id = $1`, f.secondment)

	// The sign-off must be an approval of this very request.
	reject := f.decide(t, f.secondment, "reject")
	mustFail("sign-off that is a rejection", `UPDATE secondment SET state = 'approved', approved_on = '2024-02-25',
		signoff_decision_id = $2 WHERE id = $1`, f.secondment, reject)
	approve := f.decide(t, f.secondment, "approve")
	if err := f.exec(`UPDATE secondment SET state = 'approved', approved_on = '2024-02-25', signoff_decision_id = $2 WHERE id = $1`,
		f.secondment, approve); err != nil {
		t.Fatalf("a proper sign-off was refused: %v", err)
	}
	// R8: nothing starts before its sign-off, and active needs a start.
	mustFail("active without a start", `UPDATE secondment SET state = 'active' WHERE id = $1`, f.secondment)
	mustFail("start before sign-off", `UPDATE secondment SET state = 'active', started_on = '2024-02-24' WHERE id = $1`, f.secondment)
	if err := f.exec(`UPDATE secondment SET state = 'active', started_on = '2024-03-01' WHERE id = $1`, f.secondment); err != nil {
		t.Fatalf("a proper start was refused: %v", err)
	}
	mustFail("renewed without its renewal", `UPDATE secondment SET state = 'renewed', closed_at = now() WHERE id = $1`, f.secondment)
	mustFail("returned without the date", `UPDATE secondment SET state = 'returned', closed_at = now() WHERE id = $1`, f.secondment)

	// A renewal continues a term of the same person only.
	var other int64
	if err := f.pool.QueryRow(context.Background(), `SELECT id FROM person WHERE name = '张斌'`).Scan(&other); err != nil {
		t.Fatal(err)
	}
	renewal := `INSERT INTO secondment (state, kind, purpose, task, person_id, borrower_id, lender_id, start_date, end_date, previous_id)
		VALUES ('draft', 'secondment', 'key_task', '续借', $1, $2, $3, '2024-06-01', '2024-08-31', $4)`
	mustFail("renewal of someone else's term", renewal, other, f.borrower, f.lender, f.secondment)
	if err := f.exec(renewal, f.person, f.borrower, f.lender, f.secondment); err != nil {
		t.Fatalf("a renewal of the same person was refused: %v", err)
	}
	// A sign-off decision of another request does not count.
	var second int64
	if err := f.pool.QueryRow(context.Background(), `SELECT id FROM secondment WHERE previous_id = $1`, f.secondment).Scan(&second); err != nil {
		t.Fatal(err)
	}
	mustFail("sign-off of another request", `UPDATE secondment SET state = 'approved', number = 'X', jurisdiction_id = $3,
		org_dept_id = $4, policy_id = $5, submitted_on = '2024-05-01', approved_on = '2024-05-02', signoff_decision_id = $2
		WHERE id = $1`, second, approve, f.jurisdiction, f.orgDept, f.policy)
}

func TestAuditTrailIsAppendOnly(t *testing.T) {
	t.Parallel()
	app, owner := dbtest.URLs(t)
	ctx := context.Background()
	if _, err := dbtest.Pool(t, app).Exec(ctx, `INSERT INTO audit_event (at, actor_name, action, object_type) VALUES (now(), '系统', 'test.event', 'secondment')`); err != nil {
		t.Fatal(err)
	}
	// Even the schema's owner, which holds every privilege, meets the
	// trigger.
	op := dbtest.Pool(t, owner)
	for _, q := range []string{`UPDATE audit_event SET actor_name = 'x'`, `DELETE FROM audit_event`, `TRUNCATE audit_event`,
		`UPDATE audit_chain SET hash = hash`, `DELETE FROM audit_chain`} {
		if _, err := op.Exec(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s as the owner: %v; want refused as append-only", q, err)
		}
	}
}

// The service's own login (the application role) cannot edit the trail,
// write the chain, lift or drop a trigger, or rewrite the migrations'
// record: each is refused by PostgreSQL's privileges, before any trigger.
func TestApplicationRoleCannotTouchTheTrail(t *testing.T) {
	t.Parallel()
	app, _ := dbtest.URLs(t)
	ctx := context.Background()
	p := dbtest.Pool(t, app)
	for q, want := range map[string]string{
		`UPDATE audit_event SET actor_name = 'x'`: "permission denied",
		`DELETE FROM audit_event`:                 "permission denied",
		`TRUNCATE audit_event`:                    "permission denied",
		`INSERT INTO audit_chain (seq, lane, prev_seq, event_id, recorded_at, hash) VALUES (99, 0, 0, 1, now(), sha256(''))`: "permission denied",
		`SELECT setval('audit_chain_seq', 1)`:                           "permission denied",
		`UPDATE audit_chain_head SET seq = 0`:                           "permission denied",
		`DELETE FROM audit_verification`:                                "permission denied",
		`ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update`: "must be owner",
		`DROP TRIGGER audit_event_chain ON audit_event`:                 "must be owner",
		`SET session_replication_role = replica`:                        "permission denied",
		`DELETE FROM schema_migrations`:                                 "permission denied",
		`CREATE TABLE x (id int)`:                                       "permission denied",
		`CREATE OR REPLACE FUNCTION audit_chain_link() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`: "permission denied",
	} {
		if _, err := p.Exec(ctx, q); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s as the application role: %v; want %q", q, err, want)
		}
	}
	l, err := postgres.WhoAmI(ctx, p)
	if err != nil || l.Name != dbtest.AppRole || l.Powerful() {
		t.Fatalf("the application role: %+v, %v", l, err)
	}
}

func TestPoliciesRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := dbtest.Store(t)
	res, err := demo.Load(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	wantVersions := len(secondment.Preset(secondment.PresetBaotou)) + len(secondment.Preset(secondment.PresetWeihai)) +
		len(secondment.Preset(secondment.PresetKashgar))
	if res.PoliciesAdded != wantVersions {
		t.Fatalf("policies added = %d, want %d", res.PoliciesAdded, wantVersions)
	}
	all, err := s.PolicyAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bt, err := s.UnitGetByCode(ctx, "NMG-BT")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := all[bt.ID], secondment.Preset(secondment.PresetBaotou); !reflect.DeepEqual(got, want) {
		t.Fatalf("stored baotou policy differs:\n got %+v\nwant %+v", got, want)
	}
	// Loading again adds nothing and never rewrites a stored version.
	res, err = demo.Load(ctx, s)
	if err != nil || res.PoliciesAdded != 0 || res.PoliciesUnchanged != wantVersions {
		t.Fatalf("second load: %+v, %v", res, err)
	}
	_, err = s.Import(ctx, postgres.Import{Policies: []postgres.PolicyImport{{JurisdictionCode: "NOWHERE",
		Policy: secondment.Preset(secondment.PresetNational)[0]}}})
	if secondment.ErrorCodeOf(err) != secondment.ENotFound {
		t.Fatalf("policy of an unknown unit: %v", err)
	}
}

// The index R14's count reads holds exactly the rows of people away
// (secondment.State.Away), so the count reads nothing else.
func TestAwayIndexMirrorsDomain(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t, dbtest.URL(t))
	var def string
	if err := pool.QueryRow(context.Background(), `SELECT indexdef FROM pg_indexes WHERE indexname = 'secondment_away_idx'`).Scan(&def); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range regexp.MustCompile(`'([a-z_]*)'::text`).FindAllStringSubmatch(def, -1) {
		got = append(got, m[1])
	}
	slices.Sort(got)
	var want []string
	for _, st := range secondment.AllStates {
		if st.Away() {
			want = append(want, string(st))
		}
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("secondment_away_idx covers %v; the domain's away states are %v", got, want)
	}
}
