package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"secondment/internal/approval"
	"secondment/internal/auth"
	"secondment/internal/i18n"
	"secondment/internal/secondment"
	"secondment/internal/sheet"
	"secondment/web"
)

// ledgerQueryOf reads the ledger's filter from a query string: the page,
// the API and the exports read the same parameters.
func ledgerQueryOf(v url.Values) approval.LedgerQuery {
	id := func(k string) int64 {
		n, err := strconv.ParseInt(v.Get(k), 10, 64)
		if err != nil && v.Get(k) != "" {
			return -1 // not a unit: matches nothing, as an unknown unit does
		}
		return n
	}
	flag := func(k string) bool { b, _ := strconv.ParseBool(v.Get(k)); return b }
	var states []string
	for _, s := range v["state"] {
		if s = strings.TrimSpace(s); s != "" {
			states = append(states, s)
		}
	}
	// An import is named by a positive ID; any other value matches nothing
	// (0 would otherwise mean "no filter" under a box that says it filters).
	imp := id("import")
	if v.Get("import") != "" && imp <= 0 {
		imp = -1
	}
	return approval.LedgerQuery{As: v.Get("as"), States: states, Kind: v.Get("kind"), Alias: v.Get("alias"),
		Purpose: v.Get("purpose"), Level: v.Get("level"), System: v.Get("system"), BorrowerID: id("borrower"),
		LenderID: id("lender"), Import: imp, From: v.Get("from"), To: v.Get("to"), EndFrom: v.Get("end_from"), EndTo: v.Get("end_to"),
		Unrenewed: flag("unrenewed"), Overdue: flag("overdue"),
		Irregular: flag("irregular"), Renewals: flag("renewals"), Registered: flag("registered"), Q: v.Get("q"),
		Sort: v.Get("sort"), After: v.Get("after")}
}

func (s *Server) handleLedger(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := web.LedgerView{Query: r.URL.Query(), Form: web.NewForm()}
	v.Ledger, err = s.app.Ledger(r.Context(), u, ledgerQueryOf(r.URL.Query()))
	status := http.StatusOK
	if err != nil {
		if !withErrors(&v.Form, err) {
			s.fail(w, r, err)
			return
		}
		status = http.StatusUnprocessableEntity
	}
	s.renderStatus(w, r, status, web.LedgerPage(v))
}

// apiLedgerRow is one row of the ledger on the API.
type apiLedgerRow struct {
	ID           int64    `json:"id"`
	Number       string   `json:"number"`
	State        string   `json:"state"`
	Kind         string   `json:"kind"`
	Alias        string   `json:"alias"`
	Purpose      string   `json:"purpose"`
	Task         string   `json:"task"`
	Person       string   `json:"person"`
	Borrower     string   `json:"borrower"`
	Lender       string   `json:"lender"`
	LenderLevel  string   `json:"lender_level"`
	Start        string   `json:"start"`
	End          string   `json:"end"`
	ReturnedOn   string   `json:"returned_on,omitempty"`
	Renewal      bool     `json:"renewal"`
	RegisteredOn string   `json:"registered_on,omitempty"`
	ApprovalRef  string   `json:"approval_ref,omitempty"`
	Irregular    []string `json:"irregular"`
	Category     string   `json:"staff_category,omitempty"` // the person's: civil_servant, cs_managed, institution, other
	SalaryWith   string   `json:"salary_with"`              // lender (the default) or borrower
}

func toAPILedgerRow(l secondment.LedgerLine) apiLedgerRow {
	out := apiLedgerRow{ID: l.ID, Number: l.Number, State: string(l.State), Kind: string(l.Kind), Alias: string(l.Alias),
		Purpose: string(l.Purpose), Task: l.Task, Person: l.PersonName, Borrower: l.BorrowerName, Lender: l.LenderName,
		LenderLevel: string(l.LenderLevel), Start: l.Start.String(), End: l.End.String(), Renewal: l.Renewal,
		ApprovalRef: l.ApprovalRef, Irregular: []string{}, Category: string(l.Category), SalaryWith: string(l.SalaryWith.Or())}
	if !l.ReturnedOn.IsZero() {
		out.ReturnedOn = l.ReturnedOn.String()
	}
	if !l.RegisteredOn.IsZero() {
		out.RegisteredOn = l.RegisteredOn.String()
	}
	for _, r := range l.Irregular {
		out.Irregular = append(out.Irregular, string(r))
	}
	return out
}

