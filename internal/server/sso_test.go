package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"secondment/internal/auth"
	"secondment/internal/dbtest"
	"secondment/internal/demo"
	"secondment/internal/i18n"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
	"secondment/internal/server"
	"secondment/internal/sso"
	"secondment/internal/ssotest"
)

// borrowerLogin is a demo account the provider's users are mapped to.
const borrowerLogin = "nmg-bt-qs-rd.borrower"

// newSSOSetup is a server with the demo accounts that signs in through a
// provider started here, and with passwords as well when passwords is
// true. The provider signs in the borrower until told otherwise.
// ssoMetricsToken opens /metrics on the test server, to count sign-ins.
const ssoMetricsToken = "sso-test-metrics-token"

// ssoSignIns is secondment_sign_ins_total of outcome on s.
func ssoSignIns(t *testing.T, s *setup, outcome string) float64 {
	t.Helper()
	return scrapeURL(t, s.srv.URL+"/metrics", "Authorization", "Bearer "+ssoMetricsToken).value(t, "secondment_sign_ins_total", "outcome", outcome)
}

func newSSOSetup(t *testing.T, passwords bool) (*setup, *ssotest.Issuer) {
	t.Helper()
	is := ssotest.New(t, "secondment-test", "client-secret")
	is.SignInAs(map[string]any{"sub": "5f0c-borrower", "preferred_username": borrowerLogin})
	dburl, ownerURL := dbtest.URLs(t)
	store := &postgres.Store{Pool: dbtest.Pool(t, dburl)}
	now := time.Date(2024, time.May, 6, 9, 0, 0, 0, secondment.Shanghai)
	c := &clock{t: now}
	if _, err := demo.Load(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.LoadUsers(context.Background(), store, cheap, demoPassword, now); err != nil {
		t.Fatal(err)
	}
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	p := sso.New(sso.Config{Issuer: is.URL, ClientID: is.ClientID, ClientSecret: is.ClientSecret,
		RedirectURL: srv.URL + "/signin/oidc/callback", Claim: "preferred_username", Backoff: 10 * time.Millisecond})
	h = server.New(server.Deps{Store: store, Catalog: i18n.MustLoad(), Clock: c, Hasher: cheap, Version: "test",
		SSO: p, NoPasswordSignIn: !passwords, MetricsToken: ssoMetricsToken}).Handler()
	return &setup{store: store, srv: srv, clock: c, url: dburl, owner: ownerURL}, is
}

// browser is a client that follows redirects, across the service and the
// provider, keeping the cookies of both.
func (s *setup) browser(t *testing.T) *client {
	c := s.anonymous(t)
	c.http.CheckRedirect = nil
	return c
}

// signedIn reports whether c has a session: the home page opens instead
// of sending it to the sign-in page.
func signedIn(t *testing.T, c *client) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.s.srv.URL+"/", nil)
	res, err := (&http.Client{Jar: c.http.Jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// signInEvents are the sign-in audit events, oldest first, as "action
// actor method reason".
func signInEvents(t *testing.T, s *setup) []string {
	t.Helper()
	events, _, err := s.store.AuditList(t.Context(), postgres.AuditFilter{Action: "user.sign_in"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s %v %v", e.Action, e.ActorName, e.Detail["method"], orEmpty(e.Detail["reason"]))))
	}
	return out
}

func orEmpty(v any) any {
	if v == nil {
		return ""
	}
	return v
}

// A person the provider vouches for is signed in to the account the claim
// names, taken to the page they asked for, and can then work; the sign-in
// is audited as a password one is, with its method.
func TestSSOSignIn(t *testing.T) {
	t.Parallel()
	s, is := newSSOSetup(t, true)
	// Upper case as some providers keep it: logins are lower case.
	is.SignInAs(map[string]any{"sub": "5f0c-borrower", "preferred_username": strings.ToUpper(borrowerLogin)})
	c := s.browser(t)

	_, body := c.get("/signin?next=/account")
	page := doc(t, body)
	btn := byTestID(page, "signin-sso")
	if len(btn) != 1 || attr(btn[0], "href") != "/signin/oidc?next=%2Faccount" || text(btn[0]) != "通过统一身份认证登录" {
		t.Fatalf("sign-in button: %d %q", len(btn), body)
	}
	if len(byTestID(page, "signin-form")) != 1 {
		t.Fatal("with passwords on, the password form is offered too")
	}

	res, body := c.get("/signin/oidc?next=/account")
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/account" || within(doc(t, body), "account-login") != borrowerLogin {
		t.Fatalf("signed in to %d %s as %q", res.StatusCode, res.Request.URL, within(doc(t, body), "account-login"))
	}
	res, body = c.get("/")
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/" || len(byTestID(doc(t, body), "signin-form")) != 0 {
		t.Fatalf("home page after single sign-on: %d %s", res.StatusCode, res.Request.URL)
	}
	if got := signInEvents(t, s); len(got) != 1 || got[0] != "user.sign_in "+demoName(t, s, borrowerLogin)+" oidc" {
		t.Fatalf("audit %q", got)
	}
	if ok, refused := ssoSignIns(t, s, "sso"), ssoSignIns(t, s, "sso_refused"); ok != 1 || refused != 0 {
		t.Errorf("metrics: %v signed in, %v refused through the provider", ok, refused)
	}
	events, _, _ := s.store.AuditList(t.Context(), postgres.AuditFilter{Action: "user.sign_in"})
	if d := events[0].Detail; d["subject"] != "5f0c-borrower" || d["issuer"] != is.URL {
		t.Fatalf("audit detail %v", d)
	}
	// Signed in already: the button's route goes straight on.
	if res, _ := c.get("/signin/oidc?next=/account/tokens"); res.Request.URL.Path != "/account/tokens" {
		t.Fatalf("signed-in start: %s", res.Request.URL)
	}
}

func demoName(t *testing.T, s *setup, login string) string {
	t.Helper()
	var name string
	if err := s.store.Pool.QueryRow(t.Context(), `SELECT name FROM app_user WHERE login = $1`, login).Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

// Each way a sign-in through the provider can go wrong ends on the sign-in
// page with words that say what to do, without a session, and on record.
func TestSSORefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		setup  func(s *setup, is *ssotest.Issuer)
		status int
		msg    string
		audit  string // the audit event; "": none
		login  string // the login the message names
	}{
		{"wrong audience", func(_ *setup, is *ssotest.Issuer) {
			is.Tweak(func(c map[string]any) { c["aud"] = "another-service" })
		}, http.StatusUnauthorized, "auth.sso_failed", "user.sign_in_failed  oidc id_token", ""},
		{"expired token", func(_ *setup, is *ssotest.Issuer) {
			is.Tweak(func(c map[string]any) {
				c["iat"], c["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
			})
		}, http.StatusUnauthorized, "auth.sso_failed", "user.sign_in_failed  oidc id_token", ""},
		{"wrong nonce", func(_ *setup, is *ssotest.Issuer) {
			is.Tweak(func(c map[string]any) { c["nonce"] = "from-another-sign-in" })
		}, http.StatusUnauthorized, "auth.sso_failed", "user.sign_in_failed  oidc nonce", ""},
		{"no claim", func(_ *setup, is *ssotest.Issuer) {
			is.Tweak(func(c map[string]any) { delete(c, "preferred_username") })
		}, http.StatusUnauthorized, "auth.sso_failed", "user.sign_in_failed 5f0c-borrower oidc claim", ""},
		{"unknown subject", func(_ *setup, is *ssotest.Issuer) {
			is.SignInAs(map[string]any{"sub": "77aa-stranger", "preferred_username": "wang.wu"})
		}, http.StatusForbidden, "auth.sso_no_account", "user.sign_in_failed wang.wu oidc unknown account", "wang.wu"},
		{"disabled account", func(s *setup, _ *ssotest.Issuer) {
			if _, err := s.store.Pool.Exec(context.Background(), `UPDATE app_user SET disabled_at = now() WHERE login = $1`, borrowerLogin); err != nil {
				panic(err)
			}
		}, http.StatusForbidden, "auth.sso_no_account", "user.sign_in_failed " + borrowerLogin + " oidc disabled", borrowerLogin},
		{"refused at the provider", func(_ *setup, is *ssotest.Issuer) { is.Refuse("access_denied") },
			http.StatusUnauthorized, "auth.sso_denied", "", ""},
		{"provider down", func(_ *setup, is *ssotest.Issuer) { is.SetDown(true) },
			http.StatusServiceUnavailable, "auth.sso_unavailable", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, is := newSSOSetup(t, true)
			tc.setup(s, is)
			c := s.browser(t)
			res, body := c.get("/signin/oidc?next=/account")
			want := i18n.MustLoad().Localizer(i18n.Chinese).T(tc.msg, "Login", tc.login)
			if res.StatusCode != tc.status || within(doc(t, body), "form-summary") != want {
				t.Fatalf("%d %q; want %d %q", res.StatusCode, within(doc(t, body), "form-summary"), tc.status, want)
			}
			// Another try from the page still ends where the user wanted.
			if btn := byTestID(doc(t, body), "signin-sso"); len(btn) != 1 || attr(btn[0], "href") != "/signin/oidc?next=%2Faccount" {
				t.Errorf("the page offers no second try to /account: %v", btn)
			}
			if signedIn(t, c) {
				t.Fatal("a refused sign-in left a session")
			}
			got := signInEvents(t, s)
			if tc.audit == "" && len(got) != 0 || tc.audit != "" && (len(got) != 1 || got[0] != tc.audit) {
				t.Fatalf("audit %q; want %q", got, tc.audit)
			}
			if ok, refused := ssoSignIns(t, s, "sso"), ssoSignIns(t, s, "sso_refused"); ok != 0 || refused != 1 {
				t.Errorf("metrics: %v signed in, %v refused through the provider", ok, refused)
			}
		})
	}
}

