package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"secondment/internal/dbtest"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// TestMain runs the tests, or, when the test binary was started again by a
// test as a child process (crash_test.go), the command line that test
// gave it: a real process the test can kill, without building the binary.
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(childArgsEnv); ok {
		os.Exit(childMain(args))
	}
	os.Exit(dbtest.Main(m))
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// runCmd runs the command line and returns stdout, and the exit status
// main would give with the message it would print.
func runCmd(t *testing.T, getenv func(string) string, args ...string) (stdout string, code int, stderr string) {
	t.Helper()
	var out, errb syncBuffer
	err := run(context.Background(), args, getenv, strings.NewReader(""), &out, &errb)
	code = exitCode(err, &errb)
	return out.String(), code, errb.String()
}

func TestCommandLineMistakes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		env  func(string) string
		code int
		want []string
	}{
		{[]string{"frobnicate"}, env(), 2, []string{`unknown command "frobnicate"`}},
		{[]string{"serve", "--no-such-flag"}, env(), 2, []string{"no-such-flag"}},
		{[]string{"migrate"}, env(), 2, []string{"needs an action"}},
		{[]string{"migrate", "sideways"}, env(), 2, []string{`unknown migrate action "sideways"`}},
		{[]string{"migrate", "down"}, env(), 2, []string{"needs one number"}},
		{[]string{"migrate", "down", "x", "--yes"}, env(), 2, []string{`"x" is not a valid number`}},
		{[]string{"migrate", "down", "1"}, env(), 2, []string{"--yes"}},
		{[]string{"seed"}, env(), 2, []string{"seed demo"}},
		{[]string{"seed", "demo", "--scale", "-1"}, env(), 2, []string{"--scale -1"}},
		{[]string{"serve", "extra"}, env(), 2, []string{"takes no arguments"}},
		{[]string{"backup"}, env(), 2, []string{"backup needs --out FILE"}},
		{[]string{"restore"}, env(), 2, []string{"restore needs --in FILE"}},
		{[]string{"restore", "--in", "/nonexistent/secondment.dump"}, env(), 1, []string{"no such file"}},
		{[]string{"doctor", "extra"}, env(), 2, []string{"takes no arguments"}},
		// Every bad value is reported, one line each, in one run.
		{[]string{"serve", "--log-level", "loud", "--addr", "nonsense", "--log-format", "xml"}, env(), 1,
			[]string{"--log-level \"loud\"", "--addr \"nonsense\"", "--log-format \"xml\""}},
		{[]string{"serve", "--remind-days", "15,soon", "--escalate-after", "-2", "--sweep-interval", "1ms"}, env(), 1,
			[]string{"--remind-days", "--escalate-after -2", "--sweep-interval 1ms"}},
		{[]string{"serve"}, env("SECONDMENT_MIGRATE", "maybe", "SECONDMENT_DB_CONNECT_TIMEOUT", "soon"), 1,
			[]string{"SECONDMENT_MIGRATE=\"maybe\"", "SECONDMENT_DB_CONNECT_TIMEOUT=\"soon\""}},
		{[]string{"serve", "--database-url", "postgres://u:secret@host:notaport/db"}, env(), 1, []string{"malformed database URL"}},
		{[]string{"serve", "--mode", "production", "--today", "2027-03-10"}, env(), 1, []string{"--today: the rehearsal clock is refused in production mode"}},
		{[]string{"serve", "--today", "next spring"}, env(), 1, []string{`--today "next spring"`}},
		{[]string{"serve"}, env("DATABASE_URL", "postgres://u:secret@host:notaport/db"), 1, []string{"malformed database URL"}},
		{[]string{"serve"}, env("SECONDMENT_PASSWORD_SIGNIN", "false"), 1, []string{"--password-signin=false needs single sign-on"}},
		{[]string{"serve", "--oidc-issuer", "https://idp.example"}, env(), 1, []string{"needs --oidc-client-id", "needs --oidc-redirect-url"}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			_, code, stderr := runCmd(t, c.env, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, c.code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
			if strings.Contains(stderr, "secret") {
				t.Errorf("a password reached the output: %s", stderr)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"help"}, {"serve", "--help"}, {"migrate", "-h"}, {"seed", "--help"}, {"help", "migrate"}} {
		out, code, _ := runCmd(t, env(), args...)
		if code != 0 || !strings.Contains(out, "Usage") {
			t.Errorf("%v: exit %d, output %q", args, code, out)
		}
	}
	out, _, _ := runCmd(t, env(), "serve", "--help")
	for _, flag := range []string{"-database-url", "-data-dir", "-addr", "-migrate", "-demo", "-log-level", "-log-format"} {
		if !strings.Contains(out, flag) {
			t.Errorf("serve --help lacks %s", flag)
		}
	}
	if out, code, _ := runCmd(t, env(), "version"); code != 0 || out != "secondment dev\n" {
		t.Errorf("version = %q, %d", out, code)
	}
	if !errors.Is(run(context.Background(), []string{"seed", "-h"}, env(), strings.NewReader(""), io.Discard, io.Discard), flag.ErrHelp) {
		t.Error("help must end the command without error")
	}
}

func TestPortInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := filepath.Join(t.TempDir(), "never-created")
	_, code, stderr := runCmd(t, env(), "serve", "--addr", ln.Addr().String(), "--data-dir", dir)
	if code != 1 || !strings.Contains(stderr, "already in use") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// The port is checked before the database starts: nothing was made.
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("data directory created although the port was taken: %v", err)
	}
}

func TestDatabaseUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now
	start := time.Now()
	_, code, stderr := runCmd(t, env(), "serve", "--addr", "127.0.0.1:0", "--db-connect-timeout", "1500ms",
		"--database-url", "postgres://u@127.0.0.1:"+strconv.Itoa(port)+"/db?connect_timeout=1")
	if code != 1 || !strings.Contains(stderr, "database unreachable") || !strings.Contains(stderr, "attempts") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("gave up after %s; the retry must be bounded", d)
	}
}

var (
	servingRE  = regexp.MustCompile(`serving on (http://\S+)`)
	passwordRE = regexp.MustCompile(`every one has the password (\S+)\):`)
)

// startServe runs `serve` with args until the returned stop is called, and
// returns the base URL it printed and the demo password, if it printed one.
func startServe(t *testing.T, args ...string) (base, password string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), env(), strings.NewReader(""), &out, &errb)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := servingRE.FindStringSubmatch(out.String()); m != nil {
			base = strings.TrimSuffix(m[1], "/")
			if m := passwordRE.FindStringSubmatch(out.String()); m != nil {
				password = m[1]
			}
			break
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve ended early: %v\n%s", err, errb.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not start: %s", errb.String())
		}
	}
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return errors.New("serve did not stop")
		}
	}
	t.Cleanup(func() { _ = stop() })
	return base, password, stop
}

