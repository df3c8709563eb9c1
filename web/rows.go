package web

import (
	"time"

	"secondment/internal/secondment"
)

// AuditRow is one line of the audit trail as the auditor reads it.
type AuditRow struct {
	At                time.Time
	ActorName, Action string
	ObjectType        string
	ObjectID          int64
	Detail            map[string]any
	RequestID         string
}

// SweepRow is one recorded sweep.
type SweepRow struct {
	Day                                             secondment.Date
	StartedAt                                       time.Time
	FinishedAt                                      *time.Time // nil: running, or interrupted
	Interrupted                                     bool       // unfinished past the sweep's time limit
	Renewed, Expired, Overdue, Reminders, Escalated int
	RectEscalated, PolicyFlagged                    int // rectifications past deadline flagged; running secondments a new policy entered
	Origin                                          string
}

// JobRow is one job of the queue.
type JobRow struct {
	ID                   int64
	Kind, State          string
	Attempt, MaxAttempts int
	CreatedAt            time.Time
	LastError            string
}
