package server

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"secondment/internal/auth"
	"secondment/internal/i18n"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

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
	Decisions         []apiDecision `json:"decisions,omitempty"`
	AllowedActions    []string      `json:"allowed_actions"`
}

func dateString(d secondment.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

func toAPISecondment(u auth.User, rec postgres.SecondmentRecord) apiSecondment {
	out := apiSecondment{ID: rec.ID, Number: rec.Number, State: string(rec.State), Version: rec.Version,
		Kind: string(rec.Kind), Alias: string(rec.Alias), Purpose: string(rec.Purpose), Task: rec.Task,
		Person: apiParty{rec.PersonID, rec.PersonName}, Borrower: apiParty{rec.BorrowerID, rec.BorrowerName},
		Lender: apiParty{rec.LenderID, rec.LenderName}, Start: rec.Start.String(), End: rec.End.String(),
		PreviousID: rec.PreviousID, Justification: rec.Justification, SubmittedOn: dateString(rec.SubmittedOn),
		PolicyVersion: rec.PolicyVersion, ExceptionRules: []string{}, ExceptionApprover: rec.ExceptionApprover,
		StartedOn: dateString(rec.StartedOn), RecalledOn: dateString(rec.RecalledOn), ReturnedOn: dateString(rec.ReturnedOn),
		Handover: rec.Handover, ReturnConfirmedOn: dateString(rec.ReturnConfirmedOn), RenewalID: rec.RenewalID,
		TransferMethod: string(rec.TransferMethod), TransferLeader: rec.TransferLeadership, AllowedActions: []string{}}
	for _, r := range rec.ExceptionRules {
		out.ExceptionRules = append(out.ExceptionRules, string(r))
	}
	var prev time.Time
	for _, d := range rec.Decisions {
		ad := apiDecision{Step: string(d.Step), Action: string(d.Action), Role: string(d.Role),
			ActorName: d.ActorName, OnBehalfOf: d.OnBehalfOf, Opinion: d.Opinion, At: d.At}
		if !prev.IsZero() {
			ad.SpentSeconds = int64(d.At.Sub(prev) / time.Second)
		}
		prev = d.At
		out.Decisions = append(out.Decisions, ad)
	}
	for _, a := range actionsFor(u, rec, auth.User{}, false) {
		out.AllowedActions = append(out.AllowedActions, string(a.Action))
	}
	return out
}

// apiViolation is one rule a request breaks.
type apiViolation struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

// apiProblem is the problem document of a refused call: RFC 9457 plus the
// fields at fault and the rules broken.
type apiProblem struct {
	problem
	Errors map[string]string `json:"errors,omitempty"`
	Rules  []apiViolation    `json:"rules,omitempty"`
}

// apiFail answers a refused secondment call. A stale If-Match is 412, a
// request someone else moved on is 409, bad input and the rules' refusals
// are 422 with every field and rule named.
func (s *Server) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	code := status(err)
	if errors.Is(err, postgres.ErrStale) {
		code = http.StatusPreconditionFailed
	}
	if code >= 500 {
		s.apiErrorStatus(w, r, code, err)
		return
	}
	en := s.catalog.Localizer(i18n.English)
	p := apiProblem{problem: problem{Type: "about:blank", Title: http.StatusText(code), Status: code}}
	var de *secondment.Error
	if errors.As(err, &de) {
		p.Detail = en.Message(de.Message)
		for _, f := range de.Fields {
			if p.Errors == nil {
				p.Errors = map[string]string{}
			}
			p.Errors[f.Field] = en.Message(f.Message)
		}
		for _, v := range de.Violations {
			p.Rules = append(p.Rules, apiViolation{Rule: string(v.Rule), Severity: string(v.Severity), Message: en.Message(v.Message)})
		}
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(p)
}

// readJSON decodes a request body, refusing unknown fields and excess.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxLetterBytes*2))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.json"), Err: err}
	}
	return nil
}

// apiRequestOf is requestOf for the API: the error is problem+json.
func (s *Server) apiRequestOf(w http.ResponseWriter, r *http.Request) (auth.User, postgres.SecondmentRecord, bool) {
	u, err := currentUser(r)
	if err == nil {
		var rec postgres.SecondmentRecord
		if rec, err = s.visibleSecondment(r, u); err == nil {
			return u, rec, true
		}
	}
	s.apiFail(w, r, err)
	return u, postgres.SecondmentRecord{}, false
}

// apiDraft is the body of a create or an edit. PreviousID makes the
// request a renewal of that term (R6); an edit without it keeps the link.
type apiDraft struct {
	PersonID      int64  `json:"person_id"`
	PreviousID    *int64 `json:"previous_id"`
	Kind          string `json:"kind"`
	Alias         string `json:"alias"`
	Purpose       string `json:"purpose"`
	Task          string `json:"task"`
	Start         string `json:"start"`
	End           string `json:"end"`
	Justification string `json:"justification"`
}

