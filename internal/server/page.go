package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/a-h/templ"

	"secondment/internal/i18n"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
	"secondment/web"
)

// render writes a page with status 200.
func (s *Server) render(w http.ResponseWriter, r *http.Request, c templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := c.Render(r.Context(), w); err != nil {
		s.log.Error("render", "path", r.URL.Path, "err", err)
	}
}

func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	units, townships, err := s.store.UnitCount(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	people, err := s.store.PersonCount(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, web.HomePage(web.HomeView{Units: units, Townships: townships, People: people}))
}

func (s *Server) handleUnitList(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	units, err := s.store.UnitTree(ctx)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	all, err := s.store.UnitAll(ctx)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	policies, err := s.store.PolicyAll(ctx)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	h, err := secondment.NewHierarchy(all)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	today := secondment.Today(s.clock)
	juris := map[int64]web.JurisdictionView{}
	for _, u := range units {
		// A unit with no policy above it simply shows none; it is not an
		// error to list it.
		j, err := h.Jurisdiction(u.ID, policies)
		if err != nil {
			continue
		}
		v := web.JurisdictionView{OrgDept: j.OrgDept.Name}
		if p, err := j.PolicyOn(today); err == nil {
			v.Policy = p.Message()
		}
		juris[u.ID] = v
	}
	s.render(w, r, web.UnitListPage(web.UnitListView{Units: units, Jurisdictions: juris}))
}

func (s *Server) handlePersonList(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("unit")
	units, err := s.store.UnitTree(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	people, err := s.store.PersonList(r.Context(), postgres.PersonFilter{HomeUnitCode: code})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, web.PersonListPage(web.PersonListView{People: people, Units: units, UnitCode: code}))
}

// handleLangSet stores the chosen language in a cookie and goes back to
// the page the form was on (same-site paths only).
func (s *Server) handleLangSet(w http.ResponseWriter, r *http.Request) {
	lang := i18n.Match(r.PostFormValue("lang"))
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
}

// localPath accepts only a path on this site, so the form cannot be used to
// redirect elsewhere.
func localPath(p string) string {
	u, err := url.Parse(p)
	if err != nil || u.IsAbs() || u.Host != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(p, "//") || strings.Contains(p, "\\") {
		return "/"
	}
	return u.RequestURI()
}
