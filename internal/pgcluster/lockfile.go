package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrForeignServer means a PostgreSQL server this service did not start
// runs on the data directory: one started by hand with pg_ctl, or one a
// killed service left running.
type ErrForeignServer struct {
	Dir, DataDir string
	PID          int
	User         string // the account servers run as, if not this process's own
}

func (e *ErrForeignServer) Error() string {
	as := ""
	if e.User != "" {
		as = " as user " + e.User
	}
	return fmt.Sprintf("the embedded database in %s is already run by PostgreSQL process %d, which this service "+
		"did not start (started by hand with pg_ctl?); stop it with `pg_ctl -D %s stop`%s, then start the service again",
		e.Dir, e.PID, e.DataDir, as)
}

// clearStaleLocks runs before each start of the server.
//
// PostgreSQL refuses to start while a lock file (postmaster.pid in the data
// directory, .s.PGSQL.5432.lock beside the socket) names a live process it
// may signal, or is empty. A server killed outright (kill -9, the OOM
// killer, a container stopped) leaves both files; once its PID has gone to
// another process of the server's user, PostgreSQL refuses for good, and
// an empty file (a crash while it was written) is refused at once. Files
// naming a dead PID or another user's process PostgreSQL replaces itself.
//
// So a file is removed, with a log line, unless the process it names is a
// postgres working in this data directory (every server process changes
// into it). Such a server is waited for until deadline if it is shutting
// down (a killed service's server gets SIGINT and writes its shutdown
// checkpoint while the next service starts), and otherwise refused as
// ErrForeignServer. Where /proc cannot tell, the file is left to PostgreSQL.
func (c *Cluster) clearStaleLocks(ctx context.Context, deadline time.Time) error {
	for _, path := range []string{
		filepath.Join(c.dataDir, "postmaster.pid"),
		filepath.Join(c.sockDir, ".s.PGSQL."+strconv.Itoa(port)+".lock"),
	} {
		if err := c.clearStaleLock(ctx, path, deadline); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) clearStaleLock(ctx context.Context, path string, deadline time.Time) error {
	waiting := false
	for {
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		lines := strings.Split(string(b), "\n")
		pid, _ := strconv.Atoi(strings.TrimSpace(lines[0]))
		if pid <= 0 {
			// Empty or garbled. PostgreSQL fears a server starting; one
			// would be a postgres already in the data directory.
			if other, known := serverInDir(c.dataDir); known && other == 0 {
				return c.removeLock(path, 0, "the file names no process and no server runs in the data directory")
			}
			return nil
		}
		here, why, known := serverIn(pid, c.dataDir)
		switch {
		case !known:
			return nil
		case !here:
			return c.removeLock(path, pid, why)
		}
		// A live server of this data directory. The socket's lock file
		// has no status: a server named there but no longer in
		// postmaster.pid is on its way out.
		status := "stopping"
		if len(lines) > 7 && filepath.Base(path) == "postmaster.pid" {
			status = strings.TrimSpace(lines[7])
		}
		if status != "stopping" || time.Now().After(deadline) {
			e := &ErrForeignServer{Dir: c.dir, DataDir: c.dataDir, PID: pid}
			if c.owner.switched {
				e.User = c.owner.name
			}
			return e
		}
		if !waiting {
			c.log.Info("waiting for the previous server of the embedded database to finish shutting down", "pid", pid)
			waiting = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) removeLock(path string, pid int, why string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the stale lock file %s: %w", path, err)
	}
	c.log.Warn("removed a stale lock file of the embedded database", "file", path, "pid", pid, "reason", why)
	return nil
}

// serverIn tells whether process pid is a postgres working in dataDir, and
// if not, why. known is false when /proc cannot tell: no /proc, or another
// user's process (which PostgreSQL itself takes for stale).
func serverIn(pid int, dataDir string) (here bool, why string, known bool) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		return false, "", false
	}
	proc := "/proc/" + strconv.Itoa(pid)
	cmdline, err := os.ReadFile(proc + "/cmdline")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, "no process has that PID", true
	case err != nil:
		return false, "", false
	}
	prog, _, _ := bytes.Cut(cmdline, []byte{0})
	name := filepath.Base(string(prog))
	if !(name == "postgres" || name == "postmaster" || strings.HasPrefix(string(prog), "postgres:")) {
		if name == "." {
			return false, "that PID is a process that has ended", true // a zombie
		}
		return false, fmt.Sprintf("that PID is now another program (%s)", name), true
	}
	cwd, err := os.Readlink(proc + "/cwd")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, "no process has that PID", true
	case err != nil:
		return false, "", false
	}
	if real, err := filepath.EvalSymlinks(dataDir); err == nil {
		dataDir = real
	}
	if cwd != dataDir {
		return false, fmt.Sprintf("that PID is a postgres of another data directory (%s)", cwd), true
	}
	return true, "", true
}

// serverInDir returns the PID of a postgres working in dataDir, 0 if there
// is none; known is false without /proc.
func serverInDir(dataDir string) (pid int, known bool) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			if here, _, _ := serverIn(pid, dataDir); here {
				return pid, true
			}
		}
	}
	return 0, true
}
