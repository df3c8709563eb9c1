package metrics

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// WatchOptions choose what WatchDatabase reads at each scrape.
type WatchOptions struct {
	// Outbox: the notifications not yet delivered through the channel.
	// Only with a channel (--notify-webhook): without one nothing is ever
	// delivered, and the count would only grow.
	Outbox bool
	// Timeout bounds the scrape's queries (default 2 s): a slow database
	// must not hold the scraper, and the other series are served anyway.
	Timeout time.Duration
}

// WatchDatabase adds what is read at each scrape: the connection pool's
// statistics (from memory) and, with one short query batch, the job
// queue's depth by kind and state, when the last sweep finished and, with
// o.Outbox, the notifications waiting for delivery. The figures from the
// database are those of the whole service, whichever replica is scraped.
func (m *Metrics) WatchDatabase(pool *pgxpool.Pool, o WatchOptions) error {
	if m == nil || pool == nil {
		return nil
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if err := m.reg.Register(poolCollector{pool}); err != nil {
		return fmt.Errorf("register the pool's metrics: %w", err)
	}
	if err := m.reg.Register(&dbCollector{pool: pool, o: o, kinds: map[string]bool{}}); err != nil {
		return fmt.Errorf("register the database's metrics: %w", err)
	}
	return nil
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
}

// poolCollector reports pgxpool.Stat.
type poolCollector struct{ pool *pgxpool.Pool }

var (
	poolAcquired  = desc("db_pool_acquired_connections", "Connections in use.")
	poolIdle      = desc("db_pool_idle_connections", "Connections open and idle.")
	poolTotal     = desc("db_pool_total_connections", "Connections open (in use, idle and being opened).")
	poolMax       = desc("db_pool_max_connections", "The most connections the pool opens (--db-max-conns).")
	poolAcquires  = desc("db_pool_acquires_total", "Connections handed out by the pool.")
	poolAcqTime   = desc("db_pool_acquire_duration_seconds_total", "Time spent acquiring connections, waits included.")
	poolEmpty     = desc("db_pool_empty_acquires_total", "Acquires that found no idle connection and had to wait or open one.")
	poolEmptyWait = desc("db_pool_empty_acquire_wait_seconds_total", "Time spent waiting by the acquires that found no idle connection.")
	poolCanceled  = desc("db_pool_canceled_acquires_total", "Acquires given up (the request's deadline passed while waiting).")
)

func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolAcquired, poolIdle, poolTotal, poolMax, poolAcquires, poolAcqTime,
		poolEmpty, poolEmptyWait, poolCanceled} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(poolAcquired, float64(s.AcquiredConns()))
	gauge(poolIdle, float64(s.IdleConns()))
	gauge(poolTotal, float64(s.TotalConns()))
	gauge(poolMax, float64(s.MaxConns()))
	counter(poolAcquires, float64(s.AcquireCount()))
	counter(poolAcqTime, s.AcquireDuration().Seconds())
	counter(poolEmpty, float64(s.EmptyAcquireCount()))
	counter(poolEmptyWait, s.EmptyAcquireWaitTime().Seconds())
	counter(poolCanceled, float64(s.CanceledAcquireCount()))
}

// dbCollector reads the queue, the sweeps and the outbox at each scrape.
type dbCollector struct {
	pool *pgxpool.Pool
	o    WatchOptions

	mu    sync.Mutex
	kinds map[string]bool // the job kinds seen so far, reported at 0 once gone
}

// jobStates are River's job states but completed: the jobs still in the
// queue, and those it gave up on (discarded) or that were cancelled, which
// River keeps for a week.
var jobStates = []string{"available", "pending", "scheduled", "running", "retryable", "discarded", "cancelled"}

var (
	dbUp       = desc("database_up", "1 when the scrape's queries answered within their timeout, else 0 (and the series below are missing).")
	queueJobs  = desc("job_queue_jobs", "Jobs in River's queue by kind and state (completed ones are not counted).", "kind", "state")
	sweepLast  = desc("sweep_last_finished_timestamp_seconds", "When the last sweep that finished ended (Unix time), by any replica.")
	outboxLen  = desc("notification_outbox_undelivered", "Notifications not yet delivered through the channel.")
	outboxWait = desc("notification_outbox_oldest_undelivered_seconds", "Age of the oldest notification not yet delivered (0: none).")
)

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- dbUp
	ch <- queueJobs
	ch <- sweepLast
	if c.o.Outbox {
		ch <- outboxLen
		ch <- outboxWait
	}
}

// scrape is what one batch reads.
type scrape struct {
	jobs          map[[2]string]float64
	sweptAt       *time.Time
	pending       int64
	oldestSeconds float64
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.o.Timeout)
	defer cancel()
	s, err := c.read(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(dbUp, prometheus.GaugeValue, 0)
		ch <- prometheus.NewInvalidMetric(queueJobs, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(dbUp, prometheus.GaugeValue, 1)
	c.mu.Lock()
	for k := range s.jobs {
		c.kinds[k[0]] = true
	}
	kinds := make([]string, 0, len(c.kinds))
	for k := range c.kinds {
		kinds = append(kinds, k)
	}
	c.mu.Unlock()
	slices.Sort(kinds)
	for _, k := range kinds {
		for _, st := range jobStates {
			ch <- prometheus.MustNewConstMetric(queueJobs, prometheus.GaugeValue, s.jobs[[2]string{k, st}], k, st)
		}
	}
	if s.sweptAt != nil {
		ch <- prometheus.MustNewConstMetric(sweepLast, prometheus.GaugeValue, float64(s.sweptAt.UnixNano())/1e9)
	}
	if c.o.Outbox {
		ch <- prometheus.MustNewConstMetric(outboxLen, prometheus.GaugeValue, float64(s.pending))
		ch <- prometheus.MustNewConstMetric(outboxWait, prometheus.GaugeValue, s.oldestSeconds)
	}
}

// read runs the scrape's queries in one round trip. Each is served by an
// index: River's on (state, …), sweep_run's on started_at, and the
// outbox's partial one on the undelivered rows.
func (c *dbCollector) read(ctx context.Context) (scrape, error) {
	s := scrape{jobs: map[[2]string]float64{}}
	b := &pgx.Batch{}
	b.Queue(`SELECT kind, state::text, count(*) FROM river_job WHERE state <> 'completed' GROUP BY kind, state`).
		Query(func(rows pgx.Rows) error {
			var kind, state string
			var n int64
			_, err := pgx.ForEachRow(rows, []any{&kind, &state, &n}, func() error {
				s.jobs[[2]string{kind, state}] = float64(n)
				return nil
			})
			return err
		})
	b.Queue(`SELECT finished_at FROM sweep_run WHERE finished_at IS NOT NULL ORDER BY started_at DESC LIMIT 1`).
		QueryRow(func(row pgx.Row) error {
			err := row.Scan(&s.sweptAt)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			return err
		})
	if c.o.Outbox {
		b.Queue(`SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8
			FROM notification_outbox WHERE delivered_at IS NULL`).
			QueryRow(func(row pgx.Row) error { return row.Scan(&s.pending, &s.oldestSeconds) })
	}
	if err := c.pool.SendBatch(ctx, b).Close(); err != nil {
		return s, fmt.Errorf("read the queue and sweeps for the metrics: %w", err)
	}
	s.oldestSeconds = max(s.oldestSeconds, 0)
	return s, nil
}
