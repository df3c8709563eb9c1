package server_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"secondment/internal/lettertest"
	"secondment/internal/server"
)

// The inbox's own lists: 我发起的 for the clerk who submitted, 已办 for the
// lending unit that consented (with the step it took), 抄送我 for the
// colleague copied in; each tab with its count, each row saying what is
// needed and who holds it now.
func TestInboxTabs(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, kashgar)
	a := apiCaller{t, s}
	clerk := a.token("xj-ks-jw.borrower")
	res, d := a.draftZhangPeng(clerk)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", res.StatusCode, d)
	}
	path := fmt.Sprintf("/api/v1/secondments/%.0f", d["id"])
	if res, p := a.call(clerk, "POST", path+"/actions/submit", nil); res.StatusCode != 200 {
		t.Fatalf("submit: %d %v", res.StatusCode, p)
	}
	if res, p := a.call(clerk, "POST", path+"/cc", map[string]any{"login": "xj-ks-jw.lender"}); res.StatusCode >= 300 {
		t.Fatalf("copy: %d %v", res.StatusCode, p)
	}
	if res, p := a.call(a.token("xj-ks-akks.lender"), "POST", path+"/actions/consent", map[string]any{"opinion": "同意"}); res.StatusCode != 200 {
		t.Fatalf("consent: %d %v", res.StatusCode, p)
	}

	tab := func(login, name string) (string, []string) {
		t.Helper()
		res, body := s.as(t, login).get("/secondments?tab=" + name)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d", login, name, res.StatusCode)
		}
		page := doc(t, body)
		var rows []string
		for _, r := range byTestID(page, "secondment-row") {
			rows = append(rows, text(r))
		}
		return within(page, "tab-"+name), rows
	}
	label, rows := tab("xj-ks-jw.borrower", "mine")
	if label != "我发起的（1）" || len(rows) != 1 || !strings.Contains(rows[0], "张鹏") || !strings.Contains(rows[0], "组织部") {
		t.Errorf("mine: %q %q; want the request, now with the org dept", label, rows)
	}
	label, rows = tab("xj-ks-akks.lender", "done")
	if label != "已办（1）" || len(rows) != 1 || !strings.Contains(rows[0], "同意借出") {
		t.Errorf("done: %q %q; want the consent", label, rows)
	}
	label, rows = tab("xj-ks-jw.lender", "cc")
	if label != "抄送我（1）" || len(rows) != 1 {
		t.Errorf("cc: %q %q", label, rows)
	}
	// The org dept's to-do row says what it is to do.
	_, rows = tab("xj-ks-zzb.orgdept", "todo")
	if len(rows) == 0 || !strings.Contains(strings.Join(rows, "\n"), "批准") {
		t.Errorf("the org dept's to-do rows name no step: %q", rows)
	}
	// Empty lists say so in their own words.
	_, body := s.as(t, "xj-ks-zzb.orgdept").get("/secondments?tab=mine")
	if got := within(doc(t, body), "secondment-empty"); got != "您还没有提交过借调申请。" {
		t.Errorf("empty mine: %q", got)
	}
	// Another user's lists are theirs: the clerk's copy is not the org dept's.
	if _, rows := tab("xj-ks-zzb.orgdept", "cc"); len(rows) != 0 {
		t.Errorf("the org dept sees someone else's copies: %q", rows)
	}
}

// The API lists the same tabs as the page, with the same counts.
func TestInboxTabsAPI(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, kashgar)
	a := apiCaller{t, s}
	clerk := a.token("xj-ks-jw.borrower")
	_, d := a.draftZhangPeng(clerk)
	if res, p := a.call(clerk, "POST", fmt.Sprintf("/api/v1/secondments/%.0f/actions/submit", d["id"]), nil); res.StatusCode != 200 {
		t.Fatalf("submit: %d %v", res.StatusCode, p)
	}
	res, body := a.call(clerk, "GET", "/api/v1/secondments?tab=mine", nil)
	rows, _ := body["secondments"].([]any)
	if res.StatusCode != 200 || body["tab"] != "mine" || body["mine_count"] != 1.0 || len(rows) != 1 {
		t.Fatalf("API mine: %d %v", res.StatusCode, body)
	}
	if row, _ := rows[0].(map[string]any); row["listed_at"] == nil {
		t.Errorf("a mine row without its time: %v", row)
	}
}

