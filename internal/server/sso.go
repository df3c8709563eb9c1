package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"secondment/internal/metrics"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
	"secondment/internal/sso"
	"secondment/web"
)

// Single sign-on (docs/security.md): /signin/oidc sends the browser to the
// provider with a new flow's state, nonce and PKCE challenge, kept in the
// session (PostgreSQL, so any replica takes the callback);
// /signin/oidc/callback checks the state, has the provider's ID token
// verified, and signs in the existing account that the token's claim
// names, exactly as a password sign-in would.

// sessSSOFlows holds the sign-ins under way in this browser, as JSON: a
// few, so two tabs may each start one.
const (
	sessSSOFlows = "sso_flows"
	maxSSOFlows  = 3
)

func (s *Server) handleSSOStart(w http.ResponseWriter, r *http.Request) {
	if s.sso == nil {
		s.renderError(w, r, errNotFound)
		return
	}
	next := localPath(r.URL.Query().Get("next"))
	if _, ok := userFrom(r.Context()); ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	f, authURL, err := s.sso.Start(r.Context(), next, s.clock.Now())
	if err != nil {
		s.metrics.SignIn(metrics.SignInSSORefused)
		s.log.Warn("single sign-on: provider unavailable", "err", err)
		w.Header().Set("Retry-After", "10")
		s.ssoRefuse(w, r, http.StatusServiceUnavailable, secondment.Msg("auth.sso_unavailable"), next)
		return
	}
	if err := s.pushSSOFlow(r.Context(), f); err != nil {
		s.renderError(w, r, err)
		return
	}
	// This browser has no sign-in yet: its session row lives as long as
	// the flow may, not a day (a sign-in renews it with the full lifetime).
	// scs keeps its deadlines on the real clock.
	s.sessions.SetDeadline(r.Context(), time.Now().Add(sso.FlowLifetime+time.Minute))
	http.Redirect(w, r, authURL, http.StatusSeeOther)
}

