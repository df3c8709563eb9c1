package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/auth"
)

// Token is a personal API token as its owner sees it (never the secret).
type Token struct {
	ID         int64
	Name       string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// TokenCreate stores the hash of a new token of u, and audits it.
func (s *Store) TokenCreate(ctx context.Context, u auth.User, name string, hash []byte, now time.Time) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO api_token (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
			u.ID, name, hash, now).Scan(&id)
		if err != nil {
			return fmt.Errorf("create token: %w", mapError(err, "token"))
		}
		return auditInsert(ctx, tx, AuditEvent{At: now, ActorID: u.ID, ActorName: u.Name, Action: "token.create",
			ObjectType: "api_token", ObjectID: id, UnitID: u.UnitID, Detail: map[string]any{"name": name}})
	})
	return id, err
}

// TokenList lists u's tokens, newest first.
func (s *Store) TokenList(ctx context.Context, userID int64) ([]Token, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, name, created_at, last_used_at, revoked_at FROM api_token
		WHERE user_id = $1 ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Token, error) {
		var t Token
		err := r.Scan(&t.ID, &t.Name, &t.CreatedAt, &t.LastUsedAt, &t.RevokedAt)
		return t, err
	})
}

// TokenRevoke revokes one of u's own tokens; another user's token is not
// found, as if it did not exist.
func (s *Store) TokenRevoke(ctx context.Context, u auth.User, tokenID int64, now time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var name string
		err := tx.QueryRow(ctx, `UPDATE api_token SET revoked_at = coalesce(revoked_at, $3)
			WHERE id = $1 AND user_id = $2 RETURNING name`, tokenID, u.ID, now).Scan(&name)
		if err != nil {
			return mapError(err, "token")
		}
		return auditInsert(ctx, tx, AuditEvent{At: now, ActorID: u.ID, ActorName: u.Name, Action: "token.revoke",
			ObjectType: "api_token", ObjectID: tokenID, UnitID: u.UnitID, Detail: map[string]any{"name": name}})
	})
}

// TokenUser returns the enabled account a live token belongs to, and notes
// the token's use.
func (s *Store) TokenUser(ctx context.Context, hash []byte, now time.Time) (auth.User, error) {
	var userID int64
	err := s.Pool.QueryRow(ctx, `
		UPDATE api_token t SET last_used_at = $2
		FROM app_user u
		WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.id = t.user_id AND u.disabled_at IS NULL
		RETURNING t.user_id`, hash, now).Scan(&userID)
	if err != nil {
		return auth.User{}, mapError(err, "token")
	}
	return s.UserGet(ctx, userID)
}
