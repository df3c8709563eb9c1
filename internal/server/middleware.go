package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"secondment/internal/i18n"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
	"secondment/web"
)

// tagRequest gives the store the request ID, which audit events record.
func (s *Server) tagRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := postgres.WithRequestID(r.Context(), middleware.GetReqID(r.Context()))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// record writes one structured line per request, with its ID and the
// client's address, and records the request's duration in the metrics by
// route pattern (read once the router has matched it: a path would make a
// series per request).
func (s *Server) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		done := s.metrics.RequestStarted()
		defer done()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		took := time.Since(start)
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		var route string
		if rc := chi.RouteContext(r.Context()); rc != nil {
			route = rc.RoutePattern()
		}
		s.metrics.ObserveRequest(route, r.Method, status, took)
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		s.log.LogAttrs(r.Context(), level, "request",
			slog.String("request_id", middleware.GetReqID(r.Context())),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("route", route),
			slog.String("client", s.clientAddress(r)),
			slog.Int("status", status),
			slog.Int("bytes", ww.BytesWritten()),
			slog.Duration("duration", took),
		)
	})
}

// recoverPanics logs a handler's panic with its stack and shows the generic
// error page; the panic's text never reaches the user.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			s.log.Error("panic", "request_id", middleware.GetReqID(r.Context()),
				"panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
			s.renderError(w, r, fmt.Errorf("panic: %v", rec))
		}()
		next.ServeHTTP(w, r)
	})
}

// securityHeaders are sent on every response. The pages use no inline
// script or style, so the policy can be strict.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// langCookie holds the user's chosen language.
const langCookie = "lang"

// localize picks the language: the user's choice (cookie) if any, otherwise
// Simplified Chinese. The browser's Accept-Language is not used: the
// product's default is Chinese whatever the browser says.
func (s *Server) localize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := i18n.Chinese
		if c, err := r.Cookie(langCookie); err == nil {
			lang = i18n.Match(c.Value)
		}
		ctx := i18n.WithLocalizer(r.Context(), s.catalog.Localizer(lang))
		if _, ok := s.clock.(secondment.RehearsalClock); ok {
			ctx = web.WithRehearsal(ctx, secondment.Today(s.clock).String())
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// sameOrigin refuses cross-site POSTs (Go's Sec-Fetch-Site/Origin check);
// same-origin forms and API clients, which send neither header, pass. It
// runs inside the logging, header and language middleware so that a
// refusal is logged, carries the security headers and is in the user's
// language.
func (s *Server) sameOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			s.apiError(w, r, errCrossOrigin)
			return
		}
		s.renderError(w, r, errCrossOrigin)
	}))
	return cop.Handler(next)
}
