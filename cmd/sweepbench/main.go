// Command sweepbench measures the periodic sweep against a bare batched
// UPDATE of the same rows, in one run on one database:
//
//	go run ./cmd/sweepbench -n 1000000
//
// It seeds n running secondments whose term ended yesterday, expires them
// with plain "UPDATE … SET state = 'expired'" in batches (the baseline),
// puts them back, then runs the real sweep, which also writes an audit
// event and the notifications of every change. It prints both times, their
// ratio and the longest time any batch held its row locks. With no
// database URL it runs a private PostgreSQL cluster (fsync on, defaults)
// in a temporary directory.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"secondment/internal/demo"
	"secondment/internal/pgcluster"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sweepbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	n := flag.Int("n", 100_000, "due secondments to seed")
	batch := flag.Int("batch", 5000, "rows per transaction, for the baseline and the sweep")
	explain := flag.Bool("explain", false, "print the plan of one sweep batch's query before running")
	dbURL := flag.String("database-url", os.Getenv("SECONDMENT_DATABASE_URL"), "PostgreSQL URL; empty: a private cluster")
	// The private cluster's settings: a sweep of a million rows rewrites
	// gigabytes, so the defaults' 1 GB of WAL between checkpoints would
	// checkpoint several times in one run, and after each checkpoint the
	// first change to every page logs the whole page; compressing those
	// images and a larger WAL buffer keep one batch from waiting on them
	// (docs/terms.md, runs H-J). --set adds or overrides one.
	settings := map[string]string{"shared_buffers": "512MB", "max_wal_size": "4GB",
		"wal_compression": "lz4", "wal_buffers": "64MB"}
	flag.Func("set", "server setting for the private cluster, name=value (repeatable)", func(v string) error {
		name, value, ok := strings.Cut(v, "=")
		if !ok || name == "" {
			return fmt.Errorf("want name=value, got %q", v)
		}
		settings[name] = value
		return nil
	})
	flag.Parse()

	url := *dbURL
	if url == "" {
		dir, err := os.MkdirTemp("", "sweepbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if err := os.Chmod(dir, 0o711); err != nil {
			return err
		}
		cl, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(dir, "pg"),
			Settings: settings})
		if err != nil {
			return err
		}
		defer cl.Stop()
		url = cl.URL()
	}
	store, err := postgres.Open(ctx, url, postgres.ConnectOptions{})
	if err != nil {
		return err
	}
	defer store.Close()
	if err := postgres.Migrate(ctx, store.Pool); err != nil {
		return err
	}
	if _, err := demo.Load(ctx, store); err != nil {
		return err
	}
	fmt.Printf("seeding %d due secondments…\n", *n)
	t0 := time.Now()
	if err := seed(ctx, store.Pool, *n); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Printf("seeded in %s\n", time.Since(t0).Round(time.Millisecond))

	if *explain {
		plan, err := postgres.SweepExplain(ctx, store, secondment.D(2024, 6, 1), *batch)
		if err != nil {
			return err
		}
		fmt.Println(plan)
	}
	base, baseLock, err := baseline(ctx, store.Pool, *batch)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	if _, err := store.Pool.Exec(ctx, `UPDATE secondment SET state = 'active' WHERE state = 'expired'`); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	if _, err := store.Pool.Exec(ctx, `VACUUM ANALYZE secondment`); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}

	today := secondment.D(2024, 6, 1)
	t1 := time.Now()
	res, err := store.Sweep(ctx, today, today.Start().Add(time.Hour), postgres.SweepOptions{BatchSize: *batch, ReminderDays: []int{}})
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	sweep := time.Since(t1)
	var events, notes int
	_ = store.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_event WHERE action = 'secondment.expire'`).Scan(&events)
	_ = store.Pool.QueryRow(ctx, `SELECT count(*) FROM notification_outbox WHERE message_id = 'notify.digest.expired'`).Scan(&notes)
	if res.Expired != *n || events != *n {
		return fmt.Errorf("the sweep expired %d with %d audit events, want %d", res.Expired, events, *n)
	}
	fmt.Printf("baseline batched UPDATE: %s (longest batch %s)\n", base.Round(time.Millisecond), baseLock.Round(time.Millisecond))
	fmt.Printf("sweep: %s for %d expired, %d audit events, %d notifications (longest batch %s, number %d; %d of %d batches over 0.5 s)\n",
		sweep.Round(time.Millisecond), res.Expired, events, notes, res.LongestBatch.Round(time.Millisecond), res.SlowestBatch,
		res.SlowBatches, res.Batches)
	fmt.Printf("ratio sweep/baseline: %.2f\n", float64(sweep)/float64(base))
	return nil
}

// seed makes n secondments of one person pool, each active with a proper
// sign-off, whose term ended on 31 May 2024. Straight SQL: the sweep, not
// the seeding, is measured.
func seed(ctx context.Context, pool *pgxpool.Pool, n int) error {
	var jur, od, borrower, lender, policy int64
	q := func(sql string, dst *int64) error { return pool.QueryRow(ctx, sql).Scan(dst) }
	for _, x := range []struct {
		sql string
		dst *int64
	}{
		{`SELECT id FROM unit WHERE code = 'XJ-KS'`, &jur},
		{`SELECT id FROM unit WHERE code = 'XJ-KS-ZZB'`, &od},
		{`SELECT id FROM unit WHERE code = 'XJ-KS-JW'`, &borrower},
		{`SELECT id FROM unit WHERE code = 'XJ-KS-AKKS'`, &lender},
		{`SELECT id FROM policy WHERE jurisdiction_id = (SELECT id FROM unit WHERE code = 'XJ-KS') ORDER BY version DESC LIMIT 1`, &policy},
	} {
		if err := q(x.sql, x.dst); err != nil {
			return err
		}
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	exec := func(sql string, args ...any) error {
		_, err := tx.Exec(ctx, sql, args...)
		return err
	}
	if err := exec(`INSERT INTO person (code, name, home_unit_id)
		SELECT 'BENCH-' || g, '测试' || g, $1 FROM generate_series(1, $2) g`, lender, n); err != nil {
		return fmt.Errorf("people: %w", err)
	}
	if err := exec(`INSERT INTO secondment (number, state, kind, purpose, task, person_id, borrower_id, lender_id,
		    start_date, end_date, jurisdiction_id, org_dept_id, policy_id, submitted_on)
		SELECT 'B' || p.id, 'awaiting_signoff', 'secondment', 'key_task', '基准测试', p.id, $1, $2,
		    '2024-03-01', '2024-05-31', $3, $4, $5, '2024-02-10'
		FROM person p WHERE p.code LIKE 'BENCH-%'`, borrower, lender, jur, od, policy); err != nil {
		return fmt.Errorf("requests: %w", err)
	}
	if err := exec(`INSERT INTO decision (secondment_id, step, action, role, actor_name, opinion, at)
		SELECT s.id, 'awaiting_signoff', 'approve', 'orgdept', '冯剑', '同意', '2024-02-20'
		FROM secondment s WHERE s.number LIKE 'B%'`); err != nil {
		return fmt.Errorf("sign-offs: %w", err)
	}
	if err := exec(`UPDATE secondment s SET state = 'active', approved_on = '2024-02-20', started_on = '2024-03-01',
		    signoff_decision_id = d.id
		FROM decision d WHERE d.secondment_id = s.id AND s.number LIKE 'B%'`); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	// No grace is given in the benchmark's policy (the rows only expire):
	// a grace of 30 days keeps the overdue step out of the measurement.
	if _, err := tx.Exec(ctx, `UPDATE policy SET rules = jsonb_set(rules, '{return_grace_days}', '30') WHERE id = $1`, policy); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `VACUUM ANALYZE`)
	return err
}

// baseline expires the same rows with bare batched UPDATEs, keyset-paged
// like the sweep, and reports the total and the longest batch.
func baseline(ctx context.Context, pool *pgxpool.Pool, batch int) (total, longest time.Duration, err error) {
	start := time.Now()
	var after int64
	for {
		t := time.Now()
		var last *int64
		err := pool.QueryRow(ctx, `
			WITH due AS (
				SELECT id FROM secondment WHERE state = 'active' AND end_date < '2024-06-01' AND id > $1
				ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
			, upd AS (UPDATE secondment s SET state = 'expired', version = s.version + 1, updated_at = now()
				FROM due WHERE s.id = due.id RETURNING s.id)
			SELECT max(id) FROM upd`, after, batch).Scan(&last)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return 0, 0, err
		}
		longest = max(longest, time.Since(t))
		if last == nil {
			return time.Since(start), longest, nil
		}
		after = *last
	}
}
