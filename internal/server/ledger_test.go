package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"secondment/internal/demo"
	"secondment/internal/i18n"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
	"secondment/internal/server"
	"secondment/internal/sheet"
)

// newStorySetup is a server over the demo with its stories, on today.
func newStorySetup(t *testing.T) *setup {
	t.Helper()
	now := time.Now()
	s := newSetupAt(t, true, now)
	if _, err := demo.LoadStories(t.Context(), s.store, now); err != nil {
		t.Fatal(err)
	}
	return s
}

type ledgerPage struct {
	As    string `json:"as"`
	Total int    `json:"total"`
	More  bool   `json:"more"`
	Next  string `json:"next"`
	Rows  []struct {
		ID        int64    `json:"id"`
		Number    string   `json:"number"`
		State     string   `json:"state"`
		Person    string   `json:"person"`
		Lender    string   `json:"lender"`
		Irregular []string `json:"irregular"`
	} `json:"rows"`
}

func (c *client) ledger(query string) ledgerPage {
	c.t.Helper()
	res, body := c.get("/api/v1/ledger?" + query)
	if res.StatusCode != http.StatusOK {
		c.t.Fatalf("ledger %s: %d %s", query, res.StatusCode, body)
	}
	var p ledgerPage
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		c.t.Fatal(err)
	}
	return p
}

// The ledger lists a party's secondments, scoped, filtered, counted and
// paged by keyset without loss or repeat; page and API agree; exports read
// back to the same rows.
func TestLedger(t *testing.T) {
	t.Parallel()
	s := newStorySetup(t)
	c := demo.StoryCounts

	// The org dept's registrar: the clean-up's stock, 165 in all, and its
	// returned part; every page of 50 until the end, nothing twice.
	reg := s.as(t, "xj-ks-zzb.registrar")
	// S6's stock and the end-2022 clean-up's, all from townships.
	allStock, allReturned := c.KashgarStock+c.Kashgar2022Returned+c.Kashgar2022Transferred, c.StockReturned+c.Kashgar2022Returned
	stock := reg.ledger("registered=true&level=township")
	if stock.Total != allStock || stock.As != "registrar" || len(stock.Rows) != 50 || stock.Next == "" {
		t.Fatalf("stock page: total %d as %s, %d rows, next %q", stock.Total, stock.As, len(stock.Rows), stock.Next)
	}
	seen := map[int64]bool{}
	for p, pages := stock, 1; ; pages++ {
		for _, r := range p.Rows {
			if seen[r.ID] {
				t.Fatalf("row %d on two pages", r.ID)
			}
			seen[r.ID] = true
		}
		if p.Next == "" {
			break
		}
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		p = reg.ledger("registered=true&level=township&after=" + url.QueryEscape(p.Next))
	}
	if len(seen) != allStock {
		t.Errorf("paged through %d rows, want %d", len(seen), allStock)
	}
	if n := reg.ledger("registered=true&state=returned").Total; n != allReturned {
		t.Errorf("returned stock %d, want %d", n, allReturned)
	}
	if n := reg.ledger("registered=true&state=transfer_pending").Total; n != c.StockTransfer {
		t.Errorf("stock in transfer-in %d, want %d", n, c.StockTransfer)
	}
	overdue := reg.ledger("overdue=true&irregular=true")
	if overdue.Total == 0 {
		t.Error("no overdue irregular secondment in Kashgar's ledger")
	}
	if n := reg.ledger("overdue=true&state=returned").Total; n != 0 {
		t.Errorf("overdue and returned at once: %d rows", n)
	}
	if n := reg.ledger("overdue=true&state=overdue&state=returned").Total; n < overdue.Total {
		t.Errorf("overdue among overdue or returned: %d, want at least %d", n, overdue.Total)
	}
	for _, r := range overdue.Rows {
		if r.State != "overdue" || !strings.Contains(strings.Join(r.Irregular, " "), "R10") {
			t.Errorf("overdue filter gave %s with %v", r.State, r.Irregular)
		}
	}

	// The page shows the same count and rows as the API.
	_, body := reg.get("/ledger?registered=true&level=township")
	page := doc(t, body)
	if got := within(page, "ledger-total"); !strings.Contains(got, strconv.Itoa(allStock)) {
		t.Errorf("page total %q", got)
	}
	if n := len(byTestID(page, "ledger-row")); n != 50 {
		t.Errorf("page shows %d rows", n)
	}

	// A lending unit sees its own people only, and as the lender.
	lender := s.as(t, "xj-ks-akks.lender")
	mine := lender.ledger("")
	if mine.As != "lender" || mine.Total == 0 {
		t.Fatalf("阿克喀什乡's ledger: %+v", mine)
	}
	for _, r := range mine.Rows {
		if r.Lender != "阿克喀什乡" {
			t.Errorf("阿克喀什乡 sees %s of %s", r.Person, r.Lender)
		}
	}
	if res, _ := lender.get("/api/v1/ledger?as=orgdept"); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a lender asking for the org dept's ledger: %d, want 422", res.StatusCode)
	}
	if res, _ := reg.get("/api/v1/ledger?state=draft"); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad state: %d, want 422", res.StatusCode)
	}
	if res, _ := reg.get("/ledger?from=2024-13-01"); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("page with a bad date: %d, want 422", res.StatusCode)
	}
	if res, _ := reg.get("/api/v1/ledger?after=garbage"); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad cursor: %d, want 422", res.StatusCode)
	}

	// Exports of the filtered view read back to the same rows, in Chinese.
	for _, format := range []string{"csv", "xlsx"} {
		res, body := reg.get("/ledger." + format + "?registered=true&state=returned")
		if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Disposition"), "."+format) {
			t.Fatalf("export %s: %d %v", format, res.StatusCode, res.Header)
		}
		tab, err := sheet.Read("ledger."+format, bytes.NewReader([]byte(body)), sheet.Limits{})
		if err != nil {
			t.Fatalf("export %s reads back: %v", format, err)
		}
		if len(tab.Rows) != allReturned || tab.Column("编号") < 0 || tab.Column("违规情形") < 0 {
			t.Errorf("export %s: %d rows, header %v", format, len(tab.Rows), tab.Header)
		}
	}
	// A lender's export holds its own people only.
	res, body := lender.get("/ledger.csv")
	tab, err := sheet.Read("l.csv", strings.NewReader(body), sheet.Limits{})
	if err != nil || res.StatusCode != 200 || len(tab.Rows) != mine.Total {
		t.Fatalf("lender export: %d, %v, %d rows of %d", res.StatusCode, err, len(tab.Rows), mine.Total)
	}
	col := tab.Column("借出单位（原单位）")
	for _, r := range tab.Rows {
		if r.Cells[col].Text != "阿克喀什乡" {
			t.Errorf("lender export holds a row of %s", r.Cells[col].Text)
		}
	}
}

