package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"secondment/internal/secondment"
)

// Tx is a use case's transaction: the store's statements, run in it. A use
// case owns its transaction (Store.InTx) and passes it to these methods, so
// its visibility read and its write commit together or not at all.
type Tx struct {
	q pgx.Tx
	// pending are writes queued to go with the transaction's next batch
	// (RegisterLater), each with what reads its result.
	pending []pendingWrite
	// numbers are the register numbers reserved and not yet used, and
	// ahead how many registrations the caller expects still.
	numbers map[numberKey]numberBlock
	ahead   int
}

type pendingWrite struct {
	sql  string
	args []any
	read func(pgx.BatchResults) error
}

// queue adds a write to be sent with t's next batch.
func (t *Tx) queue(sql string, args []any, read func(pgx.BatchResults) error) {
	t.pending = append(t.pending, pendingWrite{sql, args, read})
}

// queued moves t's pending writes to the front of b, and returns what
// reads their results from b's results: the first error stops it, and
// PostgreSQL fails every later statement of the transaction anyway.
func (t *Tx) queued(b *pgx.Batch) func(pgx.BatchResults) error {
	pending := t.pending
	t.pending = nil
	for _, p := range pending {
		b.Queue(p.sql, p.args...)
	}
	return func(br pgx.BatchResults) error {
		for _, p := range pending {
			if err := p.read(br); err != nil {
				return err
			}
		}
		return nil
	}
}

// finish readies t to commit: a write still queued is written, never
// dropped, and reserved numbers not used are given back.
func (t *Tx) finish(ctx context.Context) error {
	return t.releaseNumbers(ctx)
}

// Flush sends t's pending writes, in one round trip.
func (t *Tx) Flush(ctx context.Context) error {
	if len(t.pending) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	read := t.queued(b)
	br := t.q.SendBatch(ctx, b)
	if err := read(br); err != nil {
		_ = br.Close()
		return err
	}
	return br.Close()
}

// InTx runs fn in one read-committed transaction: committed when fn
// returns nil, rolled back otherwise. A deadlock or serialization failure
// comes back as EConflict.
func (s *Store) InTx(ctx context.Context, fn func(*Tx) error) error {
	return s.inTxOpts(ctx, pgx.TxOptions{}, fn)
}

// ReadTx runs fn in a read-only transaction on one snapshot, for a page
// that reads a request and what hangs off it.
func (s *Store) ReadTx(ctx context.Context, fn func(*Tx) error) error {
	return s.inTxOpts(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

func (s *Store) inTxOpts(ctx context.Context, o pgx.TxOptions, fn func(*Tx) error) error {
	tx, err := s.Pool.BeginTx(ctx, o)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	t := &Tx{q: tx}
	if err := fn(t); err != nil {
		return retryable(err)
	}
	if err := t.finish(ctx); err != nil {
		return retryable(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return retryable(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// retryable turns a deadlock or a serialization failure into a conflict:
// another transaction won, the caller may look again.
func retryable(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001") {
		return &secondment.Error{Code: secondment.EConflict, Message: secondment.Msg("error.conflict"), Err: err}
	}
	return err
}

// inTx is InTx for the store's own multi-statement writes.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.InTx(ctx, func(t *Tx) error { return fn(t.q) })
}

// Savepoint runs fn in a savepoint of t: what fn wrote is kept when it
// returns nil and undone, alone, when it returns an error, which Savepoint
// returns. The transaction goes on either way.
func (t *Tx) Savepoint(ctx context.Context, fn func(*Tx) error) error {
	// What was queued before belongs to the transaction, not the savepoint.
	if err := t.Flush(ctx); err != nil {
		return err
	}
	sp, err := t.q.Begin(ctx)
	if err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	// The savepoint shares t's reserved numbers; undone, it gives back
	// those it took (and a block it reserved: the counter's update is
	// undone with it).
	before := maps.Clone(t.numbers)
	inner := &Tx{q: sp, numbers: t.numbers, ahead: t.ahead}
	if inner.numbers == nil {
		inner.numbers = map[numberKey]numberBlock{}
		t.numbers = inner.numbers
	}
	err = fn(inner)
	if err == nil {
		err = inner.Flush(ctx) // the savepoint's own queued writes are its own
	}
	if err != nil {
		clear(t.numbers)
		maps.Copy(t.numbers, before)
		if rerr := sp.Rollback(ctx); rerr != nil {
			return fmt.Errorf("roll back to savepoint: %w (after %w)", rerr, err)
		}
		return err
	}
	t.ahead = inner.ahead
	return sp.Commit(ctx)
}
