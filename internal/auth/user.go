package auth

import (
	"slices"
	"time"

	"secondment/internal/secondment"
)

// User is an account as the program sees it once signed in.
type User struct {
	ID                 int64
	Login              string
	Name               string
	UnitID             int64
	UnitName           string
	Roles              []Role
	MustChangePassword bool
	PasswordChangedAt  time.Time
	Disabled           bool
	// PersonID is the person record of whoever uses the account (0: not
	// linked): nobody files or decides a request about themselves.
	PersonID   int64
	PersonCode string // set by the administrator's list only
	// ActingFor are the colleagues this user stands in for today as their
	// out-of-office proxy (代理); set per request by the server.
	ActingFor []User
}

// Has reports whether u holds role r.
func (u User) Has(r Role) bool { return slices.Contains(u.Roles, r) }

// HasAny reports whether u holds any of rs.
func (u User) HasAny(rs ...Role) bool {
	return slices.ContainsFunc(rs, u.Has)
}

// Actor is u acting in the approval chain in role r.
func (u User) Actor(r secondment.Role) secondment.Actor {
	return secondment.Actor{UserID: u.ID, Name: u.Name, Role: r, UnitID: u.UnitID, PersonID: u.PersonID}
}

// PasswordExpired reports whether the policy's maximum age has passed.
func (u User) PasswordExpired(maxAgeDays int, now time.Time) bool {
	return maxAgeDays > 0 && now.Sub(u.PasswordChangedAt) > time.Duration(maxAgeDays)*24*time.Hour
}

// Scope is the set of units whose data a user may see. Anything outside it
// is answered with 404, as if it did not exist.
type Scope struct {
	all   bool
	units map[int64]bool
}

// Contains reports whether unit id is in scope.
func (s Scope) Contains(id int64) bool { return s.all || s.units[id] }

// All reports whether every unit is in scope.
func (s Scope) All() bool { return s.all }

// Units lists the units in scope, for a query; nil when every unit is.
func (s Scope) Units() []int64 {
	if s.all {
		return nil
	}
	out := make([]int64, 0, len(s.units))
	for id := range s.units {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// ScopeOf is what u may see:
//   - the system administrator manages every unit and account;
//   - an org-dept reviewer or registrar sees the region its org dept
//     belongs to, with everything below (a city org dept sees the whole city);
//   - a borrowing or lending unit's clerk sees that unit.
//
// The security administrator and the auditor see no unit data: their pages
// are the sign-in policy and the audit trail.
func ScopeOf(u User, h *secondment.Hierarchy) Scope {
	s := Scope{units: map[int64]bool{}}
	if u.Has(RoleSysAdmin) {
		s.all = true
		return s
	}
	if u.HasAny(RoleBorrower, RoleLender) {
		s.units[u.UnitID] = true
	}
	if u.HasAny(RoleOrgDept, RoleRegistrar) {
		region := u.UnitID
		if unit, ok := h.Unit(u.UnitID); ok && unit.ParentID != 0 {
			region = unit.ParentID
		}
		for _, id := range h.Subtree(region) {
			s.units[id] = true
		}
	}
	return s
}
