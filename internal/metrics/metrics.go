// Package metrics holds the service's Prometheus series: their names,
// labels and buckets, in one registry per server (never the global one, so
// several servers in one test process do not collide). The HTTP layer, the
// use cases' observer and the background jobs report into it; the domain
// and the store know nothing of it.
//
// Every method is safe on a nil *Metrics, which records nothing: code that
// was given no metrics needs no checks.
package metrics

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"secondment/internal/secondment"
)

// namespace prefixes every series of the service.
const namespace = "secondment"

// Sign-in outcomes, the values of secondment_sign_ins_total's label.
const (
	SignInOK          = "ok"
	SignInBadPassword = "bad_password"
	SignInUnknown     = "unknown"      // no such account
	SignInDisabled    = "disabled"     // the account is disabled
	SignInLocked      = "locked"       // the account is locked (a lock from before the delay replaced it)
	SignInThrottled   = "throttled"    // refused unchecked: the delay after failures of this login
	SignInRateLimited = "rate_limited" // refused unchecked: too many failures from this address
	SignInBusy        = "busy"         // every hashing slot taken, or the database away: asked to retry
	SignInError       = "error"        // anything else (a 500)
	SignInSSO         = "sso"          // signed in through the OpenID Connect provider
	SignInSSORefused  = "sso_refused"  // a single sign-on refused: bad state, bad token, no account, provider away
)

var signInOutcomes = []string{SignInOK, SignInBadPassword, SignInUnknown, SignInDisabled, SignInLocked,
	SignInThrottled, SignInRateLimited, SignInBusy, SignInError, SignInSSO, SignInSSORefused}

// What a sweep changes, the values of secondment_sweep_rows_changed_total's
// label (the columns of sweep_run).
const (
	SweepRenewed       = "renewed"
	SweepExpired       = "expired"
	SweepOverdue       = "overdue"
	SweepReminders     = "reminders"
	SweepEscalated     = "escalated"
	SweepRectEscalated = "rect_escalated"
	SweepPolicyFlagged = "policy_flagged"
)

var sweepChanges = []string{SweepRenewed, SweepExpired, SweepOverdue, SweepReminders, SweepEscalated,
	SweepRectEscalated, SweepPolicyFlagged}

// Metrics is the registry and the series the service records itself.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	inFlight     prometheus.Gauge
	requests     *prometheus.HistogramVec
	transitions  *prometheus.CounterVec
	signIns      *prometheus.CounterVec
	jobDuration  *prometheus.HistogramVec
	jobFailures  *prometheus.CounterVec
	deliveryLag  prometheus.Histogram
	deliveryFail prometheus.Counter
	sweepTime    prometheus.Histogram
	sweepRows    *prometheus.CounterVec
}

// New makes a registry with the Go runtime's and the process's collectors,
// the build's version, and the service's own series. log receives the
// errors of scrapes (a query that failed); nil discards them.
func New(version string, log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	m := &Metrics{reg: reg, log: log,
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "http_requests_in_flight",
			Help: "HTTP requests being served."}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "http_request_duration_seconds",
			Help: "Time to answer an HTTP request, by route pattern (not path), method and status code.",
			// Pages take milliseconds; exports and imports up to the
			// request timeout.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}},
			[]string{"route", "method", "code"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "transitions_total",
			Help: "Committed state changes of requests, by action (the system's too: expiry, overdue, hand-over to a renewal)."},
			[]string{"action"}),
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "sign_ins_total",
			Help: "Sign-in attempts, with a password or through the OpenID Connect provider (sso, sso_refused), by outcome."}, []string{"outcome"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "job_duration_seconds",
			Help:    "Time a background job took in this process, by kind, failed or not.",
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 15, 60, 300}}, []string{"kind"}),
		jobFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "job_failures_total",
			Help: "Background jobs that failed (returned an error or panicked) in this process, by kind; River retries them."},
			[]string{"kind"}),
		deliveryLag: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "notification_delivery_lag_seconds",
			Help:    "Time from a notification's creation to its delivery through the channel (--notify-webhook).",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 24 * 3600}}),
		deliveryFail: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "notification_delivery_failures_total",
			Help: "Deliveries of a notification through the channel that failed (each is retried after a backoff)."}),
		sweepTime: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "sweep_duration_seconds",
			Help:    "Time a sweep (expiry, overdue, reminders, escalations) took in this process.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}}),
		sweepRows: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "sweep_rows_changed_total",
			Help: "What the sweeps in this process changed, by kind of change (the columns of sweep_run)."}, []string{"change"}),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "build_info",
		Help: "Always 1: the version of the binary and of Go that built it."}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildInfo,
		m.inFlight, m.requests, m.transitions, m.signIns, m.jobDuration, m.jobFailures, m.deliveryLag, m.deliveryFail,
		m.sweepTime, m.sweepRows)
	// Counters whose labels are known start at zero, so that rate() and
	// alerts see them before the first event.
	for _, a := range secondment.AllActions {
		m.transitions.WithLabelValues(string(a))
	}
	for _, o := range signInOutcomes {
		m.signIns.WithLabelValues(o)
	}
	for _, c := range sweepChanges {
		m.sweepRows.WithLabelValues(c)
	}
	return m
}

