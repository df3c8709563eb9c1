package main

import (
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/dbtest"
	"secondment/internal/secondment"
)

// doctorLine finds the line of check name in doctor's output.
func doctorLine(out, name string) string {
	return regexp.MustCompile(`(?m)^(OK|WARN|FAIL) +` + regexp.QuoteMeta(name) + ` +.*$`).FindString(out)
}

// Issue #15: `secondment doctor` against a real database: a healthy one
// passes every check (exit 0); a stuck job, jobs retrying, a notification
// the webhook has not taken for two days, a half-applied migration and an
// unreachable or missing database are each named on their check's line,
// and a FAIL makes the exit status 1.
func TestDoctor(t *testing.T) {
	t.Parallel()
	// A sweep finished just now: a service running jobs leaves one.
	const swept = `INSERT INTO sweep_run (day, started_at, finished_at, origin) VALUES (current_date, now(), now(), 'job 1')`
	// A unit for the notification to be addressed to.
	const unit = `INSERT INTO unit (code, name, level, system) VALUES ('DOCTOR-1', '测试乡', 'township', 'general')`
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now

	cases := []struct {
		name  string
		setup []string // SQL as the owner; nil: no database at all
		args  []string
		code  int
		want  map[string]string // check → status and words on its line
	}{
		{"healthy", []string{swept}, nil, 0, map[string]string{
			"database": "(OK|WARN) PostgreSQL", "login": "OK .*secondment_app_test", "schema": "OK .*as this binary expects", "jobs": "OK",
			"sweep": "OK .*job 1", "clock": "OK", "notifications": "OK no delivery channel", "time zone": "OK",
			"disk": "OK"}},
		{"a job stuck, others retrying", []string{swept,
			`INSERT INTO river_job (state, attempt, attempted_at, args, kind) VALUES ('running', 1, now() - interval '1 hour', '{}', 'sweep')`,
			`INSERT INTO river_job (state, attempt, attempted_at, args, kind, errors) VALUES ('retryable', 2, now() - interval '1 minute', '{}',
				'deliver_notifications', ARRAY['{"error": "webhook answered 502 Bad Gateway"}'::jsonb])`},
			nil, 1, map[string]string{"jobs": `FAIL .*\(sweep\) has been running 1h0m.*past River's rescue delay.*1 job\(s\) waiting to be retried .*502 Bad Gateway`,
				"schema": "OK", "sweep": "OK"}},
		{"a notification undelivered for two days", []string{swept, unit,
			`INSERT INTO notification_outbox (recipient_role, recipient_unit_id, message_id, created_at, next_attempt_at, attempts, last_error)
			 SELECT 'lender', id, 'notify.test', now() - interval '2 days', now() + interval '1 hour', 12, 'webhook answered 502 Bad Gateway'
			 FROM unit WHERE code = 'DOCTOR-1'`},
			[]string{"--notify-webhook", "http://127.0.0.1:" + strconv.Itoa(closed) + "/hook"}, 1,
			map[string]string{"notifications": `FAIL 1 waiting for delivery to --notify-webhook; the oldest since 48h0m.*12 attempt.*502`}},
		{"no sweep yet, a migration half done", []string{`UPDATE schema_migrations SET dirty = true`}, nil, 1, map[string]string{
			"sweep": "WARN no sweep has finished yet", "schema": "FAIL .*failed half-way"}},
		{"a newer release migrated, compatible", []string{swept, `UPDATE schema_migrations SET version = version + 1`}, nil, 0,
			map[string]string{"schema": "WARN .*newer than this binary's .*and compatible with it"}},
		{"a newer release migrated, incompatible", []string{swept, `UPDATE schema_migrations SET version = version + 1`,
			`UPDATE schema_compat SET oldest_binary = (SELECT version FROM schema_migrations)`}, nil, 1,
			map[string]string{"schema": "FAIL .*newer than this binary's .*not compatible with it"}},
		{"database unreachable", nil, []string{"--database-url", "postgres://u@127.0.0.1:" + strconv.Itoa(closed) + "/db?connect_timeout=1",
			"--db-connect-timeout", "1s"}, 1, map[string]string{"database": "FAIL database unreachable", "time zone": "OK"}},
		{"no embedded database", nil, []string{"--data-dir", filepath.Join(t.TempDir(), "never")}, 1, map[string]string{
			"database": "FAIL no embedded database", "disk": "(OK|WARN|FAIL) .*free of"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := env()
			if c.setup != nil {
				app, owner := dbtest.URLs(t)
				e = env("SECONDMENT_DATABASE_URL", app, "SECONDMENT_DATABASE_OWNER_URL", owner)
				if err := queryOnce(t, owner, func(conn *pgx.Conn) error {
					for _, q := range c.setup {
						if _, err := conn.Exec(t.Context(), q); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			start := time.Now()
			out, code, stderr := runCmd(t, e, append([]string{"doctor"}, c.args...)...)
			if code != c.code {
				t.Errorf("exit %d, want %d:\n%s%s", code, c.code, out, stderr)
			}
			for name, want := range c.want {
				status, rest, _ := strings.Cut(want, " ")
				line := doctorLine(out, name)
				if !regexp.MustCompile(`^` + status + ` +` + regexp.QuoteMeta(name) + ` +` + rest).MatchString(line) {
					t.Errorf("check %s: line %q, want %q\n%s", name, line, want, out)
				}
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("doctor took %s", d)
			}
			if testing.Verbose() {
				t.Logf("doctor (exit %d):\n%s", code, out)
			}
		})
	}
}

func TestPastEndOfLife(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		major int
		today string
		want  string
	}{
		{14, "2026-11-12", ""}, {14, "2026-11-13", "2026-11-12"}, {15, "2026-12-07", ""}, {15, "2027-11-12", "2027-11-11"}, {99, "2099-01-01", ""},
	} {
		d, _ := secondment.ParseDate(c.today)
		if got := pastEndOfLife(c.major, d); got != c.want {
			t.Errorf("PostgreSQL %d on %s: %q, want %q", c.major, c.today, got, c.want)
		}
	}
}