// Registration through the API and the page: created, then "already";
// refused for a clerk and with the fields named for bad input.
func TestRegisterAPIAndPage(t *testing.T) {
	t.Parallel()
	s := newStorySetup(t)
	ctx := t.Context()
	var person, borrower int64
	if err := s.store.Pool.QueryRow(ctx, `SELECT p.id, b.id FROM person p, unit b
		WHERE p.name = '刘晓燕' AND b.code = 'SD-WH-HC-XC'`).Scan(&person, &borrower); err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"person_id": person, "borrower_id": borrower, "kind": "secondment", "purpose": "special_project",
		"task": "乡村振兴专项", "start": time.Now().AddDate(0, -5, 0).Format("2006-01-02"),
		"end": time.Now().AddDate(0, -2, 0).Format("2006-01-02"), "status": "running"}
	reg := s.as(t, "sd-wh-hc-zzb.registrar")
	post := func(c *client, v any) (*http.Response, map[string]any) {
		t.Helper()
		b, _ := json.Marshal(v)
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/api/v1/stock", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		res, out := c.do(req)
		var m map[string]any
		_ = json.Unmarshal([]byte(out), &m)
		return res, m
	}
	res, got := post(reg, body)
	if res.StatusCode != http.StatusCreated || got["state"] != "overdue" || got["already"] != false {
		t.Fatalf("register: %d %v", res.StatusCode, got)
	}
	// Its page opens from the ledger's link, for the registrar and the
	// lending unit, and is 404 for a unit it does not concern.
	for login, want := range map[string]int{"sd-wh-hc-zzb.registrar": 200, "sd-wh-hc-yt.lender": 200, "xj-ks-akks.lender": 404} {
		res, body := s.as(t, login).get(res.Header.Get("Location"))
		if res.StatusCode != want {
			t.Errorf("%s opens the registered secondment: %d, want %d: %.300s", login, res.StatusCode, want, body)
		} else if want == 200 && !strings.Contains(within(doc(t, body), "registered"), "无审批记录") {
			t.Errorf("%s: the page does not say it is registered stock without approval", login)
		}
	}
	irregular, _ := got["irregular"].([]any)
	if len(irregular) == 0 {
		t.Errorf("no approval on record, yet no irregularity: %v", got)
	}
	res, again := post(reg, body)
	if res.StatusCode != http.StatusOK || again["already"] != true || again["number"] != got["number"] {
		t.Errorf("again: %d %v", res.StatusCode, again)
	}
	if res, _ := post(s.as(t, "sd-wh-hc-xc.borrower"), body); res.StatusCode != http.StatusForbidden {
		t.Errorf("a clerk registering: %d, want 403", res.StatusCode)
	}
	bad := map[string]any{}
	for k, v := range body {
		bad[k] = v
	}
	bad["status"], bad["end"] = "lost", "someday"
	res, problem := post(reg, bad)
	errs, _ := problem["errors"].(map[string]any)
	if res.StatusCode != http.StatusUnprocessableEntity || errs["status"] == nil || errs["end"] == nil {
		t.Errorf("bad registration: %d %v", res.StatusCode, problem)
	}

	// The page: the form, a refusal in Chinese, a registration.
	if res, body := reg.get("/ledger/register"); res.StatusCode != 200 || !strings.Contains(body, "登记存量借调") {
		t.Fatalf("register form: %d", res.StatusCode)
	}
	form := url.Values{"person": {strconv.FormatInt(person, 10)}, "borrower": {strconv.FormatInt(borrower, 10)},
		"kind": {"secondment"}, "purpose": {"special_project"}, "task": {"乡村振兴专项"}, "status": {"returned"},
		"start": {time.Now().AddDate(-2, 0, 0).Format("2006-01-02")}, "end": {time.Now().AddDate(-2, 2, 0).Format("2006-01-02")}}
	res, page := reg.post("/ledger/register", form)
	if res.StatusCode != http.StatusUnprocessableEntity || within(doc(t, page), "error-returned_on") == "" {
		t.Fatalf("register page without a return date: %d", res.StatusCode)
	}
	form.Set("returned_on", time.Now().AddDate(-2, 2, 0).Format("2006-01-02"))
	res, page = reg.post("/ledger/register", form)
	if res.StatusCode != http.StatusOK || !strings.Contains(within(doc(t, page), "register-done"), "登记〔") {
		t.Fatalf("register page: %d %s", res.StatusCode, within(doc(t, page), "form-summary"))
	}
}

