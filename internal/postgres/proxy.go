package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/auth"
	"secondment/internal/secondment"
)

// ProxySet names a colleague of the same unit to act for by while away.
func (s *Store) ProxySet(ctx context.Context, by auth.User, login string, from, to secondment.Date, now time.Time) error {
	if to.Before(from) {
		return fieldError("ends_on", "secondment.error.end_before_start")
	}
	if from.Before(secondment.DateOf(now)) {
		return fieldError("starts_on", "proxy.error.past")
	}
	if secondment.DaysInclusive(from, to) > 367 {
		return fieldError("ends_on", "proxy.error.too_long")
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// Both accounts locked against a change of roles meanwhile
		// (UserSetRoles checks the live arrangements under its own lock),
		// and the principal's roles read as they now are.
		p, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM app_user u JOIN unit un ON un.id = u.unit_id
			WHERE u.login = $1 AND u.disabled_at IS NULL FOR SHARE OF u`, login))
		if err != nil || p.UnitID != by.UnitID || p.ID == by.ID {
			return fieldError("login", "proxy.error.colleague")
		}
		me, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM app_user u JOIN unit un ON un.id = u.unit_id
			WHERE u.id = $1 FOR SHARE OF u`, by.ID))
		if err != nil {
			return mapError(err, "user")
		}
		// A proxy takes on the principal's roles: not where one person
		// would then hold two that must stay apart (the org dept's
		// reviewer standing in for the unit's lending contact).
		// Nor with the roles of others the proxy already stands in for
		// over the same days: two principals must not join them either.
		// The other principals of the proxy, locked too: a change of their
		// roles (UserSetRoles) must not pass this check unseen.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM app_user WHERE id IN (SELECT principal_id FROM proxy
			WHERE proxy_id = $1 AND revoked_at IS NULL AND ends_on >= $2::date) ORDER BY id FOR SHARE`,
			p.ID, from.String()); err != nil {
			return fmt.Errorf("lock the proxy's principals: %w", err)
		}
		var taken []string
		if err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT r.role), '{}') FROM proxy x
			JOIN user_role r ON r.user_id = x.principal_id
			WHERE x.proxy_id = $1 AND x.revoked_at IS NULL AND x.starts_on <= $3::date AND x.ends_on >= $2::date`,
			p.ID, from.String(), to.String()).Scan(&taken); err != nil {
			return fmt.Errorf("roles the proxy stands in for: %w", err)
		}
		roles := append(slices.Clone(me.Roles), p.Roles...)
		for _, r := range taken {
			roles = append(roles, auth.Role(r))
		}
		if _, _, bad := auth.Incompatible(roles); bad {
			return fieldError("login", "proxy.error.incompatible")
		}
		// The same live arrangement again (a double click, a retried API
		// call) is already in force: nothing to insert or audit.
		var id int64
		err = tx.QueryRow(ctx, `INSERT INTO proxy (principal_id, proxy_id, starts_on, ends_on, created_at)
			VALUES ($1, $2, $3::date, $4::date, $5)
			ON CONFLICT (principal_id, proxy_id, starts_on, ends_on) WHERE revoked_at IS NULL DO NOTHING
			RETURNING id`, by.ID, p.ID, from.String(), to.String(), now).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("set proxy: %w", mapError(err, "proxy"))
		}
		return auditInsert(ctx, tx, AuditEvent{At: now, ActorID: by.ID, ActorName: by.Name, Action: "proxy.set",
			ObjectType: "proxy", ObjectID: id, UnitID: by.UnitID,
			Detail: map[string]any{"proxy": p.Login, "from": from.String(), "to": to.String()}})
	})
}

// ProxyRevoke ends one of by's own arrangements at once.
func (s *Store) ProxyRevoke(ctx context.Context, by auth.User, id int64, now time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE proxy SET revoked_at = $3 WHERE id = $1 AND principal_id = $2 AND revoked_at IS NULL`, id, by.ID, now)
		if err != nil {
			return fmt.Errorf("revoke proxy: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return secondment.NotFound("proxy")
		}
		return auditInsert(ctx, tx, AuditEvent{At: now, ActorID: by.ID, ActorName: by.Name, Action: "proxy.revoke",
			ObjectType: "proxy", ObjectID: id, UnitID: by.UnitID})
	})
}

// ProxyList lists the arrangements by made or is named in, newest first.
func (s *Store) ProxyList(ctx context.Context, userID int64) ([]auth.Proxy, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, principal_id, proxy_id, starts_on, ends_on, created_at, revoked_at IS NOT NULL
		FROM proxy WHERE principal_id = $1 OR proxy_id = $1 ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("list proxies: %w", err)
	}
	type row struct {
		p                auth.Proxy
		principal, proxy int64
	}
	raw, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		var from, to time.Time
		err := r.Scan(&x.p.ID, &x.principal, &x.proxy, &from, &to, &x.p.CreatedAt, &x.p.Revoked)
		x.p.StartsOn, x.p.EndsOn = dateOf(from), dateOf(to)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("list proxies: %w", err)
	}
	out := make([]auth.Proxy, 0, len(raw))
	for _, x := range raw {
		if x.p.Principal, err = s.UserGet(ctx, x.principal); err != nil {
			return nil, err
		}
		if x.p.Proxy, err = s.UserGet(ctx, x.proxy); err != nil {
			return nil, err
		}
		out = append(out, x.p)
	}
	return out, nil
}

// ProxyPrincipals are the enabled users proxyID acts for on day.
func (s *Store) ProxyPrincipals(ctx context.Context, proxyID int64, day secondment.Date) ([]auth.User, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+userColumns+` FROM app_user u JOIN unit un ON un.id = u.unit_id
		WHERE u.disabled_at IS NULL AND u.id IN (SELECT principal_id FROM proxy
			WHERE proxy_id = $1 AND revoked_at IS NULL AND starts_on <= $2::date AND ends_on >= $2::date)
		ORDER BY u.id`, proxyID, day.String())
	if err != nil {
		return nil, fmt.Errorf("list principals: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (auth.User, error) { return scanUser(r) })
}
