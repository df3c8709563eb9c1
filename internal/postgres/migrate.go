package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"

	"github.com/golang-migrate/migrate/v4"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"secondment/migrations"
)

// SchemaStatus is where the database's schema stands against the binary's.
type SchemaStatus struct {
	Current uint // 0 when no migration has run
	Latest  uint
	Dirty   bool
	// OldestBinary is the lowest Latest a binary may have to run on this
	// schema (migration 41's schema_compat); 0 when not recorded.
	OldestBinary uint
}

// Ready reports whether this binary may serve on the schema: its own
// version, or a newer one whose migrations all kept binaries of this
// version working (a rollback to the previous release).
func (s SchemaStatus) Ready() bool {
	return !s.Dirty && s.Current == s.Latest || s.Newer()
}

// Newer reports whether the schema is ahead of this binary and declares
// it still works with it. A newer migration still running is dirty
// (golang-migrate marks it so until it ends): the previous release keeps
// serving through it unless the schema already declares it incompatible.
func (s SchemaStatus) Newer() bool {
	return s.Current > s.Latest && s.OldestBinary != 0 && s.OldestBinary <= s.Latest
}

// ErrSchemaAhead is a schema newer than the binary that does not declare
// the binary compatible: a release's migration dropped or changed what
// this binary reads.
var ErrSchemaAhead = errors.New("the database schema is newer than this binary and not compatible with it")

var fileRE = regexp.MustCompile(`^(\d+)_(.+)\.(up|down)\.sql$`)

// compatFrom is the first migration that must say what it does to older
// binaries (migration 41 brought schema_compat).
const compatFrom = 42

// breaking finds what may stop an older binary reading or writing after a
// migration: a dropped table, column, view, function, type or schema
// ("DROP COLUMN" or the bare "ALTER TABLE t DROP c"), a rename, a retyped
// column, a new NOT NULL or a constraint the old code may not satisfy. It
// is a hint: a migration declares itself either way.
var breaking = regexp.MustCompile(`(?is)\bDROP\s+(TABLE|COLUMN|VIEW|FUNCTION|TYPE|SCHEMA)\b` +
	`|\bALTER\s+TABLE\s+(IF\s+EXISTS\s+)?(ONLY\s+)?\S+\s+DROP\s+\w` +
	`|\bRENAME\b|\bALTER\s+COLUMN\s+\S+\s+(SET\s+DATA\s+)?TYPE\b|\bSET\s+NOT\s+NULL\b` +
	`|\bADD\s+(CONSTRAINT\s+\S+\s+)?(CHECK|UNIQUE|EXCLUDE|FOREIGN\s+KEY)\b`)

var (
	addColumn  = regexp.MustCompile(`(?is)\bADD\s+COLUMN\b`)
	notNull    = regexp.MustCompile(`(?is)\bNOT\s+NULL\b`)
	hasDefault = regexp.MustCompile(`(?is)\bDEFAULT\b`)
)

// looksBreaking reports whether a statement of sql (comments stripped)
// matches breaking, or adds a NOT NULL column without a default, which
// an older binary's inserts would not fill.
func looksBreaking(sql []byte) bool {
	for _, st := range bytes.Split(stripComments(sql), []byte(";")) {
		if breaking.Match(st) || addColumn.Match(st) && notNull.Match(st) && !hasDefault.Match(st) {
			return true
		}
	}
	return false
}

// declares finds a migration raising schema_compat; group 1 is the version.
var declares = regexp.MustCompile(`(?i)UPDATE\s+schema_compat\s+SET\s+oldest_binary\s*=\s*(\d+)`)

// additive is a migration's word that it keeps older binaries working;
// "(reviewed)" after it overrides the breaking hint, for a constraint the
// older code is known to satisfy.
var additive = regexp.MustCompile(`(?im)^--\s*compat:\s*additive(\s*\(reviewed\))?`)