// On a rehearsal clock every page says which day it pretends to be; on
// the real clock none does.
func TestRehearsalBanner(t *testing.T) {
	t.Parallel()
	day := secondment.DateOf(time.Now()).AddDays(90)
	h := server.New(server.Deps{Catalog: i18n.MustLoad(), Clock: secondment.RehearsalOn(day, time.Now())}).Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/signin", nil))
	if got := within(doc(t, rec.Body.String()), "rehearsal"); !strings.Contains(got, day.String()) {
		t.Errorf("rehearsal banner %q lacks %s", got, day)
	}
	rec = httptest.NewRecorder()
	server.New(server.Deps{Catalog: i18n.MustLoad()}).Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/signin", nil))
	if strings.Contains(rec.Body.String(), `data-testid="rehearsal"`) {
		t.Error("a banner on the real clock")
	}
}

// The import on the API: a raw upload previews (201), a commit registers,
// a second commit adds nothing, another user's upload is 404, a bad file
// is 422 naming the file.
func TestImportAPI(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, time.Now())
	reg := s.as(t, "xj-ks-zzb.registrar")
	csv := "姓名,原单位（借出单位）,借用单位,借调事由,具体任务,开始日期,结束日期,借调现状,返回日期\n" +
		"李传群,阿克喀什乡,喀什市纪委监委,专项工作,专项,2023-01-01,2023-03-01,已返回原单位,2023-03-01\n"
	call := func(c *client, method, path, body string) (*http.Response, map[string]any) {
		t.Helper()
		return c.sendCSV(method, path, body)
	}
	res, pre := call(reg, "POST", "/api/v1/stock/imports?name=stock.csv", csv)
	if res.StatusCode != http.StatusCreated || pre["new"] != float64(1) || pre["committed"] != false {
		t.Fatalf("upload: %d %v", res.StatusCode, pre)
	}
	loc := res.Header.Get("Location")
	res, done := call(reg, "POST", loc+"/commit", "")
	if res.StatusCode != 200 || done["new"] != float64(1) || done["committed"] != true {
		t.Fatalf("commit: %d %v", res.StatusCode, done)
	}
	if _, again := call(reg, "POST", loc+"/commit", ""); again["new"] != float64(0) || again["already"] != float64(1) {
		t.Errorf("second commit: %v", again)
	}
	// The import's rows are a filter of the ledger, linked from its page;
	// the org dept opens a clean-up campaign over them (issue #11: a
	// campaign over an import).
	importID := loc[strings.LastIndex(loc, "/")+1:]
	_, body := reg.get("/ledger/import/" + importID)
	if href := attr(byTestID(doc(t, body), "import-rows")[0], "href"); href != "/ledger?import="+importID {
		t.Errorf("the import page links its rows at %q", href)
	}
	org := s.as(t, "xj-ks-zzb.orgdept")
	rows := org.ledger("as=orgdept&import=" + importID)
	if rows.Total != 1 || len(rows.Rows) != 1 || rows.Rows[0].Person != "李传群" {
		t.Fatalf("the import's rows: %+v", rows)
	}
	for _, q := range []string{"as=orgdept&import=" + importID + "0", "as=orgdept&import=0", "as=orgdept&import=-1"} {
		if n := org.ledger(q).Total; n != 0 {
			t.Errorf("%s: %d rows", q, n)
		}
	}
	if n := s.as(t, "nmg-bt-zzb.orgdept").ledger("import=" + importID).Total; n != 0 {
		t.Errorf("another org dept sees %d rows of the import", n)
	}
	res, _ = org.post("/campaigns", url.Values{"import": {importID}, "name": {"导入存量专项清理"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("a campaign over the import: %d", res.StatusCode)
	}
	if c := org.campaign("/api/v1" + res.Header.Get("Location")); c.Counts.Found != 1 || c.Counts.Returned != 1 ||
		!strings.Contains(c.Filter, "import="+importID) {
		t.Errorf("the campaign over the import: %+v", c)
	}
	if res, _ := call(s.as(t, "xj-ks-zzb.orgdept"), "GET", loc, ""); res.StatusCode != http.StatusNotFound {
		t.Errorf("another user's upload: %d, want 404", res.StatusCode)
	}
	res, problem := call(reg, "POST", "/api/v1/stock/imports?name=stock.xls", "\xd0\xcf\x11\xe0garbage")
	errs, _ := problem["errors"].(map[string]any)
	if res.StatusCode != http.StatusUnprocessableEntity || errs["file"] == nil {
		t.Errorf("an .xls: %d %v", res.StatusCode, problem)
	}
	if res, body := reg.get("/ledger/import/template.xlsx"); res.StatusCode != 200 {
		t.Errorf("template: %d", res.StatusCode)
	} else if tab, err := sheet.Read("t.xlsx", strings.NewReader(body), sheet.Limits{}); err != nil || tab.Column("借调现状") < 0 || len(tab.Rows) != 1 {
		t.Errorf("the template does not read back as an import file: %v", err)
	}
}

// sendCSV calls the API with a CSV body (an import file, or nothing) and
// decodes the JSON answer.
func (c *client) sendCSV(method, path, body string) (*http.Response, map[string]any) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.s.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/csv")
	res, out := c.do(req)
	var m map[string]any
	_ = json.Unmarshal([]byte(out), &m)
	return res, m
}