// apiDraftOf converts the body, with the same checks as the form; a
// renewal is checked as the form checks it. previous is the term an edit
// renews already, kept when the body does not say.
func (s *Server) apiDraftOf(w http.ResponseWriter, r *http.Request, u auth.User, previous int64) (secondment.Secondment, error) {
	var body apiDraft
	if err := readJSON(w, r, &body); err != nil {
		return secondment.Secondment{}, err
	}
	if body.PreviousID != nil {
		previous = *body.PreviousID
	}
	f := formOf(map[string]string{"person": strconv.FormatInt(body.PersonID, 10), "kind": body.Kind, "alias": body.Alias,
		"purpose": body.Purpose, "task": strings.TrimSpace(body.Task), "start": body.Start, "end": body.End,
		"justification": strings.TrimSpace(body.Justification), "previous_id": strconv.FormatInt(previous, 10)})
	d := s.draftFrom(&f, u)
	if len(f.Errors) == 0 {
		if err := s.checkRenewal(r, u, d, &f); err != nil {
			return d, err
		}
	}
	if len(f.Errors) > 0 {
		return d, formError(f)
	}
	return d, nil
}

func (s *Server) handleAPISecondmentList(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	rows, err := s.listFor(r, u, r.URL.Query().Get("tab") == "todo")
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := make([]apiSecondment, 0, len(rows))
	for _, rec := range rows {
		out = append(out, toAPISecondment(u, rec))
	}
	writeJSON(w, map[string]any{"secondments": out})
}

// writeSecondment answers with a request, its version as the ETag.
func (s *Server) writeSecondment(w http.ResponseWriter, r *http.Request, u auth.User, id int64, code int) {
	rec, err := s.store.SecondmentGetRecord(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.Header().Set("ETag", `"`+strconv.Itoa(rec.Version)+`"`)
	w.Header().Set("Content-Type", "application/json")
	if code == http.StatusCreated {
		w.Header().Set("Location", "/api/v1/secondments/"+strconv.FormatInt(id, 10))
	}
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(toAPISecondment(u, rec))
}

// handleAPISecondmentCreate saves a draft. An Idempotency-Key header makes
// a retried call return the draft the first one made.
func (s *Server) handleAPISecondmentCreate(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	d, err := s.apiDraftOf(w, r, u, 0)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if err := s.checkNominee(r, u, d.PersonID); err != nil {
		s.apiFail(w, r, fieldErr("person", "secondment.error.person"))
		return
	}
	created, err := s.store.SecondmentCreate(r.Context(), u.Actor(secondment.RoleBorrower), d, r.Header.Get("Idempotency-Key"), s.clock.Now())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	s.writeSecondment(w, r, u, created.ID, http.StatusCreated)
}

func (s *Server) handleAPISecondmentCheck(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	d, err := s.apiDraftOf(w, r, u, 0)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	// Judging someone the clerk could not nominate would tell them how the
	// rules see a person outside their jurisdiction.
	if err := s.checkNominee(r, u, d.PersonID); err != nil {
		s.apiFail(w, r, fieldErr("person", "secondment.error.person"))
		return
	}
	ev, err := s.store.SecondmentEvaluate(r.Context(), d, secondment.Today(s.clock), false)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	en := s.catalog.Localizer(i18n.English)
	out := map[string]any{"jurisdiction": ev.Jurisdiction.Root.Name, "org_dept": ev.Jurisdiction.OrgDept.Name,
		"policy": en.Message(ev.Policy.Message()), "blocked": ev.Violations.Blocked(),
		"needs_exception": ev.Violations.NeedsException(),
		"usage": map[string]int{"used_days": ev.Usage.Used, "requested_days": ev.Usage.Requested,
			"cap_days": ev.Usage.CapDays, "cap_months": ev.Usage.CapMonths}}
	vs := []apiViolation{}
	for _, v := range ev.Violations {
		vs = append(vs, apiViolation{Rule: string(v.Rule), Severity: string(v.Severity), Message: en.Message(v.Message)})
	}
	out["violations"] = vs
	writeJSON(w, out)
}

func (s *Server) handleAPISecondmentGet(w http.ResponseWriter, r *http.Request) {
	u, rec, ok := s.apiRequestOf(w, r)
	if !ok {
		return
	}
	s.writeSecondment(w, r, u, rec.ID, http.StatusOK)
}

// ifMatch reads the version an If-Match header names; 0 when absent.
func ifMatch(r *http.Request) (int, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return 0, nil
	}
	h = strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	v, err := strconv.Atoi(h)
	if err != nil || v < 1 {
		return 0, fieldErr("if_match", "error.if_match")
	}
	return v, nil
}

