package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"secondment/internal/approval"
	"secondment/internal/auth"
	"secondment/internal/secondment"
	"secondment/web"
)

// An org dept adds a version of its region's policy (issue 11): a form
// and the API, both over approval.PolicyPreview and PolicyCreate.

// policyFields are the form's fields besides the purposes (checkboxes).
var policyFields = []string{"base", "based_on", "effective_from", "basis", "max_level_gap", "same_system", "township",
	"term_months", "renewal_apply_by_days", "chain_cap_months", "person_cap_months", "person_window_months",
	"cooling_off_months", "consent_letter", "return_grace_days", "cleanup_holds_major", "transfer_in_quota",
	"dual_filing", "burden_warn_percent", "borrower_cap_percent", "borrower_cap_people", "key_posts_excluded"}

// policyInts are the whole-number settings, by field.
func policyInts(p *secondment.Policy) map[string]*int {
	return map[string]*int{"max_level_gap": &p.MaxLevelGap, "term_months": &p.TermMonths,
		"renewal_apply_by_days": &p.RenewalApplyByDays, "chain_cap_months": &p.ChainCapMonths,
		"person_cap_months": &p.PersonCapMonths, "person_window_months": &p.PersonWindowMonths,
		"cooling_off_months": &p.CoolingOffMonths, "return_grace_days": &p.ReturnGraceDays,
		"borrower_cap_people": &p.BorrowerCapPeople}
}

// policyBools are the yes/no settings, by field.
func policyBools(p *secondment.Policy) map[string]*bool {
	return map[string]*bool{"same_system": &p.SameSystem, "consent_letter": &p.ConsentLetter,
		"cleanup_holds_major": &p.CleanupHoldsMajor, "transfer_in_quota": &p.TransferInQuota, "dual_filing": &p.DualFiling,
		"key_posts_excluded": &p.KeyPostsExcluded}
}

// policyPercents are the shares, entered in percent and kept in basis points.
func policyPercents(p *secondment.Policy) map[string]*int {
	return map[string]*int{"burden_warn_percent": &p.BurdenWarnBP, "borrower_cap_percent": &p.BorrowerCapBP}
}

// policyForm is a policy's settings as the form shows them.
func policyForm(p secondment.Policy, base string, basedOn int) web.Form {
	f := web.NewForm()
	f.Values["base"], f.Values["effective_from"], f.Values["basis"] = base, p.EffectiveFrom.String(), p.Basis
	f.Values["based_on"] = strconv.Itoa(basedOn)
	for k, v := range policyInts(&p) {
		f.Values[k] = strconv.Itoa(*v)
	}
	for k, v := range policyBools(&p) {
		if *v {
			f.Values[k] = "on"
		}
	}
	for k, v := range policyPercents(&p) {
		f.Values[k] = strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%d.%02d", *v/100, *v%100), "0"), ".")
	}
	f.Values["township"] = string(p.Township)
	f.Values["purposes"] = strings.Join(purposeStrings(p.Purposes), ",")
	return f
}

func purposeStrings(ps []secondment.Purpose) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

// percentBP reads a percentage from 0 to 100 with at most two decimals
// ("12.5") as basis points.
func percentBP(v string) (int, bool) {
	whole, frac, _ := strings.Cut(v, ".")
	if whole == "" || len(frac) > 2 || strings.ContainsAny(v, "+-") {
		return 0, false
	}
	w, err := strconv.Atoi(whole)
	if err != nil || w < 0 || w > 100 {
		return 0, false
	}
	f := 0
	if frac != "" {
		if f, err = strconv.Atoi(frac + strings.Repeat("0", 2-len(frac))); err != nil || f < 0 {
			return 0, false
		}
	}
	return w*100 + f, w*100+f <= 10_000
}

// editOfForm applies the form's settings to a base policy; every field is
// posted, an unticked box is off.
func editOfForm(f web.Form, purposes []string) func(*secondment.Policy) error {
	return func(p *secondment.Policy) error {
		var fe []secondment.FieldError
		bad := func(field, id string, kv ...any) {
			fe = append(fe, secondment.FieldError{Field: field, Message: secondment.Msg(id, kv...)})
		}
		for k, v := range policyInts(p) {
			n, err := strconv.Atoi(f.Value(k))
			if f.Value(k) == "" {
				n, err = 0, nil
			}
			if err != nil {
				bad(k, "error.range", "Min", 0, "Max", 1000)
				continue
			}
			*v = n
		}
		for k, v := range policyBools(p) {
			*v = f.Value(k) != ""
		}
		for k, v := range policyPercents(p) {
			bp, ok := percentBP(f.Value(k))
			if f.Value(k) == "" {
				bp, ok = 0, true
			}
			if !ok {
				bad(k, "policy.error.percent")
				continue
			}
			*v = bp
		}
		p.Township = secondment.TownshipMode(f.Value("township"))
		p.Purposes = nil
		for _, x := range purposes {
			p.Purposes = append(p.Purposes, secondment.Purpose(x))
		}
		if len(fe) > 0 {
			return &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"), Fields: fe}
		}
		return nil
	}
}

