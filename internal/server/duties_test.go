package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Issue #13, separation of duties. An account may not hold the org
// dept's role with a borrowing or lending unit's; a lending contact may
// not name the org dept's reviewer of the same unit as proxy (who would
// then consent and sign off); and once an account is linked to its
// person, that person neither files nor decides a request about
// themselves: the action is not offered, and refused if tried.
func TestSeparationOfDuties(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, kashgar)
	admin := s.as(t, "sysadmin")
	res, body := admin.post("/admin/users", url.Values{"login": {"zhao.liu"}, "name": {"赵六"}, "unit": {"XJ-KS-ZZB"},
		"role": {"orgdept", "lender"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "组织部审批人员不能同时担任") {
		t.Errorf("an account holding the org dept's and a lender's roles: %d", res.StatusCode)
	}
	od := userID(t, s, "xj-ks-zzb.orgdept")
	if res, _ := admin.post(fmt.Sprintf("/admin/users/%d/roles", od), url.Values{"role": {"orgdept", "borrower"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("adding the borrower's role to the org dept's reviewer: %d", res.StatusCode)
	}

	// The proxy that would hold both sides.
	res, body = s.as(t, "xj-ks-zzb.lender").post("/account/proxy", url.Values{"login": {"xj-ks-zzb.orgdept"},
		"starts_on": {"2024-03-01"}, "ends_on": {"2024-03-31"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "不能兼任") {
		t.Errorf("the org dept's reviewer as the lender's proxy: %d", res.StatusCode)
	}

	// 张鹏's own account, linked to his record, and a request about him.
	var code string
	if err := s.store.Pool.QueryRow(t.Context(), `SELECT code FROM person WHERE name = '张鹏'`).Scan(&code); err != nil {
		t.Fatal(err)
	}
	lender := userID(t, s, "xj-ks-akks.lender")
	if res, _ := admin.post(fmt.Sprintf("/admin/users/%d/person", lender), url.Values{"person": {"NO-SUCH-CODE"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("an unknown personnel number: %d", res.StatusCode)
	}
	if res, _ := admin.post(fmt.Sprintf("/admin/users/%d/person", lender), url.Values{"person": {code}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("link the account: %d", res.StatusCode)
	}
	if _, body := admin.get("/admin/users?q=xj-ks-akks.lender"); !strings.Contains(body, `value="`+code+`"`) {
		t.Error("the users page does not show the link")
	}
	a := apiCaller{t, s}
	clerk := a.token("xj-ks-jw.borrower")
	res, d := a.call(clerk, "POST", "/api/v1/secondments", map[string]any{"person_id": personID(t, s, "张鹏"), "kind": "secondment",
		"purpose": "major_project", "task": "重大案件查办", "start": "2024-03-11", "end": "2024-06-10", "justification": "急需"})
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", res.StatusCode, d)
	}
	path := fmt.Sprintf("/api/v1/secondments/%.0f", d["id"])
	if res, p := a.call(clerk, "POST", path+"/actions/submit", nil); res.StatusCode != 200 {
		t.Fatalf("submit: %d %v", res.StatusCode, p)
	}
	zp := a.token("xj-ks-akks.lender")
	if _, got := a.call(zp, "GET", path, nil); strings.Contains(fmt.Sprint(got["allowed_actions"]), "consent") {
		t.Errorf("张鹏 is offered to consent to his own secondment: %v", got["allowed_actions"])
	}
	if res, p := a.call(zp, "POST", path+"/actions/consent", map[string]any{"opinion": "同意"}); res.StatusCode != http.StatusForbidden ||
		!strings.Contains(fmt.Sprint(p["detail"]), "about you") {
		t.Errorf("张鹏 consents to his own secondment: %d %v", res.StatusCode, p)
	}
	var n int
	_ = s.store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM audit_event WHERE action = 'user.person'`).Scan(&n)
	if n != 1 {
		t.Errorf("%d audit events of the link, want 1", n)
	}
}

// A change of roles that would make a live out-of-office arrangement join
// two roles one person may not hold is refused, as the proxy and as the
// principal; accounts and arrangements that hold such roles from before
// the checks are listed for the administrator.
func TestRolesAgainstLiveProxies(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, kashgar)
	admin := s.as(t, "sysadmin")
	for _, principal := range []string{"xj-ks-zzb.lender", "xj-ks-zzb.borrower"} {
		if res, body := s.as(t, principal).post("/account/proxy", url.Values{"login": {"xj-ks-zzb.registrar"},
			"starts_on": {"2024-03-01"}, "ends_on": {"2024-03-31"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s names the registrar: %d %s", principal, res.StatusCode, body)
		}
	}
	for login, roles := range map[string][]string{
		"xj-ks-zzb.registrar": {"orgdept"}, // the proxy would review what it consents to
		"xj-ks-zzb.borrower":  {"orgdept"}, // its proxy would stand in for the reviewer and the lender
	} {
		res, body := admin.post(fmt.Sprintf("/admin/users/%d/roles", userID(t, s, login)), url.Values{"role": roles})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "外出代理") {
			t.Errorf("%s given %v during a live proxy: %d", login, roles, res.StatusCode)
		}
	}
	// Compatible roles still change.
	if res, _ := admin.post(fmt.Sprintf("/admin/users/%d/roles", userID(t, s, "xj-ks-zzb.registrar")),
		url.Values{"role": {"registrar", "lender"}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("a compatible change: %d", res.StatusCode)
	}
	if _, body := admin.get("/admin/users"); len(byTestID(doc(t, body), "role-clash")) != 0 {
		t.Fatal("clashes listed where there are none")
	}
	// An account from before the checks.
	if _, err := s.store.Pool.Exec(t.Context(), `INSERT INTO user_role (user_id, role) VALUES ($1, 'orgdept')`,
		userID(t, s, "xj-ks-zzb.lender")); err != nil {
		t.Fatal(err)
	}
	_, body := admin.get("/admin/users")
	clashes := byTestID(doc(t, body), "role-clash")
	if len(clashes) < 2 || !strings.Contains(text(clashes[0])+text(clashes[1]), "xj-ks-zzb.lender") {
		t.Fatalf("the account and its arrangement are not listed: %d", len(clashes))
	}
}
