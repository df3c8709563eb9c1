package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/secondment"
)

// SweepOptions tune a sweep.
type SweepOptions struct {
	BatchSize    int   // rows per transaction (default 5000: under 0.3 s of locks, see docs/terms.md)
	ReminderDays []int // default secondment.DefaultReminderDays
	// EscalateAfter is the working days a review step may wait before it
	// is flagged to the supervising org dept (default
	// secondment.DefaultEscalateAfter; negative: never).
	EscalateAfter int
	Origin        string
}

// SweepResult counts what a sweep changed.
type SweepResult struct {
	Day                                  secondment.Date
	Renewed, Expired, Overdue, Reminders int
	Escalated                            int
	// RectEscalated counts the irregular ledger entries whose deadline
	// passed, flagged to the supervising org dept.
	RectEscalated int
	// PolicyFlagged counts the running secondments a policy version new
	// in force put on the irregular ledger.
	PolicyFlagged int
	// LongestBatch is the longest any batch transaction held its row
	// locks: what other writers of those rows may have waited.
	LongestBatch time.Duration
	// Batches and SlowBatches count the batch transactions, and those that
	// held their locks over half a second.
	Batches, SlowBatches int
	SlowestBatch         int // 1-based number of the longest batch
}

// Sweep brings every term up to date for day today (Asia/Shanghai) and
// records the run:
//
//   - a term whose end has passed and whose renewal is approved hands over
//     to it (succeed, then the renewal starts), both in one transaction;
//   - any other running term past its end expires (awaiting return);
//   - an expired term not returned within the grace period becomes
//     overdue, and the irregular ledger gets an R10 entry;
//   - reminders are sent N days before the end and on the renewal
//     apply-by day, each once;
//   - an irregular ledger entry still open after its rectification
//     deadline is flagged, once, to the org dept one region up;
//   - a policy version new in force judges the running secondments
//     approved under an earlier one, once, and puts those it forbids on
//     the irregular ledger.
//
// Conditions are "on or before today", so days missed while the service
// was down are caught up; a second sweep on the same day changes nothing.
// Rows are taken in batches with FOR UPDATE SKIP LOCKED, each batch one
// transaction, so several workers can sweep at once and each row changes
// once, and no lock is held for long.
func (s *Store) Sweep(ctx context.Context, today secondment.Date, now time.Time, o SweepOptions) (SweepResult, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 5000
	}
	if o.ReminderDays == nil {
		o.ReminderDays = secondment.DefaultReminderDays
	}
	if secondment.DateOf(now) != today {
		// The steps check their dates against now: a sweep for another
		// day would find terms to expire and expire none of them.
		return SweepResult{}, fmt.Errorf("sweep for %s at %s: now must fall on the day swept", today, now.In(secondment.Shanghai).Format(time.DateTime))
	}
	res := SweepResult{Day: today}
	wall := time.Now() // the run's duration is real time, its start the clock's
	// On record from the start: a sweep killed midway leaves its row
	// unfinished, which the jobs page shows as interrupted.
	var run int64
	if err := s.Pool.QueryRow(ctx, `INSERT INTO sweep_run (day, started_at, origin) VALUES ($1::date, $2, $3) RETURNING id`,
		today.String(), now, o.Origin).Scan(&run); err != nil {
		return res, fmt.Errorf("record sweep: %w", err)
	}
	var err error
	if res.Renewed, err = s.sweepRenewals(ctx, today, now); err != nil {
		return res, err
	}
	if res.Expired, err = s.sweepStep(ctx, secondment.StateActive, secondment.ActExpire, today, now, o.BatchSize, &res); err != nil {
		return res, err
	}
	if res.Overdue, err = s.sweepStep(ctx, secondment.StateExpired, secondment.ActMarkOverdue, today, now, o.BatchSize, &res); err != nil {
		return res, err
	}
	// The holiday calendar, read once for the steps that count by it.
	cal, err := calendarTx(ctx, s.Pool)
	if err != nil {
		return res, err
	}
	if res.Reminders, err = s.sweepReminders(ctx, today, now, o, cal); err != nil {
		return res, err
	}
	if o.EscalateAfter == 0 {
		o.EscalateAfter = secondment.DefaultEscalateAfter
	}
	if res.Escalated, err = s.sweepEscalations(ctx, today, now, o.EscalateAfter, cal); err != nil {
		return res, err
	}
	if res.RectEscalated, err = s.sweepRectifications(ctx, today, now, o.BatchSize); err != nil {
		return res, err
	}
	if res.PolicyFlagged, err = s.sweepPolicies(ctx, today, now); err != nil {
		return res, err
	}
	_, err = s.Pool.Exec(ctx, `UPDATE sweep_run SET finished_at = $2, renewed = $3, expired = $4, overdue = $5, reminders = $6,
		    escalated = $7, rect_escalated = $8, policy_flagged = $9 WHERE id = $1`, run, now.Add(time.Since(wall)),
		res.Renewed, res.Expired, res.Overdue, res.Reminders, res.Escalated, res.RectEscalated, res.PolicyFlagged)
	if err != nil {
		return res, fmt.Errorf("record sweep: %w", err)
	}
	return res, nil
}