// The decision panel: a send-back without its reason is refused with the
// message beside that box, the typed words stay in that box only, and a
// step taken says so on the page it lands on.
func TestDecisionPanelErrorsAndDone(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, kashgar)
	a := apiCaller{t, s}
	clerk := a.token("xj-ks-jw.borrower")
	_, d := a.draftZhangPeng(clerk)
	id := fmt.Sprintf("%.0f", d["id"])
	if res, p := a.call(clerk, "POST", "/api/v1/secondments/"+id+"/actions/submit", nil); res.StatusCode != 200 {
		t.Fatalf("submit: %d %v", res.StatusCode, p)
	}
	town := s.as(t, "xj-ks-akks.lender")
	// Version 2: created, then submitted.
	res, body := town.postMultipart("/secondments/"+id+"/actions/send_back", url.Values{"version": {"2"}, "opinion": {"   "}}, "", nil)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("send-back without a reason: %d", res.StatusCode)
	}
	page2 := doc(t, body)
	// One decision panel: one opinion box, a button per outcome, each
	// posting to its own action.
	form := byTestID(page2, "decision")
	if len(form) != 1 || len(byTestID(form[0], "error-opinion")) != 1 || len(byTestID(page2, "error-opinion")) != 1 {
		t.Fatalf("no error beside the decision's opinion, or more than one:\n%s", body)
	}
	if n := len(byTestID(page2, "opinion-decision")); n != 1 || strings.Count(body, `name="opinion"`) != 1 {
		t.Errorf("%d decision boxes, %d opinion fields: want one", n, strings.Count(body, `name="opinion"`))
	}
	for _, a := range []string{"consent", "decline", "send_back"} {
		if b := byTestID(form[0], "do-"+a); len(b) != 1 || attr(b[0], "formaction") != "/secondments/"+id+"/actions/"+a {
			t.Errorf("the %s button is missing or posts elsewhere", a)
		}
	}
	// Tied to its box for a screen reader, after the box's hint.
	if box := byTestID(form[0], "opinion-decision"); len(box) != 1 || attr(box[0], "aria-describedby") != "op-decision-hint e-opinion" ||
		attr(box[0], "aria-invalid") != "true" {
		t.Error("the opinion's error is not tied to its box")
	}
	// A letter sent with the send-back button is refused beside the file
	// field, and the request stays as it was.
	res, body = town.postMultipart("/secondments/"+id+"/actions/send_back", url.Values{"version": {"2"}, "opinion": {"请补充材料"}},
		"意见.png", lettertest.PNG(40, 30))
	if page := doc(t, body); res.StatusCode != http.StatusUnprocessableEntity || len(byTestID(page, "error-letter")) != 1 ||
		attr(byTestID(page, "state")[0], "data-state") != "awaiting_consent" {
		t.Errorf("a letter with a send-back: %d, %d errors", res.StatusCode, len(byTestID(page, "error-letter")))
	}
	// The lending unit was told the request waits for it.
	if got := within(page2, "unread"); got != "1" {
		t.Errorf("unread before the consent: %q", got)
	}
	res, _ = town.postMultipart("/secondments/"+id+"/actions/consent", url.Values{"version": {"2"}, "opinion": {"同意借出"}}, "", nil)
	if res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(res.Header.Get("Location"), "?done=consent") {
		t.Fatalf("consent: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	_, body = town.get(res.Header.Get("Location"))
	if got := within(doc(t, body), "notice"); got != "已办理：同意借出。" {
		t.Errorf("after the step: %q", got)
	}
	// Its task done, what it was told about the request is read.
	if got := within(doc(t, body), "unread"); got != "" {
		t.Errorf("unread after the consent: %q", got)
	}
	// The lending unit's opinion now heads the page, for the org dept.
	if got := within(doc(t, body), "fact-lender"); !strings.Contains(got, "同意借出") || !strings.Contains(got, "阿克喀什乡") {
		t.Errorf("the lender's opinion is not at the top: %q", got)
	}
	// One policy panel while the policy of the submission's day and
	// today's agree, not two identical ones.
	if strings.Count(body, "提交时与现行政策判断一致") != 1 || strings.Contains(body, "提交时适用规定的检查结果") {
		t.Error("two identical policy panels")
	}
	// The chain as steps: submitted and consented (by whom), the org dept's
	// sign-off current with its holder, the start to come.
	var status []string
	stages := byTestID(doc(t, body), "chain-stage")
	for _, st := range stages {
		status = append(status, attr(st, "data-status"))
	}
	if strings.Join(status, " ") != "done done current todo" || !strings.Contains(text(stages[1]), "阿克喀什乡") ||
		!strings.Contains(text(stages[2]), "组织部") {
		t.Errorf("chain: %v; %q / %q", status, text(stages[1]), text(stages[2]))
	}
}

// Each role's home says what to do next: the reviewer the newest request
// waiting and its step, the clerk also where to start a request, the
// administrators their pages with what needs them there.
func TestHomeSaysWhatNext(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, kashgar)
	a := apiCaller{t, s}
	clerk := a.token("xj-ks-jw.borrower")
	_, d := a.draftZhangPeng(clerk)
	if res, p := a.call(clerk, "POST", fmt.Sprintf("/api/v1/secondments/%.0f/actions/submit", d["id"]), nil); res.StatusCode != 200 {
		t.Fatalf("submit: %d %v", res.StatusCode, p)
	}
	_, body := s.as(t, "xj-ks-akks.lender").get("/")
	if got := within(doc(t, body), "home-next-link"); !strings.Contains(got, "张鹏") || !strings.Contains(got, "同意借出") {
		t.Errorf("the lender's next step: %q", got)
	}
	_, body = s.as(t, "xj-ks-jw.borrower").get("/")
	page := doc(t, body)
	if len(byTestID(page, "home-new")) != 1 || within(page, "home-next-none") == "" {
		t.Errorf("the clerk's home: no new-request button or no 'nothing waits'")
	}
	_, body = s.as(t, "sysadmin").get("/")
	if got := within(doc(t, body), "home-links"); !strings.Contains(got, "账号") {
		t.Errorf("the administrator's home links: %q", got)
	}
	_, body = s.as(t, "auditor").get("/")
	if got := within(doc(t, body), "home-alarm"); got != "尚未校验过" {
		t.Errorf("the auditor's home: %q", got)
	}
}

