package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options configure a cluster. Dir is the only required field.
type Options struct {
	// Dir holds everything: data/ (PGDATA), run/ (the Unix socket),
	// postgres.log and the lock file. It is kept between runs.
	Dir string
	// BinDir overrides the binary search (Finder.BinDir).
	BinDir string
	// Database is created on first start if missing ("secondment" if empty).
	Database string
	// Settings are extra server settings (-c name=value), e.g. fsync=off for
	// throwaway test clusters.
	Settings map[string]string
	// StartTimeout bounds how long Start waits for the server to accept
	// connections (default 60 s), and for a previous server of the data
	// directory to finish shutting down.
	StartTimeout time.Duration
	// Logger receives the deaths and restarts of the server and the stale
	// lock files removed (nil: discarded).
	Logger *slog.Logger
	// Backoff paces the restarts of a server that died (see Backoff).
	Backoff Backoff
}

// ErrAlreadyRunning means another process holds the cluster's lock file.
type ErrAlreadyRunning struct {
	Dir string
	PID int
}

func (e *ErrAlreadyRunning) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = "process " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("the embedded database in %s is already running (%s holds it); "+
		"stop that service first, or use another data directory (--data-dir)", e.Dir, who)
}

// Cluster is a running private PostgreSQL server. If the server process
// dies under it, it is started again (see supervise.go) until Stop.
type Cluster struct {
	dir, dataDir, sockDir, database string
	major                           int
	bin                             string
	owner                           serverUser
	settings                        map[string]string
	startTimeout                    time.Duration
	log                             *slog.Logger
	backoff                         Backoff
	lock                            *os.File

	// life ends with Stop: it cancels the supervisor's waits.
	life       context.Context
	endLife    context.CancelFunc
	mu         sync.Mutex
	proc       *process      // the latest server process; guarded by mu
	stopped    bool          // Stop has begun: start no more; guarded by mu
	supervised chan struct{} // closed when the supervisor returns
	restarts   atomic.Int64

	stopOnce sync.Once
	stopErr  error
}

// process is one run of the server.
type process struct {
	cmd     *exec.Cmd
	started time.Time
	exited  chan struct{} // closed when it has ended and been reaped
	err     error         // from Wait; read after exited is closed
}

const port = 5432 // only names the socket file: no TCP listener is opened

// Start initialises the cluster if Dir has none, then starts the server as
// a child process and waits until it accepts connections. The returned
// cluster must be stopped with Stop.
func Start(ctx context.Context, o Options) (_ *Cluster, err error) {
	if o.Dir == "" {
		return nil, errors.New("embedded database: no data directory given")
	}
	if o.Database == "" {
		o.Database = "secondment"
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 60 * time.Second
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("data directory %s: %w", o.Dir, err)
	}
	bin := o.BinDir
	if bin == "" {
		if bin, err = SystemFinder().BinDir(); err != nil {
			return nil, err
		}
	}
	out, err := exec.Command(filepath.Join(bin, "postgres"), "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("run %s --version: %w", filepath.Join(bin, "postgres"), err)
	}
	major, err := ParseMajor(string(out))
	if err != nil {
		return nil, err
	}
	if err := CheckMajor(major); err != nil {
		return nil, err
	}
	owner, err := serverOwner()
	if err != nil {
		return nil, err
	}

	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{dir: dir, dataDir: filepath.Join(dir, "data"), sockDir: filepath.Join(dir, "run"),
		database: o.Database, major: major, bin: bin, owner: owner, settings: o.Settings,
		startTimeout: o.StartTimeout, log: log, backoff: o.Backoff.withDefaults()}
	c.life, c.endLife = context.WithCancel(context.Background())
	if n := len(filepath.Join(c.sockDir, ".s.PGSQL.5432.lock")); n > 107 {
		return nil, fmt.Errorf("data directory %s is too deep for a Unix socket path (%d of at most 107 bytes); choose a shorter --data-dir", dir, n)
	}
	// Root owns dir; the server's user only needs to pass through it.
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, fmt.Errorf("data directory %s cannot be created: %w", dir, err)
	}
	if err := c.acquireLock(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.releaseLock()
		}
	}()
	if err := owner.canReach(dir); err != nil {
		return nil, err
	}
	if err := c.initIfNeeded(ctx, bin, owner); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = c.Stop()
		}
	}()
	if err := c.clearStaleLocks(ctx, time.Now().Add(o.StartTimeout)); err != nil {
		return nil, err
	}
	p, err := c.start()
	if err != nil {
		return nil, err
	}
	if err := c.waitReady(ctx, p, o.StartTimeout); errors.Is(err, errExitedEarly) {
		return nil, fmt.Errorf("embedded PostgreSQL exited during start (%s); its log %s says:\n%s",
			exitStatus(p.err), c.logPath(), c.logTail(15))
	} else if err != nil {
		return nil, err
	}
	if err := c.createDatabase(ctx, o.Database); err != nil {
		return nil, err
	}
	c.supervised = make(chan struct{})
	go c.supervise(p)
	return c, nil
}

