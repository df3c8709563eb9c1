package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"secondment/internal/auth"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
	"secondment/web"
)

// playsOn reports whether u, in chain role r, is a party to rec: the
// borrowing unit's clerk always; the lending unit and the org dept once the
// request is submitted (a draft is the borrowing unit's own).
func playsOn(u auth.User, r secondment.Role, rec postgres.SecondmentRecord) bool {
	switch r {
	case secondment.RoleBorrower:
		return rec.BorrowerID == u.UnitID
	case secondment.RoleLender:
		return rec.State != secondment.StateDraft && rec.LenderID == u.UnitID
	case secondment.RoleOrgDept, secondment.RoleRegistrar:
		return rec.OrgDeptID != 0 && rec.OrgDeptID == u.UnitID
	}
	return false
}

// party is a chain role in which a user takes part in a request: their
// own, or one of a colleague they stand in for (For).
type party struct {
	role secondment.Role
	for_ *auth.User
}

// actor is the domain's actor for u acting in p.
func (p party) actor(u auth.User) secondment.Actor {
	a := u.Actor(p.role)
	if p.for_ != nil {
		a.ForID, a.ForName = p.for_.ID, p.for_.Name
	}
	return a
}

// partiesOn lists the ways u takes part in rec: u's own chain roles first,
// then those of the colleagues u stands in for today.
func partiesOn(u auth.User, rec postgres.SecondmentRecord) []party {
	var out []party
	for _, role := range u.Roles {
		if r, ok := role.Chain(); ok && playsOn(u, r, rec) {
			out = append(out, party{role: r})
		}
	}
	for i := range u.ActingFor {
		p := &u.ActingFor[i]
		for _, role := range p.Roles {
			if r, ok := role.Chain(); ok && playsOn(*p, r, rec) {
				out = append(out, party{role: r, for_: p})
			}
		}
	}
	return out
}

// visibleSecondment loads a request the user is a party to; any other is
// not found, as if it did not exist.
func (s *Server) visibleSecondment(r *http.Request, u auth.User) (postgres.SecondmentRecord, error) {
	id, err := pathID(r, "secondmentID")
	if err != nil {
		return postgres.SecondmentRecord{}, err
	}
	rec, err := s.store.SecondmentGetRecord(r.Context(), id)
	if err != nil {
		return rec, err
	}
	if ok, err := s.canSee(r, u, rec); err != nil || !ok {
		return postgres.SecondmentRecord{}, errors.Join(err, secondment.NotFound("secondment"))
	}
	return rec, nil
}

// requestOf is the signed-in user and the request of the URL, which they
// may see; otherwise it has answered with the error page.
func (s *Server) requestOf(w http.ResponseWriter, r *http.Request) (auth.User, postgres.SecondmentRecord, bool) {
	u, err := currentUser(r)
	if err == nil {
		var rec postgres.SecondmentRecord
		if rec, err = s.visibleSecondment(r, u); err == nil {
			return u, rec, true
		}
	}
	s.renderError(w, r, err)
	return u, postgres.SecondmentRecord{}, false
}

// partyRequestOf is requestOf for what only the request's parties get —
// the signed letter, the approval form: for anyone else (copied in,
// supervising) it does not exist.
func (s *Server) partyRequestOf(w http.ResponseWriter, r *http.Request) (postgres.SecondmentRecord, bool) {
	u, rec, ok := s.requestOf(w, r)
	if ok && len(partiesOn(u, rec)) == 0 {
		s.renderError(w, r, secondment.NotFound("secondment"))
		return rec, false
	}
	return rec, ok
}

// canSee reports whether u may read rec: a party to it, or copied in.
func (s *Server) canSee(r *http.Request, u auth.User, rec postgres.SecondmentRecord) (bool, error) {
	if len(partiesOn(u, rec)) > 0 {
		return true, nil
	}
	if ok, err := s.supervises(r, u, rec); ok || err != nil {
		return ok, err
	}
	return s.store.SecondmentCopied(r.Context(), rec.ID, u.ID)
}

// supervises reports whether rec's waiting step was flagged to u's org
// dept, which may then read it and urge it on.
func (s *Server) supervises(r *http.Request, u auth.User, rec postgres.SecondmentRecord) (bool, error) {
	if !u.Has(auth.RoleOrgDept) {
		return false, nil
	}
	return s.store.SecondmentEscalated(r.Context(), rec.ID, u.UnitID)
}

// todoStates are the states in which each role has something to do.
var todoStates = map[secondment.Role][]secondment.State{
	secondment.RoleBorrower:  {secondment.StateDraft, secondment.StateSentBack, secondment.StateApproved, secondment.StateExpired, secondment.StateOverdue},
	secondment.RoleLender:    {secondment.StateAwaitingConsent, secondment.StateReturnRecorded},
	secondment.RoleOrgDept:   {secondment.StateAwaitingSignoff, secondment.StateTransferPending},
	secondment.RoleRegistrar: {secondment.StateExpired, secondment.StateOverdue},
}

