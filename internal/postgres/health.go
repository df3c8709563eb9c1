package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Reads about the server and the service's machinery, for the operators'
// commands: each one cheap query, safe to run against a live service.

// ServerInfo is what the server says of itself.
type ServerInfo struct {
	Version      string    // server_version, e.g. "15.8 (Debian 15.8-0+deb12u1)"
	VersionNum   int       // server_version_num, e.g. 150008
	Now          time.Time // now() on the server
	TimeZone     string    // the session's TimeZone setting
	DatabaseSize int64     // bytes, pg_database_size of the current database
}

// Major is the server's major version.
func (i ServerInfo) Major() int { return i.VersionNum / 10000 }

// ServerInfoRead reads the server's version, clock and time zone.
func (s *Store) ServerInfoRead(ctx context.Context) (ServerInfo, error) {
	var i ServerInfo
	err := s.Pool.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('server_version_num')::int,
		now(), current_setting('TimeZone'), pg_database_size(current_database())`).
		Scan(&i.Version, &i.VersionNum, &i.Now, &i.TimeZone, &i.DatabaseSize)
	if err != nil {
		return i, fmt.Errorf("read the server's version and clock: %w", err)
	}
	return i, nil
}

// TableExists reports whether the public schema has the table.
func (s *Store) TableExists(ctx context.Context, name string) (bool, error) {
	var ok bool
	if err := s.Pool.QueryRow(ctx, `SELECT to_regclass('public.' || quote_ident($1)) IS NOT NULL`, name).Scan(&ok); err != nil {
		return false, fmt.Errorf("look for table %s: %w", name, err)
	}
	return ok, nil
}

// RunningJob is a River job in the running state.
type RunningJob struct {
	ID          int64
	Kind        string
	Attempt     int
	AttemptedAt time.Time
	Since       time.Duration // how long it has been running, by the server's clock
}

// JobsRunning lists River's running jobs, the longest running first.
func (s *Store) JobsRunning(ctx context.Context) ([]RunningJob, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, kind, attempt, attempted_at,
		       (extract(epoch FROM now() - attempted_at) * 1000000)::bigint
		FROM river_job WHERE state = 'running' AND attempted_at IS NOT NULL ORDER BY attempted_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list running jobs: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (RunningJob, error) {
		var j RunningJob
		var us int64
		err := r.Scan(&j.ID, &j.Kind, &j.Attempt, &j.AttemptedAt, &us)
		j.Since = time.Duration(us) * time.Microsecond
		return j, err
	})
}

// JobTrouble is what River holds of failed jobs: those waiting to be tried
// again, and those it gave up on.
type JobTrouble struct {
	Retryable      int
	RetryableKind  string // the kind of the newest retryable job
	RetryableError string // and its last error
	Discarded      int    // discarded since the time asked
	DiscardedKind  string
	DiscardedError string
}

// JobTroubleRead counts the retryable jobs and those discarded since
// since, each with the newest one's kind and last error.
func (s *Store) JobTroubleRead(ctx context.Context, since time.Time) (JobTrouble, error) {
	var t JobTrouble
	err := s.Pool.QueryRow(ctx, `
		WITH r AS (SELECT id, kind, errors FROM river_job WHERE state = 'retryable'),
		     d AS (SELECT id, kind, errors FROM river_job WHERE state = 'discarded' AND finalized_at >= $1)
		SELECT (SELECT count(*) FROM r),
		       coalesce((SELECT kind FROM r ORDER BY id DESC LIMIT 1), ''),
		       coalesce((SELECT errors[array_length(errors, 1)]->>'error' FROM r ORDER BY id DESC LIMIT 1), ''),
		       (SELECT count(*) FROM d),
		       coalesce((SELECT kind FROM d ORDER BY id DESC LIMIT 1), ''),
		       coalesce((SELECT errors[array_length(errors, 1)]->>'error' FROM d ORDER BY id DESC LIMIT 1), '')`, since).
		Scan(&t.Retryable, &t.RetryableKind, &t.RetryableError, &t.Discarded, &t.DiscardedKind, &t.DiscardedError)
	if err != nil {
		return t, fmt.Errorf("count failed jobs: %w", err)
	}
	return t, nil
}

// JobLatest is when a job of kind was last created; zero if never (or
// pruned by River since).
func (s *Store) JobLatest(ctx context.Context, kind string) (time.Time, error) {
	var at *time.Time
	if err := s.Pool.QueryRow(ctx, `SELECT max(created_at) FROM river_job WHERE kind = $1`, kind).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("read the latest %s job: %w", kind, err)
	}
	if at == nil {
		return time.Time{}, nil
	}
	return *at, nil
}

// NotificationBacklog is the outbox's undelivered part.
type NotificationBacklog struct {
	Undelivered int64
	Oldest      time.Time     // created_at of the oldest undelivered; zero if none
	Age         time.Duration // its age by the server's clock
	Attempts    int           // its delivery attempts so far
	LastError   string        // and the last one's error
}

// NotificationBacklogRead reads how many notifications wait for delivery
// and the oldest of them.
func (s *Store) NotificationBacklogRead(ctx context.Context) (NotificationBacklog, error) {
	var b NotificationBacklog
	err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM notification_outbox WHERE delivered_at IS NULL`).Scan(&b.Undelivered)
	if err != nil {
		return b, fmt.Errorf("count undelivered notifications: %w", err)
	}
	var us int64
	err = s.Pool.QueryRow(ctx, `SELECT created_at, (extract(epoch FROM now() - created_at) * 1000000)::bigint, attempts, last_error
		FROM notification_outbox WHERE delivered_at IS NULL ORDER BY created_at, id LIMIT 1`).
		Scan(&b.Oldest, &us, &b.Attempts, &b.LastError)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, nil
	}
	if err != nil {
		return b, fmt.Errorf("read the oldest undelivered notification: %w", err)
	}
	b.Age = time.Duration(us) * time.Microsecond
	return b, nil
}
