package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"secondment/internal/metrics"
	"secondment/internal/secondment"
)

// A nil *Metrics records nothing and never panics: code given no metrics
// needs no checks.
func TestNilRecordsNothing(t *testing.T) {
	var m *metrics.Metrics
	m.RequestStarted()()
	m.ObserveRequest("/", "GET", 200, time.Millisecond)
	m.Transition(secondment.ActApprove)
	m.Transitions(secondment.ActExpire, 3)
	m.SignIn(metrics.SignInOK)
	m.JobWorked("sweep", time.Second, true)
	m.NotificationDelivered(time.Minute)
	m.NotificationFailed()
	m.Sweep(time.Second, map[string]int{metrics.SweepExpired: 1})
	if err := m.WatchDatabase(nil, metrics.WatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// Labels stay bounded whatever a client sends: an invented method is
// "other", no route "unmatched". Two registries in one process do not
// collide.
func TestLabelsBounded(t *testing.T) {
	m, other := metrics.New("v1", nil), metrics.New("v2", nil)
	m.ObserveRequest("", "BREW", 404, time.Millisecond)
	m.ObserveRequest("/secondments/{secondmentID}", "GET", 200, time.Millisecond)
	other.ObserveRequest("/", "GET", 200, time.Millisecond)
	n, err := testutil.GatherAndCount(m.Registry(), "secondment_http_request_duration_seconds")
	if err != nil || n != 2 {
		t.Fatalf("%d series, %v", n, err)
	}
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, f := range fams {
		if f.GetName() != "secondment_http_request_duration_seconds" {
			continue
		}
		for _, s := range f.GetMetric() {
			var l []string
			for _, p := range s.GetLabel() {
				l = append(l, p.GetName()+"="+p.GetValue())
			}
			labels = append(labels, strings.Join(l, ","))
		}
	}
	if strings.Join(labels, " ") != "code=200,method=GET,route=/secondments/{secondmentID} code=404,method=other,route=unmatched" {
		t.Errorf("labels %v", labels)
	}
	// Transitions and sign-ins exist at zero from the start.
	if n, _ := testutil.GatherAndCount(other.Registry(), "secondment_transitions_total"); n != len(secondment.AllActions) {
		t.Errorf("%d transition series at start, want %d", n, len(secondment.AllActions))
	}
}
