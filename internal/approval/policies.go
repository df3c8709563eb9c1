package approval

import (
	"context"
	"fmt"

	"secondment/internal/auth"
	"secondment/internal/secondment"
)

// PolicyBook is the policy a user's unit works under (issue 11): its
// jurisdiction, the org dept that signs off, and every version of the
// policy, newest first, with the one in force today.
type PolicyBook struct {
	Jurisdiction secondment.Unit
	OrgDept      secondment.Unit
	Versions     []secondment.Policy // newest first
	InForce      int                 // the version in force today; 0: none yet
	Today        secondment.Date
}

// Policies is the policy of u's unit's jurisdiction: what a clerk's
// request, a lending unit's consent and the org dept's sign-off are judged
// by, with the seed's words behind each rule.
func (s *Service) Policies(ctx context.Context, u auth.User) (PolicyBook, error) {
	if !u.HasAny(auth.RoleBorrower, auth.RoleLender, auth.RoleOrgDept, auth.RoleRegistrar) {
		return PolicyBook{}, forbidden("error.forbidden", fmt.Errorf("%s has no policy to read", u.Login))
	}
	cat, err := s.catalog(ctx, 0)
	if err != nil {
		return PolicyBook{}, err
	}
	j, err := cat.h.Jurisdiction(u.UnitID, cat.policies)
	if err != nil {
		return PolicyBook{}, err
	}
	b := PolicyBook{Jurisdiction: j.Root, OrgDept: j.OrgDept, Today: secondment.DateOf(s.clock.Now())}
	for i := len(j.Policies) - 1; i >= 0; i-- {
		b.Versions = append(b.Versions, j.Policies[i])
	}
	if p, err := j.PolicyOn(b.Today); err == nil {
		b.InForce = p.Version
	}
	return b, nil
}
