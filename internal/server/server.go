// Package server is the HTTP layer: routes, middleware, and thin handlers
// that turn requests into store calls and store results into pages or JSON.
package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"secondment/internal/approval"
	"secondment/internal/auth"
	"secondment/internal/i18n"
	"secondment/internal/metrics"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
	"secondment/internal/sso"
	"secondment/web"
)

// Server holds what handlers need. It keeps no request state: any number
// of replicas can run behind a load balancer.
type Server struct {
	app      *approval.Service
	store    *postgres.Store
	catalog  *i18n.Catalog
	log      *slog.Logger
	clock    secondment.Clock
	hasher   auth.Hasher
	hashing  *auth.Slots // at most this many password hashes at once
	sessions *scs.SessionManager
	rules    map[string]rule
	version  string
	// sso is the single sign-on provider (nil: none), ssoName its name on
	// the sign-in button; passwords is whether local passwords sign in.
	sso       *sso.Provider
	ssoName   string
	passwords bool
	// requestTimeout bounds each request (deadline).
	requestTimeout time.Duration
	// uploads are the slots of large bodies (boundUploads); uploadPeak
	// the most taken at once.
	uploads             chan struct{}
	uploading, uploadPk atomic.Int32
	// metrics are the server's series; metricsToken the SHA-256 of the
	// bearer token that opens them on the public port (nil: closed).
	metrics      *metrics.Metrics
	metricsHTTP  http.Handler
	metricsToken []byte
	// proxies are the trusted reverse proxies (clientAddress).
	proxies []netip.Prefix
}

// Deps are the server's collaborators.
type Deps struct {
	Store   *postgres.Store
	Catalog *i18n.Catalog
	Logger  *slog.Logger
	Clock   secondment.Clock // "now" for every date decision; the system clock if nil
	Hasher  auth.Hasher      // password hashing; auth.DefaultHasher if zero
	// SecureCookies marks cookies Secure: set it whenever users reach the
	// service over HTTPS (behind a TLS-terminating proxy, too).
	SecureCookies bool
	Version       string
	// HashSlots bounds the password hashes running at once (argon2id's
	// memory); 0: one per CPU the Go runtime uses (GOMAXPROCS).
	HashSlots int
	// RequestTimeout bounds each request's work (a frozen database must
	// not hang it); DefaultRequestTimeout if zero.
	RequestTimeout time.Duration
	// UploadSlots bounds the requests with a large body (a letter) read
	// at once, so memory is bounded whatever the number of clients
	// uploading; DefaultUploadSlots if zero.
	UploadSlots int
	// SSO signs people in through an OpenID Connect provider; nil: no
	// single sign-on. SSOName is its name on the sign-in button ("": the
	// catalog's 统一身份认证).
	SSO     *sso.Provider
	SSOName string
	// NoPasswordSignIn switches local passwords off (SSO must be set): the
	// sign-in page has no password form, a password sent is refused, and
	// no password has to be changed. API tokens keep working.
	NoPasswordSignIn bool
	// Metrics is where the server, its use cases and the jobs record;
	// nil: the server makes its own registry and watches the store's
	// database (the pool, the queue, the sweeps). A caller that passes
	// one calls its WatchDatabase itself.
	Metrics *metrics.Metrics
	// MetricsToken, when set, serves /metrics on the public handler to
	// requests with "Authorization: Bearer MetricsToken"; otherwise, and
	// for any other request, /metrics is a 404 there.
	MetricsToken string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (clientAddress); none: the peer is the client.
	TrustedProxies []netip.Prefix
}

// DefaultUploadSlots is how many large bodies are read at once. Each may
// hold a 10 MB letter, its base64 and its decoded image: four stay under
// 200 MB (twenty parallel 19.6 MB posts took the service to 1 GB).
const DefaultUploadSlots = 4

// New builds a server.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Clock == nil {
		d.Clock = secondment.SystemClock{}
	}
	if d.Hasher.Params == nil {
		d.Hasher = auth.DefaultHasher
	}
	if d.HashSlots <= 0 {
		d.HashSlots = runtime.GOMAXPROCS(0)
	}
	sm := scs.New()
	if d.Store != nil {
		sm.Store = newSessionStore(d.Store.Pool)
	}
	// scs's own lifetime is the widest the sign-in policy allows; the
	// policy's (configurable) timeouts are enforced by authenticate with
	// the injected clock, which records when a session was last seen at
	// most once a minute. scs's own idle timeout stays off: with it, scs
	// rewrites the session row on every request to move its expiry, a
	// committed write per page view (77 ms a page for 64 clients of one
	// session in the lists benchmark, waiting on that row's lock).
	sm.Lifetime = 24 * time.Hour
	sm.Cookie.Name = "secondment_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = d.SecureCookies
	sm.Cookie.Persist = false
	if d.RequestTimeout <= 0 {
		d.RequestTimeout = DefaultRequestTimeout
	}
	if d.UploadSlots <= 0 {
		d.UploadSlots = DefaultUploadSlots
	}
	if d.Metrics == nil {
		d.Metrics = metrics.New(d.Version, d.Logger)
		if d.Store != nil {
			if err := d.Metrics.WatchDatabase(d.Store.Pool, metrics.WatchOptions{}); err != nil {
				d.Logger.Error("metrics", "err", err)
			}
		}
	}
	srv := &Server{app: approval.New(d.Store, d.Clock), store: d.Store, catalog: d.Catalog, log: d.Logger, clock: d.Clock, hasher: d.Hasher,
		hashing: auth.NewSlots(d.HashSlots), uploads: make(chan struct{}, d.UploadSlots), sessions: sm, rules: map[string]rule{}, version: d.Version, requestTimeout: d.RequestTimeout,
		sso: d.SSO, ssoName: d.SSOName, passwords: !d.NoPasswordSignIn || d.SSO == nil,
		metrics: d.Metrics, metricsHTTP: d.Metrics.Handler(), proxies: d.TrustedProxies}
	if d.MetricsToken != "" {
		h := sha256.Sum256([]byte(d.MetricsToken))
		srv.metricsToken = h[:]
	}
	srv.app.Observe(d.Metrics.Transition)
	// A session store that cannot reach the database answers as every
	// other failure does (503 while it is away), not with scs's bare 500.
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) { srv.fail(w, r, err) }
	return srv
}

