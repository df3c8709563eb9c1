// Package dbtest gives each test its own migrated PostgreSQL database.
//
// It uses TEST_DATABASE_URL when set; otherwise it starts one private
// cluster per test binary with the same launcher as the service
// (internal/pgcluster), on tmpfs with durability off because the data is
// thrown away. Databases are cloned from a migrated template
// (github.com/peterldowns/pgtestdb), so tests run in parallel, each on a
// clean schema, in about 30 ms.
//
// A package using it calls Main from TestMain so the cluster is stopped
// and removed when its tests end.
package dbtest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver pgtestdb uses
	"github.com/peterldowns/pgtestdb"

	"secondment/internal/jobs"
	"secondment/internal/pgcluster"
	"secondment/internal/postgres"
	"secondment/migrations"
)

var (
	once    sync.Once
	cluster *pgcluster.Cluster
	tmpDir  string
	baseCfg pgtestdb.Config
	initErr error
)

// Main runs the package's tests, then stops the cluster if one was started.
func Main(m *testing.M) int {
	code := m.Run()
	if cluster != nil {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "dbtest: stop cluster:", err)
		}
	}
	if tmpDir != "" {
		_ = os.RemoveAll(tmpDir)
	}
	return code
}

// ClusterDir makes a directory for a throwaway cluster: on tmpfs when the
// machine has one, and passable by the postgres user when running as root.
func ClusterDir(prefix string) (string, error) {
	base := "/dev/shm"
	if fi, err := os.Stat(base); err != nil || !fi.IsDir() {
		base = os.TempDir()
	}
	dir, err := os.MkdirTemp(base, prefix)
	if err != nil {
		return "", err
	}
	return dir, os.Chmod(dir, 0o711)
}

// FastSettings trade durability for speed; only for data that is thrown away.
var FastSettings = map[string]string{"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}

func setup() {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		if baseCfg, initErr = configFromURL(u); initErr == nil {
			initErr = createAppRole()
		}
		return
	}
	tmpDir, initErr = ClusterDir("secondment-test-")
	if initErr != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cluster, initErr = pgcluster.Start(ctx, pgcluster.Options{Dir: tmpDir, Settings: FastSettings})
	if initErr != nil {
		initErr = fmt.Errorf("start the test cluster (set TEST_DATABASE_URL to use a server of your own): %w", initErr)
		return
	}
	baseCfg, initErr = configFromURL(cluster.DatabaseURL("postgres"))
	if initErr == nil {
		initErr = createAppRole()
	}
}

// AppRole is the login tests connect as: the service's application role,
// with the grants it has in production (postgres.GrantApp), so a missing
// grant fails a test rather than a deployment. OwnerURL gives the schema
// owner's login for the tests that need it.
const (
	AppRole     = "secondment_app_test"
	appPassword = "secondment-app-test"
)

// createAppRole creates AppRole once per cluster, as the base login (the
// cluster's superuser, or TEST_DATABASE_URL's user, which needs CREATEROLE).
func createAppRole() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, baseCfg.URL())
	if err != nil {
		return fmt.Errorf("dbtest: connect to create the application role: %w", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `DO $$ BEGIN
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '`+AppRole+`') THEN
			CREATE ROLE `+AppRole+` LOGIN PASSWORD '`+appPassword+`' NOSUPERUSER NOCREATEDB NOCREATEROLE;
		END IF; END $$`)
	if err != nil {
		return fmt.Errorf("dbtest: create the application role %s (TEST_DATABASE_URL's login needs CREATEROLE): %w", AppRole, err)
	}
	return nil
}

// configFromURL turns a URL into pgtestdb's host/port form. The socket
// directory travels in the query, which pgx lets override the URL's host.
func configFromURL(raw string) (pgtestdb.Config, error) {
	cc, err := pgx.ParseConfig(raw)
	if err != nil {
		return pgtestdb.Config{}, fmt.Errorf("TEST_DATABASE_URL: %w", err)
	}
	q := url.Values{}
	q.Set("host", cc.Host)
	if cc.TLSConfig == nil {
		q.Set("sslmode", "disable")
	}
	return pgtestdb.Config{DriverName: "pgx", Host: "localhost", Port: strconv.Itoa(int(cc.Port)),
		User: cc.User, Password: cc.Password, Database: cc.Database, Options: q.Encode()}, nil
}

func base(t testing.TB) pgtestdb.Config {
	t.Helper()
	once.Do(setup)
	if initErr != nil {
		t.Fatal(initErr)
	}
	return baseCfg
}

// URL returns the URL of a fresh database migrated to the latest schema,
// for the application role.
func URL(t testing.TB) string {
	t.Helper()
	app, _ := URLs(t)
	return app
}

// URLs returns the URLs of a fresh migrated database for the application
// role and for the schema's owner.
func URLs(t testing.TB) (app, owner string) {
	t.Helper()
	c := *pgtestdb.Custom(t, base(t), migrator{})
	owner = c.URL()
	c.User, c.Password = AppRole, appPassword
	return c.URL(), owner
}

// EmptyURL returns the URL of a fresh database with no schema at all, for
// tests of the migrations themselves.
func EmptyURL(t testing.TB) string {
	t.Helper()
	return pgtestdb.Custom(t, base(t), pgtestdb.NoopMigrator{}).URL()
}

// Pool opens a pool on url, closed when the test ends.
func Pool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Store returns a store on a fresh migrated database.
func Store(t testing.TB) *postgres.Store {
	t.Helper()
	return &postgres.Store{Pool: Pool(t, URL(t))}
}

// migrator applies the embedded migrations to the template database. Its
// hash covers every migration file, so a changed migration makes a new
// template.
type migrator struct{}

func (migrator) Hash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return nil
	})
	// River's tables come from its own migrator; its version is part of
	// the template's identity.
	fmt.Fprint(h, "river v0.51.2", "grants to "+AppRole)
	return hex.EncodeToString(h.Sum(nil))[:16], err
}

func (migrator) Migrate(ctx context.Context, _ *sql.DB, c pgtestdb.Config) error {
	pool, err := pgxpool.New(ctx, c.URL())
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := postgres.Migrate(ctx, pool); err != nil {
		return err
	}
	if err := jobs.Migrate(ctx, pool); err != nil {
		return err
	}
	return postgres.GrantApp(ctx, pool, AppRole)
}

// SuperURL is url with the cluster's superuser as the login, for tests
// that play an attacker holding it (the service never connects so).
func SuperURL(t testing.TB, raw string) string {
	t.Helper()
	b := base(t)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(b.User, b.Password)
	return u.String()
}
