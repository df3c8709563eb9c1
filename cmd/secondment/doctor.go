package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"secondment/internal/config"
	"secondment/internal/jobs"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// status is a check's verdict.
type status int

const (
	statusOK status = iota
	statusWarn
	statusFail
)

func (s status) String() string { return [...]string{"OK", "WARN", "FAIL"}[s] }

// finding is one line of `secondment doctor`.
type finding struct {
	status status
	name   string
	text   string
}

// doctorFailed makes doctor exit 1 when a check failed.
type doctorFailed struct{ n int }

func (e doctorFailed) Error() string { return fmt.Sprintf("doctor: %d check(s) failed", e.n) }

// Thresholds of the checks.
const (
	clockWarn     = 5 * time.Second  // the database's clock against this machine's
	clockFail     = time.Minute      //
	outboxWarn    = 15 * time.Minute // a notification waiting: four failed attempts' backoff
	outboxFail    = 24 * time.Hour
	discardWindow = 7 * 24 * time.Hour // discarded jobs reported from this far back
	diskWarnBytes = 1 << 30
	diskFailBytes = 256 << 20
	diskWarnShare = 10 // per cent
	diskFailShare = 2
)

// endOfLife is each PostgreSQL major version's last release day
// (postgresql.org/support/versioning).
var endOfLife = map[int]string{13: "2025-11-13", 14: "2026-11-12", 15: "2027-11-11", 16: "2028-11-09", 17: "2029-11-08", 18: "2030-11-14"}

// pastEndOfLife is the day major reached its end of life, if before
// today; "" otherwise (also for a version not in the table).
func pastEndOfLife(major int, today secondment.Date) string {
	if eol, ok := endOfLife[major]; ok && today.String() > eol {
		return eol
	}
	return ""
}

// runDoctor checks a deployment and prints one line per check. It takes
// serve's flags and environment, so run with the service's environment it
// checks the deployment as configured (the sweep interval, the
// notification webhook, the data directory).
func runDoctor(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	set := newSet("doctor", "secondment doctor [flags] (the flags and environment of serve)", config.Options{HTTP: true}, getenv, stdout)
	cfg, pos, err := parse(set, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &usageError{fmt.Sprintf("doctor takes no arguments, got %q", pos[0])}
	}
	// A doctor answers in seconds: an unreachable database is reported
	// after 5 s unless a timeout was asked for.
	given := getenv("SECONDMENT_DB_CONNECT_TIMEOUT") != ""
	set.Visit(func(f *flag.Flag) { given = given || f.Name == "db-connect-timeout" })
	if !given {
		cfg.DBConnectTimeout = 5 * time.Second
	}
	found := doctor(ctx, cfg, stderr)
	fails := 0
	for _, f := range found {
		fmt.Fprintf(stdout, "%-4s  %-13s %s\n", f.status, f.name, strings.Join(strings.Fields(f.text), " "))
		if f.status == statusFail {
			fails++
		}
	}
	if fails > 0 {
		return doctorFailed{fails}
	}
	return nil
}

// doctor runs the checks in order; those needing the database are left out
// when it cannot be reached, whose line says why.
func doctor(ctx context.Context, cfg config.Config, stderr io.Writer) []finding {
	var out []finding
	add := func(s status, name, format string, a ...any) {
		out = append(out, finding{s, name, fmt.Sprintf(format, a...)})
	}
	var dbSize int64 = -1
	func() {
		if cfg.DatabaseURL == "" {
			pgdata := filepath.Join(cfg.DataDir, "data", "PG_VERSION")
			if _, err := os.Stat(pgdata); err != nil {
				add(statusFail, "database", "no embedded database in %s (%v): start the service once, or give --database-url", cfg.DataDir, err)
				return
			}
		}
		db, err := openDatabase(ctx, cfg, cfg.Logger(stderr), false, true)
		if err != nil {
			add(statusFail, "database", "%v", err)
			return
		}
		defer db.Close()
		dbSize = doctorDatabase(ctx, db, cfg, add)
	}()
	loc := secondment.Shanghai
	if _, off := time.Now().In(loc).Zone(); loc.String() != "Asia/Shanghai" || off != 8*3600 {
		add(statusFail, "time zone", "Asia/Shanghai loads as %s, UTC%+d s: the time zone data is damaged", loc, off)
	} else {
		zone, _ := time.Now().Zone()
		add(statusOK, "time zone", "Asia/Shanghai (UTC+08:00, built in; this machine's zone is %s): the service's days are Shanghai's, today %s",
			zone, secondment.DateOf(time.Now()))
	}
	if cfg.DatabaseURL == "" {
		s, text := diskRoom(cfg.DataDir, dbSize)
		add(s, "disk", "%s", text)
	} else if dbSize >= 0 {
		add(statusOK, "disk", "the database takes %s on its server, whose disk cannot be seen from here", bytesize(dbSize))
	}
	return out
}