// hashWait is how long a password check queues for a hashing slot before
// the caller is asked to come back.
const hashWait = 15 * time.Second

// withHashSlot runs fn, which hashes or verifies a password, in one of the
// bounded hashing slots.
func (s *Server) withHashSlot(ctx context.Context, fn func() error) error {
	ctx, cancel := context.WithTimeout(ctx, hashWait)
	defer cancel()
	release, err := s.hashing.Acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	return fn()
}

// bigBody is the size past which a request body takes an upload slot; a
// body of unknown length (chunked) takes one too.
const bigBody = 1 << 20

// uploadWait is how long a large body queues for a slot before its sender
// is asked to come back (503 with Retry-After), well within the request's
// deadline.
const uploadWait = 10 * time.Second

// boundUploads lets at most the upload slots' number of large bodies be
// read at once; the others wait their turn, or are told to retry.
func (s *Server) boundUploads(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || (r.ContentLength >= 0 && r.ContentLength <= bigBody) {
			next.ServeHTTP(w, r)
			return
		}
		t := time.NewTimer(uploadWait)
		defer t.Stop()
		select {
		case s.uploads <- struct{}{}:
		case <-t.C:
			s.fail(w, r, &secondment.Error{Code: secondment.EUnavailable, Message: secondment.Msg("error.uploads_busy"),
				RetryAfter: 5 * time.Second, Err: errors.New("no upload slot")})
			return
		case <-r.Context().Done():
			return
		}
		n := s.uploading.Add(1)
		for p := s.uploadPk.Load(); n > p && !s.uploadPk.CompareAndSwap(p, n); p = s.uploadPk.Load() {
		}
		defer func() { s.uploading.Add(-1); <-s.uploads }()
		next.ServeHTTP(w, r)
	})
}

// UploadPeak is the most large bodies read at once so far (for tests and
// operators: it never exceeds the slots).
func (s *Server) UploadPeak() int { return int(s.uploadPk.Load()) }

// HashPeak is the most password hashes that ran at once (for tests and
// operators: it never exceeds the slots).
func (s *Server) HashPeak() int { return s.hashing.Peak() }

// Handler is the whole HTTP surface.
func (s *Server) Handler() http.Handler {
	return s.Router()
}

// Router is every route, for Handler and for tests that walk the routes.
// Each route is registered with the rule it needs (routes.go).
func (s *Server) Router() chi.Router {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, s.tagRequest, s.record, s.recoverPanics, securityHeaders, s.deadline, s.localize, s.sameOrigin, s.checkInput, s.boundUploads)

	r.Get("/healthz", s.handleHealthz)
	r.Get("/readyz", s.handleReadyz)
	// Not a page: no session, and no rule of the route table. Without the
	// metrics token it is the same 404 as any unknown path, whatever the
	// method (a 405 would tell that it exists; metrics.go).
	r.HandleFunc("/metrics", func(w http.ResponseWriter, req *http.Request) { s.handleMetrics(w, req, r.NotFoundHandler()) })
	r.Get("/static/{hash}/*", handleStatic)
	r.Get("/favicon.ico", handleFavicon)

	r.Group(func(r chi.Router) {
		r.Use(s.sessions.LoadAndSave, s.authenticate)
		s.routes(r)
		r.NotFound(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/api/") {
				s.apiError(w, r, errNotFound)
				return
			}
			s.renderError(w, r, errNotFound)
		})
		r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/api/") {
				s.apiError(w, r, errMethod)
				return
			}
			s.renderError(w, r, errMethod)
		})
	})
	return r
}

// Timeouts bound each connection so slow clients cannot hold the server.
var (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 60 * time.Second
	IdleTimeout       = 120 * time.Second
	ShutdownTimeout   = 20 * time.Second
)

// Serve serves h on ln until ctx ends, then shuts down gracefully: it stops
// accepting, lets requests in flight finish (up to ShutdownTimeout), and
// returns.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down http server: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	return nil
}

// handleStatic serves embedded assets. A URL whose hash is current is
// cached for a year; an old hash (a page from before a deploy) still gets
// the current file, but uncached.
func handleStatic(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "*")
	cur, ok := web.AssetHash(name)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if chi.URLParam(r, "hash") == cur {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	http.ServeFileFS(w, r, web.Static, name)
}

// handleFavicon answers the browsers that ask /favicon.ico whatever the
// page's link says (it was a 404 on every page).
func handleFavicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Header().Set("Content-Type", "image/svg+xml")
	http.ServeFileFS(w, r, web.Static, "favicon.svg")
}

// deadline bounds each request's work by the server's request timeout.
func (s *Server) deadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.requestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