// 抄送 and 代理 offer a picker over the directory: the parties' and the
// user's colleagues on the request page, the unit's on the proxy page,
// never the user themselves.
func TestDirectoryPickers(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, kashgar)
	a := apiCaller{t, s}
	clerk := a.token("xj-ks-jw.borrower")
	_, d := a.draftZhangPeng(clerk)
	_, body := s.as(t, "xj-ks-jw.borrower").get(fmt.Sprintf("/secondments/%.0f", d["id"]))
	choices := byTestID(doc(t, body), "cc-choices")
	if len(choices) != 1 {
		t.Fatal("no cc picker")
	}
	var logins []string
	for n := choices[0].FirstChild; n != nil; n = n.NextSibling {
		if v := attr(n, "value"); v != "" {
			logins = append(logins, v)
		}
	}
	all := strings.Join(logins, " ")
	if !strings.Contains(all, "xj-ks-akks.lender") || !strings.Contains(all, "xj-ks-jw.lender") || strings.Contains(all, "xj-ks-jw.borrower") {
		t.Errorf("cc choices: %v; want the lending unit's and the clerk's colleagues, not the clerk", logins)
	}
	_, body = s.as(t, "xj-ks-zzb.lender").get("/account/proxy")
	// The unit's colleagues only, and not the reviewer, whom the lending
	// contact may not name (he would consent and sign off).
	if got := text(byTestID(doc(t, body), "proxy-choices")[0]); !strings.Contains(got, "台账管理员") || strings.Contains(got, "冯剑") ||
		strings.Contains(got, "阿克喀什乡") {
		t.Errorf("proxy choices: %q", got)
	}
}

