package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"secondment/internal/secondment"
)

// RectScope is whose irregular ledger entries a list holds.
type RectScope string

const (
	RectOwn         RectScope = "own"         // an org dept's (and its registrar's): its jurisdiction's
	RectEscalated   RectScope = "escalated"   // escalated to a supervising org dept
	RectResponsible RectScope = "responsible" // a responsible unit's
)

// RectFilter is one page of irregular ledger entries. Only the conditions
// that are set are written into the query, so that each is planned with
// its index.
type RectFilter struct {
	Scope        RectScope
	UnitID       int64
	Status       secondment.RectStatus // "": any
	Open         bool                  // not closed
	Rule         secondment.RuleID
	PastDeadline bool // open, deadline before Today; ordered by deadline, soonest first
	Today        secondment.Date
	AfterDate    secondment.Date // keyset: the sort date of the last row shown
	AfterID      int64
	Limit        int
}

// rectWhere is the FROM and WHERE of f, its arguments through arg, and the
// sort column.
func rectWhere(f RectFilter, arg func(any) string) (where, key string, asc bool) {
	var w []string
	switch f.Scope {
	case RectEscalated:
		w = append(w, "le.escalated_to = "+arg(f.UnitID))
	case RectResponsible:
		w = append(w, "le.responsible_unit_id = "+arg(f.UnitID))
	default:
		w = append(w, "le.org_dept_id = "+arg(f.UnitID))
	}
	if f.Status != "" {
		w = append(w, "le.status = "+arg(string(f.Status)))
	}
	if f.Open {
		w = append(w, "le.closed_on IS NULL")
	}
	if f.Rule != "" {
		w = append(w, "le.rule = "+arg(string(f.Rule)))
	}
	key = "le.opened_on"
	if f.PastDeadline {
		w = append(w, "le.closed_on IS NULL", "le.deadline IS NOT NULL", "le.deadline < "+arg(dateArg(f.Today)))
		key, asc = "le.deadline", true
	}
	return strings.Join(w, " AND "), key, asc
}