// doctorDatabase runs the checks that read the database and returns its
// size (-1 if unknown).
func doctorDatabase(ctx context.Context, db *database, cfg config.Config, add func(status, string, string, ...any)) int64 {
	store := db.store
	t0 := time.Now()
	info, err := store.ServerInfoRead(ctx)
	t1 := time.Now()
	if err != nil {
		add(statusFail, "database", "%v", err)
		return -1
	}
	if eol := pastEndOfLife(info.Major(), secondment.DateOf(time.Now())); eol != "" {
		add(statusWarn, "database", "PostgreSQL %s, %s: version %d reached its end of life on %s and gets no more fixes; plan an upgrade",
			info.Version, db.describe, info.Major(), eol)
	} else {
		add(statusOK, "database", "PostgreSQL %s, %s, %s", info.Version, db.describe, bytesize(info.DatabaseSize))
	}

	if l, err := postgres.WhoAmI(ctx, store.Pool); err != nil {
		add(statusFail, "login", "%v", err)
	} else if l.Powerful() {
		what := "owns the audit trail's tables"
		if l.Superuser {
			what = "is a superuser"
		}
		add(statusWarn, "login", "the service's login %s %s, so it could lift the audit trail's triggers (the hash chain still shows an edit); "+
			"give the service a restricted role with --database-owner-url (docs/security.md)", l.Name, what)
	} else {
		add(statusOK, "login", "the service connects as %s, which may not alter the schema or the audit trail", l.Name)
	}

	river, err := store.TableExists(ctx, "river_job")
	if err != nil {
		add(statusFail, "schema", "%v", err)
		return info.DatabaseSize
	}
	switch st, err := store.Schema(ctx); {
	case err != nil:
		add(statusFail, "schema", "%v", err)
	case st.Dirty:
		add(statusFail, "schema", "migration %s failed half-way (dirty) and the service refuses to start: repair it by hand, "+
			"then `secondment migrate force V` with the last complete version", postgres.MigrationName(st.Current))
	case st.Current == 0:
		add(statusFail, "schema", "no schema: `secondment migrate up` (serve does it at start unless --migrate=false)")
	case st.Current < st.Latest:
		add(statusFail, "schema", "at %s, older than this binary's %s, so /readyz fails: `secondment migrate up` "+
			"(serve does it at start unless --migrate=false)", postgres.MigrationName(st.Current), postgres.MigrationName(st.Latest))
	case st.Newer():
		// A rollback: the newer release's migrations keep this binary
		// working, and /readyz says ready; worth a look, not a failure.
		add(statusWarn, "schema", "at version %d, newer than this binary's %s, and compatible with it (from version %d on): "+
			"this binary serves; the newer release's doctor knows its migrations", st.Current, postgres.MigrationName(st.Latest), st.OldestBinary)
	case st.Current > st.Latest:
		add(statusFail, "schema", "at version %d, newer than this binary's %s, and not compatible with it (it needs binaries from "+
			"version %d on), so /readyz fails: run the newer release (and its doctor)", st.Current, postgres.MigrationName(st.Latest), st.OldestBinary)
	case !river:
		add(statusFail, "schema", "River's job tables are missing: `secondment migrate up`")
	default:
		add(statusOK, "schema", "at %s, as this binary expects; River's tables present", postgres.MigrationName(st.Current))
	}
	if river {
		doctorJobs(ctx, store, add)
	}
	if ok, err := store.TableExists(ctx, "sweep_run"); err == nil && ok {
		doctorSweep(ctx, store, cfg, info.Now, add)
	}

	// The clock: the server's now() against the middle of the round trip.
	local := t0.Add(t1.Sub(t0) / 2)
	skew := info.Now.Sub(local)
	slack := t1.Sub(t0) / 2
	ahead := "ahead of"
	if skew < 0 {
		ahead = "behind"
	}
	abs := max(skew, -skew)
	switch {
	case abs > clockFail+slack:
		add(statusFail, "clock", "the database's clock is %s %s this machine's: dates, terms and jobs go wrong; synchronise both (NTP)",
			abs.Round(time.Second), ahead)
	case abs > clockWarn+slack:
		add(statusWarn, "clock", "the database's clock is %s %s this machine's; synchronise both (NTP)", abs.Round(100*time.Millisecond), ahead)
	default:
		add(statusOK, "clock", "the database's clock and this machine's differ by %s (at most %s is fine); the database session's time zone is %s",
			abs.Round(time.Millisecond), clockWarn, info.TimeZone)
	}

	if ok, err := store.TableExists(ctx, "notification_outbox"); err == nil && ok {
		doctorOutbox(ctx, store, cfg, info.Now, river, add)
	}
	return info.DatabaseSize
}