// sweepRenewals hands ended terms over to their approved renewals.
func (s *Store) sweepRenewals(ctx context.Context, today secondment.Date, now time.Time) (int, error) {
	rows, err := s.Pool.Query(ctx, `
		SELECT s.id, r.id FROM secondment s
		JOIN secondment r ON r.previous_id = s.id AND r.state = 'approved'
		WHERE s.state = 'active' AND s.end_date < $1::date
		ORDER BY s.id`, today.String())
	if err != nil {
		return 0, fmt.Errorf("find renewals due: %w", err)
	}
	pairs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]int64, error) {
		var p [2]int64
		err := r.Scan(&p[0], &p[1])
		return p, err
	})
	if err != nil {
		return 0, fmt.Errorf("find renewals due: %w", err)
	}
	system := secondment.Actor{Role: secondment.RoleSystem}
	n := 0
	for _, p := range pairs {
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			// Lock the term; a worker that got here first has changed its
			// state and the step below is then refused: skip it.
			var st string
			if err := tx.QueryRow(ctx, `SELECT state FROM secondment WHERE id = $1 FOR UPDATE`, p[0]).Scan(&st); err != nil {
				return err
			}
			if st != string(secondment.StateActive) {
				return errSkip
			}
			if err := systemStep(ctx, tx, p[0], system, secondment.Input{Action: secondment.ActSucceed, RenewalID: p[1]}, now); err != nil {
				return err
			}
			return systemStep(ctx, tx, p[1], system, secondment.Input{Action: secondment.ActStart}, now)
		})
		switch {
		case err == nil:
			n++
		case err == errSkip:
		default:
			return n, fmt.Errorf("hand secondment %d over to %d: %w", p[0], p[1], err)
		}
	}
	return n, nil
}

var errSkip = fmt.Errorf("skip")

// systemStep takes one of the system's steps on request id in tx: those
// need no jurisdiction (a hand-over to the renewal, the renewal's start).
func systemStep(ctx context.Context, tx pgx.Tx, id int64, system secondment.Actor, in secondment.Input, now time.Time) error {
	cur, err := secondmentGet(ctx, tx, id, true)
	if err != nil {
		return err
	}
	res, err := secondment.Transition(cur.Secondment, system, in, now)
	if err != nil {
		return err
	}
	_, _, err = (&Tx{q: tx}).SecondmentStep(ctx, Step{From: cur, To: res.Secondment, Actor: system, Action: in.Action,
		Event: res.Event, Notify: res.Notifications, Now: now,
		Detail: map[string]any{"from": res.Event.From, "to": res.Event.To, "rules": ruleStrings(res.Event.Rules),
			"event": map[string]any{"id": res.Event.Message.ID, "data": res.Event.Message.Data}}})
	return err
}

// policyVersion picks version v out of a jurisdiction's versions.
func policyVersion(versions []secondment.Policy, v int) (secondment.Policy, error) {
	for _, p := range versions {
		if p.Version == v {
			return p, nil
		}
	}
	return secondment.Policy{}, fmt.Errorf("policy version %d: %w", v, secondment.NotFound("policy"))
}