func (s *Server) handlePolicyNew(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	base := r.URL.Query().Get("base")
	c, err := s.app.PolicyBase(r.Context(), u, base)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, web.PolicyEditPage(web.PolicyEditView{Change: c, Form: policyForm(c.Policy, base, c.Book.Stored())}))
}

func (s *Server) handlePolicyPost(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f, err := readForm(w, r, policyFields...)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	purposes := r.PostForm["purposes"]
	f.Values["purposes"] = strings.Join(purposes, ",")
	in := approval.PolicyInput{Base: f.Value("base"), EffectiveFrom: f.Value("effective_from"), Basis: f.Value("basis"),
		Edit: editOfForm(f, purposes)}
	if n, err := strconv.Atoi(f.Value("based_on")); err == nil {
		in.BasedOn = &n
	}
	save := r.PostForm.Get("action") == "save"
	c, err := s.policyRun(r, u, in, save)
	if err != nil {
		status := http.StatusUnprocessableEntity
		var de *secondment.Error
		switch {
		case errors.As(err, &de) && de.Code == secondment.EConflict:
			// Someone saved a version since this editor began: say so, and
			// let a second save go ahead knowingly.
			status, f.Summary, f.Values["based_on"] = http.StatusConflict, de.Message, strconv.Itoa(c.Book.Stored())
		case !withErrors(&f, err):
			s.renderError(w, r, err)
			return
		}
		for from, to := range map[string]string{"burden_warn_bp": "burden_warn_percent", "borrower_cap_bp": "borrower_cap_percent"} {
			if m, ok := f.Errors[from]; ok {
				f.Errors[to] = m
			}
		}
		s.renderStatus(w, r, status, web.PolicyEditPage(web.PolicyEditView{Change: c, Form: f}))
		return
	}
	if save {
		http.Redirect(w, r, fmt.Sprintf("/policies?saved=%d#v%d", c.Policy.Version, c.Policy.Version), http.StatusSeeOther)
		return
	}
	s.render(w, r, web.PolicyEditPage(web.PolicyEditView{Change: c, Form: f, Previewed: true}))
}

// apiPolicyInput is a new version on the API: its base, its day, and the
// settings that differ from the base's (any left out keep the base's).
type apiPolicyInput struct {
	Base          string          `json:"base"`
	EffectiveFrom string          `json:"effective_from"`
	Basis         string          `json:"basis"`
	BasedOn       *int            `json:"based_on"`
	Settings      json.RawMessage `json:"settings"`
}

// apiPolicySettings are a version's settings on the API, named as stored.
type apiPolicySettings struct {
	Purposes           []secondment.Purpose    `json:"purposes"`
	MaxLevelGap        int                     `json:"max_level_gap"`
	SameSystem         bool                    `json:"same_system"`
	Township           secondment.TownshipMode `json:"township"`
	TermMonths         int                     `json:"term_months"`
	RenewalApplyByDays int                     `json:"renewal_apply_by_days"`
	ChainCapMonths     int                     `json:"chain_cap_months"`
	PersonCapMonths    int                     `json:"person_cap_months"`
	PersonWindowMonths int                     `json:"person_window_months"`
	CoolingOffMonths   int                     `json:"cooling_off_months"`
	ConsentLetter      bool                    `json:"consent_letter"`
	ReturnGraceDays    int                     `json:"return_grace_days"`
	CleanupHoldsMajor  bool                    `json:"cleanup_holds_major"`
	TransferInQuota    bool                    `json:"transfer_in_quota"`
	DualFiling         bool                    `json:"dual_filing"`
	BurdenWarnBP       int                     `json:"burden_warn_bp"`
	BorrowerCapBP      int                     `json:"borrower_cap_bp"`
	BorrowerCapPeople  int                     `json:"borrower_cap_people"`
	KeyPostsExcluded   bool                    `json:"key_posts_excluded"`
}

