package sso_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"secondment/internal/sso"
	"secondment/internal/ssotest"
)

const callback = "https://jd.example/signin/oidc/callback"

func newProvider(t *testing.T) (*ssotest.Issuer, *sso.Provider) {
	t.Helper()
	is := ssotest.New(t, "secondment", "s3cret")
	is.SignInAs(map[string]any{"sub": "u-1", "preferred_username": "nmg-bt.borrower"})
	return is, sso.New(sso.Config{Issuer: is.URL, ClientID: "secondment", ClientSecret: "s3cret", RedirectURL: callback,
		Claim: "preferred_username", Backoff: 50 * time.Millisecond})
}

// authorize follows the provider's URL as a browser would, and returns the
// callback's query.
func authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), callback) {
		t.Fatalf("authorize: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	return loc.Query()
}

func TestSSOFlow(t *testing.T) {
	t.Parallel()
	_, p := newProvider(t)
	f, u, err := p.Start(t.Context(), "/ledger", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	au, _ := url.Parse(u)
	q := au.Query()
	if q.Get("state") != f.State || q.Get("nonce") != f.Nonce || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || strings.Contains(u, f.Verifier) || q.Get("redirect_uri") != callback ||
		!strings.Contains(q.Get("scope"), "openid") || f.Next != "/ledger" {
		t.Fatalf("authorization URL %s for %+v", u, f)
	}
	back := authorize(t, u)
	if back.Get("state") != f.State {
		t.Fatalf("state %q, want %q", back.Get("state"), f.State)
	}
	id, err := p.Finish(t.Context(), f, back.Get("code"))
	if err != nil || id.Login != "nmg-bt.borrower" || id.Subject != "u-1" {
		t.Fatalf("finish: %+v %v", id, err)
	}
	// A code is good once.
	if _, err := p.Finish(t.Context(), f, back.Get("code")); sso.ReasonOf(err) != sso.ReasonExchange {
		t.Fatalf("a code used twice: %v", err)
	}
	// Without the flow's PKCE verifier the code is worthless.
	f2, u2, _ := p.Start(t.Context(), "/", time.Now())
	code := authorize(t, u2).Get("code")
	f2.Verifier = f.Verifier
	if _, err := p.Finish(t.Context(), f2, code); sso.ReasonOf(err) != sso.ReasonExchange {
		t.Fatalf("a code with another verifier: %v", err)
	}
}

func TestSSOTokenChecks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		tweak func(map[string]any)
		want  sso.Reason
	}{
		{"wrong audience", func(c map[string]any) { c["aud"] = "another-app" }, sso.ReasonIDToken},
		{"wrong issuer", func(c map[string]any) { c["iss"] = "https://evil.example" }, sso.ReasonIDToken},
		{"expired", func(c map[string]any) {
			c["iat"], c["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
		}, sso.ReasonIDToken},
		{"wrong nonce", func(c map[string]any) { c["nonce"] = "replayed" }, sso.ReasonNonce},
		{"no claim", func(c map[string]any) { delete(c, "preferred_username") }, sso.ReasonClaim},
		{"claim not text", func(c map[string]any) { c["preferred_username"] = 42 }, sso.ReasonClaim},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			is, p := newProvider(t)
			is.Tweak(tc.tweak)
			f, u, err := p.Start(t.Context(), "/", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			id, err := p.Finish(t.Context(), f, authorize(t, u).Get("code"))
			if sso.ReasonOf(err) != tc.want {
				t.Fatalf("got %+v, %v; want %s", id, err, tc.want)
			}
		})
	}
}

// The provider may be down when the service starts: discovery is tried at
// the first sign-in, not again within the backoff, and then succeeds.
func TestSSODiscoveryIsLazy(t *testing.T) {
	t.Parallel()
	is, p := newProvider(t)
	is.SetDown(true)
	if n := is.Discoveries(); n != 0 {
		t.Fatalf("New discovered the provider (%d)", n)
	}
	if _, _, err := p.Start(t.Context(), "/", time.Now()); sso.ReasonOf(err) != sso.ReasonUnavailable {
		t.Fatalf("down: %v", err)
	}
	tried := is.Discoveries()
	if tried < 1 {
		t.Fatal("no discovery")
	}
	if _, _, err := p.Start(t.Context(), "/", time.Now()); sso.ReasonOf(err) != sso.ReasonUnavailable || is.Discoveries() != tried {
		t.Fatalf("within the backoff: %v, %d discoveries (was %d)", err, is.Discoveries(), tried)
	}
	is.SetDown(false)
	time.Sleep(60 * time.Millisecond)
	if _, _, err := p.Start(t.Context(), "/", time.Now()); err != nil {
		t.Fatalf("back up: %v", err)
	}
	n := is.Discoveries()
	if _, _, err := p.Start(t.Context(), "/", time.Now()); err != nil || is.Discoveries() != n {
		t.Fatalf("discovery not kept: %v, %d", err, is.Discoveries())
	}
}

func TestFlowExpiry(t *testing.T) {
	now := time.Now()
	f := sso.Flow{Started: now}
	if f.Expired(now.Add(sso.FlowLifetime-time.Second)) || !f.Expired(now.Add(sso.FlowLifetime+time.Second)) {
		t.Fatal("flow lifetime")
	}
}