// 确认到岗 is offered from the start day on, not before (the step was
// offered, then refused), on the page and in the API alike.
func TestStartOfferedFromTheStartDay(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, kashgar)
	a := apiCaller{t, s}
	clerk := a.token("xj-ks-jw.borrower")
	_, d := a.draftZhangPeng(clerk)
	path := fmt.Sprintf("/api/v1/secondments/%.0f", d["id"])
	for _, step := range []struct{ who, action, opinion string }{
		{"xj-ks-jw.borrower", "submit", ""}, {"xj-ks-akks.lender", "consent", "同意"}, {"xj-ks-zzb.orgdept", "approve", "同意"},
	} {
		tok := clerk
		if step.who != "xj-ks-jw.borrower" {
			tok = a.token(step.who)
		}
		if res, p := a.call(tok, "POST", path+"/actions/"+step.action, map[string]any{"opinion": step.opinion}); res.StatusCode != 200 {
			t.Fatalf("%s: %d %v", step.action, res.StatusCode, p)
		}
	}
	offered := func() bool {
		_, got := a.call(clerk, "GET", path, nil)
		return strings.Contains(fmt.Sprint(got["allowed_actions"]), "start")
	}
	if offered() {
		t.Error("start offered ten days before the start day")
	}
	s.clock.Advance(10 * 24 * time.Hour)
	if !offered() {
		t.Error("start not offered on the start day")
	}
	// Once running, 备案 and 申请调入 are secondary steps, each explained,
	// not a row of primary buttons.
	if res, p := a.call(clerk, "POST", path+"/actions/start", nil); res.StatusCode != 200 {
		t.Fatalf("start: %d %v", res.StatusCode, p)
	}
	_, body := s.as(t, "xj-ks-jw.borrower").get(strings.TrimPrefix(path, "/api/v1"))
	page := doc(t, body)
	for _, a := range []string{"file", "transfer"} {
		b := byTestID(page, "do-"+a)
		if len(b) != 1 || strings.Contains(attr(b[0], "class"), "primary") || within(page, "hint-"+a) == "" {
			t.Errorf("%s: %d buttons, class %q, hint %q", a, len(b), attr(b[0], "class"), within(page, "hint-"+a))
		}
	}
}

// A draft never submitted is discarded (作废), on record as withdrawn: the
// step was offered, then failed with a 422 and no reason.
func TestDiscardADraft(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, kashgar)
	a := apiCaller{t, s}
	clerk := a.token("xj-ks-jw.borrower")
	_, d := a.draftZhangPeng(clerk)
	id := fmt.Sprintf("%.0f", d["id"])
	_, body := s.as(t, "xj-ks-jw.borrower").get("/secondments/" + id)
	if got := within(doc(t, body), "do-withdraw"); got != "作废草稿" {
		t.Errorf("the draft's withdraw button reads %q", got)
	}
	res, p := a.call(clerk, "POST", "/api/v1/secondments/"+id+"/actions/withdraw", nil)
	if res.StatusCode != 200 || p["state"] != "withdrawn" {
		t.Fatalf("discard: %d %v", res.StatusCode, p)
	}
}

// draftZhangPeng is a draft by tok's clerk (喀什市纪委监委) for 张鹏 of
// 阿克喀什乡, 11 March to 10 June 2024: the request these tests act on.
func (a apiCaller) draftZhangPeng(tok string) (*http.Response, map[string]any) {
	a.t.Helper()
	return a.call(tok, "POST", "/api/v1/secondments", map[string]any{"person_id": personID(a.t, a.s, "张鹏"), "kind": "secondment",
		"purpose": "major_project", "task": "重大案件查办", "start": "2024-03-11", "end": "2024-06-10", "justification": "急需"})
}

