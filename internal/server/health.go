package server

import (
	"context"
	"net/http"
	"net/http/pprof"
	"time"
)

// handleHealthz says the process is alive; it touches nothing else, so a
// database outage does not get healthy replicas restarted.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// handleReadyz says whether this replica should get traffic: the database
// answers and its schema is the one this binary expects.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	st, err := s.store.Schema(ctx)
	switch {
	case err != nil:
		s.log.Warn("readyz: database", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("database unreachable\n"))
	case !st.Ready():
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("schema not current\n"))
	default:
		_, _ = w.Write([]byte("ready\n"))
	}
}

// DebugHandler serves Go's runtime profiles (net/http/pprof). It is meant
// for a separate loopback listener (--debug-addr), never the public one.
func DebugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
