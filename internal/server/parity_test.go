package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"secondment/internal/auth"
	"secondment/internal/secondment"
)

// The page and the API are two skins over one use case: for a request in
// every state, seen by every role, with its waiting step handed to a
// colleague or not, and by an out-of-office proxy, the API's
// allowed_actions are exactly the page's buttons, and a request one cannot
// see is 404 on both.
func TestActionsParityPageAndAPI(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, kashgar)
	makeUser(t, s, "akks.lender2", "XJ-KS-AKKS", auth.RoleLender)
	makeUser(t, s, "zzb.orgdept2", "XJ-KS-ZZB", auth.RoleOrgDept)
	makeUser(t, s, "jw.borrower2", "XJ-KS-JW", auth.RoleBorrower)
	proxy := makeUser(t, s, "akks.proxy", "XJ-KS-AKKS", auth.RoleBorrower)
	viewers := []string{"xj-ks-jw.borrower", "xj-ks-akks.lender", "xj-ks-zzb.orgdept", "xj-ks-zzb.registrar",
		"akks.lender2", "zzb.orgdept2", "jw.borrower2", "akks.proxy", "nmg-bt-zzb.orgdept"}
	var lender int64
	if err := s.store.Pool.QueryRow(t.Context(), `SELECT id FROM app_user WHERE login = 'xj-ks-akks.lender'`).Scan(&lender); err != nil {
		t.Fatal(err)
	}
	// akks.proxy stands in for the lending unit's contact today.
	if _, err := s.store.Pool.Exec(t.Context(), `INSERT INTO proxy (principal_id, proxy_id, starts_on, ends_on, created_at)
		VALUES ($1, $2, '2024-02-01', '2024-12-31', now())`, lender, proxy); err != nil {
		t.Fatal(err)
	}

	pages, tokens := map[string]*client{}, map[string]string{}
	for _, login := range viewers {
		c := s.as(t, login)
		_, body := c.post("/account/tokens", url.Values{"name": {"parity"}, "scope": {"act"}, "days": {"90"}})
		pages[login], tokens[login] = c, within(doc(t, body), "new-token")
	}
	api := func(login, method, path string, body any) (int, map[string]any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, s.srv.URL+path, bytes.NewReader(b))
		if body == nil {
			req, _ = http.NewRequest(method, s.srv.URL+path, nil)
		}
		req.Header.Set("Authorization", "Bearer "+tokens[login])
		req.Header.Set("Content-Type", "application/json")
		res, raw := s.anonymous(t).do(req)
		var out map[string]any
		_ = json.Unmarshal([]byte(raw), &out)
		return res.StatusCode, out
	}
	// One request run to its start through the API, and a second one to
	// be the renewal a renewed term names.
	draft := map[string]any{"person_id": personID(t, s, "李传群"), "kind": "secondment", "purpose": "special_project",
		"task": "专项巡察", "start": "2024-03-11", "end": "2024-06-10", "justification": "任务紧急"}
	code, created := api("xj-ks-jw.borrower", "POST", "/api/v1/secondments", draft)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, created)
	}
	id := int64(created["id"].(float64))
	path := fmt.Sprintf("/api/v1/secondments/%d", id)
	for _, step := range []struct{ login, action, opinion string }{
		{"xj-ks-jw.borrower", "submit", ""}, {"xj-ks-akks.lender", "consent", "同意"}, {"xj-ks-zzb.orgdept", "approve", "同意"},
	} {
		if code, out := api(step.login, "POST", path+"/actions/"+step.action, map[string]any{"opinion": step.opinion}); code != 200 {
			t.Fatalf("%s: %d %v", step.action, code, out)
		}
	}
	// Bad input to a request one may not see is 404 like any other call
	// to it; to one's own, 422.
	for _, c := range []struct {
		login string
		want  int
	}{{"nmg-bt-zzb.orgdept", http.StatusNotFound}, {"xj-ks-akks.lender", http.StatusUnprocessableEntity}} {
		req, _ := http.NewRequest("POST", s.srv.URL+path+"/actions/consent", strings.NewReader(`{"opinion": `))
		req.Header.Set("Authorization", "Bearer "+tokens[c.login])
		req.Header.Set("If-Match", "not-a-version")
		if res, _ := s.anonymous(t).do(req); res.StatusCode != c.want {
			t.Errorf("malformed consent by %s: %d, want %d", c.login, res.StatusCode, c.want)
		}
	}
	_, other := api("xj-ks-jw.borrower", "POST", "/api/v1/secondments", draft)
	otherID := int64(other["id"].(float64))

	buttons := func(login string) (int, []string) {
		res, body := pages[login].get(fmt.Sprintf("/secondments/%d", id))
		var out []string
		for _, n := range byTestID(doc(t, body), "actions") {
			for d := range n.Descendants() {
				if v := attr(d, "data-testid"); strings.HasPrefix(v, "do-") {
					out = append(out, strings.TrimPrefix(v, "do-"))
				}
			}
		}
		slices.Sort(out)
		return res.StatusCode, out
	}
	allowed := func(login string) (int, []string) {
		code, out := api(login, "GET", path, nil)
		if code != http.StatusOK {
			return code, nil
		}
		var acts []string
		for _, a := range out["allowed_actions"].([]any) {
			acts = append(acts, a.(string))
		}
		slices.Sort(acts)
		return code, acts
	}
	handlerOf := map[secondment.Role]string{secondment.RoleBorrower: "jw.borrower2",
		secondment.RoleLender: "akks.lender2", secondment.RoleOrgDept: "zzb.orgdept2"}
	checked, offered := 0, 0
	for _, st := range secondment.AllStates {
		terminal := st.Terminal()
		if _, err := s.store.Pool.Exec(t.Context(), `
			UPDATE secondment SET state = $2, started_on = approved_on, returned_on = start_date, return_confirmed_on = start_date,
			       renewal_id = $3, transfer_method = 'public_selection',
			       closed_at = CASE WHEN $4 THEN now() END, version = version + 1
			WHERE id = $1`, id, st, otherID, terminal); err != nil {
			t.Fatalf("put the request in %s: %v", st, err)
		}
		pending, _, hasPending := secondment.Secondment{State: st, OrgDeptID: 1}.Pending()
		for _, handed := range []bool{false, true} {
			if handed && !hasPending {
				continue
			}
			if _, err := s.store.Pool.Exec(t.Context(), `DELETE FROM secondment_handler WHERE secondment_id = $1`, id); err != nil {
				t.Fatal(err)
			}
			if handed {
				if _, err := s.store.Pool.Exec(t.Context(), `INSERT INTO secondment_handler (secondment_id, step, user_id, assigned_by, assigned_at)
					SELECT $1, $2, u.id, u.id, now() FROM app_user u WHERE u.login = $3`, id, st, handlerOf[pending]); err != nil {
					t.Fatal(err)
				}
			}
			for _, login := range viewers {
				pc, page := buttons(login)
				ac, acts := allowed(login)
				if (pc == http.StatusNotFound) != (ac == http.StatusNotFound) {
					t.Errorf("%s, handed over %v, %s: page %d, API %d", st, handed, login, pc, ac)
					continue
				}
				if pc != http.StatusOK {
					continue
				}
				checked++
				offered += len(acts)
				if !slices.Equal(page, acts) {
					t.Errorf("%s, handed over %v, %s: page offers %v, the API %v", st, handed, login, page, acts)
				}
			}
		}
	}
	// The walk must have seen real choices, not empty lists everywhere.
	if checked < 50 || offered < 20 {
		t.Fatalf("only %d views with %d actions compared", checked, offered)
	}
	t.Logf("%d views compared, %d actions offered", checked, offered)
}
