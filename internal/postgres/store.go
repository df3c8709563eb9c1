// Package postgres is the store: every SQL statement of the service, over a
// pgx connection pool. It maps pgx errors to domain errors at its edge.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"secondment/internal/secondment"
)

// MinServerVersion is the oldest server (server_version_num) supported.
const MinServerVersion = 140000

// Store holds the pool. It is safe for concurrent use.
type Store struct {
	Pool *pgxpool.Pool
}

// ConnectOptions bound how long Open keeps trying an unreachable server.
type ConnectOptions struct {
	Timeout time.Duration // total time to keep retrying (default 30 s)
	// MaxConns is the pool's size; 0: four per CPU, at least eight (or
	// the URL's pool_max_conns).
	MaxConns int
	Logger   *slog.Logger
}

// ParseURL checks a database URL and returns the pool configuration. The
// error never repeats a password.
func ParseURL(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		var pe *pgconn.ParseConfigError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("malformed database URL: %s", pe.Unwrap())
		}
		return nil, errors.New("malformed database URL")
	}
	return cfg, nil
}

// Open connects to the database, retrying with exponential backoff while it
// is unreachable (a database container may still be starting), then checks
// the server version.
func Open(ctx context.Context, url string, o ConnectOptions) (*Store, error) {
	cfg, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case o.MaxConns > 0:
		cfg.MaxConns = int32(o.MaxConns)
	case !strings.Contains(url, "pool_max_conns"):
		// pgxpool's default (the CPU count, at least 4) leaves most
		// requests waiting for a connection while the few in flight wait
		// on the network; a few per CPU keep PostgreSQL busy. A URL's
		// pool_max_conns wins.
		cfg.MaxConns = int32(max(8, 4*runtime.GOMAXPROCS(0)))
	}
	if _, set := cfg.ConnConfig.RuntimeParams["jit"]; !set && !strings.Contains(cfg.ConnConfig.RuntimeParams["options"], "jit=") {
		// JIT compilation pays off for long analytical queries; the
		// service's are short, and a plan the planner overestimates (a
		// search's branches for rare matches, most never run) would spend
		// a second compiling. Set on each new connection rather than in
		// the startup packet, which PgBouncer refuses. A URL that sets jit
		// itself (jit=, or options=-c jit=) wins.
		after := cfg.AfterConnect
		cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
			if _, err := c.Exec(ctx, "SET jit = off"); err != nil {
				return fmt.Errorf("switch JIT off: %w", err)
			}
			if after != nil {
				return after(ctx, c)
			}
			return nil
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create connection pool: %w", err)
	}
	deadline := time.Now().Add(o.Timeout)
	wait := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = pool.Ping(pctx)
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil || time.Now().Add(wait).After(deadline) {
			pool.Close()
			return nil, fmt.Errorf("database unreachable at %s after %d attempts over %s: %w",
				describeHost(cfg), attempt, o.Timeout, err)
		}
		o.Logger.Warn("database not reachable yet; retrying", "attempt", attempt, "wait", wait, "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait = min(wait*2, 5*time.Second)
	}
	var version int
	if err := pool.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		pool.Close()
		return nil, fmt.Errorf("read server version: %w", err)
	}
	if version < MinServerVersion {
		pool.Close()
		return nil, fmt.Errorf("PostgreSQL %d.%d is not supported: version %d or newer is required",
			version/10000, version%10000, MinServerVersion/10000)
	}
	return &Store{Pool: pool}, nil
}

func describeHost(cfg *pgxpool.Config) string {
	return fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
}

// Close closes the pool.
func (s *Store) Close() { s.Pool.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.Pool.Ping(ctx) }

// mapError turns the pgx errors callers can act on into domain errors.
func mapError(err error, kind string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return secondment.NotFound(kind)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return &secondment.Error{Code: secondment.EConflict, Message: secondment.Msg("error.conflict"), Err: err}
		case "23P01": // exclusion_violation: secondment_one_place
			return &secondment.Error{Code: secondment.EConflict, Message: secondment.Msg("transition.error.overlap_db"), Err: err}
		case "23503", "23514": // foreign_key_violation, check_violation
			return &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"), Err: err}
		}
	}
	return err
}
