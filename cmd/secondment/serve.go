package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"secondment/internal/auth"
	"secondment/internal/config"
	"secondment/internal/i18n"
	"secondment/internal/jobs"
	"secondment/internal/metrics"
	"secondment/internal/postgres"
	"secondment/internal/server"
	"secondment/internal/sso"
)

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	set := newSet("serve", "secondment serve [flags]", config.Options{HTTP: true}, getenv, stdout)
	cfg, pos, err := parse(set, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &usageError{fmt.Sprintf("serve takes no arguments, got %q", pos[0])}
	}
	log := cfg.Logger(stderr)
	catalog, err := i18n.Load()
	if err != nil {
		return err
	}

	// Bind first: a port in use is reported before a database is started,
	// so nothing is left half-initialised.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("address %s is already in use; stop the program using it or choose another with --addr", cfg.Addr)
		}
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	var mln net.Listener // --metrics-addr
	if cfg.MetricsAddr != "" {
		if mln, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return fmt.Errorf("listen on --metrics-addr %s: %w", cfg.MetricsAddr, err)
		}
		defer mln.Close()
	}

	db, err := openDatabase(ctx, cfg, log, true, true)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); cerr != nil {
			log.Error("stop database", "err", cerr)
		}
	}()
	if cfg.Migrate {
		if err := db.migrate(ctx); err != nil {
			return err
		}
	} else if err := db.skipMigrate(ctx); err != nil {
		return err
	} else if st, err := db.store.Schema(ctx); err != nil {
		return err
	} else if !st.Ready() && st.Current > st.Latest {
		return fmt.Errorf("the database schema is at version %d, newer than this binary (%s), and works only with binaries "+
			"from version %d on: deploy the newer release, or restore a backup taken before the upgrade (docs/operations.md)",
			st.Current, postgres.MigrationName(st.Latest), st.OldestBinary)
	} else if !st.Ready() {
		return fmt.Errorf("the database schema is at version %d (dirty: %t) but this binary needs %s; "+
			"run `secondment migrate up` or start without --migrate=false", st.Current, st.Dirty, postgres.MigrationName(st.Latest))
	}
	if st, err := db.store.Schema(ctx); err == nil && st.Newer() {
		log.Info("the database schema is newer than this binary and declares it compatible; serving without migrating",
			"schema", st.Current, "binary", st.Latest, "compatible_from", st.OldestBinary)
	}
	clock := cfg.Clock()
	if !cfg.Today.IsZero() {
		fmt.Fprintf(stdout, "rehearsal clock: the service runs as if today were %s (dev mode)\n", cfg.Today)
	}
	if cfg.Demo {
		if err := loadDemo(ctx, db.store, auth.DefaultHasher, clock, 0, stdout); err != nil {
			return err
		}
	}

	// One registry for the server and the jobs of this process.
	reg := metrics.New(version, log)
	if err := reg.WatchDatabase(db.store.Pool, metrics.WatchOptions{Outbox: cfg.Jobs && cfg.NotifyWebhook != ""}); err != nil {
		return err
	}
	if cfg.Jobs {
		jc := jobs.Config{Clock: clock, SweepInterval: cfg.SweepInterval, EscalateAfter: cfg.EscalateAfter,
			ReminderDays: cfg.RemindDays, Logger: log, Metrics: reg}
		if cfg.NotifyWebhook != "" {
			jc.Channel = jobs.Webhook{URL: cfg.NotifyWebhook}
		}
		client, err := jobs.NewClient(db.store, jc)
		if err != nil {
			return err
		}
		if err := client.Start(ctx); err != nil {
			return fmt.Errorf("start background jobs: %w", err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := client.Stop(sctx); err != nil {
				log.Error("stop background jobs", "err", err)
			}
		}()
	}

	slots := cfg.HashSlots
	if slots == 0 {
		slots = runtime.GOMAXPROCS(0)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// A sign-in's argon2id hash takes 64 MiB and is garbage a quarter
		// of a second later; without a limit the collector lets it pile up
		// to twice the live heap. The hashes that may run at once plus
		// 40 MiB for everything else is what this process needs (cmd/bench
		// measures it: with 48 MiB, the import of 10,000 rows took the
		// server to 201.6 MB resident, past the 200 MB the lists benchmark
		// allows; with 40, 193.6 MB, and the import no slower); GOMEMLIMIT
		// sets another (soft) limit.
		debug.SetMemoryLimit(int64(slots)*64<<20 + 40<<20)
	}
	deps := server.Deps{Store: db.store, Catalog: catalog, Logger: log, Version: version, Clock: clock,
		SecureCookies: cfg.SecureCookies, HashSlots: slots, NoPasswordSignIn: !cfg.PasswordSignIn,
		Metrics: reg, MetricsToken: cfg.MetricsToken, TrustedProxies: cfg.TrustedProxies}
	if o := cfg.OIDC; o.Enabled() {
		deps.SSO = sso.New(sso.Config{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret,
			RedirectURL: o.RedirectURL, Claim: o.Claim})
		deps.SSOName = o.Name
		// Discovered now in the background so a wrong issuer shows in the
		// log at start; the service is ready either way, and the first
		// sign-in tries again.
		go func() {
			if err := deps.SSO.Discover(ctx); err != nil {
				log.Warn("single sign-on provider not reachable yet; sign-ins will retry", "issuer", o.Issuer, "err", err)
			} else {
				log.Info("single sign-on provider discovered", "issuer", o.Issuer, "password_signin", cfg.PasswordSignIn)
			}
		}()
	}
	srv := server.New(deps)
	if mln != nil {
		// Served until the public listener stops, whyever it stops.
		mctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := server.Serve(mctx, mln, srv.MetricsHandler(), log); err != nil {
				log.Error("metrics listener", "err", err)
			}
		}()
		defer func() { stop(); <-done }()
		fmt.Fprintf(stdout, "metrics on %smetrics\n", publicURL(mln.Addr()))
	}
	if cfg.DebugAddr != "" {
		dln, err := net.Listen("tcp", cfg.DebugAddr)
		if err != nil {
			return fmt.Errorf("listen on --debug-addr %s: %w", cfg.DebugAddr, err)
		}
		go func() { _ = http.Serve(dln, server.DebugHandler()) }()
		defer dln.Close()
		fmt.Fprintf(stdout, "runtime profiles on http://%s/debug/pprof/\n", dln.Addr())
	}
	fmt.Fprintf(stdout, "secondment %s serving on %s (database: %s); press Ctrl-C to stop\n",
		version, publicURL(ln.Addr()), db.describe)

	// An embedded server that dies is restarted by pgcluster; until it is
	// back, pages answer 503.
	err = server.Serve(ctx, ln, srv.Handler(), log)
	if err == nil {
		fmt.Fprintln(stdout, "secondment stopped")
	}
	return err
}

// publicURL is the address to open in a browser.
func publicURL(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsLoopback() || tcp.IP.IsUnspecified() {
		host = "localhost"
	}
	return fmt.Sprintf("http://%s/", net.JoinHostPort(host, fmt.Sprint(tcp.Port)))
}
