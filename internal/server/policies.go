package server

import (
	"net/http"
	"strconv"

	"secondment/internal/i18n"
	"secondment/web"
)

// The policy a unit works under (issue 11): a page, and the same on the
// API.

func (s *Server) handlePolicies(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.app.Policies(r.Context(), u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The notice after a save names the newest version, and no other.
	saved, _ := strconv.Atoi(r.URL.Query().Get("saved"))
	if len(b.Versions) == 0 || saved != b.Versions[0].Version {
		saved = 0
	}
	s.render(w, r, web.PolicyPage(web.PolicyView{Book: b, Saved: saved}))
}

// apiPolicyVersion is one version of a policy on the API: its settings as
// the page says them (in English), and the seed's words behind them.
type apiPolicyVersion struct {
	Version       int                `json:"version"`
	Preset        string             `json:"preset,omitempty"`
	EffectiveFrom string             `json:"effective_from"`
	InForce       bool               `json:"in_force"`
	Basis         string             `json:"basis,omitempty"`
	Settings      []apiPolicySetting `json:"settings"`
	Citations     []apiPolicySetting `json:"citations"`
}

type apiPolicySetting struct {
	Rule   string     `json:"rule"`
	Text   string     `json:"text"`
	Source *apiSource `json:"source,omitempty"` // a citation's document
}

func (s *Server) handleAPIPolicies(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.app.Policies(r.Context(), u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := i18n.WithLocalizer(r.Context(), s.catalog.Localizer(i18n.English))
	versions := make([]apiPolicyVersion, 0, len(b.Versions))
	for _, p := range b.Versions {
		v := apiPolicyVersion{Version: p.Version, Preset: string(p.Preset), EffectiveFrom: p.EffectiveFrom.String(),
			InForce: p.Version == b.InForce, Basis: p.Basis, Settings: []apiPolicySetting{}, Citations: []apiPolicySetting{}}
		for _, x := range web.PolicySettings(ctx, p) {
			v.Settings = append(v.Settings, apiPolicySetting{Rule: string(x.Rule), Text: x.Text})
		}
		for _, c := range p.Citations {
			v.Citations = append(v.Citations, apiPolicySetting{Rule: string(c.Rule), Text: c.Quote, Source: toAPISource(c.Source())})
		}
		versions = append(versions, v)
	}
	out := map[string]any{"jurisdiction": b.Jurisdiction.Name, "jurisdiction_code": b.Jurisdiction.Code,
		"org_dept": b.OrgDept.Name, "versions": versions, "can_edit": b.CanEdit()}
	if b.CanEdit() {
		out["region"], out["region_code"] = b.Region.Name, b.Region.Code
	}
	writeJSON(w, out)
}
