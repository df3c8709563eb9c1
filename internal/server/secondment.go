package server

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"secondment/internal/approval"
	"secondment/internal/auth"
	"secondment/internal/secondment"
	"secondment/web"
)

// The request pages: each handler decodes, calls one use case of
// internal/approval and renders its answer.

func (s *Server) handleSecondmentList(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	find := findOf(q)
	in, err := s.app.InboxSearch(r.Context(), u, approval.Tab(q.Get("tab")), find, q.Get("after"))
	v := web.SecondmentListView{Tab: in.Tab, Rows: in.Rows, TodoCount: in.TodoCount, Counts: in.Counts, Next: in.Next,
		CanCreate: u.Has(auth.RoleBorrower), Now: s.clock.Now(), Find: find, Filter: web.NewForm()}
	if err != nil {
		// A bad filter: the list's page again, the problem beside it.
		if !withErrors(&v.Filter, err) {
			s.fail(w, r, err)
			return
		}
		v.Tab = approval.TabOf(q.Get("tab"))
		s.renderStatus(w, r, http.StatusUnprocessableEntity, web.SecondmentListPage(v))
		return
	}
	s.render(w, r, web.SecondmentListPage(v))
}

// findOf is the list's filter as its query string gives it.
func findOf(q url.Values) approval.Find {
	return approval.Find{Q: strings.TrimSpace(q.Get("q")), State: q.Get("state"), From: q.Get("from"), To: q.Get("to")}
}

// newKey is an idempotency key for a create form: the form carries it, so a
// double-clicked submit creates one request.
func newKey() string { return auth.NewKey() }

func (s *Server) handleSecondmentNew(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := web.NewForm()
	f.Values["q"] = strings.TrimSpace(r.URL.Query().Get("q"))
	f.Values["idempotency_key"] = newKey()
	f.Values["kind"] = string(secondment.KindSecondment)
	f.Values["purpose"] = string(secondment.PurposeKeyTask)
	s.showForm(w, r, u, http.StatusOK, web.SecondmentFormView{Form: f})
}