// sweepStep applies a system action to every row in state from that the
// domain says is due, in batches of locked rows. Rows the domain refuses
// (not due yet, e.g. within the grace period) are passed over.
func (s *Store) sweepStep(ctx context.Context, from secondment.State, action secondment.Action, today secondment.Date,
	now time.Time, batch int, res *SweepResult) (int, error) {
	policies, err := policiesTx(ctx, s.Pool)
	if err != nil {
		return 0, err
	}
	units, err := unitsTx(ctx, s.Pool)
	if err != nil {
		return 0, err
	}
	byID := map[int64]secondment.Unit{}
	for _, u := range units {
		byID[u.ID] = u
	}
	total := 0
	var after int64
	for {
		t := time.Now()
		n, last, err := s.sweepBatch(ctx, from, action, today, now, batch, after, policies, byID)
		if err != nil {
			return total, err
		}
		// Only a batch that locked rows can have kept another writer
		// waiting; the last, empty look holds no lock.
		if last != 0 {
			took := time.Since(t)
			res.Batches++
			if took > res.LongestBatch {
				res.LongestBatch, res.SlowestBatch = took, res.Batches
			}
			if took > 500*time.Millisecond {
				res.SlowBatches++
			}
		}
		total += n
		if last == 0 {
			return total, nil
		}
		after = last
	}
}

// sweepBatch is one transaction of sweepStep: the rows after id after,
// returning how many changed and the last id looked at (0 when none).
func (s *Store) sweepBatch(ctx context.Context, from secondment.State, action secondment.Action, today secondment.Date,
	now time.Time, batch int, after int64, policies map[int64][]secondment.Policy, units map[int64]secondment.Unit) (changed int, last int64, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		// The sweep is idempotent: a batch lost in a crash just before its
		// commit reached the disk is redone by the next sweep, all of it or
		// none (the transaction stays atomic). So it need not wait for the
		// WAL flush at each commit.
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return fmt.Errorf("sweep batch: %w", err)
		}
		// A batch query's cost estimate on a large table crosses the JIT
		// threshold; compiling it takes longer than running it.
		if _, err := tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
			return fmt.Errorf("sweep batch: %w", err)
		}
		rows, err := tx.Query(ctx, secondmentSelect+` WHERE `+sweepCond(action)+` ORDER BY s.id LIMIT $4 FOR UPDATE OF s SKIP LOCKED`,
			from, today.String(), after, batch)
		if err != nil {
			return fmt.Errorf("select due rows: %w", err)
		}
		recs, err := collectSecondments(rows, nil)
		if err != nil {
			return fmt.Errorf("select due rows: %w", err)
		}
		if len(recs) == 0 {
			return nil
		}
		last = recs[len(recs)-1].ID
		var w batchWrite
		system := secondment.Actor{Role: secondment.RoleSystem}
		for _, rec := range recs {
			j := secondment.Jurisdiction{Root: units[rec.JurisdictionID], OrgDept: units[rec.OrgDeptID], Policies: policies[rec.JurisdictionID]}
			out, err := secondment.Transition(rec.Secondment, system, secondment.Input{Action: action, Jurisdiction: &j}, now)
			if err != nil {
				continue // not due yet by the domain's own rule
			}
			w.add(rec, out, action)
		}
		changed = len(w.ids)
		return w.write(ctx, tx, now, today)
	})
	return changed, last, err
}

// sweepCond selects the rows an action of the sweep may be due for: in
// state $1, ended before day $2, after id $3 (keyset paging).
func sweepCond(action secondment.Action) string {
	cond := `s.state = $1 AND s.end_date < $2::date AND s.id > $3`
	switch action {
	case secondment.ActMarkOverdue:
		// Leave out in SQL the rows still within their grace period, so
		// they are not read again on every sweep (the domain judges the
		// rest, and would refuse these too).
		cond += ` AND s.end_date + coalesce((pol.rules->>'return_grace_days')::int, 0) < $2::date`
	case secondment.ActExpire:
		// Terms with an approved renewal hand over instead (sweepRenewals).
		cond += ` AND NOT EXISTS (SELECT 1 FROM secondment r WHERE r.previous_id = s.id AND r.state = 'approved')`
	}
	return cond
}

