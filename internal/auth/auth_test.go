package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"secondment/internal/auth"
	"secondment/internal/secondment"
)

func field(err error) string {
	var de *secondment.Error
	if !errors.As(err, &de) || len(de.Fields) == 0 {
		return ""
	}
	return de.Fields[0].Message.ID
}

func TestPasswordPolicy(t *testing.T) {
	ctx := auth.PasswordContext{Login: "li.si", Name: "李四", UnitName: "青山区人大常委会机关"}
	plain := auth.PasswordPolicy{MinLength: 10}
	strict := auth.PasswordPolicy{MinLength: 12, Composition: true}
	cases := []struct {
		p        auth.PasswordPolicy
		password string
		want     string // message ID, "" for accepted
	}{
		{plain, "123456789", "account.error.password_length"},
		{plain, "1234567890", ""},
		{plain, "密码密码密码密码密码", ""}, // any characters, counted as characters
		{plain, strings.Repeat("x", 128), ""},
		{plain, strings.Repeat("x", 129), "account.error.password_length"},
		{plain, "my name is LI.SI ok", "account.error.password_personal"},
		{plain, "我是李四的密码呀呀呀", "account.error.password_personal"},
		{plain, "青山区人大常委会机关密码", "account.error.password_personal"},
		{strict, "abcdefghijk1", "account.error.password_composition"},
		{strict, "abcdefghijK1", ""},
		{strict, "Short1!", "account.error.password_length"},
		{auth.PasswordPolicy{}, "123456789", "account.error.password_length"}, // never below 10
	}
	for _, c := range cases {
		err := c.p.Check(c.password, ctx)
		if got := field(err); got != c.want {
			t.Errorf("%+v %q: %q, want %q", c.p, c.password, got, c.want)
		}
	}
}

func TestGeneratedPasswordsPassStrictPolicy(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		p := auth.GeneratePassword()
		if err := (auth.PasswordPolicy{MinLength: 16, Composition: true}).Check(p, auth.PasswordContext{}); err != nil {
			t.Fatalf("%q: %v", p, err)
		}
		if seen[p] {
			t.Fatalf("%q generated twice", p)
		}
		seen[p] = true
	}
}

// The production hasher uses argon2id's recommended parameters; a hash
// records them, so they can be raised later without breaking old hashes.
func TestHashingParameters(t *testing.T) {
	if *auth.DefaultHasher.Params != *argon2id.DefaultParams {
		t.Fatalf("default parameters %+v, want %+v", auth.DefaultHasher.Params, argon2id.DefaultParams)
	}
	if argon2id.DefaultParams.Memory < 64*1024 || argon2id.DefaultParams.Iterations < 1 {
		t.Fatalf("parameters too weak: %+v", argon2id.DefaultParams)
	}
	h, err := auth.DefaultHasher.Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=1,p=") {
		t.Fatalf("hash %q", h)
	}
	if ok, err := auth.Verify("correct horse battery", h); !ok || err != nil {
		t.Fatalf("verify: %v %v", ok, err)
	}
	if ok, _ := auth.Verify("correct horse batterY", h); ok {
		t.Fatal("a wrong password verified")
	}
	h2, _ := auth.DefaultHasher.Hash("correct horse battery")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if _, err := auth.Verify("x", "not a hash"); err == nil {
		t.Fatal("a corrupt hash must be an error, not a mismatch")
	}
}

func TestSeparationOfDuties(t *testing.T) {
	for _, c := range []struct {
		roles []auth.Role
		ok    bool
	}{
		{[]auth.Role{auth.RoleBorrower, auth.RoleLender}, true},
		{[]auth.Role{auth.RoleOrgDept, auth.RoleRegistrar}, true},
		{[]auth.Role{auth.RoleSysAdmin}, true},
		{[]auth.Role{auth.RoleSysAdmin, auth.RoleSecAdmin}, false},
		{[]auth.Role{auth.RoleAuditor, auth.RoleOrgDept}, false},
		{[]auth.Role{auth.RoleSecAdmin, auth.RoleBorrower}, false},
		{nil, false},
		{[]auth.Role{"king"}, false},
	} {
		if err := auth.ValidateRoles(c.roles); (err == nil) != c.ok {
			t.Errorf("%v: %v", c.roles, err)
		}
	}
	for _, r := range auth.AllRoles {
		if _, chain := r.Chain(); chain == r.Admin() {
			t.Errorf("%s: an admin role must not act in the chain, and every other role must", r)
		}
	}
}

