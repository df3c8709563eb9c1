package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// Contents is what a database holds, as `secondment backup` and `restore`
// report it: enough to see at a glance that a copy is the one meant, and
// the audit chain's heads, which `secondment audit verify --expect` checks
// the restored trail against.
type Contents struct {
	Tables          []string     // the tables of the public schema, by name
	Schema          SchemaStatus // Current 0: never migrated
	Requests        int64
	People          int64
	Users           int64
	AuditEvents     int64
	Attachments     int64
	AttachmentBytes int64
	Notifications   int64
	Heads           []ChainPoint // the audit chain's lane heads that have links
}

// Empty reports whether the database has no table at all in its public
// schema: a restore needs no confirmation there.
func (c Contents) Empty() bool { return len(c.Tables) == 0 }

// ContentsRead reads the database's contents on one snapshot.
func (s *Store) ContentsRead(ctx context.Context) (Contents, error) {
	var c Contents
	err := s.ReadTx(ctx, func(tx *Tx) error {
		var err error
		c, err = readContents(ctx, tx.q)
		return err
	})
	return c, err
}

// Snapshot opens a read-only transaction on one snapshot, exports the
// snapshot (pg_export_snapshot) and reads the contents in it, then calls
// fn while the transaction stays open: pg_dump --snapshot=id then dumps
// exactly what the contents describe, however the service writes
// meanwhile.
func (s *Store) Snapshot(ctx context.Context, fn func(id string, c Contents) error) error {
	return s.ReadTx(ctx, func(tx *Tx) error {
		var id string
		if err := tx.q.QueryRow(ctx, `SELECT pg_export_snapshot()`).Scan(&id); err != nil {
			return fmt.Errorf("export a snapshot for pg_dump: %w", err)
		}
		c, err := readContents(ctx, tx.q)
		if err != nil {
			return err
		}
		return fn(id, c)
	})
}

func readContents(ctx context.Context, q pgx.Tx) (Contents, error) {
	c := Contents{Schema: SchemaStatus{Latest: LatestMigration()}}
	rows, err := q.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname`)
	if err != nil {
		return c, fmt.Errorf("list the tables: %w", err)
	}
	if c.Tables, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return c, fmt.Errorf("list the tables: %w", err)
	}
	has := func(t string) bool { _, ok := slices.BinarySearch(c.Tables, t); return ok }
	if has("schema_migrations") {
		var v int64
		err := q.QueryRow(ctx, `SELECT version, dirty FROM schema_migrations LIMIT 1`).Scan(&v, &c.Schema.Dirty)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return c, fmt.Errorf("read the schema version: %w", err)
		}
		c.Schema.Current = uint(v)
	}
	counts := []struct {
		table, sql string
		dest       []any
	}{
		{"secondment", `SELECT count(*) FROM secondment`, []any{&c.Requests}},
		{"person", `SELECT count(*) FROM person`, []any{&c.People}},
		{"app_user", `SELECT count(*) FROM app_user`, []any{&c.Users}},
		{"audit_event", `SELECT count(*) FROM audit_event`, []any{&c.AuditEvents}},
		{"attachment", `SELECT count(*), coalesce(sum(size), 0) FROM attachment`, []any{&c.Attachments, &c.AttachmentBytes}},
		{"notification_outbox", `SELECT count(*) FROM notification_outbox`, []any{&c.Notifications}},
	}
	for _, n := range counts {
		if !has(n.table) {
			continue
		}
		if err := q.QueryRow(ctx, n.sql).Scan(n.dest...); err != nil {
			return c, fmt.Errorf("count %s: %w", n.table, err)
		}
	}
	if has("audit_chain_head") {
		rows, err := q.Query(ctx, `SELECT seq, hash FROM audit_chain_head WHERE seq > anchor_seq ORDER BY lane`)
		if err != nil {
			return c, fmt.Errorf("read the audit chain's heads: %w", err)
		}
		c.Heads, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ChainPoint, error) {
			var p ChainPoint
			err := r.Scan(&p.Seq, &p.Hash)
			return p, err
		})
		if err != nil {
			return c, fmt.Errorf("read the audit chain's heads: %w", err)
		}
	}
	return c, nil
}

// SessionsOf counts the other sessions connected to this database as any
// of logins: a restore refuses to run under a live service.
func (s *Store) SessionsOf(ctx context.Context, logins []string) (int, error) {
	var n int
	err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND usename = ANY ($1)`, logins).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("look for sessions of %v: %w", logins, err)
	}
	return n, nil
}

// ExtensionCreate creates an extension a backup needs, if missing. A
// restore does it before pg_restore, as its own statement, so that an
// extension a superuser created (and the owner may not comment on or
// drop) is left alone.
func (s *Store) ExtensionCreate(ctx context.Context, name string) error {
	if _, err := s.Pool.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS `+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create extension %s (a superuser may have to, once: CREATE EXTENSION %s): %w", name, name, err)
	}
	return nil
}
