package server_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"secondment/internal/auth"
	"secondment/internal/dbtest"
	"secondment/internal/demo"
	"secondment/internal/i18n"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
	"secondment/internal/server"
)

// Twenty people sign in at the same moment with real argon2id hashes (64
// MiB each): at most HashSlots hashes run at once, the rest queue, and
// every one of them gets in. Without the bound the peak would be the
// number of callers.
func TestSimultaneousSignInsAreBounded(t *testing.T) {
	t.Parallel()
	const people, slots = 20, 2
	store := dbtest.Store(t)
	ctx := t.Context()
	if _, err := demo.Load(ctx, store); err != nil {
		t.Fatal(err)
	}
	unit, err := store.UnitGetByCode(ctx, "NMG-BT-ZZB")
	if err != nil {
		t.Fatal(err)
	}
	const password = "Real-Cost-Password-2026"
	hash, err := auth.DefaultHasher.Hash(password) // the production parameters, once
	if err != nil {
		t.Fatal(err)
	}
	for i := range people {
		login := fmt.Sprintf("signer%02d", i)
		if _, err := store.UserCreate(ctx, postgres.Actor{Name: "test"}, postgres.NewUser{Login: login, Name: login,
			UnitID: unit.ID, Roles: []auth.Role{auth.RoleOrgDept}, PasswordHash: hash}, testNow); err != nil {
			t.Fatal(err)
		}
	}
	srv := server.New(server.Deps{Store: store, Catalog: i18n.MustLoad(), Clock: &clock{t: testNow},
		Hasher: auth.DefaultHasher, HashSlots: slots, Version: "test"})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)

	codes := make([]int, people)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range people {
		wg.Go(func() {
			<-start
			c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			res, err := c.PostForm(hs.URL+"/signin", url.Values{"login": {fmt.Sprintf("signer%02d", i)}, "password": {password}})
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			codes[i] = res.StatusCode
		})
	}
	close(start)
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusSeeOther {
			t.Errorf("sign-in %d: %d, want 303", i, c)
		}
	}
	if p := srv.HashPeak(); p != slots {
		t.Errorf("at most %d hashes ran at once; want the bound %d reached and never passed", p, slots)
	}
}

// testNow is a working morning in Shanghai.
var testNow = time.Date(2024, time.May, 6, 9, 0, 0, 0, secondment.Shanghai)

// A burst of sign-ins from one address cannot outrun the per-address
// limit while its hashes queue: each attempt is on record before it waits
// for a hashing slot. Twenty simultaneous attempts against a limit of five
// get past it at most by the few counted at the very same instant, not all
// twenty.
func TestSignInBurstMeetsTheRateLimit(t *testing.T) {
	t.Parallel()
	const people, limit = 20, 5
	store := dbtest.Store(t)
	ctx := t.Context()
	if _, err := demo.Load(ctx, store); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Pool.Exec(ctx, `UPDATE security_setting SET rate_limit_attempts = $1`, limit); err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Deps{Store: store, Catalog: i18n.MustLoad(), Clock: &clock{t: testNow},
		Hasher: auth.DefaultHasher, HashSlots: 1, Version: "test"})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	codes := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range people {
		wg.Go(func() {
			<-start
			// Unknown accounts: each still costs a real hash.
			res, err := http.PostForm(hs.URL+"/signin", url.Values{"login": {fmt.Sprintf("nobody%02d", i)}, "password": {"x"}})
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			mu.Lock()
			codes[res.StatusCode]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if codes[http.StatusUnauthorized]+codes[http.StatusTooManyRequests] != people {
		t.Fatalf("statuses %v", codes)
	}
	// The store's pool (four connections here) bounds how many counts can
	// run at the very same instant.
	if got := codes[http.StatusUnauthorized]; got < limit || got > limit+4 {
		t.Fatalf("%d attempts were checked against a limit of %d: %v", got, limit, codes)
	}
}