// RectList is a page of f, newest first (past-deadline ones: the longest
// overdue first), and how many entries f holds, up to max (more: beyond).
func (s *Store) RectList(ctx context.Context, f RectFilter, max int) (lines []secondment.RectLine, total int, more bool, err error) {
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	where, key, asc := rectWhere(f, arg)
	countArgs := len(args)
	cmp, dir := "<", "DESC"
	if asc {
		cmp, dir = ">", "ASC"
	}
	page := where
	if f.AfterID > 0 {
		page += fmt.Sprintf(" AND (%s, le.id) %s (%s, %s)", key, cmp, arg(dateArg(f.AfterDate)), arg(f.AfterID))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT `+rectColumns+`, coalesce(s.number, ''), s.state, pe.name, bu.name, lu.name, coalesce(ru.name, ''),
	        (SELECT count(*) FROM ledger_evidence ev WHERE ev.entry_id = le.id)
	    FROM (SELECT le.id FROM ledger_entry le WHERE `+page+` ORDER BY `+key+` `+dir+`, le.id `+dir+` LIMIT `+arg(limit)+`) p
	    JOIN ledger_entry le ON le.id = p.id
	    JOIN secondment s ON s.id = le.secondment_id
	    JOIN person pe ON pe.id = s.person_id
	    JOIN unit bu ON bu.id = s.borrower_id
	    JOIN unit lu ON lu.id = s.lender_id
	    LEFT JOIN unit ru ON ru.id = le.responsible_unit_id
	    ORDER BY `+key+` `+dir+`, le.id `+dir, args...)
	b.Queue(`SELECT count(*) FROM (SELECT 1 FROM ledger_entry le WHERE `+where+` LIMIT `+strconv.Itoa(max+1)+`) c`,
		args[:countArgs]...)
	br := s.Pool.SendBatch(ctx, b)
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return nil, 0, false, fmt.Errorf("list ledger entries: %w", err)
	}
	lines, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (secondment.RectLine, error) {
		var l secondment.RectLine
		var x rectRow
		err := r.Scan(append(x.dest(), &l.Number, &l.State, &l.PersonName, &l.BorrowerName, &l.LenderName,
			&l.ResponsibleName, &l.Evidence)...)
		l.Rectification = x.entry()
		return l, err
	})
	if err != nil {
		return nil, 0, false, fmt.Errorf("list ledger entries: %w", err)
	}
	if err := br.QueryRow().Scan(&total); err != nil {
		return nil, 0, false, fmt.Errorf("count ledger entries: %w", err)
	}
	if total > max {
		total, more = max, true
	}
	return lines, total, more, br.Close()
}

// RectCounts counts each filter's entries up to max+1 (more than max:
// beyond the cap, as RectList tells it), in one round trip.
func (s *Store) RectCounts(ctx context.Context, fs []RectFilter, max int) ([]int, error) {
	b := &pgx.Batch{}
	for _, f := range fs {
		var args []any
		arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
		where, _, _ := rectWhere(f, arg)
		b.Queue(`SELECT count(*) FROM (SELECT 1 FROM ledger_entry le WHERE `+where+` LIMIT `+strconv.Itoa(max+1)+`) c`, args...)
	}
	br := s.Pool.SendBatch(ctx, b)
	defer br.Close()
	out := make([]int, len(fs))
	for i := range fs {
		if err := br.QueryRow().Scan(&out[i]); err != nil {
			return nil, fmt.Errorf("count ledger entries: %w", err)
		}
	}
	return out, br.Close()
}

// rectColumns are a Rectification's columns, in rectDest's order.
const rectColumns = `le.id, le.secondment_id, le.rule, le.detail, le.manual, le.opened_on, le.org_dept_id, le.target_task,
	le.measures, coalesce(le.responsible_unit_id, 0), le.responsible_person, le.deadline, le.status, le.escalated_on,
	coalesce(le.escalated_to, 0), le.closed_on, le.close_opinion, le.version`

// rectRow scans rectColumns: the entry, and its nullable dates until
// entry() makes them dates.
type rectRow struct {
	r                                   secondment.Rectification
	opened, deadline, escalated, closed pgtype.Date
}

func (x *rectRow) dest() []any {
	r := &x.r
	return []any{&r.ID, &r.SecondmentID, &r.Rule, &r.Detail, &r.Manual, &x.opened, &r.OrgDeptID, &r.TargetTask,
		&r.Measures, &r.ResponsibleUnitID, &r.ResponsiblePerson, &x.deadline, &r.Status, &x.escalated,
		&r.EscalatedTo, &x.closed, &r.CloseOpinion, &r.Version}
}

func (x *rectRow) entry() secondment.Rectification {
	r := x.r
	r.OpenedOn, r.Deadline, r.EscalatedOn, r.ClosedOn = civil(x.opened), civil(x.deadline), civil(x.escalated), civil(x.closed)
	return r
}

// RectGet reads entry id with its secondment's summary and its evidence.
func (s *Store) RectGet(ctx context.Context, id int64) (secondment.RectView, error) {
	return rectGet(ctx, s.Pool, id, "")
}

// RectLock reads entry id as RectGet does and locks it until the
// transaction ends: two changes of one entry go one after the other, and
// the second sees the first (its version).
func (t *Tx) RectLock(ctx context.Context, id int64) (secondment.RectView, error) {
	return rectGet(ctx, t.q, id, " FOR UPDATE OF le")
}

func rectGet(ctx context.Context, q dbtx, id int64, lock string) (secondment.RectView, error) {
	var v secondment.RectView
	var x rectRow
	var start, end pgtype.Date
	err := q.QueryRow(ctx, `SELECT `+rectColumns+`, coalesce(s.number, ''), s.state, pe.name, s.borrower_id, bu.name,
	        s.lender_id, lu.name, s.start_date, s.end_date, coalesce(ru.name, ''), coalesce(eu.name, '')
	    FROM ledger_entry le
	    JOIN secondment s ON s.id = le.secondment_id
	    JOIN person pe ON pe.id = s.person_id
	    JOIN unit bu ON bu.id = s.borrower_id
	    JOIN unit lu ON lu.id = s.lender_id
	    LEFT JOIN unit ru ON ru.id = le.responsible_unit_id
	    LEFT JOIN unit eu ON eu.id = le.escalated_to
	    WHERE le.id = $1`+lock, id).Scan(append(x.dest(), &v.Number, &v.State, &v.PersonName, &v.BorrowerID,
		&v.BorrowerName, &v.LenderID, &v.LenderName, &start, &end, &v.ResponsibleName, &v.EscalatedName)...)
	if err != nil {
		return v, fmt.Errorf("get ledger entry %d: %w", id, mapError(err, "ledger_entry"))
	}
	v.Rectification, v.Start, v.End = x.entry(), civil(start), civil(end)
	rows, err := q.Query(ctx, `SELECT ev.id, ev.entry_id, ev.name, ev.content_type, ev.size, coalesce(u.name, ''), ev.uploaded_at
	    FROM ledger_evidence ev LEFT JOIN app_user u ON u.id = ev.uploaded_by
	    WHERE ev.entry_id = $1 ORDER BY ev.id`, id)
	if err != nil {
		return v, fmt.Errorf("evidence of ledger entry %d: %w", id, err)
	}
	v.Evidence, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (secondment.Evidence, error) {
		var e secondment.Evidence
		err := r.Scan(&e.ID, &e.EntryID, &e.Name, &e.ContentType, &e.Size, &e.UploadedBy, &e.UploadedAt)
		return e, err
	})
	if err != nil {
		return v, fmt.Errorf("evidence of ledger entry %d: %w", id, err)
	}
	return v, nil
}

// RectSave writes r's plan, status, escalation and closing over the
// version it was read at, with its audit event. Another change since is a
// conflict.
func (t *Tx) RectSave(ctx context.Context, r secondment.Rectification, e AuditEvent) error {
	tag, err := t.q.Exec(ctx, `UPDATE ledger_entry SET target_task = $3, measures = $4, responsible_unit_id = $5,
	        responsible_person = $6, deadline = $7, status = $8, escalated_on = $9, escalated_to = $10, closed_on = $11,
	        close_opinion = $12, version = version + 1, updated_at = $13
	    WHERE id = $1 AND version = $2`,
		r.ID, r.Version, r.TargetTask, r.Measures, nullID(r.ResponsibleUnitID), r.ResponsiblePerson, dateArg(r.Deadline),
		string(r.Status), dateArg(r.EscalatedOn), nullID(r.EscalatedTo), dateArg(r.ClosedOn), r.CloseOpinion, e.At)
	if err != nil {
		return fmt.Errorf("save ledger entry %d: %w", r.ID, mapError(err, "ledger_entry"))
	}
	if tag.RowsAffected() == 0 {
		return secondment.Errorf(secondment.EConflict, secondment.Msg("error.conflict"),
			fmt.Errorf("ledger entry %d changed since version %d", r.ID, r.Version))
	}
	return auditInsert(ctx, t.q, e)
}

// RectOpen puts secondment r.SecondmentID on the irregular ledger under
// r.Rule, with its audit event (its object the new entry). One entry per
// secondment and rule: a second is a conflict.
func (t *Tx) RectOpen(ctx context.Context, r secondment.Rectification, e AuditEvent) (int64, error) {
	var id int64
	err := t.q.QueryRow(ctx, `
	    INSERT INTO ledger_entry (secondment_id, rule, opened_on, detail, manual, responsible_unit_id, org_dept_id,
	        deadline, status, created_at)
	    SELECT s.id, $2, $3, $4, true, s.borrower_id, s.org_dept_id, $5, 'rectifying', $6
	    FROM secondment s WHERE s.id = $1
	    ON CONFLICT (secondment_id, rule) DO NOTHING
	    RETURNING id`, r.SecondmentID, string(r.Rule), dateArg(r.OpenedOn), r.Detail, dateArg(r.Deadline), e.At).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, secondment.Errorf(secondment.EConflict, secondment.Msg("rect.error.exists"),
			fmt.Errorf("secondment %d already has a %s entry", r.SecondmentID, r.Rule))
	}
	if err != nil {
		return 0, fmt.Errorf("open ledger entry: %w", mapError(err, "ledger_entry"))
	}
	e.ObjectID = id
	return id, auditInsert(ctx, t.q, e)
}

// SecondmentRects are the ledger entries of one secondment, oldest first.
func (s *Store) SecondmentRects(ctx context.Context, secondmentID int64) ([]secondment.Rectification, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+rectColumns+` FROM ledger_entry le WHERE le.secondment_id = $1 ORDER BY le.id`,
		secondmentID)
	if err != nil {
		return nil, fmt.Errorf("ledger entries of secondment %d: %w", secondmentID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (secondment.Rectification, error) {
		var x rectRow
		err := r.Scan(x.dest()...)
		return x.entry(), err
	})
	if err != nil {
		return nil, fmt.Errorf("ledger entries of secondment %d: %w", secondmentID, err)
	}
	return out, nil
}

// EvidenceMax is the largest evidence file, in bytes.
const EvidenceMax = 10 << 20

// EvidenceAdd attaches a file to entry id, with its audit event.
func (t *Tx) EvidenceAdd(ctx context.Context, entryID int64, name, contentType string, content []byte, e AuditEvent) (int64, error) {
	var id int64
	if err := t.q.QueryRow(ctx, `INSERT INTO ledger_evidence (entry_id, name, content_type, size, content, uploaded_by, uploaded_at)
	    VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, entryID, name, contentType, len(content), content, e.ActorID, e.At).Scan(&id); err != nil {
		return 0, fmt.Errorf("attach evidence: %w", mapError(err, "ledger_evidence"))
	}
	if e.Detail == nil {
		e.Detail = map[string]any{}
	}
	e.Detail["evidence"] = id
	return id, auditInsert(ctx, t.q, e)
}

