package postgres_test

import (
	"testing"
	"time"

	"secondment/internal/dbtest"
	"secondment/internal/postgres"
)

// Issue #13: housekeeping deletes expired sessions, sign-in attempts past
// their keeping and old idempotency keys, a batch at a time, and keeps
// whatever is still live.
func TestHousekeeping(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := dbtest.Store(t)
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := s.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO sessions (token, data, expiry) VALUES ('old1', '', $1), ('old2', '', $1), ('live', '', $2)`,
		now.Add(-time.Hour), now.Add(time.Hour))
	exec(`INSERT INTO sign_in_attempt (at, address, success) VALUES ($1, '10.0.0.1', false), ($1, '10.0.0.2', false), ($2, '10.0.0.3', true)`,
		now.Add(-31*24*time.Hour), now.Add(-time.Hour))
	count := func(table string) (n int) {
		t.Helper()
		if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	got, err := s.Housekeep(ctx, now, postgres.DefaultKept, 1) // one at a time: two batches needed
	if err != nil || got.Sessions != 1 || got.Attempts != 1 {
		t.Fatalf("first batch: %+v %v", got, err)
	}
	if got, err = s.Housekeep(ctx, now, postgres.DefaultKept, 1); err != nil || got.Sessions != 1 || got.Attempts != 1 {
		t.Fatalf("second batch: %+v %v", got, err)
	}
	if got, err = s.Housekeep(ctx, now, postgres.DefaultKept, 1); err != nil || got != (postgres.Swept{}) {
		t.Fatalf("nothing left: %+v %v", got, err)
	}
	if count("sessions") != 1 || count("sign_in_attempt") != 1 {
		t.Errorf("kept %d sessions and %d attempts, want the live one of each", count("sessions"), count("sign_in_attempt"))
	}
}
