package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/secondment"
)

// sweepEscalations flags review steps that have waited more than after
// working days (by the holiday calendar) to the supervising org dept, once
// per request and step.
func (s *Store) sweepEscalations(ctx context.Context, today secondment.Date, now time.Time, after int, cal secondment.Calendar) (int, error) {
	if after < 0 {
		return 0, nil
	}
	units, err := unitsTx(ctx, s.Pool)
	if err != nil {
		return 0, err
	}
	h, err := secondment.NewHierarchy(units)
	if err != nil {
		return 0, fmt.Errorf("unit hierarchy: %w", err)
	}
	// The step started with the request's last decision (the submission,
	// the consent); anything waiting fewer days than "after" in calendar
	// days cannot be due and is not read.
	rows, err := s.Pool.Query(ctx, secondmentSelect+`
		WHERE s.state IN ('awaiting_consent', 'awaiting_signoff')
		  AND NOT EXISTS (SELECT 1 FROM escalation e WHERE e.secondment_id = s.id AND e.step = s.state)
		  AND (SELECT max(d.at) FROM decision d WHERE d.secondment_id = s.id) < $1
		ORDER BY s.id`, today.AddDays(-after).Start())
	if err != nil {
		return 0, fmt.Errorf("find waiting steps: %w", err)
	}
	recs, err := collectSecondments(rows, nil)
	if err != nil {
		return 0, fmt.Errorf("find waiting steps: %w", err)
	}
	n := 0
	for _, rec := range recs {
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			var last time.Time
			if err := tx.QueryRow(ctx, `SELECT max(at) FROM decision WHERE secondment_id = $1`, rec.ID).Scan(&last); err != nil {
				return fmt.Errorf("last step: %w", err)
			}
			lastDay := secondment.DateOf(last)
			if !secondment.EscalationDue(cal, lastDay, today, after) {
				return errSkip
			}
			sup, ok := h.Supervisor(rec.Secondment)
			var supID *int64
			if ok {
				supID = &sup.ID
			}
			waited := cal.WorkingDaysAfter(lastDay, today)
			tag, err := tx.Exec(ctx, `INSERT INTO escalation (secondment_id, step, flagged_on, supervisor_id, waited_days)
				VALUES ($1, $2, $3::date, $4, $5) ON CONFLICT DO NOTHING`, rec.ID, rec.State, today.String(), supID, waited)
			if err != nil {
				return fmt.Errorf("flag: %w", err)
			}
			if tag.RowsAffected() == 0 {
				return errSkip // another worker flagged it
			}
			if ok {
				m := secondment.Msg("notify.escalated", "Number", rec.Number, "Person", rec.PersonName,
					"Step", string(rec.State), "Days", waited)
				if err := notifyUser(ctx, tx, secondment.RoleOrgDept, sup.ID, 0, rec.ID, m, now); err != nil {
					return err
				}
			}
			return auditInsert(ctx, tx, AuditEvent{At: now, ActorName: "system", Action: "secondment.escalate",
				ObjectType: "secondment", ObjectID: rec.ID, UnitID: rec.BorrowerID,
				Detail: map[string]any{"step": rec.State, "waited_working_days": waited, "supervisor": supID}})
		})
		switch {
		case err == nil:
			n++
		case err == errSkip:
		default:
			return n, fmt.Errorf("escalate secondment %d: %w", rec.ID, err)
		}
	}
	return n, nil
}