// handleAPILedger is one page of the ledger: rows, the filter's count
// (capped: "more" when over it) and the next page's cursor.
func (s *Server) handleAPILedger(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l, err := s.app.Ledger(r.Context(), u, ledgerQueryOf(r.URL.Query()))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows := make([]apiLedgerRow, 0, len(l.Rows))
	for _, row := range l.Rows {
		rows = append(rows, toAPILedgerRow(row))
	}
	body := map[string]any{"as": l.As, "rows": rows, "total": l.Total, "more": l.More}
	if l.Next != "" {
		body["next"] = l.Next
	}
	writeJSON(w, body)
}

// ledgerColumns are the export's columns: message IDs of their headers.
var ledgerColumns = []string{"secondment.number", "secondment.person", "secondment.lender", "ledger.lender_level",
	"secondment.borrower", "secondment.kind", "secondment.alias", "secondment.purpose", "secondment.task",
	"secondment.start", "secondment.end", "ledger.returned_on", "secondment.state", "ledger.renewal",
	"ledger.registered_on", "ledger.approval_ref", "ledger.irregular", "person.col.category", "secondment.salary_with"}

func ledgerCells(l *i18n.Localizer, row secondment.LedgerLine) []string {
	date := dateString
	yes := ""
	if row.Renewal {
		yes = l.T("ledger.yes")
	}
	rules := make([]string, len(row.Irregular))
	for i, r := range row.Irregular {
		rules[i] = string(r)
	}
	category := ""
	if row.Category != "" {
		category = l.Message(row.Category.Message())
	}
	return []string{row.Number, row.PersonName, row.LenderName, l.T("unit.level." + string(row.LenderLevel)),
		row.BorrowerName, l.Message(row.Kind.Message()), l.Message(row.Alias.Message()), l.Message(row.Purpose.Message()),
		row.Task, date(row.Start), date(row.End), date(row.ReturnedOn), l.Message(row.State.Message()), yes,
		date(row.RegisteredOn), row.ApprovalRef, strings.Join(rules, " "), category, l.Message(row.SalaryWith.Message())}
}

// handleLedgerExport streams the filtered ledger as .csv or .xlsx (the
// path's extension), in the user's language, page by page: memory stays
// flat whatever the size. A filter error or an export over the limit is
// refused before anything is written.
func (s *Server) handleLedgerExport(format string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, err := currentUser(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		loc := i18n.FromContext(r.Context())
		header := make([]string, len(ledgerColumns))
		for i, id := range ledgerColumns {
			header[i] = loc.T(id)
		}
		var out sheet.Writer
		name := fmt.Sprintf("ledger-%s.%s", secondment.Today(s.clock), format)
		err = s.app.LedgerEach(r.Context(), u, ledgerQueryOf(r.URL.Query()), func(row secondment.LedgerLine) error {
			if out == nil {
				if out, err = startExport(w, format, name, "台账", header); err != nil {
					return err
				}
			}
			return out.Write(ledgerCells(loc, row))
		})
		if err == nil && out == nil {
			out, err = startExport(w, format, name, "台账", header) // an empty ledger is a file with its header
		}
		if err != nil {
			if out == nil {
				s.fail(w, r, err)
			} else {
				// Headers are sent: all that can be done is to cut the
				// file short, which the client sees as a broken download.
				s.log.Error("ledger export", "err", err)
			}
			return
		}
		if err := out.Close(); err != nil {
			s.log.Error("ledger export", "err", err)
		}
	}
}

