package server_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"secondment/internal/auth"
	"secondment/internal/dbtest"
	"secondment/internal/demo"
	"secondment/internal/i18n"
	"secondment/internal/postgres"
	"secondment/internal/server"
)

// makeUser creates an account with the demo password in the unit with code.
func makeUser(t *testing.T, s *setup, login, unitCode string, roles ...auth.Role) int64 {
	t.Helper()
	u, err := s.store.UnitGetByCode(t.Context(), unitCode)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := cheap.Hash(demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.store.UserCreate(t.Context(), postgres.Actor{Name: "test"}, postgres.NewUser{Login: login, Name: login,
		UnitID: u.ID, Roles: roles, PasswordHash: hash}, s.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// expected is who may use each route: "public", "signed-in", or roles. It
// is written out here, apart from the server's table, so a route added
// without a decision about who may use it fails this test.
var expected = map[string][]string{
	"GET /":                                 {"signed-in"},
	"POST /lang":                            {"public"},
	"GET /signin":                           {"public"},
	"POST /signin":                          {"public"},
	"GET /signin/oidc":                      {"public"},
	"GET /signin/oidc/callback":             {"public"},
	"POST /signout":                         {"signed-in"},
	"GET /account":                          {"signed-in"},
	"GET /account/password":                 {"signed-in"},
	"POST /account/password":                {"signed-in"},
	"GET /account/tokens":                   {"signed-in"},
	"POST /account/tokens":                  {"signed-in"},
	"POST /account/tokens/{tokenID}/revoke": {"signed-in"},
	"GET /secondments":                      {"borrower", "lender", "orgdept", "registrar"},
	"GET /secondments/new":                  {"borrower"},
	"POST /secondments":                     {"borrower"},
	"POST /secondments/check":               {"borrower"},
	"GET /secondments/{secondmentID}":       {"borrower", "lender", "orgdept", "registrar"},
	"GET /secondments/{secondmentID}/edit":  {"borrower"},
	"POST /secondments/{secondmentID}":      {"borrower"},
	"POST /secondments/{secondmentID}/actions/{action}":          {"borrower", "lender", "orgdept", "registrar"},
	"GET /secondments/{secondmentID}/print":                      {"borrower", "lender", "orgdept", "registrar"},
	"GET /secondments/{secondmentID}/evaluation":                 {"borrower", "lender", "orgdept", "registrar"},
	"GET /secondments/{secondmentID}/renew":                      {"borrower"},
	"GET /secondments/{secondmentID}/attachments/{attachmentID}": {"borrower", "lender", "orgdept", "registrar"},
	"POST /secondments/{secondmentID}/urge":                      {"borrower", "lender", "orgdept", "registrar"},
	"POST /secondments/{secondmentID}/cc":                        {"borrower", "lender", "orgdept", "registrar"},
	"POST /secondments/{secondmentID}/handover":                  {"borrower", "lender", "orgdept", "registrar"},
	"POST /api/v1/secondments/{secondmentID}/urge":               {"borrower", "lender", "orgdept", "registrar"},
	"POST /api/v1/secondments/{secondmentID}/cc":                 {"borrower", "lender", "orgdept", "registrar"},
	"POST /api/v1/secondments/{secondmentID}/handover":           {"borrower", "lender", "orgdept", "registrar"},
	"GET /account/proxy":                                         {"borrower", "lender", "orgdept", "registrar"},
	"POST /account/proxy":                                        {"borrower", "lender", "orgdept", "registrar"},
	"POST /account/proxy/{proxyID}/revoke":                       {"borrower", "lender", "orgdept", "registrar"},
	"GET /api/v1/me/proxies":                                     {"borrower", "lender", "orgdept", "registrar"},
	"POST /api/v1/me/proxies":                                    {"borrower", "lender", "orgdept", "registrar"},
	"POST /api/v1/me/proxies/{proxyID}/revoke":                   {"borrower", "lender", "orgdept", "registrar"},
	"POST /notifications/read":                                   {"borrower", "lender", "orgdept", "registrar"},
	"GET /notifications":                                         {"borrower", "lender", "orgdept", "registrar"},
	"GET /api/v1/notifications":                                  {"borrower", "lender", "orgdept", "registrar"},
	"POST /api/v1/notifications/read":                            {"borrower", "lender", "orgdept", "registrar"},
	"GET /api/v1/secondments":                                    {"borrower", "lender", "orgdept", "registrar"},
	"POST /api/v1/secondments":                                   {"borrower"},
	"POST /api/v1/secondments/check":                             {"borrower"},
	"GET /api/v1/secondments/{secondmentID}":                     {"borrower", "lender", "orgdept", "registrar"},
	"PATCH /api/v1/secondments/{secondmentID}":                   {"borrower"},
	"POST /api/v1/secondments/{secondmentID}/actions/{action}":   {"borrower", "lender", "orgdept", "registrar"},
	"GET /units":                                                 {"borrower", "lender", "orgdept", "registrar", "sysadmin"},
	"GET /people":                                                {"borrower", "lender", "orgdept", "registrar", "sysadmin"},
	"GET /admin/users":                                           {"sysadmin"},
	"POST /admin/users":                                          {"sysadmin"},
	"POST /admin/users/{userID}/roles":                           {"sysadmin"},
	"POST /admin/users/{userID}/person":                          {"sysadmin"},
	"POST /admin/users/{userID}/disable":                         {"sysadmin"},
	"POST /admin/users/{userID}/enable":                          {"sysadmin"},
	"POST /admin/users/{userID}/reset-password":                  {"sysadmin"},
	"GET /admin/units":                                           {"sysadmin"},
	"POST /admin/units":                                          {"sysadmin"},
	"POST /admin/units/{unitID}":                                 {"sysadmin"},
	"GET /admin/security":                                        {"secadmin"},
	"POST /admin/security":                                       {"secadmin"},
	"GET /admin/jobs":                                            {"sysadmin"},
	"GET /admin/calendar":                                        {"sysadmin"},
	"GET /admin/calendar/{year}":                                 {"sysadmin"},
	"POST /admin/calendar/{year}":                                {"sysadmin"},
	"GET /api/v1/calendar":                                       {"sysadmin"},
	"GET /api/v1/calendar/{year}":                                {"sysadmin"},
	"PUT /api/v1/calendar/{year}":                                {"sysadmin"},
	"GET /audit":                                                 {"auditor"},
	"GET /audit.csv":                                             {"auditor"},
	"GET /audit/chain":                                           {"auditor"},
	"POST /audit/chain":                                          {"auditor"},
	"GET /api/v1/audit/verifications":                            {"auditor"},
	"POST /api/v1/audit/verifications":                           {"auditor"},
	"GET /api/v1/openapi.json":                                   {"public"},
	"GET /api/v1/units":                                          {"borrower", "lender", "orgdept", "registrar", "sysadmin"},
	"GET /api/v1/people":                                         {"borrower", "lender", "orgdept", "registrar", "sysadmin"},
	"GET /api/v1/me":                                             {"signed-in"},
	"GET /ledger":                                                {"borrower", "lender", "orgdept", "registrar"},
	"GET /people/new":                                            {"orgdept", "registrar"},
	"POST /people":                                               {"orgdept", "registrar"},
	"GET /people/{personID}/edit":                                {"orgdept", "registrar"},
	"POST /people/{personID}":                                    {"orgdept", "registrar"},
	"POST /api/v1/people":                                        {"orgdept", "registrar"},
	"PATCH /api/v1/people/{personID}":                            {"orgdept", "registrar"},
	"GET /api/v1/nominees":                                       {"borrower"},
	"GET /ledger.csv":                                            {"borrower", "lender", "orgdept", "registrar"},
	"GET /ledger.xlsx":                                           {"borrower", "lender", "orgdept", "registrar"},
	"GET /api/v1/ledger":                                         {"borrower", "lender", "orgdept", "registrar"},
	"GET /ledger/register":                                       {"orgdept", "registrar"},
	"POST /ledger/register":                                      {"orgdept", "registrar"},
	"POST /api/v1/stock":                                         {"orgdept", "registrar"},
	"GET /ledger/import":                                         {"orgdept", "registrar"},
	"GET /ledger/import/template.xlsx":                           {"orgdept", "registrar"},
	"POST /ledger/import":                                        {"orgdept", "registrar"},
	"GET /ledger/import/{importID}":                              {"orgdept", "registrar"},
	"POST /ledger/import/{importID}/commit":                      {"orgdept", "registrar"},
	"POST /api/v1/stock/imports":                                 {"orgdept", "registrar"},
	"GET /api/v1/stock/imports/{importID}":                       {"orgdept", "registrar"},
	"POST /api/v1/stock/imports/{importID}/commit":               {"orgdept", "registrar"},
	"GET /api/v1/burden":                                         {"lender"},
	"GET /people/import":                                         {"orgdept", "registrar"},
	"GET /people/import/template.xlsx":                           {"orgdept", "registrar"},
	"POST /people/import":                                        {"orgdept", "registrar"},
	"GET /people/import/{importID}":                              {"orgdept", "registrar"},
	"POST /people/import/{importID}/commit":                      {"orgdept", "registrar"},
	"POST /api/v1/people/imports":                                {"orgdept", "registrar"},
	"GET /api/v1/people/imports/{importID}":                      {"orgdept", "registrar"},
	"POST /api/v1/people/imports/{importID}/commit":              {"orgdept", "registrar"},
	"GET /policies":                                              {"borrower", "lender", "orgdept", "registrar"},
	"GET /api/v1/policies":                                       {"borrower", "lender", "orgdept", "registrar"},
	"GET /policies/new":                                          {"orgdept"},
	"POST /policies/new":                                         {"orgdept"},
	"POST /api/v1/policies/preview":                              {"orgdept"},
	"POST /api/v1/policies":                                      {"orgdept"},
	"GET /campaigns":                                             {"orgdept", "registrar"},
	"GET /campaigns/new":                                         {"orgdept"},
	"POST /campaigns":                                            {"orgdept"},
	"GET /campaigns/{campaignID}":                                {"orgdept", "registrar"},
	"GET /campaigns/{campaignID}/members.xlsx":                   {"orgdept", "registrar"},
	"GET /campaigns/{campaignID}/members.csv":                    {"orgdept", "registrar"},
	"POST /campaigns/{campaignID}/members/{secondmentID}":        {"orgdept"},
	"POST /campaigns/{campaignID}/close":                         {"orgdept"},
	"GET /api/v1/campaigns":                                      {"orgdept", "registrar"},
	"POST /api/v1/campaigns":                                     {"orgdept"},
	"GET /api/v1/campaigns/{campaignID}":                         {"orgdept", "registrar"},
	"POST /api/v1/campaigns/{campaignID}/members/{secondmentID}": {"orgdept"},
	"POST /api/v1/campaigns/{campaignID}/close":                  {"orgdept"},
	"GET /irregular":                                             {"borrower", "lender", "orgdept", "registrar"},
	"GET /irregular/new":                                         {"orgdept", "registrar"},
	"POST /irregular":                                            {"orgdept", "registrar"},
	"GET /irregular/{entryID}":                                   {"borrower", "lender", "orgdept", "registrar"},
	"POST /irregular/{entryID}/plan":                             {"borrower", "lender", "orgdept", "registrar"},
	"POST /irregular/{entryID}/status":                           {"borrower", "lender", "orgdept", "registrar"},
	"POST /irregular/{entryID}/close":                            {"orgdept"},
	"POST /irregular/{entryID}/evidence":                         {"borrower", "lender", "orgdept", "registrar"},
	"GET /irregular/{entryID}/evidence/{evidenceID}":             {"borrower", "lender", "orgdept", "registrar"},
	"GET /api/v1/irregular":                                      {"borrower", "lender", "orgdept", "registrar"},
	"POST /api/v1/irregular":                                     {"orgdept", "registrar"},
	"GET /api/v1/irregular/{entryID}":                            {"borrower", "lender", "orgdept", "registrar"},
	"POST /api/v1/irregular/{entryID}/plan":                      {"borrower", "lender", "orgdept", "registrar"},
	"POST /api/v1/irregular/{entryID}/status":                    {"borrower", "lender", "orgdept", "registrar"},
	"POST /api/v1/irregular/{entryID}/close":                     {"orgdept"},
	"POST /api/v1/irregular/{entryID}/evidence":                  {"borrower", "lender", "orgdept", "registrar"},
}

// principals act in the matrix: one demo account per role, the system
// administrator last (its actions may disable others).
var principals = []struct {
	login string
	role  auth.Role
}{
	{"nmg-bt-qs-rd.borrower", auth.RoleBorrower},
	{"nmg-bt-qs-kxl.lender", auth.RoleLender},
	{"nmg-bt-zzb.orgdept", auth.RoleOrgDept},
	{"nmg-bt-zzb.registrar", auth.RoleRegistrar},
	{"secadmin", auth.RoleSecAdmin},
	{"auditor", auth.RoleAuditor},
	{"sysadmin", auth.RoleSysAdmin},
}

// TestAuthorizationMatrix walks every registered route with an anonymous
// caller and a user of each role, and checks each answer against the
// expected table: a route nobody decided about fails.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	rules := server.New(server.Deps{Catalog: i18n.MustLoad()}).Rules()
	for route, want := range expected {
		if got, ok := rules[route]; !ok {
			t.Errorf("%s is expected but not routed", route)
		} else if !slices.Equal(sortedCopy(got), sortedCopy(want)) {
			t.Errorf("%s needs %v; expected %v", route, got, want)
		}
	}
	for route := range rules {
		if _, ok := expected[route]; !ok {
			t.Errorf("route %s has no expectation in this test: decide who may use it", route)
		}
	}
	param := regexp.MustCompile(`\{[a-zA-Z]+\}`)
	for _, route := range slices.Sorted(maps.Keys(expected)) {
		t.Run(route, func(t *testing.T) {
			t.Parallel()
			s := newSetup(t, true)
			method, pattern, _ := strings.Cut(route, " ")
			path := param.ReplaceAllString(pattern, "1")
			api := strings.HasPrefix(path, "/api/")
			want := expected[route]
			call := func(c *client) *http.Response {
				var res *http.Response
				switch method {
				case http.MethodGet:
					res, _ = c.get(path)
				case http.MethodPost:
					res, _ = c.post(path, url.Values{})
				default:
					req, _ := http.NewRequest(method, c.s.srv.URL+path, strings.NewReader("{}"))
					req.Header.Set("Content-Type", "application/json")
					res, _ = c.do(req)
				}
				if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") ||
					res.Header.Get("X-Content-Type-Options") != "nosniff" {
					t.Errorf("%s %s: security headers missing", method, path)
				}
				return res
			}
			deniedToAnonymous := func(res *http.Response) bool {
				if api {
					return res.StatusCode == http.StatusUnauthorized
				}
				return res.StatusCode == http.StatusSeeOther && strings.HasPrefix(res.Header.Get("Location"), "/signin?next=")
			}
			res := call(s.anonymous(t))
			if want[0] == "public" {
				if deniedToAnonymous(res) || res.StatusCode == http.StatusForbidden {
					t.Errorf("anonymous: %d, want access", res.StatusCode)
				}
			} else if !deniedToAnonymous(res) {
				t.Errorf("anonymous: %d %s, want sign-in required", res.StatusCode, res.Header.Get("Location"))
			}
			for _, p := range principals {
				res := call(s.as(t, p.login))
				allowed := want[0] == "public" || want[0] == "signed-in" || slices.Contains(want, string(p.role))
				switch {
				case allowed && (res.StatusCode == http.StatusForbidden || deniedToAnonymous(res)):
					t.Errorf("%s: %d, want access", p.role, res.StatusCode)
				case !allowed && res.StatusCode != http.StatusForbidden:
					t.Errorf("%s: %d, want 403", p.role, res.StatusCode)
				}
			}
		})
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func sessionCookie(t *testing.T, c *client) string {
	t.Helper()
	u, _ := url.Parse(c.s.srv.URL)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == "secondment_session" {
			return ck.Value
		}
	}
	return ""
}

// Signing in issues a new session ID, so one planted beforehand is useless;
// signing out deletes the session at once.
func TestSessionIDRenewedAndRevoked(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	c := s.anonymous(t)
	c.post("/lang", url.Values{"lang": {"zh-CN"}}) // no session before sign-in …
	c.get("/signin")
	before := sessionCookie(t, c)
	res, _ := c.post("/signin", url.Values{"login": {"sysadmin"}, "password": {demoPassword}})
	after := sessionCookie(t, c)
	if res.StatusCode != http.StatusSeeOther || after == "" || after == before {
		t.Fatalf("sign-in: %d, session %q → %q; want a new session", res.StatusCode, before, after)
	}
	// A copy of the cookie (a second browser with the same session).
	thief := s.anonymous(t)
	u, _ := url.Parse(s.srv.URL)
	thief.http.Jar.SetCookies(u, []*http.Cookie{{Name: "secondment_session", Value: after}})
	if res, _ := thief.get("/account"); res.StatusCode != http.StatusOK {
		t.Fatalf("the session cookie does not work: %d", res.StatusCode)
	}
	if res, _ := c.post("/signout", url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", res.StatusCode)
	}
	if res, _ := thief.get("/account"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the session still works after sign-out: %d", res.StatusCode)
	}
	var n int
	if err := s.store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM sessions WHERE token = $1`, after).Scan(&n); err != nil || n != 0 {
		t.Fatalf("session row left after sign-out: %d %v", n, err)
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{false, true} {
		store := dbtest.Store(t)
		if _, err := demo.Load(t.Context(), store); err != nil {
			t.Fatal(err)
		}
		if _, err := demo.LoadUsers(t.Context(), store, cheap, demoPassword, time.Now()); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(server.New(server.Deps{Store: store, Catalog: i18n.MustLoad(), Hasher: cheap, SecureCookies: secure}).Handler())
		res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).
			PostForm(srv.URL+"/signin", url.Values{"login": {"sysadmin"}, "password": {demoPassword}})
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		var c *http.Cookie
		for _, ck := range res.Cookies() {
			if ck.Name == "secondment_session" {
				c = ck
			}
		}
		if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure || c.MaxAge != 0 || !c.Expires.IsZero() {
			t.Fatalf("secure=%v: session cookie %+v", secure, c)
		}
	}
}

// A page view reads the session and writes it at most once a minute (to
// note the user was seen), not on every request.
func TestPageViewsDoNotWriteTheSession(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	c := s.as(t, "sysadmin")
	version := func() string {
		t.Helper()
		var v string
		if err := s.store.Pool.QueryRow(t.Context(), `SELECT string_agg(xmin::text, ',') FROM sessions`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	c.get("/account")
	before := version()
	for range 3 {
		if res, _ := c.get("/account"); res.StatusCode != http.StatusOK {
			t.Fatalf("account page: %d", res.StatusCode)
		}
	}
	if after := version(); after != before {
		t.Errorf("three page views within a minute wrote the session: %s, then %s", before, after)
	}
	s.clock.Advance(2 * time.Minute)
	c.get("/account")
	if after := version(); after == before {
		t.Error("a page view two minutes later did not note the user as seen")
	}
}

func TestSessionIdleAndAbsoluteTimeout(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	signedIn := func(c *client) bool {
		res, _ := c.get("/account")
		return res.StatusCode == http.StatusOK
	}
	// Idle: 30 minutes without a request ends the session.
	c := s.as(t, "sysadmin")
	s.clock.Advance(29 * time.Minute)
	if !signedIn(c) {
		t.Fatal("session ended before the idle timeout")
	}
	s.clock.Advance(30*time.Minute + time.Second)
	if signedIn(c) {
		t.Fatal("session survived 30 idle minutes")
	}
	// Absolute: kept busy, it still ends 12 hours after sign-in.
	c = s.as(t, "sysadmin")
	for range 12*3 - 1 {
		s.clock.Advance(20 * time.Minute)
		if !signedIn(c) {
			t.Fatalf("session ended early, at %s", s.clock.Now())
		}
	}
	s.clock.Advance(20*time.Minute + time.Second)
	if signedIn(c) {
		t.Fatal("session survived 12 hours")
	}
	events, _, err := s.store.AuditList(t.Context(), postgres.AuditFilter{Action: "user.sign_out"})
	if err != nil || len(events) != 2 || events[0].Detail["reason"] != "absolute timeout" || events[1].Detail["reason"] != "idle timeout" {
		t.Fatalf("timeouts not audited: %+v %v", events, err)
	}
}

// Five wrong passwords slow that login from that address: the next try,
// even with the right password, is a 429 saying how long to wait, worded
// the same for an unknown login; after the wait the right password works.
func TestFailedSignInsSlowTheLogin(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	try := func(login, password string) (*http.Response, string) {
		res, body := s.anonymous(t).post("/signin", url.Values{"login": {login}, "password": {password}})
		return res, within(doc(t, body), "form-summary")
	}
	for _, login := range []string{"sysadmin", "nobody"} {
		for i := range 5 {
			if res, _ := try(login, "wrong password "+string(rune('a'+i))); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("%s failure %d: %d", login, i+1, res.StatusCode)
			}
		}
	}
	res, msg := try("sysadmin", demoPassword)
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "1" || !strings.Contains(msg, "1 秒后再试") {
		t.Fatalf("the right password while delayed: %d %q %q", res.StatusCode, res.Header.Get("Retry-After"), msg)
	}
	if res, unknown := try("nobody", "x"); res.StatusCode != http.StatusTooManyRequests || unknown != msg {
		t.Fatalf("an unknown login is told apart: %d %q vs %q", res.StatusCode, unknown, msg)
	}
	s.clock.Advance(2 * time.Second)
	if res, _ := try("sysadmin", demoPassword); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the wait: %d", res.StatusCode)
	}
	failed, _, _ := s.store.AuditList(t.Context(), postgres.AuditFilter{Action: "user.sign_in_failed"})
	throttled := 0
	for _, e := range failed {
		if e.Detail["reason"] == "throttled" {
			throttled++
		}
	}
	if len(failed) != 12 || throttled != 2 {
		t.Fatalf("%d failures audited, %d of them throttled; want 12 (10 wrong, 2 while delayed)", len(failed), throttled)
	}
}

func TestSignInRateLimitPerAddress(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	codes := map[int]int{}
	var last *http.Response
	var lastBody string
	for i := range 21 {
		// Different accounts, so no delay is involved: only the address.
		last, lastBody = s.anonymous(t).post("/signin", url.Values{"login": {"nobody" + string(rune('a'+i))}, "password": {"x"}})
		codes[last.StatusCode]++
	}
	if codes[http.StatusUnauthorized] != 20 || codes[http.StatusTooManyRequests] != 1 {
		t.Fatalf("statuses %v; want 20 refusals then 429", codes)
	}
	// The 429 says when: once the oldest failure leaves the 5 minutes.
	if last.Header.Get("Retry-After") != "300" || !strings.Contains(within(doc(t, lastBody), "form-summary"), "5分钟后再试") {
		t.Fatalf("the 429 says no wait: %q %q", last.Header.Get("Retry-After"), within(doc(t, lastBody), "form-summary"))
	}
	s.clock.Advance(5*time.Minute + time.Second)
	if res, _ := s.anonymous(t).post("/signin", url.Values{"login": {"sysadmin"}, "password": {demoPassword}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the window: %d", res.StatusCode)
	}
}

// An administrator creates an account with a one-time password; its owner
// must replace it before anything else.
func TestAccountLifecycle(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	admin := s.as(t, "sysadmin")
	res, body := admin.post("/admin/users", url.Values{"login": {"li.si"}, "name": {"李四"}, "unit": {"NMG-BT-QS-RD"}, "role": {"borrower"}})
	page := doc(t, body)
	oneTime := within(page, "one-time-password")
	if res.StatusCode != http.StatusOK || len(oneTime) != 16 {
		t.Fatalf("create: %d, one-time password %q", res.StatusCode, oneTime)
	}
	// Separation of duties: an administrator role is held alone.
	res, body = admin.post("/admin/users", url.Values{"login": {"wang.wu"}, "name": {"王五"}, "unit": {"NMG-BT-ZZB"}, "role": {"sysadmin", "orgdept"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(within(doc(t, body), "error-roles"), "三权分立") {
		t.Fatalf("sysadmin+orgdept: %d %q", res.StatusCode, within(doc(t, body), "error-roles"))
	}
	// Bad input: every field explained, nothing saved.
	res, body = admin.post("/admin/users", url.Values{"login": {"X"}, "name": {""}, "unit": {"NOPE"}})
	page = doc(t, body)
	if res.StatusCode != http.StatusUnprocessableEntity || within(page, "error-unit") == "" || within(page, "error-name") == "" || within(page, "error-roles") == "" {
		t.Fatalf("bad input: %d", res.StatusCode)
	}

	c := s.anonymous(t)
	res, _ = c.post("/signin", url.Values{"login": {"li.si"}, "password": {oneTime}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account/password" {
		t.Fatalf("first sign-in goes to %q, want the password page", res.Header.Get("Location"))
	}
	if res, _ := c.get("/units"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account/password" {
		t.Fatalf("before the change, /units: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	for _, bad := range []struct{ password, field string }{
		{"short", "password"}, {"li.si-and-more-words", "password"}, {"青山区人大常委会机关好密码", "password"},
	} {
		res, body := c.post("/account/password", url.Values{"current": {oneTime}, "password": {bad.password}, "confirm": {bad.password}})
		if res.StatusCode != http.StatusUnprocessableEntity || within(doc(t, body), "error-"+bad.field) == "" {
			t.Errorf("password %q: %d", bad.password, res.StatusCode)
		}
	}
	res, _ = c.post("/account/password", url.Values{"current": {oneTime}, "password": {"correct horse battery"}, "confirm": {"correct horse battery"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("change: %d", res.StatusCode)
	}
	if res, _ := c.get("/units"); res.StatusCode != http.StatusOK {
		t.Fatalf("after the change, /units: %d", res.StatusCode)
	}

	// Disabling ends the account's session at once.
	var id int64
	if err := s.store.Pool.QueryRow(t.Context(), `SELECT id FROM app_user WHERE login = 'li.si'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if res, _ := admin.post("/admin/users/"+itoa(id)+"/disable", url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: %d", res.StatusCode)
	}
	if res, _ := c.get("/units"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("a disabled account still works: %d", res.StatusCode)
	}
	// Roles change, audited with before and after.
	if res, _ := admin.post("/admin/users/"+itoa(id)+"/roles", url.Values{"role": {"lender"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("roles: %d", res.StatusCode)
	}
	events, _, _ := s.store.AuditList(t.Context(), postgres.AuditFilter{Action: "user."})
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"user.create", "user.sign_in", "user.password_change", "user.disable", "user.roles"} {
		if !slices.Contains(actions, want) {
			t.Errorf("%s not audited (have %v)", want, actions)
		}
	}
	// The administrator cannot lock themselves out.
	if res, _ := admin.post("/admin/users/"+itoa(userID(t, s, "sysadmin"))+"/disable", url.Values{}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("self-disable: %d", res.StatusCode)
	}
	// A reset gives a new one-time password.
	res, body = admin.post("/admin/users/"+itoa(id)+"/reset-password", url.Values{})
	if res.StatusCode != http.StatusOK || len(within(doc(t, body), "one-time-password")) != 16 {
		t.Fatalf("reset: %d", res.StatusCode)
	}
}

func userID(t *testing.T, s *setup, login string) int64 {
	t.Helper()
	var id int64
	if err := s.store.Pool.QueryRow(t.Context(), `SELECT id FROM app_user WHERE login = $1`, login).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestAPITokens(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	c := s.as(t, "nmg-bt-zzb.orgdept")
	_, body := c.post("/account/tokens", url.Values{"name": {"ledger export"}, "scope": {"act"}, "days": {"90"}})
	token := within(doc(t, body), "new-token")
	if !auth.LooksLikeToken(token) {
		t.Fatalf("no token shown: %q", token)
	}
	// The token is stored hashed only.
	var stored int
	if err := s.store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM api_token WHERE token_hash = $1`, auth.HashToken(token)).Scan(&stored); err != nil || stored != 1 {
		t.Fatalf("token hash stored: %d %v", stored, err)
	}
	bearer := func(tok string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		return s.anonymous(t).do(req)
	}
	res, body := bearer(token)
	var me struct{ Login string }
	if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &me) != nil || me.Login != "nmg-bt-zzb.orgdept" {
		t.Fatalf("bearer: %d %s", res.StatusCode, body)
	}
	wrong := token[:len(token)-1] + "a"
	if wrong == token {
		wrong = token[:len(token)-1] + "b"
	}
	if res, _ := bearer(wrong); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong token: %d", res.StatusCode)
	}
	var tokenID int64
	if err := s.store.Pool.QueryRow(t.Context(), `SELECT id FROM api_token WHERE token_hash = $1`, auth.HashToken(token)).Scan(&tokenID); err != nil {
		t.Fatal(err)
	}
	// Someone else cannot revoke it: it does not exist for them.
	if res, _ := s.as(t, "sysadmin").post("/account/tokens/"+itoa(tokenID)+"/revoke", url.Values{}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("another user's revoke: %d, want 404", res.StatusCode)
	}
	if res, _ := c.post("/account/tokens/"+itoa(tokenID)+"/revoke", url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", res.StatusCode)
	}
	if res, _ := bearer(token); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a revoked token: %d", res.StatusCode)
	}
	events, _, _ := s.store.AuditList(t.Context(), postgres.AuditFilter{Action: "token."})
	if len(events) != 2 {
		t.Fatalf("token events: %+v", events)
	}
}

func TestAuditorReadsTheTrail(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	s.as(t, "nmg-bt-qs-rd.borrower")
	_, body := s.as(t, "auditor").get("/audit?action=user.sign_in")
	rows := byTestID(doc(t, body), "audit-row")
	if len(rows) < 2 {
		t.Fatalf("auditor sees %d sign-in events", len(rows))
	}
	for _, r := range rows {
		if !strings.HasPrefix(attr(r, "data-action"), "user.sign_in") {
			t.Errorf("filter let through %s", attr(r, "data-action"))
		}
	}
	if res, _ := s.as(t, "sysadmin").get("/audit"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("sysadmin reads the audit trail: %d", res.StatusCode)
	}
	// In the auditor's words: the action by name, the object by kind, the
	// detail as pairs; the filter a choice, not a typed code.
	row := text(rows[0])
	if !strings.Contains(row, "登录") || strings.Contains(row, "user.sign_in") || !strings.Contains(row, "账号") || strings.Contains(row, "{") {
		t.Errorf("an audit row in codes: %q", row)
	}
	if len(byTestID(doc(t, body), "audit-action-filter")) != 1 {
		t.Error("no action picker")
	}
	res, csv := s.as(t, "auditor").get("/audit.csv?action=user.sign_in")
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	// (later sign-ins, this one's included, are in it too)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") || len(lines) < len(rows)+1 ||
		!strings.Contains(lines[0], "操作代码") {
		t.Fatalf("export: %d %q, %d lines for %d rows", res.StatusCode, res.Header.Get("Content-Type"), len(lines), len(rows))
	}
	for _, l := range lines[1:] {
		if !strings.Contains(l, "user.sign_in") {
			t.Errorf("the export ignores the filter: %q", l)
		}
	}
}

func TestSecurityAdminSetsPolicy(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	sec := s.as(t, "secadmin")
	form := url.Values{"lockout_threshold": {"5"}, "lockout_window_minutes": {"15"}, "lockout_minutes": {"15"},
		"rate_limit_attempts": {"20"}, "rate_limit_minutes": {"5"}, "idle_timeout_minutes": {"10"},
		"absolute_timeout_hours": {"12"}, "password_min_length": {"12"}, "password_max_age_days": {"90"},
		"password_composition": {"on"}}
	if res, _ := sec.post("/admin/security", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", res.StatusCode)
	}
	bad := maps.Clone(form)
	bad["idle_timeout_minutes"] = []string{"1"}
	bad["lockout_threshold"] = []string{"many"}
	res, body := sec.post("/admin/security", bad)
	page := doc(t, body)
	if res.StatusCode != http.StatusUnprocessableEntity || within(page, "error-lockout_threshold") == "" {
		t.Fatalf("bad settings: %d", res.StatusCode)
	}
	set, _ := s.store.SecuritySettings(t.Context())
	if set.IdleTimeout != 10*time.Minute || set.LockoutThreshold != 5 {
		t.Fatalf("refused settings changed something: %+v", set)
	}
	c := s.as(t, "nmg-bt-qs-rd.borrower")
	s.clock.Advance(11 * time.Minute)
	if res, _ := c.get("/units"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the new 10-minute idle timeout did not apply: %d", res.StatusCode)
	}
	// Password age: a password older than 90 days must be changed.
	s.clock.Advance(91 * 24 * time.Hour)
	c = s.anonymous(t)
	if res, _ := c.post("/signin", url.Values{"login": {"nmg-bt-qs-kxl.lender"}, "password": {demoPassword}}); res.Header.Get("Location") != "/account/password" {
		t.Fatalf("sign-in with an expired password: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res, _ := c.get("/units"); res.Header.Get("Location") != "/account/password" {
		t.Fatalf("an expired password: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

// A read token reads and may not act; a token ends on its expiry day, and
// every token ends when its owner changes the password; a lifetime over a
// year or an unknown scope is refused.
func TestAPITokenScopeExpiryAndPasswordChange(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	c := s.as(t, "nmg-bt-zzb.orgdept")
	newToken := func(scope, days string) string {
		t.Helper()
		res, body := c.post("/account/tokens", url.Values{"name": {scope + days}, "scope": {scope}, "days": {days}})
		tok := within(doc(t, body), "new-token")
		if res.StatusCode != http.StatusOK || !auth.LooksLikeToken(tok) {
			t.Fatalf("token %s %s: %d", scope, days, res.StatusCode)
		}
		return tok
	}
	call := func(tok, method string) *http.Response {
		req, _ := http.NewRequest(method, s.srv.URL+"/api/v1/notifications/read", nil)
		if method == http.MethodGet {
			req, _ = http.NewRequest(method, s.srv.URL+"/api/v1/me", nil)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		res, _ := s.anonymous(t).do(req)
		return res
	}
	read, act, short := newToken("read", "90"), newToken("act", "90"), newToken("act", "30")
	if res := call(read, http.MethodGet); res.StatusCode != http.StatusOK {
		t.Fatalf("read token GET: %d", res.StatusCode)
	}
	if res := call(read, http.MethodPost); res.StatusCode != http.StatusForbidden ||
		!strings.Contains(res.Header.Get("WWW-Authenticate"), "insufficient_scope") {
		t.Fatalf("read token POST: %d %q", res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}
	if res := call(act, http.MethodPost); res.StatusCode != http.StatusOK {
		t.Fatalf("act token POST: %d", res.StatusCode)
	}
	for _, bad := range []url.Values{{"name": {"x"}, "scope": {"admin"}, "days": {"90"}}, {"name": {"x"}, "scope": {"read"}, "days": {"3650"}}} {
		if res, _ := c.post("/account/tokens", bad); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("token %v: %d", bad, res.StatusCode)
		}
	}
	s.clock.Advance(31 * 24 * time.Hour)
	if res := call(short, http.MethodGet); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a token past its 30 days: %d", res.StatusCode)
	}
	if res := call(act, http.MethodGet); res.StatusCode != http.StatusOK {
		t.Fatalf("a 90-day token after 31 days: %d", res.StatusCode)
	}
	c = s.as(t, "nmg-bt-zzb.orgdept")
	if res, _ := c.post("/account/password", url.Values{"current": {demoPassword}, "password": {"correct horse battery"},
		"confirm": {"correct horse battery"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("password change: %d", res.StatusCode)
	}
	for _, tok := range []string{read, act} {
		if res := call(tok, http.MethodGet); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a token after its owner's password change: %d", res.StatusCode)
		}
	}
}
