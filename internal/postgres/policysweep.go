package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/secondment"
)

// reachedRules are the rules a new policy version applies to a secondment
// already running: what it is (purpose, levels, systems, township, term,
// caps, disguises, the borrowing unit's limit). The order of the steps (R8), a renewal's timing (R6),
// filing (R13), a transfer's quota (R12) and warnings (R14) were for the
// procedure it went through.
var reachedRules = []secondment.RuleID{secondment.R1, secondment.R2, secondment.R3, secondment.R4, secondment.R5,
	secondment.R7, secondment.R9, secondment.R15}

// sweepPolicies judges, once per jurisdiction and policy version, the
// running secondments of the chain (approved or active, approved under an
// earlier version) by the version in force today, and puts those it forbids
// on the irregular ledger, one entry per rule, for clean-up: never stopped
// automatically (R11 governs their return). Each jurisdiction's sweep is
// one transaction, with its audit event and a notice to the org dept when
// it flags any. Registered stock is judged at registration and by
// campaigns, not here.
func (s *Store) sweepPolicies(ctx context.Context, today secondment.Date, now time.Time) (int, error) {
	cat, err := s.CatalogLoad(ctx)
	if err != nil {
		return 0, err
	}
	h, err := secondment.NewHierarchy(cat.Units)
	if err != nil {
		return 0, fmt.Errorf("unit hierarchy: %w", err)
	}
	roots := make([]int64, 0, len(cat.Policies))
	for id := range cat.Policies {
		roots = append(roots, id)
	}
	slices.Sort(roots)
	total := 0
	for _, root := range roots {
		p, err := secondment.PolicyOn(cat.Policies[root], today)
		if err != nil {
			continue // no version in force yet
		}
		n, err := s.sweepPolicy(ctx, h, root, p, today, now)
		if err != nil {
			return total, fmt.Errorf("policy sweep of jurisdiction %d, version %d: %w", root, p.Version, err)
		}
		total += n
	}
	return total, nil
}

// sweepPolicy judges jurisdiction root's running secondments by p, once.
func (s *Store) sweepPolicy(ctx context.Context, h *secondment.Hierarchy, root int64, p secondment.Policy,
	today secondment.Date, now time.Time) (int, error) {
	flagged := 0
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO policy_sweep (jurisdiction_id, version, swept_on, judged, flagged)
		    VALUES ($1, $2, $3, 0, 0) ON CONFLICT DO NOTHING`, root, p.Version, dateArg(today))
		if err != nil {
			return fmt.Errorf("mark the sweep: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return errSkip // judged by this version before (or by another worker now)
		}
		var ids []int64
		var rules, details []string
		orgDepts := map[int64]int{}
		judged, err := judgeJurisdiction(ctx, tx, h, root, p, []secondment.State{secondment.StateApproved, secondment.StateActive},
			p.Version, func(rec SecondmentRecord, vs secondment.Violations) {
				hit := false
				for _, v := range vs {
					if v.Severity == secondment.SeverityBlock && slices.Contains(reachedRules, v.Rule) {
						ids, rules, details = append(ids, rec.ID), append(rules, string(v.Rule)), append(details, v.Message.ID)
						hit = true
					}
				}
				if hit {
					flagged++
					orgDepts[rec.OrgDeptID]++
				}
			})
		if err != nil {
			return fmt.Errorf("running secondments: %w", err)
		}
		if len(ids) > 0 {
			if _, err := tx.Exec(ctx, `
			    INSERT INTO ledger_entry (secondment_id, rule, opened_on, detail, responsible_unit_id, org_dept_id, created_at)
			    SELECT l.id, l.rule, $1::date, l.detail, s.borrower_id, s.org_dept_id, $2
			    FROM unnest($3::bigint[], $4::text[], $5::text[]) AS l(id, rule, detail)
			    JOIN secondment s ON s.id = l.id
			    ON CONFLICT (secondment_id, rule) DO NOTHING`, dateArg(today), now, ids, rules, details); err != nil {
				return fmt.Errorf("ledger entries: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE policy_sweep SET judged = $3, flagged = $4 WHERE jurisdiction_id = $1 AND version = $2`,
			root, p.Version, judged, flagged); err != nil {
			return fmt.Errorf("record the sweep: %w", err)
		}
		for od, n := range orgDepts {
			m := secondment.Msg("notify.policy_flagged", "Version", p.Version, "Count", n)
			if err := notifyUser(ctx, tx, secondment.RoleOrgDept, od, 0, 0, m, now); err != nil {
				return err
			}
		}
		return auditInsert(ctx, tx, AuditEvent{At: now, ActorName: "system", Action: "policy.sweep", ObjectType: "unit",
			ObjectID: root, UnitID: root, Detail: map[string]any{"version": p.Version, "judged": judged, "flagged": flagged}})
	})
	if err == errSkip {
		return 0, nil
	}
	return flagged, err
}
