package postgres_test

import (
	"encoding/json"
	"fmt"
	"github.com/jackc/pgx/v5"
	"slices"
	"sync"
	"testing"
	"time"

	"secondment/internal/postgres"
	sm "secondment/internal/secondment"
)

// queue puts n notifications to the lending unit 阿克喀什乡 in the outbox,
// created a second apart from t0.
func queue(t *testing.T, w smWorld, n int, t0 time.Time) []int64 {
	t.Helper()
	var ids []int64
	for i := range n {
		var id int64
		at := t0.Add(time.Duration(i) * time.Second)
		err := w.s.Pool.QueryRow(w.ctx, `
			INSERT INTO notification_outbox (recipient_role, recipient_unit_id, message_id, message_data, created_at, next_attempt_at)
			VALUES ('lender', $1, 'notify.awaiting_consent', $2, $3, $3) RETURNING id`,
			w.unit("XJ-KS-AKKS"), fmt.Sprintf(`{"Person": "李传群", "Days": %d}`, 90+i), at).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func claimIDs(t *testing.T, w smWorld, limit int, now time.Time) ([]int64, []postgres.Notification) {
	t.Helper()
	ns, err := w.s.NotificationClaim(w.ctx, limit, now)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, n := range ns {
		ids = append(ids, n.ID)
	}
	slices.Sort(ids)
	return ids, ns
}

// A worker claims due notifications, delivers some, fails others; failed
// ones come back at their retry time, claimed-but-abandoned ones after the
// lease, delivered ones never.
func TestNotificationOutboxDeliveryAndRetry(t *testing.T) {
	t.Parallel()
	w := newSMWorld(t, 0)
	t0 := smAt(sm.D(2024, 3, 1))
	ids := queue(t, w, 5, t0)
	now := t0.Add(time.Minute)

	if got, _ := claimIDs(t, w, 2, t0.Add(-time.Second)); len(got) != 0 {
		t.Fatalf("claimed %v before anything was due", got)
	}
	first, ns := claimIDs(t, w, 2, now)
	if !slices.Equal(first, ids[:2]) {
		t.Fatalf("first claim %v, want the oldest %v", first, ids[:2])
	}
	n := ns[0]
	if n.Attempts != 1 || n.Role != sm.RoleLender || n.UnitID != w.unit("XJ-KS-AKKS") ||
		n.Message.ID != "notify.awaiting_consent" || n.Message.Data["Person"] != "李传群" ||
		n.Message.Data["Days"] != json.Number(fmt.Sprint(90+slices.Index(ids, n.ID))) ||
		!n.NextAttemptAt.Equal(now.Add(postgres.NotificationLease)) {
		t.Errorf("claimed %+v", n)
	}
	second, _ := claimIDs(t, w, 10, now)
	if !slices.Equal(second, ids[2:]) {
		t.Fatalf("second claim %v, want the rest %v", second, ids[2:])
	}
	if got, _ := claimIDs(t, w, 10, now); len(got) != 0 {
		t.Fatalf("claimed leased rows again: %v", got)
	}

	if err := w.s.NotificationMarkDelivered(w.ctx, ids[0], now); err != nil {
		t.Fatal(err)
	}
	if err := w.s.NotificationMarkDelivered(w.ctx, ids[0], now); err != nil {
		t.Fatalf("marking delivered twice: %v", err)
	}
	retry := now.Add(time.Minute)
	if err := w.s.NotificationMarkFailed(w.ctx, ids[1], "smtp: connection refused", retry); err != nil {
		t.Fatal(err)
	}
	if err := w.s.NotificationMarkFailed(w.ctx, ids[0], "late report", retry); err != nil {
		t.Fatalf("failing a delivered notification: %v", err)
	}
	for _, err := range []error{
		w.s.NotificationMarkDelivered(w.ctx, 999_999, now),
		w.s.NotificationMarkFailed(w.ctx, 999_999, "x", now),
	} {
		if sm.ErrorCodeOf(err) != sm.ENotFound {
			t.Errorf("unknown notification: %v", err)
		}
	}

	// At the retry time only the failed one is due, with its error.
	got, ns := claimIDs(t, w, 10, retry)
	if !slices.Equal(got, ids[1:2]) || ns[0].Attempts != 2 || ns[0].LastError != "smtp: connection refused" {
		t.Fatalf("retry claim %v %+v", got, ns)
	}
	// After the lease the abandoned ones come back too; the delivered never.
	got, _ = claimIDs(t, w, 10, now.Add(postgres.NotificationLease).Add(time.Minute))
	if !slices.Equal(got, ids[1:]) {
		t.Fatalf("after the lease: %v, want %v", got, ids[1:])
	}
	if n := w.count(`SELECT count(*) FROM notification_outbox WHERE delivered_at IS NOT NULL`); n != 1 {
		t.Errorf("%d delivered, want 1", n)
	}
	if n := w.count(`SELECT count(*) FROM notification_outbox WHERE id = $1 AND last_error = ''`, ids[0]); n != 1 {
		t.Error("a late failure report changed a delivered notification")
	}
}

// Workers claiming at the same time never get the same row, and together
// get every row once.
func TestNotificationClaimConcurrent(t *testing.T) {
	t.Parallel()
	const workers, rows, batch = 8, 300, 7
	holdManyConns(t)
	w := newSMWorld(t, workers+2)
	t0 := smAt(sm.D(2024, 3, 1))
	queue(t, w, rows, t0)
	now := t0.Add(time.Hour)
	warm(t, w, workers)

	claimed := make([][]int64, workers)
	errs := make([]error, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			<-start
			for {
				ns, err := w.s.NotificationClaim(w.ctx, batch, now)
				if err != nil {
					errs[i] = err
					return
				}
				if len(ns) == 0 {
					return
				}
				for _, n := range ns {
					claimed[i] = append(claimed[i], n.ID)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	seen := map[int64]int{}
	for i := range workers {
		if errs[i] != nil {
			t.Fatalf("worker %d: %v", i, errs[i])
		}
		for _, id := range claimed[i] {
			seen[id]++
		}
		t.Logf("worker %d claimed %d", i, len(claimed[i]))
	}
	if len(seen) != rows {
		t.Errorf("%d distinct rows claimed, want %d", len(seen), rows)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("notification %d claimed %d times", id, k)
		}
	}
	if n := w.count(`SELECT count(*) FROM notification_outbox WHERE attempts <> 1`); n != 0 {
		t.Errorf("%d rows with attempts other than 1", n)
	}
}

// The header badge counts a unit role's unread notifications.
func TestNotificationBadge(t *testing.T) {
	t.Parallel()
	w := newSMWorld(t, 0)
	t0 := smAt(sm.D(2024, 3, 1))
	ids := queue(t, w, 3, t0)
	akks := w.unit("XJ-KS-AKKS")
	count := func(role sm.Role, unit int64) int {
		t.Helper()
		n, err := w.s.NotificationCountFor(w.ctx, role, unit, 0)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if c := count(sm.RoleLender, akks); c != 3 {
		t.Errorf("badge %d, want 3", c)
	}
	if c := count(sm.RoleBorrower, akks) + count(sm.RoleLender, w.unit("XJ-KS-JW")); c != 0 {
		t.Errorf("other recipients see %d", c)
	}
	ns, err := w.s.NotificationListFor(w.ctx, sm.RoleLender, akks, 0, postgres.Cursor{}, 2)
	if err != nil || len(ns) != 2 || ns[0].ID != ids[2] || ns[1].ID != ids[1] {
		t.Fatalf("list %+v, %v; want the newest two", ns, err)
	}
	// The next page starts after the last one shown.
	rest, err := w.s.NotificationListFor(w.ctx, sm.RoleLender, akks, 0, postgres.Cursor{CreatedAt: ns[1].CreatedAt, ID: ns[1].ID}, 2)
	if err != nil || len(rest) != 1 || rest[0].ID != ids[0] {
		t.Fatalf("second page %+v, %v; want the oldest", rest, err)
	}
	// Another unit's clerk cannot clear this badge.
	if n, err := w.s.NotificationMarkAllRead(w.ctx, sm.RoleLender, w.unit("XJ-KS-JW"), 0, t0.Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("another unit marked %d, %v", n, err)
	}
	if c := count(sm.RoleLender, akks); c != 3 {
		t.Errorf("badge after another unit's marking: %d, want 3", c)
	}
	if n, err := w.s.NotificationMarkAllRead(w.ctx, sm.RoleLender, akks, 0, t0.Add(time.Hour)); err != nil || n != 3 {
		t.Fatalf("marked %d, %v; want 3", n, err)
	}
	if c := count(sm.RoleLender, akks); c != 0 {
		t.Errorf("badge after reading: %d, want 0", c)
	}
	if n, err := w.s.NotificationMarkAllRead(w.ctx, sm.RoleLender, akks, 0, t0.Add(2*time.Hour)); err != nil || n != 0 {
		t.Fatalf("marked again: %d, %v", n, err)
	}
	ns, err = w.s.NotificationListFor(w.ctx, sm.RoleLender, akks, 0, postgres.Cursor{}, 10)
	if err != nil || len(ns) != 3 || ns[0].ReadAt.IsZero() || ns[2].ReadAt.IsZero() {
		t.Errorf("list after reading: %+v, %v", ns, err)
	}
}

// Pruning deletes notifications read and delivered before the cutoff, in
// batches, and nothing unread, undelivered or read since.
func TestNotificationPrune(t *testing.T) {
	w := newSMWorld(t, 0)
	t0 := time.Date(2024, 1, 1, 9, 0, 0, 0, sm.Shanghai)
	ids := queue(t, w, 5, t0)
	set := func(id int64, read, delivered *time.Time) {
		t.Helper()
		if _, err := w.s.Pool.Exec(w.ctx, `UPDATE notification_outbox SET read_at = $2, delivered_at = $3 WHERE id = $1`,
			id, read, delivered); err != nil {
			t.Fatal(err)
		}
	}
	old, recent := t0.Add(24*time.Hour), t0.AddDate(0, 7, 0)
	set(ids[0], &old, &old)       // read and delivered long ago: pruned
	set(ids[1], &old, &old)       // the same
	set(ids[2], &old, nil)        // read but never delivered: kept
	set(ids[3], &recent, &recent) // read lately: kept
	//  ids[4] unread: kept
	cutoff := t0.AddDate(0, 6, 0)
	n, err := w.s.NotificationPrune(w.ctx, cutoff, 1)
	if err != nil || n != 1 {
		t.Fatalf("first batch: %d, %v", n, err)
	}
	if n, err = w.s.NotificationPrune(w.ctx, cutoff, 10); err != nil || n != 1 {
		t.Fatalf("second batch: %d, %v", n, err)
	}
	rows, err := w.s.Pool.Query(w.ctx, `SELECT id FROM notification_outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	left, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(left, ids[2:]) {
		t.Errorf("left %v, want %v", left, ids[2:])
	}
}
