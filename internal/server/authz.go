package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"secondment/internal/auth"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
	"secondment/web"
)

// rule is what a route needs. Every route is registered with one (see
// handle), so the whole access policy is the route table in routes.go and
// a route without a rule cannot exist.
type rule struct {
	public bool        // anyone, signed in or not
	roles  []auth.Role // any of these; none: any signed-in user
}

var (
	public   = rule{public: true}
	signedIn = rule{}
)

func anyOf(roles ...auth.Role) rule { return rule{roles: roles} }

// chainRoles are the roles that work with units' data.
var chainRoles = []auth.Role{auth.RoleBorrower, auth.RoleLender, auth.RoleOrgDept, auth.RoleRegistrar}

// handle registers h for method and the full path pattern, guarded by ru.
func (s *Server) handle(r chi.Router, method, pattern string, ru rule, h http.HandlerFunc) {
	s.rules[method+" "+pattern] = ru
	r.Method(method, pattern, s.guard(ru, strings.HasPrefix(pattern, "/api/"), h))
}

// Rules returns the access rule of every registered route, as "METHOD
// /pattern" → roles ("public" and "signed-in" for the two special rules).
// The authorization matrix test compares it with its own expectations.
func (s *Server) Rules() map[string][]string {
	if len(s.rules) == 0 {
		s.Router() // registering the routes records their rules
	}
	out := map[string][]string{}
	for k, ru := range s.rules {
		switch {
		case ru.public:
			out[k] = []string{"public"}
		case len(ru.roles) == 0:
			out[k] = []string{"signed-in"}
		default:
			for _, r := range ru.roles {
				out[k] = append(out[k], string(r))
			}
		}
	}
	return out
}

var (
	errSignInRequired = &secondment.Error{Code: secondment.EForbidden, Message: secondment.Msg("auth.sign_in_required")}
	errRoleRequired   = &secondment.Error{Code: secondment.EForbidden, Message: secondment.Msg("error.forbidden")}
	errPasswordChange = &secondment.Error{Code: secondment.EForbidden, Message: secondment.Msg("auth.password_change_required")}
	errTokenScope     = &secondment.Error{Code: secondment.EForbidden, Message: secondment.Msg("error.token_scope")}
)

func (s *Server) guard(ru rule, api bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ru.public {
			h(w, r)
			return
		}
		u, ok := userFrom(r.Context())
		if !ok {
			if api {
				w.Header().Set("WWW-Authenticate", `Bearer realm="secondment"`)
				s.failStatus(w, r, http.StatusUnauthorized, errSignInRequired)
				return
			}
			next := r.URL.RequestURI()
			if r.Method != http.MethodGet {
				next = "/"
			}
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		// Until a one-time or expired password is replaced, the account can
		// do nothing but replace it (or sign out).
		if mustChangePassword(r.Context()) && !passwordExempt[r.URL.Path] {
			if api {
				s.apiError(w, r, errPasswordChange)
				return
			}
			http.Redirect(w, r, "/account/password", http.StatusSeeOther)
			return
		}
		if len(ru.roles) > 0 && !u.HasAny(ru.roles...) {
			if api {
				s.apiError(w, r, errRoleRequired)
			} else {
				s.renderError(w, r, errRoleRequired)
			}
			return
		}
		h(w, r)
	}
}

// passwordExempt are the pages a user who must change the password may use.
var passwordExempt = map[string]bool{"/account/password": true, "/signout": true}

type userKey struct{}
type mustChangeKey struct{}

func withUser(ctx context.Context, u auth.User, mustChange bool) context.Context {
	v := web.Viewer{SignedIn: true, Name: u.Name, UnitName: u.UnitName}
	for _, r := range u.Roles {
		v.Roles = append(v.Roles, string(r))
	}
	ctx = web.WithViewer(ctx, v)
	ctx = context.WithValue(ctx, userKey{}, u)
	return context.WithValue(ctx, mustChangeKey{}, mustChange)
}

func userFrom(ctx context.Context) (auth.User, bool) {
	u, ok := ctx.Value(userKey{}).(auth.User)
	return u, ok
}

func mustChangePassword(ctx context.Context) bool {
	b, _ := ctx.Value(mustChangeKey{}).(bool)
	return b
}

// Session keys. Times are Unix seconds from the server's clock, so tests
// can move time and watch sessions end.
const (
	sessUser   = "uid"
	sessAuthAt = "auth_at"
	sessSeenAt = "seen_at"
)

// seenResolution is how stale "last seen" may get before it is written
// again; without it every request would rewrite the session row.
const seenResolution = time.Minute

