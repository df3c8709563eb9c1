package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// Terms: renewal (R6, R7), return, transfer-in (R12), through the pages
// and the API, each step by the user whose step it is.

// newTermSetup is newSetupAt for tests that sign in many times from one
// address at one moment: the sign-in rate limit is raised to its maximum.
func newTermSetup(t *testing.T, at time.Time) *setup {
	t.Helper()
	s := newSetupAt(t, true, at)
	set, err := s.store.SecuritySettings(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	set.RateLimitAttempts = 1000
	if err := s.store.SecuritySettingsSet(t.Context(), postgres.Actor{Name: "test"}, set, at); err != nil {
		t.Fatal(err)
	}
	return s
}

// act takes action on request id from its page as c, with the version the
// page carries.
func act(t *testing.T, c *client, id, action string, fields url.Values) (*http.Response, string) {
	t.Helper()
	_, body := c.get("/secondments/" + id)
	f := url.Values{}
	for k, v := range fields {
		f[k] = v
	}
	f.Set("version", pageVersion(t, body))
	return c.post("/secondments/"+id+"/actions/"+action, f)
}

// mustAct is act that must succeed (303 back to the request).
func mustAct(t *testing.T, c *client, id, action string, fields url.Values) {
	t.Helper()
	if res, body := act(t, c, id, action, fields); res.StatusCode != http.StatusSeeOther {
		p := doc(t, body)
		t.Fatalf("%s on %s: %d %q %q %q", action, id, res.StatusCode, within(p, "form-summary"), within(p, "refused"), within(p, "notice"))
	}
}

// create saves a draft from the form and returns its ID.
func create(t *testing.T, c *client, form url.Values) string {
	t.Helper()
	res, body := c.post("/secondments", form)
	m := idInLocation.FindStringSubmatch(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || m == nil {
		p := doc(t, body)
		t.Fatalf("create: %d %q %q", res.StatusCode, within(p, "form-summary"), within(p, "error-previous_id"))
	}
	return m[1]
}

// parties are the logins that take a request through the chain.
type parties struct{ borrower, lender, orgdept string }

// approve takes a draft through submission, the lending unit's written
// opinion and the org dept's sign-off, each party in a fresh session.
func approve(t *testing.T, s *setup, p parties, id string) {
	t.Helper()
	mustAct(t, s.as(t, p.borrower), id, "submit", nil)
	mustAct(t, s.as(t, p.lender), id, "consent", url.Values{"opinion": {"同意借出，工作已安排"}})
	mustAct(t, s.as(t, p.orgdept), id, "approve", url.Values{"opinion": {"同意，按例外情形办理"}})
}

// moveTo sets the server's clock to at (forward only).
func moveTo(t *testing.T, s *setup, at time.Time) {
	t.Helper()
	d := at.Sub(s.clock.Now())
	if d < 0 {
		t.Fatalf("the clock cannot go back to %s", at)
	}
	s.clock.Advance(d)
}

func stateOf(t *testing.T, page *html.Node) string {
	t.Helper()
	st := byTestID(page, "state")
	if len(st) == 0 {
		t.Fatal("no state on the page")
	}
	return attr(st[0], "data-state")
}

// formValue is the value of the input or the selected option named name.
func formValue(page *html.Node, name string) string {
	for n := range page.Descendants() {
		if n.Type != html.ElementNode || attr(n, "name") != name {
			continue
		}
		if n.Data != "select" {
			return attr(n, "value")
		}
		for o := range n.Descendants() {
			if o.Type == html.ElementNode && o.Data == "option" {
				for _, a := range o.Attr {
					if a.Key == "selected" {
						return attr(o, "value")
					}
				}
			}
		}
	}
	return ""
}

// the renewal form as the page prefilled it, with the end chosen.
func renewalForm(page *html.Node, end string) url.Values {
	f := url.Values{"end": {end}}
	for _, k := range []string{"person", "kind", "alias", "purpose", "start", "previous_id", "idempotency_key"} {
		f.Set(k, formValue(page, k))
	}
	f.Set("task", within(page, "field-task"))
	f.Set("justification", within(page, "field-justification"))
	return f
}

var kashgarParties = parties{"xj-ks-jw.borrower", "xj-ks-akks.lender", "xj-ks-zzb.orgdept"}

// kashgarActive is 李传群 of 阿克喀什乡 at 喀什市纪委监委 from 11 March to
// 10 June 2024, started; the clock is on 11 March.
func kashgarActive(t *testing.T, s *setup) string {
	t.Helper()
	id := create(t, s.as(t, kashgarParties.borrower), url.Values{"person": {strconv.FormatInt(personID(t, s, "李传群"), 10)},
		"kind": {"secondment"}, "purpose": {"special_project"}, "task": {"专项巡察"}, "start": {"2024-03-11"},
		"end": {"2024-06-10"}, "justification": {"专项巡察任务紧急，本单位力量不足。"}})
	approve(t, s, kashgarParties, id)
	moveTo(t, s, time.Date(2024, time.March, 11, 9, 0, 0, 0, secondment.Shanghai))
	mustAct(t, s.as(t, kashgarParties.borrower), id, "start", nil)
	return id
}

// S2, the one-year "3 months": 武俞吉 of 麻池镇 is borrowed by 九原区委组织部,
// whose borrowing 包头市委组织部 signs off (an org dept never signs off its
// own). Baotou's own policy has no term or chain cap and forbids townships
// from 1 April 2024, so 包头市 gets a custom version 4 in force from
// 15 April 2024, Kashgar-like (townships by justified exception, terms of
// 3 months, 6 months over a renewal chain), and every request here is
// submitted under it. Term 1 (92 days from 1 May) and renewal 1 (92 days
// more, 184 in all: exactly the cap) each run the whole chain (R6); the
// sweep's hand-over from term 1 to renewal 1 is driven through the store
// with the system actor; renewal 2 is refused at submission, naming the
// chain's 276 days against the cap's 184 (R7).
func TestS2RenewalChainStopsAtTheCap(t *testing.T) {
	t.Parallel()
	s := newTermSetup(t, time.Date(2024, time.April, 20, 9, 0, 0, 0, secondment.Shanghai))
	_, err := s.store.Import(t.Context(), postgres.Import{Policies: []postgres.PolicyImport{{JurisdictionCode: "NMG-BT",
		Policy: secondment.Policy{Version: 4, EffectiveFrom: secondment.D(2024, time.April, 15),
			Purposes: []secondment.Purpose{secondment.PurposeKeyTask, secondment.PurposeSpecialProject, secondment.PurposeMajorProject},
			Township: secondment.TownshipException, TermMonths: 3, ChainCapMonths: 6, TransferInQuota: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	p := parties{"nmg-bt-jy-zzb.borrower", "nmg-bt-jy-mc.lender", "nmg-bt-zzb.orgdept"}
	wu := strconv.FormatInt(personID(t, s, "武俞吉"), 10)

	// Term 1: 1 May – 31 July 2024, 92 days.
	clerk := s.as(t, p.borrower)
	t1 := create(t, clerk, url.Values{"person": {wu}, "kind": {"secondment"}, "purpose": {"special_project"},
		"task": {"换届考察专项工作"}, "start": {"2024-05-01"}, "end": {"2024-07-31"},
		"justification": {"换届考察任务集中，本部人手不足，经研究拟从麻池镇借调一人。"}, "idempotency_key": {"s2-1"}})
	approve(t, s, p, t1)
	_, body := clerk.get("/secondments/" + t1)
	page := doc(t, body)
	if !strings.Contains(within(page, "jurisdiction"), "包头市委组织部") || within(page, "exception") == "" {
		t.Fatalf("term 1 was not signed off by 包头市委组织部 as an exception: %q", within(page, "jurisdiction"))
	}
	// R6 allows renewing an approved term: the link is there from the
	// sign-off on, before the end.
	if len(byTestID(page, "renew-link")) != 1 {
		t.Fatal("no renewal link on the approved term")
	}
	moveTo(t, s, time.Date(2024, time.May, 1, 9, 0, 0, 0, secondment.Shanghai))
	clerk = s.as(t, p.borrower)
	mustAct(t, clerk, t1, "start", nil)

	// The lending unit reads the term but has no renewal to apply for.
	_, body = s.as(t, p.lender).get("/secondments/" + t1)
	if len(byTestID(doc(t, body), "renew-link")) != 0 {
		t.Fatal("the lending unit is offered a renewal")
	}
	// The borrowing clerk is, before the end.
	_, body = clerk.get("/secondments/" + t1)
	page = doc(t, body)
	if stateOf(t, page) != "active" || len(byTestID(page, "renew-link")) != 1 {
		t.Fatalf("term 1 is %s; renewal link %d", stateOf(t, page), len(byTestID(page, "renew-link")))
	}
	moveTo(t, s, time.Date(2024, time.July, 1, 9, 0, 0, 0, secondment.Shanghai))
	clerk = s.as(t, p.borrower)
	res, body := clerk.get("/secondments/" + t1 + "/renew")
	page = doc(t, body)
	if res.StatusCode != 200 || !strings.Contains(within(page, "renewal-banner"), "借调〔2024〕0001") {
		t.Fatalf("renewal form: %d %q", res.StatusCode, within(page, "renewal-banner"))
	}
	// Prefilled from the term; the start fixed to the day after its end;
	// the person is theirs alone.
	if formValue(page, "start") != "2024-08-01" || !hasAttr(byTestID(page, "field-start")[0], "readonly") ||
		formValue(page, "previous_id") != t1 || formValue(page, "person") != wu || within(page, "field-task") != "换届考察专项工作" ||
		!strings.Contains(within(page, "field-justification"), "换届考察任务集中") || formValue(page, "purpose") != "special_project" {
		t.Fatalf("renewal form prefilled with start %q, previous %q, person %q, task %q", formValue(page, "start"),
			formValue(page, "previous_id"), formValue(page, "person"), within(page, "field-task"))
	}
	options := 0
	for o := range byTestID(page, "field-person")[0].Descendants() {
		if o.Type == html.ElementNode && o.Data == "option" && attr(o, "value") != "" {
			options++
		}
	}
	if options != 1 {
		t.Fatalf("the renewal offers other people: %q", within(page, "field-person"))
	}
	r1form := renewalForm(page, "2024-10-31")

	// The live check counts the chain against the cap: 92 days so far, 184
	// with this renewal, exactly the 6 months (184 days) from 1 May.
	_, body = clerk.post("/secondments/check", r1form)
	page = doc(t, body)
	if got := within(page, "check-usage"); !strings.Contains(got, "已借调 92 天") || !strings.Contains(got, "合计 184 天") ||
		!strings.Contains(got, "上限 184 天") {
		t.Fatalf("usage: %q", got)
	}
	for _, v := range byTestID(page, "violation") {
		if attr(v, "data-severity") == "block" {
			t.Fatalf("renewal 1 blocked: %s", text(v))
		}
	}
	// A renewal is of the same person, from the day after the term.
	bad := url.Values{}
	for k, v := range r1form {
		bad[k] = v
	}
	bad.Set("start", "2024-08-05")
	bad.Set("idempotency_key", "bad-start")
	if res, body := clerk.post("/secondments", bad); res.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(within(doc(t, body), "error-start"), "2024-08-01") {
		t.Fatalf("renewal starting late: %d %q", res.StatusCode, within(doc(t, body), "error-start"))
	}
	bad.Set("start", "2024-08-01")
	bad.Set("person", strconv.FormatInt(personID(t, s, "沈国平"), 10))
	if res, body := clerk.post("/secondments", bad); res.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(within(doc(t, body), "error-person"), "武俞吉") {
		t.Fatalf("renewal of another person: %d %q", res.StatusCode, within(doc(t, body), "error-person"))
	}
	// Another borrowing unit cannot renew the term.
	if res, body := s.as(t, "nmg-bt-qs-rd.borrower").post("/secondments", r1form); res.StatusCode != http.StatusUnprocessableEntity ||
		within(doc(t, body), "error-previous_id") == "" {
		t.Fatalf("another unit renewing: %d", res.StatusCode)
	}

	// Renewal 1 runs the whole chain again (R6).
	r1 := create(t, clerk, r1form)
	_, body = clerk.get("/secondments/" + r1)
	page = doc(t, body)
	if got := within(page, "renewal-of"); !strings.Contains(got, "续借自 借调〔2024〕0001") {
		t.Fatalf("renewal 1 does not link its term: %q", got)
	}
	// While it stands, the term offers no second renewal and leads to it.
	_, body = clerk.get("/secondments/" + t1)
	page = doc(t, body)
	if len(byTestID(page, "renew-link")) != 0 || len(byTestID(page, "renewal")) != 1 {
		t.Fatal("the term does not list its renewal, or offers another")
	}
	if res, _ := clerk.get("/secondments/" + t1 + "/renew"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/secondments/"+r1 {
		t.Fatalf("renewing again: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	approve(t, s, p, r1)
	_, body = s.as(t, p.lender).get("/secondments/" + t1)
	page = doc(t, body)
	if got := within(page, "renewal"); !strings.Contains(got, "借调〔2024〕0002") || !strings.Contains(got, "2024-08-01 — 2024-10-31") {
		t.Fatalf("the term lists its renewal as %q", got)
	}
	_, body = clerk.get("/secondments/" + r1 + "/print")
	if got := within(doc(t, body), "print-renewal-of"); !strings.Contains(got, "借调〔2024〕0001") {
		t.Fatalf("the renewal's form: %q", got)
	}

	// The sweep of 1 August: term 1 has ended, renewal 1 takes over.
	moveTo(t, s, time.Date(2024, time.August, 1, 0, 30, 0, 0, secondment.Shanghai))
	if r, err := s.store.Sweep(t.Context(), secondment.D(2024, 8, 1), s.clock.Now(), postgres.SweepOptions{}); err != nil || r.Renewed != 1 {
		t.Fatalf("the sweep's hand-over: %+v %v", r, err)
	}
	clerk = s.as(t, p.borrower)
	_, body = clerk.get("/secondments/" + t1)
	page = doc(t, body)
	if stateOf(t, page) != "renewed" || len(byTestID(page, "renew-link")) != 0 {
		t.Fatalf("term 1 after the hand-over: %s", stateOf(t, page))
	}
	// A term that is over cannot be renewed, by link or by form.
	if res, body := clerk.get("/secondments/" + t1 + "/renew"); res.StatusCode != http.StatusConflict || within(doc(t, body), "notice") == "" {
		t.Fatalf("renewing a renewed term: %d", res.StatusCode)
	}
	again := url.Values{}
	for k, v := range r1form {
		again[k] = v
	}
	again.Set("idempotency_key", "again")
	if res, body := clerk.post("/secondments", again); res.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(within(doc(t, body), "error-previous_id"), "借调〔2024〕0001") {
		t.Fatalf("renewal of a renewed term: %d", res.StatusCode)
	}

	// Renewal 2, from 1 November: refused, naming the chain's days and the cap.
	_, body = clerk.get("/secondments/" + r1)
	page = doc(t, body)
	if stateOf(t, page) != "active" || len(byTestID(page, "renew-link")) != 1 {
		t.Fatalf("renewal 1 is %s", stateOf(t, page))
	}
	_, body = clerk.get("/secondments/" + r1 + "/renew")
	r2form := renewalForm(doc(t, body), "2025-01-31")
	if r2form.Get("start") != "2024-11-01" {
		t.Fatalf("renewal 2 starts %s", r2form.Get("start"))
	}
	_, body = clerk.post("/secondments/check", r2form)
	page = doc(t, body)
	if got := within(page, "check-usage"); !strings.Contains(got, "已借调 184 天") || !strings.Contains(got, "上限 184 天") {
		t.Fatalf("usage before renewal 2: %q", got)
	}
	r2 := create(t, clerk, r2form)
	res, body = act(t, clerk, r2, "submit", nil)
	page = doc(t, body)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(within(page, "form-summary"), "R7") {
		t.Fatalf("renewal 2 submitted: %d %q", res.StatusCode, within(page, "form-summary"))
	}
	if !strings.Contains(body, "合计276天，超过累计6个月（184天）的上限") {
		t.Fatal("the refusal does not name 276 days against the 184-day cap")
	}
	if stateOf(t, page) != "draft" {
		t.Fatalf("renewal 2 is %s", stateOf(t, page))
	}

	// Each step was audited: the system's hand-over too.
	for action, want := range map[string]int{"secondment.submit": 2, "secondment.approve": 2, "secondment.succeed": 1, "secondment.start": 2} {
		events, _, err := s.store.AuditList(t.Context(), postgres.AuditFilter{Action: action})
		if err != nil || len(events) != want {
			t.Errorf("%s: %d events, want %d (%v)", action, len(events), want, err)
		}
	}
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// setHeadcount changes a unit's headcount on the admin page.
func setHeadcount(t *testing.T, s *setup, code string, headcount int) {
	t.Helper()
	u, err := s.store.UnitGetByCode(t.Context(), code)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := s.as(t, "sysadmin").post(fmt.Sprintf("/admin/units/%d", u.ID), url.Values{"name": {u.Name},
		"staffing_quota": {strconv.Itoa(*u.StaffingQuota)}, "post_quota": {strconv.Itoa(*u.PostQuota)}, "headcount": {strconv.Itoa(headcount)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("set the headcount of %s: %d", code, res.StatusCode)
	}
}

// unitHeadcount reads a unit's headcount from /units.
func unitHeadcount(t *testing.T, s *setup, code string) string {
	t.Helper()
	_, body := s.as(t, "sysadmin").get("/units")
	for _, row := range byTestID(doc(t, body), "unit-row") {
		if attr(row, "data-code") == code {
			return within(row, "unit-headcount")
		}
	}
	t.Fatalf("%s not on /units", code)
	return ""
}

// S7: 喀什市纪委监委 turns 李传群's secondment into a transfer-in (转任).
// Without room in its staffing quota, or in its post quota for a
// leadership post, R12 refuses and says why; with room, the org dept
// approves, 李传群 belongs to 纪委监委 from then on and 阿克喀什乡 has
// one vacant post more.
func TestS7TransferInWithinQuota(t *testing.T) {
	t.Parallel()
	s := newTermSetup(t, kashgar)
	id := kashgarActive(t, s)

	// 纪委监委 is full: 60 of 60.
	setHeadcount(t, s, "XJ-KS-JW", 60)
	clerk := s.as(t, kashgarParties.borrower)
	_, body := clerk.get("/secondments/" + id)
	page := doc(t, body)
	if len(byTestID(page, "action-transfer")) != 1 || !strings.Contains(within(page, "quota-borrower"), "编制60名，实有60人") {
		t.Fatalf("transfer offered %d times; quota %q", len(byTestID(page, "action-transfer")), within(page, "quota-borrower"))
	}
	// The lending unit and the org dept are not offered it.
	_, body = s.as(t, kashgarParties.lender).get("/secondments/" + id)
	if len(byTestID(doc(t, body), "action-transfer")) != 0 {
		t.Fatal("the lending unit is offered a transfer-in")
	}
	res, body := act(t, clerk, id, "transfer", url.Values{"transfer_method": {"transfer_of_post"}, "posts_filled": {"0"}})
	page = doc(t, body)
	refused := byTestID(page, "refused-violation")
	if res.StatusCode != http.StatusUnprocessableEntity || len(refused) != 1 || attr(refused[0], "data-rule") != "R12" ||
		!strings.Contains(text(refused[0]), "编制数60名，实有60人") {
		t.Fatalf("transfer without room: %d %q", res.StatusCode, within(page, "refused"))
	}
	if stateOf(t, page) != "active" {
		t.Fatalf("refused transfer left the term %s", stateOf(t, page))
	}
	// A method is required.
	if res, body := act(t, clerk, id, "transfer", url.Values{"transfer_method": {"promotion"}}); res.StatusCode != http.StatusUnprocessableEntity ||
		within(doc(t, body), "error-transfer_method") == "" {
		t.Fatalf("unknown method: %d", res.StatusCode)
	}

	// One post free: a leadership post still needs room in the post quota.
	setHeadcount(t, s, "XJ-KS-JW", 59)
	clerk = s.as(t, kashgarParties.borrower)
	res, body = act(t, clerk, id, "transfer", url.Values{"transfer_method": {"transfer_of_post"}, "leadership": {"1"}, "posts_filled": {"10"}})
	page = doc(t, body)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(within(page, "refused"), "领导职数10名，已配备10名") ||
		strings.Contains(within(page, "refused"), "编制数") {
		t.Fatalf("leadership without a post: %d %q", res.StatusCode, within(page, "refused"))
	}
	if res, body := act(t, clerk, id, "transfer", url.Values{"transfer_method": {"transfer_of_post"}, "posts_filled": {"-1"}}); res.StatusCode != http.StatusUnprocessableEntity ||
		within(doc(t, body), "error-posts_filled") == "" {
		t.Fatalf("negative posts filled: %d", res.StatusCode)
	}
	mustAct(t, clerk, id, "transfer", url.Values{"transfer_method": {"transfer_of_post"}, "leadership": {"1"}, "posts_filled": {"9"},
		"opinion": {"李传群借调期间表现突出，拟按转任程序调入。"}})
	_, body = clerk.get("/secondments/" + id)
	page = doc(t, body)
	if stateOf(t, page) != "transfer_pending" || !strings.Contains(within(page, "transfer"), "转任") || !strings.Contains(within(page, "transfer"), "领导职务") {
		t.Fatalf("after applying: %s %q", stateOf(t, page), within(page, "transfer"))
	}

	// The org dept decides, saying the posts filled now.
	od := s.as(t, kashgarParties.orgdept)
	_, body = od.get("/secondments?tab=todo")
	if !strings.Contains(body, "借调〔2024〕0001") {
		t.Fatal("the transfer-in is not in the org dept's inbox")
	}
	_, body = od.get("/secondments/" + id)
	page = doc(t, body)
	if len(byTestID(page, "posts-filled-decision")) != 1 || len(byTestID(page, "do-reject")) != 1 {
		t.Fatal("the org dept is not asked for the posts filled")
	}
	mustAct(t, od, id, "approve", url.Values{"opinion": {"同意按转任方式调入"}, "posts_filled": {"9"}})

	_, body = od.get("/secondments/" + id)
	page = doc(t, body)
	if stateOf(t, page) != "transferred" || !strings.Contains(within(page, "vacancy"), "阿克喀什乡空出编制 1") ||
		!strings.Contains(within(page, "quota-borrower"), "实有60人") || !strings.Contains(within(page, "quota-lender"), "实有43人") {
		t.Fatalf("after the transfer: %s %q %q %q", stateOf(t, page), within(page, "vacancy"), within(page, "quota-borrower"), within(page, "quota-lender"))
	}
	// The approval form keeps the secondment's sign-off; the transfer-in
	// prints apart.
	_, body = od.get("/secondments/" + id + "/print")
	page = doc(t, body)
	if !strings.Contains(within(page, "print-opinion-orgdept"), "同意，按例外情形办理") ||
		!strings.Contains(within(page, "print-transfer"), "转任") || !strings.Contains(within(page, "print-transfer"), "同意按转任方式调入") {
		t.Fatalf("print: %q / %q", within(page, "print-opinion-orgdept"), within(page, "print-transfer"))
	}
	var home string
	if err := s.store.Pool.QueryRow(t.Context(), `SELECT u.code FROM person p JOIN unit u ON u.id = p.home_unit_id WHERE p.name = '李传群'`).Scan(&home); err != nil {
		t.Fatal(err)
	}
	if home != "XJ-KS-JW" {
		t.Fatalf("李传群 belongs to %s", home)
	}
	if jw, ak := unitHeadcount(t, s, "XJ-KS-JW"), unitHeadcount(t, s, "XJ-KS-AKKS"); jw != "60" || ak != "43" {
		t.Fatalf("headcounts on /units: 纪委监委 %s, 阿克喀什乡 %s", jw, ak)
	}
	events, _, err := s.store.AuditList(t.Context(), postgres.AuditFilter{Action: "secondment.transfer"})
	if err != nil || len(events) != 1 {
		t.Fatalf("%d transfer events (%v)", len(events), err)
	}
	events, _, _ = s.store.AuditList(t.Context(), postgres.AuditFilter{Action: "secondment.approve"})
	if len(events) != 2 || events[0].Detail["new_home_unit"] == nil {
		t.Fatalf("the completion is not audited with the new home unit: %v", events)
	}
}

// Early return: the borrowing unit records the day and the handover, the
// lending unit confirms; the page and the form show both.
func TestEarlyReturnRecordedAndConfirmed(t *testing.T) {
	t.Parallel()
	s := newTermSetup(t, kashgar)
	id := kashgarActive(t, s)
	moveTo(t, s, time.Date(2024, time.April, 10, 9, 0, 0, 0, secondment.Shanghai))
	clerk := s.as(t, kashgarParties.borrower)

	// Not in the future, not without a handover.
	if res, body := act(t, clerk, id, "record_return", url.Values{"date": {"2024-04-12"}, "handover": {"已交接"}}); res.StatusCode != http.StatusUnprocessableEntity ||
		within(doc(t, body), "error-returned_on") == "" {
		t.Fatalf("return in the future: %d", res.StatusCode)
	}
	if res, body := act(t, clerk, id, "record_return", url.Values{"date": {"2024-04-09"}}); res.StatusCode != http.StatusUnprocessableEntity ||
		within(doc(t, body), "error-handover") == "" {
		t.Fatalf("return without handover: %d", res.StatusCode)
	}
	if res, body := act(t, clerk, id, "record_return", url.Values{"date": {"2024-04-09"}, "handover": {"已交接"}}); res.StatusCode != http.StatusUnprocessableEntity ||
		within(doc(t, body), "error-evaluation") == "" {
		t.Fatalf("return without an evaluation: %d", res.StatusCode)
	}
	mustAct(t, clerk, id, "record_return", url.Values{"date": {"2024-04-09"}, "handover": {"巡察底稿12份已移交第二巡察组组长。"},
		"evaluation": {"借调期间工作认真，按时完成专项巡察底稿整理。"}})
	_, body := clerk.get("/secondments/" + id)
	page := doc(t, body)
	if stateOf(t, page) != "return_recorded" || !strings.Contains(within(page, "returned-on"), "2024-04-09") ||
		!strings.Contains(within(page, "returned-on"), "提前返回") || within(page, "handover") != "巡察底稿12份已移交第二巡察组组长。" {
		t.Fatalf("after recording: %s %q %q", stateOf(t, page), within(page, "returned-on"), within(page, "handover"))
	}
	// Only the lending unit confirms.
	if len(byTestID(page, "action-confirm_return")) != 0 {
		t.Fatal("the borrowing unit is offered the confirmation")
	}
	town := s.as(t, kashgarParties.lender)
	_, body = town.get("/secondments?tab=todo")
	if !strings.Contains(body, "借调〔2024〕0001") {
		t.Fatal("the return is not in the lending unit's inbox")
	}
	mustAct(t, town, id, "confirm_return", nil)
	_, body = town.get("/secondments/" + id + "/print")
	page = doc(t, body)
	if within(page, "print-returned-on") != "2024-04-09" || within(page, "print-return-confirmed-on") != "2024-04-10" ||
		!strings.Contains(within(page, "print-handover"), "巡察底稿12份") {
		t.Fatalf("the form: %q %q %q", within(page, "print-returned-on"), within(page, "print-return-confirmed-on"), within(page, "print-handover"))
	}
	if st := state(t, clerk, id); st != "returned" {
		t.Fatalf("state %s", st)
	}
	// Issue #12: the term-end evaluation (期满鉴定) is the lending unit's to
	// read on the request and print for the personnel file; no one else's.
	_, body = town.get("/secondments/" + id)
	if got := within(doc(t, body), "evaluation"); !strings.Contains(got, "按时完成专项巡察底稿整理") {
		t.Errorf("the lending unit's view of the evaluation: %q", got)
	}
	res, body := town.get("/secondments/" + id + "/evaluation")
	if page := doc(t, body); res.StatusCode != 200 || !strings.Contains(within(page, "evaluation-text"), "按时完成专项巡察底稿整理") ||
		!strings.Contains(within(page, "evaluation-text"), "负责人签字") || !strings.Contains(within(page, "evaluation-form"), "李传群") {
		t.Errorf("the printed evaluation: %d %q", res.StatusCode, within(page, "evaluation-text"))
	}
	if res, _ := s.as(t, "nmg-bt-qs-rd.borrower").get("/secondments/" + id + "/evaluation"); res.StatusCode != http.StatusNotFound {
		t.Errorf("another unit's view of the evaluation: %d", res.StatusCode)
	}
	// Someone copied in reads the request, not the evaluation.
	if res, _ := clerk.post("/secondments/"+id+"/cc", url.Values{"login": {"xj-ks-zf.borrower"}}); res.StatusCode >= 400 {
		t.Fatalf("copy in 政府办's clerk: %d", res.StatusCode)
	}
	if res, body := s.as(t, "xj-ks-zf.borrower").get("/secondments/" + id); res.StatusCode != 200 ||
		len(byTestID(doc(t, body), "evaluation")) != 0 || strings.Contains(body, "按时完成专项巡察底稿整理") {
		t.Errorf("the evaluation shown to someone copied in: %d", res.StatusCode)
	}
	for _, action := range []string{"secondment.record_return", "secondment.confirm_return"} {
		if events, _, _ := s.store.AuditList(t.Context(), postgres.AuditFilter{Action: action}); len(events) != 1 {
			t.Errorf("%s: %d events", action, len(events))
		}
	}
}

// apiCaller calls the API with personal tokens.
type apiCaller struct {
	t *testing.T
	s *setup
}

func (a apiCaller) token(login string) string {
	a.t.Helper()
	_, body := a.s.as(a.t, login).post("/account/tokens", url.Values{"name": {"api"}, "scope": {"act"}, "days": {"90"}})
	return within(doc(a.t, body), "new-token")
}

func (a apiCaller) call(tok, method, path string, body any) (*http.Response, map[string]any) {
	a.t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(method, a.s.srv.URL+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	res, raw := a.s.anonymous(a.t).do(req)
	var out map[string]any
	_ = json.Unmarshal([]byte(raw), &out)
	return res, out
}

func fieldErrors(p map[string]any) map[string]any {
	e, _ := p["errors"].(map[string]any)
	return e
}

// Renewal and transfer-in through the API: previous_id on create, kept by
// an edit that leaves it out, refused for the wrong term, person or start;
// transfer_method, leadership and posts_filled on the transfer, R12 in the
// problem, the org dept's rejection and approval.
func TestTermsThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := newTermSetup(t, kashgar)
	id := kashgarActive(t, s)
	a := apiCaller{t, s}
	clerk, od := a.token(kashgarParties.borrower), a.token(kashgarParties.orgdept)
	li, _ := strconv.ParseInt(id, 10, 64)

	renewal := map[string]any{"person_id": personID(t, s, "李传群"), "previous_id": li, "kind": "secondment",
		"purpose": "special_project", "task": "专项巡察（续）", "start": "2024-06-11", "end": "2024-09-10", "justification": "巡察未结束"}
	res, chk := a.call(clerk, "POST", "/api/v1/secondments/check", renewal)
	usage, _ := chk["usage"].(map[string]any)
	if res.StatusCode != 200 || usage["used_days"] != 92.0 || usage["requested_days"] != 92.0 || usage["cap_days"] != 184.0 {
		t.Fatalf("check: %d %v", res.StatusCode, chk)
	}
	for _, c := range []struct {
		name, field string
		change      map[string]any
	}{
		{"unknown term", "previous_id", map[string]any{"previous_id": 999999}},
		{"another person", "person", map[string]any{"person_id": personID(t, s, "张鹏")}},
		{"a gap", "start", map[string]any{"start": "2024-06-20"}},
	} {
		body := map[string]any{}
		for k, v := range renewal {
			body[k] = v
		}
		for k, v := range c.change {
			body[k] = v
		}
		if res, p := a.call(clerk, "POST", "/api/v1/secondments", body); res.StatusCode != http.StatusUnprocessableEntity || fieldErrors(p)[c.field] == nil {
			t.Errorf("%s: %d %v", c.name, res.StatusCode, p)
		}
	}
	if res, p := a.call(a.token("nmg-bt-qs-rd.borrower"), "POST", "/api/v1/secondments", renewal); res.StatusCode != http.StatusUnprocessableEntity ||
		fieldErrors(p)["previous_id"] == nil {
		t.Errorf("another unit's renewal: %d %v", res.StatusCode, p)
	}
	res, r1 := a.call(clerk, "POST", "/api/v1/secondments", renewal)
	if res.StatusCode != http.StatusCreated || r1["previous_id"] != float64(li) {
		t.Fatalf("create renewal: %d %v", res.StatusCode, r1)
	}
	r1path := fmt.Sprintf("/api/v1/secondments/%.0f", r1["id"])
	edit := map[string]any{}
	for k, v := range renewal {
		edit[k] = v
	}
	delete(edit, "previous_id")
	edit["end"] = "2024-08-31"
	if res, e := a.call(clerk, "PATCH", r1path, edit); res.StatusCode != 200 || e["previous_id"] != float64(li) || e["end"] != "2024-08-31" {
		t.Fatalf("edit without previous_id: %d %v", res.StatusCode, e)
	}
	if res, sub := a.call(clerk, "POST", r1path+"/actions/submit", nil); res.StatusCode != 200 || sub["state"] != "awaiting_consent" {
		t.Fatalf("submit renewal: %d %v", res.StatusCode, sub)
	}

	// Transfer-in: offered to the clerk; the post quota is full at 10.
	path := "/api/v1/secondments/" + id
	_, got := a.call(clerk, "GET", path, nil)
	if !strings.Contains(fmt.Sprint(got["allowed_actions"]), "transfer") {
		t.Fatalf("transfer not allowed: %v", got["allowed_actions"])
	}
	res, p := a.call(clerk, "POST", path+"/actions/transfer", map[string]any{"transfer_method": "public_selection", "leadership": true, "posts_filled": 10})
	rules, _ := p["rules"].([]any)
	if res.StatusCode != http.StatusUnprocessableEntity || len(rules) != 1 || rules[0].(map[string]any)["rule"] != "R12" {
		t.Fatalf("transfer to a full post quota: %d %v", res.StatusCode, p)
	}
	if res, p := a.call(clerk, "POST", path+"/actions/transfer", map[string]any{"leadership": false}); res.StatusCode != http.StatusUnprocessableEntity ||
		fieldErrors(p)["transfer_method"] == nil {
		t.Fatalf("transfer without method: %d %v", res.StatusCode, p)
	}
	// Issue #12: not while the renewal is in the chain (409, naming it);
	// the clerk withdraws the renewal first.
	transfer := map[string]any{"transfer_method": "public_selection", "leadership": true, "posts_filled": 3}
	if res, p := a.call(clerk, "POST", path+"/actions/transfer", transfer); res.StatusCode != http.StatusConflict ||
		!strings.Contains(fmt.Sprint(p["detail"]), "借调〔2024〕0002") {
		t.Fatalf("transfer beside a pending renewal: %d %v", res.StatusCode, p)
	}
	if res, w := a.call(clerk, "POST", r1path+"/actions/withdraw", nil); res.StatusCode != 200 || w["state"] != "withdrawn" {
		t.Fatalf("withdraw the renewal: %d %v", res.StatusCode, w)
	}
	res, tr := a.call(clerk, "POST", path+"/actions/transfer", transfer)
	if res.StatusCode != 200 || tr["state"] != "transfer_pending" || tr["transfer_method"] != "public_selection" || tr["transfer_leadership"] != true {
		t.Fatalf("transfer: %d %v", res.StatusCode, tr)
	}
	// The org dept rejects (back to active), then the clerk applies again,
	// not for a leadership post, and the org dept approves.
	if res, rj := a.call(od, "POST", path+"/actions/reject", map[string]any{"opinion": "职数另有安排"}); res.StatusCode != 200 || rj["state"] != "active" {
		t.Fatalf("reject: %d %v", res.StatusCode, rj)
	}
	if res, tr := a.call(clerk, "POST", path+"/actions/transfer", map[string]any{"transfer_method": "transfer_of_post"}); res.StatusCode != 200 ||
		tr["transfer_leadership"] == true {
		t.Fatalf("transfer again: %d %v", res.StatusCode, tr)
	}
	res, done := a.call(od, "POST", path+"/actions/approve", map[string]any{"opinion": "同意调入"})
	if res.StatusCode != 200 || done["state"] != "transferred" {
		t.Fatalf("approve: %d %v", res.StatusCode, done)
	}
	if jw, ak := unitHeadcount(t, s, "XJ-KS-JW"), unitHeadcount(t, s, "XJ-KS-AKKS"); jw != "58" || ak != "43" {
		t.Fatalf("headcounts: 纪委监委 %s, 阿克喀什乡 %s", jw, ak)
	}
}

// Return through the API: returned_on and handover in the action's body.
func TestReturnThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := newTermSetup(t, kashgar)
	id := kashgarActive(t, s)
	moveTo(t, s, time.Date(2024, time.May, 6, 9, 0, 0, 0, secondment.Shanghai))
	a := apiCaller{t, s}
	clerk, town := a.token(kashgarParties.borrower), a.token(kashgarParties.lender)
	path := "/api/v1/secondments/" + id
	if res, p := a.call(clerk, "POST", path+"/actions/record_return", map[string]any{"returned_on": "2024-03-01", "handover": "已交接"}); res.StatusCode != http.StatusUnprocessableEntity ||
		fieldErrors(p)["returned_on"] == nil {
		t.Fatalf("return before the start: %d %v", res.StatusCode, p)
	}
	res, rec := a.call(clerk, "POST", path+"/actions/record_return", map[string]any{"returned_on": "2024-05-06", "handover": "案卷已移交", "evaluation": "表现良好"})
	if res.StatusCode != 200 || rec["state"] != "return_recorded" || rec["returned_on"] != "2024-05-06" || rec["handover"] != "案卷已移交" ||
		rec["evaluation"] != "表现良好" {
		t.Fatalf("record return: %d %v", res.StatusCode, rec)
	}
	res, done := a.call(town, "POST", path+"/actions/confirm_return", nil)
	if res.StatusCode != 200 || done["state"] != "returned" || done["return_confirmed_on"] != "2024-05-06" {
		t.Fatalf("confirm return: %d %v", res.StatusCode, done)
	}
}

// R11, Kashgar's clean-up: the org dept recalls secondees early (清退),
// except those on a major project, who stay until their term ends; then
// the sweep ends the term, and they return after the handover.
func TestCleanUpHoldsMajorProjectsUntilTermEnd(t *testing.T) {
	t.Parallel()
	s := newTermSetup(t, kashgar)
	start := func(person, purpose string) string {
		id := create(t, s.as(t, kashgarParties.borrower), url.Values{"person": {strconv.FormatInt(personID(t, s, person), 10)},
			"kind": {"secondment"}, "purpose": {purpose}, "task": {"专项巡察"}, "start": {"2024-03-11"},
			"end": {"2024-06-10"}, "justification": {"任务紧急，本单位力量不足。"}})
		approve(t, s, kashgarParties, id)
		return id
	}
	major, special := start("李传群", "major_project"), start("张鹏", "special_project")
	moveTo(t, s, time.Date(2024, time.March, 11, 9, 0, 0, 0, secondment.Shanghai))
	mustAct(t, s.as(t, kashgarParties.borrower), major, "start", nil)
	mustAct(t, s.as(t, kashgarParties.borrower), special, "start", nil)

	moveTo(t, s, time.Date(2024, time.April, 15, 9, 0, 0, 0, secondment.Shanghai))
	od := s.as(t, kashgarParties.orgdept)
	mustAct(t, od, special, "recall", url.Values{"opinion": {"清理整治，限期返回原单位"}})

	if st := stateOf(t, pageOf(t, od, special)); st != "expired" {
		t.Fatalf("the recalled secondee: %s, want expired (to return)", st)
	}
	res, body := act(t, od, major, "recall", url.Values{"opinion": {"清理整治"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "R11") {
		t.Fatalf("recall of a major-project secondee: %d", res.StatusCode)
	}
	if st := stateOf(t, pageOf(t, od, major)); st != "active" {
		t.Fatalf("the major-project secondee: %s, want still active", st)
	}
	// At the term's end the sweep ends it; the return follows the handover.
	moveTo(t, s, time.Date(2024, time.June, 11, 9, 0, 0, 0, secondment.Shanghai))
	if r, err := s.store.Sweep(t.Context(), secondment.D(2024, 6, 11), s.clock.Now(), postgres.SweepOptions{}); err != nil || r.Expired != 1 {
		t.Fatalf("sweep at the end: %+v %v", r, err)
	}
	mustAct(t, s.as(t, kashgarParties.borrower), major, "record_return", url.Values{"date": {"2024-06-11"}, "handover": {"案件材料已移交专案组"},
		"evaluation": {"参与重大案件查办，完成交接。"}})
	mustAct(t, s.as(t, kashgarParties.lender), major, "confirm_return", nil)
	if st := stateOf(t, pageOf(t, s.as(t, kashgarParties.orgdept), major)); st != "returned" {
		t.Fatalf("after the return: %s", st)
	}
}

func pageOf(t *testing.T, c *client, id string) *html.Node {
	t.Helper()
	res, body := c.get("/secondments/" + id)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("page of %s: %d %s", id, res.StatusCode, res.Header.Get("Location"))
	}
	return doc(t, body)
}
