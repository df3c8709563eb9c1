package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// linkContent is the canonical content of a chain link, written out here
// as in migration 34's audit_chain_content rather than called, so that a
// replaced function in the database cannot make a broken chain verify.
// c is the audit_chain row, e the audit_event it links.
const linkContent = `convert_to(jsonb_build_array(c.seq, c.lane, c.prev_seq, e.id, (extract(epoch FROM e.at) * 1000000)::bigint,
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
	AnchorSeq  int64 // the links up to here were purged (the highest anchor of the lanes)
	HeadSeq    int64 // the newest link of all
	HeadHash   []byte
	Heads      []ChainPoint // every lane's newest link: what to note down outside
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
		type lane struct {
			head, anchor ChainPoint
			prevSeq      int64
			prev         []byte
		}
		lanes := map[int16]*lane{}
		rows, err := tx.q.Query(ctx, `SELECT lane, seq, hash, anchor_seq, anchor_hash FROM audit_chain_head ORDER BY lane`)
		if err != nil {
			return fmt.Errorf("read the audit chain's heads: %w", err)
		}
		for rows.Next() {
			var n int16
			l := &lane{}
			if err := rows.Scan(&n, &l.head.Seq, &l.head.Hash, &l.anchor.Seq, &l.anchor.Hash); err != nil {
				rows.Close()
				return fmt.Errorf("read the audit chain's heads: %w", err)
			}
			l.prevSeq, l.prev = l.anchor.Seq, l.anchor.Hash
			lanes[n] = l
			r.AnchorSeq = max(r.AnchorSeq, l.anchor.Seq)
			if l.head.Seq > l.anchor.Seq {
				r.Heads = append(r.Heads, l.head)
			}
			if l.head.Seq > r.HeadSeq {
				r.HeadSeq, r.HeadHash = l.head.Seq, l.head.Hash
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read the audit chain's heads: %w", err)
		}
		if r.HeadHash == nil {
			r.HeadHash = make([]byte, sha256.Size)
		}
		want := map[int64][]byte{}
		for _, p := range expect {
			want[p.Seq] = p.Hash
		}
		// The heads recorded by the last clean verification must still be
		// links of the chain: a rewrite from an earlier point shows here.
		var recorded []byte
		err = tx.q.QueryRow(ctx, `SELECT heads FROM audit_verification WHERE ok ORDER BY id DESC LIMIT 1`).Scan(&recorded)
		switch {
		case err == nil:
			var heads []struct {
				Seq  int64  `json:"seq"`
				Hash string `json:"hash"`
			}
			if err := json.Unmarshal(recorded, &heads); err != nil {
				return fmt.Errorf("read the last verification's heads: %w", err)
			}
			for _, h := range heads {
				if b, err := hex.DecodeString(h.Hash); err == nil && h.Seq > r.AnchorSeq {
					if _, given := want[h.Seq]; !given {
						want[h.Seq] = b
					}
				}
			}
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("read the last verification: %w", err)
		}

		// Lane by lane, in link order, one pass over the chain.
		rows, err = tx.q.Query(ctx, `
			SELECT c.lane, c.seq, c.prev_seq, c.hash, e.id IS NOT NULL, `+linkContent+`
			FROM audit_chain c LEFT JOIN audit_event e ON e.id = c.event_id
			ORDER BY c.lane, c.seq`)
		if err != nil {
			return fmt.Errorf("read the audit chain: %w", err)
		}
		defer rows.Close()
		var n int16
		var seq, prevSeq int64
		var hash, content []byte
		var present bool
		h := sha256.New()
		for rows.Next() {
			if err := rows.Scan(&n, &seq, &prevSeq, &hash, &present, &content); err != nil {
				return fmt.Errorf("read the audit chain: %w", err)
			}
			l := lanes[n]
			if l == nil || seq <= l.anchor.Seq {
				continue // a lane unknown to the head is caught below; a purged link's leftovers too
			}
			switch {
			case prevSeq != l.prevSeq:
				// The link before this one in its lane is not the one the
				// lane holds: it was deleted (or the link forged).
				r.BrokenSeq, r.Problem = min(prevSeq, seq), ChainGap
				if prevSeq < l.prevSeq {
					r.BrokenSeq = seq
				}
			case !present:
				r.BrokenSeq, r.Problem = seq, ChainMissing
			default:
				h.Reset()
				h.Write(l.prev)
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
			l.prev, l.prevSeq = hash, seq
			delete(want, seq)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read the audit chain: %w", err)
		}
		for _, l := range lanes {
			if l.prevSeq != l.head.Seq || !bytes.Equal(l.prev, l.head.Hash) {
				// The head names a link the lane no longer ends with (its
				// last link deleted with its event), or links run past it.
				r.BrokenSeq, r.Problem = max(l.prevSeq, l.head.Seq), ChainHead
				if l.head.Seq > l.prevSeq {
					r.BrokenSeq = l.head.Seq
				}
				return nil
			}
		}
		// A link noted earlier that the chain no longer holds.
		for p := range want {
			if p > r.AnchorSeq {
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
	type head struct {
		Seq  int64  `json:"seq"`
		Hash string `json:"hash"`
	}
	heads := []head{}
	for _, h := range r.Heads {
		heads = append(heads, head{h.Seq, hex.EncodeToString(h.Hash)})
	}
	hj, err := json.Marshal(heads)
	if err != nil {
		return fmt.Errorf("record the audit verification: %w", err)
	}
	if err := s.Pool.QueryRow(ctx, `
		INSERT INTO audit_verification (started_at, finished_at, origin, checked, head_seq, head_hash, ok, broken_seq, problem, heads)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		r.StartedAt, r.FinishedAt, r.Origin, r.Checked, r.HeadSeq, r.HeadHash, r.OK, broken, r.Problem, hj).Scan(&r.ID); err != nil {
		return fmt.Errorf("record the audit verification: %w", err)
	}
	return nil
}

