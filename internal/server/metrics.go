package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"secondment/internal/metrics"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// handleMetrics serves the metrics on the public port, to a request with
// the metrics token only. Any other request, and every request when no
// token is configured, gets notFound, the answer of any unknown path: the
// public port does not even tell that the metrics exist. The token is
// compared by its SHA-256, in constant time, so neither its content nor its
// length leaks through timing.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request, notFound http.HandlerFunc) {
	if s.metricsToken == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) || !s.metricsAuthorized(r) {
		notFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.metricsHTTP.ServeHTTP(w, r)
}

func (s *Server) metricsAuthorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	const scheme = "bearer "
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(h[len(scheme):])))
	return subtle.ConstantTimeCompare(got[:], s.metricsToken) == 1
}

// MetricsHandler serves GET /metrics alone, without a token, for the
// separate listener (--metrics-addr): only the scraper should reach it.
// Every other path there is a 404.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metricsHTTP)
	return mux
}

// Metrics is the server's registry and series, for the jobs of the same
// process to record into and for tests.
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }

// signInOutcome is how a sign-in ended, as the metrics count it.
func signInOutcome(res postgres.SignInResult, err error) string {
	switch {
	case secondment.ErrorCodeOf(err) == secondment.EUnavailable:
		return metrics.SignInBusy
	case err != nil:
		return metrics.SignInError
	}
	switch res.Outcome {
	case postgres.SignInOK:
		return metrics.SignInOK
	case postgres.SignInThrottled:
		return metrics.SignInThrottled
	case postgres.SignInRateLimited:
		return metrics.SignInRateLimited
	}
	switch res.Reason {
	case postgres.ReasonUnknown:
		return metrics.SignInUnknown
	case postgres.ReasonDisabled:
		return metrics.SignInDisabled
	case postgres.ReasonLocked:
		return metrics.SignInLocked
	}
	return metrics.SignInBadPassword
}
