package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/riverqueue/river"

	"secondment/internal/metrics"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// Channel carries a notification beyond the in-app inbox, which reads the
// outbox directly: an e-mail gateway, a 政务微信 robot, … Deliver returns an
// error when the notification did not get through; it is then retried.
type Channel interface {
	Deliver(ctx context.Context, n postgres.Notification) error
}

// Webhook posts each notification as JSON to URL. Any answer but 2xx is a
// failure. The receiver may see a notification twice (delivery is at least
// once) and can tell by its id.
type Webhook struct {
	URL    string
	Client *http.Client // nil: a client with a 10 s timeout
}

// webhookBody is what a Webhook posts: the message as its catalog ID and
// data, so the receiver words it in its own channel and language.
type webhookBody struct {
	ID           int64          `json:"id"`
	Role         string         `json:"role"`
	UnitID       int64          `json:"unit_id"`
	UserID       int64          `json:"user_id,omitempty"`
	SecondmentID int64          `json:"secondment_id,omitempty"`
	Kind         string         `json:"kind"`
	Data         map[string]any `json:"data,omitempty"`
	CreatedAt    time.Time      `json:"created_at"`
}

func (h Webhook) Deliver(ctx context.Context, n postgres.Notification) error {
	body, err := json.Marshal(webhookBody{ID: n.ID, Role: string(n.Role), UnitID: n.UnitID, UserID: n.UserID,
		SecondmentID: n.SecondmentID, Kind: n.Message.ID, Data: n.Message.Data, CreatedAt: n.CreatedAt})
	if err != nil {
		return fmt.Errorf("encode notification %d: %w", n.ID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	client := h.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("webhook answered %s", res.Status)
	}
	return nil
}

// Backoff is how long a notification waits after its attempts-th failed
// delivery: a minute, doubling, at most six hours. It never gives up: a
// notification is not lost because a gateway was down for a day.
func Backoff(attempts int) time.Duration {
	d := time.Minute
	for i := 1; i < attempts && d < 6*time.Hour; i++ {
		d *= 2
	}
	return min(d, 6*time.Hour)
}

// Deliver sends up to limit due notifications through ch, marking each
// delivered or failed (due again after Backoff). Claims skip rows another
// replica holds, so replicas share the work.
func Deliver(ctx context.Context, store *postgres.Store, ch Channel, clock secondment.Clock, limit int) (delivered, failed int, err error) {
	return deliver(ctx, store, ch, clock, limit, nil)
}

// deliver is Deliver recording each delivery's lag (from the
// notification's creation) and each failure in m.
func deliver(ctx context.Context, store *postgres.Store, ch Channel, clock secondment.Clock, limit int, m *metrics.Metrics) (delivered, failed int, err error) {
	ns, err := store.NotificationClaim(ctx, limit, clock.Now())
	if err != nil {
		return 0, 0, fmt.Errorf("claim notifications: %w", err)
	}
	for _, n := range ns {
		if derr := ch.Deliver(ctx, n); derr != nil {
			failed++
			m.NotificationFailed()
			if err := store.NotificationMarkFailed(ctx, n.ID, derr.Error(), clock.Now().Add(Backoff(n.Attempts))); err != nil {
				return delivered, failed, fmt.Errorf("mark notification %d failed: %w", n.ID, err)
			}
			continue
		}
		delivered++
		at := clock.Now()
		m.NotificationDelivered(at.Sub(n.CreatedAt)) // through, whether or not the mark below is
		if err := store.NotificationMarkDelivered(ctx, n.ID, at); err != nil {
			return delivered, failed, fmt.Errorf("mark notification %d delivered: %w", n.ID, err)
		}
	}
	return delivered, failed, nil
}

// DeliverArgs is the periodic delivery job, run only when a channel is
// configured.
type DeliverArgs struct{}

func (DeliverArgs) Kind() string { return "deliver_notifications" }

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	store   *postgres.Store
	channel Channel
	clock   secondment.Clock
	metrics *metrics.Metrics
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	// Batches of 100 until nothing is due, so a backlog drains in one run.
	for {
		delivered, failed, err := deliver(ctx, w.store, w.channel, w.clock, 100, w.metrics)
		if err != nil {
			return err
		}
		if delivered+failed < 100 {
			return nil
		}
	}
}
