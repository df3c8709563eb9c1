package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/secondment"
)

// SweepRun is one recorded sweep.
type SweepRun struct {
	ID                                   int64
	Day                                  secondment.Date
	StartedAt                            time.Time
	FinishedAt                           *time.Time // nil: running, or interrupted
	Renewed, Expired, Overdue, Reminders int
	Escalated                            int
	RectEscalated, PolicyFlagged         int
	Origin                               string
}

// SweepRuns lists the latest sweeps, newest first.
func (s *Store) SweepRuns(ctx context.Context, limit int) ([]SweepRun, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, day, started_at, finished_at, renewed, expired, overdue, reminders, escalated,
		    rect_escalated, policy_flagged, origin
		FROM sweep_run ORDER BY started_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list sweeps: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (SweepRun, error) {
		var x SweepRun
		var day time.Time
		err := r.Scan(&x.ID, &day, &x.StartedAt, &x.FinishedAt, &x.Renewed, &x.Expired, &x.Overdue, &x.Reminders, &x.Escalated,
			&x.RectEscalated, &x.PolicyFlagged, &x.Origin)
		x.Day = dateOf(day)
		return x, err
	})
}

// Job is a row of River's job table as the administrator sees it.
type Job struct {
	ID          int64
	Kind        string
	State       string // available, running, completed, retryable, discarded, …
	Attempt     int
	MaxAttempts int
	CreatedAt   time.Time
	FinalizedAt *time.Time
	LastError   string
}

// JobList returns River's latest jobs, newest first. It reads River's table
// directly (its documented schema) so the pages need no River client.
func (s *Store) JobList(ctx context.Context, limit int) ([]Job, error) {
	rows, err := s.Pool.Query(ctx, `
		SELECT id, kind, state::text, attempt, max_attempts, created_at, finalized_at,
		       coalesce(errors[array_length(errors, 1)]->>'error', '')
		FROM river_job ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Job, error) {
		var j Job
		err := r.Scan(&j.ID, &j.Kind, &j.State, &j.Attempt, &j.MaxAttempts, &j.CreatedAt, &j.FinalizedAt, &j.LastError)
		return j, err
	})
}
