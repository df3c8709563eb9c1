package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"secondment/internal/auth"
	"secondment/internal/secondment"
)

// Actor is who changes an account, for the audit trail: a signed-in user,
// or (ID 0) the command line.
type Actor struct {
	ID   int64
	Name string
}

const userColumns = `u.id, u.login, u.name, u.unit_id, un.name, u.must_change_password, u.password_changed_at,
	u.disabled_at IS NOT NULL,
	coalesce((SELECT array_agg(r.role ORDER BY array_position(ARRAY['borrower','lender','orgdept','registrar',
		'sysadmin','secadmin','auditor'], r.role)) FROM user_role r WHERE r.user_id = u.id), '{}'),
	coalesce(u.person_id, 0)`

func scanUser(row pgx.Row) (auth.User, error) { return scanUserWith(row) }

// scanUserWith scans userColumns, then into more the columns after them.
func scanUserWith(row pgx.Row, more ...any) (auth.User, error) {
	var u auth.User
	var roles []string
	err := row.Scan(append([]any{&u.ID, &u.Login, &u.Name, &u.UnitID, &u.UnitName, &u.MustChangePassword,
		&u.PasswordChangedAt, &u.Disabled, &roles, &u.PersonID}, more...)...)
	for _, r := range roles {
		u.Roles = append(u.Roles, auth.Role(r))
	}
	return u, err
}

// NewUser is an account to create.
type NewUser struct {
	Login, Name        string
	UnitID             int64
	Roles              []auth.Role
	PasswordHash       string
	MustChangePassword bool // a one-time password chosen by someone else
}

// UserCreate creates an account with its roles, and audits it.
func (s *Store) UserCreate(ctx context.Context, by Actor, nu NewUser, now time.Time) (int64, error) {
	if err := auth.ValidateRoles(nu.Roles); err != nil {
		return 0, err
	}
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var unitName string
		if err := tx.QueryRow(ctx, `SELECT name FROM unit WHERE id = $1`, nu.UnitID).Scan(&unitName); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return fieldError("unit", "unit.error.unknown")
			}
			return fmt.Errorf("look up unit: %w", err)
		}
		err := tx.QueryRow(ctx, `
			INSERT INTO app_user (login, name, unit_id, password_hash, password_changed_at, must_change_password, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $5, $5) RETURNING id`,
			nu.Login, nu.Name, nu.UnitID, nu.PasswordHash, now, nu.MustChangePassword).Scan(&id)
		if err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "23505" {
				return fieldError("login", "account.error.login_taken")
			}
			if errors.As(err, &pe) && pe.Code == "23514" {
				return fieldError("login", "account.error.login")
			}
			return fmt.Errorf("create user %s: %w", nu.Login, err)
		}
		if err := setRoles(ctx, tx, id, nu.Roles); err != nil {
			return err
		}
		return auditInsert(ctx, tx, AuditEvent{At: now, ActorID: by.ID, ActorName: by.Name, Action: "user.create",
			ObjectType: "user", ObjectID: id, UnitID: nu.UnitID,
			Detail: map[string]any{"login": nu.Login, "name": nu.Name, "unit": unitName, "roles": nu.Roles}})
	})
	return id, err
}

func fieldError(field, msg string) error {
	return &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"),
		Fields: []secondment.FieldError{{Field: field, Message: secondment.Msg(msg)}}}
}

