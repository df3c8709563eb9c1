package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// Issue #12: the particulars a real 借调审批表 carries are on record and
// can be kept; the request records who pays the salary and the secondee's
// own opinion; the ledger shows the staff category and the salary.
func TestParticularsSalaryAndOwnOpinion(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, kashgar)
	a := apiCaller{t, s}
	reg := a.token("xj-ks-zzb.registrar")
	li := personID(t, s, "李传群")
	path := fmt.Sprintf("/api/v1/people/%d", li)

	// The demo's particulars, on the edit page as the form keeps them.
	_, body := s.as(t, "xj-ks-zzb.registrar").get(fmt.Sprintf("/people/%d/edit", li))
	if !strings.Contains(body, `value="1992-06"`) || !strings.Contains(body, `value="大学专科"`) {
		t.Fatal("the person form does not show the particulars on record")
	}
	// Bad particulars are refused field by field, and change nothing.
	for field, v := range map[string]string{"born": "1992-13", "political": "党员", "category": "公务员", "gender": "m"} {
		in := map[string]any{"name": "李传群", "home_unit_code": "XJ-KS-AKKS", "post": "科员", "rank": "一级科员", field: v}
		if res, p := a.call(reg, "PATCH", path, in); res.StatusCode != http.StatusUnprocessableEntity || fieldErrors(p)[field] == nil {
			t.Errorf("%s %q: %d %v", field, v, res.StatusCode, p)
		}
	}
	in := map[string]any{"name": "李传群", "home_unit_code": "XJ-KS-AKKS", "post": "科员", "rank": "一级科员",
		"gender": "female", "born": "1993-02", "political": "cyl", "category": "cs_managed", "education": "研究生"}
	res, p := a.call(reg, "PATCH", path, in)
	if res.StatusCode != 200 || p["gender"] != "female" || p["born"] != "1993-02" || p["political"] != "cyl" ||
		p["category"] != "cs_managed" || p["education"] != "研究生" {
		t.Fatalf("particulars saved: %d %v", res.StatusCode, p)
	}
	// A client that does not send them (written before they existed)
	// changes none; "" clears one.
	res, p = a.call(reg, "PATCH", path, map[string]any{"name": "李传群", "home_unit_code": "XJ-KS-AKKS", "post": "科员",
		"rank": "一级科员", "education": ""})
	if res.StatusCode != 200 || p["born"] != "1993-02" || p["category"] != "cs_managed" || p["education"] != nil {
		t.Fatalf("a PATCH without particulars: %d %v", res.StatusCode, p)
	}
	in["education"] = "研究生"
	if res, p = a.call(reg, "PATCH", path, in); res.StatusCode != 200 || p["education"] != "研究生" {
		t.Fatalf("particulars again: %d %v", res.StatusCode, p)
	}

	// A request records the salary arrangement and the person's opinion.
	clerk := a.token("xj-ks-jw.borrower")
	draft := map[string]any{"person_id": li, "kind": "secondment", "purpose": "special_project", "task": "专项巡察",
		"start": "2024-03-11", "end": "2024-06-10", "justification": "任务紧急", "salary_with": "payroll"}
	if res, p := a.call(clerk, "POST", "/api/v1/secondments", draft); res.StatusCode != http.StatusUnprocessableEntity ||
		fieldErrors(p)["salary_with"] == nil {
		t.Fatalf("an unknown salary arrangement: %d %v", res.StatusCode, p)
	}
	delete(draft, "salary_with")
	draft["self_opinion"] = "本人同意借调"
	res, got := a.call(clerk, "POST", "/api/v1/secondments", draft)
	if res.StatusCode != http.StatusCreated || got["salary_with"] != "lender" || got["self_opinion"] != "本人同意借调" {
		t.Fatalf("create: %d %v", res.StatusCode, got)
	}
	draft["salary_with"] = "borrower"
	res, got = a.call(clerk, "PATCH", fmt.Sprintf("/api/v1/secondments/%.0f", got["id"]), draft)
	if res.StatusCode != 200 || got["salary_with"] != "borrower" {
		t.Fatalf("edit: %d %v", res.StatusCode, got)
	}
	// The page's form keeps both when edited.
	_, body = s.as(t, "xj-ks-jw.borrower").get(fmt.Sprintf("/secondments/%.0f/edit", got["id"]))
	if !strings.Contains(body, `value="本人同意借调"`) || !strings.Contains(body, `<option value="borrower" selected`) {
		t.Error("the edit form lost the salary arrangement or the person's opinion")
	}

	// Through the chain; the ledger then shows the category and the
	// salary arrangement.
	id := fmt.Sprintf("/api/v1/secondments/%.0f", got["id"])
	for _, step := range []struct{ tok, action, opinion string }{
		{clerk, "submit", ""}, {a.token("xj-ks-akks.lender"), "consent", "同意借出"}, {a.token("xj-ks-zzb.orgdept"), "approve", "同意"},
	} {
		if res, p := a.call(step.tok, "POST", id+"/actions/"+step.action, map[string]any{"opinion": step.opinion}); res.StatusCode != 200 {
			t.Fatalf("%s: %d %v", step.action, res.StatusCode, p)
		}
	}
	_, body = s.as(t, "xj-ks-zzb.registrar").get("/api/v1/ledger?state=approved")
	var l struct {
		Rows []struct {
			Person     string `json:"person"`
			Category   string `json:"staff_category"`
			SalaryWith string `json:"salary_with"`
		} `json:"rows"`
	}
	if err := json.Unmarshal([]byte(body), &l); err != nil || len(l.Rows) != 1 || l.Rows[0].Person != "李传群" ||
		l.Rows[0].Category != "cs_managed" || l.Rows[0].SalaryWith != "borrower" {
		t.Errorf("the ledger's row: %v %s", err, body)
	}
	_, body = s.as(t, "xj-ks-zzb.registrar").get("/ledger?state=approved")
	page := doc(t, body)
	if !strings.Contains(within(page, "ledger-category"), "参公") || !strings.Contains(within(page, "ledger-salary"), "借用单位负担") {
		t.Errorf("the ledger page: %q %q", within(page, "ledger-category"), within(page, "ledger-salary"))
	}
}