func settingsOf(p secondment.Policy) apiPolicySettings {
	ps := p.Purposes
	if ps == nil {
		ps = []secondment.Purpose{}
	}
	return apiPolicySettings{Purposes: ps, MaxLevelGap: p.MaxLevelGap, SameSystem: p.SameSystem, Township: p.Township,
		TermMonths: p.TermMonths, RenewalApplyByDays: p.RenewalApplyByDays, ChainCapMonths: p.ChainCapMonths,
		PersonCapMonths: p.PersonCapMonths, PersonWindowMonths: p.PersonWindowMonths, CoolingOffMonths: p.CoolingOffMonths,
		ConsentLetter: p.ConsentLetter, ReturnGraceDays: p.ReturnGraceDays, CleanupHoldsMajor: p.CleanupHoldsMajor,
		TransferInQuota: p.TransferInQuota, DualFiling: p.DualFiling, BurdenWarnBP: p.BurdenWarnBP,
		BorrowerCapBP: p.BorrowerCapBP, BorrowerCapPeople: p.BorrowerCapPeople, KeyPostsExcluded: p.KeyPostsExcluded}
}

func (a apiPolicySettings) apply(p *secondment.Policy) {
	p.Purposes, p.MaxLevelGap, p.SameSystem, p.Township = a.Purposes, a.MaxLevelGap, a.SameSystem, a.Township
	p.TermMonths, p.RenewalApplyByDays, p.ChainCapMonths = a.TermMonths, a.RenewalApplyByDays, a.ChainCapMonths
	p.PersonCapMonths, p.PersonWindowMonths, p.CoolingOffMonths = a.PersonCapMonths, a.PersonWindowMonths, a.CoolingOffMonths
	p.ConsentLetter, p.ReturnGraceDays, p.CleanupHoldsMajor = a.ConsentLetter, a.ReturnGraceDays, a.CleanupHoldsMajor
	p.TransferInQuota, p.DualFiling, p.BurdenWarnBP = a.TransferInQuota, a.DualFiling, a.BurdenWarnBP
	p.BorrowerCapBP, p.BorrowerCapPeople, p.KeyPostsExcluded = a.BorrowerCapBP, a.BorrowerCapPeople, a.KeyPostsExcluded
	if len(p.Purposes) == 0 {
		p.Purposes = nil
	}
}

// apiImpact is what a version would change, on the API.
type apiImpact struct {
	Judged    int            `json:"judged"`
	Flagged   int            `json:"flagged"`
	Exception int            `json:"needs_exception,omitempty"`
	ByRule    map[string]int `json:"by_rule"`
}

func toAPIImpact(x secondment.PolicyImpact, exceptions bool) apiImpact {
	out := apiImpact{Judged: x.Judged, Flagged: x.Blocked, ByRule: map[string]int{}}
	if exceptions {
		out.Exception = x.Exception
	}
	for r, n := range x.Rules {
		out.ByRule[string(r)] = n
	}
	return out
}

// policyRun saves the version in, or only previews it: the one use case
// both skins call.
func (s *Server) policyRun(r *http.Request, u auth.User, in approval.PolicyInput, save bool) (approval.PolicyChange, error) {
	if save {
		return s.app.PolicyCreate(r.Context(), u, in)
	}
	return s.app.PolicyPreview(r.Context(), u, in)
}

func (s *Server) handleAPIPolicyPreview(w http.ResponseWriter, r *http.Request) {
	s.apiPolicy(w, r, false)
}
func (s *Server) handleAPIPolicyCreate(w http.ResponseWriter, r *http.Request) {
	s.apiPolicy(w, r, true)
}

func (s *Server) apiPolicy(w http.ResponseWriter, r *http.Request, save bool) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var body apiPolicyInput
	if err := readJSON(w, r, &body); err != nil {
		s.fail(w, r, err)
		return
	}
	in := approval.PolicyInput{Base: body.Base, EffectiveFrom: body.EffectiveFrom, Basis: body.Basis, BasedOn: body.BasedOn,
		Edit: func(p *secondment.Policy) error {
			if len(body.Settings) == 0 {
				return nil
			}
			a := settingsOf(*p)
			dec := json.NewDecoder(bytes.NewReader(body.Settings))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&a); err != nil {
				return &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.json"), Err: err}
			}
			a.apply(p)
			return nil
		}}
	c, err := s.policyRun(r, u, in, save)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := map[string]any{"jurisdiction": c.Book.Region.Name, "version": c.Policy.Version, "preset": string(c.Policy.Preset),
		"effective_from": c.Policy.EffectiveFrom.String(), "basis": c.Policy.Basis, "settings": settingsOf(c.Policy),
		"pending": toAPIImpact(c.Pending, true), "running": toAPIImpact(c.Running, false), "saved": c.Saved}
	if c.HasToday {
		out["pending_today"], out["running_today"] = toAPIImpact(c.PendingToday, true), toAPIImpact(c.RunningToday, false)
	}
	status := http.StatusOK
	if save {
		status = http.StatusCreated
	}
	writeJSONStatus(w, status, out)
}