func (s *Server) handleAPISecondmentUpdate(w http.ResponseWriter, r *http.Request) {
	u, rec, ok := s.apiRequestOf(w, r)
	if !ok {
		return
	}
	version, err := ifMatch(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	d, err := s.apiDraftOf(w, r, u, rec.PreviousID)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if d.PersonID != rec.PersonID {
		if err := s.checkNominee(r, u, d.PersonID); err != nil {
			s.apiFail(w, r, fieldErr("person", "secondment.error.person"))
			return
		}
	}
	if _, _, err := s.store.SecondmentUpdateDraft(r.Context(), u.Actor(secondment.RoleBorrower), rec.ID, version, d, s.clock.Now()); err != nil {
		s.apiFail(w, r, err)
		return
	}
	s.writeSecondment(w, r, u, rec.ID, http.StatusOK)
}

// apiAction is the body of an action call. A transfer-in (R12) names its
// method, whether it fills a leadership post and how many leadership posts
// the borrowing unit has filled now; the org dept's approval of it says the
// posts filled again.
type apiAction struct {
	Opinion        string `json:"opinion"`
	ReturnedOn     string `json:"returned_on"`
	Handover       string `json:"handover"`
	TransferMethod string `json:"transfer_method"`
	Leadership     bool   `json:"leadership"`
	PostsFilled    *int   `json:"posts_filled"`
	Letter         *struct {
		Name    string `json:"name"`
		Content string `json:"content_base64"`
	} `json:"letter"`
}

func (s *Server) handleAPISecondmentAct(w http.ResponseWriter, r *http.Request) {
	u, rec, ok := s.apiRequestOf(w, r)
	if !ok {
		return
	}
	action := secondment.Action(chi.URLParam(r, "action"))
	if !action.Valid() {
		s.apiFail(w, r, errNotFound)
		return
	}
	version, err := ifMatch(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var body apiAction
	if r.ContentLength != 0 {
		if err := readJSON(w, r, &body); err != nil {
			s.apiFail(w, r, err)
			return
		}
	}
	fields := map[string]string{"opinion": strings.TrimSpace(body.Opinion), "date": body.ReturnedOn,
		"handover": strings.TrimSpace(body.Handover), "transfer_method": body.TransferMethod, "leadership": strconv.FormatBool(body.Leadership)}
	if body.PostsFilled != nil {
		fields["posts_filled"] = strconv.Itoa(*body.PostsFilled)
	}
	in, err := s.actionInput(action, formOf(fields))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var letter *postgres.Attachment
	if body.Letter != nil {
		data, err := base64.StdEncoding.DecodeString(body.Letter.Content)
		if err != nil {
			s.apiFail(w, r, uploadError("upload.error.type"))
			return
		}
		if letter, err = checkLetter(body.Letter.Name, data); err != nil {
			s.apiFail(w, r, err)
			return
		}
	}
	if _, err := s.store.SecondmentAct(r.Context(), rec.ID, version, actorFor(u, rec, action), in, s.clock.Now(), letter); err != nil {
		s.apiFail(w, r, err)
		return
	}
	s.writeSecondment(w, r, u, rec.ID, http.StatusOK)
}

// apiCoordinate runs urge, copy or hand-over from the API and answers with
// the request.
func (s *Server) apiCoordinate(w http.ResponseWriter, r *http.Request, urging bool, do func(auth.User, postgres.SecondmentRecord, map[string]any) error) {
	u, rec, ok := s.apiRequestOf(w, r)
	if !ok {
		return
	}
	if len(partiesOn(u, rec)) == 0 {
		// Copied in: read-only. Supervising (escalated to): may urge.
		supervising, err := s.supervises(r, u, rec)
		if err != nil || !urging || !supervising {
			s.apiFail(w, r, errors.Join(err, errRoleRequired))
			return
		}
	}
	body := map[string]any{}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFormBytes)).Decode(&body); err != nil {
			s.apiFail(w, r, &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.json"), Err: err})
			return
		}
	}
	if err := do(u, rec, body); err != nil {
		if errors.Is(err, postgres.ErrTooSoon) {
			w.Header().Set("Retry-After", strconv.Itoa(int(urgeInterval/time.Second)))
			s.apiErrorStatus(w, r, http.StatusTooManyRequests, err)
			return
		}
		s.apiFail(w, r, err)
		return
	}
	s.writeSecondment(w, r, u, rec.ID, http.StatusOK)
}

func (s *Server) handleAPISecondmentUrge(w http.ResponseWriter, r *http.Request) {
	s.apiCoordinate(w, r, true, func(u auth.User, rec postgres.SecondmentRecord, _ map[string]any) error {
		return s.store.SecondmentUrge(r.Context(), u, rec.ID, urgeInterval, s.clock.Now())
	})
}

func (s *Server) handleAPISecondmentCopy(w http.ResponseWriter, r *http.Request) {
	s.apiCoordinate(w, r, false, func(u auth.User, rec postgres.SecondmentRecord, body map[string]any) error {
		login, _ := body["login"].(string)
		_, err := s.store.SecondmentCopy(r.Context(), u, rec.ID, login, s.clock.Now())
		return err
	})
}

func (s *Server) handleAPISecondmentHandOver(w http.ResponseWriter, r *http.Request) {
	s.apiCoordinate(w, r, false, func(u auth.User, rec postgres.SecondmentRecord, body map[string]any) error {
		to, _ := body["to_user_id"].(float64)
		_, err := s.store.SecondmentHandOver(r.Context(), u, rec.ID, int64(to), s.clock.Now())
		return err
	})
}