// AuditVerifications lists the latest verifications, newest first.
func (s *Store) AuditVerifications(ctx context.Context, limit int) ([]ChainReport, error) {
	rows, err := s.Pool.Query(ctx, `
		SELECT id, started_at, finished_at, origin, checked, head_seq, head_hash, ok, coalesce(broken_seq, 0), problem, heads
		FROM audit_verification ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list audit verifications: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (ChainReport, error) {
		var r ChainReport
		var heads []byte
		if err := row.Scan(&r.ID, &r.StartedAt, &r.FinishedAt, &r.Origin, &r.Checked, &r.HeadSeq, &r.HeadHash,
			&r.OK, &r.BrokenSeq, &r.Problem, &heads); err != nil {
			return r, err
		}
		var hs []struct {
			Seq  int64  `json:"seq"`
			Hash string `json:"hash"`
		}
		if err := json.Unmarshal(heads, &hs); err != nil {
			return r, fmt.Errorf("audit verification %d's heads: %w", r.ID, err)
		}
		for _, h := range hs {
			b, _ := hex.DecodeString(h.Hash)
			r.Heads = append(r.Heads, ChainPoint{Seq: h.Seq, Hash: b})
		}
		return r, nil
	})
}

// MinAuditKeepMonths is the least retention a purge accepts: the
// Cybersecurity Law (网络安全法 art. 21) wants network logs kept at least
// six months, and 等保 level 3 checks it.
const MinAuditKeepMonths = 6

// Purged is what a retention purge removed.
type Purged struct {
	Events     int64
	ThroughSeq int64  // the newest link purged, of all lanes
	Anchor     []byte // its hash; each lane's anchor is where its verification now starts
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
		// Lane by lane: the links recorded before the day form a prefix of
		// each lane (recorded_at is taken under the lane's lock).
		rows, err := tx.q.Query(ctx, `
			SELECT h.lane, h.anchor_seq, c.seq, c.hash
			FROM audit_chain_head h
			JOIN LATERAL (SELECT seq, hash FROM audit_chain WHERE lane = h.lane AND recorded_at < $1
			              ORDER BY seq DESC LIMIT 1) c ON true
			WHERE c.seq > h.anchor_seq
			ORDER BY h.lane FOR UPDATE OF h`, before)
		if err != nil {
			return fmt.Errorf("find the purge's end: %w", err)
		}
		type cut struct {
			lane            int16
			anchor, through int64
			hash            []byte
		}
		var cuts []cut
		for rows.Next() {
			var c cut
			if err := rows.Scan(&c.lane, &c.anchor, &c.through, &c.hash); err != nil {
				rows.Close()
				return fmt.Errorf("find the purge's end: %w", err)
			}
			cuts = append(cuts, c)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("find the purge's end: %w", err)
		}
		if len(cuts) == 0 {
			return nil
		}
		lanes := map[string]any{}
		for _, c := range cuts {
			tag, err := tx.q.Exec(ctx, `DELETE FROM audit_event WHERE id IN
				(SELECT event_id FROM audit_chain WHERE lane = $1 AND seq > $2 AND seq <= $3)`, c.lane, c.anchor, c.through)
			if err != nil {
				return fmt.Errorf("purge audit events: %w", err)
			}
			p.Events += tag.RowsAffected()
			if _, err := tx.q.Exec(ctx, `DELETE FROM audit_chain WHERE lane = $1 AND seq > $2 AND seq <= $3`, c.lane, c.anchor, c.through); err != nil {
				return fmt.Errorf("purge audit links: %w", err)
			}
			if _, err := tx.q.Exec(ctx, `UPDATE audit_chain_head SET anchor_seq = $2, anchor_hash = $3 WHERE lane = $1`,
				c.lane, c.through, c.hash); err != nil {
				return fmt.Errorf("move the audit chain's anchor: %w", err)
			}
			if c.through > p.ThroughSeq {
				p.ThroughSeq, p.Anchor = c.through, c.hash
			}
			lanes[strconv.Itoa(int(c.lane))] = map[string]any{"through_seq": c.through, "anchor": hex.EncodeToString(c.hash)}
		}
		return auditInsert(ctx, tx.q, AuditEvent{At: now, ActorName: actor, Action: "audit.purge", ObjectType: "audit",
			Detail: map[string]any{"before": before.Format(time.DateOnly), "events": p.Events, "lanes": lanes,
				"keep_months": keepMonths}})
	})
	return p, err
}