// Registry is where the series are; tests and collectors register there.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in Prometheus' text format (or OpenMetrics
// when asked). A collector that fails (a query timing out) is logged and
// left out; the other series are still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		ErrorLog:            errorLog{m.log},
		Registry:            m.reg, // promhttp_metric_handler_errors_total
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
}

type errorLog struct{ log *slog.Logger }

func (l errorLog) Println(v ...any) { l.log.Warn("metrics", "err", fmt.Sprint(v...)) }

// Methods are the HTTP methods labelled by name; any other is "other", so a
// client cannot add series by inventing methods.
var methods = map[string]bool{http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true}

// RequestStarted counts a request in flight until the returned function is
// called.
func (m *Metrics) RequestStarted() (done func()) {
	if m == nil {
		return func() {}
	}
	m.inFlight.Inc()
	return m.inFlight.Dec
}

// ObserveRequest records an answered request. route is the router's pattern
// ("/secondments/{secondmentID}"), never the path, so the series stay
// bounded; "" (no route matched) is recorded as "unmatched".
func (m *Metrics) ObserveRequest(route, method string, code int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	if !methods[method] {
		method = "other"
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Observe(d.Seconds())
}

// Transition counts one committed state change of a request.
func (m *Metrics) Transition(a secondment.Action) {
	if m == nil {
		return
	}
	m.transitions.WithLabelValues(string(a)).Inc()
}

// Transitions counts n committed state changes by action a.
func (m *Metrics) Transitions(a secondment.Action, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.transitions.WithLabelValues(string(a)).Add(float64(n))
}

// SignIn counts a sign-in attempt by outcome (SignInOK, …).
func (m *Metrics) SignIn(outcome string) {
	if m == nil {
		return
	}
	m.signIns.WithLabelValues(outcome).Inc()
}

// JobWorked records one run of a background job of kind.
func (m *Metrics) JobWorked(kind string, d time.Duration, failed bool) {
	if m == nil {
		return
	}
	m.jobDuration.WithLabelValues(kind).Observe(d.Seconds())
	if failed {
		m.jobFailures.WithLabelValues(kind).Inc()
	}
}

// NotificationDelivered records a delivery through the channel, lag after
// the notification was created.
func (m *Metrics) NotificationDelivered(lag time.Duration) {
	if m == nil {
		return
	}
	m.deliveryLag.Observe(max(lag, 0).Seconds())
}

// NotificationFailed records a failed delivery.
func (m *Metrics) NotificationFailed() {
	if m == nil {
		return
	}
	m.deliveryFail.Inc()
}

// Sweep records a sweep that took d and changed rows (by SweepRenewed, …).
func (m *Metrics) Sweep(d time.Duration, changed map[string]int) {
	if m == nil {
		return
	}
	m.sweepTime.Observe(d.Seconds())
	for c, n := range changed {
		if n > 0 {
			m.sweepRows.WithLabelValues(c).Add(float64(n))
		}
	}
}
