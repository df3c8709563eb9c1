// Command bench measures the service's steps against raw PostgreSQL on the
// same machine, in one run:
//
//	go run ./cmd/bench step
//
// It starts a private PostgreSQL cluster (fsync on; or uses
// --database-url), builds the service, lets it migrate the database, loads
// a province with a million secondments, starts the service as a child
// process and alternates, per pair, a baseline phase (a guarded UPDATE and
// an audit INSERT per transaction, straight over pgx), a consent phase, a
// baseline phase and an approve phase (POSTs to the JSON API), with a few
// password sign-ins during each service phase. It reports rates, latencies
// and the server's peak memory against the project's targets; its last
// line is the weaker action's verdict.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"secondment/internal/auth"
	"secondment/internal/pgcluster"
	"secondment/internal/postgres"
	"secondment/internal/province"
)

// password is every benchmark account's. The database is the benchmark's
// own, reached over loopback only.
const password = "Bench-Password-2026"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	n, pool, pairs, clients, signIns int
	duration, warmup                 time.Duration
	dbURL, clusterDir, profile       string
	keep, skipLoad                   bool
	serverEnv                        []string
	name                             string // step or lists
}

func parseOptions(args []string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintln(out, "Usage: go run ./cmd/bench step|lists [flags]\n\nFlags:")
		fs.PrintDefaults()
	}
	fs.IntVar(&o.n, "n", 1_000_000, "secondments to load, the waiting pools included")
	fs.IntVar(&o.pool, "pool", 0, "requests waiting for each action (0: enough for a service doing 2000 steps/s)")
	fs.DurationVar(&o.duration, "duration", 15*time.Second, "measured length of each phase")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up before each phase")
	fs.IntVar(&o.pairs, "pairs", 2, "pairs of (baseline, consent, baseline, approve) phases; lists: of (bare, inbox, bare, ledger), 0 skips them")
	fs.IntVar(&o.clients, "clients", 32, "concurrent clients in every phase")
	fs.IntVar(&o.signIns, "signins", 8, "concurrent password sign-ins per burst, two bursts in a last consent phase kept out of the ratios (0: none)")
	fs.StringVar(&o.dbURL, "database-url", os.Getenv("SECONDMENT_DATABASE_URL"),
		"PostgreSQL URL (env SECONDMENT_DATABASE_URL); empty: a private cluster (fsync on) in a temporary directory")
	fs.StringVar(&o.clusterDir, "cluster", "", "run the private cluster in this directory and keep it (reuse it with -skip-load)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (cluster, server binary and log) and print its path")
	fs.StringVar(&o.profile, "profile", "", "write a CPU profile of the server and PostgreSQL's statement statistics "+
		"(pg_stat_statements, private cluster only) of each service phase into this directory")
	fs.BoolVar(&o.skipLoad, "skip-load", false, "use the data a previous run loaded (with -cluster or --database-url)")
	fs.Func("server-env", "KEY=VALUE passed to the server's environment (repeatable)", func(v string) error {
		if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
			return fmt.Errorf("want KEY=VALUE, got %q", v)
		}
		o.serverEnv = append(o.serverEnv, v)
		return nil
	})
	// Flags may come before or after the benchmark's name.
	var names []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return o, err
		}
		if fs.NArg() == 0 {
			break
		}
		names, rest = append(names, fs.Arg(0)), fs.Args()[1:]
	}
	if len(names) != 1 || (names[0] != "step" && names[0] != "lists") {
		fs.Usage()
		return o, errors.New("the benchmarks are \"step\" and \"lists\"")
	}
	o.name = names[0]
	if o.pool == 0 && o.name == "lists" {
		o.pool = 1000 // the lists read; nothing waits to be moved
	}
	if o.pool == 0 {
		o.pool = (o.pairs + 1) * int(2000*(o.warmup+o.duration).Seconds()) // +1: the consent phase with sign-ins
	}
	// lists -pairs 0 skips the pages, for a run of the export and import
	// alone; the ratio it ends on is then not measured.
	if o.clients < 1 || o.pairs < 0 || (o.pairs == 0 && o.name != "lists") || o.duration <= 0 || o.signIns < 0 {
		return o, errors.New("-clients, -pairs and -duration must be positive (lists: -pairs 0 skips the pages), -signins not negative")
	}
	return o, nil
}

func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseOptions(args, out)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "bench-")
	if err != nil {
		return err
	}
	if o.keep { // said now: the verdict must stay the last line
		fmt.Fprintf(out, "keeping %s after the run (server binary and log; reuse a private cluster's data with -cluster %s -skip-load)\n",
			tmp, filepath.Join(tmp, "pg"))
	} else {
		defer os.RemoveAll(tmp)
	}
	// The postgres user must pass through the directory (running as root).
	if err := os.Chmod(tmp, 0o711); err != nil {
		return err
	}
	url, stopDB, err := database(ctx, o, tmp, out)
	if err != nil {
		return err
	}
	defer stopDB()
	bin, err := buildService(ctx, tmp)
	if err != nil {
		return err
	}
	fx, store, err := prepare(ctx, o, bin, url, out)
	if err != nil {
		return err
	}
	defer store.Close()
	if o.name == "lists" {
		return measureLists(ctx, o, bin, url, tmp, store, out)
	}
	return measureService(ctx, o, bin, url, tmp, fx, store, out)
}

