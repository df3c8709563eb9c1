package server_test

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"secondment/internal/postgres"
	"secondment/internal/server"
)

// Behind a trusted reverse proxy each client is throttled by its own
// address (X-Forwarded-For), and the sign-in's audit event records it;
// from a peer not trusted the header is ignored, so a client cannot choose
// the address it is counted under.
func TestSignInBehindTrustedProxies(t *testing.T) {
	t.Parallel()
	// The test's clients connect from 127.0.0.1: the "proxy".
	proxied := newSetupWith(t, true, kashgar, func(d *server.Deps) {
		d.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	})
	direct := newSetupWith(t, true, kashgar, nil)
	signIn := func(s *setup, xff, password string) int {
		c := s.anonymous(t)
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/signin",
			strings.NewReader(url.Values{"login": {"sysadmin"}, "password": {password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		res, _ := c.do(req)
		return res.StatusCode
	}
	addresses := func(s *setup) map[string]int {
		events, _, err := s.store.AuditList(t.Context(), postgres.AuditFilter{Action: "user.sign_in"})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, e := range events {
			a, _ := e.Detail["address"].(string)
			out[a]++
		}
		return out
	}

	// Five failures from one client behind the proxy slow that client,
	// not one behind the same proxy at another address.
	const first, second = "198.51.100.7", "2001:db8:1:2::7"
	for i := range 5 {
		if code := signIn(proxied, "203.0.113.99, "+first, "wrong "+string(rune('a'+i))); code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, code)
		}
	}
	if code := signIn(proxied, first, demoPassword); code != http.StatusTooManyRequests {
		t.Fatalf("the first client after five failures: %d, want 429", code)
	}
	if code := signIn(proxied, second, demoPassword); code != http.StatusSeeOther {
		t.Fatalf("another client behind the same proxy: %d, want signed in", code)
	}
	got := addresses(proxied)
	// A failure and the throttled attempt are user.sign_in_failed, the
	// success user.sign_in: all under the forwarded addresses (an IPv6
	// address by its /64).
	if got[first] != 6 || got["2001:db8:1:2::/64"] != 1 || got["127.0.0.1"] != 0 || got["203.0.113.99"] != 0 {
		t.Errorf("audited addresses behind the proxy: %v", got)
	}

	// Not trusted: the header is ignored, whatever it says; the peer is
	// the client, so changing the header does not escape the delay.
	for i := range 5 {
		if code := signIn(direct, "198.51.100."+string(rune('1'+i)), "wrong "+string(rune('a'+i))); code != http.StatusUnauthorized {
			t.Fatalf("direct failure %d: %d", i+1, code)
		}
	}
	if code := signIn(direct, "192.0.2.200", demoPassword); code != http.StatusTooManyRequests {
		t.Fatalf("a forged X-Forwarded-For escaped the delay: %d, want 429", code)
	}
	if got := addresses(direct); len(got) != 1 || got["127.0.0.1"] != 6 {
		t.Errorf("audited addresses without trusted proxies: %v", got)
	}
}
