package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// policyForm is the editor's form as a clerk would post it: Kashgar's
// version 2 with the township ban.
func policyFormOf(action, from string) url.Values {
	return url.Values{"action": {action}, "effective_from": {from}, "basis": {"喀组通〔2024〕3号"},
		"purposes": {"key_task", "special_project", "major_project"}, "township": {"forbidden"},
		"term_months": {"3"}, "chain_cap_months": {"6"}, "cleanup_holds_major": {"on"}, "transfer_in_quota": {"on"},
		"burden_warn_percent": {"10"}, "borrower_cap_percent": {"12.5"}, "borrower_cap_people": {"0"}}
}

// Kashgar's org dept adds policy versions through the page and the API,
// which agree: the page shows the editor only to it; the form starts from
// the version in force; a preview counts and saves nothing; bad input is
// refused beside its field, in the user's language; a save redirects to the
// policies page, which shows the new version, its basis and its R15 limit;
// the API previews and saves the same way; clerks get 403.
func TestPolicyEditorPagesAndAPI(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true) // 6 May 2024
	org := s.as(t, "xj-ks-zzb.orgdept")
	_, body := org.get("/policies")
	if page := doc(t, body); len(byTestID(page, "policy-edit")) != 1 || len(byTestID(page, "policy-new-preset")) != 4 {
		t.Fatal("the org dept is not offered a new version")
	}
	_, body = s.as(t, "xj-ks-jw.borrower").get("/policies")
	if len(byTestID(doc(t, body), "policy-edit")) != 0 {
		t.Error("a borrowing clerk is offered a new version")
	}
	if res, _ := s.as(t, "xj-ks-jw.borrower").get("/policies/new"); res.StatusCode != http.StatusForbidden {
		t.Errorf("a borrowing clerk opens the editor: %d", res.StatusCode)
	}

	res, body := org.get("/policies/new")
	page := doc(t, body)
	// Kashgar's version 2 in force: townships only as an exception.
	if res.StatusCode != 200 || !strings.Contains(body, `<option value="exception" selected>`) ||
		!strings.Contains(body, `value="2024-05-06"`) || len(byTestID(page, "field-purpose-key_task")) != 1 {
		t.Fatalf("the editor: %d", res.StatusCode)
	}
	en := s.as(t, "xj-ks-zzb.orgdept")
	en.lang = "en"
	if _, body := en.get("/policies/new?base=baotou"); !strings.Contains(body, "Borrowing-unit limit") || strings.Contains(body, "[policy.") {
		t.Error("the English editor is not in English")
	}
	count := func() int {
		var n int
		if err := s.store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM policy p JOIN unit u ON u.id = p.jurisdiction_id
			WHERE u.code = 'XJ-KS'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	res, body = org.post("/policies/new", policyFormOf("preview", "2024-06-01"))
	if page := doc(t, body); res.StatusCode != 200 || len(byTestID(page, "policy-preview")) != 1 ||
		within(page, "preview-pending") == "" || within(page, "preview-running-today") == "" || count() != 2 {
		t.Fatalf("preview: %d, %d versions", res.StatusCode, count())
	}
	bad := policyFormOf("save", "2024-05-05")
	bad.Set("borrower_cap_percent", "百分之十")
	res, body = org.post("/policies/new", bad)
	page = doc(t, body)
	if res.StatusCode != http.StatusUnprocessableEntity || within(page, "error-borrower_cap_percent") == "" || count() != 2 {
		t.Fatalf("a bad share: %d, %d versions", res.StatusCode, count())
	}
	bad.Set("borrower_cap_percent", "10")
	res, body = org.post("/policies/new", bad)
	if e := within(doc(t, body), "error-effective_from"); res.StatusCode != 422 || !strings.Contains(e, "2024-05-06") || count() != 2 {
		t.Fatalf("back-dated: %d %q", res.StatusCode, e)
	}
	stale := policyFormOf("save", "2024-06-01")
	stale.Set("based_on", "1")
	res, body = org.post("/policies/new", stale)
	if page := doc(t, body); res.StatusCode != http.StatusConflict || within(page, "form-summary") == "" || count() != 2 {
		t.Fatalf("a stale editor: %d, %d versions", res.StatusCode, count())
	}
	form := policyFormOf("save", "2024-06-01")
	form.Set("based_on", "2")
	res, _ = org.post("/policies/new", form)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/policies?saved=3#v3" || count() != 3 {
		t.Fatalf("save: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	_, body = org.get("/policies?saved=3")
	page = doc(t, body)
	if within(page, "policy-saved") == "" || within(page, "policy-basis") == "" ||
		!strings.Contains(within(page, "policy-settings"), "12.5%") {
		t.Error("the policies page does not show the new version")
	}

	// The API: a preview from the Weihai preset, a refused setting, a save.
	res, m, _ := org.sendJSON("/api/v1/policies/preview", map[string]any{"base": "weihai", "effective_from": "2024-07-01",
		"settings": map[string]any{"borrower_cap_people": 5}})
	if res.StatusCode != 200 || m["version"] != float64(4) || m["preset"] != "" || m["saved"] != false || count() != 3 {
		t.Fatalf("API preview: %d %v", res.StatusCode, m)
	}
	if st := m["settings"].(map[string]any); st["term_months"] != float64(3) || st["borrower_cap_people"] != float64(5) {
		t.Errorf("API preview settings: %v", st)
	}
	if _, ok := m["pending"].(map[string]any)["flagged"]; !ok {
		t.Errorf("API preview without counts: %v", m)
	}
	res, m, _ = org.sendJSON("/api/v1/policies", map[string]any{"settings": map[string]any{"no_such_rule": 1}})
	if res.StatusCode != http.StatusUnprocessableEntity || count() != 3 {
		t.Errorf("an unknown setting: %d %v", res.StatusCode, m)
	}
	res, m, _ = org.sendJSON("/api/v1/policies", map[string]any{"settings": map[string]any{"term_months": -1}})
	if res.StatusCode != http.StatusUnprocessableEntity || count() != 3 {
		t.Errorf("a negative term: %d %v", res.StatusCode, m)
	}
	res, m, _ = org.sendJSON("/api/v1/policies", map[string]any{"base": "weihai", "effective_from": "2024-07-01"})
	if res.StatusCode != http.StatusCreated || m["version"] != float64(4) || m["saved"] != true || count() != 4 {
		t.Fatalf("API save: %d %v", res.StatusCode, m)
	}
	_, body = org.get("/api/v1/policies")
	var api struct {
		CanEdit  bool   `json:"can_edit"`
		Region   string `json:"region"`
		Versions []struct {
			Version int    `json:"version"`
			Basis   string `json:"basis"`
		} `json:"versions"`
	}
	if err := json.Unmarshal([]byte(body), &api); err != nil || !api.CanEdit || api.Region != "喀什市" || len(api.Versions) != 4 ||
		api.Versions[1].Basis != "喀组通〔2024〕3号" {
		t.Errorf("the API's policy book: %s", body)
	}
	if res, _, _ := s.as(t, "xj-ks-zzb.registrar").sendJSON("/api/v1/policies/preview", map[string]any{}); res.StatusCode != http.StatusForbidden {
		t.Errorf("a registrar previews: %d", res.StatusCode)
	}
	// From 1 June the borrowing clerk's home shows its limit: 12.5% of
	// 喀什市纪委监委's quota of 60 is 7, against the people it holds, a
	// link to them in the ledger.
	clerk := s.as(t, "xj-ks-jw.borrower")
	_, body = clerk.get("/")
	if h := within(doc(t, body), "hold"); h == "" || strings.Contains(h, "/") {
		t.Errorf("before June, the home's hold card: %q", h)
	}
	s.clock.Advance(26 * 24 * time.Hour)
	// Two it holds today, registered: one on post, one overdue since March.
	id := func(sql, key string) int64 {
		var n int64
		if err := s.store.Pool.QueryRow(t.Context(), sql, key).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	jw := id(`SELECT id FROM unit WHERE code = $1`, "XJ-KS-JW")
	reg := s.as(t, "xj-ks-zzb.registrar")
	for person, term := range map[string][2]string{"张鹏": {"2024-03-01", "2024-08-31"}, "李传群": {"2023-08-01", "2024-02-29"}} {
		res, m, _ := reg.sendJSON("/api/v1/stock", map[string]any{"person_id": id(`SELECT id FROM person WHERE name = $1`, person),
			"borrower_id": jw, "kind": "secondment", "purpose": "special_project", "task": "专项工作",
			"start": term[0], "end": term[1], "status": "running"})
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("register %s: %d %v", person, res.StatusCode, m)
		}
	}
	clerk = s.as(t, "xj-ks-jw.borrower")
	_, body = clerk.get("/")
	hold := byTestID(doc(t, body), "hold")
	if len(hold) != 1 || !strings.Contains(text(hold[0]), "2 / 7") || len(byTestID(doc(t, body), "hold-full")) != 0 ||
		len(byTestID(hold[0], "gauge")) != 1 || !strings.Contains(body, `class="fill" x="0" y="0" width="28.57"`) {
		t.Fatalf("from June, the home's hold card: %d", len(hold))
	}
	held, _, _ := strings.Cut(strings.TrimSpace(text(hold[0])), " ")
	if l := clerk.ledger(strings.TrimPrefix(attr(hold[0], "href"), "/ledger?")); strconv.Itoa(l.Total) != held {
		t.Errorf("the card says %s held, its ledger lists %d", held, l.Total)
	}

}

// Issue #12, R16: Kashgar's org dept switches on the key-post option from
// today, naming its basis; a draft for a key post is then an exception the
// live check names, citing that basis, on the page and in the API.
func TestKeyPostOption(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true) // 6 May 2024
	org := s.as(t, "xj-ks-zzb.orgdept")
	res, m, _ := org.sendJSON("/api/v1/policies", map[string]any{"effective_from": "2024-05-06", "basis": "喀组通〔2024〕9号",
		"settings": map[string]any{"key_posts_excluded": true}})
	if res.StatusCode != http.StatusCreated || m["saved"] != true {
		t.Fatalf("save: %d %v", res.StatusCode, m)
	}
	_, body := org.get("/policies")
	if !strings.Contains(within(doc(t, body), "policy-settings"), "关键岗位、涉密岗位原则上不使用借调人员") {
		t.Errorf("the policy page: %q", within(doc(t, body), "policy-settings"))
	}
	a := apiCaller{t, s}
	draft := map[string]any{"person_id": personID(t, s, "李传群"), "kind": "secondment", "purpose": "special_project",
		"task": "涉密档案整理", "start": "2024-06-01", "end": "2024-08-31", "key_post": true}
	res, chk := a.call(a.token("xj-ks-jw.borrower"), "POST", "/api/v1/secondments/check", draft)
	var r16 map[string]any
	for _, v := range chk["violations"].([]any) {
		if v.(map[string]any)["rule"] == "R16" {
			r16 = v.(map[string]any)
		}
	}
	if res.StatusCode != 200 || r16 == nil || r16["severity"] != "exception" ||
		r16["source"].(map[string]any)["document"] != "喀组通〔2024〕9号" {
		t.Fatalf("the API's check of a key post: %d %v", res.StatusCode, chk)
	}
	form := url.Values{"person": {strconv.FormatInt(personID(t, s, "李传群"), 10)}, "kind": {"secondment"},
		"purpose": {"special_project"}, "task": {"涉密档案整理"}, "start": {"2024-06-01"}, "end": {"2024-08-31"}, "key_post": {"on"}}
	_, body = s.as(t, "xj-ks-jw.borrower").post("/secondments/check", form)
	if vs := byTestID(doc(t, body), "violation"); !slices.ContainsFunc(vs, func(n *html.Node) bool { return attr(n, "data-rule") == "R16" }) {
		t.Errorf("the page's check of a key post: %q", within(doc(t, body), "policy-check"))
	}
	delete(form, "key_post")
	_, body = s.as(t, "xj-ks-jw.borrower").post("/secondments/check", form)
	if vs := byTestID(doc(t, body), "violation"); slices.ContainsFunc(vs, func(n *html.Node) bool { return attr(n, "data-rule") == "R16" }) {
		t.Error("an ordinary post is flagged R16")
	}
}