// doctorJobs looks for River jobs running past their time limit (stuck:
// past the rescue delay, which only a running leader enforces) and jobs
// retrying or given up on.
func doctorJobs(ctx context.Context, store *postgres.Store, add func(status, string, string, ...any)) {
	running, err := store.JobsRunning(ctx)
	if err != nil {
		add(statusFail, "jobs", "%v", err)
		return
	}
	trouble, err := store.JobTroubleRead(ctx, time.Now().Add(-discardWindow))
	if err != nil {
		add(statusFail, "jobs", "%v", err)
		return
	}
	worst, parts := statusOK, []string{}
	note := func(s status, format string, a ...any) {
		worst = max(worst, s)
		parts = append(parts, fmt.Sprintf(format, a...))
	}
	for _, j := range running {
		limit := jobs.TimeLimit(j.Kind)
		switch {
		case j.Since > jobs.RescueAfter+time.Minute:
			note(statusFail, "job %d (%s) has been running %s, past River's rescue delay of %s: no replica runs the background jobs "+
				"(--jobs), or their leader is wedged", j.ID, j.Kind, j.Since.Round(time.Second), jobs.RescueAfter)
		case j.Since > limit:
			note(statusWarn, "job %d (%s) has been running %s, past its %s limit; River takes it back after %s",
				j.ID, j.Kind, j.Since.Round(time.Second), limit, jobs.RescueAfter)
		}
	}
	if trouble.Retryable > 0 {
		note(statusWarn, "%d job(s) waiting to be retried (the newest, %s: %s)", trouble.Retryable, trouble.RetryableKind, oneLine(trouble.RetryableError))
	}
	if trouble.Discarded > 0 {
		note(statusWarn, "%d job(s) given up on in the last 7 days (the newest, %s: %s)", trouble.Discarded, trouble.DiscardedKind, oneLine(trouble.DiscardedError))
	}
	if worst == statusOK {
		add(statusOK, "jobs", "%d running, none past its time limit; none waiting to retry or given up on in 7 days", len(running))
		return
	}
	add(worst, "jobs", "%s", strings.Join(parts, "; "))
}

