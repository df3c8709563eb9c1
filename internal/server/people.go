package server

import (
	"encoding/json"
	"net/http"
	"net/url"

	"secondment/internal/approval"
	"secondment/internal/auth"
	"secondment/internal/secondment"
	"secondment/web"
)

func peopleQueryOf(r *http.Request) approval.PeopleQuery {
	q := r.URL.Query()
	return approval.PeopleQuery{UnitCode: q.Get("unit"), Q: q.Get("q"), After: q.Get("after")}
}

func (s *Server) handlePersonList(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	units, err := s.visibleUnits(r, u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := peopleQueryOf(r)
	people, err := s.app.People(r.Context(), u, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, web.PersonListPage(web.PersonListView{People: people, Units: units, UnitCode: q.UnitCode, Q: q.Q}))
}

// personFields are the person form's fields.
var personFields = []string{"code", "name", "unit", "post", "rank", "note", "leader", "gender", "born", "political", "category", "education"}

func personOfForm(f web.Form) approval.PersonInput {
	return approval.PersonInput{Code: f.Value("code"), Name: f.Value("name"), UnitCode: f.Value("unit"), Post: f.Value("post"),
		Rank: f.Value("rank"), Note: f.Value("note"), Leader: f.Value("leader") == "on" || f.Value("leader") == "true",
		Gender: ptr(f.Value("gender")), Born: ptr(f.Value("born")), Political: ptr(f.Value("political")),
		Category: ptr(f.Value("category")), Education: ptr(f.Value("education"))}
}

func formOfPerson(p secondment.PersonView) web.Form {
	f := web.NewForm()
	for k, v := range map[string]string{"code": p.Code, "name": p.Name, "unit": p.HomeUnitCode, "post": p.Post,
		"rank": p.Rank, "note": p.Note, "gender": string(p.Gender), "born": p.Born.YearMonth(), "political": string(p.Political),
		"category": string(p.Category), "education": p.Education} {
		f.Values[k] = v
	}
	if p.Leader {
		f.Values["leader"] = "on"
	}
	return f
}

func (s *Server) showPersonForm(w http.ResponseWriter, r *http.Request, u auth.User, status int, v web.PersonFormView) {
	var err error
	if v.Units, err = s.visibleUnits(r, u); err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderStatus(w, r, status, web.PersonFormPage(v))
}

func (s *Server) handlePersonNew(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := web.NewForm()
	f.Values["unit"] = r.URL.Query().Get("unit")
	s.showPersonForm(w, r, u, http.StatusOK, web.PersonFormView{Form: f})
}

func (s *Server) handlePersonEdit(w http.ResponseWriter, r *http.Request) {
	u, id, ok := s.userAndPathID(w, r, "personID")
	if !ok {
		return
	}
	p, err := s.app.Person(r.Context(), u, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.showPersonForm(w, r, u, http.StatusOK, web.PersonFormView{Form: formOfPerson(p), ID: id})
}

func (s *Server) handlePersonCreate(w http.ResponseWriter, r *http.Request) {
	if u, err := currentUser(r); err != nil {
		s.fail(w, r, err)
	} else {
		s.savePerson(w, r, u, 0)
	}
}

func (s *Server) handlePersonUpdate(w http.ResponseWriter, r *http.Request) {
	if u, id, ok := s.userAndPathID(w, r, "personID"); ok {
		s.savePerson(w, r, u, id)
	}
}

// savePerson adds (id 0) or edits a person from the form, then shows the
// person in the list of their unit.
func (s *Server) savePerson(w http.ResponseWriter, r *http.Request, u auth.User, id int64) {
	f, err := readForm(w, r, personFields...)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.app.PersonSave(r.Context(), u, id, personOfForm(f))
	if err != nil {
		if !withErrors(&f, err) {
			s.fail(w, r, err)
			return
		}
		s.showPersonForm(w, r, u, http.StatusUnprocessableEntity, web.PersonFormView{Form: f, ID: id})
		return
	}
	http.Redirect(w, r, "/people?"+url.Values{"unit": {p.HomeUnitCode}, "q": {p.Code}}.Encode(), http.StatusSeeOther)
}

// apiPerson is a person as the JSON API shows them.
type apiPerson struct {
	ID           int64  `json:"id"`
	Code         string `json:"code"`
	Name         string `json:"name"`
	HomeUnitCode string `json:"home_unit_code"`
	HomeUnitName string `json:"home_unit_name"`
	Post         string `json:"post"`
	Rank         string `json:"rank"`
	Note         string `json:"note"`
	Leader       bool   `json:"leader"`
	Gender       string `json:"gender,omitempty"`    // male, female
	Born         string `json:"born,omitempty"`      // 出生年月: 1990-05
	Political    string `json:"political,omitempty"` // cpc, cpc_probationary, cyl, democratic, masses
	Category     string `json:"category,omitempty"`  // civil_servant, cs_managed (参公), institution (事业), other
	Education    string `json:"education,omitempty"`
}

func toAPIPerson(p secondment.PersonView) apiPerson {
	return apiPerson{ID: p.ID, Code: p.Code, Name: p.Name, HomeUnitCode: p.HomeUnitCode, HomeUnitName: p.HomeUnitName,
		Post: p.Post, Rank: p.Rank, Note: p.Note, Leader: p.Leader, Gender: string(p.Gender), Born: p.Born.YearMonth(),
		Political: string(p.Political), Category: string(p.Category), Education: p.Education}
}

// handleAPIPersonList is one page of the people the caller may see, by
// code; ?unit=, ?q= and ?after= as on the page.
func (s *Server) handleAPIPersonList(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	people, err := s.app.People(r.Context(), u, peopleQueryOf(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]apiPerson, 0, len(people.Rows))
	for _, p := range people.Rows {
		out = append(out, toAPIPerson(p))
	}
	body := map[string]any{"people": out}
	if people.Next != "" {
		body["next"] = people.Next
	}
	writeJSON(w, body)
}

// apiPersonBody is a person to add or edit; the code of an existing
// person is kept.
type apiPersonBody struct {
	Code         string `json:"code"`
	Name         string `json:"name"`
	HomeUnitCode string `json:"home_unit_code"`
	Post         string `json:"post"`
	Rank         string `json:"rank"`
	Note         string `json:"note"`
	Leader       bool   `json:"leader"`
	// The particulars: absent keeps what is on record, "" clears.
	Gender    *string `json:"gender"`
	Born      *string `json:"born"`
	Political *string `json:"political"`
	Category  *string `json:"category"`
	Education *string `json:"education"`
}

func (s *Server) handleAPIPersonSave(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var id int64
	if r.Method == http.MethodPatch {
		var ok bool
		if u, id, ok = s.userAndPathID(w, r, "personID"); !ok {
			return
		}
	}
	var b apiPersonBody
	if err := readJSON(w, r, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.app.PersonSave(r.Context(), u, id, approval.PersonInput{Code: b.Code, Name: b.Name, UnitCode: b.HomeUnitCode,
		Post: b.Post, Rank: b.Rank, Note: b.Note, Leader: b.Leader, Gender: b.Gender, Born: b.Born, Political: b.Political,
		Category: b.Category, Education: b.Education})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if id == 0 {
		w.WriteHeader(http.StatusCreated)
	}
	_ = json.NewEncoder(w).Encode(toAPIPerson(p))
}

// handleAPINominees lists the people a borrowing clerk may propose whose
// name or unit contains ?q= (up to 200): the person_id a draft needs.
func (s *Server) handleAPINominees(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	people, err := s.app.Nominees(r.Context(), u, r.URL.Query().Get("q"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	type nominee struct {
		ID       int64  `json:"id"`
		Name     string `json:"name"`
		UnitName string `json:"unit_name"`
		Post     string `json:"post"`
	}
	out := make([]nominee, 0, len(people))
	for _, p := range people {
		out = append(out, nominee{ID: p.ID, Name: p.Name, UnitName: p.UnitName, Post: p.Post})
	}
	writeJSON(w, map[string]any{"nominees": out})
}

// ptr is v's address, for an input whose absence means "keep".
func ptr(v string) *string { return &v }
