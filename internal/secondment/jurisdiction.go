package secondment

import (
	"errors"
	"strings"
)

// Hierarchy indexes units by their parent links, for the questions the
// approval chain asks about the tree. It is built from a plain list, so the
// answers are pure functions of that list.
type Hierarchy struct {
	units    map[int64]Unit
	children map[int64][]Unit
}

// NewHierarchy indexes units; it refuses unknown parents and cycles.
func NewHierarchy(units []Unit) (*Hierarchy, error) {
	h := &Hierarchy{units: make(map[int64]Unit, len(units)), children: map[int64][]Unit{}}
	for _, u := range units {
		h.units[u.ID] = u
	}
	for _, u := range units {
		if u.ParentID == 0 {
			continue
		}
		if _, ok := h.units[u.ParentID]; !ok {
			return nil, Errorf(EInvalid, Msg("unit.error.parent_unknown"), errors.New(u.Code+": unknown parent"))
		}
		h.children[u.ParentID] = append(h.children[u.ParentID], u)
	}
	for _, u := range units {
		if len(h.Ancestors(u.ID)) > len(units) {
			return nil, Errorf(EInvalid, Msg("unit.error.parent_level"), errors.New(u.Code+": cycle"))
		}
	}
	return h, nil
}

// Unit returns the unit with id.
func (h *Hierarchy) Unit(id int64) (Unit, bool) { u, ok := h.units[id]; return u, ok }

// Ancestors lists the unit and its ancestors, the unit first. It stops on a
// cycle after one unit more than the tree holds, which NewHierarchy detects.
func (h *Hierarchy) Ancestors(id int64) []Unit {
	var out []Unit
	for u, ok := h.units[id]; ok && len(out) <= len(h.units); u, ok = h.units[u.ParentID] {
		out = append(out, u)
	}
	return out
}

// Contains reports whether unit id is root or below it.
func (h *Hierarchy) Contains(root, id int64) bool {
	for _, a := range h.Ancestors(id) {
		if a.ID == root {
			return true
		}
	}
	return false
}

// Subtree lists root and every unit below it, root first.
func (h *Hierarchy) Subtree(root int64) []int64 {
	if _, ok := h.units[root]; !ok {
		return nil
	}
	out := []int64{root}
	for i := 0; i < len(out); i++ {
		for _, c := range h.children[out[i]] {
			out = append(out, c.ID)
		}
	}
	return out
}

// OrgDeptOf is the organization department of a region: the party unit
// directly under it whose name ends in 组织部 (包头市 → 包头市委组织部).
func (h *Hierarchy) OrgDeptOf(region int64) (Unit, bool) {
	for _, c := range h.children[region] {
		if c.System == SystemGeneral && c.Branch == BranchParty && strings.HasSuffix(c.Name, "组织部") {
			return c, true
		}
	}
	return Unit{}, false
}

// Jurisdiction is where a request is judged: the region whose policy applies
// and the org dept that signs off. Both are shown to the user.
type Jurisdiction struct {
	Root     Unit     // the nearest ancestor of the borrowing unit with a policy
	OrgDept  Unit     // the approving org dept
	Policies []Policy // the versions of Root's policy
}

// PolicyOn is the policy version in force on day d.
func (j Jurisdiction) PolicyOn(d Date) (Policy, error) { return PolicyOn(j.Policies, d) }

// Jurisdiction resolves the jurisdiction of a borrowing unit. policies maps a
// region's unit ID to its policy versions. The policy is that of the nearest
// ancestor with one, so a district inherits its city's; the org dept is that
// of the nearest ancestor region with one, so a district organ goes to the
// district org dept, which knows it. An org dept never signs off its own
// borrowing: its request goes one region up (九原区委组织部 → 包头市委组织部).
func (h *Hierarchy) Jurisdiction(borrower int64, policies map[int64][]Policy) (Jurisdiction, error) {
	anc := h.Ancestors(borrower)
	if len(anc) == 0 {
		return Jurisdiction{}, NotFound("unit")
	}
	var j Jurisdiction
	for _, a := range anc {
		if len(policies[a.ID]) > 0 {
			j.Root, j.Policies = a, policies[a.ID]
			break
		}
	}
	if j.Root.ID == 0 {
		return Jurisdiction{}, Errorf(EInvalid, Msg("jurisdiction.error.no_policy", "Unit", anc[0].Name), nil)
	}
	j.OrgDept, _ = h.Unit(h.orgDeptFor(borrower))
	if j.OrgDept.ID == 0 {
		return Jurisdiction{}, Errorf(EInvalid, Msg("jurisdiction.error.no_orgdept", "Unit", anc[0].Name), nil)
	}
	return j, nil
}

// RoleOn reports whether an actor plays its role on request s: the borrower
// role in the borrowing unit, the lender role in the lending unit, the org
// dept and registrar roles in the approving org dept (before submission,
// the one the hierarchy resolves). The system plays its role everywhere.
func (h *Hierarchy) RoleOn(a Actor, s Secondment) bool {
	if s.OrgDeptID == 0 {
		s.OrgDeptID = h.orgDeptFor(s.BorrowerID)
	}
	return s.playedBy(a)
}

// orgDeptFor is the approving org dept of a borrowing unit, 0 if none.
// An org dept with none above it signs off its own borrowing: there is no
// one else to ask.
func (h *Hierarchy) orgDeptFor(borrower int64) int64 {
	var self int64
	for _, a := range h.Ancestors(borrower) {
		if od, ok := h.OrgDeptOf(a.ID); ok {
			if od.ID != borrower {
				return od.ID
			}
			self = od.ID
		}
	}
	return self
}

// playedBy reports whether a plays a.Role on s, by the units s records.
func (s Secondment) playedBy(a Actor) bool {
	switch a.Role {
	case RoleBorrower:
		return a.UnitID == s.BorrowerID
	case RoleLender:
		return a.UnitID == s.LenderID
	case RoleOrgDept, RoleRegistrar:
		return s.OrgDeptID != 0 && a.UnitID == s.OrgDeptID
	case RoleSystem:
		return true
	}
	return false
}
