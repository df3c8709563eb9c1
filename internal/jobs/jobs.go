// Package jobs is the background work of the service on River, a job queue
// in PostgreSQL: any number of replicas run workers, the leader alone
// schedules the periodic sweep, and each job runs once. There is no
// in-process timer that two replicas would both fire.
package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"secondment/internal/metrics"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// Migrate creates or upgrades River's own tables (river_job, river_leader,
// …) with River's migrator. They live beside the service's schema, which
// golang-migrate keeps in schema_migrations; River records its own version
// in river_migration.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	return nil
}

// Config tunes the background work.
type Config struct {
	SweepInterval time.Duration // how often the periodic sweep runs (default 5 min)
	Workers       int           // jobs this replica runs at once (default 2)
	EscalateAfter int           // working days before a waiting step is flagged; 0: never
	ReminderDays  []int         // days before the end to remind; nil: secondment.DefaultReminderDays
	Channel       Channel       // where notifications go beyond the inbox; nil: nowhere
	DeliverEvery  time.Duration // how often due notifications are sent (default 1 min)
	Clock         secondment.Clock
	Logger        *slog.Logger
	// KeepRead is how long a read and delivered notification is kept
	// before the prune job deletes it (default 180 days).
	KeepRead time.Duration
	// RescueAfter is how long a job may stay "running" before River takes
	// it for dead (its worker killed) and runs it again (default
	// RescueAfter, the package constant). It must exceed every job's time
	// limit.
	RescueAfter time.Duration
	// Metrics records each job's run and failure, the sweeps and the
	// deliveries; nil: nothing is recorded.
	Metrics *metrics.Metrics
}

// SweepTimeout bounds one sweep (a province's million expirations took
// 15 s here) and the audit chain's verification; RescueAfter is a minute
// more. Before, River's default of an hour applied: a sweep killed midway
// kept its job "running", and 85,000 overdue terms waited the hour.
const (
	SweepTimeout = 5 * time.Minute
	RescueAfter  = SweepTimeout + time.Minute
	// JobTimeout limits the jobs that set no limit of their own.
	JobTimeout = time.Minute
)

// TimeLimit is how long a job of kind may run before River cancels it
// (with the default RescueAfter): what `secondment doctor` measures a
// running job against.
func TimeLimit(kind string) time.Duration {
	switch kind {
	case SweepArgs{}.Kind(), AuditVerifyArgs{}.Kind():
		return SweepTimeout
	}
	return JobTimeout
}

// PruneArgs is the hourly job that deletes old read notifications, and
// expired sessions, old sign-in attempts and idempotency keys.
type PruneArgs struct{}

// Kind names the job in River's table.
func (PruneArgs) Kind() string { return "prune_notifications" }

type pruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	store *postgres.Store
	clock secondment.Clock
	keep  time.Duration
	log   *slog.Logger
}

// pruneBatch bounds one DELETE: short transactions, whatever the backlog.
const pruneBatch = 10000

func (w *pruneWorker) Work(ctx context.Context, job *river.Job[PruneArgs]) error {
	cutoff := w.clock.Now().Add(-w.keep)
	total := 0
	for {
		n, err := w.store.NotificationPrune(ctx, cutoff, pruneBatch)
		if err != nil {
			return err
		}
		total += n
		if n < pruneBatch {
			break
		}
	}
	w.log.Info("prune notifications", "deleted", total, "read_before", cutoff)
	// Housekeeping rides along (issue #13): expired sessions, old sign-in
	// attempts and idempotency keys, batch by batch.
	var swept postgres.Swept
	for {
		b, err := w.store.Housekeep(ctx, w.clock.Now(), postgres.DefaultKept, pruneBatch)
		if err != nil {
			return err
		}
		swept.Sessions, swept.Attempts, swept.Keys = swept.Sessions+b.Sessions, swept.Attempts+b.Attempts, swept.Keys+b.Keys
		if b.Sessions < pruneBatch && b.Attempts < pruneBatch && b.Keys < pruneBatch {
			break
		}
	}
	w.log.Info("housekeeping", "sessions", swept.Sessions, "sign_in_attempts", swept.Attempts, "idempotency_keys", swept.Keys)
	return nil
}

// SweepArgs is the sweep job. Day is the day to sweep for, "" for today by
// the clock (a catch-up sweep for a given day is possible from the command
// line).
type SweepArgs struct {
	Day string `json:"day,omitempty"`
}

// Kind names the job in River's table.
func (SweepArgs) Kind() string { return "sweep" }

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	store    *postgres.Store
	clock    secondment.Clock
	log      *slog.Logger
	escalate int
	remind   []int
	metrics  *metrics.Metrics
}

// Timeout is the sweep's time limit, under RescueAfter.
func (w *sweepWorker) Timeout(*river.Job[SweepArgs]) time.Duration { return SweepTimeout }

func (w *sweepWorker) Work(ctx context.Context, job *river.Job[SweepArgs]) error {
	now := w.clock.Now()
	day := secondment.DateOf(now)
	if job.Args.Day != "" {
		d, err := secondment.ParseDate(job.Args.Day)
		if err != nil {
			return river.JobCancel(fmt.Errorf("sweep day %q: %w", job.Args.Day, err))
		}
		// A given day is swept as if now were that day (the steps check
		// their dates against now), at the real time of day.
		day, now = d, secondment.OnDay(d, now)
	}
	start := time.Now()
	res, err := w.store.Sweep(ctx, day, now, postgres.SweepOptions{Origin: fmt.Sprintf("job %d", job.ID),
		EscalateAfter: w.escalate, ReminderDays: w.remind})
	// Counted even when the sweep failed midway: each batch before the
	// failure committed, and res counts those.
	recordSweep(w.metrics, res, time.Since(start))
	if err != nil {
		return fmt.Errorf("sweep %s: %w", day, err)
	}
	w.log.Info("sweep", "day", day.String(), "renewed", res.Renewed, "expired", res.Expired,
		"overdue", res.Overdue, "reminders", res.Reminders, "escalated", res.Escalated)
	return nil
}