// A lending unit sees its load (R14, S8) on its home page and on the API
// alike: 科学路街道 has 4 of its 23 people away, over Baotou's 10%
// warning line, and the card links to who they are.
func TestLenderBurden(t *testing.T) {
	t.Parallel()
	s := newStorySetup(t)
	kxl := s.as(t, "nmg-bt-qs-kxl.lender")
	res, b := kxl.sendCSV("GET", "/api/v1/burden", "")
	want := map[string]any{"unit_code": "NMG-BT-QS-KXL", "away": float64(demo.StoryCounts.KexueluAway), "headcount": float64(23),
		"percent": "17.3", "threshold_percent": "10.0", "warn": true}
	for k, v := range want {
		if res.StatusCode != 200 || b[k] != v {
			t.Errorf("burden %s = %v, want %v (%d %v)", k, b[k], v, res.StatusCode, b)
		}
	}
	_, home := kxl.get("/")
	card := regexp.MustCompile(`(?s)<a class="card warn" href="([^"]+)" data-testid="burden">.*?</a>`).FindStringSubmatch(home)
	if card == nil || !strings.Contains(card[0], "4 / 23") || !strings.Contains(card[0], `data-testid="burden-warn"`) {
		t.Fatalf("home has no warning burden card of 4 / 23: %.400s", card)
	}
	// Its gauge: 4 of 23 filled (17.39%), the 10% line marked.
	if !strings.Contains(card[0], `class="fill" x="0" y="0" width="17.39"`) || !strings.Contains(card[0], `class="mark" x="10.00"`) {
		t.Errorf("the burden card's gauge: %.600s", card[0])
	}
	// The card's rows are the people away.
	if page := kxl.ledger(strings.TrimPrefix(html.UnescapeString(card[1]), "/ledger?")); page.Total != demo.StoryCounts.KexueluAway {
		t.Errorf("the card's ledger holds %d rows, want %d", page.Total, demo.StoryCounts.KexueluAway)
	}
	// Below it, who they are, where, and until when; the borrowing unit's
	// home lists whom it holds the same way.
	if n := strings.Count(home, `data-testid="away-row"`); n != demo.StoryCounts.KexueluAway {
		t.Errorf("the lending unit's home lists %d people away, want %d", n, demo.StoryCounts.KexueluAway)
	}
	for _, login := range []string{"nmg-bt-qs-rd.borrower", "xj-ks-jw.borrower"} {
		c := s.as(t, login)
		held := c.ledger("as=borrower&sort=end&state=active&state=expired&state=overdue&state=transfer_pending")
		if held.Total == 0 {
			t.Fatalf("%s holds nobody in the demo", login)
		}
		_, page := c.get("/")
		if strings.Count(page, `data-testid="away-row"`) != min(held.Total, 10) || !strings.Contains(page, held.Rows[0].Person) ||
			!strings.Contains(page, fmt.Sprintf("查看全部 %d 人", held.Total)) {
			t.Errorf("%s's home does not list the first of the %d people it holds", login, held.Total)
		}
	}
	// Its clerk's own; a borrowing clerk has none.
	if res, _ := s.as(t, "nmg-bt-qs-rd.borrower").sendCSV("GET", "/api/v1/burden", ""); res.StatusCode != http.StatusForbidden {
		t.Errorf("a borrowing clerk's burden: %d, want 403", res.StatusCode)
	}
	if _, home := s.as(t, "nmg-bt-qs-rd.borrower").get("/"); strings.Contains(home, `data-testid="burden"`) {
		t.Error("a borrowing clerk's home shows a lending unit's burden")
	}
}

