package server

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"strconv"

	"secondment/internal/approval"
	"secondment/internal/i18n"
	"secondment/internal/imports"
	"secondment/internal/secondment"
	"secondment/web"
)

// readImportFile reads an uploaded import file: the "file" part of a
// multipart form, or (on the API) a raw body named by ?name=. It returns
// the form's other values too.
func readImportFile(w http.ResponseWriter, r *http.Request) (name string, data []byte, form web.Form, err error) {
	form = web.NewForm()
	r.Body = http.MaxBytesReader(w, r.Body, imports.MaxBytes+maxFormBytes)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		name = filepath.Base(r.URL.Query().Get("name"))
		data, err = io.ReadAll(r.Body)
	} else if err = r.ParseMultipartForm(1 << 20); err == nil {
		if err := checkMultipart(r); err != nil {
			return "", nil, form, err
		}
		form.Values["create_people"] = r.FormValue("create_people")
		f, fh, ferr := r.FormFile("file")
		if ferr != nil {
			return "", nil, form, fileError("file", "import.error.file")
		}
		defer f.Close()
		name = fh.Filename
		data, err = io.ReadAll(f)
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return "", nil, form, fileError("file", "import.error.too_large", "MaxMB", imports.MaxBytes>>20)
	case err != nil:
		return "", nil, form, &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.form"), Err: err}
	case name == "" || name == "." || len(data) == 0:
		return "", nil, form, fileError("file", "import.error.file")
	}
	return name, data, form, nil
}

func importOptions(v string) approval.ImportOptions {
	b, _ := strconv.ParseBool(v)
	return approval.ImportOptions{CreatePeople: b || v == "on"}
}

func (s *Server) handleImportForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, web.ImportPage(web.ImportView{Form: web.NewForm()}))
}

// handleImportTemplate downloads the import template in the user's
// language.
func (s *Server) handleImportTemplate(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", `attachment; filename="stock-import-template.xlsx"`)
	if err := imports.Stock.Template(w, i18n.Lang(r.Context())); err != nil {
		s.log.Error("import template", "err", err)
	}
}

// handleImportUpload keeps the file and shows its preview.
func (s *Server) handleImportUpload(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name, data, form, err := readImportFile(w, r)
	var imp approval.Import
	if err == nil {
		imp, err = s.app.ImportUpload(r.Context(), u, name, data, importOptions(form.Value("create_people")))
	}
	if err != nil {
		if !withErrors(&form, err) {
			s.fail(w, r, err)
			return
		}
		s.renderStatus(w, r, http.StatusUnprocessableEntity, web.ImportPage(web.ImportView{Form: form}))
		return
	}
	s.render(w, r, web.ImportPage(web.ImportView{Form: form, Import: &imp}))
}

// handleImportShow previews an upload again (with the option changed).
func (s *Server) handleImportShow(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndPathID(w, r, "importID")
	if !ok {
		return
	}
	form := web.NewForm()
	form.Values["create_people"] = r.URL.Query().Get("create_people")
	imp, err := s.app.ImportPreview(r.Context(), u, id, importOptions(form.Value("create_people")))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, web.ImportPage(web.ImportView{Form: form, Import: &imp}))
}

func (s *Server) handleImportCommit(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndPathID(w, r, "importID")
	if !ok {
		return
	}
	form, err := readForm(w, r, "create_people")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	imp, err := s.app.ImportCommit(r.Context(), u, id, importOptions(form.Value("create_people")))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, web.ImportPage(web.ImportView{Form: form, Import: &imp}))
}

// apiImport is an import's preview or result on the API.
type apiImport struct {
	ID        int64          `json:"id"`
	Name      string         `json:"name"`
	Committed bool           `json:"committed"`
	New       int            `json:"new"`
	Already   int            `json:"already"`
	Invalid   int            `json:"invalid"`
	Irregular int            `json:"irregular"`
	People    int            `json:"people_added"`
	Rows      []apiImportRow `json:"rows"`
}

type apiImportRow struct {
	Line      int               `json:"line"`
	Person    string            `json:"person"`
	Borrower  string            `json:"borrower"`
	Outcome   string            `json:"outcome"`
	Problems  map[string]string `json:"problems,omitempty"` // by column header
	NewPerson bool              `json:"new_person"`
	Number    string            `json:"number,omitempty"`
	State     string            `json:"state,omitempty"`
	Irregular []string          `json:"irregular"`
}

// problemsByHeader are a row's problems on the API: in English, by the
// English header of their column ("row" for the row as a whole); nil when
// there are none.
func (s *Server) problemsByHeader(ps []imports.Problem) map[string]string {
	if len(ps) == 0 {
		return nil
	}
	en := s.catalog.Localizer(i18n.English)
	out := map[string]string{}
	for _, p := range ps {
		key := "row"
		if p.Field != "" {
			key = en.T(imports.HeaderID(p.Field))
		}
		if prev := out[key]; prev != "" {
			out[key] = prev + "; " + en.Message(p.Message)
		} else {
			out[key] = en.Message(p.Message)
		}
	}
	return out
}

func (s *Server) writeImport(w http.ResponseWriter, status int, imp approval.Import) {
	out := apiImport{ID: imp.ID, Name: imp.Name, Committed: imp.Committed, New: imp.New, Already: imp.Already,
		Invalid: imp.Invalid, Irregular: imp.Irregular, People: imp.People, Rows: []apiImportRow{}}
	for _, r := range imp.Rows {
		row := apiImportRow{Line: r.Line, Person: r.Person, Borrower: r.Borrower, Outcome: string(r.Outcome),
			NewPerson: r.NewPerson, Number: r.Number, State: string(r.State), Irregular: []string{}}
		for _, x := range r.Irregular {
			row.Irregular = append(row.Irregular, string(x))
		}
		row.Problems = s.problemsByHeader(r.Problems)
		out.Rows = append(out.Rows, row)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

// handleAPIImportUpload keeps a file and answers its preview (201).
func (s *Server) handleAPIImportUpload(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name, data, form, err := readImportFile(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	opt := form.Value("create_people")
	if opt == "" {
		opt = r.URL.Query().Get("create_people")
	}
	imp, err := s.app.ImportUpload(r.Context(), u, name, data, importOptions(opt))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/stock/imports/"+strconv.FormatInt(imp.ID, 10))
	s.writeImport(w, http.StatusCreated, imp)
}

func (s *Server) handleAPIImportShow(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndPathID(w, r, "importID")
	if !ok {
		return
	}
	imp, err := s.app.ImportPreview(r.Context(), u, id, importOptions(r.URL.Query().Get("create_people")))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeImport(w, http.StatusOK, imp)
}

func (s *Server) handleAPIImportCommit(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndPathID(w, r, "importID")
	if !ok {
		return
	}
	imp, err := s.app.ImportCommit(r.Context(), u, id, importOptions(r.URL.Query().Get("create_people")))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeImport(w, http.StatusOK, imp)
}
