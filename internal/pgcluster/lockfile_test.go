package pgcluster_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
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

// lockFiles are the server's two lock files as a running server wrote them.
type lockFiles struct{ pidFile, sockLock string }

func readLockFiles(t *testing.T, dir string) lockFiles {
	t.Helper()
	a, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "run", ".s.PGSQL.5432.lock"))
	if err != nil {
		t.Fatal(err)
	}
	return lockFiles{string(a), string(b)}
}

// leave writes the lock files back as a server killed outright leaves
// them, naming pid instead of the server (or, with pid "", empty).
func (l lockFiles) leave(t *testing.T, dir, pid string) {
	t.Helper()
	for path, content := range map[string]string{
		filepath.Join(dir, "data", "postmaster.pid"):    l.pidFile,
		filepath.Join(dir, "run", ".s.PGSQL.5432.lock"): l.sockLock,
	} {
		if pid == "" {
			content = ""
		} else {
			_, rest, _ := strings.Cut(content, "\n")
			content = pid + "\n" + rest
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if os.Geteuid() == 0 {
			if err := os.Chown(path, postgresUID(t), -1); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// asServerUser runs a command as the account the server runs as.
func asServerUser(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(postgresUID(t)), Gid: uint32(postgresGID(t))}}
	}
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
	return cmd
}

// A server killed outright leaves its lock files; when its PID has gone to
// another process the next start must not be refused. PostgreSQL copes
// with another user's process (init) and its parent (this process) by
// itself, and with a dead PID (TestKilledServerIsRestarted); it refuses a
// process of the server's own user and an empty file.
func TestStaleLockFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := clusterDir(t)
	c := start(t, dir)
	locks := readLockFiles(t, dir)
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}

	sleeper := asServerUser(t, "sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	for _, tc := range []struct{ name, pid string }{
		{"a process of the server's user", strconv.Itoa(sleeper.Process.Pid)},
		{"an empty file", ""},
		{"this process", strconv.Itoa(os.Getpid())},
		{"init", "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			locks.leave(t, dir, tc.pid)
			var log logBuffer
			c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Settings: dbtest.FastSettings,
				Logger: slog.New(slog.NewTextHandler(&log, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Stop()
			if _, err := query(ctx, c.URL(), `SELECT 'ok'`); err != nil {
				t.Fatal(err)
			}
			if strings.Count(log.String(), "removed a stale lock file") != 2 {
				t.Errorf("the two removals are not logged:\n%s", log.String())
			}
			if err := c.Stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// handStart starts the cluster's server by hand, as an operator would with
// pg_ctl, on the cluster's own socket, and returns its PID.
func handStart(t *testing.T, dir string) int {
	t.Helper()
	bin, err := pgcluster.SystemFinder().BinDir()
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	pgctl := filepath.Join(bin, "pg_ctl")
	out, err := asServerUser(t, pgctl, "-D", data, "-l", filepath.Join(data, "by-hand.log"), "-w",
		"-o", "-k "+filepath.Join(dir, "run")+" -c listen_addresses=", "start").CombinedOutput()
	if err != nil {
		t.Fatalf("pg_ctl start: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = asServerUser(t, pgctl, "-D", data, "-m", "immediate", "stop").Run() })
	return serverPID(t, dir)
}

func handStop(t *testing.T, dir string) {
	t.Helper()
	bin, _ := pgcluster.SystemFinder().BinDir()
	if out, err := asServerUser(t, filepath.Join(bin, "pg_ctl"), "-D", filepath.Join(dir, "data"), "-w", "stop").CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// A server started by hand on the data directory is refused at once, with
// its PID and how to stop it, and left running; stopped by hand, the
// cluster starts normally.
func TestServerStartedByHand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := clusterDir(t)
	if err := start(t, dir).Stop(); err != nil {
		t.Fatal(err)
	}
	pid := handStart(t, dir)
	began := time.Now()
	_, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Settings: dbtest.FastSettings})
	var foreign *pgcluster.ErrForeignServer
	if !errors.As(err, &foreign) || foreign.PID != pid {
		t.Fatalf("Start beside a server started by hand = %v; want ErrForeignServer naming %d", err, pid)
	}
	stop := "pg_ctl -D " + filepath.Join(dir, "data") + " stop"
	if !strings.Contains(err.Error(), strconv.Itoa(pid)) || !strings.Contains(err.Error(), stop) {
		t.Errorf("the message %q lacks the PID or %q", err, stop)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("refused after %s", d)
	}
	if !alive(pid) || serverPID(t, dir) != pid {
		t.Fatal("the server started by hand was disturbed")
	}

	handStop(t, dir)
	c := start(t, dir)
	if _, err := query(ctx, c.URL(), `SELECT 'ok'`); err != nil {
		t.Fatal(err)
	}
}

// A server still shutting down (the one a killed service leaves, told to
// stop by its parent-death signal) is waited for, not refused.
func TestPreviousServerStillStopping(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := clusterDir(t)
	if err := start(t, dir).Stop(); err != nil {
		t.Fatal(err)
	}
	pid := handStart(t, dir)
	// A smart shutdown waits for its last session: held open, it keeps
	// the server "stopping" for as long as the test needs.
	conn, err := pgx.Connect(ctx, pgcluster.SocketURL(dir, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "postmaster.pid never said stopping", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
		return strings.Contains(string(b), "stopping")
	})

	type result struct {
		c   *pgcluster.Cluster
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Settings: dbtest.FastSettings})
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		if r.c != nil {
			r.c.Stop()
		}
		t.Fatalf("Start did not wait for the server shutting down: %v", r.err)
	case <-time.After(700 * time.Millisecond):
	}
	conn.Close(ctx) // the last session ends, and the old server with it
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.c.Stop()
	if _, err := query(ctx, r.c.URL(), `SELECT 'ok'`); err != nil {
		t.Fatal(err)
	}
}