// listFor gathers the requests u is a party to; with todo, only those
// waiting for u.
func (s *Server) listFor(r *http.Request, u auth.User, todo bool) ([]postgres.SecondmentRecord, error) {
	seen := map[int64]bool{}
	var out []postgres.SecondmentRecord
	for _, who := range append([]auth.User{u}, u.ActingFor...) {
		rows, err := s.listOf(r, who, todo, seen)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	slices.SortFunc(out, func(a, b postgres.SecondmentRecord) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

// listOf gathers the requests u is a party to in u's own roles.
func (s *Server) listOf(r *http.Request, u auth.User, todo bool, seen map[int64]bool) ([]postgres.SecondmentRecord, error) {
	var out []postgres.SecondmentRecord
	for _, role := range u.Roles {
		cr, ok := role.Chain()
		if !ok {
			continue
		}
		f := postgres.SecondmentFilter{Limit: 500}
		switch cr {
		case secondment.RoleBorrower:
			f.BorrowerID = u.UnitID
		case secondment.RoleLender:
			f.LenderID = u.UnitID
		default:
			f.OrgDeptID = u.UnitID
		}
		if todo {
			f.States = todoStates[cr]
		}
		rows, err := s.store.SecondmentList(r.Context(), f)
		if err != nil {
			return nil, err
		}
		for _, rec := range rows {
			if !seen[rec.ID] && playsOn(u, cr, rec) {
				seen[rec.ID] = true
				out = append(out, rec)
			}
		}
		if cr == secondment.RoleOrgDept {
			// Steps left waiting below, flagged to this org dept to follow up.
			flagged, err := s.store.SecondmentEscalatedTo(r.Context(), u.UnitID)
			if err != nil {
				return nil, err
			}
			for _, rec := range flagged {
				if !seen[rec.ID] {
					seen[rec.ID] = true
					out = append(out, rec)
				}
			}
		}
	}
	return out, nil
}

func (s *Server) handleSecondmentList(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	todo, err := s.listFor(r, u, true)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v := web.SecondmentListView{Tab: web.TabTodo, Rows: todo, TodoCount: len(todo), CanCreate: u.Has(auth.RoleBorrower)}
	if r.URL.Query().Get("tab") == string(web.TabAll) {
		v.Tab = web.TabAll
		if v.Rows, err = s.listFor(r, u, false); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	s.render(w, r, web.SecondmentListPage(v))
}

// nominees are the people a borrowing clerk may propose: everyone on record
// in the jurisdiction, outside the clerk's own unit. The rules, not this
// list, decide who may really be borrowed, and say why.
func (s *Server) nominees(r *http.Request, u auth.User) ([]web.PersonOption, error) {
	_, h, err := s.scopeOf(r.Context(), u)
	if err != nil {
		return nil, err
	}
	policies, err := s.store.PolicyAll(r.Context())
	if err != nil {
		return nil, err
	}
	root := u.UnitID
	if j, err := h.Jurisdiction(u.UnitID, policies); err == nil {
		root = j.Root.ID
	}
	in := map[int64]bool{}
	for _, id := range h.Subtree(root) {
		in[id] = id != u.UnitID
	}
	people, err := s.store.PersonList(r.Context(), postgres.PersonFilter{})
	if err != nil {
		return nil, err
	}
	var out []web.PersonOption
	for _, p := range people {
		if in[p.HomeUnitID] {
			out = append(out, web.PersonOption{ID: p.ID, Name: p.Name, UnitName: p.HomeUnitName, Post: p.Post})
		}
	}
	return out, nil
}

var secondmentFields = []string{"person", "kind", "alias", "purpose", "task", "start", "end", "justification", "idempotency_key", "version", "previous_id"}

// newKey is an idempotency key for a create form: the form carries it, so a
// double-clicked submit creates one request.
func newKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) handleSecondmentNew(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	people, err := s.nominees(r, u)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	// The search narrows the candidates by name or unit.
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q != "" {
		people = slices.DeleteFunc(people, func(p web.PersonOption) bool {
			return !strings.Contains(p.Name, q) && !strings.Contains(p.UnitName, q)
		})
	}
	f := web.NewForm()
	f.Values["q"] = q
	f.Values["idempotency_key"] = newKey()
	f.Values["kind"] = string(secondment.KindSecondment)
	f.Values["purpose"] = string(secondment.PurposeKeyTask)
	s.render(w, r, web.SecondmentFormPage(web.SecondmentFormView{Form: f, People: people}))
}

// draftFrom reads a request form. Problems with the input itself (not the
// rules) are put on f.
func (s *Server) draftFrom(f *web.Form, u auth.User) secondment.Secondment {
	d := secondment.Secondment{BorrowerID: u.UnitID, Kind: secondment.Kind(f.Value("kind")),
		Alias: secondment.Alias(f.Value("alias")), Purpose: secondment.Purpose(f.Value("purpose")),
		Task: f.Value("task"), Justification: f.Value("justification")}
	if id, err := strconv.ParseInt(f.Value("person"), 10, 64); err == nil && id > 0 {
		d.PersonID = id
	} else {
		f.Errors["person"] = secondment.Msg("secondment.error.person")
	}
	if v := f.Value("previous_id"); v != "" && v != "0" {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
			d.PreviousID = id
		} else {
			f.Errors["previous_id"] = secondment.Msg("term.error.previous_unit")
		}
	}
	today := secondment.Today(s.clock)
	for _, fd := range []struct {
		field string
		dst   *secondment.Date
	}{{"start", &d.Start}, {"end", &d.End}} {
		v := f.Value(fd.field)
		if v == "" {
			f.Errors[fd.field] = secondment.Msg("error.required")
			continue
		}
		day, err := secondment.ParseDate(v)
		if err != nil {
			f.Errors[fd.field] = secondment.Msg("error.date")
			continue
		}
		if day.Before(today) {
			f.Errors[fd.field] = secondment.Msg("secondment.error.past", "Today", today.String())
		}
		*fd.dst = day
	}
	return d
}

// check judges a draft for the form's panel.
func (s *Server) check(r *http.Request, d secondment.Secondment) *web.CheckView {
	if d.PersonID == 0 || d.Start.IsZero() || d.End.IsZero() {
		return nil
	}
	ev, err := s.store.SecondmentEvaluate(r.Context(), d, secondment.Today(s.clock), false)
	if err != nil {
		var de *secondment.Error
		if errors.As(err, &de) && de.Code != secondment.EInternal {
			return &web.CheckView{Error: de.Message}
		}
		s.log.Error("policy check", "err", err)
		return &web.CheckView{Error: secondment.Msg("check.failed")}
	}
	return checkView(ev)
}

func checkView(ev postgres.Evaluation) *web.CheckView {
	b := ev.Burden
	return &web.CheckView{Jurisdiction: ev.Jurisdiction.Root.Name, OrgDept: ev.Jurisdiction.OrgDept.Name,
		Policy: ev.Policy.Message(), Violations: ev.Violations, Usage: ev.Usage, Burden: &b, LenderName: ev.LenderName}
}

// handleSecondmentCheck answers the form's "check" button (and htmx's live
// check): the same form, with the rules' verdict beside it. Nothing is saved.
func (s *Server) handleSecondmentCheck(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f, err := readForm(w, r, secondmentFields...)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	people, err := s.nominees(r, u)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d := s.draftFrom(&f, u)
	f.Errors = map[string]secondment.Message{} // the check shows the rules, not the form's problems
	if d.PersonID != 0 && s.checkNominee(r, u, d.PersonID) != nil {
		// Someone the clerk could not pick: judged as if unknown, so the
		// check tells nothing about people outside the jurisdiction.
		f.Errors["person"] = secondment.Msg("secondment.error.person")
		d.PersonID = 0
	}
	version, _ := strconv.Atoi(f.Value("version"))
	editID, _ := strconv.ParseInt(r.URL.Query().Get("id"), 10, 64)
	v := web.SecondmentFormView{Form: f, People: people, Check: s.check(r, d), EditID: editID, Version: version}
	s.renewalContext(r, u, &v)
	s.render(w, r, web.SecondmentFormPage(v))
}

func (s *Server) handleSecondmentCreate(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f, err := readForm(w, r, secondmentFields...)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d := s.draftFrom(&f, u)
	refuse := func(err error) {
		if err != nil && !withErrors(&f, err) {
			s.renderError(w, r, err)
			return
		}
		f.Summary = secondment.Msg("error.invalid")
		people, perr := s.nominees(r, u)
		if perr != nil {
			s.renderError(w, r, perr)
			return
		}
		v := web.SecondmentFormView{Form: f, People: people, Check: s.check(r, d)}
		s.renewalContext(r, u, &v)
		s.renderStatus(w, r, http.StatusUnprocessableEntity, web.SecondmentFormPage(v))
	}
	if len(f.Errors) > 0 {
		refuse(nil)
		return
	}
	if err := s.checkNominee(r, u, d.PersonID); err != nil {
		f.Errors["person"] = secondment.Msg("secondment.error.person")
		d.PersonID = 0 // not judged: the check says nothing of people outside the jurisdiction
		refuse(nil)
		return
	}
	if err := s.checkRenewal(r, u, d, &f); err != nil {
		s.renderError(w, r, err)
		return
	}
	if len(f.Errors) > 0 {
		refuse(nil)
		return
	}
	created, err := s.store.SecondmentCreate(r.Context(), u.Actor(secondment.RoleBorrower), d, f.Value("idempotency_key"), s.clock.Now())
	if err != nil {
		refuse(err)
		return
	}
	http.Redirect(w, r, "/secondments/"+strconv.FormatInt(created.ID, 10), http.StatusSeeOther)
}

// checkNominee refuses a person the clerk could not have picked: one
// outside the jurisdiction, as if unknown.
func (s *Server) checkNominee(r *http.Request, u auth.User, personID int64) error {
	people, err := s.nominees(r, u)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(people, func(p web.PersonOption) bool { return p.ID == personID }) {
		return secondment.NotFound("person")
	}
	return nil
}

func (s *Server) handleSecondmentEdit(w http.ResponseWriter, r *http.Request) {
	u, rec, ok := s.requestOf(w, r)
	if !ok {
		return
	}
	if rec.BorrowerID != u.UnitID || (rec.State != secondment.StateDraft && rec.State != secondment.StateSentBack) {
		s.renderError(w, r, errRoleRequired)
		return
	}
	people, err := s.nominees(r, u)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f := web.NewForm()
	for k, v := range map[string]string{"person": strconv.FormatInt(rec.PersonID, 10), "kind": string(rec.Kind),
		"alias": string(rec.Alias), "purpose": string(rec.Purpose), "task": rec.Task, "start": rec.Start.String(),
		"end": rec.End.String(), "justification": rec.Justification} {
		f.Values[k] = v
	}
	if rec.PreviousID != 0 {
		f.Values["previous_id"] = strconv.FormatInt(rec.PreviousID, 10)
	}
	v := web.SecondmentFormView{Form: f, People: people, EditID: rec.ID, Version: rec.Version, Check: s.check(r, rec.Secondment)}
	s.renewalContext(r, u, &v)
	s.render(w, r, web.SecondmentFormPage(v))
}

func (s *Server) handleSecondmentUpdate(w http.ResponseWriter, r *http.Request) {
	u, rec, ok := s.requestOf(w, r)
	if !ok {
		return
	}
	f, err := readForm(w, r, secondmentFields...)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d := s.draftFrom(&f, u)
	version, _ := strconv.Atoi(f.Value("version"))
	if len(f.Errors) == 0 && d.PersonID != rec.PersonID {
		if err := s.checkNominee(r, u, d.PersonID); err != nil {
			f.Errors["person"] = secondment.Msg("secondment.error.person")
			d.PersonID = 0 // not judged, as on creation
		}
	}
	if len(f.Errors) == 0 {
		if err := s.checkRenewal(r, u, d, &f); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	if len(f.Errors) == 0 {
		_, _, err = s.store.SecondmentUpdateDraft(r.Context(), u.Actor(secondment.RoleBorrower), rec.ID, version, d, s.clock.Now())
		if err == nil {
			http.Redirect(w, r, "/secondments/"+strconv.FormatInt(rec.ID, 10), http.StatusSeeOther)
			return
		}
		if errors.Is(err, postgres.ErrStale) || secondment.ErrorCodeOf(err) == secondment.EConflict {
			s.showSecondment(w, r, u, rec.ID, http.StatusConflict, web.NewForm(), secondment.Msg("error.conflict"))
			return
		}
		if !withErrors(&f, err) {
			s.renderError(w, r, err)
			return
		}
	}
	f.Summary = secondment.Msg("error.invalid")
	people, err := s.nominees(r, u)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v := web.SecondmentFormView{Form: f, People: people, EditID: rec.ID, Version: version, Check: s.check(r, d)}
	s.renewalContext(r, u, &v)
	s.renderStatus(w, r, http.StatusUnprocessableEntity, web.SecondmentFormPage(v))
}

func (s *Server) handleSecondmentShow(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	id, err := pathID(r, "secondmentID")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.showSecondment(w, r, u, id, http.StatusOK, web.NewForm(), secondment.Message{})
}

// showSecondment renders a request's page with status, an action's refused
// form and a notice (e.g. "已被他人处理" after losing a race).
func (s *Server) showSecondment(w http.ResponseWriter, r *http.Request, u auth.User, id int64, status int, f web.Form, notice secondment.Message) {
	s.showRefused(w, r, u, id, status, f, notice, nil)
}

// showRefused is showSecondment with the rules that refused an action
// (R12 on a transfer-in, R11 on a recall), each explained.
func (s *Server) showRefused(w http.ResponseWriter, r *http.Request, u auth.User, id int64, status int, f web.Form,
	notice secondment.Message, refused secondment.Violations) {
	ctx := r.Context()
	rec, err := s.store.SecondmentGetRecord(ctx, id)
	if err == nil {
		if ok, cerr := s.canSee(r, u, rec); cerr != nil || !ok {
			err = errors.Join(cerr, secondment.NotFound("secondment"))
		}
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	handler, handed, err := s.store.SecondmentHandler(ctx, rec.ID, rec.State)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v := web.SecondmentShowView{Rec: rec, Form: f, Notice: notice, Actions: actionsFor(u, rec, handler, handed), Refused: refused}
	if handed {
		v.Handler = handler.Name
	}
	party := len(partiesOn(u, rec)) > 0
	if supervising, err := s.supervises(r, u, rec); err != nil {
		s.renderError(w, r, err)
		return
	} else if supervising {
		v.CanUrge, v.Supervised = true, true
	}
	if pendingRole, pendingUnit, ok := pending(rec); ok && party {
		mine := pendingUnit == u.UnitID && hasRole(u, pendingRole)
		v.CanUrge = !mine
		if mine && (!handed || handler.ID == u.ID) {
			colleagues, err := s.store.UserColleagues(ctx, u.UnitID, roleOfChain(pendingRole))
			if err != nil {
				s.renderError(w, r, err)
				return
			}
			for _, c := range colleagues {
				if c.ID != u.ID {
					v.Colleagues = append(v.Colleagues, web.PersonOption{ID: c.ID, Name: c.Name, UnitName: c.UnitName})
				}
			}
		}
	}
	v.CanCopy, v.Party = party, party
	var files []postgres.Attachment
	if len(partiesOn(u, rec)) > 0 {
		if files, err = s.store.AttachmentList(ctx, rec.ID); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	for _, a := range files {
		v.Attachments = append(v.Attachments, web.AttachmentView{ID: a.ID, Name: a.Name, Size: a.Size, Uploaded: a.UploadedAt})
	}
	today := secondment.Today(s.clock)
	if now, err := s.store.SecondmentEvaluate(ctx, rec.Secondment, today, false); err == nil {
		v.Now = checkView(now)
		v.Jurisdiction, v.OrgDept = now.Jurisdiction.Root.Name, now.Jurisdiction.OrgDept.Name
	}
	if rec.JurisdictionID != 0 {
		if then, err := s.store.SecondmentEvaluate(ctx, rec.Secondment, rec.SubmittedOn, true); err == nil {
			v.AtSubmit = checkView(then)
			v.Jurisdiction, v.OrgDept = then.Jurisdiction.Root.Name, then.Jurisdiction.OrgDept.Name
		}
	}
	unitOf := map[secondment.Role]string{secondment.RoleBorrower: rec.BorrowerName, secondment.RoleLender: rec.LenderName,
		secondment.RoleOrgDept: v.OrgDept, secondment.RoleRegistrar: v.OrgDept}
	var prev time.Time
	for _, d := range rec.Decisions {
		row := web.TimelineRow{Decision: d, UnitName: unitOf[d.Role]}
		if !prev.IsZero() {
			row.Spent = d.At.Sub(prev)
		}
		prev = d.At
		v.Timeline = append(v.Timeline, row)
	}
	history, err := s.store.SecondmentList(ctx, postgres.SecondmentFilter{PersonID: rec.PersonID, Limit: 50})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	for _, h := range history {
		if h.ID != rec.ID && h.Number != "" {
			v.History = append(v.History, h)
		}
	}
	if err := s.termContext(r, u, rec, history, &v); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.renderStatus(w, r, status, web.SecondmentShowPage(v))
}

// actionsFor lists what u may do on rec now, by the transition table; the
// domain checks again when it is done. Deciding on one's own request is
// left out, the system's steps are the sweep's, and a step handed to a
// colleague is theirs alone.
func actionsFor(u auth.User, rec postgres.SecondmentRecord, handler auth.User, handed bool) []web.ActionView {
	var out []web.ActionView
	seen := map[secondment.Action]bool{}
	pendingRole, _, _ := pending(rec)
	for _, p := range partiesOn(u, rec) {
		r := p.role
		if handed && r == pendingRole && handler.ID != u.ID {
			continue
		}
		for _, a := range secondment.Allowed(rec.State, r) {
			if seen[a] || a == secondment.ActExpire || a == secondment.ActMarkOverdue {
				continue
			}
			deciding := a == secondment.ActConsent || a == secondment.ActDecline || a == secondment.ActSendBack ||
				a == secondment.ActApprove || a == secondment.ActReject
			if deciding && (rec.FiledBy(u.ID) || (p.for_ != nil && rec.FiledBy(p.for_.ID))) {
				continue
			}
			seen[a] = true
			v := web.ActionView{Action: a, Opinion: deciding || a == secondment.ActRecall || a == secondment.ActTransfer,
				Transfer:    a == secondment.ActTransfer,
				PostsFilled: a == secondment.ActApprove && rec.State == secondment.StateTransferPending && rec.TransferLeadership,
				Upload:      a == secondment.ActConsent || a == secondment.ActDecline,
				Danger:      a == secondment.ActDecline || a == secondment.ActReject || a == secondment.ActWithdraw || a == secondment.ActSendBack}
			if a == secondment.ActRecordReturn {
				v.Date = "secondment.return_date"
			}
			out = append(out, v)
		}
	}
	return out
}

// actorFor picks how u takes action a on rec: in a part the table allows
// (u's own roles before a colleague's); failing that, u's first part, so
// the domain gives the precise refusal.
func actorFor(u auth.User, rec postgres.SecondmentRecord, a secondment.Action) secondment.Actor {
	parts := partiesOn(u, rec)
	for _, p := range parts {
		if slices.Contains(secondment.Allowed(rec.State, p.role), a) {
			return p.actor(u)
		}
	}
	if len(parts) > 0 {
		return parts[0].actor(u)
	}
	return u.Actor("")
}

// handleSecondmentAct takes one step of the chain from a page's form.
func (s *Server) handleSecondmentAct(w http.ResponseWriter, r *http.Request) {
	u, rec, ok := s.requestOf(w, r)
	if !ok {
		return
	}
	action := secondment.Action(chi.URLParam(r, "action"))
	if !action.Valid() {
		s.renderError(w, r, errNotFound)
		return
	}
	f, letter, err := readActionForm(w, r)
	if err != nil {
		if !withErrors(&f, err) {
			s.renderError(w, r, err)
			return
		}
		s.showSecondment(w, r, u, rec.ID, http.StatusUnprocessableEntity, f, secondment.Message{})
		return
	}
	for _, k := range []string{"transfer_method", "leadership", "posts_filled"} {
		f.Values[k] = strings.TrimSpace(r.FormValue(k))
	}
	version, _ := strconv.Atoi(f.Value("version"))
	in, err := s.actionInput(action, f)
	if err != nil {
		withErrors(&f, err)
		s.showSecondment(w, r, u, rec.ID, http.StatusUnprocessableEntity, f, secondment.Message{})
		return
	}
	_, err = s.store.SecondmentAct(r.Context(), rec.ID, version, actorFor(u, rec, action), in, s.clock.Now(), letter)
	switch {
	case err == nil:
		http.Redirect(w, r, "/secondments/"+strconv.FormatInt(rec.ID, 10), http.StatusSeeOther)
	case secondment.ErrorCodeOf(err) == secondment.EConflict:
		// Someone acted first (or the page was stale): show what is there now.
		s.showSecondment(w, r, u, rec.ID, http.StatusConflict, web.NewForm(), secondment.Msg("error.conflict"))
	case secondment.ErrorCodeOf(err) == secondment.EInvalid:
		withErrors(&f, err)
		var de *secondment.Error
		var refused secondment.Violations
		if errors.As(err, &de) && len(de.Violations) > 0 {
			f.Summary = secondment.Msg("secondment.error.rules", "Rules", ruleList(de.Violations))
			refused = de.Violations
		}
		s.showRefused(w, r, u, rec.ID, http.StatusUnprocessableEntity, f, secondment.Message{}, refused)
	default:
		s.renderError(w, r, err)
	}
}

func ruleList(vs secondment.Violations) string {
	out := ""
	for i, id := range vs.Rules() {
		if i > 0 {
			out += "、"
		}
		out += string(id)
	}
	return out
}

// actionInput builds the domain's input from an action's form: the
// opinion; for a return its date and handover; for a transfer-in (R12) the
// method, whether it fills a leadership post and how many leadership posts
// are filled now (the schema does not record that number, so whoever
// applies or decides says it); for the org dept's decision on a
// transfer-in, the posts filled now again.
func (s *Server) actionInput(a secondment.Action, f web.Form) (secondment.Input, error) {
	in := secondment.Input{Action: a, Opinion: f.Value("opinion"), Handover: f.Value("handover")}
	if a == secondment.ActRecordReturn {
		d, err := secondment.ParseDate(f.Value("date"))
		if err != nil {
			return in, &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"),
				Fields: []secondment.FieldError{{Field: "date", Message: secondment.Msg("error.date")}}}
		}
		in.ReturnedOn = d
	}
	if a == secondment.ActTransfer || a == secondment.ActApprove {
		filled := 0
		if v := f.Value("posts_filled"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > maxPostsFilled {
				return in, fieldErr("posts_filled", "term.error.posts_filled")
			}
			filled = n
		}
		in.Transfer = &secondment.TransferFacts{PostsFilled: filled}
	}
	if a == secondment.ActTransfer {
		in.TransferMethod = secondment.TransferMethod(f.Value("transfer_method"))
		switch f.Value("leadership") {
		case "", "0", "false", "off":
		case "1", "true", "on":
			in.Transfer.Leadership = true
		default:
			return in, fieldErr("leadership", "term.error.leadership")
		}
	}
	return in, nil
}

// maxPostsFilled bounds the leadership posts a unit may say it has filled.
const maxPostsFilled = 1000

func (s *Server) handleSecondmentPrint(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.partyRequestOf(w, r)
	if !ok {
		return
	}
	p, err := s.store.PersonGet(r.Context(), rec.PersonID)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v := web.PrintView{Rec: rec, Post: p.Post, Rank: p.Rank, Printed: s.clock.Now().In(secondment.Shanghai).Format("2006-01-02 15:04")}
	if rec.PreviousID != 0 {
		if prev, err := s.store.SecondmentGetRecord(r.Context(), rec.PreviousID); err == nil {
			v.PreviousNumber = prev.Number
		}
	}
	if rec.OrgDeptID != 0 {
		if ev, err := s.store.SecondmentEvaluate(r.Context(), rec.Secondment, rec.SubmittedOn, true); err == nil {
			v.OrgDept = ev.Jurisdiction.OrgDept.Name
		}
	}
	// The form prints the last word of each party: the submission, the
	// lending unit's opinion, the org dept's decision.
	last := map[secondment.Role]secondment.Decision{}
	for _, d := range rec.Decisions {
		// A transfer-in is a later procedure: its steps print apart, not
		// over the approval of the secondment.
		if d.Action == secondment.ActTransfer || d.Step == secondment.StateTransferPending {
			v.Transfer = append(v.Transfer, d)
			continue
		}
		switch d.Action {
		case secondment.ActSubmit, secondment.ActResubmit, secondment.ActConsent, secondment.ActDecline,
			secondment.ActApprove, secondment.ActReject:
			last[d.Role] = d
		}
	}
	for _, role := range []secondment.Role{secondment.RoleBorrower, secondment.RoleLender, secondment.RoleOrgDept} {
		if d, ok := last[role]; ok {
			v.Opinions = append(v.Opinions, d)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := web.PrintPage(v).Render(r.Context(), w); err != nil {
		s.log.Error("render", "err", err)
	}
}

// handleAttachment sends a request's file to a party to the request. The
// stored content type was checked at upload; the file is always offered as
// a download, never rendered inline under the site's origin.
func (s *Server) handleAttachment(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.partyRequestOf(w, r)
	if !ok {
		return
	}
	id, err := pathID(r, "attachmentID")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	a, err := s.store.AttachmentGet(r.Context(), rec.ID, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", a.ContentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Name}))
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write(a.Data)
}

func (s *Server) handleNotificationList(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	all, err := s.notificationsOf(r.Context(), u, 100)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, web.NotificationPage(web.NotificationView{Items: all}))
}

// notificationsOf is what u was told in each of their chain roles, newest
// first (limit per role; 0: all).
func (s *Server) notificationsOf(ctx context.Context, u auth.User, limit int) ([]postgres.Notification, error) {
	var all []postgres.Notification
	for _, role := range u.Roles {
		cr, ok := role.Chain()
		if !ok {
			continue
		}
		ns, err := s.store.NotificationListFor(ctx, cr, u.UnitID, u.ID, limit)
		if err != nil {
			return nil, err
		}
		all = append(all, ns...)
	}
	slices.SortFunc(all, func(a, b postgres.Notification) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return all, nil
}

// markAllRead marks everything u was told as read; it returns how many.
func (s *Server) markAllRead(ctx context.Context, u auth.User) (int, error) {
	total := 0
	for _, role := range u.Roles {
		cr, ok := role.Chain()
		if !ok {
			continue
		}
		n, err := s.store.NotificationMarkAllRead(ctx, cr, u.UnitID, u.ID, s.clock.Now())
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// pending is whose move it is on rec (the store's rule).
func pending(rec postgres.SecondmentRecord) (secondment.Role, int64, bool) {
	return postgres.PendingParty(rec)
}

func hasRole(u auth.User, r secondment.Role) bool {
	for _, role := range u.Roles {
		if cr, ok := role.Chain(); ok && cr == r {
			return true
		}
	}
	return false
}

// roleOfChain is the account role that plays chain role r.
func roleOfChain(r secondment.Role) auth.Role {
	for _, role := range auth.AllRoles {
		if cr, ok := role.Chain(); ok && cr == r {
			return role
		}
	}
	return ""
}

// urgeInterval is how often one user may urge one request.
const urgeInterval = 24 * time.Hour

func (s *Server) handleSecondmentUrge(w http.ResponseWriter, r *http.Request) {
	s.coordinate(w, r, true, func(u auth.User, rec postgres.SecondmentRecord) (secondment.Message, error) {
		return secondment.Msg("urge.done"), s.store.SecondmentUrge(r.Context(), u, rec.ID, urgeInterval, s.clock.Now())
	})
}

func (s *Server) handleSecondmentCopy(w http.ResponseWriter, r *http.Request) {
	s.coordinate(w, r, false, func(u auth.User, rec postgres.SecondmentRecord) (secondment.Message, error) {
		to, err := s.store.SecondmentCopy(r.Context(), u, rec.ID, strings.TrimSpace(r.PostFormValue("login")), s.clock.Now())
		return secondment.Msg("cc.done", "Name", to.Name), err
	})
}

func (s *Server) handleSecondmentHandOver(w http.ResponseWriter, r *http.Request) {
	s.coordinate(w, r, false, func(u auth.User, rec postgres.SecondmentRecord) (secondment.Message, error) {
		to, _ := strconv.ParseInt(r.PostFormValue("to"), 10, 64)
		got, err := s.store.SecondmentHandOver(r.Context(), u, rec.ID, to, s.clock.Now())
		return secondment.Msg("handover.done", "Name", got.Name), err
	})
}

// coordinate runs one of the working-together steps (urge, copy, hand
// over) from a request's page and shows the page again with its outcome.
// urging is also open to a supervising org dept the step was flagged to.
func (s *Server) coordinate(w http.ResponseWriter, r *http.Request, urging bool, do func(auth.User, postgres.SecondmentRecord) (secondment.Message, error)) {
	u, rec, ok := s.requestOf(w, r)
	if !ok {
		return
	}
	if len(partiesOn(u, rec)) == 0 {
		// Copied in: read-only. Supervising (escalated to): may urge.
		supervising, err := s.supervises(r, u, rec)
		if err != nil || !urging || !supervising {
			s.renderError(w, r, errors.Join(err, errRoleRequired))
			return
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, err)
		return
	}
	done, err := do(u, rec)
	f := web.NewForm()
	switch {
	case err == nil:
		s.showSecondment(w, r, u, rec.ID, http.StatusOK, f, done)
	case errors.Is(err, postgres.ErrTooSoon):
		withErrors(&f, err)
		var de *secondment.Error
		if errors.As(err, &de) {
			f.Summary = de.Message
		}
		s.showSecondment(w, r, u, rec.ID, http.StatusTooManyRequests, f, secondment.Message{})
	case secondment.ErrorCodeOf(err) == secondment.EInvalid:
		withErrors(&f, err)
		s.showSecondment(w, r, u, rec.ID, http.StatusUnprocessableEntity, f, secondment.Message{})
	case secondment.ErrorCodeOf(err) == secondment.EConflict:
		s.showSecondment(w, r, u, rec.ID, http.StatusConflict, f, secondment.Msg("error.conflict"))
	default:
		s.renderError(w, r, err)
	}
}

// Terms: renewal (R6, R7), return and transfer-in (R12) around a running
// secondment.

// renewable reports whether u may apply to renew rec today: the borrowing
// unit's clerk, on a term that is approved or running and has not ended
// (R6 judges the same at submission).
func renewable(u auth.User, rec postgres.SecondmentRecord, today secondment.Date) bool {
	return u.Has(auth.RoleBorrower) && rec.BorrowerID == u.UnitID &&
		(rec.State == secondment.StateActive || rec.State == secondment.StateApproved) && !today.After(rec.End)
}

// liveRenewal reports whether a renewal still stands: anything but refused
// or withdrawn. A term has at most one at a time.
func liveRenewal(rec postgres.SecondmentRecord) bool {
	switch rec.State {
	case secondment.StateDeclined, secondment.StateRejected, secondment.StateWithdrawn:
		return false
	}
	return true
}

// renewalsOf lists the renewals filed on rec, oldest first, out of the
// person's requests.
func renewalsOf(rec postgres.SecondmentRecord, history []postgres.SecondmentRecord) []postgres.SecondmentRecord {
	var out []postgres.SecondmentRecord
	for _, h := range history {
		if h.PreviousID == rec.ID {
			out = append(out, h)
		}
	}
	slices.SortFunc(out, func(a, b postgres.SecondmentRecord) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// personRequests lists every request of rec's person, for the renewals.
func (s *Server) personRequests(r *http.Request, rec postgres.SecondmentRecord) ([]postgres.SecondmentRecord, error) {
	return s.store.SecondmentList(r.Context(), postgres.SecondmentFilter{PersonID: rec.PersonID})
}

// handleSecondmentRenew is the renewal form (续借): a new request prefilled
// from the term, starting the day after it ends, linked to it. It runs the
// whole chain again (R6); the live check counts the chain against the
// cumulative cap (R7). A term with a renewal under way leads to it.
func (s *Server) handleSecondmentRenew(w http.ResponseWriter, r *http.Request) {
	u, rec, ok := s.requestOf(w, r)
	if !ok {
		return
	}
	if !renewable(u, rec, secondment.Today(s.clock)) {
		s.showSecondment(w, r, u, rec.ID, http.StatusConflict, web.NewForm(), secondment.Msg("term.renew.unavailable"))
		return
	}
	all, err := s.personRequests(r, rec)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	for _, rn := range renewalsOf(rec, all) {
		if liveRenewal(rn) {
			http.Redirect(w, r, "/secondments/"+strconv.FormatInt(rn.ID, 10), http.StatusSeeOther)
			return
		}
	}
	people, err := s.nominees(r, u)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f := web.NewForm()
	for k, v := range map[string]string{"person": strconv.FormatInt(rec.PersonID, 10), "kind": string(rec.Kind),
		"alias": string(rec.Alias), "purpose": string(rec.Purpose), "task": rec.Task, "start": rec.End.AddDays(1).String(),
		"justification": rec.Justification, "previous_id": strconv.FormatInt(rec.ID, 10), "idempotency_key": newKey()} {
		f.Values[k] = v
	}
	v := web.SecondmentFormView{Form: f, People: people}
	s.renewalContext(r, u, &v)
	s.render(w, r, web.SecondmentFormPage(v))
}

// renewalContext completes a request form whose previous_id names a term of
// the clerk's unit: the term it renews, and the person fixed to theirs.
func (s *Server) renewalContext(r *http.Request, u auth.User, v *web.SecondmentFormView) {
	id, err := strconv.ParseInt(v.Form.Value("previous_id"), 10, 64)
	if err != nil || id <= 0 {
		return
	}
	prev, err := s.store.SecondmentGetRecord(r.Context(), id)
	if err != nil || prev.BorrowerID != u.UnitID {
		return
	}
	v.Renewal = &web.RenewalView{ID: prev.ID, Number: prev.Number, Start: prev.Start, End: prev.End, Next: prev.End.AddDays(1)}
	v.People = slices.DeleteFunc(v.People, func(p web.PersonOption) bool { return p.ID != prev.PersonID })
}

// checkRenewal puts on f what is wrong with d as a renewal before the rules
// judge it: a term unknown or not the clerk's unit's, one not approved or
// running or already over, another person, a start other than the day after
// the term. R6 and R7 are the rules' own, at submission.
func (s *Server) checkRenewal(r *http.Request, u auth.User, d secondment.Secondment, f *web.Form) error {
	if d.PreviousID == 0 {
		return nil
	}
	prev, err := s.store.SecondmentGetRecord(r.Context(), d.PreviousID)
	if secondment.ErrorCodeOf(err) == secondment.ENotFound || (err == nil && prev.BorrowerID != u.UnitID) {
		f.Errors["previous_id"] = secondment.Msg("term.error.previous_unit")
		return nil
	}
	if err != nil {
		return err
	}
	today := secondment.Today(s.clock)
	switch {
	case prev.State != secondment.StateActive && prev.State != secondment.StateApproved:
		f.Errors["previous_id"] = secondment.Msg("term.error.previous_state", "Number", prev.Number)
	case today.After(prev.End):
		f.Errors["previous_id"] = secondment.Msg("term.error.previous_ended", "Number", prev.Number, "End", prev.End.String())
	}
	if d.PersonID != prev.PersonID {
		f.Errors["person"] = secondment.Msg("term.error.previous_person", "Person", prev.PersonName)
	}
	if want := prev.End.AddDays(1); !d.Start.IsZero() && d.Start != want {
		f.Errors["start"] = secondment.Msg("term.error.renewal_start", "Expected", want.String())
	}
	return nil
}

// termContext adds to a request's page what links it to other terms (the
// term it renews, its renewals, the renewal link) and, around a
// transfer-in, the units' numbers.
func (s *Server) termContext(r *http.Request, u auth.User, rec postgres.SecondmentRecord, history []postgres.SecondmentRecord,
	v *web.SecondmentShowView) error {
	ctx := r.Context()
	if rec.PreviousID != 0 {
		prev, err := s.store.SecondmentGetRecord(ctx, rec.PreviousID)
		if err != nil {
			return err
		}
		v.Previous = &prev
	}
	mine := u.Has(auth.RoleBorrower) && rec.BorrowerID == u.UnitID
	live := false
	for _, rn := range renewalsOf(rec, history) {
		live = live || liveRenewal(rn)
		if rn.Number != "" || mine { // a draft is the borrowing unit's own
			v.Renewals = append(v.Renewals, rn)
		}
	}
	v.CanRenew = !live && renewable(u, rec, secondment.Today(s.clock))

	switch rec.State {
	case secondment.StateActive, secondment.StateTransferPending, secondment.StateTransferred:
	default:
		return nil
	}
	units, err := s.store.UnitAll(ctx)
	if err != nil {
		return err
	}
	for _, un := range units {
		n := &web.UnitNumbers{Name: un.Name, StaffingQuota: un.StaffingQuota, PostQuota: un.PostQuota, Headcount: un.Headcount}
		switch un.ID {
		case rec.BorrowerID:
			v.BorrowerUnit = n
		case rec.LenderID:
			v.LenderUnit = n
		}
	}
	return nil
}

// handleNotificationsRead marks the user's notifications read (the header
// badge counts the unread ones). A POST: reading the list changes nothing.
func (s *Server) handleNotificationsRead(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if _, err := s.markAllRead(r.Context(), u); err != nil {
		s.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, "/notifications", http.StatusSeeOther)
}