// showForm renders the request form: the people the clerk may propose
// (narrowed by the search), the term a renewal continues with the person
// fixed to theirs, and the check beside it.
func (s *Server) showForm(w http.ResponseWriter, r *http.Request, u auth.User, status int, v web.SecondmentFormView) {
	people, err := s.app.Nominees(r.Context(), u, v.Form.Value("q"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.People = people
	if id, err := strconv.ParseInt(v.Form.Value("previous_id"), 10, 64); err == nil && id > 0 {
		if v.Renewal, err = s.app.RenewalContext(r.Context(), u, id); err != nil {
			s.fail(w, r, err)
			return
		}
		if v.Renewal != nil {
			person := v.Renewal.PersonID
			v.People = nil
			for _, p := range people {
				if p.ID == person {
					v.People = append(v.People, p)
				}
			}
		}
	}
	s.renderStatus(w, r, status, web.SecondmentFormPage(v))
}

// check is the live check of a form for its panel: nil while the form
// cannot be judged yet, the reason when the rules cannot judge it.
func (s *Server) check(r *http.Request, u auth.User, in approval.DraftInput, f *web.Form) *web.CheckView {
	ev, err := s.app.Check(r.Context(), u, in)
	var de *secondment.Error
	switch {
	case err == nil:
		return web.CheckOf(ev)
	case errors.As(err, &de) && de.Code == secondment.EInvalid:
		for _, fe := range de.Fields {
			if fe.Field == "person" && in.PersonID > 0 {
				f.Errors["person"] = fe.Message // someone the clerk could not pick
			}
		}
		return nil
	case errors.As(err, &de) && de.Code != secondment.EInternal:
		return &web.CheckView{Error: de.Message}
	}
	s.log.Error("policy check", "err", err)
	return &web.CheckView{Error: secondment.Msg("check.failed")}
}

// handleSecondmentCheck answers the form's "check" button (and htmx's live
// check): the same form, with the rules' verdict beside it. Nothing is saved.
func (s *Server) handleSecondmentCheck(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The form is multipart (it may carry a letter): the check reads its
	// fields and leaves the file alone; nothing is saved.
	f, err := readUploadFields(w, r, draftFields...)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := web.SecondmentFormView{Form: f}
	v.EditID, _ = strconv.ParseInt(r.URL.Query().Get("id"), 10, 64)
	v.Version, _ = strconv.Atoi(f.Value("version"))
	v.Check = s.check(r, u, draftOfForm(f), &v.Form)
	s.showForm(w, r, u, http.StatusOK, v)
}

// refuseForm shows a request form again with what was wrong, or answers
// an error the form cannot show.
func (s *Server) refuseForm(w http.ResponseWriter, r *http.Request, u auth.User, v web.SecondmentFormView, err error) {
	if !withErrors(&v.Form, err) {
		s.fail(w, r, err)
		return
	}
	v.Form.Summary = secondment.Msg("error.invalid")
	v.Check = s.check(r, u, draftOfForm(v.Form), &web.Form{Errors: map[string]secondment.Message{}})
	s.showForm(w, r, u, http.StatusUnprocessableEntity, v)
}

func (s *Server) handleSecondmentCreate(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, letter, err := readDraftForm(w, r)
	var req approval.Request
	if err == nil {
		in := draftOfForm(f)
		in.Letter = letter
		req, err = s.app.Create(r.Context(), u, in, f.Value("idempotency_key"))
	}
	if err != nil {
		s.refuseForm(w, r, u, web.SecondmentFormView{Form: f}, err)
		return
	}
	if f.Value("then") != string(secondment.ActSubmit) {
		http.Redirect(w, r, requestPath(req.ID), http.StatusSeeOther)
		return
	}
	// 保存并提交: the draft is saved whatever happens next; a submission the
	// rules refuse shows on the request's page, beside its submit form.
	if _, err := s.app.Act(r.Context(), u, req.ID, approval.ActInput{Action: secondment.ActSubmit, IfVersion: req.Version}); err != nil {
		af := web.NewForm()
		af.Values["action"] = string(secondment.ActSubmit)
		s.refuseStep(w, r, u, req.ID, af, err)
		return
	}
	http.Redirect(w, r, requestPath(req.ID)+"?done="+string(secondment.ActSubmit), http.StatusSeeOther)
}

func requestPath(id int64) string { return "/secondments/" + strconv.FormatInt(id, 10) }

func (s *Server) handleSecondmentEdit(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndID(w, r)
	if !ok {
		return
	}
	req, err := s.app.Get(r.Context(), u, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if req.BorrowerID != u.UnitID || (req.State != secondment.StateDraft && req.State != secondment.StateSentBack) {
		s.fail(w, r, errRoleRequired)
		return
	}
	in := approval.DraftInput{PersonID: req.PersonID, PreviousID: req.PreviousID, Kind: string(req.Kind),
		Alias: string(req.Alias), Purpose: string(req.Purpose), Task: req.Task, Start: req.Start.String(),
		End: req.End.String(), Justification: req.Justification, Programme: req.Programme,
		SalaryWith: string(req.SalaryWith.Or()), SelfOpinion: req.SelfOpinion, KeyPost: req.KeyPost}
	v := web.SecondmentFormView{Form: formOfDraft(in), EditID: req.ID, Version: req.Version}
	v.Check = s.check(r, u, in, &web.Form{Errors: map[string]secondment.Message{}})
	s.showForm(w, r, u, http.StatusOK, v)
}

func (s *Server) handleSecondmentUpdate(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndID(w, r)
	if !ok {
		return
	}
	// A bad letter is reported after the use case's visibility check: a
	// request the user may not see is 404 whatever they send.
	f, letter, err := readDraftForm(w, r)
	version, _ := strconv.Atoi(f.Value("version"))
	in := draftOfForm(f)
	in.Letter, in.Invalid = letter, err
	_, err = s.app.Update(r.Context(), u, id, version, in)
	switch {
	case err == nil:
		http.Redirect(w, r, requestPath(id), http.StatusSeeOther)
	case secondment.ErrorCodeOf(err) == secondment.EConflict || secondment.ErrorCodeOf(err) == secondment.EStale:
		s.showSecondment(w, r, u, id, http.StatusConflict, web.NewForm(), secondment.Msg("error.conflict"), nil)
	case version == 0:
		// The body could not be read (a letter over the limit): the form
		// came back without its fields, and shown again it would save
		// without the version it was read at. The problem alone, then.
		s.fail(w, r, err)
	default:
		s.refuseForm(w, r, u, web.SecondmentFormView{Form: f, EditID: id, Version: version}, err)
	}
}

// userAndID is the signed-in user and the request ID of the URL, or it has
// answered with the error.
func (s *Server) userAndID(w http.ResponseWriter, r *http.Request) (auth.User, int64, bool) {
	return s.userAndPathID(w, r, "secondmentID")
}

// userAndPathID is the signed-in user and the ID in path parameter param;
// on a failure it has answered and reports false.
func (s *Server) userAndPathID(w http.ResponseWriter, r *http.Request, param string) (auth.User, int64, bool) {
	u, err := currentUser(r)
	var id int64
	if err == nil {
		id, err = pathID(r, param)
	}
	if err != nil {
		s.fail(w, r, err)
		return u, 0, false
	}
	return u, id, true
}

func (s *Server) handleSecondmentShow(w http.ResponseWriter, r *http.Request) {
	if u, id, ok := s.userAndID(w, r); ok {
		// After a step (the redirect's ?done=), say it was taken.
		var notice secondment.Message
		if a := secondment.Action(r.URL.Query().Get("done")); a.Valid() {
			notice = secondment.Msg("secondment.done", "Action", a.Message())
		}
		s.showSecondment(w, r, u, id, http.StatusOK, web.NewForm(), notice, nil)
	}
}

// showSecondment renders a request's page with status, an action's refused
// form with the rules that refused it, and a notice (e.g. "已被他人处理"
// after losing a race).
func (s *Server) showSecondment(w http.ResponseWriter, r *http.Request, u auth.User, id int64, status int, f web.Form,
	notice secondment.Message, refused secondment.Violations) {
	p, err := s.app.Show(r.Context(), u, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := web.SecondmentShowView{Page: p, Form: f, Notice: notice, Refused: refused}
	s.renderStatus(w, r, status, web.SecondmentShowPage(v))
}

// handleSecondmentAct takes one step of the chain from a page's form.
func (s *Server) handleSecondmentAct(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndID(w, r)
	if !ok {
		return
	}
	action := secondment.Action(chi.URLParam(r, "action"))
	if !action.Valid() {
		s.fail(w, r, errNotFound)
		return
	}
	in, f, err := actOfForm(w, r, action)
	if err == nil {
		_, err = s.app.Act(r.Context(), u, id, in)
	}
	if err == nil {
		http.Redirect(w, r, requestPath(id)+"?done="+string(action), http.StatusSeeOther)
		return
	}
	// The page shows what was typed, and the errors, in this action's
	// form only.
	f.Values["action"] = string(action)
	s.refuseStep(w, r, u, id, f, err)
}

// refuseStep shows a request's page after a step or a working-together
// command was refused: a lost race as "已被他人处理" with what is there
// now, bad input and the rules' refusals beside the form that caused them.
func (s *Server) refuseStep(w http.ResponseWriter, r *http.Request, u auth.User, id int64, f web.Form, err error) {
	if !showable(err) {
		s.fail(w, r, err)
		return
	}
	code := status(err, false)
	switch secondment.ErrorCodeOf(err) {
	case secondment.EConflict, secondment.EStale:
		s.showSecondment(w, r, u, id, code, web.NewForm(), secondment.Msg("error.conflict"), nil)
		return
	case secondment.ETooSoon, secondment.EUnavailable:
		var de *secondment.Error
		errors.As(err, &de)
		f.Summary = de.Message
		setRetryAfter(w, err)
		s.showSecondment(w, r, u, id, code, f, secondment.Message{}, nil)
		return
	}
	withErrors(&f, err)
	var de *secondment.Error
	var refused secondment.Violations
	if errors.As(err, &de) && len(de.Violations) > 0 {
		if m := refusalSummary(de.Violations, f.Has("justification") || f.Has("opinion")); m.ID != "" {
			f.Summary = m
		}
		refused = de.Violations
	}
	s.showSecondment(w, r, u, id, code, f, secondment.Message{}, refused)
}

// refusalSummary says why the rules refused a step, each rule with its own
// outcome: those that block it, and the exceptions still lacking the
// written reason (or the approver's opinion) they need (unmet). An
// exception already justified is not named: it does not stop the step.
func refusalSummary(vs secondment.Violations, unmet bool) secondment.Message {
	list := func(sev secondment.Severity) string {
		var ids []string
		for _, v := range vs {
			if v.Severity == sev && !slices.Contains(ids, string(v.Rule)) {
				ids = append(ids, string(v.Rule))
			}
		}
		return strings.Join(ids, "、")
	}
	blocked, exceptions := list(secondment.SeverityBlock), ""
	if unmet {
		exceptions = list(secondment.SeverityException)
	}
	switch {
	case blocked != "" && exceptions != "":
		return secondment.Msg("secondment.error.blocked_and_exception", "Rules", blocked, "Exceptions", exceptions)
	case blocked != "":
		return secondment.Msg("secondment.error.blocked", "Rules", blocked)
	case exceptions != "":
		return secondment.Msg("secondment.error.exception_reason", "Rules", exceptions)
	}
	return secondment.Message{}
}

func (s *Server) handleSecondmentUrge(w http.ResponseWriter, r *http.Request) {
	s.together(w, r, func(u auth.User, id int64) (secondment.Message, error) {
		_, err := s.app.Urge(r.Context(), u, id)
		return secondment.Msg("urge.done"), err
	})
}

func (s *Server) handleSecondmentCopy(w http.ResponseWriter, r *http.Request) {
	s.together(w, r, func(u auth.User, id int64) (secondment.Message, error) {
		_, name, err := s.app.Copy(r.Context(), u, id, r.PostFormValue("login"))
		return secondment.Msg("cc.done", "Name", name), err
	})
}

func (s *Server) handleSecondmentHandOver(w http.ResponseWriter, r *http.Request) {
	s.together(w, r, func(u auth.User, id int64) (secondment.Message, error) {
		to, _ := strconv.ParseInt(r.PostFormValue("to"), 10, 64)
		_, name, err := s.app.HandOver(r.Context(), u, id, to)
		return secondment.Msg("handover.done", "Name", name), err
	})
}

// together runs one of the working-together commands (urge, copy, hand
// over) from a request's page and shows the page again with its outcome.
func (s *Server) together(w http.ResponseWriter, r *http.Request, do func(auth.User, int64) (secondment.Message, error)) {
	u, id, ok := s.userAndID(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.form"), Err: err})
		return
	}
	done, err := do(u, id)
	if err != nil {
		s.refuseStep(w, r, u, id, web.NewForm(), err)
		return
	}
	s.showSecondment(w, r, u, id, http.StatusOK, web.NewForm(), done, nil)
}

// handleSecondmentRenew is the renewal form (续借): a new request prefilled
// from the term, starting the day after it ends, linked to it. A term with
// a renewal under way leads to it.
func (s *Server) handleSecondmentRenew(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndID(w, r)
	if !ok {
		return
	}
	ren, err := s.app.Renewal(r.Context(), u, id)
	switch {
	case secondment.ErrorCodeOf(err) == secondment.EConflict:
		s.showSecondment(w, r, u, id, http.StatusConflict, web.NewForm(), secondment.Msg("term.renew.unavailable"), nil)
	case err != nil:
		s.fail(w, r, err)
	case ren.Existing != 0:
		http.Redirect(w, r, requestPath(ren.Existing), http.StatusSeeOther)
	default:
		f := formOfDraft(ren.Form)
		f.Values["idempotency_key"] = newKey()
		s.showForm(w, r, u, http.StatusOK, web.SecondmentFormView{Form: f})
	}
}

func (s *Server) handleSecondmentPrint(w http.ResponseWriter, r *http.Request) {
	s.printForm(w, r, false)
}

// handleSecondmentEvaluation prints the term-end evaluation (期满鉴定) for
// a party: the lending unit files it in the personnel file. Before the
// return records one, there is none to print (404).
func (s *Server) handleSecondmentEvaluation(w http.ResponseWriter, r *http.Request) {
	s.printForm(w, r, true)
}

// printForm renders a party's printable page of a request: the approval
// form, or the term-end evaluation.
func (s *Server) printForm(w http.ResponseWriter, r *http.Request, evaluation bool) {
	u, id, ok := s.userAndID(w, r)
	if !ok {
		return
	}
	pf, err := s.app.Print(r.Context(), u, id)
	if err == nil && evaluation && pf.Evaluation == "" {
		err = secondment.NotFound("evaluation")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	printed := pf.Printed.In(secondment.Shanghai).Format("2006-01-02 15:04")
	page := web.PrintPage(web.PrintView{PrintForm: pf, Printed: printed})
	if evaluation {
		page = web.EvaluationPage(web.EvaluationView{PrintForm: pf, Printed: printed})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Render(r.Context(), w); err != nil {
		s.log.Error("render", "err", err)
	}
}

// handleAttachment sends a request's file to a party to the request. The
// stored content type was checked at upload; the file is always offered as
// a download, never rendered inline under the site's origin.
func (s *Server) handleAttachment(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndID(w, r)
	if !ok {
		return
	}
	attID, err := pathID(r, "attachmentID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.app.Attachment(r.Context(), u, id, attID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", a.ContentType)
	disposition := "attachment"
	if r.URL.Query().Get("inline") == "1" {
		// Shown in the browser (a picture on the page, a PDF in its own
		// tab), as checked at upload: no script, no embedded file. The
		// document may run nothing and load nothing but itself.
		disposition = "inline"
		w.Header().Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'")
	}
	w.Header().Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": a.Name}))
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write(a.Data)
}

func (s *Server) handleNotificationList(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page, err := s.app.Notifications(r.Context(), u, r.URL.Query().Get("after"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, web.NotificationPage(web.NotificationView{Items: page.Items, Next: page.Next}))
}

// handleNotificationsRead marks the user's notifications read (the header
// badge counts the unread ones). A POST: reading the list changes nothing.
func (s *Server) handleNotificationsRead(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.app.MarkAllRead(r.Context(), u); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/notifications", http.StatusSeeOther)
}
