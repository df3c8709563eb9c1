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
	// Region is the region an org dept's user maintains the policy of
	// (its own: 包头市 for 包头市委组织部); zero for anyone else. When it is
	// not the jurisdiction, the region inherits the jurisdiction's policy
	// until it adopts one of its own.
	Region secondment.Unit
}

// CanEdit reports whether the reader may add versions (for its region).
func (b PolicyBook) CanEdit() bool { return b.Region.ID != 0 }

// Inherits reports whether the editor's region has no policy of its own.
func (b PolicyBook) Inherits() bool { return b.CanEdit() && b.Region.ID != b.Jurisdiction.ID }

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
	return s.policyBook(cat, u)
}

func (s *Service) policyBook(cat *snapshot, u auth.User) (PolicyBook, error) {
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
	// An org dept's own unit lies in its region, so the jurisdiction read
	// above is its region's when the region has a policy of its own, and
	// the one its region inherits otherwise.
	if region, ok := maintained(cat, u); ok {
		b.Region = region
	}
	return b, nil
}
