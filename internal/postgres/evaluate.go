package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"secondment/internal/secondment"
)

// Evaluation is a request judged by the rules: where, by which policy
// version, what the rules say and how much of the cumulative cap its chain
// uses, and the lending unit's load.
type Evaluation struct {
	Jurisdiction secondment.Jurisdiction
	Policy       secondment.Policy
	Violations   secondment.Violations
	Usage        secondment.Usage
	Burden       secondment.Burden
	LenderName   string
}

// SecondmentEvaluate judges req as if it were submitted on day, without
// saving anything: the live check of a form being filled in (req unsaved),
// and the "now" view of a stored request. With recorded, a submitted
// request is judged as it was at its submission instead: in the
// jurisdiction and by the policy version it recorded, on its submission
// day.
func (s *Store) SecondmentEvaluate(ctx context.Context, req secondment.Secondment, day secondment.Date, recorded bool) (Evaluation, error) {
	var ev Evaluation
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if req.LenderID == 0 && req.PersonID != 0 {
			if err := tx.QueryRow(ctx, `SELECT home_unit_id FROM person WHERE id = $1`, req.PersonID).Scan(&req.LenderID); err != nil {
				return fmt.Errorf("person %d: %w", req.PersonID, mapError(err, "person"))
			}
		}
		var err error
		if recorded && req.JurisdictionID != 0 {
			if ev.Jurisdiction, err = recordedJurisdiction(ctx, tx, SecondmentRecord{Secondment: req}); err != nil {
				return err
			}
			ev.Policy, err = policyVersion(ev.Jurisdiction.Policies, req.PolicyVersion)
			if err != nil {
				return err
			}
		} else {
			units, err := unitsTx(ctx, tx)
			if err != nil {
				return err
			}
			h, err := secondment.NewHierarchy(units)
			if err != nil {
				return fmt.Errorf("unit hierarchy: %w", err)
			}
			policies, err := policiesTx(ctx, tx, 0)
			if err != nil {
				return err
			}
			if ev.Jurisdiction, err = h.Jurisdiction(req.BorrowerID, policies); err != nil {
				return err
			}
			if ev.Policy, err = ev.Jurisdiction.PolicyOn(day); err != nil {
				return err
			}
			req.SubmittedOn = day
		}
		f, err := gatherFacts(ctx, tx, req, ev.Jurisdiction.Root.Name)
		if err != nil {
			return err
		}
		ev.Violations = secondment.Evaluate(ev.Policy, req, f)
		ev.Usage = secondment.UsageOf(ev.Policy, req, f)
		ev.Burden = secondment.BurdenOf(ev.Policy, f.Lender, f.LenderAway+1)
		ev.LenderName = f.Lender.Name
		return nil
	})
	return ev, err
}

func policyVersion(versions []secondment.Policy, v int) (secondment.Policy, error) {
	for _, p := range versions {
		if p.Version == v {
			return p, nil
		}
	}
	return secondment.Policy{}, fmt.Errorf("policy version %d: %w", v, secondment.NotFound("policy"))
}
