package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/province"
)

// outcome is how one step of a phase ended.
type outcome int

const (
	stepOK        outcome = iota
	stepFailed            // the service refused or failed it: counted, never hidden
	stepExhausted         // no request is left to move: the client stops
)

// stepFunc takes one step for a client. An error is fatal to the run.
type stepFunc func(ctx context.Context, client int) (outcome, error)

// window is what a phase measured.
type window struct {
	steps, failed, attempts int
	elapsed                 time.Duration // of the measured window
	latencies               []time.Duration
	exhausted               bool
}

func (w window) rate() float64 {
	if w.elapsed <= 0 {
		return 0
	}
	return float64(w.steps) / w.elapsed.Seconds()
}

// percentile of the successful steps' latencies (sorted by measure).
func (w window) percentile(p float64) time.Duration {
	if len(w.latencies) == 0 {
		return 0
	}
	i := min(len(w.latencies)-1, int(p*float64(len(w.latencies))))
	return w.latencies[i]
}

// measure runs clients concurrent loops of step from start: a warm-up, then
// the measured window of length dur. A step counts in the window if it
// completes inside it. In-flight steps at the end finish but do not count.
// If the work runs out, the window ends at the last step that completed.
func measure(ctx context.Context, start time.Time, clients int, warmup, dur time.Duration, step stepFunc) (window, error) {
	from, until := start.Add(warmup), start.Add(warmup+dur)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		w    window
		last time.Time
		err  error
	}
	results := make(chan result, clients)
	for c := range clients {
		go func() {
			var r result
			for ctx.Err() == nil && time.Now().Before(until) {
				t0 := time.Now()
				out, err := step(ctx, c)
				t1 := time.Now()
				if err != nil {
					r.err = err
					cancel()
					break
				}
				if out == stepExhausted {
					r.w.exhausted = true
					break
				}
				r.w.attempts++
				if out == stepFailed {
					r.w.failed++
					continue
				}
				if !t1.Before(from) && t1.Before(until) {
					r.w.steps++
					r.w.latencies = append(r.w.latencies, t1.Sub(t0))
					r.last = t1
				}
			}
			results <- r
		}()
	}
	var w window
	var last time.Time
	var errs []error
	for range clients {
		r := <-results
		errs = append(errs, r.err)
		w.steps += r.w.steps
		w.failed += r.w.failed
		w.attempts += r.w.attempts
		w.exhausted = w.exhausted || r.w.exhausted
		w.latencies = append(w.latencies, r.w.latencies...)
		if r.last.After(last) {
			last = r.last
		}
	}
	if err := errors.Join(errs...); err != nil {
		return w, err
	}
	if err := ctx.Err(); err != nil {
		return w, err
	}
	w.elapsed = dur
	if w.exhausted {
		w.elapsed = last.Sub(from)
		if w.steps == 0 {
			return w, errors.New("the waiting requests ran out before the measured window began: raise -pool")
		}
	}
	slices.Sort(w.latencies)
	return w, nil
}

// baseline is the raw PostgreSQL figure: per transaction one guarded
// UPDATE of a row the client owns and one audit INSERT with a jsonb
// detail, each client on its own connection. Clients own disjoint rows and
// track their versions, so no transaction ever conflicts or misses.
type baseline struct {
	conns    []*pgx.Conn
	rows     [][]int64 // per client, the IDs it owns
	versions []map[int64]int
	next     []int
}

const rowsPerClient = 1000

func newBaseline(ctx context.Context, url string, clients int) (*baseline, error) {
	b := &baseline{}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	for _, sql := range []string{
		`CREATE TABLE IF NOT EXISTS bench_item (id bigint PRIMARY KEY, state text NOT NULL,
			version integer NOT NULL, updated_at timestamptz NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS bench_audit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			at timestamptz NOT NULL DEFAULT now(), item_id bigint NOT NULL, action text NOT NULL, detail jsonb NOT NULL)`,
		`TRUNCATE bench_item, bench_audit`,
		fmt.Sprintf(`INSERT INTO bench_item SELECT g, 'awaiting_consent', 1, now() FROM generate_series(1, %d) g`, clients*rowsPerClient),
		`VACUUM ANALYZE bench_item, bench_audit`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return nil, fmt.Errorf("baseline tables: %w", err)
		}
	}
	for c := range clients {
		cc, err := pgx.Connect(ctx, url)
		if err != nil {
			b.close()
			return nil, fmt.Errorf("connect client %d: %w", c, err)
		}
		ids, versions := make([]int64, rowsPerClient), map[int64]int{}
		for i := range ids {
			ids[i] = int64(i*clients + c + 1)
			versions[ids[i]] = 1
		}
		b.conns, b.rows, b.versions = append(b.conns, cc), append(b.rows, ids), append(b.versions, versions)
		b.next = append(b.next, 0)
	}
	return b, nil
}