// A scanned letter opens in the browser as well as downloading: a picture
// is shown on the request's page, and either kind is served inline under a
// policy that lets it run and load nothing.
func TestLetterPreview(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, kashgar)
	a := apiCaller{t, s}
	clerk := a.token("xj-ks-jw.borrower")
	_, d := a.draftZhangPeng(clerk)
	id := fmt.Sprintf("%.0f", d["id"])
	if res, p := a.call(clerk, "POST", "/api/v1/secondments/"+id+"/actions/submit", nil); res.StatusCode != 200 {
		t.Fatalf("submit: %d %v", res.StatusCode, p)
	}
	town := s.as(t, "xj-ks-akks.lender")
	res, _ := town.postMultipart("/secondments/"+id+"/actions/consent", url.Values{"version": {"2"}, "opinion": {"同意"}},
		"意见.png", lettertest.PNG(400, 300))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("consent with a letter: %d", res.StatusCode)
	}
	_, body := town.get("/secondments/" + id)
	page := doc(t, body)
	img, link := byTestID(page, "attachment-image"), byTestID(page, "attachment-preview")
	if len(img) != 1 || len(link) != 1 || !strings.HasSuffix(attr(link[0], "href"), "?inline=1") {
		t.Fatalf("no preview: %d images, %d links", len(img), len(link))
	}
	res, _ = town.get(attr(link[0], "href"))
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "inline") ||
		!strings.HasPrefix(res.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("inline: %d %q %q", res.StatusCode, res.Header.Get("Content-Disposition"), res.Header.Get("Content-Security-Policy"))
	}
	if res, _ := town.get(strings.TrimSuffix(attr(link[0], "href"), "?inline=1")); !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("the download: %q", res.Header.Get("Content-Disposition"))
	}
}

// The to-do and whole lists search by request number, person or unit
// name, within what the user may see, on the page and the API alike.
func TestInboxSearch(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, kashgar)
	a := apiCaller{t, s}
	clerk := a.token("xj-ks-jw.borrower")
	_, d := a.draftZhangPeng(clerk)
	if res, p := a.call(clerk, "POST", fmt.Sprintf("/api/v1/secondments/%.0f/actions/submit", d["id"]), nil); res.StatusCode != 200 {
		t.Fatalf("submit: %d %v", res.StatusCode, p)
	}
	if res, p := a.call(clerk, "POST", "/api/v1/secondments", map[string]any{"person_id": personID(t, s, "李传群"), "kind": "secondment",
		"purpose": "special_project", "task": "专项巡察", "start": "2024-03-11", "end": "2024-05-31"}); res.StatusCode != http.StatusCreated {
		t.Fatalf("second draft: %d %v", res.StatusCode, p)
	}
	rows := func(login, query string) []string {
		t.Helper()
		_, body := s.as(t, login).get("/secondments?" + url.Values{"tab": {"all"}, "q": {query}}.Encode())
		var out []string
		for _, r := range byTestID(doc(t, body), "row-person") {
			out = append(out, text(r))
		}
		return out
	}
	for q, want := range map[string]string{"张鹏": "张鹏", "借调〔2024〕0001": "张鹏", "李传": "李传群", "阿克喀什乡": "张鹏 李传群", "没有这个人": ""} {
		got := rows("xj-ks-jw.borrower", q)
		slices.Sort(got)
		if strings.Join(got, " ") != want {
			t.Errorf("search %q: %v; want %q", q, got, want)
		}
	}
	// Another unit's clerk finds none of them.
	if got := rows("nmg-bt-qs-rd.borrower", "张鹏"); len(got) != 0 {
		t.Errorf("a clerk of another unit finds %v", got)
	}
	_, body := s.as(t, "xj-ks-jw.borrower").get("/secondments?tab=all&q=" + url.QueryEscape("没有这个人"))
	if got := within(doc(t, body), "secondment-empty"); !strings.Contains(got, "没有这个人") {
		t.Errorf("no match says %q", got)
	}
	res, p := a.call(clerk, "GET", "/api/v1/secondments?q="+url.QueryEscape("李传"), nil)
	if list, _ := p["secondments"].([]any); res.StatusCode != 200 || len(list) != 1 {
		t.Errorf("API search: %d %v", res.StatusCode, p)
	}
}