// UndeclaredBreaks lists the up migrations of fsys from compatFrom on that
// do not say what they do to older binaries: each must either raise
// schema_compat's oldest_binary to its own version, or carry a line
// "-- compat: additive" — and one that looks breaking (breaking) must be
// "-- compat: additive (reviewed)" to stay additive. Otherwise the
// previous release could be declared compatible with a schema it cannot
// read.
func UndeclaredBreaks(fsys fs.FS) []string {
	entries, _ := fs.ReadDir(fsys, ".")
	var bad []string
	for _, e := range entries {
		m := fileRE.FindStringSubmatch(e.Name())
		if m == nil || m[3] != "up" {
			continue
		}
		v, _ := strconv.Atoi(m[1])
		if v < compatFrom {
			continue
		}
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			bad = append(bad, e.Name())
			continue
		}
		if d := declares.FindSubmatch(body); d != nil {
			if string(d[1]) != strconv.Itoa(v) {
				bad = append(bad, e.Name())
			}
			continue
		}
		a := additive.FindSubmatch(body)
		if a == nil || (len(a[1]) == 0 && looksBreaking(body)) {
			bad = append(bad, e.Name())
		}
	}
	return bad
}

// stripComments drops SQL line comments, so that the words explaining a
// migration are not taken for its statements.
func stripComments(sql []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(sql, []byte("\n")) {
		if i := bytes.Index(line, []byte("--")); i >= 0 {
			line = line[:i]
		}
		out = append(append(out, line...), '\n')
	}
	return out
}

// MigrationName returns "000001_units_people" for version 1, or the bare
// number when the binary has no such migration.
func MigrationName(version uint) string { return migrationName(migrations.FS, version) }

func migrationName(fsys fs.FS, version uint) string {
	entries, _ := fs.ReadDir(fsys, ".")
	for _, e := range entries {
		if m := fileRE.FindStringSubmatch(e.Name()); m != nil {
			if v, _ := strconv.ParseUint(m[1], 10, 64); uint(v) == version {
				return m[1] + "_" + m[2]
			}
		}
	}
	return strconv.FormatUint(uint64(version), 10)
}

// LatestMigration is the highest version embedded in the binary.
func LatestMigration() uint { return latestMigration(migrations.FS) }

func latestMigration(fsys fs.FS) uint {
	var latest uint
	entries, _ := fs.ReadDir(fsys, ".")
	for _, e := range entries {
		if m := fileRE.FindStringSubmatch(e.Name()); m != nil {
			v, _ := strconv.ParseUint(m[1], 10, 64)
			latest = max(latest, uint(v))
		}
	}
	return latest
}

// Migrator applies the embedded migrations. golang-migrate's pgx driver
// takes a PostgreSQL advisory lock, so replicas starting together migrate
// one at a time.
type Migrator struct {
	m    *migrate.Migrate
	fsys fs.FS
}

// NewMigrator opens a migrator of the embedded migrations on the pool's
// database.
func NewMigrator(pool *pgxpool.Pool) (*Migrator, error) { return NewMigratorFS(pool, migrations.FS) }

