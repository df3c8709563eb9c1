package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// linkContent is the canonical content of a chain link, written out here
// as in migration 34's audit_chain_content rather than called, so that a
// replaced function in the database cannot make a broken chain verify.
// c is the audit_chain row, e the audit_event it links.
const linkContent = `convert_to(jsonb_build_array(c.seq, e.id, (extract(epoch FROM e.at) * 1000000)::bigint,
	e.actor_user_id, e.actor_name, e.action, e.object_type, e.object_id, e.unit_id, e.detail,
	e.request_id, (extract(epoch FROM c.recorded_at) * 1000000)::bigint)::text, 'UTF8')`

// Chain problems, as stored in audit_verification.problem.
const (
	ChainHash     = "hash"           // a link's hash does not match its event and the link before
	ChainGap      = "gap"            // a link is missing
	ChainMissing  = "missing_event"  // a link's event was deleted
	ChainUnlinked = "unlinked_event" // an event was written without a link
	ChainHead     = "head"           // the newest link is not the recorded head
	ChainExpected = "expected"       // a head noted earlier is no longer in the chain
)

// ChainReport is what one verification of the audit chain found.
type ChainReport struct {
	ID         int64 // in audit_verification; 0 until recorded
	StartedAt  time.Time
	FinishedAt time.Time
	Origin     string
	Checked    int64 // links checked
	AnchorSeq  int64 // the links before this were purged
	HeadSeq    int64
	HeadHash   []byte
	OK         bool
	BrokenSeq  int64  // the first broken link (an event ID for ChainUnlinked)
	Problem    string // one of the Chain* codes; "" when OK
}

// HeadHex is the head hash as an auditor writes it down.
func (r ChainReport) HeadHex() string { return hex.EncodeToString(r.HeadHash) }

// ChainPoint is a link noted outside the database (a log line, a printed
// page): seq and the hash it had. Verifying with it proves the chain up to
// it was not rewritten wholesale, which no in-database check can.
type ChainPoint struct {
	Seq  int64
	Hash []byte
}

// ParseChainPoint reads "SEQ:HEX", as `secondment audit verify` prints it.
func ParseChainPoint(s string) (ChainPoint, error) {
	var p ChainPoint
	var h string
	if _, err := fmt.Sscanf(s, "%d:%s", &p.Seq, &h); err != nil || p.Seq <= 0 {
		return p, fmt.Errorf("%q is not SEQ:HASH (for example 1042:9f86d0…)", s)
	}
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != sha256.Size {
		return p, fmt.Errorf("%q: the hash must be 64 hexadecimal digits", s)
	}
	p.Hash = b
	return p, nil
}