// The org dept's home lists the lending units with the most people away,
// with their share of the headcount (科学路街道: 4 of 23, over the line),
// and the borrowing units holding the most; each count opens its rows.
func TestOrgDeptLoads(t *testing.T) {
	t.Parallel()
	s := newStorySetup(t)
	for _, login := range []string{"nmg-bt-qs-zzb.orgdept", "nmg-bt-qs-zzb.registrar"} {
		c := s.as(t, login)
		_, home := c.get("/")
		row := regexp.MustCompile(`(?s)<tr data-testid="load-row"><td[^>]*>科学路街道办事处.*?</tr>`).FindString(home)
		link := regexp.MustCompile(`href="([^"]+)" data-testid="load-away">(\d+)<`).FindStringSubmatch(row)
		if link == nil || link[2] != strconv.Itoa(demo.StoryCounts.KexueluAway) || !strings.Contains(row, ">23<") ||
			!strings.Contains(row, "17.3%") || !strings.Contains(row, `data-testid="load-warn"`) {
			t.Fatalf("%s: no load row of 科学路街道 with 4 of 23 over the line: %q", login, row)
		}
		if p := c.ledger(strings.TrimPrefix(html.UnescapeString(link[1]), "/ledger?")); p.Total != demo.StoryCounts.KexueluAway {
			t.Errorf("%s: the count's ledger holds %d rows, want %d", login, p.Total, demo.StoryCounts.KexueluAway)
		}
		// Each count has its bar, the largest drawn full length.
		lenders := regexp.MustCompile(`(?s)data-testid="loads-true">.*?</table>`).FindString(home)
		if strings.Count(lenders, `data-testid="hbar"`) != strings.Count(lenders, `data-testid="load-row"`) ||
			!strings.Contains(lenders, `<rect x="0" y="0" width="100"`) || !strings.Contains(row, `data-testid="hbar"`) {
			t.Errorf("%s: the lending units' bars are missing or none is full length", login)
		}
		borrowers := regexp.MustCompile(`(?s)data-testid="loads-false">.*?</table>`).FindString(home)
		if !strings.Contains(borrowers, "青山区人大常委会机关") {
			t.Errorf("%s: the borrowing units' table lacks 青山区人大常委会机关: %.300s", login, borrowers)
		}
	}
	if _, home := s.as(t, "nmg-bt-qs-kxl.lender").get("/"); strings.Contains(home, `data-testid="load-row"`) {
		t.Error("a lending unit's home shows the org dept's tables")
	}
}

