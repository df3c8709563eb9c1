package postgres_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"secondment/internal/dbtest"
	"secondment/internal/postgres"
	"secondment/migrations"
)

func tables(t *testing.T, s *postgres.Store) map[string]bool {
	t.Helper()
	rows, err := s.Pool.Query(context.Background(),
		`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		got[n] = true
	}
	return got
}

func TestMigrationsUpDownUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &postgres.Store{Pool: dbtest.Pool(t, dbtest.EmptyURL(t))}
	m, err := postgres.NewMigrator(s.Pool)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	st, err := s.Schema(ctx)
	if err != nil || st.Current != 0 || st.Ready() {
		t.Fatalf("fresh database: status %+v, err %v; want version 0, not ready", st, err)
	}
	if err := m.Up(); err != nil {
		t.Fatalf("up: %v", err)
	}
	if got := tables(t, s); !got["unit"] || !got["person"] {
		t.Fatalf("after up, tables = %v; want unit and person", got)
	}
	if st, _ := s.Schema(ctx); !st.Ready() || st.Current != postgres.LatestMigration() {
		t.Fatalf("after up: %+v, want ready at %d", st, postgres.LatestMigration())
	}
	if err := m.Up(); err != nil {
		t.Fatalf("second up must be a no-op: %v", err)
	}
	if err := m.Down(int(postgres.LatestMigration())); err != nil {
		t.Fatalf("down: %v", err)
	}
	if got := tables(t, s); got["unit"] || got["person"] {
		t.Fatalf("after down, tables = %v; want none of ours", got)
	}
	if err := m.Up(); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if got := tables(t, s); !got["unit"] || !got["person"] {
		t.Fatalf("after up again, tables = %v", got)
	}
}

// Every migration must have its down file.
func TestEveryMigrationHasDown(t *testing.T) {
	entries, err := migrations.FS.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	n := 0
	for name := range names {
		if up, ok := strings.CutSuffix(name, ".up.sql"); ok {
			n++
			if !names[up+".down.sql"] {
				t.Errorf("%s has no %s.down.sql", name, up)
			}
		}
	}
	if n == 0 {
		t.Fatal("no migrations embedded")
	}
}

func TestDirtySchemaStopsWithName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, owner := dbtest.URLs(t) // migrated; the migrations' record is the owner's
	s := &postgres.Store{Pool: dbtest.Pool(t, owner)}
	if _, err := s.Pool.Exec(ctx, `UPDATE schema_migrations SET dirty = true`); err != nil {
		t.Fatal(err)
	}
	err := postgres.Migrate(ctx, s.Pool)
	name := postgres.MigrationName(postgres.LatestMigration())
	if err == nil || !strings.Contains(err.Error(), "dirty") || !strings.Contains(err.Error(), name) {
		t.Fatalf("Migrate on a dirty schema = %v; want an error naming %s", err, name)
	}
	if st, _ := s.Schema(ctx); st.Ready() {
		t.Fatal("a dirty schema must not be ready")
	}
}

func TestFailedMigrationNamesIt(t *testing.T) {
	t.Parallel()
	s := &postgres.Store{Pool: dbtest.Pool(t, dbtest.EmptyURL(t))}
	fsys := fstest.MapFS{
		"000001_ok.up.sql":       {Data: []byte(`CREATE TABLE ok (id int);`)},
		"000001_ok.down.sql":     {Data: []byte(`DROP TABLE ok;`)},
		"000002_broken.up.sql":   {Data: []byte(`CREATE TABLE broken (id int); SELECT no_such_column FROM ok;`)},
		"000002_broken.down.sql": {Data: []byte(`DROP TABLE broken;`)},
	}
	m, err := postgres.NewMigratorFS(s.Pool, fsys)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	err = m.Up()
	if err == nil || !strings.Contains(err.Error(), "000002_broken") {
		t.Fatalf("Up = %v; want an error naming 000002_broken", err)
	}
	// The next start must refuse too, naming the same migration.
	if err := m.Up(); err == nil || !strings.Contains(err.Error(), "000002_broken") || !strings.Contains(err.Error(), "force 1") {
		t.Fatalf("second Up = %v; want the dirty-schema error naming 000002_broken and force 1", err)
	}
}

// A rollback: the next release's migration ran, and this binary serves on
// while the schema says it still works with it. Migrate leaves such a
// schema alone, and refuses one that no longer serves this binary.
func TestSchemaAheadOfTheBinary(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, owner := dbtest.URLs(t)
	s := &postgres.Store{Pool: dbtest.Pool(t, owner)}
	latest := postgres.LatestMigration()
	if _, err := s.Pool.Exec(ctx, `UPDATE schema_migrations SET version = $1`, latest+1); err != nil {
		t.Fatal(err)
	}
	st, err := s.Schema(ctx)
	if err != nil || !st.Ready() || !st.Newer() || st.OldestBinary != 41 {
		t.Fatalf("a compatible newer schema: %+v, %v", st, err)
	}
	if err := postgres.Migrate(ctx, s.Pool); err != nil {
		t.Fatalf("Migrate on a compatible newer schema: %v", err)
	}
	if st, _ := s.Schema(ctx); st.Current != latest+1 {
		t.Fatalf("Migrate stepped the schema to %d", st.Current)
	}
	// While the newer release's migration runs (dirty), this binary
	// serves on.
	if _, err := s.Pool.Exec(ctx, `UPDATE schema_migrations SET dirty = true`); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Schema(ctx); !st.Ready() {
		t.Fatalf("a newer migration under way stopped this binary: %+v", st)
	}
	if _, err := s.Pool.Exec(ctx, `UPDATE schema_compat SET oldest_binary = $1`, latest+1); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Schema(ctx); st.Ready() {
		t.Fatalf("an incompatible newer schema is ready: %+v", st)
	}
	if err := postgres.Migrate(ctx, s.Pool); !errors.Is(err, postgres.ErrSchemaAhead) {
		t.Fatalf("Migrate on an incompatible newer schema = %v; want ErrSchemaAhead", err)
	}
}

// Every migration from 42 on says what it does to older binaries: it
// raises schema_compat to its own version, or calls itself additive, and
// one that looks breaking stays additive only once reviewed. Otherwise
// the previous release could be declared compatible with a schema it
// cannot read.
func TestMigrationsDeclareWhatTheyBreak(t *testing.T) {
	t.Parallel()
	if bad := postgres.UndeclaredBreaks(migrations.FS); len(bad) > 0 {
		t.Fatalf("migrations that do not declare what they do to older binaries: %v", bad)
	}
	fsys := fstest.MapFS{
		"000041_before.up.sql":      {Data: []byte("DROP TABLE before_the_rule;")},
		"000050_silent.up.sql":      {Data: []byte("CREATE INDEX x ON person (name);")},
		"000051_ok.up.sql":          {Data: []byte("-- compat: additive\nALTER TABLE person ADD COLUMN x text NOT NULL DEFAULT '';")},
		"000052_rename.up.sql":      {Data: []byte("ALTER TABLE person RENAME COLUMN a TO b;\nUPDATE schema_compat SET oldest_binary = 52;")},
		"000053_other.up.sql":       {Data: []byte("ALTER TABLE person ALTER COLUMN a TYPE bigint;\nUPDATE schema_compat SET oldest_binary = 50;")},
		"000054_bare_drop.up.sql":   {Data: []byte("-- compat: additive\nALTER TABLE person DROP rank;")},
		"000055_not_null.up.sql":    {Data: []byte("-- compat: additive\nALTER TABLE person ADD COLUMN y int NOT NULL;")},
		"000056_check.up.sql":       {Data: []byte("-- compat: additive\nALTER TABLE person ADD CONSTRAINT c CHECK (y > 0);")},
		"000057_reviewed.up.sql":    {Data: []byte("-- compat: additive (reviewed)\nALTER TABLE person ADD CONSTRAINT c CHECK (y > 0);")},
		"000058_comment.up.sql":     {Data: []byte("-- compat: additive\n-- we do not DROP TABLE anything here\nCREATE TABLE z (id int);")},
		"000059_drop_type.up.sql":   {Data: []byte("-- compat: additive\nDROP TYPE mood;")},
		"000060_set_notnull.up.sql": {Data: []byte("-- compat: additive\nALTER TABLE person ALTER COLUMN y SET NOT NULL;")},
	}
	want := []string{"000050_silent.up.sql", "000053_other.up.sql", "000054_bare_drop.up.sql", "000055_not_null.up.sql",
		"000056_check.up.sql", "000059_drop_type.up.sql", "000060_set_notnull.up.sql"}
	if got := postgres.UndeclaredBreaks(fsys); !slices.Equal(got, want) {
		t.Fatalf("UndeclaredBreaks = %v\nwant %v", got, want)
	}
}
