package postgres

import (
	"context"
	"fmt"
	"time"
)

// Kept is how long housekeeping keeps what only matters for a while.
type Kept struct {
	Attempts time.Duration // sign-in attempts: the rate limit and lockout look back minutes, the audit keeps the record
	Keys     time.Duration // idempotency keys: a client retries within hours
}

// DefaultKept are 30 days of sign-in attempts and 7 of idempotency keys.
var DefaultKept = Kept{Attempts: 30 * 24 * time.Hour, Keys: 7 * 24 * time.Hour}

// Swept counts what one housekeeping batch deleted.
type Swept struct{ Sessions, Attempts, Keys int }

// Housekeep deletes, at most batch rows of each, expired sessions (scs
// never loads them, but nothing deleted them), sign-in attempts older than
// k.Attempts and idempotency keys older than k.Keys (issue #13: they grew
// with every attempt, 429s included). The hourly prune job calls it until a
// batch comes back short, so each transaction stays small.
func (s *Store) Housekeep(ctx context.Context, now time.Time, k Kept, batch int) (Swept, error) {
	var out Swept
	for _, d := range []struct {
		n    *int
		what string
		sql  string
		arg  time.Time
	}{
		{&out.Sessions, "sessions", `DELETE FROM sessions WHERE token IN (SELECT token FROM sessions WHERE expiry < $1 LIMIT $2)`, now},
		{&out.Attempts, "sign-in attempts", `DELETE FROM sign_in_attempt WHERE id IN (SELECT id FROM sign_in_attempt WHERE at < $1 LIMIT $2)`, now.Add(-k.Attempts)},
		{&out.Keys, "idempotency keys", `DELETE FROM idempotency_key WHERE (user_id, key) IN
			(SELECT user_id, key FROM idempotency_key WHERE created_at < $1 LIMIT $2)`, now.Add(-k.Keys)},
	} {
		tag, err := s.Pool.Exec(ctx, d.sql, d.arg, batch)
		if err != nil {
			return out, fmt.Errorf("delete old %s: %w", d.what, err)
		}
		*d.n = int(tag.RowsAffected())
	}
	return out, nil
}
