package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"secondment/internal/dbtest"
)

var metricsRE = regexp.MustCompile(`metrics on (http://\S+)`)

// serve --metrics-addr serves the metrics of the server and of its jobs
// (one registry) on their own listener; --metrics-token opens them on the
// public address to the token only.
func TestServeMetrics(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.EmptyURL(t)
	const token = "metrics-token-for-the-test-0123"
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--database-url", dbURL,
			"--trusted-proxies", "127.0.0.1/32"}, env("SECONDMENT_METRICS_TOKEN", token), strings.NewReader(""), &out, &errb)
	}()
	var base, metrics string
	deadline := time.Now().Add(60 * time.Second)
	for base == "" || metrics == "" {
		if m := servingRE.FindStringSubmatch(out.String()); m != nil {
			base = strings.TrimSuffix(m[1], "/")
		}
		if m := metricsRE.FindStringSubmatch(out.String()); m != nil {
			metrics = m[1]
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve ended early: %v\n%s", err, errb.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not start: %s %s", out.String(), errb.String())
		}
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	if !strings.HasSuffix(metrics, "/metrics") || strings.HasPrefix(metrics, base) {
		t.Fatalf("metrics at %s, public at %s", metrics, base)
	}

	// The periodic sweep runs about a second after start; its metrics
	// reach the listener's registry, with the database's.
	want := []string{`secondment_sweep_duration_seconds_count 1`, `secondment_job_duration_seconds_count{kind="sweep"}`,
		`secondment_db_pool_max_connections`, `secondment_job_queue_jobs{kind="sweep"`, `secondment_database_up 1`,
		`go_goroutines`}
	var body string
	for deadline := time.Now().Add(30 * time.Second); ; {
		code, b := fetch(t, http.DefaultClient, metrics)
		body = b
		missing := false
		for _, w := range want {
			missing = missing || !strings.Contains(body, w)
		}
		if code == http.StatusOK && !missing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics listener: %d, want every one of %q in:\n%s", code, want, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The public address: 404 without the token, the metrics with it.
	if code, b := fetch(t, http.DefaultClient, base+"/metrics"); code != http.StatusNotFound || strings.Contains(b, "secondment_") {
		t.Errorf("public /metrics without the token: %d", code)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("public /metrics with the token: %d", res.StatusCode)
	}
	// The request log names the client behind the trusted proxy.
	req, _ = http.NewRequest(http.MethodGet, base+"/healthz", nil)
	req.Header.Set("X-Forwarded-For", "198.51.100.23")
	if res, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		res.Body.Close()
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(errb.String(), "client=198.51.100.23"); {
		if time.Now().After(deadline) {
			t.Fatalf("the request log lacks the forwarded client:\n%s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
