package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"secondment/internal/server"
)

// metricsToken opens /metrics on the public port in these tests.
const metricsToken = "test-metrics-token-0123456789abcdef"

// scrape is one scrape of a metrics endpoint, parsed.
type scrape map[string]*dto.MetricFamily

// scrapeURL GETs url with the headers given (name, value, …) and parses
// the answer, which must be a 200 in Prometheus' text format.
func scrapeURL(t *testing.T, u string, header ...string) scrape {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("scrape %s: %d %s\n%s", u, res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("scrape %s: %v", u, err)
	}
	return fams
}

// series are the metrics of family name whose labels include labels
// (name, value, …).
func (s scrape) series(name string, labels ...string) []*dto.Metric {
	f := s[name]
	if f == nil {
		return nil
	}
	var out []*dto.Metric
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		ok := true
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				ok = false
			}
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}

// value is the value of the one series of name with labels: a counter's
// or gauge's value, a histogram's count. It fails the test when there is
// not exactly one.
func (s scrape) value(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	ms := s.series(name, labels...)
	if len(ms) != 1 {
		t.Fatalf("%s%v: %d series, want 1", name, labels, len(ms))
	}
	m := ms[0]
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	t.Fatalf("%s%v: neither counter, gauge nor histogram", name, labels)
	return 0
}

