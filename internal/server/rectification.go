package server

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"secondment/internal/approval"
	"secondment/internal/auth"
	"secondment/internal/secondment"
	"secondment/web"
)

// The irregular ledger (违规台账): a page and an API call for each use case
// of approval/rectification.go.

func rectQueryOf(v url.Values) approval.RectQuery {
	flag := func(k string) bool { b, _ := strconv.ParseBool(v.Get(k)); return b }
	return approval.RectQuery{Scope: v.Get("scope"), Status: v.Get("status"), Rule: v.Get("rule"), Open: flag("open"),
		PastDeadline: flag("past_deadline"), After: v.Get("after")}
}

func (s *Server) handleRects(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := web.RectsView{Query: r.URL.Query(), Form: web.NewForm()}
	v.Rects, err = s.app.Rects(r.Context(), u, rectQueryOf(r.URL.Query()))
	status := http.StatusOK
	if err != nil {
		if !withErrors(&v.Form, err) {
			s.fail(w, r, err)
			return
		}
		status = http.StatusUnprocessableEntity
	}
	s.renderStatus(w, r, status, web.RectsPage(v))
}

// rectDone are the notices an entry's page shows after a change (the
// page is reached by redirect, so that reloading it changes nothing).
var rectDone = map[string]string{"plan": "rect.done.plan", "status": "rect.done.report", "close": "rect.done.close",
	"evidence": "rect.done.evidence", "open": "rect.done.open"}

func (s *Server) handleRect(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndPathID(w, r, "entryID")
	if !ok {
		return
	}
	p, err := s.app.Rect(r.Context(), u, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, web.RectPage(web.RectView{Rect: p, Form: web.NewForm(), Done: rectDone[r.URL.Query().Get("done")]}))
}

// rectRedirect shows entry id again after change done.
func rectRedirect(w http.ResponseWriter, r *http.Request, id int64, done string) {
	http.Redirect(w, r, "/irregular/"+strconv.FormatInt(id, 10)+"?done="+done, http.StatusSeeOther)
}

// rectRefused shows entry id with form f and the error that refused it:
// field problems beside their fields, anything else as the error page.
func (s *Server) rectRefused(w http.ResponseWriter, r *http.Request, u auth.User, id int64, f web.Form, err error) {
	if !withErrors(&f, err) {
		s.fail(w, r, err)
		return
	}
	p, perr := s.app.Rect(r.Context(), u, id)
	if perr != nil {
		s.fail(w, r, perr)
		return
	}
	s.renderStatus(w, r, http.StatusUnprocessableEntity, web.RectPage(web.RectView{Rect: p, Form: f}))
}

func formVersion(f web.Form) int { v, _ := strconv.Atoi(f.Value("version")); return v }

func (s *Server) handleRectPlan(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndPathID(w, r, "entryID")
	if !ok {
		return
	}
	f, err := readForm(w, r, "version", "target_task", "measures", "responsible_unit", "responsible_person", "deadline")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The form sends the fields its user may change: those it has.
	field := func(k string) *string {
		if _, ok := r.PostForm[k]; !ok {
			return nil
		}
		v := f.Value(k)
		return &v
	}
	in := approval.RectPlanInput{Version: formVersion(f), TargetTask: field("target_task"), Measures: field("measures"),
		ResponsiblePerson: field("responsible_person"), Deadline: field("deadline")}
	if unit, err := strconv.ParseInt(f.Value("responsible_unit"), 10, 64); err == nil {
		in.ResponsibleUnitID = &unit
	}
	_, err = s.app.RectPlan(r.Context(), u, id, in)
	if err != nil {
		s.rectRefused(w, r, u, id, f, err)
		return
	}
	rectRedirect(w, r, id, "plan")
}

func (s *Server) handleRectStatus(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndPathID(w, r, "entryID")
	if !ok {
		return
	}
	f, err := readForm(w, r, "version", "status")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.app.RectReport(r.Context(), u, id, formVersion(f), f.Value("status")); err != nil {
		s.rectRefused(w, r, u, id, f, err)
		return
	}
	rectRedirect(w, r, id, "status")
}

func (s *Server) handleRectClose(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndPathID(w, r, "entryID")
	if !ok {
		return
	}
	f, err := readForm(w, r, "version", "opinion")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.app.RectClose(r.Context(), u, id, formVersion(f), f.Value("opinion")); err != nil {
		s.rectRefused(w, r, u, id, f, err)
		return
	}
	rectRedirect(w, r, id, "close")
}

