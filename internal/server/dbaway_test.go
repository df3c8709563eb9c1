package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"secondment/internal/dbtest"
	"secondment/internal/demo"
	"secondment/internal/i18n"
	"secondment/internal/pgcluster"
	"secondment/internal/postgres"
	"secondment/internal/server"
)

// Issue #13: the database goes away. With the service's own cluster
// stopped, a page answers 503 with Retry-After and a message in the user's
// language, the API a 503 problem, within the request deadline — never a
// 500, never a hang; once the cluster is back the same session works again
// without restarting the service.
func TestDatabaseGoesAway(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, err := dbtest.ClusterDir("dbaway-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Settings: dbtest.FastSettings})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	store, err := postgres.Open(ctx, c.URL(), postgres.ConnectOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	if err := postgres.Migrate(ctx, store.Pool); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Load(ctx, store); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.LoadUsers(ctx, store, cheap, demoPassword, kashgar); err != nil {
		t.Fatal(err)
	}
	h := server.New(server.Deps{Store: store, Catalog: i18n.MustLoad(), Clock: &clock{t: kashgar}, Hasher: cheap,
		Version: "test", RequestTimeout: 3 * time.Second}).Handler()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s := &setup{store: store, srv: srv, clock: &clock{t: kashgar}}
	clerk := s.as(t, "xj-ks-jw.borrower")
	tok := apiCaller{t, s}.token("xj-ks-jw.borrower")
	if res, _ := clerk.get("/secondments"); res.StatusCode != 200 {
		t.Fatalf("before: %d", res.StatusCode)
	}

	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	res, body := clerk.get("/secondments")
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" || !strings.Contains(body, "数据库暂时无法访问") {
		t.Errorf("a page with the database stopped: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/secondments", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, body = s.anonymous(t).do(req)
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Content-Type") != "application/problem+json" ||
		!strings.Contains(body, "cannot be reached") {
		t.Errorf("the API with the database stopped: %d %s", res.StatusCode, body)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("the answers took %s", d)
	}

	// Back: the same cluster, the same session, no restart of the service.
	c2, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Settings: dbtest.FastSettings})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c2.Stop() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, _ := clerk.get("/secondments")
		if res.StatusCode == 200 {
			break
		}
		if res.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("after the database came back: %d", res.StatusCode)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Frozen (every server process stopped with SIGSTOP): the request
	// deadline answers 503 instead of hanging; thawed, it works again.
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	// The postmaster and each of its children (a backend leads a process
	// group of its own).
	procs := []int{pid}
	out, _ := exec.Command("pgrep", "-P", strconv.Itoa(pid)).Output()
	for _, f := range strings.Fields(string(out)) {
		if n, err := strconv.Atoi(f); err == nil {
			procs = append(procs, n)
		}
	}
	signal := func(sig syscall.Signal) {
		for _, p := range procs {
			_ = syscall.Kill(p, sig)
		}
	}
	signal(syscall.SIGSTOP)
	thaw := func() { signal(syscall.SIGCONT) }
	t.Cleanup(thaw)
	began = time.Now()
	if res, _ := clerk.get("/secondments"); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a page with the database frozen: %d", res.StatusCode)
	}
	if d := time.Since(began); d > 8*time.Second {
		t.Errorf("the frozen database held the page %s", d)
	}
	thaw()
	deadline = time.Now().Add(15 * time.Second)
	for {
		res, _ := clerk.get("/secondments")
		if res.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the database thawed: %d", res.StatusCode)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
