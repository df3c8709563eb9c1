package server

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/go-chi/chi/v5"

	"secondment/internal/auth"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
	"secondment/web"
)

func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, web.AccountPage(web.AccountView{User: u, Done: r.URL.Query().Get("done"), Passwords: s.passwords}))
}

func (s *Server) handlePasswordForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, web.PasswordPage(web.PasswordView{Form: web.NewForm(), Required: mustChangePassword(r.Context())}))
}

// handlePasswordChange replaces the user's own password: the current one
// proves it is them, the new one must pass the policy.
func (s *Server) handlePasswordChange(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f, err := readForm(w, r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	current, next, confirm := r.PostForm.Get("current"), r.PostForm.Get("password"), r.PostForm.Get("confirm")
	view := web.PasswordView{Form: f, Required: mustChangePassword(ctx)}
	refuse := func(field, msg string) {
		f.Errors[field] = secondment.Msg(msg)
		f.Summary = secondment.Msg("error.invalid")
		s.renderStatus(w, r, http.StatusUnprocessableEntity, web.PasswordPage(view))
	}
	hash, err := s.store.UserPasswordHash(ctx, u.ID)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	var ok bool
	if err := s.withHashSlot(ctx, func() (err error) { ok, err = auth.Verify(current, hash); return err }); err != nil {
		s.renderError(w, r, err)
		return
	} else if !ok {
		refuse("current", "account.error.current_password")
		return
	}
	set, err := s.store.SecuritySettings(ctx)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if err := set.Password.Check(next, auth.PasswordContext{Login: u.Login, Name: u.Name, UnitName: u.UnitName}); err != nil {
		if !withErrors(&f, err) {
			s.renderError(w, r, err)
			return
		}
		s.renderStatus(w, r, http.StatusUnprocessableEntity, web.PasswordPage(view))
		return
	}
	if next == current {
		refuse("password", "account.error.password_same")
		return
	}
	if next != confirm {
		refuse("confirm", "account.error.password_confirm")
		return
	}
	var newHash string
	if err := s.withHashSlot(ctx, func() (err error) { newHash, err = s.hasher.Hash(next); return err }); err != nil {
		s.renderError(w, r, err)
		return
	}
	if err := s.store.UserSetPassword(ctx, postgres.Actor{ID: u.ID, Name: u.Name}, u.ID, newHash, false, s.clock.Now()); err != nil {
		s.renderError(w, r, err)
		return
	}
	u.MustChangePassword = false
	if err := s.startSession(ctx, u); err != nil { // a new session ID with the new password
		s.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, "/account?done=password", http.StatusSeeOther)
}

func (s *Server) tokenView(r *http.Request, u auth.User, f web.Form, created string) (web.TokenView, error) {
	tokens, err := s.store.TokenList(r.Context(), u.ID)
	if f.Value("scope") == "" {
		f.Values["scope"] = string(auth.ScopeRead) // the least a script needs, unless it must act
	}
	if f.Value("days") == "" {
		f.Values["days"] = strconv.Itoa(auth.DefaultTokenDays)
	}
	return web.TokenView{Tokens: tokens, Form: f, Created: created, Now: s.clock.Now()}, err
}

func (s *Server) handleTokenList(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v, err := s.tokenView(r, u, web.NewForm(), "")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, web.TokenPage(v))
}

// handleTokenCreate makes a token and shows it this once; only its hash is
// kept.
func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f, err := readForm(w, r, "name", "scope", "days")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	name := f.Value("name")
	if n := len([]rune(name)); n < 1 || n > 50 {
		f.Errors["name"] = secondment.Msg("error.length", "Min", 1, "Max", 50)
	}
	scope := auth.TokenScope(f.Value("scope"))
	if scope != auth.ScopeRead && scope != auth.ScopeAct {
		f.Errors["scope"] = secondment.Msg("token.error.scope")
	}
	days, err := strconv.Atoi(f.Value("days"))
	if err != nil || !slices.Contains(auth.TokenLifetimes, days) {
		f.Errors["days"] = secondment.Msg("token.error.days")
	}
	if len(f.Errors) > 0 {
		f.Summary = secondment.Msg("error.invalid")
		v, err := s.tokenView(r, u, f, "")
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		s.renderStatus(w, r, http.StatusUnprocessableEntity, web.TokenPage(v))
		return
	}
	token, hash := auth.NewToken()
	now := s.clock.Now()
	if _, err := s.store.TokenCreate(r.Context(), u, name, scope, hash, now, now.AddDate(0, 0, days)); err != nil {
		s.renderError(w, r, err)
		return
	}
	v, err := s.tokenView(r, u, web.NewForm(), token)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, web.TokenPage(v))
}

func (s *Server) handleTokenRevoke(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	id, err := pathID(r, "tokenID")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if err := s.store.TokenRevoke(r.Context(), u, id, s.clock.Now()); err != nil {
		s.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, "/account/tokens", http.StatusSeeOther)
}

// pathID reads a numeric path parameter; anything else is a 404.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, name), 10, 64)
	if err != nil || id <= 0 {
		return 0, secondment.NotFound(name)
	}
	return id, nil
}