// readEvidence reads the one file of an evidence upload (field "file"),
// checked by its content as a request's letter is.
func readEvidence(w http.ResponseWriter, r *http.Request) (approval.File, error) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxLetterBytes+maxFormBytes)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return approval.File{}, fileError("file", "upload.error.size", "MaxMB", MaxLetterBytes>>20)
		}
		return approval.File{}, &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.form"), Err: err}
	}
	if err := checkMultipart(r); err != nil {
		return approval.File{}, err
	}
	file, fh, err := r.FormFile("file")
	if err != nil {
		return approval.File{}, fileError("file", "error.required")
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, MaxLetterBytes+1))
	if err != nil {
		return approval.File{}, err
	}
	f, err := checkUpload("file", fh.Filename, data)
	if err != nil {
		return approval.File{}, err
	}
	return *f, nil
}

func (s *Server) handleRectEvidence(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndPathID(w, r, "entryID")
	if !ok {
		return
	}
	f, err := readEvidence(w, r)
	if err == nil {
		_, err = s.app.RectAttach(r.Context(), u, id, f)
	}
	if err != nil {
		s.rectRefused(w, r, u, id, web.NewForm(), err)
		return
	}
	rectRedirect(w, r, id, "evidence")
}

func (s *Server) handleRectEvidenceGet(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndPathID(w, r, "entryID")
	if !ok {
		return
	}
	evID, err := pathID(r, "evidenceID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := s.app.RectEvidence(r.Context(), u, id, evID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", f.ContentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write(f.Data)
}

// handleRectOpenForm is the form that puts secondment ?secondment= on the
// irregular ledger.
func (s *Server) handleRectOpenForm(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id, _ := strconv.ParseInt(r.URL.Query().Get("secondment"), 10, 64)
	s.showRectOpen(w, r, u, id, http.StatusOK, web.NewForm())
}

func (s *Server) showRectOpen(w http.ResponseWriter, r *http.Request, u auth.User, id int64, status int, f web.Form) {
	p, err := s.app.Show(r.Context(), u, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderStatus(w, r, status, web.RectOpenPage(web.RectOpenView{SecondmentID: id, Number: p.Number, Form: f}))
}

func (s *Server) handleRectOpen(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := readForm(w, r, "secondment", "rule", "detail", "deadline")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sid, _ := strconv.ParseInt(f.Value("secondment"), 10, 64)
	id, err := s.app.RectOpen(r.Context(), u, approval.RectOpenInput{SecondmentID: sid, Rule: f.Value("rule"),
		Detail: f.Value("detail"), Deadline: f.Value("deadline")})
	if err != nil {
		if !withErrors(&f, err) {
			s.fail(w, r, err)
			return
		}
		s.showRectOpen(w, r, u, sid, http.StatusUnprocessableEntity, f)
		return
	}
	rectRedirect(w, r, id, "open")
}

// apiRect is an irregular ledger entry on the API.
type apiRect struct {
	ID                int64          `json:"id"`
	SecondmentID      int64          `json:"secondment_id"`
	Number            string         `json:"number"`
	Person            string         `json:"person"`
	Borrower          string         `json:"borrower"`
	Lender            string         `json:"lender"`
	State             string         `json:"state"`
	Rule              string         `json:"rule"`
	Manual            bool           `json:"manual"`
	Detail            string         `json:"detail"`
	OpenedOn          string         `json:"opened_on"`
	TargetTask        string         `json:"target_task"`
	Measures          string         `json:"measures"`
	ResponsibleUnitID int64          `json:"responsible_unit_id"`
	ResponsibleUnit   string         `json:"responsible_unit"`
	ResponsiblePerson string         `json:"responsible_person"`
	Deadline          string         `json:"deadline,omitempty"`
	PastDeadline      bool           `json:"past_deadline"`
	Status            string         `json:"status"`
	EscalatedOn       string         `json:"escalated_on,omitempty"`
	ClosedOn          string         `json:"closed_on,omitempty"`
	CloseOpinion      string         `json:"close_opinion,omitempty"`
	Version           int            `json:"version"`
	Evidence          []apiEvidence  `json:"evidence,omitempty"`
	Can               map[string]any `json:"can,omitempty"`
}

type apiEvidence struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
	UploadedBy  string `json:"uploaded_by"`
	UploadedAt  string `json:"uploaded_at"`
}

func toAPIRect(r secondment.Rectification, today secondment.Date) apiRect {
	return apiRect{ID: r.ID, SecondmentID: r.SecondmentID, Rule: string(r.Rule), Manual: r.Manual, Detail: r.Detail,
		OpenedOn: r.OpenedOn.String(), TargetTask: r.TargetTask, Measures: r.Measures, ResponsibleUnitID: r.ResponsibleUnitID,
		ResponsiblePerson: r.ResponsiblePerson, Deadline: dateString(r.Deadline), PastDeadline: r.PastDeadline(today),
		Status: string(r.Status), EscalatedOn: dateString(r.EscalatedOn), ClosedOn: dateString(r.ClosedOn),
		CloseOpinion: r.CloseOpinion, Version: r.Version}
}

func toAPIRectLine(l secondment.RectLine, today secondment.Date) apiRect {
	a := toAPIRect(l.Rectification, today)
	a.Number, a.Person, a.Borrower, a.Lender, a.State, a.ResponsibleUnit = l.Number, l.PersonName, l.BorrowerName,
		l.LenderName, string(l.State), l.ResponsibleName
	return a
}

func toAPIRectPage(p approval.RectPage) apiRect {
	a := toAPIRect(p.Rectification, p.Today)
	a.Number, a.Person, a.Borrower, a.Lender, a.State, a.ResponsibleUnit = p.Number, p.PersonName, p.BorrowerName,
		p.LenderName, string(p.State), p.ResponsibleName
	a.Evidence = []apiEvidence{}
	for _, e := range p.Evidence {
		a.Evidence = append(a.Evidence, apiEvidence{ID: e.ID, Name: e.Name, ContentType: e.ContentType, Size: e.Size,
			UploadedBy: e.UploadedBy, UploadedAt: e.UploadedAt.Format("2006-01-02T15:04:05Z07:00")})
	}
	a.Can = map[string]any{"edit": p.CanEdit, "set_deadline": p.Keeper && p.CanEdit, "close": p.CanClose}
	return a
}

func (s *Server) handleAPIRects(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l, err := s.app.Rects(r.Context(), u, rectQueryOf(r.URL.Query()))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows := make([]apiRect, 0, len(l.Rows))
	for _, x := range l.Rows {
		rows = append(rows, toAPIRectLine(x, l.Today))
	}
	body := map[string]any{"scope": l.Scope, "entries": rows, "total": l.Total, "total_capped": l.More}
	if l.Next != "" {
		body["next"] = l.Next
	}
	writeJSON(w, body)
}

func (s *Server) handleAPIRect(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndPathID(w, r, "entryID")
	if !ok {
		return
	}
	p, err := s.app.Rect(r.Context(), u, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, toAPIRectPage(p))
}

// apiRectChange is the body of a change to an entry: the version read, and
// the fields of the change made; a plan's field left out keeps its value.
type apiRectChange struct {
	Version           int     `json:"version"`
	TargetTask        *string `json:"target_task"`
	Measures          *string `json:"measures"`
	ResponsibleUnitID *int64  `json:"responsible_unit_id"`
	ResponsiblePerson *string `json:"responsible_person"`
	Deadline          *string `json:"deadline"`
	Status            string  `json:"status"`
	Opinion           string  `json:"opinion"`
}

// apiRectStep is an API call changing an entry through do.
func (s *Server) apiRectStep(do func(*http.Request, auth.User, int64, apiRectChange) (approval.RectPage, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, id, ok := s.userAndPathID(w, r, "entryID")
		if !ok {
			return
		}
		var b apiRectChange
		if err := readJSON(w, r, &b); err != nil {
			s.fail(w, r, err)
			return
		}
		p, err := do(r, u, id, b)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, toAPIRectPage(p))
	}
}

