package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"secondment/internal/approval"
	"secondment/internal/auth"
	"secondment/internal/i18n"
	"secondment/internal/secondment"
)

// The request API: the same use cases as the pages, in JSON.

// apiParty is a person or unit named in a request.
type apiParty struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type apiDecision struct {
	Step      string `json:"step"`
	Action    string `json:"action"`
	Role      string `json:"role"`
	ActorName string `json:"actor_name"`
	// OnBehalfOf is the colleague a proxy acted for (the page's "X（代Y）").
	OnBehalfOf string    `json:"on_behalf_of,omitempty"`
	Opinion    string    `json:"opinion"`
	At         time.Time `json:"at"`
	// SpentSeconds is how long the request waited for this step since the
	// previous one (absent on the first).
	SpentSeconds int64 `json:"spent_seconds,omitempty"`
}

// apiSecondment is a request as the API shows it.
type apiSecondment struct {
	ID                int64         `json:"id"`
	Number            string        `json:"number,omitempty"`
	State             string        `json:"state"`
	Version           int           `json:"version"`
	Kind              string        `json:"kind"`
	Alias             string        `json:"alias,omitempty"`
	Purpose           string        `json:"purpose"`
	Task              string        `json:"task"`
	Person            apiParty      `json:"person"`
	Borrower          apiParty      `json:"borrower"`
	Lender            apiParty      `json:"lender"`
	Start             string        `json:"start"`
	End               string        `json:"end"`
	PreviousID        int64         `json:"previous_id,omitempty"`
	Justification     string        `json:"justification,omitempty"`
	Programme         string        `json:"programme,omitempty"`
	SalaryWith        string        `json:"salary_with"`
	SelfOpinion       string        `json:"self_opinion,omitempty"`
	Evaluation        string        `json:"evaluation,omitempty"`
	KeyPost           bool          `json:"key_post"`
	SubmittedOn       string        `json:"submitted_on,omitempty"`
	PolicyVersion     int           `json:"policy_version,omitempty"`
	ExceptionRules    []string      `json:"exception_rules"`
	ExceptionApprover string        `json:"exception_approver,omitempty"`
	StartedOn         string        `json:"started_on,omitempty"`
	RecalledOn        string        `json:"recalled_on,omitempty"`
	ReturnedOn        string        `json:"returned_on,omitempty"`
	Handover          string        `json:"handover,omitempty"`
	ReturnConfirmedOn string        `json:"return_confirmed_on,omitempty"`
	RenewalID         int64         `json:"renewal_id,omitempty"`
	TransferMethod    string        `json:"transfer_method,omitempty"`
	TransferLeader    bool          `json:"transfer_leadership,omitempty"`
	HandledBy         string        `json:"handled_by,omitempty"`
	Decisions         []apiDecision `json:"decisions,omitempty"`
	AllowedActions    []string      `json:"allowed_actions"`
}

func dateString(d secondment.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

func toAPISecondment(r approval.Request) apiSecondment {
	out := apiSecondment{ID: r.ID, Number: r.Number, State: string(r.State), Version: r.Version,
		Kind: string(r.Kind), Alias: string(r.Alias), Purpose: string(r.Purpose), Task: r.Task,
		Person: apiParty{r.PersonID, r.PersonName}, Borrower: apiParty{r.BorrowerID, r.BorrowerName},
		Lender: apiParty{r.LenderID, r.LenderName}, Start: r.Start.String(), End: r.End.String(),
		PreviousID: r.PreviousID, Justification: r.Justification, Programme: r.Programme, SubmittedOn: dateString(r.SubmittedOn),
		SalaryWith: string(r.SalaryWith.Or()), SelfOpinion: r.SelfOpinion, Evaluation: r.Evaluation, KeyPost: r.KeyPost,
		PolicyVersion: r.PolicyVersion, ExceptionRules: []string{}, ExceptionApprover: r.ExceptionApprover,
		StartedOn: dateString(r.StartedOn), RecalledOn: dateString(r.RecalledOn), ReturnedOn: dateString(r.ReturnedOn),
		Handover: r.Handover, ReturnConfirmedOn: dateString(r.ReturnConfirmedOn), RenewalID: r.RenewalID,
		TransferMethod: string(r.TransferMethod), TransferLeader: r.TransferLeadership, HandledBy: r.Handler.Name,
		AllowedActions: []string{}}
	for _, rule := range r.ExceptionRules {
		out.ExceptionRules = append(out.ExceptionRules, string(rule))
	}
	var prev time.Time
	for _, d := range r.Decisions {
		ad := apiDecision{Step: string(d.Step), Action: string(d.Action), Role: string(d.Role),
			ActorName: d.ActorName, OnBehalfOf: d.OnBehalfOf, Opinion: d.Opinion, At: d.At}
		if !prev.IsZero() {
			ad.SpentSeconds = int64(d.At.Sub(prev) / time.Second)
		}
		prev = d.At
		out.Decisions = append(out.Decisions, ad)
	}
	for _, a := range r.Actions {
		out.AllowedActions = append(out.AllowedActions, string(a))
	}
	return out
}

// answer writes the request a use case returned (code: 200, or 201 for a
// create), or its error.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, req approval.Request, err error, code int) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeSecondment(w, req, code)
}