// SweepExplain returns the plan of one expiry batch's query, to look at
// its cost on a large table (cmd/sweepbench -explain).
func SweepExplain(ctx context.Context, s *Store, today secondment.Date, batch int) (string, error) {
	rows, err := s.Pool.Query(ctx, `EXPLAIN ANALYZE `+secondmentSelect+` WHERE `+sweepCond(secondment.ActExpire)+
		` ORDER BY s.id LIMIT $4 FOR UPDATE OF s SKIP LOCKED`, secondment.StateActive, today.String(), int64(0), batch)
	if err != nil {
		return "", err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return strings.Join(lines, "\n"), err
}

// batchWrite gathers a batch's changes to write them in a few statements.
//
// Notifications of a batch are digests: one per recipient (role and unit)
// and kind, naming the people, instead of one per request. A clerk whose
// unit has forty terms ending on one day gets one message listing them, and
// a sweep of a million rows writes a few thousand notifications, not two
// million.
type batchWrite struct {
	ids                        []int64
	states                     []string
	from, to                   string
	rules                      []byte
	digests                    map[digestKey]*digest
	order                      []digestKey
	ledgerIDs                  []int64
	ledgerRules, ledgerDetails []string
	action                     string
}

type digestKey struct {
	role secondment.Role
	unit int64
	kind string // the notification's message ID
}

type digest struct {
	count int
	names []string
	only  int64 // the request, when the digest is about one
}

// digestNames is how many names a digest spells out.
const digestNames = 10

func (w *batchWrite) add(rec SecondmentRecord, out secondment.Result, action secondment.Action) {
	w.action = "secondment." + string(action)
	w.ids = append(w.ids, rec.ID)
	w.states = append(w.states, string(out.Secondment.State))
	// One action from one state: the audit detail differs per row only in
	// the version, which the update returns; the rest is sent once.
	rules := make([]string, len(out.Event.Rules))
	for i, r := range out.Event.Rules {
		rules[i] = string(r)
	}
	w.from, w.to = string(out.Event.From), string(out.Event.To)
	w.rules, _ = json.Marshal(rules)

	if w.digests == nil {
		w.digests = map[digestKey]*digest{}
	}
	for _, n := range out.Notifications {
		k := digestKey{n.Role, n.UnitID, n.Message.ID}
		d := w.digests[k]
		if d == nil {
			d = &digest{only: rec.ID}
			w.digests[k] = d
			w.order = append(w.order, k)
		}
		d.count++
		if len(d.names) < digestNames {
			d.names = append(d.names, rec.PersonName)
		}
	}
	if out.Secondment.State == secondment.StateOverdue {
		for _, r := range out.Event.Rules {
			w.ledgerIDs = append(w.ledgerIDs, rec.ID)
			w.ledgerRules = append(w.ledgerRules, string(r))
			w.ledgerDetails = append(w.ledgerDetails, out.Event.Message.ID)
		}
	}
}

// write applies the batch: the state changes, their audit events, their
// notifications and ledger entries, in the caller's transaction.
func (w *batchWrite) write(ctx context.Context, tx pgx.Tx, now time.Time, today secondment.Date) error {
	if len(w.ids) == 0 {
		return nil
	}
	// The state changes and their audit events in one statement: the
	// events are written from the rows the update returns.
	if _, err := tx.Exec(ctx, `
		WITH u AS (
			UPDATE secondment s SET state = u.state, version = s.version + 1, updated_at = $3
			FROM unnest($1::bigint[], $2::text[]) AS u(id, state) WHERE s.id = u.id
			RETURNING s.id, s.borrower_id, s.version)
		INSERT INTO audit_event (at, actor_name, action, object_type, object_id, unit_id, detail, request_id)
		SELECT $3, 'system', $4, 'secondment', u.id, u.borrower_id,
		       jsonb_build_object('from', $5::text, 'to', $6::text, 'rules', $7::jsonb, 'version', u.version), ''
		FROM u`, w.ids, w.states, now, w.action, w.from, w.to, w.rules); err != nil {
		return fmt.Errorf("sweep update and audit: %w", err)
	}
	for _, k := range w.order {
		d := w.digests[k]
		var secondmentID int64
		if d.count == 1 {
			secondmentID = d.only // about one request: link it
		}
		names := strings.Join(d.names, "、")
		if d.count > len(d.names) {
			names += "等"
		}
		m := secondment.Msg("notify.digest."+strings.TrimPrefix(k.kind, "notify."), "Count", d.count, "Names", names)
		if err := notifyUser(ctx, tx, k.role, k.unit, 0, secondmentID, m, now); err != nil {
			return fmt.Errorf("sweep notifications: %w", err)
		}
	}
	if len(w.ledgerIDs) > 0 {
		if _, err := tx.Exec(ctx, `
			INSERT INTO ledger_entry (secondment_id, rule, opened_on, detail, responsible_unit_id, org_dept_id, created_at)
			SELECT l.id, l.rule, $1::date, l.detail, s.borrower_id, s.org_dept_id, $2
			FROM unnest($3::bigint[], $4::text[], $5::text[]) AS l(id, rule, detail)
			JOIN secondment s ON s.id = l.id
			ON CONFLICT (secondment_id, rule) DO NOTHING`,
			today.String(), now, w.ledgerIDs, w.ledgerRules, w.ledgerDetails); err != nil {
			return fmt.Errorf("sweep ledger: %w", err)
		}
	}
	return nil
}

// sweepReminders sends the reminders due today, each once.
func (s *Store) sweepReminders(ctx context.Context, today secondment.Date, now time.Time, o SweepOptions, cal secondment.Calendar) (int, error) {
	maxDays := 0
	for _, d := range o.ReminderDays {
		maxDays = max(maxDays, d)
	}
	policies, err := policiesTx(ctx, s.Pool)
	if err != nil {
		return 0, err
	}
	for _, vs := range policies {
		for _, p := range vs {
			maxDays = max(maxDays, p.RenewalApplyByDays)
		}
	}
	sent := 0
	var after int64
	for {
		n, last := 0, int64(0)
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, secondmentSelect+`
				WHERE s.state = 'active' AND s.end_date >= $1::date AND s.end_date <= $1::date + $2::int AND s.id > $3
				ORDER BY s.id LIMIT $4 FOR UPDATE OF s SKIP LOCKED`, today.String(), maxDays, after, o.BatchSize)
			if err != nil {
				return fmt.Errorf("select terms near their end: %w", err)
			}
			recs, err := collectSecondments(rows, nil)
			if err != nil {
				return fmt.Errorf("select terms near their end: %w", err)
			}
			if len(recs) == 0 {
				return nil
			}
			last = recs[len(recs)-1].ID
			for _, rec := range recs {
				var pending bool
				if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM secondment WHERE previous_id = $1
					AND state NOT IN ('withdrawn', 'declined', 'rejected'))`, rec.ID).Scan(&pending); err != nil {
					return fmt.Errorf("pending renewal: %w", err)
				}
				p, _ := policyVersion(policies[rec.JurisdictionID], rec.PolicyVersion)
				for _, r := range secondment.RemindersDue(p, rec.Secondment, today, o.ReminderDays, pending, cal) {
					var inserted bool
					err := tx.QueryRow(ctx, `INSERT INTO reminder_sent (secondment_id, kind, end_date, sent_at)
						VALUES ($1, $2, $3::date, $4) ON CONFLICT DO NOTHING RETURNING true`,
						rec.ID, r.Kind, rec.End.String(), now).Scan(&inserted)
					if err == pgx.ErrNoRows {
						continue // sent before
					}
					if err != nil {
						return fmt.Errorf("record reminder: %w", err)
					}
					for _, c := range r.Covers {
						if _, err := tx.Exec(ctx, `INSERT INTO reminder_sent (secondment_id, kind, end_date, sent_at)
							VALUES ($1, $2, $3::date, $4) ON CONFLICT DO NOTHING`, rec.ID, c, rec.End.String(), now); err != nil {
							return fmt.Errorf("record covered reminder: %w", err)
						}
					}
					for _, role := range r.Roles {
						unit := rec.BorrowerID
						if role == secondment.RoleLender {
							unit = rec.LenderID
						}
						if err := notifyUser(ctx, tx, role, unit, 0, rec.ID, r.Message, now); err != nil {
							return err
						}
					}
					if err := auditInsert(ctx, tx, AuditEvent{At: now, ActorName: "system", Action: "secondment.remind",
						ObjectType: "secondment", ObjectID: rec.ID, UnitID: rec.BorrowerID,
						Detail: map[string]any{"kind": r.Kind, "end": rec.End.String()}}); err != nil {
						return err
					}
					n++
				}
			}
			return nil
		})
		if err != nil {
			return sent, err
		}
		sent += n
		if last == 0 {
			return sent, nil
		}
		after = last
	}
}

// LastSweepDay is the latest day any sweep ran for; zero when none has.
func (s *Store) LastSweepDay(ctx context.Context) (secondment.Date, error) {
	var d *time.Time
	if err := s.Pool.QueryRow(ctx, `SELECT max(day) FROM sweep_run WHERE finished_at IS NOT NULL`).Scan(&d); err != nil {
		return secondment.Date{}, fmt.Errorf("last sweep day: %w", err)
	}
	if d == nil {
		return secondment.Date{}, nil
	}
	return secondment.D(d.Year(), d.Month(), d.Day()), nil
}