// AuditVerify walks the whole chain on one snapshot and reports the first
// broken link. It reads the events in link order, one pass, so a province's
// trail takes seconds, not memory. expect, if given, are links noted
// earlier that must still be there.
func (s *Store) AuditVerify(ctx context.Context, now func() time.Time, origin string, expect ...ChainPoint) (ChainReport, error) {
	r := ChainReport{StartedAt: now(), Origin: origin}
	err := s.ReadTx(ctx, func(tx *Tx) error {
		var anchorHash []byte
		if err := tx.q.QueryRow(ctx, `SELECT seq, hash, anchor_seq, anchor_hash FROM audit_chain_head`).
			Scan(&r.HeadSeq, &r.HeadHash, &r.AnchorSeq, &anchorHash); err != nil {
			return fmt.Errorf("read the audit chain's head: %w", err)
		}
		want := map[int64][]byte{}
		for _, p := range expect {
			want[p.Seq] = p.Hash
		}
		// The head recorded by the last clean verification must still be
		// a link of the chain: a rewrite from an earlier point shows here.
		var lastSeq int64
		var lastHash []byte
		err := tx.q.QueryRow(ctx, `SELECT head_seq, head_hash FROM audit_verification
			WHERE ok AND head_seq > $1 ORDER BY id DESC LIMIT 1`, r.AnchorSeq).Scan(&lastSeq, &lastHash)
		if err == nil {
			if _, given := want[lastSeq]; !given {
				want[lastSeq] = lastHash
			}
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("read the last verification: %w", err)
		}

		rows, err := tx.q.Query(ctx, `
			SELECT c.seq, c.hash, e.id IS NOT NULL, `+linkContent+`
			FROM audit_chain c LEFT JOIN audit_event e ON e.id = c.event_id
			WHERE c.seq > $1 ORDER BY c.seq`, r.AnchorSeq)
		if err != nil {
			return fmt.Errorf("read the audit chain: %w", err)
		}
		defer rows.Close()
		prev, prevSeq := anchorHash, r.AnchorSeq
		var seq int64
		var hash, content []byte
		var present bool
		h := sha256.New()
		for rows.Next() {
			if err := rows.Scan(&seq, &hash, &present, &content); err != nil {
				return fmt.Errorf("read the audit chain: %w", err)
			}
			switch {
			case seq != prevSeq+1:
				r.BrokenSeq, r.Problem = prevSeq+1, ChainGap
			case !present:
				r.BrokenSeq, r.Problem = seq, ChainMissing
			default:
				h.Reset()
				h.Write(prev)
				h.Write(content)
				if !bytes.Equal(h.Sum(nil), hash) {
					r.BrokenSeq, r.Problem = seq, ChainHash
				}
			}
			if w, ok := want[seq]; ok && r.Problem == "" && !bytes.Equal(w, hash) {
				r.BrokenSeq, r.Problem = seq, ChainExpected
			}
			if r.Problem != "" {
				return nil
			}
			r.Checked++
			prev, prevSeq = hash, seq
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read the audit chain: %w", err)
		}
		if prevSeq != r.HeadSeq || !bytes.Equal(prev, r.HeadHash) {
			// Links past the head, or a head past the last link: the first
			// link the head and the chain disagree on.
			r.BrokenSeq, r.Problem = min(prevSeq, r.HeadSeq)+1, ChainHead
			return nil
		}
		for p := range want {
			if p > r.HeadSeq || p <= r.AnchorSeq {
				r.BrokenSeq, r.Problem = p, ChainExpected
				return nil
			}
		}
		// An event written behind the trigger's back has no link.
		var unlinked *int64
		if err := tx.q.QueryRow(ctx, `
			SELECT min(e.id) FROM audit_event e
			WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.event_id = e.id)`).Scan(&unlinked); err != nil {
			return fmt.Errorf("look for unlinked audit events: %w", err)
		}
		if unlinked != nil {
			r.BrokenSeq, r.Problem = *unlinked, ChainUnlinked
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	r.OK = r.Problem == ""
	r.FinishedAt = now()
	return r, nil
}

// AuditRecordVerification stores r for the auditor's pages, which show a
// broken chain at the top until a later verification passes.
func (s *Store) AuditRecordVerification(ctx context.Context, r *ChainReport) error {
	var broken *int64
	if !r.OK {
		broken = &r.BrokenSeq
	}
	if err := s.Pool.QueryRow(ctx, `
		INSERT INTO audit_verification (started_at, finished_at, origin, checked, head_seq, head_hash, ok, broken_seq, problem)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		r.StartedAt, r.FinishedAt, r.Origin, r.Checked, r.HeadSeq, r.HeadHash, r.OK, broken, r.Problem).Scan(&r.ID); err != nil {
		return fmt.Errorf("record the audit verification: %w", err)
	}
	return nil
}

// AuditVerifications lists the latest verifications, newest first.
func (s *Store) AuditVerifications(ctx context.Context, limit int) ([]ChainReport, error) {
	rows, err := s.Pool.Query(ctx, `
		SELECT id, started_at, finished_at, origin, checked, head_seq, head_hash, ok, coalesce(broken_seq, 0), problem
		FROM audit_verification ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list audit verifications: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (ChainReport, error) {
		var r ChainReport
		err := row.Scan(&r.ID, &r.StartedAt, &r.FinishedAt, &r.Origin, &r.Checked, &r.HeadSeq, &r.HeadHash,
			&r.OK, &r.BrokenSeq, &r.Problem)
		return r, err
	})
}

// MinAuditKeepMonths is the least retention a purge accepts: the
// Cybersecurity Law (网络安全法 art. 21) wants network logs kept at least
// six months, and 等保 level 3 checks it.
const MinAuditKeepMonths = 6

// Purged is what a retention purge removed.
type Purged struct {
	Events     int64
	ThroughSeq int64  // the new anchor: links up to here are gone
	Anchor     []byte // its hash, from which verification now starts
}

// AuditPurge deletes the events recorded before before, with their links,
// and moves the chain's anchor to the last link deleted, so the rest still
// verifies. Only a prefix of the chain goes: it stops at the first link
// recorded on or after before. Nothing recorded within keepMonths of now
// (at least MinAuditKeepMonths) is touched. It must run as the tables'
// owner; the purge is itself an audit event.
func (s *Store) AuditPurge(ctx context.Context, before, now time.Time, keepMonths int, actor string) (Purged, error) {
	var p Purged
	if keepMonths < MinAuditKeepMonths {
		return p, fmt.Errorf("keep %d months: the audit trail is kept at least %d months", keepMonths, MinAuditKeepMonths)
	}
	if limit := now.AddDate(0, -keepMonths, 0); before.After(limit) {
		return p, fmt.Errorf("purge before %s: events recorded after %s are within the %d months kept",
			before.Format(time.DateOnly), limit.Format(time.DateOnly), keepMonths)
	}
	err := s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.q.Exec(ctx, `SET LOCAL secondment.audit_purge = 'on'`); err != nil {
			return fmt.Errorf("purge the audit trail: %w", err)
		}
		var anchor int64
		if err := tx.q.QueryRow(ctx, `SELECT anchor_seq FROM audit_chain_head FOR UPDATE`).Scan(&anchor); err != nil {
			return fmt.Errorf("lock the audit chain: %w", err)
		}
		if err := tx.q.QueryRow(ctx, `
			SELECT coalesce((SELECT min(seq) FROM audit_chain WHERE recorded_at >= $1), (SELECT seq FROM audit_chain_head) + 1) - 1`,
			before).Scan(&p.ThroughSeq); err != nil {
			return fmt.Errorf("find the purge's end: %w", err)
		}
		if p.ThroughSeq <= anchor {
			p.ThroughSeq = anchor
			return nil
		}
		if err := tx.q.QueryRow(ctx, `SELECT hash FROM audit_chain WHERE seq = $1`, p.ThroughSeq).Scan(&p.Anchor); err != nil {
			return fmt.Errorf("read the new anchor: %w", err)
		}
		tag, err := tx.q.Exec(ctx, `DELETE FROM audit_event WHERE id IN
			(SELECT event_id FROM audit_chain WHERE seq > $1 AND seq <= $2)`, anchor, p.ThroughSeq)
		if err != nil {
			return fmt.Errorf("purge audit events: %w", err)
		}
		p.Events = tag.RowsAffected()
		if _, err := tx.q.Exec(ctx, `DELETE FROM audit_chain WHERE seq > $1 AND seq <= $2`, anchor, p.ThroughSeq); err != nil {
			return fmt.Errorf("purge audit links: %w", err)
		}
		if _, err := tx.q.Exec(ctx, `UPDATE audit_chain_head SET anchor_seq = $1, anchor_hash = $2`, p.ThroughSeq, p.Anchor); err != nil {
			return fmt.Errorf("move the audit chain's anchor: %w", err)
		}
		return auditInsert(ctx, tx.q, AuditEvent{At: now, ActorName: actor, Action: "audit.purge", ObjectType: "audit",
			Detail: map[string]any{"before": before.Format(time.DateOnly), "events": p.Events, "through_seq": p.ThroughSeq,
				"anchor": hex.EncodeToString(p.Anchor), "keep_months": keepMonths}})
	})
	return p, err
}