// After a few requests, sign-ins and two steps of a request, the metrics
// listener's scrape has the series with the right labels and values: the
// HTTP histogram by route pattern (never by path), the transitions, the
// sign-ins by outcome, the pool, the queue and the last sweep.
func TestMetricsScrape(t *testing.T) {
	t.Parallel()
	s := newSetupWith(t, true, kashgar, func(d *server.Deps) { d.MetricsToken = metricsToken })
	ctx := t.Context()

	clerk, id := submitted(t, s) // a sign-in and a submission
	town := s.as(t, "xj-ks-akks.lender")
	_, body := town.get("/secondments/" + id)
	v := pageVersion(t, body)
	if res, _ := town.post("/secondments/"+id+"/actions/consent", url.Values{"version": {v}, "opinion": {"同意"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("consent: %d", res.StatusCode)
	}
	// A step refused (the version read is stale) changes nothing, and is
	// no transition.
	if res, _ := town.post("/secondments/"+id+"/actions/consent", url.Values{"version": {v}, "opinion": {"同意"}}); res.StatusCode == http.StatusSeeOther {
		t.Fatalf("a stale consent went through: %d", res.StatusCode)
	}
	anon := s.anonymous(t)
	if res, _ := anon.post("/signin", url.Values{"login": {"xj-ks-jw.borrower"}, "password": {"not-the-password"}}); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", res.StatusCode)
	}
	if res, _ := anon.post("/signin", url.Values{"login": {"nobody.at.all"}, "password": {"whatever-it-is"}}); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown login: %d", res.StatusCode)
	}
	for range 2 {
		if res, _ := clerk.get("/secondments/" + id); res.StatusCode != http.StatusOK {
			t.Fatalf("request page: %d", res.StatusCode)
		}
	}
	if res, _ := anon.get("/no/such/page/" + id); res.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown path: %d", res.StatusCode)
	}
	// A job in the queue and a finished sweep, read at scrape time.
	if _, err := s.store.Pool.Exec(ctx, `INSERT INTO river_job (args, kind, max_attempts, queue, state, scheduled_at)
		VALUES ('{}', 'sweep', 25, 'default', 'available', now())`); err != nil {
		t.Fatal(err)
	}
	swept := time.Date(2024, time.March, 1, 2, 0, 0, 0, time.UTC)
	if _, err := s.store.Pool.Exec(ctx, `INSERT INTO sweep_run (day, started_at, finished_at, origin)
		VALUES ('2024-03-01', $1, $2, 'test')`, swept.Add(-time.Second), swept); err != nil {
		t.Fatal(err)
	}

	listener := httptest.NewServer(s.server.MetricsHandler())
	t.Cleanup(listener.Close)
	m := scrapeURL(t, listener.URL+"/metrics")

	for outcome, want := range map[string]float64{"ok": 2, "bad_password": 1, "unknown": 1, "throttled": 0, "rate_limited": 0} {
		if got := m.value(t, "secondment_sign_ins_total", "outcome", outcome); got != want {
			t.Errorf("sign-ins %s = %v, want %v", outcome, got, want)
		}
	}
	for action, want := range map[string]float64{"submit": 1, "consent": 1, "approve": 0, "expire": 0} {
		if got := m.value(t, "secondment_transitions_total", "action", action); got != want {
			t.Errorf("transitions %s = %v, want %v", action, got, want)
		}
	}
	const hist = "secondment_http_request_duration_seconds"
	if got := m.value(t, hist, "route", "/secondments/{secondmentID}", "method", "GET", "code", "200"); got < 2 {
		t.Errorf("request pages counted %v times, want at least 2", got)
	}
	if got := m.value(t, hist, "route", "/secondments/{secondmentID}/actions/{action}", "method", "POST", "code", "303"); got != 2 {
		t.Errorf("steps taken: %v, want 2 (submit and consent)", got)
	}
	if got := m.value(t, hist, "route", "/signin", "method", "POST", "code", "401"); got != 2 {
		t.Errorf("refused sign-ins: %v, want 2", got)
	}
	if got := m.value(t, hist, "route", "unmatched", "method", "GET", "code", "404"); got != 1 {
		t.Errorf("unmatched: %v, want 1", got)
	}
	// Bounded: no label holds a path with the request's number.
	for _, series := range m[hist].GetMetric() {
		for _, l := range series.GetLabel() {
			if l.GetName() == "route" && strings.Contains(l.GetValue(), id) {
				t.Errorf("route label %q holds the path", l.GetValue())
			}
		}
	}
	if got := m.value(t, "secondment_http_requests_in_flight"); got != 0 {
		t.Errorf("in flight after the requests: %v", got)
	}
	if got := m.value(t, "secondment_db_pool_max_connections"); got < 1 {
		t.Errorf("pool max %v", got)
	}
	if got := m.value(t, "secondment_db_pool_acquires_total"); got < 10 {
		t.Errorf("pool acquires %v", got)
	}
	for _, name := range []string{"secondment_db_pool_acquired_connections", "secondment_db_pool_idle_connections",
		"secondment_db_pool_total_connections", "secondment_db_pool_acquire_duration_seconds_total",
		"secondment_db_pool_empty_acquires_total", "go_goroutines", "process_resident_memory_bytes"} {
		if len(m.series(name)) != 1 {
			t.Errorf("%s missing", name)
		}
	}
	if got := m.value(t, "secondment_database_up"); got != 1 {
		t.Errorf("database_up %v", got)
	}
	if got := m.value(t, "secondment_job_queue_jobs", "kind", "sweep", "state", "available"); got != 1 {
		t.Errorf("queued sweeps %v, want 1", got)
	}
	if got := m.value(t, "secondment_job_queue_jobs", "kind", "sweep", "state", "retryable"); got != 0 {
		t.Errorf("retryable sweeps %v, want 0", got)
	}
	if got := m.value(t, "secondment_sweep_last_finished_timestamp_seconds"); got != float64(swept.Unix()) {
		t.Errorf("last sweep at %v, want %d", got, swept.Unix())
	}
	if got := m.value(t, "secondment_build_info", "version", "test"); got != 1 {
		t.Errorf("build_info %v", got)
	}
	// The jobs' series are there from the start, at zero.
	for _, name := range []string{"secondment_notification_delivery_failures_total", "secondment_sweep_duration_seconds"} {
		if got := m.value(t, name); got != 0 {
			t.Errorf("%s = %v, want 0", name, got)
		}
	}
	if got := m.value(t, "secondment_sweep_rows_changed_total", "change", "expired"); got != 0 {
		t.Errorf("expired rows %v, want 0", got)
	}

	// The listener serves /metrics only.
	if res, err := http.Get(listener.URL + "/healthz"); err != nil || res.StatusCode != http.StatusNotFound {
		t.Errorf("the metrics listener serves /healthz: %v %v", res.StatusCode, err)
	}

	// The public port serves the same metrics with the token.
	pub := scrapeURL(t, s.srv.URL+"/metrics", "Authorization", "Bearer "+metricsToken)
	if got := pub.value(t, "secondment_transitions_total", "action", "consent"); got != 1 {
		t.Errorf("public scrape: consent %v", got)
	}
}

