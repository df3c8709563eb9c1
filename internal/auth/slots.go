package auth

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"secondment/internal/secondment"
)

// Slots bounds how many password hashes run at once. argon2id takes its
// memory for each hash (64 MiB with the default parameters), so eight
// people signing in together would take half a gigabyte; with N slots the
// process never holds more than N of them, and the others queue.
type Slots struct {
	ch        chan struct{}
	cur, peak atomic.Int64
}

// NewSlots makes n slots (at least one).
func NewSlots(n int) *Slots { return &Slots{ch: make(chan struct{}, max(n, 1))} }

// busyRetry is what a caller queued too long is told to wait.
const busyRetry = 5 * time.Second

// Acquire waits for a slot until ctx ends; the caller must call release.
// A caller that waited in vain is told to come back shortly
// (EUnavailable), not that their password was wrong.
func (s *Slots) Acquire(ctx context.Context) (release func(), err error) {
	select {
	case s.ch <- struct{}{}:
	case <-ctx.Done():
		return nil, &secondment.Error{Code: secondment.EUnavailable, Message: secondment.Msg("auth.busy"),
			RetryAfter: busyRetry, Err: fmt.Errorf("no hashing slot: %w", ctx.Err())}
	}
	n := s.cur.Add(1)
	for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
	return func() { s.cur.Add(-1); <-s.ch }, nil
}

// Peak is the most hashes that ran at once so far.
func (s *Slots) Peak() int { return int(s.peak.Load()) }
