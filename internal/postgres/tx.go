package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"secondment/internal/secondment"
)

// Tx is a use case's transaction: the store's statements, run in it. A use
// case owns its transaction (Store.InTx) and passes it to these methods, so
// its visibility read and its write commit together or not at all.
type Tx struct{ q pgx.Tx }

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
	if err := fn(&Tx{q: tx}); err != nil {
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
	sp, err := t.q.Begin(ctx)
	if err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if err := fn(&Tx{q: sp}); err != nil {
		if rerr := sp.Rollback(ctx); rerr != nil {
			return fmt.Errorf("roll back to savepoint: %w (after %w)", rerr, err)
		}
		return err
	}
	return sp.Commit(ctx)
}
