package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/auth"
	"secondment/internal/secondment"
)

// TokenCreate stores the hash of a new token of u with its scope and
// expiry, and audits it.
func (s *Store) TokenCreate(ctx context.Context, u auth.User, name string, scope auth.TokenScope, hash []byte, now, expires time.Time) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO api_token (user_id, name, token_hash, created_at, scope, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, u.ID, name, hash, now, scope, expires).Scan(&id)
		if err != nil {
			return fmt.Errorf("create token: %w", mapError(err, "token"))
		}
		return auditInsert(ctx, tx, AuditEvent{At: now, ActorID: u.ID, ActorName: u.Name, Action: "token.create",
			ObjectType: "api_token", ObjectID: id, UnitID: u.UnitID,
			Detail: map[string]any{"name": name, "scope": scope, "expires_at": expires}})
	})
	return id, err
}

// TokenList lists u's tokens, newest first.
func (s *Store) TokenList(ctx context.Context, userID int64) ([]auth.Token, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, name, scope, created_at, expires_at, last_used_at, revoked_at FROM api_token
		WHERE user_id = $1 ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (auth.Token, error) {
		var t auth.Token
		err := r.Scan(&t.ID, &t.Name, &t.Scope, &t.CreatedAt, &t.ExpiresAt, &t.LastUsedAt, &t.RevokedAt)
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

// TokenAuth is what authenticating an API call needs, read in one
// statement: the token's enabled owner, when the token was last used, the
// password policy's maximum age, and whether the owner stands in for
// anyone today.
type TokenAuth struct {
	TokenID            int64
	Scope              auth.TokenScope
	LastUsedAt         time.Time // zero if never
	User               auth.User
	PasswordMaxAgeDays int
	ActsForSomeone     bool
}

// TokenUser authenticates a token by its hash at now; an unknown, revoked
// or expired one, or one of a disabled account, is ENotFound. It writes
// nothing: see TokenTouch.
func (s *Store) TokenUser(ctx context.Context, hash []byte, now time.Time) (TokenAuth, error) {
	today := secondment.DateOf(now)
	var a TokenAuth
	var last *time.Time
	var roles []string
	u := &a.User
	err := s.Pool.QueryRow(ctx, `
		SELECT t.id, t.scope, t.last_used_at, u.id, u.login, u.name, u.unit_id, un.name, u.must_change_password,
		       u.password_changed_at,
		       coalesce((SELECT array_agg(r.role::text) FROM user_role r WHERE r.user_id = u.id), '{}'),
		       (SELECT password_max_age_days FROM security_setting WHERE id = 1),
		       EXISTS (SELECT 1 FROM proxy p WHERE p.proxy_id = u.id AND p.revoked_at IS NULL
		               AND p.starts_on <= $2::date AND p.ends_on >= $2::date),
		       coalesce(u.person_id, 0)
		FROM api_token t JOIN app_user u ON u.id = t.user_id JOIN unit un ON un.id = u.unit_id
		WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $3 AND u.disabled_at IS NULL`, hash, today.String(), now).
		Scan(&a.TokenID, &a.Scope, &last, &u.ID, &u.Login, &u.Name, &u.UnitID, &u.UnitName, &u.MustChangePassword,
			&u.PasswordChangedAt, &roles, &a.PasswordMaxAgeDays, &a.ActsForSomeone, &u.PersonID)
	if err != nil {
		return a, mapError(err, "token")
	}
	if last != nil {
		a.LastUsedAt = *last
	}
	u.Roles = auth.SortRoles(roles)
	return a, nil
}

// TokenTouch records a token's use. Callers do it at most once a minute
// per token, so an API call does not write a row every time.
func (s *Store) TokenTouch(ctx context.Context, tokenID int64, now time.Time) error {
	if _, err := s.Pool.Exec(ctx, `UPDATE api_token SET last_used_at = $2 WHERE id = $1`, tokenID, now); err != nil {
		return fmt.Errorf("note token use: %w", err)
	}
	return nil
}

// UnreadMax caps the header's unread count: past it the badge says "99+",
// and the count reads no more of the index.
const UnreadMax = 100

// SessionAuth is a signed-in session's user with what every page checks
// and shows: the session limits, whether they stand in for anyone today,
// and their unread notifications (up to UnreadMax).
type SessionAuth struct {
	User               auth.User
	IdleTimeout        time.Duration
	AbsoluteTimeout    time.Duration
	PasswordMaxAgeDays int
	ActsForSomeone     bool
	Unread             int
}

// SessionUser reads the user of a session in one statement, on day today;
// a user who no longer exists is ENotFound. Every page runs it, so it is
// one round trip, as TokenUser is for the API.
func (s *Store) SessionUser(ctx context.Context, userID int64, today secondment.Date) (SessionAuth, error) {
	var a SessionAuth
	var idle, abs int
	u, err := scanUserWith(s.Pool.QueryRow(ctx, `
		WITH me (id, login, name, unit_id, unit_name, must_change, changed_at, disabled, roles, person_id) AS (
		    SELECT `+userColumns+` FROM app_user u JOIN unit un ON un.id = u.unit_id WHERE u.id = $1)
		SELECT me.*, st.idle_timeout_minutes, st.absolute_timeout_hours, st.password_max_age_days,
		       EXISTS (SELECT 1 FROM proxy p WHERE p.proxy_id = $1 AND p.revoked_at IS NULL
		               AND p.starts_on <= $2::date AND p.ends_on >= $2::date),
		       (SELECT count(*) FROM (SELECT 1 FROM notification_outbox n
		            WHERE n.recipient_unit_id = me.unit_id AND n.read_at IS NULL
		              AND n.recipient_role = ANY (me.roles::text[])
		              AND (n.recipient_user_id IS NULL OR n.recipient_user_id = $1) LIMIT $3) c)
		FROM me CROSS JOIN security_setting st WHERE st.id = 1`, userID, today.String(), UnreadMax),
		&idle, &abs, &a.PasswordMaxAgeDays, &a.ActsForSomeone, &a.Unread)
	if err != nil {
		return a, fmt.Errorf("session user %d: %w", userID, mapError(err, "user"))
	}
	a.User = u
	a.IdleTimeout, a.AbsoluteTimeout = time.Duration(idle)*time.Minute, time.Duration(abs)*time.Hour
	return a, nil
}
