package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
	if _, err := s.store.Pool.Exec(t.Context(), `UPDATE schema_migrations SET dirty = true`); err != nil {
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
	s := newSetup(t, false)
	res, body := s.get(t, "/no/such/page", "")
	if res.StatusCode != 404 || within(doc(t, body), "error-message") != "未找到该内容,或您无权查看。" {
		t.Fatalf("404 = %d %q", res.StatusCode, within(doc(t, body), "error-message"))
	}
	res, body = s.get(t, "/api/v1/nothing", "")
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
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/units", nil))
	body := rec.Body.String()
	if rec.Code != 500 || !strings.Contains(body, "系统出错了") || strings.Contains(body, "nil pointer") {
		t.Fatalf("panic page = %d %s", rec.Code, body)
	}
	if id := rec.Header().Get("X-Request-Id"); id == "" && !strings.Contains(body, "-000") {
		t.Fatal("the error page must quote a request ID")
	}
}

func TestSecurityHeadersEverywhere(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	for _, path := range []string{"/", "/units", "/people", "/healthz", "/api/v1/units", "/missing"} {
		res, _ := s.get(t, path, "")
		csp := res.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") ||
			res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Referrer-Policy") == "" {
			t.Errorf("%s: headers %v", path, res.Header)
		}
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	t.Parallel()
	s := newSetup(t, false)
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/lang", strings.NewReader("lang=en"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if res, _ := do(t, req); res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST = %d; want 403", res.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodPost, s.srv.URL+"/lang", strings.NewReader("lang=en"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if res, _ := do(t, req); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("same-origin POST = %d; want 303", res.StatusCode)
	}
}