// doctorSweep checks that the periodic sweep has finished lately.
func doctorSweep(ctx context.Context, store *postgres.Store, cfg config.Config, now time.Time, add func(status, string, string, ...any)) {
	runs, err := store.SweepRuns(ctx, 50)
	if err != nil {
		add(statusFail, "sweep", "%v", err)
		return
	}
	var last *postgres.SweepRun
	for i := range runs {
		if runs[i].FinishedAt != nil {
			last = &runs[i]
			break
		}
	}
	interrupted := ""
	if len(runs) > 0 && runs[0].FinishedAt == nil && now.Sub(runs[0].StartedAt) > jobs.SweepTimeout {
		interrupted = fmt.Sprintf("; the newest, started %s ago (%s), never finished", now.Sub(runs[0].StartedAt).Round(time.Second), runs[0].Origin)
	}
	if last == nil {
		add(statusWarn, "sweep", "no sweep has finished yet: a service with --jobs runs one at start, then every --sweep-interval%s", interrupted)
		return
	}
	age := now.Sub(*last.FinishedAt)
	interval := cfg.SweepInterval
	text := fmt.Sprintf("the last sweep finished %s ago, for %s (%s; --sweep-interval %s)%s",
		age.Round(time.Second), last.Day, last.Origin, interval, interrupted)
	switch {
	case age > max(24*time.Hour, 6*interval):
		add(statusFail, "sweep", "%s: terms are not being expired nor overdue ones marked; is any replica running jobs (--jobs)?", text)
	case age > 3*interval || interrupted != "":
		add(statusWarn, "sweep", "%s", text)
	default:
		add(statusOK, "sweep", "%s", text)
	}
}

// doctorOutbox measures how long notifications wait for delivery, when a
// channel delivers them (--notify-webhook here, or delivery jobs seen in
// the last day).
func doctorOutbox(ctx context.Context, store *postgres.Store, cfg config.Config, now time.Time, river bool, add func(status, string, string, ...any)) {
	b, err := store.NotificationBacklogRead(ctx)
	if err != nil {
		add(statusFail, "notifications", "%v", err)
		return
	}
	var seen time.Time
	if river {
		if seen, err = store.JobLatest(ctx, jobs.DeliverArgs{}.Kind()); err != nil {
			add(statusFail, "notifications", "%v", err)
			return
		}
	}
	delivering := !seen.IsZero() && now.Sub(seen) < 24*time.Hour
	if cfg.NotifyWebhook == "" && !delivering {
		add(statusOK, "notifications", "no delivery channel (--notify-webhook unset, no delivery job in 24 h): "+
			"notifications are read in the service's inbox only")
		return
	}
	where := "to --notify-webhook"
	if cfg.NotifyWebhook == "" {
		where = "by the service (delivery jobs run, though --notify-webhook is unset here)"
	}
	if b.Undelivered == 0 {
		add(statusOK, "notifications", "every notification delivered %s", where)
		return
	}
	text := fmt.Sprintf("%d waiting for delivery %s; the oldest since %s ago", b.Undelivered, where, b.Age.Round(time.Second))
	if b.Attempts > 0 {
		text += fmt.Sprintf(", after %d attempt(s) (last error: %s)", b.Attempts, oneLine(b.LastError))
	}
	switch {
	case b.Age > outboxFail:
		add(statusFail, "notifications", "%s", text)
	case b.Age > outboxWarn:
		add(statusWarn, "notifications", "%s", text)
	default:
		add(statusOK, "notifications", "%s", text)
	}
}

// diskRoom checks the free space where the embedded cluster lives.
func diskRoom(dir string, dbSize int64) (status, string) {
	d, _ := filepath.Abs(dir)
	for { // the nearest existing directory: a data directory not made yet lives there
		if _, err := os.Stat(d); err == nil || d == filepath.Dir(d) {
			break
		}
		d = filepath.Dir(d)
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(d, &fs); err != nil {
		return statusFail, fmt.Sprintf("cannot read the free space of %s: %v", d, err)
	}
	free := int64(fs.Bavail) * int64(fs.Bsize)
	total := int64(fs.Blocks) * int64(fs.Bsize)
	share := int64(100)
	if total > 0 {
		share = free * 100 / total
	}
	text := fmt.Sprintf("%s: %s free of %s (%d%%)", d, bytesize(free), bytesize(total), share)
	if dbSize >= 0 {
		text += fmt.Sprintf("; the database takes %s", bytesize(dbSize))
	}
	switch {
	case free < diskFailBytes || share < diskFailShare:
		return statusFail, text + ": PostgreSQL stops when it cannot write its log; make room now"
	case free < diskWarnBytes || share < diskWarnShare:
		return statusWarn, text + ": make room before it runs out"
	}
	return statusOK, text
}

// oneLine is an error message on one line, cut to a readable length.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 120 {
		s = string(r[:119]) + "…"
	}
	if s == "" {
		return "no error recorded"
	}
	return s
}