var states = [2]string{"awaiting_consent", "awaiting_signoff"}

// step is one baseline transaction of client c.
func (b *baseline) step(ctx context.Context, c int) (outcome, error) {
	id := b.rows[c][b.next[c]%rowsPerClient]
	b.next[c]++
	v := b.versions[c][id]
	to := states[v%2]
	err := pgx.BeginFunc(ctx, b.conns[c], func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE bench_item SET state = $2, version = version + 1, updated_at = now()
			WHERE id = $1 AND version = $3`, id, to, v)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("row %d was not at version %d", id, v)
		}
		_, err = tx.Exec(ctx, `INSERT INTO bench_audit (item_id, action, detail) VALUES ($1, $2, $3)`,
			id, "item.step", map[string]any{"from": states[(v+1)%2], "to": to, "version": v + 1})
		return err
	})
	if err != nil {
		return stepFailed, fmt.Errorf("baseline transaction: %w", err)
	}
	b.versions[c][id] = v + 1
	return stepOK, nil
}

func (b *baseline) close() {
	for _, c := range b.conns {
		_ = c.Close(context.Background())
	}
}

// action is one kind of step through the JSON API, fed from a queue of
// waiting requests that lasts across the action's phases.
type action struct {
	name   string // consent or approve
	body   string
	base   string
	client *http.Client
	queue  chan province.Work

	mu    sync.Mutex
	fails []string // the first few refusals, shown in full
	done  []int64  // requests moved, checked in the database at the end
}

func newAction(name, body, base string, client *http.Client, items []province.Work) *action {
	a := &action{name: name, body: body, base: base, client: client, queue: make(chan province.Work, len(items))}
	for _, w := range items {
		a.queue <- w
	}
	return a
}

// step takes the next waiting request and moves it on. Only 200 counts.
func (a *action) step(ctx context.Context, _ int) (outcome, error) {
	var w province.Work
	select {
	case w = <-a.queue:
	default:
		return stepExhausted, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		fmt.Sprintf("%s/api/v1/secondments/%d/actions/%s", a.base, w.ID, a.name), strings.NewReader(a.body))
	if err != nil {
		return stepFailed, err
	}
	req.Header.Set("Authorization", "Bearer "+w.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return stepFailed, ctx.Err()
		}
		a.fail(fmt.Sprintf("request %d: %v", w.ID, err))
		return stepFailed, nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 2000))
		a.fail(fmt.Sprintf("request %d: %s %s", w.ID, resp.Status, body))
		return stepFailed, nil
	}
	// Read the whole answer: the step is done when the client has it, and
	// the connection goes back to the pool only once drained.
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		a.fail(fmt.Sprintf("request %d: reading the answer: %v", w.ID, err))
		return stepFailed, nil
	}
	a.mu.Lock()
	a.done = append(a.done, w.ID)
	a.mu.Unlock()
	return stepOK, nil
}

const shownFailures = 5

func (a *action) fail(msg string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.fails) < shownFailures {
		a.fails = append(a.fails, msg)
	}
}

func (a *action) failures() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.fails)
}

// checkFailures aborts the run when more than 1 % of a phase's steps
// failed: a rate made of refusals measures nothing.
func (a *action) checkFailures(w window) error {
	if w.failed == 0 || w.failed*100 <= w.attempts {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return fmt.Errorf("%s: %d of %d steps failed (more than 1 %%); the first:\n  %s",
		a.name, w.failed, w.attempts, strings.Join(a.fails, "\n  "))
}