func startExport(w http.ResponseWriter, format, name, sheetName string, header []string) (sheet.Writer, error) {
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	if format == "xlsx" {
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		return sheet.NewXLSX(w, sheetName, header)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	return sheet.NewCSV(w, header)
}

// registerFields are the registration form's fields.
var registerFields = []string{"person", "borrower", "kind", "alias", "purpose", "task", "start", "end", "status",
	"returned_on", "approval_ref", "approved_on", "transfer_method", "q"}

func registerOfForm(f web.Form) approval.RegisterInput {
	person, _ := strconv.ParseInt(f.Value("person"), 10, 64)
	borrower, _ := strconv.ParseInt(f.Value("borrower"), 10, 64)
	return approval.RegisterInput{PersonID: person, BorrowerID: borrower, Kind: f.Value("kind"), Alias: f.Value("alias"),
		Purpose: f.Value("purpose"), Task: f.Value("task"), Start: f.Value("start"), End: f.Value("end"),
		Status: f.Value("status"), ReturnedOn: f.Value("returned_on"), ApprovalRef: f.Value("approval_ref"),
		ApprovedOn: f.Value("approved_on"), TransferMethod: f.Value("transfer_method")}
}

func (s *Server) showRegisterForm(w http.ResponseWriter, r *http.Request, u auth.User, status int, v web.RegisterView) {
	var err error
	if v.Choices, err = s.app.Choices(r.Context(), u, v.Form.Value("q")); err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderStatus(w, r, status, web.RegisterPage(v))
}

func (s *Server) handleRegisterForm(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := web.NewForm()
	f.Values["q"] = strings.TrimSpace(r.URL.Query().Get("q"))
	f.Values["kind"], f.Values["status"] = string(secondment.KindSecondment), string(secondment.StockRunning)
	s.showRegisterForm(w, r, u, http.StatusOK, web.RegisterView{Form: f})
}

// handleRegister registers the form's secondment and shows it in the
// ledger, with what the rules found.
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := readForm(w, r, registerFields...)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	reg, err := s.app.Register(r.Context(), u, registerOfForm(f))
	if err != nil {
		if !withErrors(&f, err) {
			s.fail(w, r, err)
			return
		}
		s.showRegisterForm(w, r, u, http.StatusUnprocessableEntity, web.RegisterView{Form: f})
		return
	}
	s.showRegisterForm(w, r, u, http.StatusOK, web.RegisterView{Form: web.NewForm(), Done: &reg})
}

// apiRegister is the body of a registration.
type apiRegister struct {
	PersonID       int64  `json:"person_id"`
	BorrowerID     int64  `json:"borrower_id"`
	LenderID       int64  `json:"lender_id"`
	Kind           string `json:"kind"`
	Alias          string `json:"alias"`
	Purpose        string `json:"purpose"`
	Task           string `json:"task"`
	Start          string `json:"start"`
	End            string `json:"end"`
	Status         string `json:"status"`
	ReturnedOn     string `json:"returned_on"`
	ApprovalRef    string `json:"approval_ref"`
	ApprovedOn     string `json:"approved_on"`
	TransferMethod string `json:"transfer_method"`
}

// handleAPIRegister registers an existing secondment: 201 with its number,
// state and the rules it breaks; 200 with "already" when the same person,
// borrowing unit and start were registered before.
func (s *Server) handleAPIRegister(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var b apiRegister
	if err := readJSON(w, r, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	reg, err := s.app.Register(r.Context(), u, approval.RegisterInput{PersonID: b.PersonID, BorrowerID: b.BorrowerID,
		LenderID: b.LenderID, Kind: b.Kind, Alias: b.Alias, Purpose: b.Purpose, Task: b.Task, Start: b.Start, End: b.End,
		Status: b.Status, ReturnedOn: b.ReturnedOn, ApprovalRef: b.ApprovalRef, ApprovedOn: b.ApprovedOn,
		TransferMethod: b.TransferMethod})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	irregular := make([]string, len(reg.Irregular))
	for i, x := range reg.Irregular {
		irregular[i] = string(x)
	}
	findings := violations(s.catalog.Localizer(i18n.English), reg.Findings)
	if findings == nil {
		findings = []apiViolation{}
	}
	w.Header().Set("Content-Type", "application/json")
	if !reg.Already {
		w.Header().Set("Location", requestPath(reg.ID))
		w.WriteHeader(http.StatusCreated)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"id": reg.ID, "number": reg.Number, "state": reg.State,
		"already": reg.Already, "irregular": irregular, "findings": findings})
}