// authenticate finds who is calling: a Bearer token on the API, else the
// session. It ends sessions past their idle or absolute timeout and those
// of disabled accounts.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		now := s.clock.Now()
		if h := r.Header.Get("Authorization"); h != "" && strings.HasPrefix(r.URL.Path, "/api/") {
			token, ok := strings.CutPrefix(h, "Bearer ")
			if !ok || !auth.LooksLikeToken(token) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="secondment", error="invalid_token"`)
				s.failStatus(w, r, http.StatusUnauthorized, errSignInRequired)
				return
			}
			u, scope, must, err := s.tokenUser(ctx, token, now)
			if err != nil {
				if secondment.ErrorCodeOf(err) != secondment.ENotFound {
					s.fail(w, r, err)
					return
				}
				w.Header().Set("WWW-Authenticate", `Bearer realm="secondment", error="invalid_token"`)
				s.failStatus(w, r, http.StatusUnauthorized, errSignInRequired)
				return
			}
			// A read token reads: any other method is refused before a
			// handler sees it (RFC 6750's insufficient_scope).
			if scope == auth.ScopeRead && r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("WWW-Authenticate", `Bearer realm="secondment", error="insufficient_scope", scope="act"`)
				s.failStatus(w, r, http.StatusForbidden, errTokenScope)
				return
			}
			next.ServeHTTP(w, r.WithContext(withUser(ctx, u, must)))
			return
		}

		id := s.sessions.GetInt64(ctx, sessUser)
		if id == 0 {
			next.ServeHTTP(w, r)
			return
		}
		// One statement: the user, the session limits, whether they stand
		// in for anyone, the unread badge.
		sa, err := s.store.SessionUser(ctx, id, secondment.DateOf(now))
		u := sa.User
		authAt := time.Unix(s.sessions.GetInt64(ctx, sessAuthAt), 0)
		seenAt := time.Unix(s.sessions.GetInt64(ctx, sessSeenAt), 0)
		var why string
		switch {
		case err != nil && secondment.ErrorCodeOf(err) != secondment.ENotFound:
			s.renderError(w, r, err)
			return
		case err != nil, u.Disabled:
			why = "account disabled"
		case now.Sub(authAt) > sa.AbsoluteTimeout:
			why = "absolute timeout"
		case now.Sub(seenAt) > sa.IdleTimeout:
			why = "idle timeout"
		case authAt.Unix() < u.PasswordChangedAt.Unix():
			// The password changed after this sign-in (a reset, or a
			// change in another browser): every older session ends.
			why = "password changed"
		}
		if why != "" {
			if err == nil {
				if aerr := s.store.SignOut(ctx, u, now, why); aerr != nil {
					s.log.Error("audit sign-out", "err", aerr)
				}
			}
			if err := s.sessions.Destroy(ctx); err != nil {
				s.renderError(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if now.Sub(seenAt) >= seenResolution {
			s.sessions.Put(ctx, sessSeenAt, now.Unix())
		}
		must := s.passwordDue(u, sa.PasswordMaxAgeDays, now)
		if sa.ActsForSomeone {
			if u.ActingFor, err = s.store.ProxyPrincipals(ctx, u.ID, secondment.DateOf(now)); err != nil {
				s.renderError(w, r, err)
				return
			}
		}
		ctx = withUser(ctx, u, must)
		v := web.ViewerFrom(ctx)
		v.Unread, v.UnreadMore = sa.Unread, sa.Unread >= postgres.UnreadMax
		if v.UnreadMore {
			v.Unread = postgres.UnreadMax - 1 // "99+"
		}
		ctx = web.WithViewer(ctx, v)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// tokenUseResolution is how stale a token's "last used" may get before it
// is written again: an API call then writes nothing of its own.
const tokenUseResolution = time.Minute

// tokenUser is the owner of an API token, in one statement (with the
// colleagues they stand in for only when there are any), and whether they
// must change their password first: a token works for its owner only while
// the owner could work, not while a one-time or expired password waits to
// be replaced.
func (s *Server) tokenUser(ctx context.Context, token string, now time.Time) (auth.User, auth.TokenScope, bool, error) {
	a, err := s.store.TokenUser(ctx, auth.HashToken(token), now)
	if err != nil {
		return auth.User{}, "", false, err
	}
	u := a.User
	if a.ActsForSomeone {
		if u.ActingFor, err = s.store.ProxyPrincipals(ctx, u.ID, secondment.DateOf(now)); err != nil {
			return u, "", false, err
		}
	}
	if now.Sub(a.LastUsedAt) >= tokenUseResolution {
		if err := s.store.TokenTouch(ctx, a.TokenID, now); err != nil {
			return u, "", false, err
		}
	}
	return u, a.Scope, s.passwordDue(u, a.PasswordMaxAgeDays, now), nil
}

// passwordDue reports whether u must replace a one-time or expired
// password before anything else. Only while passwords sign in: with
// single sign-on alone the password opens nothing, and making people
// change it would be a chore without a purpose.
func (s *Server) passwordDue(u auth.User, maxAgeDays int, now time.Time) bool {
	return s.passwords && (u.MustChangePassword || u.PasswordExpired(maxAgeDays, now))
}

// startSession signs u in on this browser: a new session ID (so a token
// planted before sign-in is worthless), and the clock's time.
func (s *Server) startSession(ctx context.Context, u auth.User) error {
	if err := s.sessions.RenewToken(ctx); err != nil {
		return err
	}
	now := s.clock.Now().Unix()
	s.sessions.Put(ctx, sessUser, u.ID)
	s.sessions.Put(ctx, sessAuthAt, now)
	s.sessions.Put(ctx, sessSeenAt, now)
	return nil
}

// scopeOf is the set of units the signed-in user may see, with the unit
// tree it was cut from.
func (s *Server) scopeOf(ctx context.Context, u auth.User) (auth.Scope, *secondment.Hierarchy, error) {
	h, _, err := s.app.Hierarchy(ctx)
	if err != nil {
		return auth.Scope{}, nil, err
	}
	return auth.ScopeOf(u, h), h, nil
}

var errNoUser = errors.New("no signed-in user in a guarded handler")

// currentUser is the signed-in user of a guarded handler.
func currentUser(r *http.Request) (auth.User, error) {
	u, ok := userFrom(r.Context())
	if !ok {
		return u, errNoUser
	}
	return u, nil
}
