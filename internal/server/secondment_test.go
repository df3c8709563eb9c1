package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"secondment/internal/lettertest"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// kashgar is 1 March 2024, 09:00 in Shanghai: Kashgar's policy version 2
// (since the No.1 document) is in force, townships in exception mode.
var kashgar = time.Date(2024, time.March, 1, 9, 0, 0, 0, secondment.Shanghai)

// postMultipart posts fields and an optional file (a consent letter) as
// multipart/form-data.
func (c *client) postMultipart(path string, fields url.Values, fileName string, file []byte) (*http.Response, string) {
	return c.postFile(path, fields, "letter", fileName, file)
}

// postFile posts fields and an optional file in field as
// multipart/form-data.
func (c *client) postFile(path string, fields url.Values, field, fileName string, file []byte) (*http.Response, string) {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	if fileName != "" {
		fw, _ := mw.CreateFormFile(field, fileName)
		_, _ = fw.Write(file)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, c.s.srv.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

func personID(t *testing.T, s *setup, name string) int64 {
	t.Helper()
	var id int64
	if err := s.store.Pool.QueryRow(t.Context(), `SELECT id FROM person WHERE name = $1`, name).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

var idInLocation = regexp.MustCompile(`^/secondments/(\d+)$`)

// version reads the version a request's page carries in its forms.
func pageVersion(t *testing.T, body string) string {
	t.Helper()
	for _, n := range byTestID(doc(t, body), "actions") {
		for d := range n.Descendants() {
			if attr(d, "name") == "version" {
				return attr(d, "value")
			}
		}
	}
	t.Fatal("no version on the page")
	return ""
}

// pdf is a letter that passes the upload checks: a real one-page PDF.
var pdf = lettertest.PDF()

// S5: the Kashgar chain through the pages, with real sessions — nominate
// and fill the form, the lending unit's written opinion with its signed
// letter, the org dept's sign-off of the township exception, then the
// start. Nothing starts before the sign-off (R8).
func TestS5KashgarChainThroughPages(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, kashgar)
	clerk := s.as(t, "xj-ks-jw.borrower")
	li := personID(t, s, "李传群")

	res, body := clerk.get("/secondments/new")
	if res.StatusCode != 200 || !strings.Contains(body, "李传群") {
		t.Fatalf("new form: %d", res.StatusCode)
	}
	// Searching narrows the candidates; the clerk's own unit is never offered.
	_, body = clerk.get("/secondments/new?q=" + url.QueryEscape("李传"))
	if !strings.Contains(body, "李传群") || strings.Contains(body, "张鹏") {
		t.Fatal("the search did not narrow the candidates")
	}
	form := url.Values{"person": {strconv.FormatInt(li, 10)}, "kind": {"secondment"}, "alias": {""},
		"purpose": {"special_project"}, "task": {"市纪委监委专项巡察工作"}, "start": {"2024-03-11"}, "end": {"2024-06-10"},
		"justification": {"专项巡察任务紧急，本单位力量不足，经研究拟借调一人。"}, "idempotency_key": {"k-s5"}}
	// The live check: Kashgar judges a township in exception mode (R4).
	_, body = clerk.post("/secondments/check", form)
	page := doc(t, body)
	if within(page, "check-orgdept") != "喀什市委组织部" || !strings.Contains(within(page, "check-policy"), "喀什市借调管理办法（第2版") {
		t.Fatalf("check: %q %q", within(page, "check-orgdept"), within(page, "check-policy"))
	}
	vs := byTestID(page, "violation")
	if len(vs) == 0 || attr(vs[0], "data-rule") != "R4" || attr(vs[0], "data-severity") != "exception" {
		t.Fatalf("R4 exception not listed: %s", within(page, "policy-check"))
	}
	// Issue #12: the live check names its subject (the township) and says
	// what the exception needs, citing the No.1 document's words.
	if got := within(page, "policy-check"); !strings.Contains(got, "阿克喀什乡") || !strings.Contains(got, "须写明理由并经组织部批准") ||
		!strings.Contains(within(page, "violation-source"), "县以上机关一般不得从乡镇借调工作人员") ||
		!strings.Contains(within(page, "violation-source"), "中共中央、国务院") {
		t.Errorf("the live check's R4: %q", got)
	}
	if got := within(page, "check-usage"); !strings.Contains(got, "92 天") {
		t.Errorf("usage: %q", got)
	}
	// Create the draft; the double click makes one request.
	res, _ = clerk.post("/secondments", form)
	m := idInLocation.FindStringSubmatch(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("create: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	id := m[1]
	res, _ = clerk.post("/secondments", form)
	if res.Header.Get("Location") != "/secondments/"+id {
		t.Fatalf("a double-clicked create made another request: %q", res.Header.Get("Location"))
	}

	// Submit.
	_, body = clerk.get("/secondments/" + id)
	res, _ = clerk.post("/secondments/"+id+"/actions/submit", url.Values{"version": {pageVersion(t, body)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit: %d", res.StatusCode)
	}
	_, body = clerk.get("/secondments/" + id)
	page = doc(t, body)
	if within(page, "number") != "借调〔2024〕0001" || attr(byTestID(page, "state")[0], "data-state") != "awaiting_consent" {
		t.Fatalf("after submit: %q %q", within(page, "number"), within(page, "state"))
	}
	// Nothing starts before the sign-off: the clerk is offered no start.
	if len(byTestID(page, "action-start")) != 0 {
		t.Fatal("start offered before sign-off")
	}

	// The lending unit: its inbox, a disguised upload refused, then consent
	// with the signed letter.
	town := s.as(t, "xj-ks-akks.lender")
	_, body = town.get("/secondments?tab=todo")
	if !strings.Contains(body, "借调〔2024〕0001") {
		t.Fatal("not in the lending unit's inbox")
	}
	_, body = town.get("/secondments/" + id)
	v := pageVersion(t, body)
	res, body = town.postMultipart("/secondments/"+id+"/actions/consent", url.Values{"version": {v}, "opinion": {"同意借调"}},
		"letter.pdf", []byte("MZ\x90\x00 not a pdf at all"))
	if res.StatusCode != http.StatusUnprocessableEntity || within(doc(t, body), "form-summary") == "" {
		t.Fatalf("disguised upload: %d", res.StatusCode)
	}
	res, _ = town.postMultipart("/secondments/"+id+"/actions/consent", url.Values{"version": {v}, "opinion": {"同意借调，工作已安排"}},
		"阿克喀什乡意见.pdf", pdf)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("consent: %d", res.StatusCode)
	}
	// The page is stale now: the same form again is someone else's step.
	res, body = town.postMultipart("/secondments/"+id+"/actions/consent", url.Values{"version": {v}, "opinion": {"再次同意"}}, "", nil)
	if res.StatusCode != http.StatusConflict || !strings.Contains(within(doc(t, body), "notice"), "已被他人处理") {
		t.Fatalf("second consent: %d", res.StatusCode)
	}

	// The org dept sees the exception's justification and signs off.
	od := s.as(t, "xj-ks-zzb.orgdept")
	_, body = od.get("/secondments/" + id)
	page = doc(t, body)
	if !strings.Contains(within(page, "exception-banner"), "专项巡察任务紧急") {
		t.Fatal("the exception's justification is not shown to the org dept")
	}
	if len(byTestID(page, "attachment")) != 1 {
		t.Fatal("the letter is not listed")
	}
	res, _ = od.post("/secondments/"+id+"/actions/approve", url.Values{"version": {pageVersion(t, body)}, "opinion": {"同意，按例外情形办理"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d", res.StatusCode)
	}

	// The borrowing unit was told each outcome: the header counts them
	// until they are read, and the page marks them.
	clerk = s.as(t, "xj-ks-jw.borrower")
	_, body = clerk.get("/secondments")
	if within(doc(t, body), "unread") == "" {
		t.Fatal("no unread badge in the header")
	}
	_, body = clerk.get("/notifications")
	if n := len(byTestID(doc(t, body), "unread-mark")); n < 2 {
		t.Fatalf("the borrower was told %d things unread", n)
	}
	if _, body = clerk.get("/secondments"); within(doc(t, body), "unread") == "" {
		t.Fatal("looking at the list marked the notifications read")
	}
	if res, _ := clerk.post("/notifications/read", url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("mark read: %d", res.StatusCode)
	}
	if _, body = clerk.get("/secondments"); within(doc(t, body), "unread") != "" {
		t.Fatal("the badge still counts notifications marked read")
	}

	// The start, on the start day (signed in again: ten days outlive the
	// session).
	s.clock.Advance(10 * 24 * time.Hour)
	clerk = s.as(t, "xj-ks-jw.borrower")
	_, body = clerk.get("/secondments/" + id)
	res, _ = clerk.post("/secondments/"+id+"/actions/start", url.Values{"version": {pageVersion(t, body)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: %d", res.StatusCode)
	}
	_, body = clerk.get("/secondments/" + id)
	page = doc(t, body)
	if attr(byTestID(page, "state")[0], "data-state") != "active" || !strings.Contains(within(page, "exception"), "冯剑") {
		t.Fatalf("after start: %q, exception %q", within(page, "state"), within(page, "exception"))
	}
	// Issue #12: the live check of the same person over the same dates
	// says, beside the rules, that 李传群 is on post, naming the request.
	_, body = clerk.post("/secondments/check", form)
	if got := within(doc(t, body), "check-overlap"); !strings.Contains(got, "借调〔2024〕0001") || !strings.Contains(got, "李传群") {
		t.Errorf("check over a running term: %q", got)
	}
	var actions []string
	for _, row := range byTestID(page, "timeline-row") {
		actions = append(actions, attr(row, "data-action"))
	}
	if strings.Join(actions, ",") != "submit,consent,approve,start" {
		t.Fatalf("timeline %v", actions)
	}

	// The printed form carries every party's opinion, name and date.
	_, body = clerk.get("/secondments/" + id + "/print")
	page = doc(t, body)
	if within(page, "print-number") != "借调〔2024〕0001" || !strings.Contains(within(page, "print-opinion-lender"), "同意借调，工作已安排") ||
		!strings.Contains(within(page, "print-opinion-orgdept"), "冯剑") || !strings.Contains(within(page, "print-opinion-orgdept"), "2024年3月1日") {
		t.Fatalf("print: %q / %q / %q", within(page, "print-number"), within(page, "print-opinion-lender"), within(page, "print-opinion-orgdept"))
	}
	// In English the dates and punctuation are English too.
	clerk.lang = "en"
	_, body = clerk.get("/secondments/" + id + "/print")
	clerk.lang = ""
	if got := within(doc(t, body), "print-opinion-orgdept"); !strings.Contains(got, "1 March 2024") || strings.Contains(got, "年") || strings.Contains(got, "：") {
		t.Fatalf("English print: %q", got)
	}

	// The letter downloads for the parties, as a download of its real type.
	var attID int64
	if err := s.store.Pool.QueryRow(t.Context(), `SELECT id FROM attachment WHERE secondment_id = $1`, id).Scan(&attID); err != nil {
		t.Fatal(err)
	}
	od = s.as(t, "xj-ks-zzb.orgdept") // ten days on: a new session
	res, body = od.get(fmt.Sprintf("/secondments/%s/attachments/%d", id, attID))
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" || body != string(pdf) ||
		!strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
	}
	// Anyone else: it does not exist.
	other := s.as(t, "nmg-bt-qs-rd.borrower")
	for _, path := range []string{"/secondments/" + id, "/secondments/" + id + "/print", fmt.Sprintf("/secondments/%s/attachments/%d", id, attID)} {
		if res, _ := other.get(path); res.StatusCode != http.StatusNotFound {
			t.Errorf("another unit's clerk, %s: %d", path, res.StatusCode)
		}
	}

	// What was read stays listed.
	_, body = clerk.get("/notifications")
	if n := len(byTestID(doc(t, body), "notification")); n < 2 {
		t.Fatalf("the borrower was told %d things", n)
	}
	// Every step was audited with the request's ID.
	events, _, _ := s.store.AuditList(t.Context(), postgres.AuditFilter{Action: "secondment."})
	if len(events) != 5 { // create, submit, consent, approve, start
		t.Fatalf("%d secondment events", len(events))
	}
}

// Bad input gets a message beside the field and saves nothing.
func TestSecondmentFormBadInput(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, kashgar)
	clerk := s.as(t, "xj-ks-jw.borrower")
	li := strconv.FormatInt(personID(t, s, "李传群"), 10)
	wuyuji := strconv.FormatInt(personID(t, s, "武俞吉"), 10) // of Baotou: not in Kashgar's jurisdiction
	cases := []struct {
		name  string
		form  url.Values
		field string
	}{
		{"no person", url.Values{"task": {"x"}, "start": {"2024-03-11"}, "end": {"2024-04-10"}, "kind": {"secondment"}, "purpose": {"key_task"}}, "person"},
		{"person outside the jurisdiction", url.Values{"person": {wuyuji}, "task": {"x"}, "start": {"2024-03-11"}, "end": {"2024-04-10"}, "kind": {"secondment"}, "purpose": {"key_task"}}, "person"},
		{"past date", url.Values{"person": {li}, "task": {"x"}, "start": {"2024-02-11"}, "end": {"2024-04-10"}, "kind": {"secondment"}, "purpose": {"key_task"}}, "start"},
		{"end before start", url.Values{"person": {li}, "task": {"x"}, "start": {"2024-03-11"}, "end": {"2024-03-01"}, "kind": {"secondment"}, "purpose": {"key_task"}}, "end"},
		{"missing task", url.Values{"person": {li}, "task": {""}, "start": {"2024-03-11"}, "end": {"2024-04-10"}, "kind": {"secondment"}, "purpose": {"key_task"}}, "task"},
		{"overlong task", url.Values{"person": {li}, "task": {strings.Repeat("长", 501)}, "start": {"2024-03-11"}, "end": {"2024-04-10"}, "kind": {"secondment"}, "purpose": {"key_task"}}, "task"},
		{"bad date", url.Values{"person": {li}, "task": {"x"}, "start": {"2024-13-40"}, "end": {"2024-04-10"}, "kind": {"secondment"}, "purpose": {"key_task"}}, "start"},
		{"unknown kind", url.Values{"person": {li}, "task": {"x"}, "start": {"2024-03-11"}, "end": {"2024-04-10"}, "kind": {"loan"}, "purpose": {"key_task"}}, "kind"},
	}
	for _, c := range cases {
		res, body := clerk.post("/secondments", c.form)
		if res.StatusCode != http.StatusUnprocessableEntity || within(doc(t, body), "error-"+c.field) == "" {
			t.Errorf("%s: %d, no message beside %s", c.name, res.StatusCode, c.field)
		}
	}
	// Markup is kept as text and shown inert.
	res, _ := clerk.post("/secondments", url.Values{"person": {li}, "task": {`<script>alert("x")</script>巡察`}, "start": {"2024-03-11"},
		"end": {"2024-04-10"}, "kind": {"secondment"}, "purpose": {"key_task"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("markup task: %d", res.StatusCode)
	}
	_, body := clerk.get(res.Header.Get("Location"))
	if strings.Contains(body, `<script>alert("x")`) || !strings.Contains(within(doc(t, body), "task"), `<script>alert("x")</script>巡察`) {
		t.Fatal("markup not shown inert")
	}
	var n int
	_ = s.store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM secondment`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d requests saved, want only the valid one", n)
	}
}

// S1 in the pages: the Baotou township ban refuses before anyone else sees
// the request, naming the rule.
func TestS1BaotouBanRefusesSubmission(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, time.Date(2024, time.May, 6, 9, 0, 0, 0, secondment.Shanghai))
	clerk := s.as(t, "nmg-bt-qs-rd.borrower")
	lu := strconv.FormatInt(personID(t, s, "芦长丽"), 10)
	res, _ := clerk.post("/secondments", url.Values{"person": {lu}, "task": {"换届选举筹备"}, "start": {"2024-05-20"},
		"end": {"2024-08-19"}, "kind": {"secondment"}, "purpose": {"key_task"}, "idempotency_key": {"k1"}})
	id := idInLocation.FindStringSubmatch(res.Header.Get("Location"))[1]
	_, body := clerk.get("/secondments/" + id)
	res, body = clerk.post("/secondments/"+id+"/actions/submit", url.Values{"version": {pageVersion(t, body)}})
	page := doc(t, body)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(within(page, "form-summary"), "R4") {
		t.Fatalf("submit under the ban: %d %q", res.StatusCode, within(page, "form-summary"))
	}
	if !strings.Contains(body, "科学路街道办事处属乡镇（街道）单位，按包头市规定一律不得借调") {
		t.Fatal("the rule's explanation is not shown")
	}
	// Issue #12: the rule cites its source, Baotou's own words and notice,
	// and the summary names only the rule that blocks, with its outcome.
	if src := within(page, "violation-source"); !strings.Contains(src, "所有苏木乡镇街道的工作人员一律不得借调") ||
		!strings.Contains(src, "包头市") || !strings.Contains(src, "2024年4月") {
		t.Errorf("R4's source: %q", src)
	}
	if got := within(page, "form-summary"); got != "按规定不能办理：R4。原因和依据见下方。" {
		t.Errorf("summary: %q", got)
	}
	if res, _ := s.as(t, "nmg-bt-qs-kxl.lender").get("/secondments/" + id); res.StatusCode != http.StatusNotFound {
		t.Fatalf("the lending unit sees the refused draft: %d", res.StatusCode)
	}
}

// S5 through the API with tokens: If-Match, 412 on a stale version, 409 when
// someone acted first, problem+json naming the rules.
func TestS5ThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, kashgar)
	token := func(login string) string {
		_, body := s.as(t, login).post("/account/tokens", url.Values{"name": {"api"}, "scope": {"act"}, "days": {"90"}})
		return within(doc(t, body), "new-token")
	}
	call := func(tok, method, path, ifMatch string, body any) (*http.Response, map[string]any) {
		t.Helper()
		var rd *bytes.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		} else {
			rd = bytes.NewReader(nil)
		}
		req, _ := http.NewRequest(method, s.srv.URL+path, rd)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		res, raw := s.anonymous(t).do(req)
		var out map[string]any
		_ = json.Unmarshal([]byte(raw), &out)
		return res, out
	}
	clerk, town, od := token("xj-ks-jw.borrower"), token("xj-ks-akks.lender"), token("xj-ks-zzb.orgdept")
	draft := map[string]any{"person_id": personID(t, s, "李传群"), "kind": "secondment", "purpose": "special_project",
		"task": "专项巡察", "start": "2024-03-11", "end": "2024-06-10", "justification": "任务紧急"}

	res, chk := call(clerk, "POST", "/api/v1/secondments/check", "", draft)
	if res.StatusCode != 200 || chk["needs_exception"] != true || chk["org_dept"] != "喀什市委组织部" {
		t.Fatalf("check: %d %v", res.StatusCode, chk)
	}
	// A person outside the clerk's jurisdiction is refused, not judged.
	outside := maps.Clone(draft)
	outside["person_id"] = personID(t, s, "芦长丽")
	if res, p := call(clerk, "POST", "/api/v1/secondments/check", "", outside); res.StatusCode != http.StatusUnprocessableEntity ||
		p["errors"] == nil || p["violations"] != nil {
		t.Fatalf("check of a person outside the jurisdiction: %d %v", res.StatusCode, p)
	}
	req := func() (*http.Response, map[string]any) {
		b, _ := json.Marshal(draft)
		r, _ := http.NewRequest("POST", s.srv.URL+"/api/v1/secondments", bytes.NewReader(b))
		r.Header.Set("Authorization", "Bearer "+clerk)
		r.Header.Set("Idempotency-Key", "api-1")
		res, raw := s.anonymous(t).do(r)
		var out map[string]any
		_ = json.Unmarshal([]byte(raw), &out)
		return res, out
	}
	res, created := req()
	if res.StatusCode != http.StatusCreated || res.Header.Get("ETag") != `"1"` {
		t.Fatalf("create: %d %v", res.StatusCode, created)
	}
	_, again := req()
	if again["id"] != created["id"] {
		t.Fatalf("idempotent create made %v and %v", created["id"], again["id"])
	}
	// The same key with another body is a mistake, not a retry: 422 on the
	// key, and no second draft (it returned the first silently).
	task := draft["task"]
	draft["task"] = "另一项任务"
	if res, other := req(); res.StatusCode != http.StatusUnprocessableEntity || fieldErrors(other)["idempotency_key"] == nil {
		t.Fatalf("a reused key with another body: %d %v", res.StatusCode, other)
	}
	draft["task"] = task
	path := fmt.Sprintf("/api/v1/secondments/%.0f", created["id"])

	res, sub := call(clerk, "POST", path+"/actions/submit", `"1"`, nil)
	if res.StatusCode != 200 || sub["state"] != "awaiting_consent" || sub["number"] != "借调〔2024〕0001" {
		t.Fatalf("submit: %d %v", res.StatusCode, sub)
	}
	// A stale If-Match is 412 and changes nothing.
	if res, p := call(town, "POST", path+"/actions/consent", `"1"`, map[string]any{"opinion": "同意"}); res.StatusCode != http.StatusPreconditionFailed ||
		res.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("stale consent: %d %v", res.StatusCode, p)
	}
	version := fmt.Sprintf(`"%.0f"`, sub["version"])
	letter := map[string]any{"name": "意见.pdf", "content_base64": base64.StdEncoding.EncodeToString(pdf)}
	res, con := call(town, "POST", path+"/actions/consent", version, map[string]any{"opinion": "同意", "letter": letter})
	if res.StatusCode != 200 || con["state"] != "awaiting_signoff" {
		t.Fatalf("consent: %d %v", res.StatusCode, con)
	}
	// Acting on a step that has moved on is 409.
	if res, p := call(town, "POST", path+"/actions/decline", "", map[string]any{"opinion": "不同意"}); res.StatusCode != http.StatusConflict {
		t.Fatalf("decline after consent: %d %v", res.StatusCode, p)
	}
	// Approving without an opinion is 422, naming the field.
	if res, p := call(od, "POST", path+"/actions/approve", "", map[string]any{}); res.StatusCode != http.StatusUnprocessableEntity || p["errors"] == nil {
		t.Fatalf("approve without opinion: %d %v", res.StatusCode, p)
	}
	s.clock.Advance(2 * time.Hour) // the org dept takes two hours
	res, ok := call(od, "POST", path+"/actions/approve", "", map[string]any{"opinion": "同意"})
	if res.StatusCode != 200 || ok["state"] != "approved" || ok["exception_approver"] != "冯剑" {
		t.Fatalf("approve: %d %v", res.StatusCode, ok)
	}
	// Issue #12: the live check now says 李传群 is taken over these dates,
	// naming the signed-off request, and that submission would be refused.
	res, chk = call(clerk, "POST", "/api/v1/secondments/check", "", draft)
	if o, _ := chk["overlap"].(map[string]any); res.StatusCode != 200 || chk["blocked"] != true || o == nil ||
		o["number"] != "借调〔2024〕0001" || !strings.Contains(fmt.Sprint(o["message"]), "借调〔2024〕0001") {
		t.Fatalf("check over a signed-off term: %d %v", res.StatusCode, chk)
	}
	// The timeline says how long each step waited.
	if ds, _ := ok["decisions"].([]any); len(ds) == 0 || ds[len(ds)-1].(map[string]any)["spent_seconds"] != float64(7200) {
		t.Fatalf("decisions: %v", ok["decisions"])
	}
	// The clerk was told of the consent and the approval; listing changes
	// nothing, POST …/read clears them.
	res, ns := call(clerk, "GET", "/api/v1/notifications", "", nil)
	items, _ := ns["notifications"].([]any)
	if res.StatusCode != 200 || len(items) < 2 || ns["unread"] != float64(len(items)) {
		t.Fatalf("notifications: %d %v", res.StatusCode, ns)
	}
	if first := items[0].(map[string]any); first["secondment_id"] != created["id"] || first["text"] == "" || first["read"] != false {
		t.Fatalf("newest notification: %v", first)
	}
	if _, again := call(clerk, "GET", "/api/v1/notifications", "", nil); again["unread"] != ns["unread"] {
		t.Fatalf("listing marked notifications read: %v", again)
	}
	if res, m := call(clerk, "POST", "/api/v1/notifications/read", "", nil); res.StatusCode != 200 || m["marked_read"] != ns["unread"] {
		t.Fatalf("mark read: %d %v", res.StatusCode, m)
	}
	if _, after := call(clerk, "GET", "/api/v1/notifications", "", nil); after["unread"] != float64(0) {
		t.Fatalf("still unread after marking: %v", after)
	}
	// Unknown fields are refused.
	if res, _ := call(clerk, "POST", "/api/v1/secondments", "", map[string]any{"person_id": 1, "salary": 3}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("unknown field: %d", res.StatusCode)
	}
	// Another unit cannot see it: 404.
	if res, _ := call(token("nmg-bt-qs-rd.borrower"), "GET", path, "", nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("another unit: %d", res.StatusCode)
	}
	// The rules' refusal names them: S1 under Baotou through the API.
	s.clock.Advance(70 * 24 * time.Hour) // 10 May 2024: Baotou v3
	bt := token("nmg-bt-qs-rd.borrower")
	_, d := call(bt, "POST", "/api/v1/secondments", "", map[string]any{"person_id": personID(t, s, "芦长丽"), "kind": "secondment",
		"purpose": "key_task", "task": "换届", "start": "2024-05-20", "end": "2024-08-19"})
	res, p := call(bt, "POST", fmt.Sprintf("/api/v1/secondments/%.0f/actions/submit", d["id"]), "", nil)
	rules, _ := p["rules"].([]any)
	if res.StatusCode != http.StatusUnprocessableEntity || len(rules) == 0 || rules[0].(map[string]any)["rule"] != "R4" {
		t.Fatalf("S1 submit: %d %v", res.StatusCode, p)
	}
	// Issue #12: the API cites the same source as the page.
	if src, _ := rules[0].(map[string]any)["source"].(map[string]any); src == nil || src["issuer"] != "包头市" ||
		src["quote"] != "所有苏木乡镇街道的工作人员一律不得借调" || src["document"] == "" {
		t.Errorf("S1's R4 source in the API: %v", rules[0])
	}
}