// URL is the connection string of the cluster's database over its socket.
func (c *Cluster) URL() string { return c.DatabaseURL(c.database) }

// DatabaseURL is the connection string of any database of the cluster.
func (c *Cluster) DatabaseURL(db string) string {
	return fmt.Sprintf("postgres://postgres@/%s?host=%s&port=%d&sslmode=disable", db, c.sockDir, port)
}

// SocketDir is the directory of the server's Unix socket.
func (c *Cluster) SocketDir() string { return c.sockDir }

// Major is the server's major version.
func (c *Cluster) Major() int { return c.major }

// Restarts counts the times the server was started again after it died
// and then accepted connections.
func (c *Cluster) Restarts() int { return int(c.restarts.Load()) }

// Stop ends the supervision, shuts the server down (fast shutdown:
// sessions are ended, a checkpoint is written) and releases the data
// directory. It is safe to call more than once.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		defer c.releaseLock()
		c.mu.Lock()
		c.stopped = true
		p := c.proc
		c.mu.Unlock()
		c.endLife()
		if p != nil {
			c.stopErr = p.stop()
		}
		if c.supervised != nil {
			<-c.supervised
		}
	})
	return c.stopErr
}

func (p *process) stop() error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
		return nil
	case <-time.After(30 * time.Second):
		// Immediate shutdown: crash recovery runs on the next start.
		_ = p.cmd.Process.Signal(syscall.SIGQUIT)
		<-p.exited
		return errors.New("embedded database did not stop within 30 s; it was stopped immediately")
	}
}

// acquireLock takes an exclusive flock on Dir/secondment.lock. The kernel
// drops it when this process dies, so a crash never leaves a stale lock.
func (c *Cluster) acquireLock() error {
	path := filepath.Join(c.dir, "secondment.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %w", c.dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid := 0
		if b, rerr := os.ReadFile(path); rerr == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return &ErrAlreadyRunning{Dir: c.dir, PID: pid}
		}
		return fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	c.lock = f
	return nil
}

func (c *Cluster) releaseLock() {
	if c.lock != nil {
		_ = c.lock.Truncate(0)
		_ = c.lock.Close() // closing drops the flock
		c.lock = nil
	}
}

// initIfNeeded runs initdb into a scratch directory and renames it into
// place, so an interrupted first start never leaves a half-made cluster.
func (c *Cluster) initIfNeeded(ctx context.Context, bin string, owner serverUser) error {
	if b, err := os.ReadFile(filepath.Join(c.dataDir, "PG_VERSION")); err == nil {
		have, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if have != c.major {
			return fmt.Errorf("the database in %s was made by PostgreSQL %d but the installed server is %d; "+
				"upgrade it with pg_upgrade or use another data directory", c.dataDir, have, c.major)
		}
		return owner.ensureDir(c.sockDir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", c.dataDir, err)
	}
	if entries, err := os.ReadDir(c.dataDir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty but holds no PostgreSQL cluster; move it away or use another data directory", c.dataDir)
	}
	scratch := c.dataDir + ".initdb"
	if err := os.RemoveAll(scratch); err != nil {
		return fmt.Errorf("remove leftover %s: %w", scratch, err)
	}
	if err := owner.ensureDir(scratch); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"--pgdata", scratch, "--username", "postgres", "--auth", "trust",
		"--encoding", "UTF8", "--locale", "C", "--no-instructions")
	cmd.SysProcAttr = owner.attr(false)
	cmd.Env = minimalEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		_ = os.RemoveAll(scratch)
		return fmt.Errorf("initdb failed: %w\n%s", err, tail(out.String(), 20))
	}
	_ = os.Remove(c.dataDir) // an empty directory left by hand
	if err := os.Rename(scratch, c.dataDir); err != nil {
		return fmt.Errorf("move the new cluster into %s: %w", c.dataDir, err)
	}
	return owner.ensureDir(c.sockDir)
}

// errStopped is a start refused because Stop has begun.
var errStopped = errors.New("embedded database is being stopped")

