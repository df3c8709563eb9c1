package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"secondment/internal/auth"
	"secondment/internal/dbtest"
	"secondment/internal/i18n"
	"secondment/internal/postgres"
	"secondment/internal/province"
	"secondment/internal/secondment"
	"secondment/internal/server"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// TestStep runs the whole benchmark at toy scale: the load into a migrated
// database, every phase against the service (in this process, so it runs
// under the race detector), the check in the database and the report.
func TestStep(t *testing.T) {
	ctx := context.Background()
	// The province loader drops and restores foreign keys around its COPY:
	// the schema owner's work, as in `secondment seed demo --scale`.
	_, url := dbtest.URLs(t)
	store := &postgres.Store{Pool: dbtest.Pool(t, url)}
	cheap := auth.Hasher{Params: auth.CheapParams}
	hash, err := cheap.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	defer func() { t.Log("\n" + log.String()) }()
	const pool = 1000 // consent runs twice: in the pair and with the sign-ins
	fx, err := province.Load(ctx, store, province.Options{N: 4000, Consent: pool, Approve: pool, PasswordHash: hash,
		Now: time.Now(), Seed: 1, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	checkLoad(t, store, fx, pool)

	srv := httptest.NewServer(server.New(server.Deps{Store: store, Catalog: i18n.MustLoad(), Hasher: cheap}).Handler())
	defer srv.Close()
	res, err := runSteps(ctx, url, srv.URL, fx, runOptions{Clients: 4, Pairs: 1, Warmup: 200 * time.Millisecond,
		Duration: time.Second, Password: password, SignIns: 2, Seed: 1, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.phases {
		if p.w.steps == 0 || p.w.failed > 0 {
			t.Errorf("pair %d %s: %d steps, %d failed", p.pair, p.name, p.w.steps, p.w.failed)
		}
		// Sign-ins run only in the last phase, out of the ratios. The
		// second burst is half-way; a phase whose requests ran out before
		// then has none.
		switch {
		case p.name == "consent+sign-ins":
			if len(p.bursts[0].took) != 2 || !p.w.exhausted && len(p.bursts[1].took) != 2 {
				t.Errorf("%s: sign-ins %+v, want bursts of 2", p.name, p.bursts)
			}
		case p.name != "baseline" && (len(p.bursts[0].took) != 0 || len(p.bursts[1].took) != 0):
			t.Errorf("%s: sign-ins %+v during a measured step phase", p.name, p.bursts)
		}
	}
	if last := res.phases[len(res.phases)-1]; last.name != "consent+sign-ins" {
		t.Errorf("the last phase is %s, want the one with sign-ins", last.name)
	}
	if len(res.consentDone) == 0 || len(res.approveDone) == 0 {
		t.Fatalf("moved %d consents and %d approvals, want some of each", len(res.consentDone), len(res.approveDone))
	}
	checked, err := verify(ctx, store.Pool, res)
	if err != nil {
		t.Fatal(err)
	}
	report(&log, res, memory{}, 4, checked)
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "step: service ") || !strings.Contains(last, ", ratio ") {
		t.Errorf("last line %q is not the verdict", last)
	}

	// A second run on the same data takes what still waits, including the
	// requests this run consented to, with fresh tokens.
	again, err := province.Reuse(ctx, store, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(again.Consent), pool-len(res.consentDone); got != want {
		t.Errorf("reuse: %d awaiting consent, want %d", got, want)
	}
	if got, want := len(again.Approve), pool+len(res.consentDone)-len(res.approveDone); got != want {
		t.Errorf("reuse: %d awaiting sign-off, want %d", got, want)
	}
}

// checkLoad checks the loaded data's shape: every state, the pools with
// their decisions, one token per waiting request.
func checkLoad(t *testing.T, store *postgres.Store, fx *province.Fixture, pool int) {
	t.Helper()
	ctx := context.Background()
	if len(fx.Consent) != pool || len(fx.Approve) != pool {
		t.Fatalf("pools of %d and %d, want %d each", len(fx.Consent), len(fx.Approve), pool)
	}
	for _, w := range append(fx.Consent, fx.Approve...) {
		if !auth.LooksLikeToken(w.Token) {
			t.Fatalf("request %d has no token", w.ID)
		}
	}
	counts := map[string]int{}
	rows, err := store.Pool.Query(ctx, `SELECT state, count(*) FROM secondment GROUP BY state`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		counts[s] = n
	}
	for _, s := range secondment.AllStates {
		if counts[string(s)] == 0 {
			t.Errorf("no secondment is %s (%v)", s, counts)
		}
	}
	// Each waiting request carries the decisions that led it there.
	var bad int
	err = store.Pool.QueryRow(ctx, `
		SELECT count(*) FROM secondment s
		WHERE s.state IN ('awaiting_consent', 'awaiting_signoff')
		  AND (SELECT array_agg(action ORDER BY at) FROM decision d WHERE d.secondment_id = s.id)
		      <> CASE s.state WHEN 'awaiting_consent' THEN ARRAY['submit'] ELSE ARRAY['submit', 'consent'] END`).Scan(&bad)
	if err != nil || bad > 0 {
		t.Errorf("%d waiting requests lack their decisions (%v)", bad, err)
	}
}

func TestParseOptions(t *testing.T) {
	var out bytes.Buffer
	o, err := parseOptions([]string{"-n", "5000", "step", "-pairs", "3", "--server-env", "GOGC=50"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if o.n != 5000 || o.pairs != 3 || len(o.serverEnv) != 1 || o.pool != (3+1)*2000*17 {
		t.Errorf("parsed %+v", o)
	}
	if _, err := parseOptions([]string{"sweep"}, &out); err == nil {
		t.Error("an unknown benchmark was accepted")
	}
}

// TestLists runs the lists benchmark's parts at toy scale against the
// service in this process: the history, the bare handler and the pages
// (every request a 200), the ledger's query timings, the export and the
// import through the pages.
func TestLists(t *testing.T) {
	ctx := context.Background()
	// The province loader drops and restores foreign keys around its COPY:
	// the schema owner's work, as in `secondment seed demo --scale`.
	_, url := dbtest.URLs(t)
	store := &postgres.Store{Pool: dbtest.Pool(t, url)}
	cheap := auth.Hasher{Params: auth.CheapParams}
	hash, err := cheap.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	defer func() { t.Log("\n" + log.String()) }()
	if _, err := province.Load(ctx, store, province.Options{N: 4000, Consent: 100, Approve: 100, PasswordHash: hash,
		Now: time.Now(), Seed: 1, Log: &log}); err != nil {
		t.Fatal(err)
	}
	if err := province.History(ctx, store, &log); err != nil {
		t.Fatal(err)
	}
	var notes int
	if err := store.Pool.QueryRow(ctx, `SELECT count(*) FROM notification_outbox`).Scan(&notes); err != nil || notes < 4000 {
		t.Fatalf("history: %d notifications, %v", notes, err)
	}
	party, err := busiestOrgDept(ctx, store.Pool)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(server.Deps{Store: store, Catalog: i18n.MustLoad(), Hasher: cheap}).Handler())
	defer srv.Close()
	client, err := signedIn(ctx, srv.URL, party.login, 4)
	if err != nil {
		t.Fatal(err)
	}
	bare, err := startBare(ctx, url, party, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer bare.close()
	for _, c := range []struct {
		client *http.Client
		base   string
		path   string
	}{{client, srv.URL, "/secondments"}, {client, srv.URL, "/ledger?state=active"},
		{http.DefaultClient, bare.base, "/secondments"}, {http.DefaultClient, bare.base, "/ledger"}} {
		w, err := measure(ctx, time.Now(), 2, 50*time.Millisecond, 300*time.Millisecond, getStep(c.client, c.base, c.path))
		if err != nil || w.steps == 0 || w.failed > 0 {
			t.Errorf("%s%s: %d steps, %d failed, %v", c.base, c.path, w.steps, w.failed, err)
		}
	}
	if took, err := pageTimes(ctx, client, srv.URL, "/", 5); err != nil || len(took) != 5 {
		t.Fatalf("dashboard timings: %d, %v", len(took), err)
	}
	var dash bytes.Buffer
	if worst, err := dashboards(ctx, &dash, store.Pool, srv.URL, party, client); err != nil || worst <= 0 ||
		strings.Count(dash.String(), "dashboard (") != 3 {
		t.Fatalf("the three dashboards: %v\n%s", err, dash.String())
	}
	var entries int
	if err := store.Pool.QueryRow(ctx, `SELECT count(*) FROM ledger_entry WHERE org_dept_id = $1`, party.unit).Scan(&entries); err != nil || entries == 0 {
		t.Fatalf("history: %d irregular ledger entries of the org dept, %v", entries, err)
	}
	views, err := inboxViews(ctx, store.Pool, party)
	if err != nil || len(views) != 6 {
		t.Fatalf("inbox views: %d, %v", len(views), err)
	}
	for _, v := range views {
		if took, err := pageTimes(ctx, client, srv.URL, v.path, 5); err != nil || len(took) != 5 {
			t.Fatalf("inbox timings, %s: %d, %v", v.name, len(took), err)
		}
	}
	for _, v := range irregularViews {
		if took, err := pageTimes(ctx, client, srv.URL, v.path, 5); err != nil || len(took) != 5 {
			t.Fatalf("irregular ledger timings, %s: %d, %v", v.name, len(took), err)
		}
	}
	for _, q := range ledgerQueries(party) {
		took, err := ledgerQueryTimes(ctx, store, q.f)
		if err != nil || len(took) != ledgerQueryRepeats {
			t.Fatalf("ledger query timings, %s: %d, %v", q.name, len(took), err)
		}
	}
	if _, n, err := exportRun(ctx, client, srv.URL); err != nil || n == 0 {
		t.Fatalf("export: %d bytes, %v", n, err)
	}
	// Two rounds, as a run tops the ledger up for its export: the second
	// registers rows of its own, not the first's again.
	for round := range 2 {
		file, err := importFile(ctx, store.Pool, party, 50, round)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := importRun(ctx, client, srv.URL, file); err != nil {
			t.Fatal(err)
		}
		var registered int
		if err := store.Pool.QueryRow(ctx, `SELECT count(*) FROM secondment WHERE registered_on IS NOT NULL`).Scan(&registered); err != nil || registered != 50*(round+1) {
			t.Errorf("round %d: %d rows registered in all, want %d (%v)", round, registered, 50*(round+1), err)
		}
	}
}
