package pgcluster_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/dbtest"
	"secondment/internal/pgcluster"
)

func clusterDir(t *testing.T) string {
	t.Helper()
	dir, err := dbtest.ClusterDir("pgcluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func start(t *testing.T, dir string) *pgcluster.Cluster {
	t.Helper()
	c, err := pgcluster.Start(context.Background(), pgcluster.Options{Dir: dir, Settings: dbtest.FastSettings})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	return c
}

// serverPID reads the postmaster's PID from its pid file.
func serverPID(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// processUID reads the real UID of a process from /proc.
func processUID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" {
			uid, _ := strconv.Atoi(f[1])
			return uid
		}
	}
	t.Fatal("no Uid line")
	return -1
}

func TestStartUseStopRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := clusterDir(t)
	c := start(t, dir)

	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	pid := serverPID(t, dir)
	// As root the server must run as the unprivileged postgres user; as
	// anyone else, as that user.
	wantUID := os.Geteuid()
	if wantUID == 0 {
		wantUID = postgresUID(t)
	}
	if got := processUID(t, pid); got != wantUID || got == 0 {
		t.Fatalf("server runs as uid %d; want %d (never root)", got, wantUID)
	}
	// The socket is inside the data directory and no TCP port is open.
	if _, err := os.Stat(filepath.Join(dir, "run", ".s.PGSQL.5432")); err != nil {
		t.Fatalf("socket not in the data directory: %v", err)
	}
	conn, _ = pgx.Connect(ctx, c.URL())
	var listen string
	_ = conn.QueryRow(ctx, "SHOW listen_addresses").Scan(&listen)
	conn.Close(ctx)
	if listen != "" {
		t.Fatalf("listen_addresses = %q; want none", listen)
	}

	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(pid) {
		t.Fatalf("postgres %d still running after Stop", pid)
	}

	c2 := start(t, dir)
	conn, err = pgx.Connect(ctx, c2.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, `SELECT v FROM kept`).Scan(&v); err != nil || v != "still here" {
		t.Fatalf("data after restart = %q, %v", v, err)
	}
}

func postgresUID(t *testing.T) int { return postgresID(t, 2) }
func postgresGID(t *testing.T) int { return postgresID(t, 3) }

// postgresID reads field i (2: UID, 3: GID) of the postgres user.
func postgresID(t *testing.T, i int) int {
	t.Helper()
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Split(line, ":"); len(f) > 3 && f[0] == "postgres" {
			id, _ := strconv.Atoi(f[i])
			return id
		}
	}
	t.Fatal("no postgres user")
	return -1
}

func TestSecondStartIsRefused(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t)
	start(t, dir)
	_, err := pgcluster.Start(context.Background(), pgcluster.Options{Dir: dir})
	var running *pgcluster.ErrAlreadyRunning
	if !errors.As(err, &running) || running.PID != os.Getpid() || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second Start = %v; want already running (pid %d)", err, os.Getpid())
	}
}

func TestLeftoverInitdbIsReplaced(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t)
	// An initdb interrupted on a first start leaves its scratch directory.
	if err := os.MkdirAll(filepath.Join(dir, "data.initdb", "base"), 0o700); err != nil {
		t.Fatal(err)
	}
	c := start(t, dir)
	if _, err := os.Stat(filepath.Join(dir, "data.initdb")); !os.IsNotExist(err) {
		t.Fatalf("scratch directory left behind: %v", err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
}

func TestBadDataDirectories(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t)
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := pgcluster.Start(context.Background(), pgcluster.Options{Dir: file}); err == nil || !strings.Contains(err.Error(), "cannot be created") {
		t.Errorf("data dir is a file: %v", err)
	}

	other := filepath.Join(dir, "other")
	if err := os.MkdirAll(filepath.Join(other, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(other, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "data", "PG_VERSION"), []byte("9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := pgcluster.Start(context.Background(), pgcluster.Options{Dir: other}); err == nil || !strings.Contains(err.Error(), "pg_upgrade") {
		t.Errorf("cluster of another major version: %v", err)
	}

	long := filepath.Join(dir, strings.Repeat("x", 120))
	if _, err := pgcluster.Start(context.Background(), pgcluster.Options{Dir: long}); err == nil || !strings.Contains(err.Error(), "Unix socket") {
		t.Errorf("too deep for a socket: %v", err)
	}

	if _, err := pgcluster.Start(context.Background(), pgcluster.Options{Dir: dir, BinDir: "/nonexistent"}); err == nil {
		t.Error("missing binaries accepted")
	}
}

// As root, the server runs as the postgres user, who must be able to reach
// the data directory: a directory under a private (0700) parent is refused
// with a clear message instead of an obscure initdb failure.
func TestRootUnreachableDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root switches to the postgres user; CI runs as root")
	}
	t.Parallel()
	dir := clusterDir(t)
	private := filepath.Join(dir, "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := pgcluster.Start(context.Background(), pgcluster.Options{Dir: filepath.Join(private, "db")})
	if err == nil || !strings.Contains(err.Error(), "cannot enter "+private) {
		t.Fatalf("Start under a private directory = %v; want 'cannot enter %s'", err, private)
	}
}
