package jobs_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"secondment/internal/dbtest"
	"secondment/internal/jobs"
	"secondment/internal/metrics"
	sm "secondment/internal/secondment"
)

// gathered reads series name with labels (name, value, …) from m: a
// counter's or gauge's value, a histogram's count and sum; ok is false
// when there is no such series.
func gathered(t *testing.T, m *metrics.Metrics, name string, labels ...string) (v, sum float64, ok bool) {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, s := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range s.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue series
				}
			}
			return value(s)
		}
	}
	return 0, 0, false
}

func value(s *dto.Metric) (v, sum float64, ok bool) {
	switch {
	case s.Counter != nil:
		return s.Counter.GetValue(), 0, true
	case s.Gauge != nil:
		return s.Gauge.GetValue(), 0, true
	case s.Histogram != nil:
		return float64(s.Histogram.GetSampleCount()), s.Histogram.GetSampleSum(), true
	}
	return 0, 0, false
}

// The jobs record into the metrics they are given: the sweep's duration,
// what it changed and its transitions; each job's run and failure by
// kind; each delivery's lag and each failed one. The outbox's backlog is
// read at scrape time.
func TestJobsRecordMetrics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := dbtest.Store(t)
	running(t, store, 2) // two terms ending 31 October 2023
	m := metrics.New("test", nil)
	if err := m.WatchDatabase(store.Pool, metrics.WatchOptions{Outbox: true}); err != nil {
		t.Fatal(err)
	}
	var total int
	if err := store.Pool.QueryRow(ctx, `SELECT count(*) FROM notification_outbox`).Scan(&total); err != nil || total == 0 {
		t.Fatalf("%d notifications, %v", total, err)
	}
	if n, _, _ := gathered(t, m, "secondment_notification_outbox_undelivered"); int(n) != total {
		t.Errorf("undelivered before the jobs: %v, want %d", n, total)
	}
	if age, _, _ := gathered(t, m, "secondment_notification_outbox_oldest_undelivered_seconds"); age <= 0 {
		t.Errorf("oldest undelivered: %v s", age)
	}

	// The gateway refuses its first post, then takes every one.
	var posts atomic.Int32
	rc := &receiver{got: map[int64]int{}}
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if posts.Add(1) == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		rc.ServeHTTP(w, r)
	}))
	defer gw.Close()
	now := at(sm.D(2023, 11, 1)) // the day after both terms end
	c, err := jobs.NewClient(store, jobs.Config{SweepInterval: time.Hour, Channel: jobs.Webhook{URL: gw.URL},
		DeliverEvery: time.Second, Clock: sm.FixedClock{T: now}, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	// A sweep for a day that is none: cancelled, a failure of its kind.
	if _, err := c.Insert(ctx, jobs.SweepArgs{Day: "not a day"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Stop(ctx) }()

	// Until the sweep has run, and every notification but the refused
	// one (due again after its backoff) is delivered, the sweep's own
	// included.
	deadline := time.Now().Add(30 * time.Second)
	for {
		expired, _, _ := gathered(t, m, "secondment_sweep_rows_changed_total", "change", "expired")
		failures, _, _ := gathered(t, m, "secondment_job_failures_total", "kind", "sweep")
		var undelivered int
		if err := store.Pool.QueryRow(ctx, `SELECT count(*) FROM notification_outbox WHERE delivered_at IS NULL`).Scan(&undelivered); err != nil {
			t.Fatal(err)
		}
		if expired == 2 && failures == 1 && undelivered == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("expired %v, sweep failures %v, %d undelivered", expired, failures, undelivered)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var delivered int
	if err := store.Pool.QueryRow(ctx, `SELECT count(*) FROM notification_outbox WHERE delivered_at IS NOT NULL`).Scan(&delivered); err != nil {
		t.Fatal(err)
	}
	if n, sum, _ := gathered(t, m, "secondment_notification_delivery_lag_seconds"); int(n) != delivered || sum < float64(delivered)*24*3600 {
		// The first notifications were made in July; delivered on 1
		// November by the clock, each waited months.
		t.Errorf("delivery lag: %v deliveries summing %v s; want %d, each over a day", n, sum, delivered)
	}
	if n, _, _ := gathered(t, m, "secondment_notification_delivery_failures_total"); n != 1 {
		t.Errorf("delivery failures %v, want 1", n)
	}
	if n, _, _ := gathered(t, m, "secondment_transitions_total", "action", "expire"); n != 2 {
		t.Errorf("expire transitions %v, want 2", n)
	}
	if n, sum, _ := gathered(t, m, "secondment_sweep_duration_seconds"); n != 1 || sum <= 0 {
		t.Errorf("sweeps timed: %v (%v s), want 1", n, sum)
	}
	if n, _, _ := gathered(t, m, "secondment_job_duration_seconds", "kind", "sweep"); n != 2 {
		t.Errorf("sweep jobs timed: %v, want 2 (the periodic one and the cancelled one)", n)
	}
	if n, _, _ := gathered(t, m, "secondment_job_duration_seconds", "kind", "deliver_notifications"); n < 1 {
		t.Errorf("delivery jobs timed: %v", n)
	}
	if n, _, _ := gathered(t, m, "secondment_job_failures_total", "kind", "deliver_notifications"); n != 0 {
		t.Errorf("a refused post failed the delivery job: %v", n)
	}
	if n, _, _ := gathered(t, m, "secondment_notification_outbox_undelivered"); n != 1 {
		t.Errorf("undelivered after the jobs: %v, want 1 (the refused one, waiting its backoff)", n)
	}
	if n, _, _ := gathered(t, m, "secondment_job_queue_jobs", "kind", "sweep", "state", "cancelled"); n != 1 {
		t.Errorf("cancelled sweeps in the queue: %v, want 1", n)
	}
	if n, _, _ := gathered(t, m, "secondment_sweep_last_finished_timestamp_seconds"); n < float64(now.Unix()) {
		t.Errorf("last sweep finished at %v, want after %d", n, now.Unix())
	}
}
