package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"secondment/internal/auth"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// Account is a demo account as printed for the person trying the demo.
type Account struct {
	Login, Name, Unit string
	Roles             []auth.Role
}

// reviewers are the seed's named org-dept reviewers, who sign in as
// themselves (people.csv).
var reviewers = map[string]string{"NMG-BT-ZZB": "李志强", "SD-WH-ZZB": "徐力", "XJ-KS-ZZB": "冯剑"}

// accounts plans one account per role per unit: every unit with staff has a
// borrowing clerk and a lending-unit contact; every org dept has a
// reviewer and a registrar; 包头市委组织部 also has the three separated
// administrators.
func accounts(units []secondment.Unit) []Account {
	var out []Account
	for _, u := range units {
		if u.StaffingQuota == nil { // a region: a container of units, with no staff of its own
			continue
		}
		base := strings.ToLower(u.Code)
		out = append(out,
			Account{base + ".borrower", u.Name + "经办人", u.Code, []auth.Role{auth.RoleBorrower}},
			Account{base + ".lender", u.Name + "联络人", u.Code, []auth.Role{auth.RoleLender}})
		if strings.HasSuffix(u.Name, "组织部") {
			name := reviewers[u.Code]
			if name == "" {
				name = u.Name + "审批人"
			}
			out = append(out,
				Account{base + ".orgdept", name, u.Code, []auth.Role{auth.RoleOrgDept}},
				Account{base + ".registrar", u.Name + "台账管理员", u.Code, []auth.Role{auth.RoleRegistrar}})
		}
	}
	out = append(out,
		Account{"sysadmin", "系统管理员", "NMG-BT-ZZB", []auth.Role{auth.RoleSysAdmin}},
		Account{"secadmin", "安全管理员", "NMG-BT-ZZB", []auth.Role{auth.RoleSecAdmin}},
		Account{"auditor", "审计管理员", "NMG-BT-ZZB", []auth.Role{auth.RoleAuditor}})
	return out
}

// LoadUsers creates or refreshes the demo accounts, all with password.
// One hash serves them all: hashing each would take seconds for nothing.
func LoadUsers(ctx context.Context, s *postgres.Store, h auth.Hasher, password string, now time.Time) ([]Account, error) {
	units, err := s.UnitAll(ctx)
	if err != nil {
		return nil, err
	}
	hash, err := h.Hash(password)
	if err != nil {
		return nil, err
	}
	ids := map[string]int64{}
	for _, u := range units {
		ids[u.Code] = u.ID
	}
	accs := accounts(units)
	users := make([]postgres.NewUser, 0, len(accs))
	for _, a := range accs {
		id, ok := ids[a.Unit]
		if !ok {
			return nil, fmt.Errorf("demo account %s: unit %s is not loaded", a.Login, a.Unit)
		}
		users = append(users, postgres.NewUser{Login: a.Login, Name: a.Name, UnitID: id, Roles: a.Roles, PasswordHash: hash})
	}
	if err := s.UserImport(ctx, postgres.Actor{Name: "seed demo"}, users, now); err != nil {
		return nil, err
	}
	return accs, nil
}
