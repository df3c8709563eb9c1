package approval

import (
	"context"
	"fmt"
	"slices"

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

// UnitLoad is a unit's people away in an org dept's ledger: lent out (a
// lending unit, with its burden against its headcount) or held (a
// borrowing unit).
type UnitLoad struct {
	Unit   secondment.Unit
	Away   int
	Burden secondment.Burden // a lending unit's; zero for a borrowing unit
}

// Loads are the units of an org dept's ledger with the most people away:
// lending units by people lent out, borrowing units by people held, under
// the warning threshold of the policy in force.
type Loads struct {
	Lenders, Borrowers []UnitLoad
	ThresholdBP        int
}

// LoadsMax bounds each table of Loads.
const LoadsMax = 10

// Loads lists, for the org dept (or its registrar), the lending units with
// the most people away and the borrowing units holding the most (S8: each
// township's load, R14). Each count is the org dept's ledger filtered to
// the unit and the states of people away, so it links to its rows.
func (s *Service) Loads(ctx context.Context, u auth.User) (Loads, error) {
	if err := registering(u); err != nil {
		return Loads{}, err
	}
	cat, err := s.catalog(ctx, 0)
	if err != nil {
		return Loads{}, err
	}
	var p secondment.Policy
	if j, err := cat.h.Jurisdiction(u.UnitID, cat.policies); err == nil {
		if p, err = j.PolicyOn(secondment.DateOf(s.clock.Now())); err != nil {
			return Loads{}, err
		}
	}
	role := secondment.RoleOrgDept
	if !holds(u, role) {
		role = secondment.RoleRegistrar
	}
	out := Loads{ThresholdBP: p.BurdenWarnBP}
	for _, t := range []struct {
		by  secondment.Role
		dst *[]UnitLoad
	}{{secondment.RoleLender, &out.Lenders}, {secondment.RoleBorrower, &out.Borrowers}} {
		counts, err := s.store.LedgerByUnit(ctx, role, u.UnitID, t.by, AwayStates, LoadsMax)
		if err != nil {
			return Loads{}, err
		}
		for _, c := range counts {
			l := UnitLoad{Unit: cat.unit(c.UnitID), Away: c.Count}
			if t.by == secondment.RoleLender {
				l.Burden = secondment.BurdenOf(p, l.Unit, c.Count)
			}
			*t.dst = append(*t.dst, l)
		}
	}
	return out, nil
}

// AwayStates are the states of a secondment whose person is away: the
// people a lending unit is without, and a borrowing unit holds.
var AwayStates = statesWhere(secondment.State.Away)

// BorrowerHold is a borrowing unit's people held today (signed off and
// started, or away) against its limit under the policy in force today
// (R15).
type BorrowerHold struct {
	Unit  secondment.Unit
	Hold  secondment.Hold
	Today secondment.Date
}

// HeldStates are the states in which a borrowing unit holds its people
// (R15): signed off, or away.
var HeldStates = statesWhere(secondment.State.Held)

// statesWhere lists the states keep accepts, in their order.
func statesWhere(keep func(secondment.State) bool) []secondment.State {
	return slices.DeleteFunc(slices.Clone(secondment.AllStates), func(st secondment.State) bool { return !keep(st) })
}

// Hold is u's borrowing unit's load against its limit: what its clerks
// see on their home page.
func (s *Service) Hold(ctx context.Context, u auth.User) (BorrowerHold, error) {
	if err := borrowing(u); err != nil {
		return BorrowerHold{}, err
	}
	cat, err := s.catalog(ctx, 0)
	if err != nil {
		return BorrowerHold{}, err
	}
	unit := cat.unit(u.UnitID)
	today := secondment.DateOf(s.clock.Now())
	var p secondment.Policy // none in force yet: no limit
	if j, err := cat.h.Jurisdiction(unit.ID, cat.policies); err == nil {
		p, _ = j.PolicyOn(today)
	}
	terms, err := s.store.HeldTerms(ctx, unit.ID)
	if err != nil {
		return BorrowerHold{}, err
	}
	held := secondment.HeldDuring(terms, secondment.Secondment{Start: today, End: today})
	return BorrowerHold{Unit: unit, Hold: secondment.HoldOf(p, unit, held), Today: today}, nil
}