// signIn returns a client signed in to the service at base.
func signIn(t *testing.T, base, login, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	res, err := c.PostForm(base+"/signin", url.Values{"login": {login}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Request.URL.Path != "/" {
		t.Fatalf("sign-in as %s ended on %s (status %d)", login, res.Request.URL, res.StatusCode)
	}
	return c
}

func fetch(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// The quick start: serve with demo data on the embedded default, the
// seed's units visible, a second serve refused, and Ctrl-C stopping both
// the service and its PostgreSQL.
func TestServeEmbeddedDemo(t *testing.T) {
	t.Parallel()
	dir, err := dbtest.ClusterDir("serve-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	base, password, stop := startServe(t, "--data-dir", dir, "--demo")
	if password == "" {
		t.Fatal("serve --demo printed no demo password")
	}
	// Nothing is shown before sign-in.
	if _, body := fetch(t, http.DefaultClient, base+"/units"); strings.Contains(body, "科学路街道办事处") {
		t.Fatal("units shown without sign-in")
	}
	admin := signIn(t, base, "sysadmin", password)
	code, body := fetch(t, admin, base+"/units")
	if code != 200 {
		t.Fatalf("GET /units = %d", code)
	}
	for _, name := range []string{"青山区人大常委会机关", "科学路街道办事处", "九原区委组织部", "麻池镇", "威海市委组织部", "羊亭镇", "喀什市委组织部", "阿克喀什乡"} {
		if !strings.Contains(body, name) {
			t.Errorf("/units lacks %s", name)
		}
	}
	if code, body := fetch(t, http.DefaultClient, base+"/readyz"); code != 200 {
		t.Fatalf("readyz = %d %s", code, body)
	}

	// A second service on the same data directory is refused.
	_, ecode, stderr := runCmd(t, env(), "serve", "--addr", "127.0.0.1:0", "--data-dir", dir)
	if ecode != 1 || !strings.Contains(stderr, "already running") {
		t.Fatalf("second serve: exit %d: %s", ecode, stderr)
	}
	// seed demo beside the running service uses its database, and is idempotent.
	out, ecode, stderr := runCmd(t, env(), "seed", "demo", "--data-dir", dir)
	if ecode != 0 || !strings.Contains(out, "units 0 added, 0 updated, 27 unchanged; people 0 added, 0 updated, 13 unchanged") {
		t.Fatalf("seed demo beside serve: exit %d: %s %s", ecode, out, stderr)
	}
	// It printed a new password for the demo accounts, which now works.
	m := passwordRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("seed demo printed no password: %s", out)
	}
	password = m[1]

	pidFile, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.SplitN(string(pidFile), "\n", 2)[0])
	if err := stop(); err != nil {
		t.Fatalf("serve returned %v on stop", err)
	}
	if syscall.Kill(pid, 0) == nil {
		t.Fatalf("postgres %d still running after the service stopped", pid)
	}

	// A warm start serves again on the kept data and accounts.
	base, _, _ = startServe(t, "--data-dir", dir)
	reviewer := signIn(t, base, "nmg-bt-zzb.orgdept", password)
	if _, body := fetch(t, reviewer, base+"/people"); !strings.Contains(body, "武俞吉") || strings.Contains(body, "李传群") {
		t.Fatal("the Baotou reviewer must see Baotou's people only, on the kept data")
	}
}

// postmasterPID reads the embedded server's PID from its pid file (0 if
// there is none).
func postmasterPID(dir string) int {
	b, _ := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	pid, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	return pid
}

// Issue #13: the embedded PostgreSQL killed under the service is started
// again; the service keeps serving (503 meanwhile) and the same session
// works once it is back.
func TestServeEmbeddedServerDies(t *testing.T) {
	t.Parallel()
	dir, err := dbtest.ClusterDir("serve-dies-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	base, password, stop := startServe(t, "--data-dir", dir, "--demo")
	lender := signIn(t, base, "nmg-bt-qs-kxl.lender", password)
	page := base + "/people?unit=NMG-BT-QS-KXL"
	if code, body := fetch(t, lender, page); code != 200 || !strings.Contains(body, "芦长丽") {
		t.Fatalf("before: GET /people = %d", code)
	}

	killed := postmasterPID(dir)
	if err := syscall.Kill(killed, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// fetch fails the test if the service has gone.
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := fetch(t, lender, page)
		if code == 200 && strings.Contains(body, "芦长丽") && postmasterPID(dir) != killed {
			break
		}
		if code != 200 && code != http.StatusServiceUnavailable {
			t.Fatalf("while the database restarts: %d; want 503 or 200", code)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page did not come back: %d", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	restarted := postmasterPID(dir)
	if err := stop(); err != nil {
		t.Fatalf("serve returned %v on stop", err)
	}
	if syscall.Kill(restarted, 0) == nil {
		t.Fatalf("the restarted postgres %d still runs after the service stopped", restarted)
	}
}

func TestServeExternalDatabase(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.EmptyURL(t)
	// Without migrations at start, an unmigrated database is refused.
	_, code, stderr := runCmd(t, env(), "serve", "--addr", "127.0.0.1:0", "--database-url", dbURL, "--migrate=false")
	if code != 1 || !strings.Contains(stderr, "migrate up") {
		t.Fatalf("unmigrated with --migrate=false: exit %d: %s", code, stderr)
	}
	base, password, _ := startServe(t, "--database-url", dbURL, "--demo")
	c := signIn(t, base, "nmg-bt-qs-kxl.lender", password)
	if code, body := fetch(t, c, base+"/people?unit=NMG-BT-QS-KXL"); code != 200 || !strings.Contains(body, "芦长丽") {
		t.Fatalf("GET /people = %d", code)
	}
	// Production mode refuses demo data, and never prints passwords.
	_, code, stderr = runCmd(t, env("SECONDMENT_MODE", "production"), "serve", "--addr", "127.0.0.1:0", "--database-url", dbURL, "--demo")
	if code != 1 || !strings.Contains(stderr, "refused in production") {
		t.Fatalf("--demo in production: exit %d: %s", code, stderr)
	}
	out, code, stderr := runCmd(t, env("SECONDMENT_MODE", "production", "SECONDMENT_DATABASE_URL", dbURL), "seed", "demo")
	if code != 1 || strings.Contains(out, "password") {
		t.Fatalf("seed demo in production: exit %d: %s %s", code, out, stderr)
	}

	// A rollback: the next release migrated and declares this binary still
	// compatible, so this binary serves on it, migrating or not.
	pool := dbtest.Pool(t, dbURL)
	if _, err := pool.Exec(t.Context(), `UPDATE schema_migrations SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	for _, migrate := range []string{"--migrate=false", "--migrate=true"} {
		base, _, stop := startServe(t, "--database-url", dbURL, migrate)
		if code, _ := fetch(t, http.DefaultClient, base+"/readyz"); code != 200 {
			t.Errorf("on a compatible newer schema (%s): readyz %d", migrate, code)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
	// One that no longer serves this binary is refused, saying what to do.
	if _, err := pool.Exec(t.Context(), `UPDATE schema_compat SET oldest_binary = (SELECT version FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	_, code, stderr = runCmd(t, env(), "serve", "--addr", "127.0.0.1:0", "--database-url", dbURL, "--migrate=false")
	if code != 1 || !strings.Contains(stderr, "newer than this binary") {
		t.Fatalf("an incompatible newer schema: exit %d: %s", code, stderr)
	}
	_, code, stderr = runCmd(t, env(), "serve", "--addr", "127.0.0.1:0", "--database-url", dbURL)
	if code != 1 || !strings.Contains(stderr, "not compatible") {
		t.Fatalf("an incompatible newer schema, migrating: exit %d: %s", code, stderr)
	}
}

func TestMigrateCommands(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.EmptyURL(t)
	out, code, stderr := runCmd(t, env("SECONDMENT_DATABASE_URL", dbURL), "migrate", "version")
	if code != 0 || !strings.Contains(out, "schema version: none") {
		t.Fatalf("version on empty: %d %s %s", code, out, stderr)
	}
	out, code, _ = runCmd(t, env("SECONDMENT_DATABASE_URL", dbURL), "migrate", "up")
	if code != 0 || !strings.Contains(out, "schema version: "+postgres.MigrationName(postgres.LatestMigration())) {
		t.Fatalf("up: %d %s", code, out)
	}
	out, code, stderr = runCmd(t, env("SECONDMENT_DATABASE_URL", dbURL), "seed", "demo")
	if code != 0 || !strings.Contains(out, "units 27 added") || !strings.Contains(out, "people 13 added") {
		t.Fatalf("seed: %d %s %s", code, out, stderr)
	}
	out, code, _ = runCmd(t, env("SECONDMENT_DATABASE_URL", dbURL), "seed", "demo")
	if code != 0 || !strings.Contains(out, "units 0 added, 0 updated, 27 unchanged") {
		t.Fatalf("second seed must change nothing: %s", out)
	}
	// Down past the stock's migrations drops the registered stock and
	// keeps the requests.
	latest := int(postgres.LatestMigration())
	const beforeStock = 13 // the last migration before registered stock (000014)
	out, code, stderr = runCmd(t, env(), "migrate", "down", strconv.Itoa(latest-beforeStock), "--yes", "--database-url", dbURL)
	if code != 0 || !strings.Contains(out, "schema version: "+postgres.MigrationName(beforeStock)) {
		t.Fatalf("down to %d: %d %s %s", beforeStock, code, out, stderr)
	}
	var requests int
	if err := dbtest.Pool(t, dbURL).QueryRow(t.Context(), `SELECT count(*) FROM secondment`).Scan(&requests); err != nil || requests == 0 {
		t.Fatalf("the requests went with the stock: %d, %v", requests, err)
	}
	// Further down, the demo's requests numbered per jurisdiction (借调
	// 〔2026〕0001 in Kashgar and in Weihai) cannot go back to one global
	// series: migration 4 refuses rather than renumber them.
	_, code, stderr = runCmd(t, env(), "migrate", "down", strconv.Itoa(beforeStock), "--yes", "--database-url", dbURL)
	if code == 0 || !strings.Contains(stderr, "secondment_number_key") {
		t.Fatalf("down all with requests: %d %s", code, stderr)
	}
}

// Down all the way works on a database without requests.
func TestMigrateDownAll(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.EmptyURL(t)
	if _, code, stderr := runCmd(t, env("SECONDMENT_DATABASE_URL", dbURL), "migrate", "up"); code != 0 {
		t.Fatalf("up: %s", stderr)
	}
	all := strconv.Itoa(int(postgres.LatestMigration()))
	out, code, stderr := runCmd(t, env(), "migrate", "down", all, "--yes", "--database-url", dbURL)
	if code != 0 || !strings.Contains(out, "schema version: none") {
		t.Fatalf("down: %d %s %s", code, out, stderr)
	}
}

// The first system administrator comes from the command line: with a
// printed one-time password, or one read from standard input.
func TestUserAdd(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.URL(t)
	e := env("SECONDMENT_DATABASE_URL", dbURL)
	if out, code, stderr := runCmd(t, e, "seed", "demo"); code != 0 {
		t.Fatalf("seed: %s %s", out, stderr)
	}
	out, code, stderr := runCmd(t, e, "user", "add", "--login", "chief", "--name", "赵宇", "--unit", "NMG-BT-ZZB", "--role", "sysadmin")
	m := regexp.MustCompile(`one-time password \(.*\): (\S+)`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("user add: %d %s %s", code, out, stderr)
	}
	var mustChange bool
	pool := dbtest.Pool(t, dbURL)
	if err := pool.QueryRow(t.Context(), `SELECT must_change_password FROM app_user WHERE login = 'chief'`).Scan(&mustChange); err != nil || !mustChange {
		t.Fatalf("a one-time password must be changed at first sign-in: %v %v", mustChange, err)
	}

	var o, eb syncBuffer
	err := run(context.Background(), []string{"user", "add", "--login", "second", "--name", "董欣悦", "--unit", "NMG-BT-ZZB",
		"--role", "orgdept", "--role", "registrar", "--password-stdin"}, e, strings.NewReader("a long enough secret\n"), &o, &eb)
	if err != nil || strings.Contains(o.String(), "password") && strings.Contains(o.String(), "one-time") {
		t.Fatalf("user add --password-stdin: %v %s", err, o.String())
	}

	for _, c := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"user", "add", "--login", "x1", "--name", "某", "--unit", "NMG-BT-ZZB", "--role", "sysadmin", "--role", "orgdept"}, "", "held alone"},
		{[]string{"user", "add", "--login", "x2", "--name", "某", "--unit", "NOPE", "--role", "orgdept"}, "", "unit NOPE"},
		{[]string{"user", "add", "--login", "chief", "--name", "某", "--unit", "NMG-BT-ZZB", "--role", "orgdept"}, "", "taken"},
		{[]string{"user", "add", "--login", "x3", "--name", "某", "--unit", "NMG-BT-ZZB", "--role", "orgdept", "--password-stdin"}, "short\n", "password"},
		{[]string{"user", "add", "--login", "x4", "--name", "某", "--unit", "NMG-BT-ZZB"}, "", "--role"},
	} {
		var o, eb syncBuffer
		err := run(context.Background(), c.args, e, strings.NewReader(c.stdin), &o, &eb)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error about %q", c.args, err, c.want)
		}
	}
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM app_user WHERE login LIKE 'x_'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("refused accounts were created: %d %v", n, err)
	}
}

// `secondment sweep` runs one sweep for a given day and says what it did.
func TestSweepCommand(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.URL(t)
	e := env("SECONDMENT_DATABASE_URL", dbURL)
	out, code, stderr := runCmd(t, e, "sweep", "--day", "2024-05-01")
	if code != 0 || !strings.Contains(out, "sweep 2024-05-01: 0 renewed, 0 expired, 0 overdue, 0 reminders") {
		t.Fatalf("sweep: %d %s %s", code, out, stderr)
	}
	if _, code, stderr := runCmd(t, e, "sweep", "--day", "May 1st"); code != 2 || !strings.Contains(stderr, "YYYY-MM-DD") {
		t.Fatalf("bad day: %d %s", code, stderr)
	}
	var runs int
	if err := dbtest.Pool(t, dbURL).QueryRow(t.Context(), `SELECT count(*) FROM sweep_run WHERE origin = 'command line'`).Scan(&runs); err != nil || runs != 1 {
		t.Fatalf("sweep runs recorded: %d %v", runs, err)
	}
}

// The rehearsal clock: after `seed demo`, a sweep a month ahead expires the
// demo's terms ending this week and puts them in the ledger (R10); a sweep
// back before that day is refused, and a future day in production mode too.
func TestSweepRehearsal(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.URL(t)
	e := env("SECONDMENT_DATABASE_URL", dbURL)
	if _, code, stderr := runCmd(t, e, "seed", "demo"); code != 0 {
		t.Fatalf("seed demo: %d %s", code, stderr)
	}
	// A scaled demo's province goes only into an empty database.
	if _, code, stderr := runCmd(t, e, "seed", "demo", "--scale", "1"); code != 1 || !strings.Contains(stderr, "empty") {
		t.Fatalf("seed demo --scale over data: %d %s", code, stderr)
	}
	pool := dbtest.Pool(t, dbURL)
	count := func(sql string) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(t.Context(), sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	openR10 := `SELECT count(*) FROM ledger_entry WHERE rule = 'R10' AND closed_on IS NULL`
	before := count(openR10)
	ahead := time.Now().In(secondment.Shanghai).AddDate(0, 1, 0).Format("2006-01-02")
	if _, code, stderr := runCmd(t, env("SECONDMENT_DATABASE_URL", dbURL, "SECONDMENT_MODE", "production"), "sweep", "--day", ahead); code == 0 ||
		!strings.Contains(stderr, "refused in production") {
		t.Fatalf("production rehearsal: %d %s", code, stderr)
	}
	out, code, stderr := runCmd(t, e, "sweep", "--day", ahead)
	if code != 0 || strings.Contains(out, " 0 expired") {
		t.Fatalf("sweep a month ahead expired nothing: %d %s %s", code, out, stderr)
	}
	if after := count(openR10); after <= before {
		t.Errorf("open R10 ledger entries %d, were %d", after, before)
	}
	today := time.Now().In(secondment.Shanghai).Format("2006-01-02")
	if _, code, stderr := runCmd(t, e, "sweep", "--day", today); code == 0 || !strings.Contains(stderr, "cannot go back") {
		t.Errorf("sweep back in time: %d %s", code, stderr)
	}
}

// `audit verify` reports an intact chain with its head, exits 1 once an
// event is edited behind the service's back, and catches a rewrite against
// a head noted earlier; `audit purge` refuses what is within retention.
func TestAuditCommand(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.URL(t)
	e := env("SECONDMENT_DATABASE_URL", dbURL)
	if _, code, stderr := runCmd(t, e, "seed", "demo"); code != 0 {
		t.Fatalf("seed demo: %d %s", code, stderr)
	}
	out, code, stderr := runCmd(t, e, "audit", "verify")
	if code != 0 || !strings.Contains(out, "audit chain intact") {
		t.Fatalf("verify: %d %s %s", code, out, stderr)
	}
	var expect []string
	for _, line := range strings.Split(out, "\n") {
		if h, ok := strings.CutPrefix(line, "head: "); ok {
			expect = append(expect, "--expect", h)
		}
	}
	if len(expect) == 0 {
		t.Fatalf("no heads printed: %s", out)
	}
	if out, code, _ := runCmd(t, e, append([]string{"audit", "verify"}, expect...)...); code != 0 {
		t.Fatalf("verify against its own heads: %d %s", code, out)
	}
	if _, code, stderr := runCmd(t, e, "audit", "verify", "--expect", "12:zz"); code != 2 || !strings.Contains(stderr, "64 hexadecimal digits") {
		t.Fatalf("a bad --expect: %d %s", code, stderr)
	}
	if _, code, stderr := runCmd(t, e, "audit", "purge", "--before", "2020-01-01"); code != 2 || !strings.Contains(stderr, "--yes") {
		t.Fatalf("purge without --yes: %d %s", code, stderr)
	}
	if _, code, stderr := runCmd(t, e, "audit", "purge", "--before", "2020-01-01", "--keep-months", "3", "--yes"); code != 2 || !strings.Contains(stderr, "at least 6 months") {
		t.Fatalf("purge keeping 3 months: %d %s", code, stderr)
	}
	today := time.Now().Format(time.DateOnly)
	if _, code, stderr := runCmd(t, e, "audit", "purge", "--before", today, "--yes"); code != 1 || !strings.Contains(stderr, "within the 6 months kept") {
		t.Fatalf("purge of today's events: %d %s", code, stderr)
	}
	su := dbtest.Pool(t, dbtest.SuperURL(t, dbURL))
	if _, err := su.Exec(t.Context(), `BEGIN; SET LOCAL session_replication_role = replica;
		DELETE FROM audit_event WHERE id = (SELECT event_id FROM audit_chain WHERE seq = 3); COMMIT;`); err != nil {
		t.Fatal(err)
	}
	out, code, _ = runCmd(t, e, "audit", "verify")
	if code != 1 || !strings.Contains(out, "BROKEN at link 3") {
		t.Fatalf("verify after a delete: %d %s", code, out)
	}
}