// EvidenceGet reads one evidence file of entry entryID, content included.
func (s *Store) EvidenceGet(ctx context.Context, entryID, id int64) (secondment.Evidence, []byte, error) {
	var e secondment.Evidence
	var content []byte
	err := s.Pool.QueryRow(ctx, `SELECT id, entry_id, name, content_type, size, content, uploaded_at FROM ledger_evidence
	    WHERE id = $1 AND entry_id = $2`, id, entryID).Scan(&e.ID, &e.EntryID, &e.Name, &e.ContentType, &e.Size, &content, &e.UploadedAt)
	if err != nil {
		return e, nil, fmt.Errorf("get evidence %d: %w", id, mapError(err, "ledger_evidence"))
	}
	return e, content, nil
}

// sweepRectifications flags the open entries whose deadline is before
// today to the org dept one region up (escalated_to; none at the top), once
// each, telling that org dept, the entry's own and its responsible unit.
// Batches of batch entries, each one transaction, taken with SKIP LOCKED
// so that two sweeps share the work.
func (s *Store) sweepRectifications(ctx context.Context, today secondment.Date, now time.Time, batch int) (int, error) {
	units, err := unitsTx(ctx, s.Pool)
	if err != nil {
		return 0, err
	}
	h, err := secondment.NewHierarchy(units)
	if err != nil {
		return 0, fmt.Errorf("unit hierarchy: %w", err)
	}
	n := 0
	for {
		done := 0
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT le.id, le.org_dept_id, le.secondment_id, le.rule, le.deadline,
			        coalesce(le.responsible_unit_id, 0), s.borrower_id, coalesce(s.number, ''), pe.name
			    FROM ledger_entry le JOIN secondment s ON s.id = le.secondment_id JOIN person pe ON pe.id = s.person_id
			    WHERE le.closed_on IS NULL AND le.escalated_on IS NULL AND le.deadline IS NOT NULL AND le.deadline < $1
			    ORDER BY le.deadline, le.id LIMIT $2 FOR UPDATE OF le SKIP LOCKED`, dateArg(today), batch)
			if err != nil {
				return fmt.Errorf("find missed deadlines: %w", err)
			}
			type due struct {
				id, orgDept, secondment, responsible, borrower int64
				rule, number, person                           string
				deadline                                       pgtype.Date
			}
			found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (due, error) {
				var d due
				err := r.Scan(&d.id, &d.orgDept, &d.secondment, &d.rule, &d.deadline, &d.responsible, &d.borrower, &d.number, &d.person)
				return d, err
			})
			if err != nil {
				return fmt.Errorf("find missed deadlines: %w", err)
			}
			for _, d := range found {
				sup, ok := h.RectificationSupervisor(d.orgDept)
				var supID *int64
				if ok {
					supID = &sup.ID
				}
				if _, err := tx.Exec(ctx, `UPDATE ledger_entry SET escalated_on = $2, escalated_to = $3, version = version + 1,
				        updated_at = $4 WHERE id = $1`, d.id, dateArg(today), supID, now); err != nil {
					return fmt.Errorf("flag ledger entry %d: %w", d.id, err)
				}
				m := secondment.Msg("rect.notify.escalated", "Number", d.number, "Person", d.person, "Rule", d.rule,
					"Deadline", civil(d.deadline).String())
				// The notice links the secondment for its parties; the org
				// dept above may not open it, and finds the entry on its
				// irregular ledger ("督办至本部"): its notice links nothing.
				type recipient struct {
					role       secondment.Role
					unit, link int64
				}
				to := []recipient{{secondment.RoleOrgDept, d.orgDept, d.secondment}}
				if ok {
					to = append(to, recipient{secondment.RoleOrgDept, sup.ID, 0})
				}
				if d.responsible != 0 {
					role := secondment.RoleLender
					if d.responsible == d.borrower {
						role = secondment.RoleBorrower
					}
					to = append(to, recipient{role, d.responsible, d.secondment})
				}
				for _, r := range to {
					if err := notifyUser(ctx, tx, r.role, r.unit, 0, r.link, m, now); err != nil {
						return err
					}
				}
				if err := auditInsert(ctx, tx, AuditEvent{At: now, ActorName: "system", Action: "ledger.escalate",
					ObjectType: "ledger_entry", ObjectID: d.id, UnitID: d.orgDept,
					Detail: map[string]any{"deadline": civil(d.deadline).String(), "supervisor": supID}}); err != nil {
					return err
				}
			}
			done = len(found)
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("escalate rectifications: %w", err)
		}
		n += done
		if done < batch {
			return n, nil
		}
	}
}
