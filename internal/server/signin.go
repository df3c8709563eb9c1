package server

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/a-h/templ"

	"secondment/internal/postgres"
	"secondment/internal/secondment"
	"secondment/web"
)

func (s *Server) handleSignInForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := userFrom(r.Context()); ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	f := web.NewForm()
	f.Values["next"] = localPath(r.URL.Query().Get("next"))
	s.render(w, r, s.signInPage(f))
}

// signInPage is the sign-in page with f: the password form while
// passwords sign in, the single sign-on button when there is a provider.
func (s *Server) signInPage(f web.Form) templ.Component {
	v := web.SignInView{Form: f, Passwords: s.passwords, SSOName: s.ssoName}
	if s.sso != nil {
		v.SSOURL = "/signin/oidc"
		if next := localPath(f.Value("next")); next != "/" {
			v.SSOURL += "?next=" + url.QueryEscape(next)
		}
	}
	return web.SignInPage(v)
}

// handleSignIn checks the login. Every failure gets the same words, so the
// page never tells whether an account exists or is locked.
func (s *Server) handleSignIn(w http.ResponseWriter, r *http.Request) {
	f, err := readForm(w, r, "login", "password", "next")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if !s.passwords {
		// Switched off: refused before anything is looked up or hashed,
		// and not counted against the login, which nobody can guess here.
		s.log.Info("password sign-in refused: switched off", "address", s.clientAddress(r))
		f.Values["password"] = ""
		f.Summary = secondment.Msg("auth.password_off")
		s.renderStatus(w, r, http.StatusForbidden, s.signInPage(f))
		return
	}
	password := r.PostForm.Get("password") // untrimmed: spaces may be part of it
	f.Values["password"] = ""
	set, err := s.store.SecuritySettings(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	slot := func(verify func() error) error { return s.withHashSlot(r.Context(), verify) }
	res, err := s.store.SignIn(r.Context(), f.Value("login"), password, s.clientAddress(r), set, s.clock.Now(), slot)
	s.metrics.SignIn(signInOutcome(res, err))
	u := res.User
	if secondment.ErrorCodeOf(err) == secondment.EUnavailable {
		f.Summary = secondment.Msg("auth.busy")
		setRetryAfter(w, err)
		s.renderStatus(w, r, status(err, false), s.signInPage(f))
		return
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	switch res.Outcome {
	case postgres.SignInThrottled:
		secs := int((res.Wait + time.Second - 1) / time.Second)
		f.Summary = throttledMessage(secs)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.renderStatus(w, r, http.StatusTooManyRequests, s.signInPage(f))
		return
	case postgres.SignInRateLimited:
		secs := int((res.Wait + time.Second - 1) / time.Second)
		f.Summary = secondment.Msg("auth.rate_limited", "Wait", waitWords(secs))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.renderStatus(w, r, http.StatusTooManyRequests, s.signInPage(f))
		return
	case postgres.SignInFailed:
		f.Summary = secondment.Msg("auth.failed")
		s.renderStatus(w, r, http.StatusUnauthorized, s.signInPage(f))
		return
	}
	if err := s.startSession(r.Context(), u); err != nil {
		s.renderError(w, r, err)
		return
	}
	next := localPath(f.Value("next"))
	if u.MustChangePassword || u.PasswordExpired(set.PasswordMaxAgeDays, s.clock.Now()) {
		next = "/account/password"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) handleSignOut(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if err := s.store.SignOut(r.Context(), u, s.clock.Now(), "signed out"); err != nil {
		s.renderError(w, r, err)
		return
	}
	// Destroy deletes the session row at once: the cookie is worthless even
	// if copied before.
	if err := s.sessions.Destroy(r.Context()); err != nil {
		s.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// throttledMessage says how long to wait.
func throttledMessage(secs int) secondment.Message {
	return secondment.Msg("auth.throttled", "Wait", waitWords(secs))
}

// waitWords is a wait in words: seconds under a minute, else whole
// minutes rounded up.
func waitWords(secs int) secondment.Message {
	if secs < 60 {
		return secondment.Msg("duration.seconds", "N", secs)
	}
	return secondment.Msg("duration.minutes", "M", (secs+59)/60)
}
