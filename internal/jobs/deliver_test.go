package jobs_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"secondment/internal/dbtest"
	"secondment/internal/jobs"
	sm "secondment/internal/secondment"
)

// receiver is a webhook endpoint that refuses while down and records the
// notification ids it accepted.
type receiver struct {
	down atomic.Bool
	mu   sync.Mutex
	got  map[int64]int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rc.down.Load() {
		http.Error(w, "gateway down", http.StatusServiceUnavailable)
		return
	}
	var body struct {
		ID   int64  `json:"id"`
		Kind string `json:"kind"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.ID == 0 || body.Kind == "" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.got[body.ID]++
	rc.mu.Unlock()
}

func (rc *receiver) accepted() map[int64]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := map[int64]int{}
	for k, v := range rc.got {
		out[k] = v
	}
	return out
}

// A failed delivery is kept and retried after its backoff, never dropped;
// once through, it is not sent again.
func TestDeliveryRetriedUntilItGetsThrough(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := dbtest.Store(t)
	running(t, store, 1)
	rc := &receiver{got: map[int64]int{}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	hook := jobs.Webhook{URL: srv.URL}

	now := at(sm.D(2023, 8, 2))
	rc.down.Store(true)
	delivered, failed, err := jobs.Deliver(ctx, store, hook, sm.FixedClock{T: now}, 100)
	if err != nil || delivered != 0 || failed == 0 {
		t.Fatalf("gateway down: delivered %d, failed %d, %v", delivered, failed, err)
	}
	var lastError string
	if err := store.Pool.QueryRow(ctx, `SELECT coalesce(max(last_error), '') FROM notification_outbox`).Scan(&lastError); err != nil || lastError == "" {
		t.Fatalf("the failure was not recorded: %q %v", lastError, err)
	}
	// Not due again before its backoff.
	rc.down.Store(false)
	if d, f, err := jobs.Deliver(ctx, store, hook, sm.FixedClock{T: now.Add(30 * time.Second)}, 100); err != nil || d+f != 0 {
		t.Fatalf("retried before the backoff: %d, %d, %v", d, f, err)
	}
	later := sm.FixedClock{T: now.Add(jobs.Backoff(1))}
	if d, f, err := jobs.Deliver(ctx, store, hook, later, 100); err != nil || d != failed || f != 0 {
		t.Fatalf("retry: delivered %d of %d, failed %d, %v", d, failed, f, err)
	}
	got := rc.accepted()
	if len(got) != failed {
		t.Fatalf("the receiver has %d notifications, want %d", len(got), failed)
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("notification %d accepted %d times", id, n)
		}
	}
	if d, f, err := jobs.Deliver(ctx, store, hook, later, 100); err != nil || d+f != 0 {
		t.Fatalf("delivered again: %d, %d, %v", d, f, err)
	}
}

func TestBackoff(t *testing.T) {
	for attempts, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 5: 16 * time.Minute, 10: 6 * time.Hour, 100: 6 * time.Hour} {
		if got := jobs.Backoff(attempts); got != want {
			t.Errorf("Backoff(%d) = %s, want %s", attempts, got, want)
		}
	}
}

// With a channel configured, the River client delivers on its own.
func TestClientDeliversThroughTheChannel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := dbtest.Store(t)
	running(t, store, 1)
	var total int
	if err := store.Pool.QueryRow(ctx, `SELECT count(*) FROM notification_outbox`).Scan(&total); err != nil || total == 0 {
		t.Fatalf("%d notifications, %v", total, err)
	}
	rc := &receiver{got: map[int64]int{}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	c, err := jobs.NewClient(store, jobs.Config{SweepInterval: time.Hour, Channel: jobs.Webhook{URL: srv.URL},
		DeliverEvery: time.Second, Clock: sm.FixedClock{T: at(sm.D(2023, 8, 2))}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Stop(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for len(rc.accepted()) < total {
		if time.Now().After(deadline) {
			t.Fatalf("delivered %d of %d", len(rc.accepted()), total)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
