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
	s.renderStatus(w, r, status, web.ProxyPage(web.ProxyView{Me: u.ID, Proxies: list, Form: f}))
}

func (s *Server) handleProxyList(w http.ResponseWriter, r *http.Request) {
	s.showProxies(w, r, http.StatusOK, web.NewForm())
}

// readProxy reads the colleague and the dates of an arrangement.
func readProxy(f *web.Form) (login string, from, to secondment.Date) {
	login = strings.TrimSpace(f.Value("login"))
	for _, d := range []struct {
		field string
		dst   *secondment.Date
	}{{"starts_on", &from}, {"ends_on", &to}} {
		v, err := secondment.ParseDate(f.Value(d.field))
		if err != nil {
			f.Errors[d.field] = secondment.Msg("error.date")
			continue
		}
		*d.dst = v
	}
	return login, from, to
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
	login, from, to := readProxy(&f)
	if len(f.Errors) == 0 {
		err = s.store.ProxySet(r.Context(), u, login, from, to, s.clock.Now())
		if err == nil {
			http.Redirect(w, r, "/account/proxy", http.StatusSeeOther)
			return
		}
		if !withErrors(&f, err) {
			s.renderError(w, r, err)
			return
		}
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
		s.apiFail(w, r, err)
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
		s.apiFail(w, r, err)
		return
	}
	s.writeProxies(w, r, u.ID)
}

func (s *Server) handleAPIProxySet(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var body struct {
		Login    string `json:"login"`
		StartsOn string `json:"starts_on"`
		EndsOn   string `json:"ends_on"`
	}
	if err := readJSON(w, r, &body); err != nil {
		s.apiFail(w, r, err)
		return
	}
	f := formOf(map[string]string{"login": body.Login, "starts_on": body.StartsOn, "ends_on": body.EndsOn})
	login, from, to := readProxy(&f)
	if len(f.Errors) > 0 {
		s.apiFail(w, r, formError(f))
		return
	}
	if err := s.store.ProxySet(r.Context(), u, login, from, to, s.clock.Now()); err != nil {
		s.apiFail(w, r, err)
		return
	}
	s.writeProxies(w, r, u.ID)
}

func (s *Server) handleAPIProxyRevoke(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	id, err := pathID(r, "proxyID")
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if err := s.store.ProxyRevoke(r.Context(), u, id, s.clock.Now()); err != nil {
		s.apiFail(w, r, err)
		return
	}
	s.writeProxies(w, r, u.ID)
}
