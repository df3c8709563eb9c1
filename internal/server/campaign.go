package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"secondment/internal/approval"
	"secondment/internal/auth"
	"secondment/internal/i18n"
	"secondment/internal/secondment"
	"secondment/internal/sheet"
	"secondment/web"
)

// Clean-up campaigns (清理整治): pages and API calls over the use cases of
// approval/campaign.go.

func (s *Server) handleCampaigns(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cs, err := s.app.Campaigns(r.Context(), u, false, 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, web.CampaignsPage(web.CampaignsView{Campaigns: cs, CanOpen: u.Has(auth.RoleOrgDept)}))
}

// handleCampaignNew is the form that opens a campaign over the ledger's
// filter the query string carries, showing how many it finds.
func (s *Server) handleCampaignNew(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.showCampaignNew(w, r, u, http.StatusOK, r.URL.Query(), web.NewForm())
}

func (s *Server) showCampaignNew(w http.ResponseWriter, r *http.Request, u auth.User, status int, filter url.Values, f web.Form) {
	q := ledgerQueryOf(filter)
	q.As = string(secondment.RoleOrgDept)
	counts, err := s.app.LedgerCounts(r.Context(), u, []approval.LedgerQuery{q})
	if err != nil {
		if !withErrors(&f, err) {
			s.fail(w, r, err)
			return
		}
		counts, status = []int{0}, http.StatusUnprocessableEntity
	}
	s.renderStatus(w, r, status, web.CampaignNewPage(web.CampaignNewView{Filter: filter, Found: counts[0], Form: f}))
}

// campaignFilter is the ledger filter a campaign form carries: every
// field but the campaign's own, the page cursor and the role.
func campaignFilter(form url.Values) url.Values {
	out := url.Values{}
	for k, vs := range form {
		switch k {
		case "name", "basis", "after", "as":
		default:
			out[k] = vs
		}
	}
	return out
}