// NewMigratorFS opens a migrator of the migrations in fsys (tests use it to
// run a migration that fails).
func NewMigratorFS(pool *pgxpool.Pool, fsys fs.FS) (*Migrator, error) {
	src, err := iofs.New(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	drv, err := pgxmigrate.WithInstance(stdlib.OpenDBFromPool(pool), &pgxmigrate.Config{})
	if err != nil {
		return nil, fmt.Errorf("open migration driver: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		return nil, fmt.Errorf("open migrator: %w", err)
	}
	return &Migrator{m: m, fsys: fsys}, nil
}

// Close releases the migrator's connection.
func (g *Migrator) Close() error {
	serr, derr := g.m.Close()
	return errors.Join(serr, derr)
}

// Status reads the applied version.
func (g *Migrator) Status() (SchemaStatus, error) {
	v, dirty, err := g.m.Version()
	if err != nil && !errors.Is(err, migrate.ErrNilVersion) {
		return SchemaStatus{}, fmt.Errorf("read schema version: %w", err)
	}
	return SchemaStatus{Current: v, Latest: latestMigration(g.fsys), Dirty: dirty}, nil
}

// dirtyError is the message for a schema a failed migration left behind.
func (g *Migrator) dirtyError(v uint) error {
	return fmt.Errorf("the database schema is dirty: migration %s failed part-way; "+
		"repair the database by hand, then run `secondment migrate force %d` (the last version that is complete)",
		migrationName(g.fsys, v), int(v)-1)
}

// Up applies every pending migration. A dirty schema, or a migration that
// fails, stops with the migration's name.
func (g *Migrator) Up() error {
	st, err := g.Status()
	if err != nil {
		return err
	}
	if st.Dirty {
		return g.dirtyError(st.Current)
	}
	if st.Current > st.Latest {
		return fmt.Errorf("the database schema is at version %d, newer than this binary's %s; run a newer release",
			st.Current, migrationName(g.fsys, st.Latest))
	}
	if err := g.m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		if after, serr := g.Status(); serr == nil && after.Dirty {
			return fmt.Errorf("migration %s failed: %w", migrationName(g.fsys, after.Current), err)
		}
		return fmt.Errorf("migrate up: %w", err)
	}
	return nil
}

// Down reverts the n most recent migrations.
func (g *Migrator) Down(n int) error {
	if n < 1 {
		return errors.New("migrate down needs a positive number of steps")
	}
	st, err := g.Status()
	if err != nil {
		return err
	}
	if st.Dirty {
		return g.dirtyError(st.Current)
	}
	if err := g.m.Steps(-n); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate down %d: %w", n, err)
	}
	return nil
}

// Force records version v as applied and clean, after a manual repair.
func (g *Migrator) Force(v int) error {
	if err := g.m.Force(v); err != nil {
		return fmt.Errorf("force version %d: %w", v, err)
	}
	return nil
}

// Migrate applies every pending migration on the pool's database.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	// A schema ahead of the binary (a rollback to the previous release)
	// is left alone when it says this binary still works on it.
	st, err := schemaStatus(ctx, pool)
	if err != nil {
		return err
	}
	if st.Current > st.Latest {
		if st.Newer() {
			return nil
		}
		return fmt.Errorf("schema at %d, binary at %s, compatible from %d: %w", st.Current, MigrationName(st.Latest),
			st.OldestBinary, ErrSchemaAhead)
	}
	g, err := NewMigrator(pool)
	if err != nil {
		return err
	}
	defer g.Close()
	return g.Up()
}

// Schema reads the schema status with one query, cheap enough for /readyz.
func (s *Store) Schema(ctx context.Context) (SchemaStatus, error) {
	return schemaStatus(ctx, s.Pool)
}

func schemaStatus(ctx context.Context, pool *pgxpool.Pool) (SchemaStatus, error) {
	st := SchemaStatus{Latest: LatestMigration()}
	var v int64
	err := pool.QueryRow(ctx, "SELECT version, dirty FROM schema_migrations LIMIT 1").Scan(&v, &st.Dirty)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42P01" { // no table: nothing migrated yet
			return st, nil
		}
		if errors.Is(err, pgx.ErrNoRows) {
			return st, nil
		}
		return st, fmt.Errorf("read schema version: %w", err)
	}
	st.Current = uint(v)
	// Only a schema ahead of the binary needs to say whom it still
	// serves (migration 41 on); /readyz reads one row otherwise.
	if st.Current > st.Latest {
		var oldest int64
		if err := pool.QueryRow(ctx, "SELECT oldest_binary FROM schema_compat").Scan(&oldest); err != nil {
			return st, fmt.Errorf("read schema compatibility: %w", err)
		}
		st.OldestBinary = uint(oldest)
	}
	return st, nil
}
