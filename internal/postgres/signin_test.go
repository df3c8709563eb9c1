package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"secondment/internal/auth"
	"secondment/internal/dbtest"
	"secondment/internal/postgres"
)

// signInStore has one account, "admin" with password "right password".
func signInStore(t *testing.T) *postgres.Store {
	t.Helper()
	ctx := context.Background()
	s := dbtest.Store(t)
	if _, err := s.Import(ctx, postgres.Import{Units: sampleUnits()}); err != nil {
		t.Fatal(err)
	}
	u, _ := s.UnitGetByCode(ctx, "C-ZZB")
	hash, _ := auth.Hasher{Params: auth.CheapParams}.Hash("right password")
	if _, err := s.UserCreate(ctx, postgres.Actor{Name: "test"}, postgres.NewUser{Login: "admin", Name: "管理员", UnitID: u.ID,
		Roles: []auth.Role{auth.RoleSysAdmin}, PasswordHash: hash}, time.Now()); err != nil {
		t.Fatal(err)
	}
	return s
}

func direct(f func() error) error { return f() }

// Failures slow the login from the address they come from, by a delay
// that doubles, up to the longest delay; the account is never locked for
// a colleague elsewhere, an unknown login is slowed alike (nothing tells
// it apart), and attempts refused while waiting do not lengthen the wait.
func TestSignInThrottlesLoginAndAddress(t *testing.T) {
	t.Parallel()
	s := signInStore(t)
	ctx := context.Background()
	set := auth.DefaultSettings
	now := time.Now().Add(time.Hour).Truncate(time.Second) // after the password was set; whole seconds as stored
	try := func(login, password, addr string) postgres.SignInResult {
		t.Helper()
		r, err := s.SignIn(ctx, login, password, addr, set, now, direct)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, login := range []string{"admin", "nobody"} {
		for i := range set.LockoutThreshold {
			if r := try(login, fmt.Sprintf("guess %d", i), "10.0.0.66"); r.Outcome != postgres.SignInFailed {
				t.Fatalf("%s failure %d: %+v", login, i+1, r)
			}
		}
		// The next, even with the right password, waits a second.
		if r := try(login, "right password", "10.0.0.66"); r.Outcome != postgres.SignInThrottled || r.Wait != time.Second {
			t.Fatalf("%s after %d failures: %+v; want a 1 s wait", login, set.LockoutThreshold, r)
		}
	}
	// A colleague at another address signs in at once.
	if r := try("admin", "right password", "10.0.0.7"); r.Outcome != postgres.SignInOK {
		t.Fatalf("the account was locked for another address: %+v", r)
	}
	// After the wait, one more wrong guess doubles it; refused attempts
	// while waiting do not.
	now = now.Add(time.Second)
	if r := try("admin", "guess 6", "10.0.0.66"); r.Outcome != postgres.SignInFailed {
		t.Fatalf("after the wait: %+v", r)
	}
	for range 3 {
		if r := try("admin", "guess x", "10.0.0.66"); r.Outcome != postgres.SignInThrottled || r.Wait != 2*time.Second {
			t.Fatalf("while waiting: %+v; want 2 s", r)
		}
	}
	// The right password after the wait works, and resets the count.
	now = now.Add(2 * time.Second)
	if r := try("admin", "right password", "10.0.0.66"); r.Outcome != postgres.SignInOK {
		t.Fatalf("the right password after the wait: %+v", r)
	}
	if r := try("admin", "guess y", "10.0.0.66"); r.Outcome != postgres.SignInFailed {
		t.Fatalf("after a success the count starts again: %+v", r)
	}
	// The delay never passes the longest delay.
	if d := postgres.ThrottleDelay(set.LockoutThreshold+40, set); d != set.LockoutDuration {
		t.Fatalf("delay after 40 more failures: %s", d)
	}
}

// The per-address limit counts failures only (an office behind one NAT
// address signs in all morning), and counts a burst exactly.
func TestSignInAddressLimitCountsFailuresExactly(t *testing.T) {
	t.Parallel()
	s := signInStore(t)
	ctx := context.Background()
	set := auth.DefaultSettings
	now := time.Now().Add(time.Hour).Truncate(time.Second) // after the password was set; whole seconds as stored
	for i := range set.RateLimitAttempts + 5 {
		r, err := s.SignIn(ctx, "admin", "right password", "10.0.0.1", set, now.Add(time.Duration(i)*time.Second), direct)
		if err != nil || r.Outcome != postgres.SignInOK {
			t.Fatalf("sign-in %d of the morning: %+v %v", i+1, r, err)
		}
	}
	var wg sync.WaitGroup
	outcomes := make(chan postgres.SignInOutcome, 40)
	for i := range 40 {
		wg.Go(func() {
			r, err := s.SignIn(ctx, fmt.Sprintf("nobody%d", i), "x", "10.0.0.2", set, now, direct)
			if err != nil {
				t.Error(err)
			}
			outcomes <- r.Outcome
		})
	}
	wg.Wait()
	close(outcomes)
	n := map[postgres.SignInOutcome]int{}
	for o := range outcomes {
		n[o]++
	}
	if n[postgres.SignInFailed] != set.RateLimitAttempts || n[postgres.SignInRateLimited] != 40-set.RateLimitAttempts {
		t.Fatalf("a burst of 40 from one address: %v; want exactly %d evaluated", n, set.RateLimitAttempts)
	}
}

// One login guessed from many addresses is slowed everywhere once four
// addresses' worth of failures add up; an IPv6 address counts by its /64;
// attempts refused while waiting do not count against the address.
func TestSignInLoginWideAndAddressKeys(t *testing.T) {
	t.Parallel()
	s := signInStore(t)
	ctx := context.Background()
	set := auth.DefaultSettings
	now := time.Now().Add(time.Hour).Truncate(time.Second)
	n := set.LockoutThreshold * postgres.LoginWideFactor
	for i := range n {
		r, err := s.SignIn(ctx, "admin", "guess", fmt.Sprintf("10.1.%d.%d", i/200, i%200), set, now, direct)
		if err != nil || r.Outcome != postgres.SignInFailed {
			t.Fatalf("guess %d: %+v %v", i, r, err)
		}
	}
	if r, _ := s.SignIn(ctx, "admin", "right password", "10.9.9.9", set, now, direct); r.Outcome != postgres.SignInThrottled {
		t.Fatalf("after %d guesses from %d addresses, a fresh address: %+v; want a wait", n, n, r)
	}
	if got := postgres.AddressKey("2001:db8:1:2:aaaa::1"); got != postgres.AddressKey("2001:db8:1:2:bbbb::9") || got != "2001:db8:1:2::/64" {
		t.Errorf("IPv6 keys: %q", got)
	}
	if got := postgres.AddressKey("192.0.2.7"); got != "192.0.2.7" {
		t.Errorf("IPv4 key: %q", got)
	}
	// Refused while waiting, an attacker's retries do not keep the address
	// blocked: only failures the password was checked for count.
	addr := "10.7.7.7"
	for range set.LockoutThreshold {
		if _, err := s.SignIn(ctx, "nobody", "x", addr, set, now, direct); err != nil {
			t.Fatal(err)
		}
	}
	for range set.RateLimitAttempts {
		if r, _ := s.SignIn(ctx, "nobody", "x", addr, set, now, direct); r.Outcome != postgres.SignInThrottled {
			t.Fatalf("while waiting: %+v", r)
		}
	}
	if r, _ := s.SignIn(ctx, "someone.else", "x", addr, set, now, direct); r.Outcome != postgres.SignInFailed {
		t.Fatalf("a colleague at the address after the attacker's refused retries: %+v; want an ordinary failure", r)
	}
}

// A sign-in that single sign-on vouched for opens only an account that
// exists and may sign in; each outcome is audited with its method, and no
// account is ever made.
func TestSignInExternal(t *testing.T) {
	t.Parallel()
	s := signInStore(t)
	ctx := context.Background()
	now := time.Now().Add(time.Hour).Truncate(time.Second)
	in := func(login string) postgres.ExternalSignIn {
		return postgres.ExternalSignIn{Login: login, Method: "oidc", Address: "10.0.0.7", Detail: map[string]any{"subject": "s-" + login}}
	}
	r0, err := s.SignInExternal(ctx, in("admin"), now)
	if err != nil || r0.Outcome != postgres.SignInOK || r0.User.Login != "admin" {
		t.Fatalf("admin: %+v %v", r0, err)
	}
	r, err := s.SignInExternal(ctx, in("nobody"), now)
	if err != nil || r.Outcome != postgres.SignInFailed || r.User.ID != 0 {
		t.Fatalf("unknown: %+v %v", r, err)
	}
	var users int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM app_user`).Scan(&users); err != nil || users != 1 {
		t.Fatalf("accounts after an unknown sign-in: %d %v", users, err)
	}
	if err := s.UserSetDisabled(ctx, postgres.Actor{Name: "test"}, r0.User.ID, true, now); err != nil {
		t.Fatal(err)
	}
	if r, err := s.SignInExternal(ctx, in("admin"), now); err != nil || r.Outcome != postgres.SignInFailed {
		t.Fatalf("disabled: %+v %v", r, err)
	}
	events, _, err := s.AuditList(ctx, postgres.AuditFilter{Action: "user.sign_in"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		if e.Detail["method"] != "oidc" || e.Detail["address"] != "10.0.0.7" || e.Detail["subject"] == nil {
			t.Errorf("event %s: detail %v", e.Action, e.Detail)
		}
		got = append(got, fmt.Sprintf("%s %s %v", e.Action, e.ActorName, e.Detail["reason"]))
	}
	want := []string{"user.sign_in_failed admin disabled", "user.sign_in_failed nobody unknown account", "user.sign_in 管理员 <nil>"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("audit %q; want %q", got, want)
	}
}