// The borrowing unit's letter comes with the request form (and the API's
// create): kept with the draft in its transaction, shown to the parties as
// the request's, named in the audit event. A bad file is refused beside
// its field and nothing is saved; a search on the form keeps what was
// typed though the form is multipart.
func TestLetterAtCreation(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, kashgar)
	clerk := s.as(t, "xj-ks-jw.borrower")
	form := url.Values{"person": {strconv.FormatInt(personID(t, s, "张鹏"), 10)}, "kind": {"secondment"},
		"purpose": {"major_project"}, "task": {"重大案件查办"}, "start": {"2024-03-11"}, "end": {"2024-06-10"},
		"justification": {"急需"}, "idempotency_key": {"k-letter"}}
	count := func() (n int) {
		t.Helper()
		if err := s.store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM secondment`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// The search button posts the multipart form to the check, which
	// leaves its file alone, even one that is no letter.
	search := url.Values{"q": {"张"}, "do": {"search"}}
	for k, v := range form {
		search[k] = v
	}
	res, body := clerk.postMultipart("/secondments/check", search, "借调函.pdf", []byte("MZ\x90\x00 not a pdf"))
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "重大案件查办") {
		t.Fatalf("the search lost the form: %d", res.StatusCode)
	}
	// A file that is no letter: the form again, the error at its field.
	res, body = clerk.postMultipart("/secondments", form, "借调函.pdf", []byte("MZ\x90\x00 not a pdf"))
	page := doc(t, body)
	if res.StatusCode != http.StatusUnprocessableEntity || len(byTestID(page, "error-letter")) != 1 || count() != 0 {
		t.Fatalf("a bad letter: %d, %d errors, %d requests", res.StatusCode, len(byTestID(page, "error-letter")), count())
	}
	if f := byTestID(page, "field-letter"); len(f) != 1 || !strings.Contains(attr(f[0], "aria-describedby"), "e-letter") {
		t.Error("the letter's error is not tied to its field")
	}
	if within(page, "field-task") != "重大案件查办" {
		t.Error("the typed task was lost")
	}
	form.Set("then", "submit")
	res, _ = clerk.postMultipart("/secondments", form, "借调函.png", lettertest.PNG(200, 100))
	id, done, _ := strings.Cut(strings.TrimPrefix(res.Header.Get("Location"), "/secondments/"), "?")
	if res.StatusCode != http.StatusSeeOther || done != "done=submit" {
		t.Fatalf("create with a letter: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	// The lending unit sees it, marked as the borrowing unit's.
	town := s.as(t, "xj-ks-akks.lender")
	_, body = town.get("/secondments/" + id)
	page = doc(t, body)
	if got := byTestID(page, "attachment"); len(got) != 1 || text(got[0]) != "借调函.png" ||
		within(page, "attachment-with") != "（借用单位随申请提交）" {
		t.Fatalf("the letter on the page: %d %q", len(got), within(page, "attachment-with"))
	}
	var detail string
	if err := s.store.Pool.QueryRow(t.Context(), `SELECT detail->>'letter' FROM audit_event
		WHERE action = 'secondment.create' AND object_id = $1`, id).Scan(&detail); err != nil || detail != "借调函.png" {
		t.Errorf("audit: %q %v", detail, err)
	}
	// The API takes it too, checked the same way.
	a := apiCaller{t, s}
	tok := a.token("xj-ks-jw.borrower")
	body2 := map[string]any{"person_id": personID(t, s, "李传群"), "kind": "secondment", "purpose": "special_project",
		"task": "专项巡察", "start": "2024-03-11", "end": "2024-06-10", "justification": "急需",
		"letter": map[string]any{"name": "函.exe", "content_base64": base64.StdEncoding.EncodeToString([]byte("MZ not a letter"))}}
	if res, p := a.call(tok, "POST", "/api/v1/secondments", body2); res.StatusCode != http.StatusUnprocessableEntity || count() != 1 {
		t.Fatalf("API, bad letter: %d %v", res.StatusCode, p)
	}
	body2["letter"] = map[string]any{"name": "函.pdf", "content_base64": base64.StdEncoding.EncodeToString(lettertest.PDF())}
	res, p := a.call(tok, "POST", "/api/v1/secondments", body2)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("API create with a letter: %d %v", res.StatusCode, p)
	}
	letters := func(id any) (n int) {
		t.Helper()
		if err := s.store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM attachment WHERE secondment_id = $1
			AND decision_id IS NULL`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := letters(p["id"]); n != 1 {
		t.Errorf("API letter stored: %d", n)
	}
	// An edit brings another letter, on the page and by the API; the
	// version moves though no field changed.
	draft := fmt.Sprintf("%.0f", p["id"])
	edit := url.Values{"person": {strconv.FormatInt(personID(t, s, "李传群"), 10)}, "kind": {"secondment"},
		"purpose": {"special_project"}, "task": {"专项巡察"}, "start": {"2024-03-11"}, "end": {"2024-06-10"},
		"justification": {"急需"}, "version": {"1"}}
	// A letter over the limit leaves a body the form cannot be read from:
	// the problem alone, not a form without its version to save again.
	res, body = clerk.postMultipart("/secondments/"+draft, edit, "太大.pdf", make([]byte, server.MaxLetterBytes+1<<20))
	if res.StatusCode != http.StatusUnprocessableEntity || len(byTestID(doc(t, body), "secondment-form")) != 0 || letters(p["id"]) != 1 {
		t.Fatalf("edit with a letter over the limit: %d, %d forms", res.StatusCode, len(byTestID(doc(t, body), "secondment-form")))
	}
	res, _ = clerk.postMultipart("/secondments/"+draft, edit, "补充说明.png", lettertest.PNG(60, 40))
	if res.StatusCode != http.StatusSeeOther || letters(p["id"]) != 2 {
		t.Fatalf("edit with a letter: %d, %d letters", res.StatusCode, letters(p["id"]))
	}
	body2["letter"] = map[string]any{"name": "再补充.png", "content_base64": base64.StdEncoding.EncodeToString(lettertest.PNG(20, 20))}
	if res, p := a.call(tok, "PATCH", "/api/v1/secondments/"+draft, body2); res.StatusCode != http.StatusOK || p["version"] != 3.0 ||
		letters(p["id"]) != 3 {
		t.Fatalf("API edit with a letter: %d %v", res.StatusCode, p)
	}
	// A bad letter from anyone who may not edit: another unit's clerk
	// learns nothing (404), the lending unit may see but not edit (403).
	body2["letter"] = map[string]any{"name": "x.pdf", "content_base64": base64.StdEncoding.EncodeToString([]byte("MZ no"))}
	if res, _ := a.call(a.token("nmg-bt-qs-rd.borrower"), "PATCH", "/api/v1/secondments/"+draft, body2); res.StatusCode != http.StatusNotFound {
		t.Errorf("another unit's bad letter: %d", res.StatusCode)
	}
	if res, _ := a.call(tok, "POST", "/api/v1/secondments/"+draft+"/actions/submit", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("submit: %d", res.StatusCode)
	}
	if res, _ := a.call(a.token("xj-ks-akks.lender"), "PATCH", "/api/v1/secondments/"+draft, body2); res.StatusCode != http.StatusForbidden {
		t.Errorf("the lending unit's bad letter: %d", res.StatusCode)
	}
	// The check judges the form and leaves a letter, even a bad one, alone.
	if res, p := a.call(tok, "POST", "/api/v1/secondments/check", body2); res.StatusCode != http.StatusOK {
		t.Errorf("check with a bad letter: %d %v", res.StatusCode, p)
	}
}

