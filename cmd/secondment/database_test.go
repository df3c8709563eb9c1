package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"secondment/internal/config"
	"secondment/internal/dbtest"
	"secondment/internal/pgcluster"
	"secondment/internal/postgres"
)

// The embedded cluster serves as the restricted application role and
// migrates as the owner; a data directory an earlier version filled as the
// superuser is handed to the owner, so its tables are no longer the
// service login's to alter.
func TestEmbeddedServesAsTheApplicationRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, err := dbtest.ClusterDir("roles-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// As an earlier version did: the superuser creates a table of its own.
	cl, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Database: "secondment", Settings: dbtest.FastSettings})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, cl.URL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE legacy (id int)`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if err := cl.Stop(); err != nil {
		t.Fatal(err)
	}

	cfg := config.Config{DataDir: dir}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := openDatabase(ctx, cfg, log, true, true)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if db.owner != nil {
		t.Fatal("the owner's pool is still open after migrating")
	}
	l, err := postgres.WhoAmI(ctx, db.store.Pool)
	if err != nil || l.Name != postgres.EmbeddedApp || l.Powerful() {
		t.Fatalf("the service's login: %+v, %v", l, err)
	}
	var owner string
	if err := db.store.Pool.QueryRow(ctx, `SELECT tableowner FROM pg_tables WHERE tablename = 'legacy'`).Scan(&owner); err != nil || owner != postgres.EmbeddedOwner {
		t.Fatalf("the legacy table's owner: %q, %v", owner, err)
	}
	// The service's login works the business tables but not the trail.
	if _, err := db.store.Pool.Exec(ctx, `INSERT INTO audit_event (at, actor_name, action, object_type) VALUES (now(), 't', 't.t', 'x')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.store.Pool.Exec(ctx, `DELETE FROM audit_event`); err == nil {
		t.Fatal("the service's login deleted audit events")
	}
}
