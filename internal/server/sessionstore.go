package server

import (
	"context"
	"errors"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// sessionStore is pgxstore with the request's context: pgxstore runs its
// statements with context.Background(), so a frozen database held every
// page forever at the session lookup, past the request's deadline (issue
// #13). scs uses the *Ctx methods when a store has them; the statements
// are pgxstore's own, on its table.
type sessionStore struct {
	*pgxstore.PostgresStore
	pool *pgxpool.Pool
}

func newSessionStore(pool *pgxpool.Pool) *sessionStore {
	// No cleanup goroutine: every replica would run it. Expired rows are
	// never loaded (the query checks expiry); removing them (a River job)
	// is part of issue #13 not built yet.
	return &sessionStore{PostgresStore: pgxstore.NewWithCleanupInterval(pool, 0), pool: pool}
}

// FindCtx is pgxstore's Find, bounded by ctx.
func (s *sessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var b []byte
	err := s.pool.QueryRow(ctx, "SELECT data FROM sessions WHERE token = $1 AND current_timestamp < expiry", token).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// CommitCtx is pgxstore's Commit, bounded by ctx.
func (s *sessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	_, err := s.pool.Exec(ctx, "INSERT INTO sessions (token, data, expiry) VALUES ($1, $2, $3) ON CONFLICT (token) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry", token, b, expiry)
	return err
}

// DeleteCtx is pgxstore's Delete, bounded by ctx.
func (s *sessionStore) DeleteCtx(ctx context.Context, token string) error {
	_, err := s.pool.Exec(ctx, "DELETE FROM sessions WHERE token = $1", token)
	return err
}
