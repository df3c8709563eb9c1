package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"secondment/internal/dbtest"
	"secondment/internal/lettertest"
)

// webhookLog records what the services post to --notify-webhook.
type webhookLog struct {
	mu   sync.Mutex
	seen map[int64]int // notification ID → deliveries
}

func (h *webhookLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var n struct {
		ID int64 `json:"id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&n); err != nil || n.ID == 0 {
		http.Error(w, "bad notification", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.seen[n.ID]++
	h.mu.Unlock()
}

// counts returns the notifications received and those received more than
// once.
func (h *webhookLog) counts() (received int, twice []int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, n := range h.seen {
		if n > 1 {
			twice = append(twice, id)
		}
	}
	return len(h.seen), twice
}

// sameSession is a client presenting to base the session cookies c was
// given by from: nothing but the cookie carries the session over.
func sameSession(t *testing.T, c *http.Client, from, base string) *http.Client {
	t.Helper()
	fromURL, _ := url.Parse(from)
	baseURL, _ := url.Parse(base)
	jar, _ := cookiejar.New(nil)
	cookies := c.Jar.Cookies(fromURL)
	if len(cookies) == 0 {
		t.Fatalf("no session cookie from %s", from)
	}
	jar.SetCookies(baseURL, cookies)
	return &http.Client{Jar: jar}
}

// requestState reads a request's state through the API.
func requestState(t *testing.T, c *http.Client, base string, id int64) string {
	t.Helper()
	code, body := fetch(t, c, fmt.Sprintf("%s/api/v1/secondments/%d", base, id))
	var v struct {
		State string `json:"state"`
	}
	if err := json.Unmarshal([]byte(body), &v); code != 200 || err != nil {
		t.Fatalf("request %d on %s: %d %v %s", id, base, code, err, body)
	}
	return v.State
}

// waitLeader waits up to 40 s for River to have a leader other than not,
// and returns its ID.
func waitLeader(t *testing.T, pool *pgxpool.Pool, not string) string {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for {
		var id string
		err := pool.QueryRow(t.Context(), `SELECT leader_id FROM river_leader WHERE expires_at > now()`).Scan(&id)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
		if id != "" && id != not {
			return id
		}
		if time.Now().After(deadline) {
			t.Fatalf("no River leader other than %q within 40 s", not)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Issue #15, "two processes, one database": two services (real processes
// of this binary, each running the background jobs) serve one database.
// A session signed in on one works on the other; a step taken on one is
// what the other shows at once, letter included; the sweep runs once for
// its period and each notification is posted to the webhook once, though
// both processes run jobs; and the one left serves on when the other is
// killed outright.
func TestTwoServicesOneDatabase(t *testing.T) {
	t.Parallel()
	began := time.Now()
	app, owner := dbtest.URLs(t)
	out, code, stderr := runCmd(t, env("SECONDMENT_DATABASE_URL", app, "SECONDMENT_DATABASE_OWNER_URL", owner), "seed", "demo")
	m := passwordRE.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("seed demo: exit %d: %s %s", code, out, stderr)
	}
	password := m[1]
	pool := dbtest.Pool(t, owner)
	ctx := t.Context()
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waiting := count(`SELECT count(*) FROM notification_outbox WHERE delivered_at IS NULL`)
	if waiting == 0 {
		t.Fatal("the demo left no notification to deliver")
	}

	hook := &webhookLog{seen: map[int64]int{}}
	hs := httptest.NewServer(hook)
	defer hs.Close()
	// A day's sweep interval: River's unique period then allows one sweep
	// for the whole test, whichever process leads.
	dbEnv := []string{"SECONDMENT_DATABASE_URL=" + app, "SECONDMENT_DATABASE_OWNER_URL=" + owner,
		"SECONDMENT_MODE=dev", "SECONDMENT_LOG_LEVEL=warn", "SECONDMENT_NOTIFY_WEBHOOK=" + hs.URL,
		"SECONDMENT_SWEEP_INTERVAL=24h"}
	started := time.Now()
	a := startChild(t, dbEnv, "serve", "--addr", "127.0.0.1:0")
	// A leads River (periodic jobs are the leader's) before B starts, so
	// that killing A later makes B take over.
	leaderA := waitLeader(t, pool, "")
	b := startChild(t, dbEnv, "serve", "--addr", "127.0.0.1:0")
	t.Logf("both serving %s after the test began", time.Since(began).Round(time.Millisecond))

	// Sessions are in PostgreSQL: signed in on A, the cookie works on B.
	borrowerA := signIn(t, a.base, "xj-ks-jw.borrower", password)
	borrowerB := sameSession(t, borrowerA, a.base, b.base)
	if code, body := fetch(t, borrowerB, b.base+"/api/v1/me"); code != 200 {
		t.Fatalf("A's session on B: %d %s", code, body)
	}

	// A step taken on A is on B at once, and B's on A.
	id, etag := fileRequest(t, borrowerA, a.base)
	if s := requestState(t, borrowerB, b.base, id); s != "awaiting_consent" {
		t.Errorf("submitted on A, B shows %s", s)
	}
	lender := lenderLogin(t, owner, id)
	lenderB := signIn(t, b.base, lender, password)
	letter := lettertest.ScanPDF()
	consentWithLetter(t, lenderB, b.base, id, etag, letter)
	if s := requestState(t, borrowerA, a.base, id); s == "awaiting_consent" {
		t.Errorf("consented on B, A still shows %s", s)
	}
	var attachmentID int64
	if err := pool.QueryRow(ctx, `SELECT id FROM attachment WHERE secondment_id = $1`, id).Scan(&attachmentID); err != nil {
		t.Fatal(err)
	}
	lenderA := sameSession(t, lenderB, b.base, a.base)
	if code, body := fetch(t, lenderA, fmt.Sprintf("%s/secondments/%d/attachments/%d", a.base, id, attachmentID)); code != 200 || body != string(letter) {
		t.Errorf("the letter uploaded on B, from A: %d, %d bytes (want %d)", code, len(body), len(letter))
	}

	// The jobs: every notification waiting at start is posted once, and
	// one sweep runs, though both processes run workers.
	deadline := time.Now().Add(30 * time.Second)
	for {
		left := count(`SELECT count(*) FROM notification_outbox WHERE delivered_at IS NULL AND created_at < $1`, started)
		received, _ := hook.counts()
		sweeps := count(`SELECT count(*) FROM sweep_run WHERE origin LIKE 'job %'`)
		if left == 0 && received >= waiting && sweeps > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s: %d of the %d notifications waiting at start undelivered, %d received by the webhook, %d sweeps run",
				left, waiting, received, sweeps)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// ByPeriod keys on the period's start: a test spanning midnight UTC
	// may see the next day's sweep, and no more.
	periods := 1
	if !started.Truncate(24 * time.Hour).Equal(time.Now().Truncate(24 * time.Hour)) {
		periods = 2
	}
	checkOnce := func(when string) {
		t.Helper()
		if n := count(`SELECT count(*) FROM sweep_run WHERE origin LIKE 'job %'`); n < 1 || n > periods {
			t.Errorf("%s: %d sweeps run by the jobs, want one for the day", when, n)
		}
		if n := count(`SELECT count(*) FROM river_job WHERE kind = 'sweep'`); n < 1 || n > periods {
			t.Errorf("%s: %d sweep jobs, want one for the day", when, n)
		}
		if _, twice := hook.counts(); len(twice) > 0 {
			t.Errorf("%s: notifications posted more than once: %v", when, twice)
		}
		if n := count(`SELECT count(*) FROM notification_outbox WHERE delivered_at IS NOT NULL AND attempts <> 1`); n > 0 {
			t.Errorf("%s: %d notifications delivered after more than one claim", when, n)
		}
	}
	checkOnce("both running")
	// Jobs both processes compete for run once each: twenty hourly
	// clean-ups (harmless to repeat) put in River's table at once.
	if _, err := pool.Exec(ctx, `INSERT INTO river_job (args, kind) SELECT '{}', 'prune_notifications' FROM generate_series(1, 20)`); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); count(`SELECT count(*) FROM river_job WHERE kind = 'prune_notifications'
			AND state <> 'completed'`) > 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the clean-up jobs did not complete within 20 s")
		}
	}
	if n := count(`SELECT count(*) FROM river_job WHERE kind = 'prune_notifications' AND (attempt <> 1 OR cardinality(attempted_by) <> 1)`); n > 0 {
		t.Errorf("%d clean-up jobs run more than once", n)
	}
	var workers int
	if err := pool.QueryRow(ctx, `SELECT count(DISTINCT w) FROM river_job, unnest(attempted_by) w`).Scan(&workers); err != nil {
		t.Fatal(err)
	}

	// Killed outright, A leaves B serving: ready, the session, a new step.
	if err := syscall.Kill(a.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := a.ended(t, 10*time.Second)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("A ended with %v, not killed by SIGKILL", err)
	}
	if code, body := fetch(t, http.DefaultClient, b.base+"/readyz"); code != 200 {
		t.Fatalf("B's readyz after A was killed: %d %s", code, body)
	}
	if code, _ := fetch(t, borrowerB, b.base+"/api/v1/me"); code != 200 {
		t.Errorf("the session signed in on A, on B after A was killed: %d", code)
	}
	id2, _ := fileRequest(t, borrowerB, b.base)
	if s := requestState(t, borrowerB, b.base, id2); s != "awaiting_consent" {
		t.Errorf("a request filed on B after A was killed is %s", s)
	}
	if res, err := http.Get(a.base + "/readyz"); err == nil {
		res.Body.Close()
		t.Errorf("A still answers after SIGKILL")
	}
	// B takes over River's leadership once A's lease runs out, and with it
	// the periodic jobs, whose unique keys keep the day's sweep to one.
	killedAt := time.Now()
	leaderB := waitLeader(t, pool, leaderA)
	t.Logf("B leads %s after the kill", time.Since(killedAt).Round(time.Millisecond))
	time.Sleep(time.Second) // the new leader's jobs due at its start
	checkOnce("after the kill")

	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := b.ended(t, 20*time.Second); err != nil {
		t.Fatalf("B did not stop cleanly: %v\n%s", err, b.errb.String())
	}
	received, _ := hook.counts()
	t.Logf("%d notifications posted once each, jobs run by %d River clients (leaders %s, then %s); test %s",
		received, workers, leaderA, leaderB, time.Since(began).Round(time.Millisecond))
}