// start launches the server as a child process; the process is reaped as
// soon as it ends. Once Stop has begun it starts nothing.
func (c *Cluster) start() (*process, error) {
	logf, err := os.OpenFile(c.logPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", c.logPath(), err)
	}
	args := []string{"-D", c.dataDir, "-k", c.sockDir, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=", "-c", "unix_socket_permissions=0700"}
	for k, v := range c.settings {
		args = append(args, "-c", k+"="+v)
	}
	cmd := exec.Command(filepath.Join(c.bin, "postgres"), args...)
	cmd.SysProcAttr = c.owner.attr(true)
	cmd.Env = minimalEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	// Under mu, so that Stop either sees this process or keeps it from
	// starting.
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		logf.Close()
		return nil, errStopped
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	p := &process{cmd: cmd, started: time.Now(), exited: make(chan struct{})}
	c.proc = p
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	return p, nil
}

// waitReady waits until the server p accepts connections, p ends
// (errExitedEarly), ctx ends or timeout passes (errNotReady). It tries
// every 50 ms, and after two seconds (a long crash recovery) every second,
// for each refused attempt is a line in postgres.log.
func (c *Cluster) waitReady(ctx context.Context, p *process, timeout time.Duration) error {
	began := time.Now()
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, c.DatabaseURL("postgres"))
		cancel()
		if err == nil {
			return conn.Close(ctx)
		}
		pause := 50 * time.Millisecond
		if time.Since(began) > 2*time.Second {
			pause = time.Second
		}
		select {
		case <-p.exited:
			return errExitedEarly
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		if time.Since(began) > timeout {
			return fmt.Errorf("%w within %s: %w", errNotReady, timeout, err)
		}
	}
}

var errNotReady = errors.New("embedded PostgreSQL did not accept connections")

// exitStatus describes how a server process ended.
func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

func (c *Cluster) createDatabase(ctx context.Context, db string) error {
	conn, err := pgx.Connect(ctx, c.DatabaseURL("postgres"))
	if err != nil {
		return fmt.Errorf("connect to embedded PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", db).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", db, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", db, err)
	}
	return nil
}

func (c *Cluster) logPath() string { return filepath.Join(c.dir, "postgres.log") }

// logTail is the last n lines of postgres.log, read from its last 64 KiB:
// nothing rotates the log, so it may be large.
func (c *Cluster) logTail(n int) string {
	f, err := os.Open(c.logPath())
	if err != nil {
		return ""
	}
	defer f.Close()
	const most = 64 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > most {
		_, _ = f.Seek(-most, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return tail(string(b), n)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func minimalEnv() []string {
	return []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C", "LANG=C"}
}

// serverUser is the OS account the server runs as: this process's own
// account, or the unprivileged "postgres" account when running as root,
// because initdb and postgres refuse to run as root.
type serverUser struct {
	uid, gid int
	name     string
	switched bool // true when it differs from this process's user
}

func serverOwner() (serverUser, error) {
	if os.Geteuid() != 0 {
		return serverUser{uid: os.Geteuid(), gid: os.Getegid()}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return serverUser{}, errors.New("running as root, the embedded database needs the unprivileged system user \"postgres\" " +
			"to run PostgreSQL (the Debian package postgresql creates it); create it, or run the service as a normal user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return serverUser{uid: uid, gid: gid, name: u.Username, switched: true}, nil
}

// attr makes a child run as the server user. A server process gets its own
// process group, so a terminal's Ctrl-C reaches only the service, which then
// stops the server in order; and it gets SIGINT if the service dies, so it
// is never left behind.
func (u serverUser) attr(server bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	if server {
		a.Pdeathsig = syscall.SIGINT
	}
	if u.switched {
		a.Credential = &syscall.Credential{Uid: uint32(u.uid), Gid: uint32(u.gid)}
	}
	return a
}

// ensureDir makes dir (mode 0700) owned by the server user.
func (u serverUser) ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("chmod %s: %w", dir, err)
	}
	if u.switched {
		if err := os.Chown(dir, u.uid, u.gid); err != nil {
			return fmt.Errorf("give %s to user %s: %w", dir, u.name, err)
		}
	}
	return nil
}

// canReach checks that the server user can pass through every directory
// down to dir; root can go anywhere, the postgres user cannot enter /root.
func (u serverUser) canReach(dir string) error {
	if !u.switched {
		return nil
	}
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("stat %s: %w", d, err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		perm := fi.Mode().Perm()
		ok := perm&0o001 != 0 ||
			(int(st.Gid) == u.gid && perm&0o010 != 0) ||
			(int(st.Uid) == u.uid && perm&0o100 != 0)
		if !ok {
			return fmt.Errorf("the embedded database runs as user %s, which cannot enter %s (mode %s); "+
				"choose a data directory it can reach (e.g. --data-dir /var/lib/secondment) or run as a normal user",
				u.name, d, perm)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// SocketURL is the connection string of database db of a cluster in dir
// that another process runs.
func SocketURL(dir, db string) string {
	c := Cluster{sockDir: filepath.Join(dir, "run")}
	return c.DatabaseURL(db)
}