// On the public port /metrics is a 404 like any unknown path without the
// token, with a wrong one, or with a signed-in administrator's session;
// with the right token it is the metrics. A server without a token never
// serves them there.
func TestMetricsOnThePublicPort(t *testing.T) {
	t.Parallel()
	s := newSetupWith(t, true, kashgar, func(d *server.Deps) { d.MetricsToken = metricsToken })
	get := func(c *client, auth string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return c.do(req)
	}
	anon := s.anonymous(t)
	_, unknown := anon.get("/no-such-page")
	for name, auth := range map[string]string{
		"no token":         "",
		"wrong token":      "Bearer " + strings.Repeat("x", len(metricsToken)),
		"token's prefix":   "Bearer " + metricsToken[:len(metricsToken)-1],
		"token plus more":  "Bearer " + metricsToken + "0",
		"other scheme":     "Basic " + metricsToken,
		"token, no scheme": metricsToken,
		"an API token":     "Bearer sec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	} {
		res, body := get(anon, auth)
		if res.StatusCode != http.StatusNotFound || strings.Contains(body, "secondment_") {
			t.Errorf("%s: %d, want 404", name, res.StatusCode)
		}
		if body != unknown {
			t.Errorf("%s: the 404 differs from an unknown path's", name)
		}
	}
	if res, body := get(s.as(t, "sysadmin"), ""); res.StatusCode != http.StatusNotFound || strings.Contains(body, "secondment_") {
		t.Errorf("signed-in administrator without the token: %d, want 404", res.StatusCode)
	}
	// Another method is no 405, which would tell the path exists.
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(method, s.srv.URL+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+metricsToken)
		if res, _ := anon.do(req); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s /metrics: %d, want 404", method, res.StatusCode)
		}
	}
	for _, scheme := range []string{"Bearer ", "bearer "} {
		res, body := get(anon, scheme+metricsToken)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "secondment_http_request_duration_seconds") {
			t.Errorf("%q with the token: %d", scheme, res.StatusCode)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("metrics headers: %v", res.Header)
		}
	}

	// No token configured: a 404 whatever is sent.
	closed := newSetup(t, false)
	for _, auth := range []string{"", "Bearer ", "Bearer " + metricsToken} {
		req, _ := http.NewRequest(http.MethodGet, closed.srv.URL+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if res, body := closed.anonymous(t).do(req); res.StatusCode != http.StatusNotFound || strings.Contains(body, "secondment_") {
			t.Errorf("no token configured, %q: %d", auth, res.StatusCode)
		}
	}
}

// Every route of the public handler outside the route table is one the
// test knows of: a new one must be decided about here, as the
// authorization matrix does for the table's.
func TestRoutesOutsideTheTable(t *testing.T) {
	t.Parallel()
	srv := server.New(server.Deps{})
	r := srv.Router()
	rules := srv.Rules()
	var outside []string
	for _, rt := range r.Routes() {
		if rt.Handlers["*"] != nil {
			outside = append(outside, "* "+rt.Pattern) // every method
			continue
		}
		for method := range rt.Handlers {
			if _, ok := rules[method+" "+rt.Pattern]; !ok {
				outside = append(outside, method+" "+rt.Pattern)
			}
		}
	}
	slices.Sort(outside)
	// /metrics answers every method, so that none is a 405 telling that
	// it exists.
	want := []string{"* /metrics", "GET /favicon.ico", "GET /healthz", "GET /readyz", "GET /static/{hash}/*"}
	if !slices.Equal(outside, want) {
		t.Fatalf("routes outside the table: %v, want %v", outside, want)
	}
}
