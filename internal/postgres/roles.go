package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The two logins of the embedded cluster (issue #13). The owner runs the
// migrations and owns every table; the service serves as the application
// role, which may read and write the business tables but not edit or
// delete the audit trail, alter a table, drop a trigger or lift triggers
// (it is no superuser). An external database gets the same two from the
// SQL in docs/security.md.
const (
	EmbeddedOwner = "secondment_owner"
	EmbeddedApp   = "secondment_app"
)

// appGrants is what the application role holds, applied after every
// migration (so a table a new migration adds is covered). %[1]s is the
// role. The audit tables are insert-and-read only; the chain is written by
// its SECURITY DEFINER trigger alone; the migration bookkeeping is read
// only.
const appGrants = `
GRANT USAGE ON SCHEMA public TO %[1]s;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %[1]s;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO %[1]s;
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_event, audit_verification FROM %[1]s;
REVOKE ALL ON audit_chain, audit_chain_head, audit_chain_seq FROM %[1]s;
GRANT SELECT ON audit_chain, audit_chain_head TO %[1]s;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM %[1]s;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON river_migration FROM %[1]s;
`

// GrantApp gives role the application's privileges on the schema pool's
// login owns. It is idempotent; run it after migrating.
func GrantApp(ctx context.Context, pool *pgxpool.Pool, role string) error {
	sql := fmt.Sprintf(appGrants, pgx.Identifier{role}.Sanitize())
	if _, err := pool.Exec(ctx, sql); err != nil {
		return fmt.Errorf("grant the application role %s its privileges: %w", role, err)
	}
	return nil
}

// Login describes the login a pool connects as, for the warning a service
// gives when it runs with more power over the audit trail than it needs.
type Login struct {
	Name      string
	Superuser bool
	OwnsAudit bool // owns audit_event, so may lift its triggers or drop them
}

// Powerful reports whether the login could rewrite the trail unseen by the
// triggers (the hash chain still shows it).
func (l Login) Powerful() bool { return l.Superuser || l.OwnsAudit }

// WhoAmI reads the pool's login and what it may do to the audit trail.
func WhoAmI(ctx context.Context, pool *pgxpool.Pool) (Login, error) {
	var l Login
	err := pool.QueryRow(ctx, `
		SELECT current_user, r.rolsuper,
		       coalesce(pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = to_regclass('audit_event')), 'USAGE'), false)
		FROM pg_roles r WHERE r.rolname = current_user`).Scan(&l.Name, &l.Superuser, &l.OwnsAudit)
	if err != nil {
		return l, fmt.Errorf("read the database login: %w", err)
	}
	return l, nil
}

// LoginOf is the user name in a database URL.
func LoginOf(url string) (string, error) {
	cfg, err := ParseURL(url)
	if err != nil {
		return "", err
	}
	return cfg.ConnConfig.User, nil
}

// SetUpEmbeddedRoles creates the owner and application logins in a
// cluster this service runs (connected as its superuser), makes the owner
// own database db, and hands the owner whatever an earlier version of the
// service created there as the superuser. Idempotent.
func SetUpEmbeddedRoles(ctx context.Context, superURL, db string) error {
	conn, err := pgx.Connect(ctx, superURL)
	if err != nil {
		return fmt.Errorf("connect to the embedded database as its superuser: %w", err)
	}
	defer conn.Close(ctx)
	for _, r := range []string{EmbeddedOwner, EmbeddedApp} {
		_, err := conn.Exec(ctx, fmt.Sprintf(`DO $$ BEGIN
			IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%[1]s') THEN
				CREATE ROLE %[1]s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
			END IF; END $$`, r))
		if err != nil {
			return fmt.Errorf("create role %s: %w", r, err)
		}
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{db}.Sanitize()+" OWNER TO "+EmbeddedOwner); err != nil {
		return fmt.Errorf("give database %s to %s: %w", db, EmbeddedOwner, err)
	}
	return nil
}

// adoptObjects hands the owner the tables, sequences, views, functions and
// types an earlier version created in the public schema as the superuser
// (an extension's own objects stay the extension's).
const adoptObjects = `DO $$
DECLARE o record;
BEGIN
	FOR o IN
		SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END AS kind,
		       format('%I.%I', n.nspname, c.relname) AS name
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S', 'v', 'm')
		  AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = '` + EmbeddedOwner + `')
		  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i'))
	LOOP
		EXECUTE format('ALTER %s %s OWNER TO ` + EmbeddedOwner + `', o.kind, o.name);
	END LOOP;
	FOR o IN
		SELECT p.oid::regprocedure::text AS name, p.prokind
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = 'public' AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = '` + EmbeddedOwner + `')
		  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
	LOOP
		EXECUTE format('ALTER %s %s OWNER TO ` + EmbeddedOwner + `', CASE o.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, o.name);
	END LOOP;
	FOR o IN
		SELECT format('%I.%I', n.nspname, t.typname) AS name
		FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
		WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'r', 'm')
		  AND t.typowner <> (SELECT oid FROM pg_roles WHERE rolname = '` + EmbeddedOwner + `')
		  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype IN ('e', 'i'))
	LOOP
		EXECUTE format('ALTER TYPE %s OWNER TO ` + EmbeddedOwner + `', o.name);
	END LOOP;
END $$`

// AdoptEmbedded runs adoptObjects in database db as the superuser.
func AdoptEmbedded(ctx context.Context, superURL string) error {
	conn, err := pgx.Connect(ctx, superURL)
	if err != nil {
		return fmt.Errorf("connect to the embedded database as its superuser: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, adoptObjects); err != nil {
		return fmt.Errorf("hand the tables to %s: %w", EmbeddedOwner, err)
	}
	return nil
}

// WithLogin is url with its user replaced by login (no password: the
// embedded cluster trusts its own socket, which only its directory's
// owner reaches).
func WithLogin(url, login string) string {
	i := strings.Index(url, "://")
	j := strings.Index(url, "@")
	if i < 0 || j < i {
		return url
	}
	return url[:i+3] + login + url[j:]
}
