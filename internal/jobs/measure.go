package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"secondment/internal/metrics"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// measure is River middleware that records every job this process works:
// how long it took and whether it failed (an error or a panic; a snooze is
// no failure), by kind.
func measure(m *metrics.Metrics) rivertype.Middleware {
	return river.WorkerMiddlewareFunc(func(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) (err error) {
		start := time.Now()
		failed := true // until doInner returns: a panic passes through here
		defer func() { m.JobWorked(job.Kind, time.Since(start), failed) }()
		err = doInner(ctx)
		var snooze *river.JobSnoozeError
		failed = err != nil && !errors.As(err, &snooze)
		return err
	})
}

// recordSweep records a sweep that took d: its duration, what it changed,
// and the state changes it committed (the system's steps) among the
// transitions.
func recordSweep(m *metrics.Metrics, res postgres.SweepResult, d time.Duration) {
	m.Sweep(d, map[string]int{metrics.SweepRenewed: res.Renewed, metrics.SweepExpired: res.Expired,
		metrics.SweepOverdue: res.Overdue, metrics.SweepReminders: res.Reminders, metrics.SweepEscalated: res.Escalated,
		metrics.SweepRectEscalated: res.RectEscalated, metrics.SweepPolicyFlagged: res.PolicyFlagged})
	// A hand-over to a renewal is two steps: the term succeeds, the
	// renewal starts.
	m.Transitions(secondment.ActSucceed, res.Renewed)
	m.Transitions(secondment.ActStart, res.Renewed)
	m.Transitions(secondment.ActExpire, res.Expired)
	m.Transitions(secondment.ActMarkOverdue, res.Overdue)
}
