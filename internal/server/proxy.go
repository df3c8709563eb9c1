package server

import (
	"net/http"
	"strings"

	"secondment/internal/secondment"
	"secondment/web"
)

func (s *Server) showProxies(w http.ResponseWriter, r *http.Request, status int, f web.Form) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	list, err := s.store.ProxyList(r.Context(), u.ID)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	choices, err := s.app.ProxyChoices(r.Context(), u)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.renderStatus(w, r, status, web.ProxyPage(web.ProxyView{Me: u.ID, Proxies: list, Form: f, Choices: choices}))
}

func (s *Server) handleProxyList(w http.ResponseWriter, r *http.Request) {
	s.showProxies(w, r, http.StatusOK, web.NewForm())
}

// proxyDates reads the dates of an arrangement, as a page's form or an API
// call brings them; a bad one is a field error.
func proxyDates(startsOn, endsOn string) (from, to secondment.Date, err error) {
	e := &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid")}
	for _, d := range []struct {
		field, v string
		dst      *secondment.Date
	}{{"starts_on", startsOn, &from}, {"ends_on", endsOn, &to}} {
		v, perr := secondment.ParseDate(strings.TrimSpace(d.v))
		if perr != nil {
			e.Fields = append(e.Fields, secondment.FieldError{Field: d.field, Message: secondment.Msg("error.date")})
			continue
		}
		*d.dst = v
	}
	if len(e.Fields) > 0 {
		return from, to, e
	}
	return from, to, nil
}

// handleProxySet names a colleague to act for the user while away.
func (s *Server) handleProxySet(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f, err := readForm(w, r, "login", "starts_on", "ends_on")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	from, to, err := proxyDates(f.Value("starts_on"), f.Value("ends_on"))
	if err == nil {
		err = s.store.ProxySet(r.Context(), u, strings.TrimSpace(f.Value("login")), from, to, s.clock.Now())
	}
	if err == nil {
		http.Redirect(w, r, "/account/proxy", http.StatusSeeOther)
		return
	}
	if !withErrors(&f, err) {
		s.renderError(w, r, err)
		return
	}
	f.Summary = secondment.Msg("error.invalid")
	s.showProxies(w, r, http.StatusUnprocessableEntity, f)
}

func (s *Server) handleProxyRevoke(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	id, err := pathID(r, "proxyID")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if err := s.store.ProxyRevoke(r.Context(), u, id, s.clock.Now()); err != nil {
		s.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, "/account/proxy", http.StatusSeeOther)
}

// apiProxy is an arrangement as the API shows it.
type apiProxy struct {
	ID        int64  `json:"id"`
	Principal string `json:"principal"`
	Proxy     string `json:"proxy"`
	StartsOn  string `json:"starts_on"`
	EndsOn    string `json:"ends_on"`
	Revoked   bool   `json:"revoked"`
}

func (s *Server) writeProxies(w http.ResponseWriter, r *http.Request, userID int64) {
	list, err := s.store.ProxyList(r.Context(), userID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]apiProxy, 0, len(list))
	for _, p := range list {
		out = append(out, apiProxy{ID: p.ID, Principal: p.Principal.Login, Proxy: p.Proxy.Login,
			StartsOn: p.StartsOn.String(), EndsOn: p.EndsOn.String(), Revoked: p.Revoked})
	}
	writeJSON(w, map[string]any{"proxies": out})
}

func (s *Server) handleAPIProxyList(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeProxies(w, r, u.ID)
}

func (s *Server) handleAPIProxySet(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var body struct {
		Login    string `json:"login"`
		StartsOn string `json:"starts_on"`
		EndsOn   string `json:"ends_on"`
	}
	if err := readJSON(w, r, &body); err != nil {
		s.fail(w, r, err)
		return
	}
	from, to, err := proxyDates(body.StartsOn, body.EndsOn)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.store.ProxySet(r.Context(), u, strings.TrimSpace(body.Login), from, to, s.clock.Now()); err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeProxies(w, r, u.ID)
}

func (s *Server) handleAPIProxyRevoke(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := pathID(r, "proxyID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.store.ProxyRevoke(r.Context(), u, id, s.clock.Now()); err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeProxies(w, r, u.ID)
}