// The to-do and whole lists are filtered by state and by the days the
// requests were made, alone or with the search, on both skins; a bad
// filter is refused beside its field.
func TestInboxFilters(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, kashgar)
	a := apiCaller{t, s}
	clerk := a.token("xj-ks-jw.borrower")
	_, d := a.draftZhangPeng(clerk)
	if res, p := a.call(clerk, "POST", fmt.Sprintf("/api/v1/secondments/%.0f/actions/submit", d["id"]), nil); res.StatusCode != 200 {
		t.Fatalf("submit: %d %v", res.StatusCode, p)
	}
	res, d2 := a.call(clerk, "POST", "/api/v1/secondments", map[string]any{"person_id": personID(t, s, "李传群"), "kind": "secondment",
		"purpose": "special_project", "task": "专项巡察", "start": "2024-03-11", "end": "2024-05-31"})
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("second draft: %d %v", res.StatusCode, d2)
	}
	// The second was made ten days earlier.
	if _, err := s.store.Pool.Exec(t.Context(), `UPDATE secondment SET created_at = created_at - interval '10 days' WHERE id = $1`,
		int64(d2["id"].(float64))); err != nil {
		t.Fatal(err)
	}
	clerkPage := s.as(t, "xj-ks-jw.borrower")
	rows := func(v url.Values) []string {
		t.Helper()
		v.Set("tab", "all")
		res, body := clerkPage.get("/secondments?" + v.Encode())
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%v: %d", v, res.StatusCode)
		}
		var out []string
		for _, r := range byTestID(doc(t, body), "row-person") {
			out = append(out, text(r))
		}
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		v    url.Values
		want string
	}{
		{url.Values{"state": {"awaiting_consent"}}, "张鹏"},
		{url.Values{"state": {"draft"}}, "李传群"},
		{url.Values{"state": {"active"}}, ""},
		{url.Values{"from": {"2024-02-25"}}, "张鹏"},
		{url.Values{"to": {"2024-02-25"}}, "李传群"},
		{url.Values{"from": {"2024-02-20"}, "to": {"2024-03-01"}}, "张鹏 李传群"},
		{url.Values{"q": {"阿克喀什乡"}, "state": {"draft"}}, "李传群"},
		{url.Values{"q": {"阿克喀什乡"}, "from": {"2024-03-01"}}, "张鹏"},
	} {
		if got := strings.Join(rows(c.v), " "); got != c.want {
			t.Errorf("%v: %q; want %q", c.v, got, c.want)
		}
	}
	// The to-do list is filtered too: the lending unit's waiting request.
	_, body := s.as(t, "xj-ks-akks.lender").get("/secondments?tab=todo&state=awaiting_consent")
	if got := byTestID(doc(t, body), "row-person"); len(got) != 1 || text(got[0]) != "张鹏" {
		t.Errorf("filtered to-do: %d rows", len(got))
	}
	// A state the party never has to act in (or never sees): its branches
	// all drop out, the supervisor's stays; an empty list, not an error.
	od := s.as(t, "xj-ks-zzb.orgdept")
	for _, path := range []string{"/secondments?tab=todo&state=approved", "/secondments?tab=all&state=draft",
		"/secondments?tab=todo&state=approved&from=2024-02-01&q=" + url.QueryEscape("张鹏")} {
		if res, body := od.get(path); res.StatusCode != http.StatusOK || len(byTestID(doc(t, body), "secondment-row")) != 0 {
			t.Errorf("org dept, %s: %d, %d rows", path, res.StatusCode, len(byTestID(doc(t, body), "secondment-row")))
		}
	}
	// Without a tab the filters apply to the default (to-do) list.
	if _, body := s.as(t, "xj-ks-akks.lender").get("/secondments?state=draft"); len(byTestID(doc(t, body), "secondment-row")) != 0 {
		t.Error("the filter was dropped without a tab")
	}
	// Bad filters: the list again, each problem beside its field.
	res, body = clerkPage.get("/secondments?tab=all&state=bogus&from=2024-03-05&to=2024-03-01")
	page := doc(t, body)
	if res.StatusCode != http.StatusUnprocessableEntity || len(byTestID(page, "error-state")) != 1 || len(byTestID(page, "error-to")) != 1 {
		t.Fatalf("bad filters: %d\n%s", res.StatusCode, within(page, "inbox-search"))
	}
	if f := byTestID(page, "inbox-state"); len(f) != 1 || attr(f[0], "aria-invalid") != "true" {
		t.Error("the state's error is not tied to its field")
	}
	// Without a tab too (the to-do list's form shows the problem).
	res, body = clerkPage.get("/secondments?state=bogus")
	if res.StatusCode != http.StatusUnprocessableEntity || len(byTestID(doc(t, body), "error-state")) != 1 {
		t.Errorf("a bad filter without a tab: %d, %d errors", res.StatusCode, len(byTestID(doc(t, body), "error-state")))
	}
	// The API filters the same way and refuses the same mistakes.
	res, p := a.call(clerk, "GET", "/api/v1/secondments?state=draft", nil)
	if list, _ := p["secondments"].([]any); res.StatusCode != 200 || len(list) != 1 {
		t.Errorf("API state filter: %d %v", res.StatusCode, p)
	}
	res, p = a.call(clerk, "GET", "/api/v1/secondments?from=2024-13-01", nil)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("API bad date: %d %v", res.StatusCode, p)
	}
}