// handleSSOCallback finishes a sign-in. Every refusal leaves no session
// and is logged; those where the provider's token itself failed, and those
// of an identity without a usable account, are audited too. A bad state
// or a refused code is logged only: anyone can send those, at any rate,
// and the audit trail is not theirs to fill.
func (s *Server) handleSSOCallback(w http.ResponseWriter, r *http.Request) {
	if s.sso == nil {
		s.renderError(w, r, errNotFound)
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	now := s.clock.Now()
	addr := s.clientAddress(r)
	f, found, err := s.popSSOFlow(ctx, q.Get("state"))
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	refuse := func(status int, msg secondment.Message, reason string, err error) {
		s.metrics.SignIn(metrics.SignInSSORefused)
		s.log.Warn("single sign-on refused", "reason", reason, "err", err, "address", addr)
		s.ssoRefuse(w, r, status, msg, f.Next)
	}
	switch {
	case !found:
		refuse(http.StatusBadRequest, secondment.Msg("auth.sso_state"), "state", fmt.Errorf("no sign-in under way with state %.8q…", q.Get("state")))
		return
	case f.Expired(now):
		refuse(http.StatusBadRequest, secondment.Msg("auth.sso_state"), "expired", fmt.Errorf("started %s", f.Started))
		return
	case q.Get("error") != "":
		refuse(http.StatusUnauthorized, secondment.Msg("auth.sso_denied"), "provider_error",
			fmt.Errorf("%.64s: %.200s", q.Get("error"), q.Get("error_description")))
		return
	case q.Get("code") == "":
		refuse(http.StatusBadRequest, secondment.Msg("auth.sso_failed"), "no_code", nil)
		return
	}
	id, err := s.sso.Finish(ctx, f, q.Get("code"))
	switch reason := sso.ReasonOf(err); {
	case err == nil:
	case reason == sso.ReasonUnavailable:
		refuse(http.StatusServiceUnavailable, secondment.Msg("auth.sso_unavailable"), string(reason), err)
		return
	case reason == sso.ReasonExchange:
		refuse(http.StatusUnauthorized, secondment.Msg("auth.sso_failed"), string(reason), err)
		return
	default:
		// The provider issued a token that fails the checks: a
		// misconfiguration (audience, claim) or a token not meant for us.
		if aerr := s.store.SignInRefused(ctx, id.Subject, map[string]any{"address": postgres.AddressKey(addr), "method": "oidc",
			"reason": string(reason), "error": err.Error()}, now); aerr != nil {
			s.log.Error("audit refused sign-in", "err", aerr)
		}
		refuse(http.StatusUnauthorized, secondment.Msg("auth.sso_failed"), string(reason), err)
		return
	}
	// Logins are lower case; providers often keep the case people typed.
	login := strings.ToLower(id.Login)
	res, err := s.store.SignInExternal(ctx, postgres.ExternalSignIn{Login: login, Method: "oidc", Address: addr,
		Detail: map[string]any{"issuer": id.Issuer, "subject": id.Subject}}, now)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if res.Outcome != postgres.SignInOK {
		refuse(http.StatusForbidden, secondment.Msg("auth.sso_no_account", "Login", id.Login), "no_account",
			fmt.Errorf("no usable account %q for subject %q", login, id.Subject))
		return
	}
	if err := s.startSession(ctx, res.User); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.metrics.SignIn(metrics.SignInSSO)
	next := f.Next
	if s.passwords {
		// A one-time or expired password still opens the account while
		// passwords sign in: it is replaced first, as after a password
		// sign-in.
		set, err := s.store.SecuritySettings(ctx)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		if s.passwordDue(res.User, set.PasswordMaxAgeDays, now) {
			next = "/account/password"
		}
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// ssoRefuse shows the sign-in page with msg; the next page is kept so a
// second try still ends where the user wanted to go.
func (s *Server) ssoRefuse(w http.ResponseWriter, r *http.Request, status int, msg secondment.Message, next string) {
	f := web.NewForm()
	f.Values["next"] = localPath(next)
	f.Summary = msg
	s.renderStatus(w, r, status, s.signInPage(f))
}

// ssoFlows are the sign-ins under way in this browser's session.
func (s *Server) ssoFlows(ctx context.Context) []sso.Flow {
	var fs []sso.Flow
	if b := s.sessions.GetString(ctx, sessSSOFlows); b != "" {
		if err := json.Unmarshal([]byte(b), &fs); err != nil {
			s.log.Warn("unreadable single sign-on flows in a session", "err", err)
			return nil
		}
	}
	return fs
}

func (s *Server) putSSOFlows(ctx context.Context, fs []sso.Flow) error {
	if len(fs) == 0 {
		s.sessions.Remove(ctx, sessSSOFlows)
		return nil
	}
	b, err := json.Marshal(fs)
	if err != nil {
		return fmt.Errorf("encode single sign-on flows: %w", err)
	}
	s.sessions.Put(ctx, sessSSOFlows, string(b))
	return nil
}

// pushSSOFlow keeps f in the session, with at most maxSSOFlows-1 of the
// earlier ones still valid.
func (s *Server) pushSSOFlow(ctx context.Context, f sso.Flow) error {
	now := s.clock.Now()
	var keep []sso.Flow
	for _, o := range s.ssoFlows(ctx) {
		if !o.Expired(now) {
			keep = append(keep, o)
		}
	}
	keep = append(keep, f)
	if len(keep) > maxSSOFlows {
		keep = keep[len(keep)-maxSSOFlows:]
	}
	return s.putSSOFlows(ctx, keep)
}

// popSSOFlow takes the flow whose state is state out of the session: a
// state is good for one callback.
func (s *Server) popSSOFlow(ctx context.Context, state string) (sso.Flow, bool, error) {
	fs := s.ssoFlows(ctx)
	for i, f := range fs {
		if state != "" && subtle.ConstantTimeCompare([]byte(f.State), []byte(state)) == 1 {
			return f, true, s.putSSOFlows(ctx, append(fs[:i:i], fs[i+1:]...))
		}
	}
	return sso.Flow{}, false, nil
}
