package approval

import (
	"context"
	"fmt"
	"strings"

	"secondment/internal/auth"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// An org dept maintains the policy of its region (issue 11): it adds a
// version — from the one in force, or from a preset of the seed — with the
// day it takes effect, after a preview of what it would flag. A region
// without a policy of its own (a district under its city's) adopts one
// the same way. A version is never changed or removed once stored:
// requests were judged by it.

// maintained is the region whose policy u maintains: the region u's unit is
// the org dept of. Only org dept clerks maintain policy; a registrar keeps
// the ledger.
func maintained(cat *snapshot, u auth.User) (secondment.Unit, bool) {
	if !holds(u, secondment.RoleOrgDept) {
		return secondment.Unit{}, false
	}
	own := cat.unit(u.UnitID)
	region, ok := cat.h.Unit(own.ParentID)
	if !ok {
		return secondment.Unit{}, false
	}
	if od, ok := cat.h.OrgDeptOf(region.ID); !ok || od.ID != u.UnitID {
		return secondment.Unit{}, false
	}
	return region, true
}

// PolicyInput is a new version as an editor writes it.
type PolicyInput struct {
	// Base is what the new version starts from: "" for the version in
	// force today (the latest, if none is yet), or a preset's name for its
	// newest version.
	Base          string
	EffectiveFrom string // YYYY-MM-DD; today or later
	Basis         string // the document that sets it (依据), optional
	// Edit changes the base's settings as the editor asked (a form or a
	// JSON body); nil keeps them.
	Edit func(*secondment.Policy) error
	// BasedOn is the number of versions the region had when the editor
	// began (PolicyBook.Stored): a save after someone else's is a conflict,
	// so nobody's version is passed over unseen. nil: not checked.
	BasedOn *int
}

// PolicyChange is a new version and what it would change: the requests in
// the chain its sign-off would refuse, and the running secondments the
// policy sweep would flag, each beside the same counts under the version
// in force today.
type PolicyChange struct {
	Book                       PolicyBook
	Policy                     secondment.Policy
	Pending, Running           secondment.PolicyImpact
	PendingToday, RunningToday secondment.PolicyImpact
	HasToday                   bool // a version is in force today to compare with
	Saved                      bool
}

// PolicyBase is the policy a new version starts from, for the editor's
// form: the base's settings, effective today.
func (s *Service) PolicyBase(ctx context.Context, u auth.User, base string) (PolicyChange, error) {
	cat, b, err := s.policyDesk(ctx, u)
	if err != nil {
		return PolicyChange{}, err
	}
	p, err := s.policyFrom(cat, b, PolicyInput{Base: base})
	return PolicyChange{Book: b, Policy: p}, err
}

// PolicyPreview is what the version in would change, without saving it.
func (s *Service) PolicyPreview(ctx context.Context, u auth.User, in PolicyInput) (PolicyChange, error) {
	return s.policyChange(ctx, u, in, false)
}

// PolicyCreate stores the version in, audited, after judging what it
// would change (the counts are returned as its preview showed them).
// A region without a policy of its own gets first copies of the versions it
// inherits (in force today and scheduled), so nothing changes for it before
// the new version's day.
func (s *Service) PolicyCreate(ctx context.Context, u auth.User, in PolicyInput) (PolicyChange, error) {
	return s.policyChange(ctx, u, in, true)
}

func (s *Service) policyChange(ctx context.Context, u auth.User, in PolicyInput, save bool) (PolicyChange, error) {
	cat, b, err := s.policyDesk(ctx, u)
	if err != nil {
		return PolicyChange{}, err
	}
	p, err := s.policyFrom(cat, b, in)
	if err != nil {
		return PolicyChange{Book: b, Policy: p}, err
	}
	c := PolicyChange{Book: b, Policy: p}
	if c.Pending, c.Running, err = s.store.PolicyPreview(ctx, cat.h, b.Region.ID, p); err != nil {
		return c, err
	}
	if today, err := secondment.PolicyOn(cat.policies[b.Region.ID], b.Today); err == nil {
		c.HasToday = true
		if c.PendingToday, c.RunningToday, err = s.store.PolicyPreview(ctx, cat.h, b.Region.ID, today); err != nil {
			return c, err
		}
	}
	if !save {
		return c, nil
	}
	add := append(inherited(cat, b), p)
	based := -1 // unchecked
	if in.BasedOn != nil {
		based = *in.BasedOn
	}
	now := s.clock.Now()
	err = s.store.InTx(ctx, func(tx *postgres.Tx) error {
		saved, err := tx.PolicyAdd(ctx, b.Region.ID, based, add, postgres.AuditEvent{At: now, ActorID: u.ID, ActorName: u.Name,
			Action: "policy.create", UnitID: u.UnitID, Detail: map[string]any{"base": in.Base,
				"preview": map[string]any{"pending_blocked": c.Pending.Blocked, "running_flagged": c.Running.Blocked}}})
		if err != nil {
			return err
		}
		c.Policy = saved[len(saved)-1]
		return nil
	})
	c.Saved = err == nil
	return c, err
}

// policyDesk is the catalog and the policy book of an org dept clerk who
// maintains a region's policy; anyone else is refused.
func (s *Service) policyDesk(ctx context.Context, u auth.User) (*snapshot, PolicyBook, error) {
	cat, err := s.catalog(ctx, 0)
	if err != nil {
		return nil, PolicyBook{}, err
	}
	if _, ok := maintained(cat, u); !ok {
		return nil, PolicyBook{}, forbidden("error.forbidden", fmt.Errorf("%s maintains no region's policy", u.Login))
	}
	b, err := s.policyBook(cat, u)
	return cat, b, err
}

// policyFrom builds the version in describes on the book's policy: the
// base, edited, numbered after the region's last version, validated.
func (s *Service) policyFrom(cat *snapshot, b PolicyBook, in PolicyInput) (secondment.Policy, error) {
	var p secondment.Policy
	switch {
	case in.Base == "":
		vs := cat.policies[b.Jurisdiction.ID]
		var err error
		if p, err = secondment.PolicyOn(vs, b.Today); err != nil {
			if len(vs) == 0 {
				return p, err
			}
			p = vs[len(vs)-1]
		}
	case secondment.PresetName(in.Base).Valid():
		vs := secondment.Preset(secondment.PresetName(in.Base))
		p = vs[len(vs)-1]
	default:
		return p, fieldError("base", "policy.error.base")
	}
	p.Basis, p.EffectiveFrom = "", b.Today
	if in.Edit != nil {
		base := p
		if err := in.Edit(&p); err != nil {
			return p, err
		}
		p = p.Edited(base)
	}
	if v := strings.TrimSpace(in.EffectiveFrom); v != "" {
		d, err := secondment.ParseDate(v)
		if err != nil {
			return p, fieldError("effective_from", "error.date")
		}
		p.EffectiveFrom = d
	}
	p.Basis = strings.TrimSpace(in.Basis)
	if p.EffectiveFrom.Before(b.Today) {
		// Decisions already taken were judged by the versions then in force.
		return p, fieldError("effective_from", "policy.error.backdated", "Today", b.Today.String())
	}
	if len([]rune(p.Basis)) > 200 {
		return p, fieldError("basis", "error.too_long", "Max", 200)
	}
	p.Version = len(cat.policies[b.Region.ID]) + len(inherited(cat, b)) + 1
	return p, p.Validate()
}

// inherited are the versions a region without a policy of its own takes
// over from the one it inherits when it adopts one: the version in force
// today and those scheduled after it, so that nothing changes for its
// units before its own version's day. None for a region with its own.
func inherited(cat *snapshot, b PolicyBook) []secondment.Policy {
	if !b.Inherits() {
		return nil
	}
	vs := cat.policies[b.Jurisdiction.ID]
	var out []secondment.Policy
	if p, err := secondment.PolicyOn(vs, b.Today); err == nil {
		out = append(out, p)
	}
	for _, v := range vs {
		if v.EffectiveFrom.After(b.Today) {
			out = append(out, v)
		}
	}
	return out
}

// Stored is the number of versions the region's policy has: what an
// editor's form was built on (PolicyInput.BasedOn).
func (b PolicyBook) Stored() int {
	if b.Inherits() {
		return 0
	}
	return len(b.Versions)
}
