package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"secondment/internal/dbtest"
	"secondment/internal/demo"
	"secondment/internal/postgres"
	sm "secondment/internal/secondment"
)

// smWorld is a fresh database with the demo units, people and policies.
type smWorld struct {
	t     *testing.T
	ctx   context.Context
	s     *postgres.Store
	units map[string]int64 // by code
}

// newSMWorld sets up a world whose pool holds up to conns connections (0:
// pgxpool's default), so that concurrency tests run on separate
// connections.
func newSMWorld(t *testing.T, conns int32) smWorld {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	if conns > 0 {
		cfg.MaxConns = conns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	w := smWorld{t: t, ctx: ctx, s: &postgres.Store{Pool: pool}, units: map[string]int64{}}
	if _, err := demo.Load(ctx, w.s); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT code, id FROM unit`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var code string
		var id int64
		if err := rows.Scan(&code, &id); err != nil {
			t.Fatal(err)
		}
		w.units[code] = id
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w smWorld) unit(code string) int64 {
	w.t.Helper()
	id, ok := w.units[code]
	if !ok {
		w.t.Fatalf("no unit %s", code)
	}
	return id
}

func (w smWorld) count(sql string, args ...any) int {
	w.t.Helper()
	var n int
	if err := w.s.Pool.QueryRow(w.ctx, sql, args...).Scan(&n); err != nil {
		w.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// smAt is 10:00 in Shanghai on day d.
func smAt(d sm.Date) time.Time { return d.Start().Add(10 * time.Hour) }

// manyConns serialises the tests that open many connections at once, so
// that together they stay within the test server's max_connections (100).
// Call it before newSMWorld: the pool closes before the lock is released.
var manyConns sync.Mutex

func holdManyConns(t *testing.T) {
	manyConns.Lock()
	t.Cleanup(manyConns.Unlock)
}

// warm opens n connections of the pool at once, so that the goroutines of a
// race do not queue behind connection set-up.
func warm(t *testing.T, w smWorld, n int) {
	t.Helper()
	var conns []*pgxpool.Conn
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	for range n {
		c, err := w.s.Pool.Acquire(w.ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
}

func ExampleFormatNumber() {
	fmt.Println(postgres.FormatNumber(2024, 1))
	// Output: 借调〔2024〕0001
}