// database returns the URL to use: the given one, or that of a private
// cluster on disk with fsync on (the baseline must be durable PostgreSQL).
func database(ctx context.Context, o options, tmp string, out io.Writer) (string, func(), error) {
	if o.dbURL != "" {
		fmt.Fprintln(out, "database: the one given by --database-url")
		return o.dbURL, func() {}, nil
	}
	dir := o.clusterDir
	if dir == "" {
		dir = filepath.Join(tmp, "pg")
	}
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return "", nil, err
	}
	if onTmpfs(dir) {
		return "", nil, fmt.Errorf("%s is on tmpfs, where fsync costs nothing: choose a directory on disk (TMPDIR or -cluster)", dir)
	}
	// The lists run a 64-connection service beside a 64-connection bare
	// handler: PostgreSQL's default 100 connections would refuse some.
	settings := map[string]string{"shared_buffers": "512MB", "max_connections": "200"}
	if o.profile != "" {
		settings["shared_preload_libraries"] = "pg_stat_statements"
	}
	cl, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Settings: settings})
	if err != nil {
		return "", nil, err
	}
	fmt.Fprintf(out, "database: private PostgreSQL %d in %s (fsync on, shared_buffers=512MB, max_connections=200, defaults otherwise)\n", cl.Major(), dir)
	return cl.URL(), func() { _ = cl.Stop() }, nil
}

func onTmpfs(dir string) bool {
	var st syscall.Statfs_t
	return syscall.Statfs(dir, &st) == nil && st.Type == 0x01021994 // TMPFS_MAGIC
}

// prepare migrates and loads the database, or picks up a previous load.
func prepare(ctx context.Context, o options, bin, url string, out io.Writer) (*province.Fixture, *postgres.Store, error) {
	// Data kept from an earlier run is brought up to this binary's schema
	// too (nothing to do when it is there already).
	status, err := migrateUp(ctx, bin, url)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintln(out, "migrate up:", status)
	store, err := postgres.Open(ctx, url, postgres.ConnectOptions{})
	if err != nil {
		return nil, nil, err
	}
	var fx *province.Fixture
	if o.skipLoad {
		fx, err = province.Reuse(ctx, store, time.Now())
	} else {
		fmt.Fprintf(out, "loading %d secondments (%d awaiting consent, %d awaiting sign-off)…\n", o.n, o.pool, o.pool)
		var hash string
		if hash, err = auth.DefaultHasher.Hash(password); err == nil {
			fx, err = province.Load(ctx, store, province.Options{N: o.n, Consent: o.pool, Approve: o.pool, PasswordHash: hash,
				Now: time.Now(), Seed: 1, Log: out})
		}
	}
	if err == nil {
		// Every sign-in of a run comes from 127.0.0.1: the per-address
		// limit (20 in 5 minutes by default) would refuse the later
		// phases' sign-ins. The benchmark's own database only.
		if _, err = store.Pool.Exec(ctx, `UPDATE security_setting SET rate_limit_attempts = 1000`); err != nil {
			err = fmt.Errorf("raise the sign-in rate limit: %w", err)
		}
	}
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return fx, store, nil
}

// newProfiler is -profile's profiler (nil without it) and the server
// environment that opens the server's profile listener.
func newProfiler(ctx context.Context, o options, store *postgres.Store, out io.Writer) (*profiler, []string, error) {
	env := o.serverEnv
	if o.profile == "" {
		return nil, env, nil
	}
	port, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(o.profile, 0o755); err != nil {
		return nil, nil, err
	}
	if _, err := store.Pool.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
		return nil, nil, fmt.Errorf("-profile needs pg_stat_statements (a private cluster loads it): %w", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	env = append(env, "SECONDMENT_DEBUG_ADDR="+addr)
	return &profiler{dir: o.profile, debug: "http://" + addr, pool: store.Pool, log: out}, env, nil
}

// measureService runs the phases against the service as a child process,
// sampling its memory throughout, then checks and reports.
func measureService(ctx context.Context, o options, bin, url, tmp string, fx *province.Fixture, store *postgres.Store, out io.Writer) error {
	prof, env, err := newProfiler(ctx, o, store, out)
	if err != nil {
		return err
	}
	svc, err := startService(ctx, bin, url, filepath.Join(tmp, "server.log"), env)
	if err != nil {
		return err
	}
	defer svc.stop()
	stopSampling := make(chan struct{})
	go svc.sample(stopSampling)
	fmt.Fprintf(out, "server: %s (pid %d); %d clients, %d pairs of %s phases after %s warm-ups\n",
		svc.base, svc.cmd.Process.Pid, o.clients, o.pairs, o.duration, o.warmup)
	res, err := runSteps(ctx, url, svc.base, fx, runOptions{Clients: o.clients, Pairs: o.pairs, Warmup: o.warmup,
		Duration: o.duration, Password: password, SignIns: o.signIns, Seed: 1, Log: out, Profile: prof})
	mem := svc.memory()
	close(stopSampling)
	if err != nil {
		return fmt.Errorf("%w\n(the server's log %s ends with:\n%s)", err, svc.log, tailFile(svc.log, 10))
	}
	checked, err := verify(ctx, store.Pool, res)
	if err != nil {
		return err
	}
	report(out, res, mem, o.clients, checked)
	return nil
}