// AuditVerifyArgs is the daily check of the audit chain.
type AuditVerifyArgs struct{}

// Kind names the job in River's table.
func (AuditVerifyArgs) Kind() string { return "audit_verify" }

type auditVerifyWorker struct {
	river.WorkerDefaults[AuditVerifyArgs]
	store *postgres.Store
	clock secondment.Clock
	log   *slog.Logger
}

// Timeout lets a province's trail be walked, under RescueAfter.
func (w *auditVerifyWorker) Timeout(*river.Job[AuditVerifyArgs]) time.Duration { return SweepTimeout }

// Work verifies the whole chain and records the result. Its log line
// carries the lanes' heads (seq:hash): kept in the logs, outside the database, it
// is what `secondment audit verify --expect` later checks a rewrite
// against. A broken chain is logged as an error, for the operators'
// alerting, and shown at the top of the auditor's pages.
func (w *auditVerifyWorker) Work(ctx context.Context, job *river.Job[AuditVerifyArgs]) error {
	r, err := w.store.AuditVerify(ctx, w.clock.Now, fmt.Sprintf("job %d", job.ID))
	if err != nil {
		return err
	}
	if err := w.store.AuditRecordVerification(ctx, &r); err != nil {
		return err
	}
	if !r.OK {
		w.log.Error("audit chain broken", "first_broken", r.BrokenSeq, "problem", r.Problem, "checked", r.Checked)
		return nil
	}
	heads := make([]string, len(r.Heads))
	for i, h := range r.Heads {
		heads[i] = fmt.Sprintf("%d:%x", h.Seq, h.Hash)
	}
	w.log.Info("audit chain verified", "links", r.Checked, "heads", strings.Join(heads, " "))
	return nil
}

// NewClient builds the River client with the service's workers and the
// periodic sweep. Start it with Start and stop it with Stop.
func NewClient(store *postgres.Store, c Config) (*river.Client[pgx.Tx], error) {
	if c.SweepInterval <= 0 {
		c.SweepInterval = 5 * time.Minute
	}
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.Clock == nil {
		c.Clock = secondment.SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	workers := river.NewWorkers()
	escalate := c.EscalateAfter
	if escalate == 0 {
		escalate = -1 // SweepOptions: negative is never
	}
	if err := river.AddWorkerSafely(workers, &sweepWorker{store: store, clock: c.Clock, log: c.Logger, escalate: escalate, remind: c.ReminderDays,
		metrics: c.Metrics}); err != nil {
		return nil, fmt.Errorf("register sweep worker: %w", err)
	}
	if c.KeepRead <= 0 {
		c.KeepRead = 180 * 24 * time.Hour
	}
	if err := river.AddWorkerSafely(workers, &pruneWorker{store: store, clock: c.Clock, keep: c.KeepRead, log: c.Logger}); err != nil {
		return nil, fmt.Errorf("register prune worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &auditVerifyWorker{store: store, clock: c.Clock, log: c.Logger}); err != nil {
		return nil, fmt.Errorf("register audit verification worker: %w", err)
	}
	// Once an hour, whatever the number of replicas.
	periodic := []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) {
			return PruneArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
		}, &river.PeriodicJobOpts{RunOnStart: true}),
		// Once a day, on start too: River keeps no schedule across
		// restarts, so a service redeployed daily would otherwise never
		// verify; the day's unique key keeps it to one run a day.
		river.NewPeriodicJob(river.PeriodicInterval(24*time.Hour),
			func() (river.JobArgs, *river.InsertOpts) {
				return AuditVerifyArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: 24 * time.Hour}}
			}, &river.PeriodicJobOpts{RunOnStart: true})}
	if c.Channel != nil {
		if err := river.AddWorkerSafely(workers, &deliverWorker{store: store, channel: c.Channel, clock: c.Clock, metrics: c.Metrics}); err != nil {
			return nil, fmt.Errorf("register delivery worker: %w", err)
		}
		every := c.DeliverEvery
		if every <= 0 {
			every = time.Minute
		}
		every = max(every, time.Second) // River's least unique period
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(every),
			func() (river.JobArgs, *river.InsertOpts) {
				return DeliverArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: every}}
			}, &river.PeriodicJobOpts{RunOnStart: true}))
	}
	interval := c.SweepInterval
	if c.RescueAfter <= 0 {
		c.RescueAfter = RescueAfter
	}
	client, err := river.NewClient(riverpgxv5.New(store.Pool), &river.Config{
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: c.Workers}},
		RescueStuckJobsAfter: c.RescueAfter,
		// River's reindexer rebuilds its indexes CONCURRENTLY, which only
		// their owner may; the service runs as the application role.
		ReindexerIndexNames: []string{},
		// River's default limit for the jobs that set none; it must not
		// exceed the rescue delay (only tests make that short).
		JobTimeout: min(JobTimeout, c.RescueAfter/2),
		Workers:    workers,
		Logger:     c.Logger,
		Middleware: []rivertype.Middleware{measure(c.Metrics)},
		PeriodicJobs: append(periodic,
			river.NewPeriodicJob(river.PeriodicInterval(interval),
				func() (river.JobArgs, *river.InsertOpts) {
					// One sweep per interval, whatever the number of replicas.
					return SweepArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: interval}}
				},
				&river.PeriodicJobOpts{RunOnStart: true})),
	})
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return client, nil
}
