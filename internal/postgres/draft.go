package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/secondment"
)

// ErrKeyReused: the idempotency key created a request from a different
// input; the caller reused a key for another request.
var ErrKeyReused = errors.New("idempotency key reused for a different request")

// IdempotentCreate looks up the request userID created under key: 0 when
// none; ErrKeyReused when it was created from an input of another
// fingerprint.
func (t *Tx) IdempotentCreate(ctx context.Context, userID int64, key string, fingerprint []byte) (int64, error) {
	return idempotentCreate(ctx, t.q, userID, key, fingerprint)
}

// IdempotentCreate is Tx.IdempotentCreate after the transaction that lost
// the race for the key rolled back.
func (s *Store) IdempotentCreate(ctx context.Context, userID int64, key string, fingerprint []byte) (int64, error) {
	return idempotentCreate(ctx, s.Pool, userID, key, fingerprint)
}

func idempotentCreate(ctx context.Context, q dbtx, userID int64, key string, fingerprint []byte) (int64, error) {
	var id int64
	var stored []byte
	err := q.QueryRow(ctx, `SELECT secondment_id, fingerprint FROM idempotency_key WHERE user_id = $1 AND key = $2`, userID, key).
		Scan(&id, &stored)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("look up idempotency key: %w", err)
	}
	if stored != nil && !bytes.Equal(stored, fingerprint) {
		return id, ErrKeyReused
	}
	return id, nil
}

// ErrKeyTaken: a concurrent create of the same idempotency key committed
// first; this one must roll back and return that one's request.
var ErrKeyTaken = errors.New("idempotency key taken concurrently")

// IdempotencyKeySave records that userID's key created request id; a key a
// concurrent create took first is ErrKeyTaken.
func (t *Tx) IdempotencyKeySave(ctx context.Context, userID int64, key string, fingerprint []byte, id int64, now time.Time) error {
	tag, err := t.q.Exec(ctx, `
		INSERT INTO idempotency_key (user_id, key, secondment_id, created_at, fingerprint) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (user_id, key) DO NOTHING`, userID, key, id, now, fingerprint)
	if err != nil {
		return fmt.Errorf("save idempotency key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrKeyTaken
	}
	return nil
}

// PersonHome returns the home unit and the name of person id; a missing
// person is ENotFound.
func (t *Tx) PersonHome(ctx context.Context, id int64) (int64, string, error) {
	return personHome(ctx, t.q, id)
}

// PersonHome is Tx.PersonHome outside a transaction.
func (s *Store) PersonHome(ctx context.Context, id int64) (int64, string, error) {
	return personHome(ctx, s.Pool, id)
}

func personHome(ctx context.Context, q dbtx, id int64) (int64, string, error) {
	var home int64
	var name string
	if err := q.QueryRow(ctx, `SELECT home_unit_id, name FROM person WHERE id = $1`, id).Scan(&home, &name); err != nil {
		return 0, "", fmt.Errorf("person %d: %w", id, mapError(err, "person"))
	}
	return home, name, nil
}

// DraftInsert saves a new draft and returns its ID.
func (t *Tx) DraftInsert(ctx context.Context, d secondment.Secondment, now time.Time) (int64, error) {
	var id int64
	err := t.q.QueryRow(ctx, `
		INSERT INTO secondment (state, kind, alias, purpose, task, person_id, borrower_id, lender_id,
		                        start_date, end_date, previous_id, justification, created_at, updated_at, programme,
		                        salary_with, self_opinion, key_post)
		VALUES ('draft', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15, $16)
		RETURNING id`,
		d.Kind, d.Alias, d.Purpose, d.Task, d.PersonID, d.BorrowerID, d.LenderID,
		dateArg(d.Start), dateArg(d.End), nullID(d.PreviousID), d.Justification, now, d.Programme,
		d.SalaryWith.Or(), d.SelfOpinion, d.KeyPost).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("save draft: %w", mapError(err, "secondment"))
	}
	return id, nil
}

// DraftUpdate writes the form of a draft or sent-back request read at
// version, guarded: another version is ErrVersion. Editing a sent-back
// request records that it changed.
func (t *Tx) DraftUpdate(ctx context.Context, id int64, version int, d secondment.Secondment, now time.Time) (int, error) {
	var v int
	err := t.q.QueryRow(ctx, `
		UPDATE secondment SET kind = $3, alias = $4, purpose = $5, task = $6, person_id = $7, lender_id = $8,
		       start_date = $9, end_date = $10, previous_id = $11, justification = $12, programme = $14,
		       salary_with = $15, self_opinion = $16, key_post = $17,
		       changed_since_sent_back = (state = 'sent_back'), version = version + 1, updated_at = $13
		WHERE id = $1 AND version = $2
		RETURNING version`,
		id, version, d.Kind, d.Alias, d.Purpose, d.Task, d.PersonID, d.LenderID,
		dateArg(d.Start), dateArg(d.End), nullID(d.PreviousID), d.Justification, now, d.Programme,
		d.SalaryWith.Or(), d.SelfOpinion, d.KeyPost).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrVersion
	}
	if err != nil {
		return 0, fmt.Errorf("update secondment %d: %w", id, mapError(err, "secondment"))
	}
	return v, nil
}

// SecondmentGet reads one request with its decisions in the transaction.
func (t *Tx) SecondmentGet(ctx context.Context, id int64) (SecondmentRecord, error) {
	return secondmentGet(ctx, t.q, id, false)
}