// People come in from a file through the pages and the API alike: the
// page previews the rows and commits them, the API answers the same
// counts, and the template reads back as a people file.
func TestPeopleImportPagesAndAPI(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, time.Now())
	reg := s.as(t, "xj-ks-zzb.registrar")
	file := "姓名,人员编号,所在单位,职务,是否领导职务\n" +
		"古丽,KS-IMP-1,阿克喀什乡,科员,否\n" +
		"阿不都,,不存在乡,科员,否\n"
	res, page := reg.postFile("/people/import", nil, "file", "人员.csv", []byte(file))
	if res.StatusCode != 200 || strings.Count(page, `data-testid="people-import-row"`) != 2 ||
		!strings.Contains(page, `data-outcome="new"`) || !strings.Contains(page, `data-outcome="invalid"`) {
		t.Fatalf("upload page: %d %.600s", res.StatusCode, page)
	}
	m := regexp.MustCompile(`action="(/people/import/\d+/commit)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no commit form")
	}
	res, page = reg.post(m[1], url.Values{})
	if res.StatusCode != 200 || !strings.Contains(page, `data-testid="people-import-list"`) {
		t.Fatalf("commit page: %d %.600s", res.StatusCode, page)
	}
	if _, list := reg.get("/people?q=" + url.QueryEscape("古丽")); !strings.Contains(list, "KS-IMP-1") {
		t.Error("the imported person is not on the people page")
	}

	call := func(method, path, body string) (*http.Response, map[string]any) {
		t.Helper()
		return reg.sendCSV(method, path, body)
	}
	res, pre := call("POST", "/api/v1/people/imports?name=people.csv", file+
		"古丽,KS-IMP-1,阿克喀什乡,副乡长,是\n")
	if res.StatusCode != http.StatusCreated || pre["unchanged"] != float64(1) || pre["updated"] != float64(1) || pre["invalid"] != float64(1) {
		t.Fatalf("API upload: %d %v", res.StatusCode, pre)
	}
	rows, _ := pre["rows"].([]any)
	if last, _ := rows[2].(map[string]any); last["outcome"] != "updated" || fmt.Sprint(last["changed"]) != "[post leader]" {
		t.Errorf("the updated row: %v", last)
	}
	if bad, _ := rows[1].(map[string]any); bad["problems"].(map[string]any)["Home unit"] == nil {
		t.Errorf("the bad row's problem is not on its column: %v", bad)
	}
	if res, done := call("POST", res.Header.Get("Location")+"/commit", ""); res.StatusCode != 200 || done["updated"] != float64(1) {
		t.Errorf("API commit: %d %v", res.StatusCode, done)
	}
	// A stock upload's ID is no people upload.
	res, stock := call("POST", "/api/v1/stock/imports?name=stock.csv", "姓名,原单位（借出单位）,借用单位,借调事由,具体任务,开始日期,结束日期,借调现状\n")
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("stock upload: %d %v", res.StatusCode, stock)
	}
	if res, _ := call("GET", fmt.Sprintf("/api/v1/people/imports/%v", stock["id"]), ""); res.StatusCode != http.StatusNotFound {
		t.Errorf("a stock upload read as people: %d, want 404", res.StatusCode)
	}
	if res, body := reg.get("/people/import/template.xlsx"); res.StatusCode != 200 {
		t.Errorf("template: %d", res.StatusCode)
	} else if tab, err := sheet.Read("t.xlsx", strings.NewReader(body), sheet.Limits{}); err != nil || tab.Column("所在单位") < 0 || len(tab.Rows) != 1 {
		t.Errorf("the people template does not read back: %v", err)
	}
}

// The org dept keeps the register of people: it adds and edits people of
// its region (audited), not of others; a clerk may not; the API lists
// people with their IDs, page by page; a clerk's nominees leave out the
// org dept's own leaders.
func TestPeopleRegister(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	reg := s.as(t, "nmg-bt-qs-zzb.registrar")
	res, _ := reg.post("/people", url.Values{"code": {"qs-new-01"}, "name": {"新同志"}, "unit": {"NMG-BT-QS-KXL"}, "post": {"科员"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("add a person: %d", res.StatusCode)
	}
	var id int64
	if err := s.store.Pool.QueryRow(t.Context(), `SELECT id FROM person WHERE code = 'QS-NEW-01'`).Scan(&id); err != nil {
		t.Fatalf("the person was not added: %v", err)
	}
	res, body := reg.post("/people/"+strconv.FormatInt(id, 10), url.Values{"name": {"新同志"}, "unit": {"NMG-BT-JY-MC"}})
	if res.StatusCode != http.StatusUnprocessableEntity || within(doc(t, body), "error-home_unit") == "" {
		t.Errorf("moving a person to another district's unit: %d", res.StatusCode)
	}
	if res, _ := reg.post("/people/"+strconv.FormatInt(id, 10), url.Values{"name": {"新同志"}, "unit": {"NMG-BT-QS-RD"}, "leader": {"on"}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("edit: %d", res.StatusCode)
	}
	var n int
	if err := s.store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM audit_event WHERE object_type = 'person' AND object_id = $1`, id).Scan(&n); err != nil || n != 2 {
		t.Errorf("%d audit events for the person, want 2 (%v)", n, err)
	}
	if res, _ := s.as(t, "nmg-bt-jy-zzb.registrar").get("/people/" + strconv.FormatInt(id, 10) + "/edit"); res.StatusCode != http.StatusNotFound {
		t.Errorf("another district's registrar opens the person: %d, want 404", res.StatusCode)
	}
	res, body = reg.post("/people", url.Values{"code": {"NMG-BT-QS-KXL-P01"}, "name": {"重号"}, "unit": {"NMG-BT-QS-KXL"}})
	if res.StatusCode != http.StatusUnprocessableEntity || within(doc(t, body), "error-code") == "" {
		t.Errorf("a code in use: %d, want 422 naming the code", res.StatusCode)
	}
	if res, _ := s.as(t, "nmg-bt-qs-rd.borrower").post("/people", url.Values{"code": {"X1"}, "name": {"x"}, "unit": {"NMG-BT-QS-RD"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("a clerk adds a person: %d, want 403", res.StatusCode)
	}

	// API: pages of people with IDs.
	admin := s.as(t, "sysadmin")
	seen := map[int64]bool{}
	for after, pages := "", 0; ; pages++ {
		_, body := admin.get("/api/v1/people?after=" + url.QueryEscape(after))
		var p struct {
			People []struct {
				ID   int64  `json:"id"`
				Code string `json:"code"`
			} `json:"people"`
			Next string `json:"next"`
		}
		if err := json.Unmarshal([]byte(body), &p); err != nil || pages > 5 {
			t.Fatalf("people page: %v %s", err, body)
		}
		for _, x := range p.People {
			if x.ID == 0 || seen[x.ID] {
				t.Fatalf("person %s: id %d, seen %v", x.Code, x.ID, seen[x.ID])
			}
			seen[x.ID] = true
		}
		if p.Next == "" {
			break
		}
		after = p.Next
	}
	if len(seen) != 14 {
		t.Errorf("paged through %d people, want 14", len(seen))
	}

	// Nominees: 包头市委组织部's leaders (董欣悦, 赵宇) are nobody's
	// candidates; its section chief 李志强 is.
	_, body = s.as(t, "nmg-bt-qs-rd.borrower").get("/api/v1/nominees")
	if strings.Contains(body, "董欣悦") || strings.Contains(body, "赵宇") || !strings.Contains(body, "李志强") || !strings.Contains(body, `"id":`) {
		t.Errorf("nominees: %s", body)
	}
}

// Every figure of the home page is a link to the rows behind it: the
// ledger page it opens counts the same number.
func TestHomeFiguresLinkToTheirRows(t *testing.T) {
	t.Parallel()
	s := newStorySetup(t)
	for _, login := range []string{"xj-ks-zzb.registrar", "xj-ks-akks.lender", "xj-ks-jw.borrower"} {
		c := s.as(t, login)
		_, body := c.get("/")
		figures := byTestID(doc(t, body), "ledger-figures")
		if len(figures) != 1 {
			t.Fatalf("%s: no ledger figures on the home page", login)
		}
		nonzero := 0
		for n := figures[0].FirstChild; n != nil; n = n.NextSibling {
			href := attr(n, "href")
			if href == "" {
				continue
			}
			want := ""
			for n := n.FirstChild; n != nil; n = n.NextSibling {
				if attr(n, "class") == "num" {
					want = strings.TrimSpace(text(n))
				}
			}
			if want != "0" {
				nonzero++
			}
			_, page := c.get(href)
			if got := within(doc(t, page), "ledger-total"); !strings.Contains(got, " "+want+" ") {
				t.Errorf("%s: figure %s says %s, its rows %q", login, href, want, got)
			}
		}
		if nonzero == 0 {
			t.Errorf("%s: every figure is 0", login)
		}
	}
	// 阿克喀什乡 has six people away (S8), and the figure says so.
	_, body := s.as(t, "xj-ks-akks.lender").get("/")
	if got := within(doc(t, body), "figure-home.ledger.away"); !strings.HasPrefix(got, "6") {
		t.Errorf("阿克喀什乡 away figure %q, want 6", got)
	}
	// What waits for a unit's clerks: the 待办 figure is the inbox's count.
	waiting := 0
	for _, login := range []string{"xj-ks-jw.borrower", "xj-ks-akks.lender", "nmg-bt-qs-rd.borrower"} {
		c := s.as(t, login)
		_, body := c.get("/")
		card := byTestID(doc(t, body), "figure-home.todo")
		_, api := c.get("/api/v1/secondments?tab=todo")
		var inbox struct {
			TodoCount int `json:"todo_count"`
		}
		if err := json.Unmarshal([]byte(api), &inbox); err != nil || len(card) != 1 || figureCount(t, card[0]) != inbox.TodoCount ||
			attr(card[0], "href") != "/secondments?tab=todo" {
			t.Errorf("%s: the 待办 figure against the inbox's %d: %v", login, inbox.TodoCount, err)
		}
		waiting += inbox.TodoCount
	}
	if waiting == 0 {
		t.Error("nothing waits for any of the clerks: the 待办 figures are untested")
	}
}

// The audit trail pages backwards by keyset: every event once, newest
// first, with the filter kept from page to page.
func TestAuditPages(t *testing.T) {
	t.Parallel()
	s := newStorySetup(t)
	auditor := s.as(t, "auditor")
	var total int
	if err := s.store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM audit_event WHERE action LIKE 'secondment.%'`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if total <= 50 {
		t.Fatalf("only %d events: paging is not exercised", total)
	}
	path, seen, last := "/audit?action=secondment.", 0, ""
	for pages := 0; path != ""; pages++ {
		_, body := auditor.get(path)
		page := doc(t, body)
		for _, r := range byTestID(page, "audit-row") {
			if !strings.HasPrefix(attr(r, "data-action"), "secondment.") {
				t.Fatalf("page %d lists %s", pages, attr(r, "data-action"))
			}
			seen++
		}
		path = ""
		if older := byTestID(page, "audit-older"); len(older) == 1 {
			path = attr(older[0], "href")
			if path == last || pages > total {
				t.Fatal("paging does not move on")
			}
			last = path
		}
	}
	if seen != total {
		t.Errorf("paged through %d events, want %d", seen, total)
	}
}

// The accounts list is searched and paged by login; the store's pages
// cover every account once.
func TestUserListPages(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	_, body := s.as(t, "sysadmin").get("/admin/users?q=xj-ks-akks")
	rows := byTestID(doc(t, body), "user-row")
	if len(rows) != 2 {
		t.Errorf("search xj-ks-akks: %d accounts, want 2", len(rows))
	}
	for _, r := range rows {
		if !strings.HasPrefix(attr(r, "data-login"), "xj-ks-akks.") {
			t.Errorf("search lists %s", attr(r, "data-login"))
		}
	}
	var total int
	if err := s.store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM app_user`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for after := ""; ; {
		page, err := s.store.UserList(t.Context(), postgres.UserPage{After: after, Limit: 7})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, u := range page {
			if seen[u.Login] || u.Login <= after {
				t.Fatalf("%s twice or out of order", u.Login)
			}
			seen[u.Login] = true
		}
		after = page[len(page)-1].Login
	}
	if len(seen) != total {
		t.Errorf("paged through %d accounts, want %d", len(seen), total)
	}
}

// The unread badge comes with the session's one statement and stops
// counting at 99+.
func TestUnreadBadgeCapped(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	if _, err := s.store.Pool.Exec(t.Context(), `
		INSERT INTO notification_outbox (recipient_role, recipient_unit_id, message_id, created_at, next_attempt_at)
		SELECT 'lender', u.id, 'notify.awaiting_consent', now(), now() FROM unit u, generate_series(1, 150)
		WHERE u.code = 'NMG-BT-QS-KXL'`); err != nil {
		t.Fatal(err)
	}
	_, body := s.as(t, "nmg-bt-qs-kxl.lender").get("/")
	if got := within(doc(t, body), "unread"); got != "99+" {
		t.Errorf("badge %q, want 99+", got)
	}
	_, body = s.as(t, "nmg-bt-qs-rd.lender").get("/")
	if got := byTestID(doc(t, body), "unread"); len(got) != 0 {
		t.Error("another unit shows a badge")
	}
}