func TestScope(t *testing.T) {
	units := []secondment.Unit{
		{ID: 1, Code: "C", Name: "某市", Level: secondment.LevelCity, System: secondment.SystemGeneral},
		{ID: 2, Code: "C-ZZB", Name: "某市委组织部", Level: secondment.LevelCity, System: secondment.SystemGeneral, Branch: secondment.BranchParty, ParentID: 1},
		{ID: 3, Code: "C-D", Name: "某区", Level: secondment.LevelCounty, System: secondment.SystemGeneral, ParentID: 1},
		{ID: 4, Code: "C-D-ZZB", Name: "某区委组织部", Level: secondment.LevelCounty, System: secondment.SystemGeneral, Branch: secondment.BranchParty, ParentID: 3},
		{ID: 5, Code: "C-D-T", Name: "某镇", Level: secondment.LevelTownship, System: secondment.SystemGeneral, ParentID: 3},
		{ID: 6, Code: "O", Name: "另一市", Level: secondment.LevelCity, System: secondment.SystemGeneral},
	}
	h, err := secondment.NewHierarchy(units)
	if err != nil {
		t.Fatal(err)
	}
	sees := func(u auth.User) []int64 {
		var out []int64
		sc := auth.ScopeOf(u, h)
		for _, x := range units {
			if sc.Contains(x.ID) {
				out = append(out, x.ID)
			}
		}
		return out
	}
	check := func(name string, u auth.User, want ...int64) {
		t.Helper()
		got := sees(u)
		if len(got) != len(want) {
			t.Errorf("%s sees %v, want %v", name, got, want)
			return
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s sees %v, want %v", name, got, want)
				return
			}
		}
	}
	check("city org dept", auth.User{UnitID: 2, Roles: []auth.Role{auth.RoleOrgDept}}, 1, 2, 3, 4, 5)
	check("district registrar", auth.User{UnitID: 4, Roles: []auth.Role{auth.RoleRegistrar}}, 3, 4, 5)
	check("township clerk", auth.User{UnitID: 5, Roles: []auth.Role{auth.RoleBorrower, auth.RoleLender}}, 5)
	check("system administrator", auth.User{UnitID: 2, Roles: []auth.Role{auth.RoleSysAdmin}}, 1, 2, 3, 4, 5, 6)
	check("auditor", auth.User{UnitID: 2, Roles: []auth.Role{auth.RoleAuditor}})
}

func TestTokens(t *testing.T) {
	tok, hash := auth.NewToken()
	if !auth.LooksLikeToken(tok) || string(auth.HashToken(tok)) != string(hash) || len(hash) != 32 {
		t.Fatalf("token %q", tok)
	}
	other, _ := auth.NewToken()
	if other == tok {
		t.Fatal("two tokens are equal")
	}
	if auth.LooksLikeToken("sec_short") || auth.LooksLikeToken(strings.Replace(tok, "sec_", "xyz_", 1)) {
		t.Fatal("LooksLikeToken accepts malformed tokens")
	}
}

func TestPasswordExpiry(t *testing.T) {
	now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	u := auth.User{PasswordChangedAt: now.Add(-91 * 24 * time.Hour)}
	if u.PasswordExpired(0, now) || !u.PasswordExpired(90, now) || u.PasswordExpired(120, now) {
		t.Fatal("password expiry wrong")
	}
}

func TestSettingsValidate(t *testing.T) {
	if err := auth.DefaultSettings.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	bad := auth.DefaultSettings
	bad.IdleTimeout = time.Minute
	bad.Password.MinLength = 8
	var de *secondment.Error
	if err := bad.Validate(); !errors.As(err, &de) || len(de.Fields) != 2 {
		t.Fatalf("bad settings: %v", err)
	}
}

// A caller that waits in vain for a hashing slot is told to come back
// (EUnavailable, with when), and the slots never hold more than their
// number.
func TestSlots(t *testing.T) {
	s := auth.NewSlots(1)
	release, err := s.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = s.Acquire(ctx)
	var de *secondment.Error
	if !errors.As(err, &de) || de.Code != secondment.EUnavailable || de.RetryAfter <= 0 || de.Message.ID != "auth.busy" {
		t.Fatalf("a full slot: %v", err)
	}
	release()
	if r, err := s.Acquire(context.Background()); err != nil {
		t.Fatalf("a freed slot: %v", err)
	} else {
		r()
	}
	if s.Peak() != 1 {
		t.Fatalf("peak %d", s.Peak())
	}
}