func (s *Server) apiRectPlan(r *http.Request, u auth.User, id int64, b apiRectChange) (approval.RectPage, error) {
	return s.app.RectPlan(r.Context(), u, id, approval.RectPlanInput{Version: b.Version, TargetTask: b.TargetTask,
		Measures: b.Measures, ResponsiblePerson: b.ResponsiblePerson, ResponsibleUnitID: b.ResponsibleUnitID, Deadline: b.Deadline})
}

func (s *Server) apiRectStatus(r *http.Request, u auth.User, id int64, b apiRectChange) (approval.RectPage, error) {
	return s.app.RectReport(r.Context(), u, id, b.Version, b.Status)
}

func (s *Server) apiRectClose(r *http.Request, u auth.User, id int64, b apiRectChange) (approval.RectPage, error) {
	return s.app.RectClose(r.Context(), u, id, b.Version, b.Opinion)
}

// apiRectOpenBody puts a secondment on the irregular ledger.
type apiRectOpenBody struct {
	SecondmentID int64  `json:"secondment_id"`
	Rule         string `json:"rule"`
	Detail       string `json:"detail"`
	Deadline     string `json:"deadline"`
}

func (s *Server) handleAPIRectOpen(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var b apiRectOpenBody
	if err := readJSON(w, r, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := s.app.RectOpen(r.Context(), u, approval.RectOpenInput{SecondmentID: b.SecondmentID, Rule: b.Rule,
		Detail: b.Detail, Deadline: b.Deadline})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.app.Rect(r.Context(), u, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/irregular/"+strconv.FormatInt(id, 10))
	writeJSONStatus(w, http.StatusCreated, toAPIRectPage(p))
}

func (s *Server) handleAPIRectEvidence(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndPathID(w, r, "entryID")
	if !ok {
		return
	}
	f, err := readEvidence(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.app.RectAttach(r.Context(), u, id, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSONStatus(w, http.StatusCreated, toAPIRectPage(p))
}