// writeSecondment answers with a request, its version as the ETag.
func writeSecondment(w http.ResponseWriter, r approval.Request, code int) {
	w.Header().Set("ETag", `"`+strconv.Itoa(r.Version)+`"`)
	w.Header().Set("Content-Type", "application/json")
	if code == http.StatusCreated {
		w.Header().Set("Location", "/api/v1/secondments/"+strconv.FormatInt(r.ID, 10))
	}
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(toAPISecondment(r))
}

// handleAPISecondmentList lists one page of the caller's requests (all of
// them, or with ?tab=todo those waiting for the caller); ?after= is the
// cursor the previous page returned as "next".
func (s *Server) handleAPISecondmentList(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The API's default list is everything (the page's is the to-do list).
	tab := approval.Tab(r.URL.Query().Get("tab"))
	if tab == "" {
		tab = approval.TabAll
	}
	in, err := s.app.InboxSearch(r.Context(), u, tab, findOf(r.URL.Query()), r.URL.Query().Get("after"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	type listed struct {
		apiSecondment
		MyStep   string     `json:"my_step,omitempty"`   // tab done: the step the user took
		ListedAt *time.Time `json:"listed_at,omitempty"` // tabs done, mine, cc: when the row was made
	}
	out := make([]listed, 0, len(in.Rows))
	for _, req := range in.Rows {
		l := listed{apiSecondment: toAPISecondment(req), MyStep: string(req.Done)}
		if !req.ListedAt.IsZero() {
			l.ListedAt = &req.ListedAt
		}
		out = append(out, l)
	}
	body := map[string]any{"tab": in.Tab, "secondments": out, "todo_count": in.TodoCount, "done_count": in.Counts[approval.TabDone],
		"mine_count": in.Counts[approval.TabMine], "cc_count": in.Counts[approval.TabCopied]}
	if in.Next != "" {
		body["next"] = in.Next
	}
	writeJSON(w, body)
}

// handleAPISecondmentCreate saves a draft. An Idempotency-Key header makes
// a retried call return the draft the first one made.
func (s *Server) handleAPISecondmentCreate(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in, err := readDraft(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := s.app.Create(r.Context(), u, in, r.Header.Get("Idempotency-Key"))
	s.answer(w, r, req, err, http.StatusCreated)
}

func (s *Server) handleAPISecondmentCheck(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in, err := readDraftToCheck(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ev, err := s.app.Check(r.Context(), u, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	en := s.catalog.Localizer(i18n.English)
	vs := violations(en, ev.Violations)
	if vs == nil {
		vs = []apiViolation{}
	}
	out := map[string]any{"jurisdiction": ev.Jurisdiction, "org_dept": ev.OrgDept,
		"policy": en.Message(ev.Policy.Message()), "blocked": ev.Violations.Blocked(),
		"needs_exception": ev.Violations.NeedsException(), "violations": vs,
		"usage": map[string]int{"used_days": ev.Usage.Used, "requested_days": ev.Usage.Requested,
			"cap_days": ev.Usage.CapDays, "cap_months": ev.Usage.CapMonths}}
	if ev.Usage.WindowCapDays > 0 {
		// R7 as a sum within a window (Weihai's 累计), beside the chain's.
		out["window"] = map[string]int{"used_days": ev.Usage.WindowUsed, "requested_days": ev.Usage.Requested,
			"cap_days": ev.Usage.WindowCapDays, "cap_months": ev.Usage.WindowCapMonths, "window_months": ev.Usage.WindowMonths}
	}
	if ev.Hold.Capped {
		out["borrower_limit"] = map[string]int{"held": ev.Hold.Held, "limit": ev.Hold.Cap}
	}
	if o := ev.Overlap; o.ID != 0 {
		// One person, one place: submission would be refused.
		out["blocked"] = true
		out["overlap"] = map[string]string{"number": o.Number, "borrower": o.BorrowerName,
			"start": o.Start.String(), "end": o.End.String(), "message": en.Message(ev.OverlapMessage)}
	}
	writeJSON(w, out)
}

func (s *Server) handleAPISecondmentGet(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndID(w, r)
	if !ok {
		return
	}
	req, err := s.app.Get(r.Context(), u, id)
	s.answer(w, r, req, err, http.StatusOK)
}

func (s *Server) handleAPISecondmentUpdate(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndID(w, r)
	if !ok {
		return
	}
	// Bad input is reported after the use case's visibility check: a
	// request the caller may not see is 404 whatever they send.
	version, verr := ifMatch(r)
	in, jerr := readDraft(w, r)
	in.Invalid = errors.Join(verr, jerr)
	req, err := s.app.Update(r.Context(), u, id, version, in)
	s.answer(w, r, req, err, http.StatusOK)
}

func (s *Server) handleAPISecondmentAct(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndID(w, r)
	if !ok {
		return
	}
	action := secondment.Action(chi.URLParam(r, "action"))
	if !action.Valid() {
		s.fail(w, r, errNotFound)
		return
	}
	// Bad input is reported after the use case's visibility check: a
	// request the caller may not see is 404 whatever they send.
	version, verr := ifMatch(r)
	var body apiAction
	var jerr error
	if r.ContentLength != 0 {
		jerr = readJSON(w, r, &body)
		var mbe *http.MaxBytesError
		if errors.As(jerr, &mbe) {
			// Only a letter makes an action's body this long (its base64
			// a third over the file): the letter's limit is the answer.
			jerr = uploadError("upload.error.size", "MaxMB", MaxLetterBytes>>20)
		}
	}
	in, ierr := body.input(action, version)
	in.Invalid = errors.Join(verr, jerr, ierr)
	req, err := s.app.Act(r.Context(), u, id, in)
	s.answer(w, r, req, err, http.StatusOK)
}

// apiTogether runs urge, copy or hand-over from the API and answers with
// the request as it is now.
func (s *Server) apiTogether(w http.ResponseWriter, r *http.Request, do func(u auth.User, id int64, body map[string]any) (approval.Request, error)) {
	u, id, ok := s.userAndID(w, r)
	if !ok {
		return
	}
	body := map[string]any{}
	if r.ContentLength != 0 {
		// The input layer's strict JSON: valid UTF-8, one value, every
		// string plain text (the walker reads a map's values too).
		if err := readJSON(w, r, &body); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	req, err := do(u, id, body)
	s.answer(w, r, req, err, http.StatusOK)
}

func (s *Server) handleAPISecondmentUrge(w http.ResponseWriter, r *http.Request) {
	s.apiTogether(w, r, func(u auth.User, id int64, _ map[string]any) (approval.Request, error) {
		return s.app.Urge(r.Context(), u, id)
	})
}

func (s *Server) handleAPISecondmentCopy(w http.ResponseWriter, r *http.Request) {
	s.apiTogether(w, r, func(u auth.User, id int64, body map[string]any) (approval.Request, error) {
		login, _ := body["login"].(string)
		req, _, err := s.app.Copy(r.Context(), u, id, login)
		return req, err
	})
}

func (s *Server) handleAPISecondmentHandOver(w http.ResponseWriter, r *http.Request) {
	s.apiTogether(w, r, func(u auth.User, id int64, body map[string]any) (approval.Request, error) {
		to, _ := body["to_user_id"].(float64)
		req, _, err := s.app.HandOver(r.Context(), u, id, int64(to))
		return req, err
	})
}
