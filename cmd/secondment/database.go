package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"secondment/internal/config"
	"secondment/internal/jobs"
	"secondment/internal/pgcluster"
	"secondment/internal/postgres"
)

// database is the store plus, on the embedded default, the cluster it runs.
//
// Two logins (issue #13): the schema's owner runs the migrations; the
// service serves as an application role that cannot edit the audit trail
// or alter the schema. The embedded cluster creates both; an external
// database names them with --database-owner-url and --database-url. With
// one URL only, that login does both (and the service says so).
type database struct {
	store    *postgres.Store // what the command works with
	url      string          // the login store connects as (for pg_dump and pg_restore)
	owner    *postgres.Store // the owner's pool while serving; nil otherwise
	appRole  string          // granted after migrating; "" with one login
	log      *slog.Logger
	cluster  *pgcluster.Cluster // nil when a URL was given or another process runs it
	describe string
}

// openDatabase connects to cfg.DatabaseURL, or starts the embedded cluster
// in cfg.DataDir. With exclusive (serve) a cluster already run by another
// process is an error; otherwise (migrate, seed) the command uses it
// through its socket. serving opens the application's login as the store
// and keeps the owner's aside for migrate; the other commands work as the
// owner.
func openDatabase(ctx context.Context, cfg config.Config, log *slog.Logger, exclusive, serving bool) (*database, error) {
	d := &database{log: log}
	appURL, ownerURL := cfg.DatabaseURL, cfg.OwnerURL
	if appURL != "" {
		d.describe = "external PostgreSQL"
		if ownerURL != "" {
			role, err := postgres.LoginOf(appURL)
			if err != nil {
				return nil, err
			}
			if owner, _ := postgres.LoginOf(ownerURL); owner != role {
				d.appRole = role
			}
		}
	} else {
		dir, _ := filepath.Abs(cfg.DataDir)
		log.Info("starting embedded PostgreSQL", "dir", dir)
		// A server that dies is restarted (logged); meanwhile pages get 503.
		cl, err := pgcluster.Start(ctx, pgcluster.Options{Dir: cfg.DataDir, Logger: log})
		var running *pgcluster.ErrAlreadyRunning
		var super string
		switch {
		case errors.As(err, &running) && !exclusive:
			super = pgcluster.SocketURL(dir, "secondment")
			d.describe = fmt.Sprintf("embedded PostgreSQL in %s (run by process %d)", dir, running.PID)
		case err != nil:
			return nil, err
		default:
			d.cluster = cl
			super = cl.URL()
			d.describe = fmt.Sprintf("embedded PostgreSQL %d in %s", cl.Major(), dir)
			if err := postgres.SetUpEmbeddedRoles(ctx, cl.DatabaseURL("postgres"), "secondment"); err != nil {
				d.Close()
				return nil, err
			}
			if err := postgres.AdoptEmbedded(ctx, super); err != nil {
				d.Close()
				return nil, err
			}
		}
		appURL, ownerURL = postgres.WithLogin(super, postgres.EmbeddedApp), postgres.WithLogin(super, postgres.EmbeddedOwner)
		d.appRole = postgres.EmbeddedApp
	}
	opts := postgres.ConnectOptions{Timeout: cfg.DBConnectTimeout, Logger: log, MaxConns: cfg.DBMaxConns}
	main := appURL
	if !serving && ownerURL != "" {
		main = ownerURL
	}
	store, err := postgres.Open(ctx, main, opts)
	if err != nil {
		d.Close()
		return nil, err
	}
	d.store, d.url = store, main
	if serving && ownerURL != "" && d.appRole != "" {
		opts.MaxConns = 2
		if d.owner, err = postgres.Open(ctx, ownerURL, opts); err != nil {
			d.Close()
			return nil, fmt.Errorf("the schema owner's login: %w", err)
		}
	}
	return d, nil
}

// ownerStore is the store that may change the schema.
func (d *database) ownerStore() *postgres.Store {
	if d.owner != nil {
		return d.owner
	}
	return d.store
}

// migrate brings the schema and River's tables up to date as the owner,
// grants the application role what it needs, and closes the owner's pool
// when serving: the service holds no login that can alter the schema
// after start. With one login it warns when that login could rewrite the
// audit trail past its triggers.
func (d *database) migrate(ctx context.Context) error {
	o := d.ownerStore()
	if err := postgres.Migrate(ctx, o.Pool); err != nil {
		return err
	}
	if err := jobs.Migrate(ctx, o.Pool); err != nil {
		return err
	}
	if d.appRole != "" {
		if err := postgres.GrantApp(ctx, o.Pool, d.appRole); err != nil {
			return err
		}
	}
	d.closeOwner()
	return d.checkLogin(ctx)
}

// skipMigrate is migrate's end without migrating (serve --migrate=false:
// the schema is someone else's job).
func (d *database) skipMigrate(ctx context.Context) error {
	d.closeOwner()
	return d.checkLogin(ctx)
}

// closeOwner drops the owner's pool once the schema is ready.
func (d *database) closeOwner() {
	if d.owner != nil {
		d.owner.Close()
		d.owner = nil
	}
}

// checkLogin warns when the store's login owns the audit trail or is a
// superuser while a separate owner could have been used.
func (d *database) checkLogin(ctx context.Context) error {
	if d.appRole == "" {
		l, err := postgres.WhoAmI(ctx, d.store.Pool)
		if err != nil {
			return err
		}
		if l.Powerful() {
			d.log.Warn("the database login owns the schema or is a superuser, so it could lift the audit trail's triggers; "+
				"the hash chain still shows any edit. Give the service a restricted role with --database-owner-url (docs/security.md)",
				"login", l.Name, "superuser", l.Superuser)
		}
	}
	return nil
}

// Close closes the pools, then stops the embedded cluster if it runs one.
func (d *database) Close() error {
	d.closeOwner()
	if d.store != nil {
		d.store.Close()
	}
	if d.cluster != nil {
		return d.cluster.Stop()
	}
	return nil
}