// The refusal is in the user's language.
func TestSSORefusalInEnglish(t *testing.T) {
	t.Parallel()
	s, is := newSSOSetup(t, true)
	is.SignInAs(map[string]any{"sub": "77aa-stranger", "preferred_username": "wang.wu"})
	c := s.browser(t)
	u, _ := url.Parse(s.srv.URL)
	c.http.Jar.SetCookies(u, []*http.Cookie{{Name: "lang", Value: "en"}})
	_, body := c.get("/signin/oidc")
	if got := within(doc(t, body), "form-summary"); !strings.HasPrefix(got, "Single sign-on confirmed who you are (wang.wu)") {
		t.Fatalf("refusal in English: %q", got)
	}
}

// The state ties a callback to the browser that started the sign-in and
// is good once: a callback with another state, one opened in another
// browser (a planted sign-in), a replay, and one that comes too late are
// all refused without a session.
func TestSSOState(t *testing.T) {
	t.Parallel()
	s, _ := newSSOSetup(t, true)
	// callbackURL starts a sign-in in c and follows it to the provider and
	// back, stopping before the callback.
	callbackURL := func(c *client) *url.URL {
		t.Helper()
		res, _ := c.get("/signin/oidc?next=/account")
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("start: %d", res.StatusCode)
		}
		authRes, err := c.http.Get(res.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		authRes.Body.Close()
		cb, err := url.Parse(authRes.Header.Get("Location"))
		if err != nil || cb.Path != "/signin/oidc/callback" || cb.Query().Get("code") == "" {
			t.Fatalf("provider sent back to %q", authRes.Header.Get("Location"))
		}
		return cb
	}
	refused := func(c *client, u *url.URL, noSession bool) {
		t.Helper()
		res, body := c.get(u.RequestURI())
		if res.StatusCode != http.StatusBadRequest || within(doc(t, body), "form-summary") != i18n.MustLoad().Localizer(i18n.Chinese).T("auth.sso_state") {
			t.Fatalf("%s: %d %q", u.RequestURI(), res.StatusCode, within(doc(t, body), "form-summary"))
		}
		if noSession && signedIn(t, c) {
			t.Fatal("refused, yet signed in")
		}
	}

	c := s.anonymous(t)
	cb := callbackURL(c)
	// The anonymous session holding the flow lasts as long as the flow.
	var expiry time.Time
	if err := s.store.Pool.QueryRow(t.Context(), `SELECT max(expiry) FROM sessions`).Scan(&expiry); err != nil ||
		time.Until(expiry) > sso.FlowLifetime+2*time.Minute || time.Until(expiry) < sso.FlowLifetime {
		t.Fatalf("the flow's session expires at %s (%v)", expiry, err)
	}
	bad := *cb
	q := bad.Query()
	q.Set("state", "forged-"+q.Get("state"))
	bad.RawQuery = q.Encode()
	refused(c, &bad, true)
	none := *cb
	q.Del("state")
	none.RawQuery = q.Encode()
	refused(c, &none, true)
	// Opened in another browser, which started nothing: a sign-in planted
	// on someone else (login CSRF).
	refused(s.anonymous(t), cb, true)

	// The right one still works, once.
	res, _ := c.get(cb.RequestURI())
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" || !signedIn(t, c) {
		t.Fatalf("callback: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	refused(c, cb, false)

	// Two tabs, two sign-ins under way: each finishes.
	c2 := s.anonymous(t)
	cb2, cb3 := callbackURL(c2), callbackURL(c2)
	for _, u := range []*url.URL{cb3, cb2} {
		if res, _ := c2.get(u.RequestURI()); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
			t.Fatalf("tab's callback: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
	}

	// Too late: a sign-in lasts sso.FlowLifetime on the server's clock.
	c5 := s.anonymous(t)
	cb5 := callbackURL(c5)
	s.clock.Advance(sso.FlowLifetime + time.Minute)
	refused(c5, cb5, true)
}

// With passwords switched off, the page offers single sign-on only, a
// password is refused even when right, sign-in through the provider works,
// nobody is made to change a password, and API tokens keep working.
func TestSSOWithPasswordsOff(t *testing.T) {
	t.Parallel()
	s, _ := newSSOSetup(t, false)
	c := s.browser(t)
	_, body := c.get("/signin")
	page := doc(t, body)
	if len(byTestID(page, "signin-form")) != 0 || len(byTestID(page, "signin-sso")) != 1 || len(byTestID(page, "signin-sso-only")) != 1 {
		t.Fatalf("sign-in page with passwords off: %s", body)
	}
	pw := s.anonymous(t)
	res, body := pw.post("/signin", url.Values{"login": {borrowerLogin}, "password": {demoPassword}})
	if res.StatusCode != http.StatusForbidden || within(doc(t, body), "form-summary") != "本系统已关闭密码登录，请通过统一身份认证登录。" || signedIn(t, pw) {
		t.Fatalf("password sign-in with passwords off: %d %q", res.StatusCode, within(doc(t, body), "form-summary"))
	}
	if got := signInEvents(t, s); len(got) != 0 {
		t.Fatalf("a refused password was audited or counted: %q", got)
	}

	// A one-time password waits on the account: with passwords off it is
	// no reason to stop anyone.
	if _, err := s.store.Pool.Exec(t.Context(), `UPDATE app_user SET must_change_password = true WHERE login = $1`, borrowerLogin); err != nil {
		t.Fatal(err)
	}
	res, body = c.get("/signin/oidc?next=/account")
	if res.Request.URL.Path != "/account" || within(doc(t, body), "account-login") != borrowerLogin {
		t.Fatalf("single sign-on with passwords off: %d %s", res.StatusCode, res.Request.URL)
	}
	if len(byTestID(doc(t, body), "link-password")) != 0 {
		t.Error("the account page offers a password change that signs nobody in")
	}
	_, body = c.post("/account/tokens", url.Values{"name": {"export"}, "scope": {"read"}, "days": {"30"}})
	token := within(doc(t, body), "new-token")
	if !auth.LooksLikeToken(token) {
		t.Fatalf("no token made: %s", body)
	}
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if res, body := s.anonymous(t).do(req); res.StatusCode != http.StatusOK || !strings.Contains(body, borrowerLogin) {
		t.Fatalf("API token with passwords off: %d %s", res.StatusCode, body)
	}
}

// While passwords sign in, a one-time password still opens the account,
// so it is replaced first after single sign-on too.
func TestSSOOneTimePasswordFirst(t *testing.T) {
	t.Parallel()
	s, _ := newSSOSetup(t, true)
	if _, err := s.store.Pool.Exec(t.Context(), `UPDATE app_user SET must_change_password = true WHERE login = $1`, borrowerLogin); err != nil {
		t.Fatal(err)
	}
	res, _ := s.browser(t).get("/signin/oidc?next=/account")
	if res.Request.URL.Path != "/account/password" {
		t.Fatalf("after single sign-on with a one-time password: %s", res.Request.URL)
	}
}

// The service is ready while the provider is down; sign-in works once it
// is back, without a restart.
func TestSSOProviderDownAtStart(t *testing.T) {
	t.Parallel()
	s, is := newSSOSetup(t, true)
	is.SetDown(true)
	if res, _ := s.get(t, "/readyz", ""); res.StatusCode != http.StatusOK {
		t.Fatalf("readyz with the provider down: %d", res.StatusCode)
	}
	c := s.browser(t)
	if res, _ := c.get("/signin/oidc"); res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("provider down: %d", res.StatusCode)
	}
	is.SetDown(false)
	time.Sleep(20 * time.Millisecond) // the test's backoff
	if res, _ := c.get("/signin/oidc"); res.StatusCode != http.StatusOK || res.Request.URL.Path != "/" || !signedIn(t, c) {
		t.Fatalf("provider back: %d %s", res.StatusCode, res.Request.URL)
	}
}
