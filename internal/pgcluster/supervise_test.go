package pgcluster_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/pgcluster"
)

// logBuffer collects a cluster's log lines; the supervisor writes from its
// own goroutine.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// crashSafe keeps what was committed when a server is killed: commits
// reach the kernel (fsync stays off, for tmpfs).
var crashSafe = map[string]string{"fsync": "off", "full_page_writes": "off"}

func startLogged(t *testing.T, dir string, backoff pgcluster.Backoff) (*pgcluster.Cluster, *logBuffer) {
	t.Helper()
	var buf logBuffer
	c, err := pgcluster.Start(context.Background(), pgcluster.Options{Dir: dir, Settings: crashSafe,
		Logger: slog.New(slog.NewTextHandler(&buf, nil)), Backoff: backoff})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	return c, &buf
}

// eventually polls cond every 20 ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func query(ctx context.Context, url, sql string) (string, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var v string
	err = conn.QueryRow(ctx, sql).Scan(&v)
	return v, err
}

// The server killed outright is started again on the same socket, with its
// data, counted and logged; Stop then stops the new server.
func TestKilledServerIsRestarted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := clusterDir(t)
	c, log := startLogged(t, dir, pgcluster.Backoff{}) // the defaults: first restart after 0.5 s
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE kept AS SELECT 'still here' AS v`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	old := serverPID(t, dir)
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "no restart counted\n"+log.String(), func() bool { return c.Restarts() == 1 })
	if v, err := query(ctx, c.URL(), `SELECT v FROM kept`); err != nil || v != "still here" {
		t.Fatalf("after the restart: %q, %v", v, err)
	}
	pid := serverPID(t, dir)
	if pid == old {
		t.Fatalf("postmaster.pid still names the killed server %d", old)
	}
	for _, want := range []string{"exited unexpectedly", "status=\"signal: killed\"", "log=" + filepath.Join(dir, "postgres.log"),
		"embedded PostgreSQL restarted"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, fmt.Sprintf("the restarted server %d still runs after Stop", pid), func() bool { return !alive(pid) })
	if c.Restarts() != 1 {
		t.Fatalf("restarts after Stop = %d", c.Restarts())
	}
}

// A server that cannot start is tried again and again, at most Max apart,
// and comes back once the cause is mended.
func TestRestartKeepsTrying(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := clusterDir(t)
	c, log := startLogged(t, dir, pgcluster.Backoff{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond})
	data := filepath.Join(dir, "data")
	// PostgreSQL refuses a data directory others may read; a running
	// server does not look again.
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(serverPID(t, dir), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	failed := func() int { return strings.Count(log.String(), "could not be restarted") }
	eventually(t, 10*time.Second, "fewer than 4 failed restarts logged\n"+log.String(), func() bool { return failed() >= 4 })
	if !strings.Contains(log.String(), "invalid permissions") {
		t.Errorf("the failures do not say why:\n%s", log)
	}
	if c.Restarts() != 0 {
		t.Fatalf("restarts = %d while it cannot start", c.Restarts())
	}
	if err := os.Chmod(data, 0o700); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "no restart after the cause was mended\n"+log.String(), func() bool { return c.Restarts() == 1 })
	if _, err := query(ctx, c.URL(), `SELECT 'ok'`); err != nil {
		t.Fatal(err)
	}
}

// Stop during the wait before a restart ends the supervision: nothing is
// started afterwards.
func TestStopWhileRestarting(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t)
	c, log := startLogged(t, dir, pgcluster.Backoff{Initial: 10 * time.Second})
	if err := syscall.Kill(serverPID(t, dir), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the death was not noticed", func() bool { return strings.Contains(log.String(), "exited unexpectedly") })
	stopped := make(chan error, 1)
	go func() { stopped <- c.Stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Stop waited for the restart")
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(dir, "data", "postmaster.pid")); err == nil {
		if pid := serverPID(t, dir); alive(pid) {
			t.Fatalf("a server (%d) was started after Stop", pid)
		}
	}
	if c.Restarts() != 0 {
		t.Fatalf("restarts = %d", c.Restarts())
	}
}
