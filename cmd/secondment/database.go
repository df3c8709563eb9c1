package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"secondment/internal/config"
	"secondment/internal/pgcluster"
	"secondment/internal/postgres"
)

// database is the store plus, on the embedded default, the cluster it runs.
type database struct {
	store    *postgres.Store
	cluster  *pgcluster.Cluster // nil when a URL was given or another process runs it
	describe string
}

// openDatabase connects to cfg.DatabaseURL, or starts the embedded cluster
// in cfg.DataDir. With exclusive (serve) a cluster already run by another
// process is an error; otherwise (migrate, seed) the command uses it
// through its socket.
func openDatabase(ctx context.Context, cfg config.Config, log *slog.Logger, exclusive bool) (*database, error) {
	d := &database{}
	url := cfg.DatabaseURL
	if url != "" {
		d.describe = "external PostgreSQL"
	} else {
		dir, _ := filepath.Abs(cfg.DataDir)
		log.Info("starting embedded PostgreSQL", "dir", dir)
		// A server that dies is restarted (logged); meanwhile pages get 503.
		cl, err := pgcluster.Start(ctx, pgcluster.Options{Dir: cfg.DataDir, Logger: log})
		var running *pgcluster.ErrAlreadyRunning
		switch {
		case errors.As(err, &running) && !exclusive:
			url = pgcluster.SocketURL(dir, "secondment")
			d.describe = fmt.Sprintf("embedded PostgreSQL in %s (run by process %d)", dir, running.PID)
		case err != nil:
			return nil, err
		default:
			d.cluster = cl
			url = cl.URL()
			d.describe = fmt.Sprintf("embedded PostgreSQL %d in %s", cl.Major(), dir)
		}
	}
	store, err := postgres.Open(ctx, url, postgres.ConnectOptions{Timeout: cfg.DBConnectTimeout, Logger: log, MaxConns: cfg.DBMaxConns})
	if err != nil {
		d.Close()
		return nil, err
	}
	d.store = store
	return d, nil
}

// Close closes the pool, then stops the embedded cluster if it runs one.
func (d *database) Close() error {
	if d.store != nil {
		d.store.Close()
	}
	if d.cluster != nil {
		return d.cluster.Stop()
	}
	return nil
}
