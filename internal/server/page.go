package server

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/a-h/templ"

	"secondment/internal/approval"
	"secondment/internal/auth"
	"secondment/internal/i18n"
	"secondment/internal/secondment"
	"secondment/web"
)

// render writes a page with status 200.
func (s *Server) render(w http.ResponseWriter, r *http.Request, c templ.Component) {
	s.renderStatus(w, r, http.StatusOK, c)
}

// pageBuffers hold pages being rendered.
var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledPage is the largest buffer kept for the next page: a rare huge
// page is not held on to.
const maxPooledPage = 1 << 20

// renderStatus writes a page with the given status (422 for a form shown
// again with its problems).
//
// The page is rendered whole before a byte is sent, so a page that fails
// half-way is the error page (a 500 with the request ID), never half a
// page under a 200; and the page goes out in one write with its length,
// not as a chunk for every 4 KB the response's buffer fills (a tenth of
// the server's time on an inbox page).
func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	buf := pageBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledPage {
			pageBuffers.Put(buf)
		}
	}()
	w.Header().Set("Cache-Control", "no-store")
	if err := c.Render(r.Context(), buf); err != nil {
		// The one error responder: the error page with the request ID,
		// a client gone away or a request past its time told apart.
		s.fail(w, r, fmt.Errorf("render %s: %w", r.URL.Path, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // a client gone away is not the server's error
}

func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v := web.HomeView{}
	if u.HasAny(append(chainRoles, auth.RoleSysAdmin)...) {
		units, err := s.visibleUnits(r, u)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		people, err := s.app.PeopleCount(r.Context(), u)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		v.ShowCounts, v.Units, v.People = true, len(units), people
		for _, n := range units {
			if n.Level == secondment.LevelTownship {
				v.Townships++
			}
		}
	}
	if u.HasAny(chainRoles...) {
		if v.Ledger, err = s.ledgerFigures(r, u); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	if u.HasAny(chainRoles...) {
		if v.Rects, err = s.rectFigures(r, u); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	if u.Has(auth.RoleLender) {
		b, err := s.app.Burden(r.Context(), u)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		v.Burden = &web.BurdenCard{Unit: b.Unit.Name, Away: b.Burden.Away, Headcount: b.Burden.Headcount,
			Percent: secondment.Percent(b.Burden.BP), Threshold: secondment.Percent(b.ThresholdBP), HasThreshold: b.ThresholdBP > 0,
			ThresholdPct: float64(b.ThresholdBP) / 100,
			Warn:         b.Burden.Warn, Href: "/ledger?" + awayQuery().Encode()}
	}
	if u.HasAny(chainRoles...) {
		// What waits for the user, the 待办 tab's count, and the newest
		// request waiting with the step it needs (issue #14: a home that
		// says what to do next).
		n, err := s.app.TodoCount(r.Context(), u)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		v.Todo = &web.Figure{Label: "home.todo", Count: min(n, approval.TodoCountMax-1),
			More: n >= approval.TodoCountMax, Href: "/secondments?tab=todo"}
		if n > 0 {
			if v.Next, err = s.app.NextTodo(r.Context(), u); err != nil {
				s.renderError(w, r, err)
				return
			}
		}
		v.CanCreate = u.Has(auth.RoleBorrower)
	}
	if v.Links, err = s.adminLinks(r, u); err != nil {
		s.renderError(w, r, err)
		return
	}
	if u.Has(auth.RoleBorrower) {
		h, err := s.app.Hold(r.Context(), u)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		// The terms it holds people on today: begun, and signed off or away.
		q := url.Values{"sort": {"end"}, "as": {"borrower"}, "kind": {string(secondment.KindSecondment)}, "to": {h.Today.String()}}
		for _, st := range approval.HeldStates {
			q.Add("state", string(st))
		}
		v.Hold = &web.HoldCard{Unit: h.Unit.Name, Hold: h.Hold, Href: "/ledger?" + q.Encode()}
	}
	if u.HasAny(auth.RoleOrgDept, auth.RoleRegistrar) {
		if v.Campaigns, err = s.app.Campaigns(r.Context(), u, true, homeCampaigns); err != nil {
			s.renderError(w, r, err)
			return
		}
		l, err := s.app.Loads(r.Context(), u)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		v.Loads = loadsView(l)
	}
	// Who is away from a lending unit, or held by a borrowing unit, and
	// until when: the first rows of the ledger's view of them.
	for _, t := range []struct {
		role  auth.Role
		as    string
		title string
	}{{auth.RoleLender, "lender", "home.away.lender"}, {auth.RoleBorrower, "borrower", "home.away.borrower"}} {
		if !u.Has(t.role) {
			continue
		}
		q := awayQuery()
		q.Set("as", t.as)
		l, err := s.app.Ledger(r.Context(), u, ledgerQueryOf(q))
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		v.Away = append(v.Away, web.AwayTable{Title: t.title, Lender: t.role == auth.RoleLender,
			Rows: l.Rows[:min(len(l.Rows), homeAwayRows)], Total: l.Total, More: l.More, Href: "/ledger?" + q.Encode()})
	}
	s.render(w, r, web.HomePage(v))
}

// homeAwayRows are the people away a home page lists; the rest are a
// link away.
const homeAwayRows = 10

// homeCampaigns are the open campaigns an org dept's home shows.
const homeCampaigns = 3

// awayQuery is the ledger's view of the people away now, soonest back
// first: who is away, where, and until when.
func awayQuery() url.Values {
	q := url.Values{"sort": {"end"}}
	for _, st := range approval.AwayStates {
		q.Add("state", string(st))
	}
	return q
}

// loadsView is the org dept's tables of the units with the most people
// away, each count a link to its rows in the ledger.
func loadsView(l approval.Loads) *web.LoadsView {
	v := &web.LoadsView{Threshold: secondment.Percent(l.ThresholdBP)}
	row := func(u approval.UnitLoad, param string) web.LoadRow {
		q := awayQuery()
		q.Set(param, strconv.FormatInt(u.Unit.ID, 10))
		return web.LoadRow{Unit: u.Unit.Name, Level: u.Unit.Level, Away: u.Away, Headcount: u.Burden.Headcount,
			Percent: secondment.Percent(u.Burden.BP), Warn: u.Burden.Warn, Href: "/ledger?" + q.Encode()}
	}
	for _, u := range l.Lenders {
		v.Lenders = append(v.Lenders, row(u, "lender"))
	}
	for _, u := range l.Borrowers {
		v.Borrowers = append(v.Borrowers, row(u, "borrower"))
	}
	for _, rows := range [][]web.LoadRow{v.Lenders, v.Borrowers} {
		top := 0
		for _, r := range rows {
			top = max(top, r.Away)
		}
		for i := range rows {
			if top > 0 {
				rows[i].Bar = rows[i].Away * 100 / top
			}
		}
	}
	return v
}

// ledgerFigures are the home page's figures of the user's ledger, each
// counted from the same query string its link opens, so a figure is
// always the rows behind it.
func (s *Server) ledgerFigures(r *http.Request, u auth.User) ([]web.Figure, error) {
	today := secondment.Today(s.clock)
	soon := today.AddDays(30).String()
	figures := []struct {
		id string
		q  url.Values
	}{
		{"home.ledger.away", awayQuery()},
		{"home.ledger.ending", url.Values{"state": {"active"}, "end_from": {today.String()}, "end_to": {soon}, "sort": {"end"}}},
		{"home.ledger.renewals_due", url.Values{"state": {"active"}, "end_from": {today.String()}, "end_to": {soon},
			"unrenewed": {"true"}, "sort": {"end"}}},
		{"home.ledger.overdue", url.Values{"overdue": {"true"}}},
		{"home.ledger.irregular", url.Values{"irregular": {"true"}}},
	}
	qs := make([]approval.LedgerQuery, len(figures))
	for i, f := range figures {
		qs[i] = ledgerQueryOf(f.q)
	}
	counts, err := s.app.LedgerCounts(r.Context(), u, qs)
	if err != nil {
		return nil, err
	}
	out := make([]web.Figure, len(figures))
	for i, f := range figures {
		out[i] = web.Figure{Label: f.id, Count: counts[i], More: counts[i] >= approval.LedgerCountMax, Href: "/ledger?" + f.q.Encode()}
	}
	return out, nil
}

// rectFigures are the home page's figures of the user's irregular ledger
// (issue 11): for a keeper, the open entries by status, those past their
// deadline and, for the org dept, those escalated to it; for a unit, what
// it has to rectify. Each is counted from the query string its link opens.
func (s *Server) rectFigures(r *http.Request, u auth.User) ([]web.Figure, error) {
	type figure struct {
		id string
		q  url.Values
	}
	var figures []figure
	for _, sc := range approval.RectScopesOf(u) {
		switch sc {
		case approval.RectOwn:
			figures = append(figures,
				figure{"home.rect.open", url.Values{"scope": {"own"}, "open": {"true"}}},
				figure{"home.rect.rectifying", url.Values{"scope": {"own"}, "status": {"rectifying"}}},
				figure{"home.rect.transfer_pending", url.Values{"scope": {"own"}, "status": {"transfer_pending"}}},
				figure{"home.rect.term_end", url.Values{"scope": {"own"}, "status": {"term_end"}}},
				figure{"home.rect.past_deadline", url.Values{"scope": {"own"}, "past_deadline": {"true"}}})
		case approval.RectEscalated:
			figures = append(figures, figure{"home.rect.escalated", url.Values{"scope": {"escalated"}, "open": {"true"}}})
		case approval.RectResponsible:
			figures = append(figures,
				figure{"home.rect.responsible", url.Values{"scope": {"responsible"}, "open": {"true"}}},
				figure{"home.rect.responsible_past", url.Values{"scope": {"responsible"}, "past_deadline": {"true"}}})
		}
	}
	qs := make([]approval.RectQuery, len(figures))
	for i, f := range figures {
		qs[i] = rectQueryOf(f.q)
	}
	counts, err := s.app.RectCounts(r.Context(), u, qs)
	if err != nil {
		return nil, err
	}
	out := make([]web.Figure, len(figures))
	for i, f := range figures {
		out[i] = web.Figure{Label: f.id, Count: min(counts[i], approval.LedgerCountMax), More: counts[i] > approval.LedgerCountMax,
			Href: "/irregular?" + f.q.Encode()}
	}
	return out, nil
}

// visibleUnits is the unit tree cut down to the user's scope.
func (s *Server) visibleUnits(r *http.Request, u auth.User) ([]secondment.UnitNode, error) {
	scope, _, err := s.scopeOf(r.Context(), u)
	if err != nil {
		return nil, err
	}
	all, err := s.store.UnitTree(r.Context())
	if err != nil {
		return nil, err
	}
	var out []secondment.UnitNode
	for _, n := range all {
		if scope.Contains(n.ID) {
			out = append(out, n)
		}
	}
	return out, nil
}

func (s *Server) handleUnitList(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	units, err := s.visibleUnits(r, u)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	h, policies, err := s.app.Hierarchy(ctx) // the cached catalog: no second read of the policies
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

// adminLinks are an administrator's pages on their home, each with what
// needs their attention there: accounts holding roles that clash, a
// holiday year not entered, a broken audit chain.
func (s *Server) adminLinks(r *http.Request, u auth.User) ([]web.HomeLink, error) {
	ctx := r.Context()
	l := i18n.FromContext(ctx)
	var out []web.HomeLink
	switch {
	case u.Has(auth.RoleSysAdmin):
		clashes, err := s.app.Clashes(ctx, u, 100)
		if err != nil {
			return nil, err
		}
		users := web.HomeLink{Href: "/admin/users", Label: "nav.admin_users"}
		if len(clashes) > 0 {
			users.Alarm = l.T("home.admin.clashes", "Count", len(clashes))
		}
		_, missing, err := s.app.CalendarYears(ctx, u)
		if err != nil {
			return nil, err
		}
		cal := web.HomeLink{Href: "/admin/calendar", Label: "nav.calendar"}
		if len(missing) > 0 {
			cal.Alarm = l.T("home.admin.calendar_missing", "Year", missing[0])
		}
		out = append(out, users, web.HomeLink{Href: "/admin/units", Label: "nav.admin_units"}, cal,
			web.HomeLink{Href: "/admin/jobs", Label: "nav.jobs"})
	case u.Has(auth.RoleSecAdmin):
		out = append(out, web.HomeLink{Href: "/admin/security", Label: "nav.security"})
	case u.Has(auth.RoleAuditor):
		runs, err := s.app.AuditVerifications(ctx, u, 1)
		if err != nil {
			return nil, err
		}
		chain := web.HomeLink{Href: "/audit/chain", Label: "audit.chain.title"}
		switch {
		case len(runs) == 0:
			chain.Alarm = l.T("home.admin.chain_never")
		case !runs[0].OK:
			chain.Alarm = l.T("home.admin.chain_broken", "Seq", runs[0].BrokenSeq)
		}
		out = append(out, web.HomeLink{Href: "/audit", Label: "nav.audit"}, chain)
	}
	return out, nil
}
