package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"secondment/internal/dbtest"
	"secondment/internal/i18n"
	"secondment/internal/server"
)

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	s := newSetup(t, false)
	if res, body := s.get(t, "/healthz", ""); res.StatusCode != 200 || body != "ok\n" {
		t.Fatalf("healthz = %d %q", res.StatusCode, body)
	}
	if res, body := s.get(t, "/readyz", ""); res.StatusCode != 200 || body != "ready\n" {
		t.Fatalf("readyz = %d %q", res.StatusCode, body)
	}
	// The next release migrated (a rollback to this binary): ready while
	// the schema says this binary still works on it, not once it does not.
	owner := dbtest.Pool(t, s.owner)
	if _, err := owner.Exec(t.Context(), `UPDATE schema_migrations SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	if res, _ := s.get(t, "/readyz", ""); res.StatusCode != 200 {
		t.Fatalf("readyz on a compatible newer schema = %d; want 200", res.StatusCode)
	}
	if _, err := owner.Exec(t.Context(), `UPDATE schema_compat SET oldest_binary = (SELECT version FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	if res, body := s.get(t, "/readyz", ""); res.StatusCode != 503 || body != "schema not current\n" {
		t.Fatalf("readyz on an incompatible newer schema = %d %q; want 503", res.StatusCode, body)
	}
	if _, err := owner.Exec(t.Context(), `UPDATE schema_migrations SET version = version - 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Exec(t.Context(), `UPDATE schema_migrations SET dirty = true`); err != nil {
		t.Fatal(err)
	}
	if res, _ := s.get(t, "/readyz", ""); res.StatusCode != 503 {
		t.Fatalf("readyz on a dirty schema = %d; want 503", res.StatusCode)
	}
	if res, _ := s.get(t, "/healthz", ""); res.StatusCode != 200 {
		t.Fatal("healthz must not depend on the database")
	}
	s.store.Pool.Close()
	if res, body := s.get(t, "/readyz", ""); res.StatusCode != 503 || !strings.Contains(body, "unreachable") {
		t.Fatalf("readyz without a database = %d %q", res.StatusCode, body)
	}
}

func TestNotFoundPage(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	res, body := s.get(t, "/no/such/page", "")
	if res.StatusCode != 404 || within(doc(t, body), "error-message") != "未找到该内容，或您无权查看。" {
		t.Fatalf("404 = %d %q", res.StatusCode, within(doc(t, body), "error-message"))
	}
	res, body = s.as(t, "sysadmin").get("/api/v1/nothing")
	var p map[string]any
	if res.StatusCode != 404 || res.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal([]byte(body), &p) != nil || p["status"] != 404.0 {
		t.Fatalf("API 404 = %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
}

// A panic in a handler gives the generic error page with the request ID,
// never the panic's text. A server without a store panics on any page that
// reads the database.
func TestPanicShowsGenericPage(t *testing.T) {
	t.Parallel()
	h := server.New(server.Deps{Catalog: i18n.MustLoad()}).Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	body := rec.Body.String()
	if rec.Code != 500 || !strings.Contains(body, "系统出错了") || strings.Contains(body, "nil pointer") {
		t.Fatalf("panic page = %d %s", rec.Code, body)
	}
	// chi's IDs are a process prefix and a counter shared by every test
	// of the package ("…/x7Yz-001234"), so only their shape is known.
	if !regexp.MustCompile(`编号 \S+-\d{6,} 告知`).MatchString(body) {
		t.Fatalf("the error page must quote a request ID: %s", body)
	}
}

func TestSecurityHeadersEverywhere(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	c := s.as(t, "sysadmin")
	for _, path := range []string{"/", "/units", "/people", "/healthz", "/api/v1/units", "/missing", "/signin", "/admin/users"} {
		res, _ := c.get(path)
		csp := res.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") ||
			res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Referrer-Policy") == "" {
			t.Errorf("%s: headers %v", path, res.Header)
		}
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	c := s.as(t, "sysadmin")
	var res *http.Response
	var body string
	post := func(site string) int {
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/admin/users/1/disable", strings.NewReader(""))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", site)
		res, body = c.do(req)
		return res.StatusCode
	}
	if code := post("cross-site"); code != http.StatusForbidden {
		t.Fatalf("cross-site POST = %d; want 403", code)
	}
	// The refusal is a page like any other: the security headers, and a
	// message from the catalog in the user's language.
	if res.Header.Get("Content-Security-Policy") == "" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("the refusal lacks the security headers: %v", res.Header)
	}
	if !strings.Contains(body, "已被拒绝") {
		t.Errorf("the refusal is not the catalog's message: %s", body)
	}
	var disabled bool
	if err := s.store.Pool.QueryRow(t.Context(), `SELECT disabled_at IS NOT NULL FROM app_user WHERE id = 1`).Scan(&disabled); err != nil || disabled {
		t.Fatalf("the refused POST changed something: %v %v", disabled, err)
	}
	if code := post("same-origin"); code != http.StatusSeeOther && code != http.StatusUnprocessableEntity {
		t.Fatalf("same-origin POST = %d; want it handled", code)
	}
}

// Browsers ask /favicon.ico on every page; it was a 404.
func TestFavicon(t *testing.T) {
	t.Parallel()
	s := newSetup(t, false)
	res, body := s.get(t, "/favicon.ico", "")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(body, "<svg") {
		t.Fatalf("favicon: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

// The account page links only what the user may open: the administrators
// name no out-of-office proxy (the page is a 403 for them).
func TestAccountLinksOnlyWhatOpens(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	for login, want := range map[string]int{"sysadmin": 0, "auditor": 0, "nmg-bt-qs-kxl.lender": 1} {
		c := s.as(t, login)
		_, body := c.get("/account")
		links := byTestID(doc(t, body), "link-proxy")
		if len(links) != want {
			t.Errorf("%s: %d proxy links, want %d", login, len(links), want)
		}
		if want == 1 {
			if res, _ := c.get("/account/proxy"); res.StatusCode != http.StatusOK {
				t.Errorf("%s: the linked page is %d", login, res.StatusCode)
			}
		}
	}
}