func (s *Server) handleCampaignOpen(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := readForm(w, r, "name", "basis")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	filter := campaignFilter(r.PostForm)
	id, err := s.app.CampaignOpen(r.Context(), u, approval.CampaignInput{Name: f.Value("name"), Basis: f.Value("basis"),
		Filter: ledgerQueryOf(filter), FilterText: filter.Encode()})
	if err != nil {
		if !withErrors(&f, err) {
			s.fail(w, r, err)
			return
		}
		s.showCampaignNew(w, r, u, http.StatusUnprocessableEntity, filter, f)
		return
	}
	http.Redirect(w, r, "/campaigns/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

func campaignQueryOf(v url.Values) approval.CampaignQuery {
	return approval.CampaignQuery{Outcome: v.Get("outcome"), After: v.Get("after")}
}

func (s *Server) handleCampaign(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndPathID(w, r, "campaignID")
	if !ok {
		return
	}
	p, err := s.app.Campaign(r.Context(), u, id, campaignQueryOf(r.URL.Query()))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, web.CampaignPage(web.CampaignView{Campaign: p, Form: web.NewForm(), Done: r.URL.Query().Get("done") == "decided"}))
}

func (s *Server) handleCampaignDecide(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndPathID(w, r, "campaignID")
	if !ok {
		return
	}
	sid, err := pathID(r, "secondmentID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := readForm(w, r, "version", "outcome", "reason", "until", "back")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	err = s.app.CampaignDecide(r.Context(), u, id, sid, approval.MemberInput{Version: formVersion(f), Outcome: f.Value("outcome"),
		Reason: f.Value("reason"), Until: f.Value("until")})
	if err != nil {
		if !withErrors(&f, err) {
			s.fail(w, r, err)
			return
		}
		p, perr := s.app.Campaign(r.Context(), u, id, approval.CampaignQuery{Outcome: f.Value("back")})
		if perr != nil {
			s.fail(w, r, perr)
			return
		}
		s.renderStatus(w, r, http.StatusUnprocessableEntity, web.CampaignPage(web.CampaignView{Campaign: p, Form: f, FormFor: sid}))
		return
	}
	back := "/campaigns/" + strconv.FormatInt(id, 10) + "?done=decided"
	if o := f.Value("back"); o != "" {
		back += "&outcome=" + url.QueryEscape(o)
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (s *Server) handleCampaignClose(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndPathID(w, r, "campaignID")
	if !ok {
		return
	}
	f, err := readForm(w, r, "version")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.app.CampaignClose(r.Context(), u, id, formVersion(f)); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/campaigns/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// campaignColumns are the export's columns, as message IDs.
var campaignColumns = []string{"secondment.number", "secondment.person", "secondment.lender", "secondment.borrower",
	"secondment.start", "secondment.end", "secondment.state", "campaign.outcome", "campaign.reason", "campaign.until"}

// handleCampaignExport downloads a campaign's members (?outcome= one
// outcome) as .csv or .xlsx in the user's language.
func (s *Server) handleCampaignExport(format string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, id, ok := s.userAndPathID(w, r, "campaignID")
		if !ok {
			return
		}
		v, rows, err := s.app.CampaignMembers(r.Context(), u, id, r.URL.Query().Get("outcome"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		loc := i18n.FromContext(r.Context())
		header := make([]string, len(campaignColumns))
		for i, c := range campaignColumns {
			header[i] = loc.T(c)
		}
		out, err := startExport(w, format, fmt.Sprintf("campaign-%d.%s", v.ID, format), "清理整治", header)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, m := range rows {
			until := ""
			if !m.Decision.Until.IsZero() && m.Outcome == secondment.OutcomeHeld {
				until = m.Decision.Until.String()
			}
			reason := ""
			if m.Outcome == secondment.OutcomeHeld || m.Outcome == secondment.OutcomeExempt {
				reason = m.Decision.Reason
			}
			if err := out.Write([]string{sheet.EscapeFormula(m.Number), sheet.EscapeFormula(m.PersonName),
				sheet.EscapeFormula(m.LenderName), sheet.EscapeFormula(m.BorrowerName), m.Start.String(), m.End.String(),
				loc.Message(m.State.Message()), loc.Message(m.Outcome.Message()), sheet.EscapeFormula(reason), until}); err != nil {
				s.log.Error("campaign export", "err", err)
				return
			}
		}
		if err := out.Close(); err != nil {
			s.log.Error("campaign export", "err", err)
		}
	}
}

// apiCampaign is a campaign on the API.
type apiCampaign struct {
	ID        int64             `json:"id"`
	Name      string            `json:"name"`
	Basis     string            `json:"basis"`
	Filter    string            `json:"filter"`
	OpenedOn  string            `json:"opened_on"`
	ClosedOn  string            `json:"closed_on,omitempty"`
	Version   int               `json:"version"`
	Counts    apiCampaignCounts `json:"counts"`
	Members   []apiMember       `json:"members,omitempty"`
	Next      string            `json:"next,omitempty"`
	CanDecide *bool             `json:"can_decide,omitempty"`
}

type apiCampaignCounts struct {
	Found     int `json:"found"`
	Returned  int `json:"returned"`
	Transfer  int `json:"transfer"`
	Held      int `json:"held"`
	Exempt    int `json:"exempt"`
	Pending   int `json:"pending"`
	Remaining int `json:"remaining"`
}

type apiMember struct {
	SecondmentID int64  `json:"secondment_id"`
	Number       string `json:"number"`
	Person       string `json:"person"`
	Borrower     string `json:"borrower"`
	Lender       string `json:"lender"`
	State        string `json:"state"`
	Start        string `json:"start"`
	End          string `json:"end"`
	Outcome      string `json:"outcome"`
	Reason       string `json:"reason,omitempty"`
	Until        string `json:"until,omitempty"`
	Version      int    `json:"version"`
}

func toAPICampaign(v secondment.CampaignView) apiCampaign {
	c := v.Counts
	return apiCampaign{ID: v.ID, Name: v.Name, Basis: v.Basis, Filter: v.Filter, OpenedOn: v.OpenedOn.String(),
		ClosedOn: dateString(v.ClosedOn), Version: v.Version,
		Counts: apiCampaignCounts{Found: c.Found, Returned: c.Returned, Transfer: c.Transfer, Held: c.Held, Exempt: c.Exempt,
			Pending: c.Pending, Remaining: c.Remaining()}}
}

func (s *Server) handleAPICampaigns(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cs, err := s.app.Campaigns(r.Context(), u, false, 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]apiCampaign, 0, len(cs))
	for _, c := range cs {
		out = append(out, toAPICampaign(c))
	}
	writeJSON(w, map[string]any{"campaigns": out})
}

func (s *Server) handleAPICampaign(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndPathID(w, r, "campaignID")
	if !ok {
		return
	}
	p, err := s.app.Campaign(r.Context(), u, id, campaignQueryOf(r.URL.Query()))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := toAPICampaign(p.CampaignView)
	out.Members, out.Next, out.CanDecide = []apiMember{}, p.Next, &p.CanDecide
	for _, m := range p.Members {
		a := apiMember{SecondmentID: m.SecondmentID, Number: m.Number, Person: m.PersonName, Borrower: m.BorrowerName,
			Lender: m.LenderName, State: string(m.State), Start: m.Start.String(), End: m.End.String(),
			Outcome: string(m.Outcome), Version: m.Version}
		if m.Outcome == secondment.OutcomeHeld || m.Outcome == secondment.OutcomeExempt {
			a.Reason = m.Decision.Reason
		}
		if m.Outcome == secondment.OutcomeHeld {
			a.Until = dateString(m.Decision.Until)
		}
		out.Members = append(out.Members, a)
	}
	writeJSON(w, out)
}

// apiCampaignBody opens a campaign over the ledger's filter, given as the
// ledger's query string (as /api/v1/ledger takes it).
type apiCampaignBody struct {
	Name   string `json:"name"`
	Basis  string `json:"basis"`
	Filter string `json:"filter"`
}

func (s *Server) handleAPICampaignOpen(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var b apiCampaignBody
	if err := readJSON(w, r, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	filter, err := url.ParseQuery(b.Filter)
	if err != nil {
		s.fail(w, r, fieldErr("filter", "campaign.error.filter"))
		return
	}
	filter = campaignFilter(filter)
	id, err := s.app.CampaignOpen(r.Context(), u, approval.CampaignInput{Name: b.Name, Basis: b.Basis,
		Filter: ledgerQueryOf(filter), FilterText: filter.Encode()})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.app.Campaign(r.Context(), u, id, approval.CampaignQuery{})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/campaigns/"+strconv.FormatInt(id, 10))
	writeJSONStatus(w, http.StatusCreated, toAPICampaign(p.CampaignView))
}

// apiMemberBody is the org dept's decision on a member.
type apiMemberBody struct {
	Version int    `json:"version"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
	Until   string `json:"until"`
}

func (s *Server) handleAPICampaignDecide(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndPathID(w, r, "campaignID")
	if !ok {
		return
	}
	sid, err := pathID(r, "secondmentID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var b apiMemberBody
	if err := readJSON(w, r, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.app.CampaignDecide(r.Context(), u, id, sid, approval.MemberInput{Version: b.Version, Outcome: b.Outcome,
		Reason: b.Reason, Until: b.Until}); err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.app.Campaign(r.Context(), u, id, approval.CampaignQuery{})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, toAPICampaign(p.CampaignView))
}

func (s *Server) handleAPICampaignClose(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndPathID(w, r, "campaignID")
	if !ok {
		return
	}
	var b struct {
		Version int `json:"version"`
	}
	if err := readJSON(w, r, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.app.CampaignClose(r.Context(), u, id, b.Version); err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.app.Campaign(r.Context(), u, id, approval.CampaignQuery{})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, toAPICampaign(p.CampaignView))
}