func setRoles(ctx context.Context, tx pgx.Tx, userID int64, roles []auth.Role) error {
	if _, err := tx.Exec(ctx, `DELETE FROM user_role WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("clear roles: %w", err)
	}
	for _, r := range roles {
		if _, err := tx.Exec(ctx, `INSERT INTO user_role (user_id, role) VALUES ($1, $2)`, userID, r); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "23514" {
				return fieldError("roles", "account.error.separation")
			}
			return fmt.Errorf("grant role %s: %w", r, err)
		}
	}
	return nil
}

// UserGet returns one account.
func (s *Store) UserGet(ctx context.Context, id int64) (auth.User, error) {
	u, err := scanUser(s.Pool.QueryRow(ctx, `SELECT `+userColumns+` FROM app_user u JOIN unit un ON un.id = u.unit_id WHERE u.id = $1`, id))
	if err != nil {
		return u, fmt.Errorf("get user %d: %w", id, mapError(err, "user"))
	}
	return u, nil
}

// UserPage is one page of accounts by login: those whose login or name
// contains Query, after the login After.
type UserPage struct {
	Query, After string
	Limit        int
}

// UserList returns a page of accounts, by login.
func (s *Store) UserList(ctx context.Context, f UserPage) ([]auth.User, error) {
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	where := "true"
	if q := strings.TrimSpace(f.Query); q != "" {
		x := arg(q)
		where += " AND (strpos(u.login, " + x + ") > 0 OR strpos(u.name, " + x + ") > 0)"
	}
	if f.After != "" {
		where += " AND u.login > " + arg(f.After)
	}
	rows, err := s.Pool.Query(ctx, `SELECT `+userColumns+`, coalesce(pe.code, '') FROM app_user u JOIN unit un ON un.id = u.unit_id
		LEFT JOIN person pe ON pe.id = u.person_id
		WHERE `+where+` ORDER BY u.login LIMIT `+arg(f.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (auth.User, error) {
		var code string
		u, err := scanUserWith(r, &code)
		u.PersonCode = code
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// UserSetRoles replaces an account's roles, and audits the change.
func (s *Store) UserSetRoles(ctx context.Context, by Actor, id int64, roles []auth.Role, now time.Time) error {
	if err := auth.ValidateRoles(roles); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		before, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM app_user u JOIN unit un ON un.id = u.unit_id WHERE u.id = $1 FOR UPDATE OF u`, id))
		if err != nil {
			return mapError(err, "user")
		}
		if err := proxiesAllow(ctx, tx, id, roles, now); err != nil {
			return err
		}
		if err := setRoles(ctx, tx, id, roles); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE app_user SET updated_at = $2 WHERE id = $1`, id, now); err != nil {
			return fmt.Errorf("touch user: %w", err)
		}
		return auditInsert(ctx, tx, AuditEvent{At: now, ActorID: by.ID, ActorName: by.Name, Action: "user.roles",
			ObjectType: "user", ObjectID: id, UnitID: before.UnitID,
			Detail: map[string]any{"login": before.Login, "before": before.Roles, "after": roles}})
	})
}

// proxiesAllow refuses new roles for account id that, with a live proxy
// arrangement (not revoked, not yet over), would put two roles that must
// stay apart in one person's hands: the proxy acts with its own roles and
// every principal's it stands in for. Checked both ways, as the proxy and
// as the principal. It locks the arrangements' other accounts, as ProxySet
// locks its principal, proxy and the proxy's other principals, so the two
// cannot pass each other.
func proxiesAllow(ctx context.Context, tx pgx.Tx, id int64, roles []auth.Role, now time.Time) error {
	// The other accounts of those arrangements are locked (FOR SHARE)
	// before their roles are read: ProxySet locks the same rows, and a
	// concurrent change of a fellow principal's roles waits here (or the
	// two deadlock and one is told to retry), so no interleaving joins
	// roles that must stay apart.
	if _, err := tx.Exec(ctx, `
		WITH live AS (SELECT principal_id, proxy_id FROM proxy WHERE revoked_at IS NULL AND ends_on >= $2::date),
		     groups AS (SELECT DISTINCT proxy_id FROM live WHERE principal_id = $1 OR proxy_id = $1)
		SELECT 1 FROM app_user WHERE id <> $1 AND (id IN (SELECT proxy_id FROM groups)
		    OR id IN (SELECT principal_id FROM live WHERE proxy_id IN (SELECT proxy_id FROM groups)))
		ORDER BY id FOR SHARE`, id, secondment.DateOf(now).String()); err != nil {
		return fmt.Errorf("lock the proxies of user %d: %w", id, err)
	}
	// One row per proxy whose arrangements involve the account: the
	// roles of that proxy and of everyone it stands in for, the account's
	// own left out (its new ones take their place), and a colleague to
	// name.
	rows, err := tx.Query(ctx, `
		WITH live AS (SELECT principal_id, proxy_id FROM proxy WHERE revoked_at IS NULL AND ends_on >= $2::date),
		     groups AS (SELECT DISTINCT proxy_id FROM live WHERE principal_id = $1 OR proxy_id = $1)
		SELECT (SELECT u.name FROM app_user u WHERE u.id = CASE WHEN g.proxy_id = $1
		            THEN (SELECT min(principal_id) FROM live l WHERE l.proxy_id = g.proxy_id) ELSE g.proxy_id END),
		       coalesce((SELECT array_agg(DISTINCT r.role) FROM user_role r
		                 WHERE r.user_id <> $1 AND (r.user_id = g.proxy_id
		                       OR r.user_id IN (SELECT principal_id FROM live l WHERE l.proxy_id = g.proxy_id))), '{}')
		FROM groups g`, id, secondment.DateOf(now).String())
	if err != nil {
		return fmt.Errorf("proxies of user %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var others []string
		if err := rows.Scan(&name, &others); err != nil {
			return fmt.Errorf("proxies of user %d: %w", id, err)
		}
		all := slices.Clone(roles)
		for _, r := range others {
			all = append(all, auth.Role(r))
		}
		if _, _, bad := auth.Incompatible(all); bad {
			return &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"),
				Fields: []secondment.FieldError{{Field: "roles", Message: secondment.Msg("admin.error.roles_proxy", "Name", name)}}}
		}
	}
	return rows.Err()
}

// UserSetDisabled disables or re-enables an account. A disabled account's
// sessions and tokens stop working at once, since both are checked against
// the account on every request.
func (s *Store) UserSetDisabled(ctx context.Context, by Actor, id int64, disabled bool, now time.Time) error {
	action := "user.enable"
	if disabled {
		action = "user.disable"
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var login string
		var unitID int64
		err := tx.QueryRow(ctx, `
			UPDATE app_user SET disabled_at = CASE WHEN $2 THEN $3::timestamptz END, updated_at = $3
			WHERE id = $1 RETURNING login, unit_id`, id, disabled, now).Scan(&login, &unitID)
		if err != nil {
			return mapError(err, "user")
		}
		return auditInsert(ctx, tx, AuditEvent{At: now, ActorID: by.ID, ActorName: by.Name, Action: action,
			ObjectType: "user", ObjectID: id, UnitID: unitID, Detail: map[string]any{"login": login}})
	})
}

// UserSetPassword stores a new password hash. mustChange marks a password
// someone else chose (an administrator's reset): its owner must replace it.
// It also lifts a lockout, which is what a reset is for. Sessions signed in
// before the change end at their next request (the server compares their
// sign-in time with password_changed_at); a reset also revokes the
// account's API tokens, and so does a change by the owner.
func (s *Store) UserSetPassword(ctx context.Context, by Actor, id int64, hash string, mustChange bool, now time.Time) error {
	action := "user.password_change"
	if by.ID != id {
		action = "user.password_reset"
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var login string
		var unitID int64
		err := tx.QueryRow(ctx, `
			UPDATE app_user SET password_hash = $2, password_changed_at = $3, must_change_password = $4,
			       locked_until = NULL, updated_at = $3
			WHERE id = $1 RETURNING login, unit_id`, id, hash, now, mustChange).Scan(&login, &unitID)
		if err != nil {
			return mapError(err, "user")
		}
		// A new password is what follows a suspected compromise, whoever
		// sets it: the account's API tokens stop too, as its sessions do
		// (they end by the changed password).
		tag, err := tx.Exec(ctx, `UPDATE api_token SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL`, id, now)
		if err != nil {
			return fmt.Errorf("revoke tokens: %w", err)
		}
		detail := map[string]any{"login": login, "tokens_revoked": tag.RowsAffected()}
		return auditInsert(ctx, tx, AuditEvent{At: now, ActorID: by.ID, ActorName: by.Name, Action: action,
			ObjectType: "user", ObjectID: id, UnitID: unitID, Detail: detail})
	})
}

// UserPasswordHash returns the stored hash, to check a current password.
func (s *Store) UserPasswordHash(ctx context.Context, id int64) (string, error) {
	var h string
	if err := s.Pool.QueryRow(ctx, `SELECT password_hash FROM app_user WHERE id = $1`, id).Scan(&h); err != nil {
		return "", fmt.Errorf("read password: %w", mapError(err, "user"))
	}
	return h, nil
}

// UserImport creates or updates accounts by login, with their roles and
// password hash, in one transaction (the demo accounts). Each is audited.
func (s *Store) UserImport(ctx context.Context, by Actor, users []NewUser, now time.Time) error {
	for _, nu := range users {
		if err := auth.ValidateRoles(nu.Roles); err != nil {
			return fmt.Errorf("user %s: %w", nu.Login, err)
		}
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		for _, nu := range users {
			var id int64
			err := tx.QueryRow(ctx, `
				INSERT INTO app_user (login, name, unit_id, password_hash, password_changed_at, must_change_password, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $5, $5)
				ON CONFLICT (login) DO UPDATE SET name = EXCLUDED.name, unit_id = EXCLUDED.unit_id,
					password_hash = EXCLUDED.password_hash, password_changed_at = EXCLUDED.password_changed_at,
					must_change_password = EXCLUDED.must_change_password, disabled_at = NULL, locked_until = NULL,
					updated_at = EXCLUDED.updated_at
				RETURNING id`, nu.Login, nu.Name, nu.UnitID, nu.PasswordHash, now, nu.MustChangePassword).Scan(&id)
			if err != nil {
				return fmt.Errorf("save user %s: %w", nu.Login, mapError(err, "user"))
			}
			if err := setRoles(ctx, tx, id, nu.Roles); err != nil {
				return fmt.Errorf("user %s: %w", nu.Login, err)
			}
			if err := auditInsert(ctx, tx, AuditEvent{At: now, ActorID: by.ID, ActorName: by.Name, Action: "user.import",
				ObjectType: "user", ObjectID: id, UnitID: nu.UnitID,
				Detail: map[string]any{"login": nu.Login, "roles": nu.Roles}}); err != nil {
				return err
			}
		}
		return nil
	})
}

// UserSetPerson links account id to the person whose code is personCode
// ("" unlinks it), and audits the change. An unknown code is a field
// error on "person".
func (s *Store) UserSetPerson(ctx context.Context, by Actor, id int64, personCode string, now time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var beforeCode string
		before, err := scanUserWith(tx.QueryRow(ctx, `SELECT `+userColumns+`, coalesce(pe.code, '') FROM app_user u
			JOIN unit un ON un.id = u.unit_id LEFT JOIN person pe ON pe.id = u.person_id WHERE u.id = $1 FOR UPDATE OF u`, id), &beforeCode)
		if err != nil {
			return mapError(err, "user")
		}
		var person *int64
		if personCode != "" {
			var pid int64
			if err := tx.QueryRow(ctx, `SELECT id FROM person WHERE code = $1`, personCode).Scan(&pid); err != nil {
				if errors.Is(err, pgx.ErrNoRows) {
					return fieldError("person", "admin.error.person_unknown")
				}
				return fmt.Errorf("find person %s: %w", personCode, err)
			}
			person = &pid
		}
		if _, err := tx.Exec(ctx, `UPDATE app_user SET person_id = $2, updated_at = $3 WHERE id = $1`, id, person, now); err != nil {
			return fmt.Errorf("link user %d: %w", id, err)
		}
		return auditInsert(ctx, tx, AuditEvent{At: now, ActorID: by.ID, ActorName: by.Name, Action: "user.person",
			ObjectType: "user", ObjectID: id, UnitID: before.UnitID,
			Detail: map[string]any{"login": before.Login, "before": beforeCode, "after": personCode}})
	})
}

// Clash is an account, or a live out-of-office arrangement, that puts two
// roles one person may not hold together in one person's hands: opened
// before the checks of issue #13, which now refuse both.
type Clash struct {
	Name, Login   string // the account; for an arrangement, the principal
	Proxy         string // the proxy's name; "" for an account
	Until         secondment.Date
	Roles         []auth.Role
	ArrangementID int64
	AccountID     int64
}

// Clashes lists up to limit accounts and live arrangements that hold
// incompatible roles, for the administrator's attention.
func (s *Store) Clashes(ctx context.Context, today secondment.Date, limit int) ([]Clash, error) {
	rows, err := s.Pool.Query(ctx, `
		SELECT u.id, 0, u.name, u.login, '', NULL::date, array_agg(r.role ORDER BY r.role)
		FROM app_user u JOIN user_role r ON r.user_id = u.id
		WHERE u.disabled_at IS NULL
		GROUP BY u.id HAVING count(*) > 1
		UNION ALL
		SELECT 0, x.id, pr.name, pr.login, px.name, x.ends_on,
		       (SELECT array_agg(DISTINCT r.role) FROM user_role r WHERE r.user_id IN (x.principal_id, x.proxy_id))
		FROM proxy x JOIN app_user pr ON pr.id = x.principal_id JOIN app_user px ON px.id = x.proxy_id
		WHERE x.revoked_at IS NULL AND x.ends_on >= $1::date`, today.String())
	if err != nil {
		return nil, fmt.Errorf("accounts with incompatible roles: %w", err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Clash, error) {
		var c Clash
		var until *time.Time
		var roles []string
		err := r.Scan(&c.AccountID, &c.ArrangementID, &c.Name, &c.Login, &c.Proxy, &until, &roles)
		if until != nil {
			c.Until = dateOf(*until)
		}
		c.Roles = auth.SortRoles(roles)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("accounts with incompatible roles: %w", err)
	}
	var out []Clash
	for _, c := range all {
		if _, _, bad := auth.Incompatible(c.Roles); bad && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, nil
}
