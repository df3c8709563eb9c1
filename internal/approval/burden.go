package approval

import (
	"context"
	"fmt"

	"secondment/internal/auth"
	"secondment/internal/secondment"
)

// LenderBurden is a lending unit's load (R14, S8): its people away now
// against its headcount, under the warning threshold of the policy in
// force for it today.
type LenderBurden struct {
	Unit        secondment.Unit
	Burden      secondment.Burden
	ThresholdBP int // 0: the policy sets no warning threshold
}

// Burden is the load of u's unit as a lending unit. Only its clerks see
// it here; the org dept sees each unit's on the request it judges.
func (s *Service) Burden(ctx context.Context, u auth.User) (LenderBurden, error) {
	if !holds(u, secondment.RoleLender) {
		return LenderBurden{}, forbidden("error.forbidden", fmt.Errorf("%s is no lending unit's clerk", u.Login))
	}
	cat, err := s.catalog(ctx, 0)
	if err != nil {
		return LenderBurden{}, err
	}
	unit := cat.unit(u.UnitID)
	var p secondment.Policy
	if j, err := cat.h.Jurisdiction(unit.ID, cat.policies); err == nil {
		if p, err = j.PolicyOn(secondment.DateOf(s.clock.Now())); err != nil {
			return LenderBurden{}, err
		}
	}
	away, err := s.store.LenderAway(ctx, unit.ID)
	if err != nil {
		return LenderBurden{}, err
	}
	return LenderBurden{Unit: unit, Burden: secondment.BurdenOf(p, unit, away), ThresholdBP: p.BurdenWarnBP}, nil
}
