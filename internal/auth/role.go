// Package auth holds accounts' rules: roles and the separation of duties,
// which units a user may see, password policy and hashing, and API tokens.
// It has no HTTP and no SQL; the store persists accounts and the server
// enforces these rules on every route.
package auth

import (
	"slices"

	"secondment/internal/secondment"
)

// Role is a role a user account holds.
type Role string

const (
	RoleBorrower  Role = "borrower"  // 借用单位经办人
	RoleLender    Role = "lender"    // 借出单位
	RoleOrgDept   Role = "orgdept"   // 组织部审批
	RoleRegistrar Role = "registrar" // 台账管理员
	RoleSysAdmin  Role = "sysadmin"  // 系统管理员: units and accounts
	RoleSecAdmin  Role = "secadmin"  // 安全管理员: sign-in policy
	RoleAuditor   Role = "auditor"   // 审计管理员: reads the audit trail
)

// AllRoles lists every role, the approval chain's first.
var AllRoles = []Role{RoleBorrower, RoleLender, RoleOrgDept, RoleRegistrar, RoleSysAdmin, RoleSecAdmin, RoleAuditor}

// Valid reports whether r is one of AllRoles.
func (r Role) Valid() bool { return slices.Contains(AllRoles, r) }

// Admin reports whether r is one of the three separated administrator
// roles (三权分立), which never act in the approval chain.
func (r Role) Admin() bool { return r == RoleSysAdmin || r == RoleSecAdmin || r == RoleAuditor }

// Chain is the role r plays in the approval chain, if any.
func (r Role) Chain() (secondment.Role, bool) {
	switch r {
	case RoleBorrower:
		return secondment.RoleBorrower, true
	case RoleLender:
		return secondment.RoleLender, true
	case RoleOrgDept:
		return secondment.RoleOrgDept, true
	case RoleRegistrar:
		return secondment.RoleRegistrar, true
	}
	return "", false
}

// Message names the role for the user.
func (r Role) Message() secondment.Message { return secondment.Msg("account.role." + string(r)) }

// ValidateRoles checks a set of roles for one account: known roles, and the
// separation of duties — an administrator role is held alone, so the system
// administrator, the security administrator and the auditor are three
// different people, none of whom decides secondments.
func ValidateRoles(roles []Role) error {
	fe := func(id string) error {
		return &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"),
			Fields: []secondment.FieldError{{Field: "roles", Message: secondment.Msg(id)}}}
	}
	if len(roles) == 0 {
		return fe("account.error.no_role")
	}
	for _, r := range roles {
		if !r.Valid() {
			return fe("account.error.role_unknown")
		}
		if r.Admin() && len(roles) > 1 {
			return fe("account.error.separation")
		}
	}
	if _, _, bad := Incompatible(roles); bad {
		return fe("account.error.incompatible")
	}
	return nil
}

// incompatible are the role pairs one person may not hold together
// (issue #13, separation of duties): the org dept signs off what a
// borrowing unit asks and a lending unit consents to, so its reviewer is
// neither.
var incompatible = [][2]Role{{RoleOrgDept, RoleLender}, {RoleOrgDept, RoleBorrower}}

// Incompatible reports the first pair of roles that may not be held
// together by one person, and whether there is one.
func Incompatible(roles []Role) (a, b Role, bad bool) {
	for _, p := range incompatible {
		if slices.Contains(roles, p[0]) && slices.Contains(roles, p[1]) {
			return p[0], p[1], true
		}
	}
	return "", "", false
}

// SortRoles turns stored role names into roles in AllRoles order.
func SortRoles(names []string) []Role {
	var out []Role
	for _, r := range AllRoles {
		if slices.Contains(names, string(r)) {
			out = append(out, r)
		}
	}
	return out
}
