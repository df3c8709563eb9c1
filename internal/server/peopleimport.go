package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"secondment/internal/approval"
	"secondment/internal/auth"
	"secondment/internal/i18n"
	"secondment/internal/imports"
	"secondment/web"
)

// The register of people imported from a spreadsheet: the same upload,
// preview and commit as the stock's (stockimport.go), over the people
// template.

func (s *Server) handlePeopleImportForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, web.PeopleImportPage(web.PeopleImportView{Form: web.NewForm()}))
}

// handlePeopleImportTemplate downloads the people template in the user's
// language.
func (s *Server) handlePeopleImportTemplate(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", `attachment; filename="people-import-template.xlsx"`)
	if err := imports.People.Template(w, i18n.Lang(r.Context())); err != nil {
		s.log.Error("people import template", "err", err)
	}
}

// handlePeopleImportUpload keeps the file and shows its preview.
func (s *Server) handlePeopleImportUpload(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name, data, form, err := readImportFile(w, r)
	var imp approval.PeopleImport
	if err == nil {
		imp, err = s.app.PeopleImportUpload(r.Context(), u, name, data)
	}
	if err != nil {
		if !withErrors(&form, err) {
			s.fail(w, r, err)
			return
		}
		s.renderStatus(w, r, http.StatusUnprocessableEntity, web.PeopleImportPage(web.PeopleImportView{Form: form}))
		return
	}
	s.render(w, r, web.PeopleImportPage(web.PeopleImportView{Form: form, Import: &imp}))
}

func (s *Server) handlePeopleImportShow(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndPathID(w, r, "importID")
	if !ok {
		return
	}
	imp, err := s.app.PeopleImportPreview(r.Context(), u, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, web.PeopleImportPage(web.PeopleImportView{Form: web.NewForm(), Import: &imp}))
}

func (s *Server) handlePeopleImportCommit(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndPathID(w, r, "importID")
	if !ok {
		return
	}
	form, err := readForm(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	imp, err := s.app.PeopleImportCommit(r.Context(), u, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, web.PeopleImportPage(web.PeopleImportView{Form: form, Import: &imp}))
}

// apiPeopleImport is a people import's preview or result on the API.
type apiPeopleImport struct {
	ID        int64                `json:"id"`
	Name      string               `json:"name"`
	Committed bool                 `json:"committed"`
	New       int                  `json:"new"`
	Updated   int                  `json:"updated"`
	Unchanged int                  `json:"unchanged"`
	Invalid   int                  `json:"invalid"`
	Rows      []apiPeopleImportRow `json:"rows"`
}

type apiPeopleImportRow struct {
	Line     int               `json:"line"`
	Person   string            `json:"person"`
	Code     string            `json:"code,omitempty"`
	HomeUnit string            `json:"home_unit"`
	Outcome  string            `json:"outcome"` // new, updated, already (unchanged), invalid
	Changed  []string          `json:"changed"`
	Problems map[string]string `json:"problems,omitempty"` // by column header
}

func (s *Server) writePeopleImport(w http.ResponseWriter, status int, imp approval.PeopleImport) {
	out := apiPeopleImport{ID: imp.ID, Name: imp.Name, Committed: imp.Committed, New: imp.New, Updated: imp.Updated,
		Unchanged: imp.Already, Invalid: imp.Invalid, Rows: []apiPeopleImportRow{}}
	for _, r := range imp.Rows {
		row := apiPeopleImportRow{Line: r.Line, Person: r.Person, HomeUnit: r.Unit, Outcome: string(r.Outcome),
			Changed: append([]string{}, r.Changed...), Problems: s.problemsByHeader(r.Problems)}
		if r.Outcome != approval.ImportInvalid {
			row.Code = r.Code
		}
		out.Rows = append(out.Rows, row)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

// handleAPIPeopleImportUpload keeps a file and answers its preview (201).
func (s *Server) handleAPIPeopleImportUpload(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name, data, _, err := readImportFile(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	imp, err := s.app.PeopleImportUpload(r.Context(), u, name, data)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/people/imports/"+strconv.FormatInt(imp.ID, 10))
	s.writePeopleImport(w, http.StatusCreated, imp)
}

// apiPeopleImportStep answers step (the preview again, or the commit) of
// the upload in the path.
func (s *Server) apiPeopleImportStep(step func(context.Context, auth.User, int64) (approval.PeopleImport, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, id, ok := s.userAndPathID(w, r, "importID")
		if !ok {
			return
		}
		imp, err := step(r.Context(), u, id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.writePeopleImport(w, http.StatusOK, imp)
	}
}
