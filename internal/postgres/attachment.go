package postgres

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Attachment is a file kept with a request: a scanned letter.
type Attachment struct {
	ID           int64
	SecondmentID int64
	Name         string
	ContentType  string
	Size         int64
	Data         []byte // only when read for download
	UploadedAt   time.Time
	Action       string // the step it came with (consent, …); "" when none
}

// AttachmentAdd stores a file that came with a draft (the borrowing
// unit's letter), not with a step.
func (t *Tx) AttachmentAdd(ctx context.Context, secondmentID, userID int64, a *Attachment, now time.Time) error {
	return insertAttachment(ctx, t.q, secondmentID, 0, userID, a, now)
}

// DraftLetterCount counts the files kept with request id that came with
// its draft (the borrowing unit's letters), not with a step.
func (t *Tx) DraftLetterCount(ctx context.Context, id int64) (int, error) {
	var n int
	if err := t.q.QueryRow(ctx, `SELECT count(*) FROM attachment WHERE secondment_id = $1 AND decision_id IS NULL`,
		id).Scan(&n); err != nil {
		return 0, fmt.Errorf("count letters of secondment %d: %w", id, err)
	}
	return n, nil
}

// insertAttachment stores a file of the step just taken, in its transaction.
func insertAttachment(ctx context.Context, q dbtx, secondmentID, decisionID, userID int64, a *Attachment, now time.Time) error {
	sum := sha256.Sum256(a.Data)
	_, err := q.Exec(ctx, `
		INSERT INTO attachment (secondment_id, decision_id, name, content_type, size, data, sha256, uploaded_by, uploaded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		secondmentID, nullID(decisionID), a.Name, a.ContentType, len(a.Data), a.Data, sum[:], nullID(userID), now)
	if err != nil {
		return fmt.Errorf("store attachment %s: %w", a.Name, mapError(err, "attachment"))
	}
	return nil
}

// AttachmentList lists a request's files, without their content.
func (s *Store) AttachmentList(ctx context.Context, secondmentID int64) ([]Attachment, error) {
	rows, err := s.Pool.Query(ctx, `SELECT a.id, a.secondment_id, a.name, a.content_type, a.size, a.uploaded_at,
		coalesce(d.action, '')
		FROM attachment a LEFT JOIN decision d ON d.id = a.decision_id
		WHERE a.secondment_id = $1 ORDER BY a.id`, secondmentID)
	if err != nil {
		return nil, fmt.Errorf("list attachments: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Attachment, error) {
		var a Attachment
		err := r.Scan(&a.ID, &a.SecondmentID, &a.Name, &a.ContentType, &a.Size, &a.UploadedAt, &a.Action)
		return a, err
	})
}

// AttachmentGet returns one file of a request with its content; a file of
// another request is not found.
func (s *Store) AttachmentGet(ctx context.Context, secondmentID, id int64) (Attachment, error) {
	var a Attachment
	err := s.Pool.QueryRow(ctx, `SELECT id, secondment_id, name, content_type, size, data, uploaded_at
		FROM attachment WHERE id = $1 AND secondment_id = $2`, id, secondmentID).
		Scan(&a.ID, &a.SecondmentID, &a.Name, &a.ContentType, &a.Size, &a.Data, &a.UploadedAt)
	if err != nil {
		return a, fmt.Errorf("get attachment %d: %w", id, mapError(err, "attachment"))
	}
	return a, nil
}
