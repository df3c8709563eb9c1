package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Each unit reads the policy it works under, on the page and the API
// alike: 青山区人大 (Baotou) sees Baotou's three versions, the April 2024
// township ban in force and the seed's words behind it; 喀什市委组织部's
// registrar sees Kashgar's.
func TestPoliciesPage(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	for _, c := range []struct {
		login, jurisdiction string
		versions            int
		township            string // the in-force version's R4 setting, in English
	}{
		{"nmg-bt-qs-rd.borrower", "包头市", 3, "Borrowing from townships (street offices): Forbidden"},
		{"xj-ks-zzb.registrar", "喀什市", 2, "Borrowing from townships (street offices): Only as an approved exception"},
	} {
		u := s.as(t, c.login)
		res, body := u.get("/policies")
		page := doc(t, body)
		if res.StatusCode != http.StatusOK || len(byTestID(page, "policy-version")) != c.versions ||
			len(byTestID(page, "policy-in-force")) != 1 || len(byTestID(page, "policy-citation")) == 0 ||
			!strings.Contains(within(page, "policy-jurisdiction"), c.jurisdiction) {
			t.Fatalf("%s: the page: %d, %d versions", c.login, res.StatusCode, len(byTestID(page, "policy-version")))
		}
		res, body = u.get("/api/v1/policies")
		var api struct {
			Jurisdiction string `json:"jurisdiction"`
			Versions     []struct {
				Version  int  `json:"version"`
				InForce  bool `json:"in_force"`
				Settings []struct{ Rule, Text string }
			} `json:"versions"`
		}
		if err := json.Unmarshal([]byte(body), &api); err != nil || res.StatusCode != 200 || api.Jurisdiction != c.jurisdiction ||
			len(api.Versions) != c.versions || !api.Versions[0].InForce || api.Versions[0].Version != c.versions {
			t.Fatalf("%s: the API: %d %s", c.login, res.StatusCode, body)
		}
		found := false
		for _, st := range api.Versions[0].Settings {
			found = found || (st.Rule == "R4" && st.Text == c.township)
		}
		if !found {
			t.Errorf("%s: no R4 setting %q in %+v", c.login, c.township, api.Versions[0].Settings)
		}
	}
}

// Issue #12: Weihai's page cites Weihai's own 三个不得 with their document
// and issuer, not the national wording; the API carries the same source.
func TestWeihaiPolicyCitesItsOwnWords(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	u := s.as(t, "sd-wh-zzb.orgdept")
	_, body := u.get("/policies")
	page := doc(t, body)
	var cites string
	for _, n := range byTestID(page, "policy-citation") {
		cites += text(n) + "\n"
	}
	if !strings.Contains(cites, "不得以日常工作为由借用人员") || strings.Contains(cites, "县以上机关一般不得从乡镇借调工作人员") ||
		!strings.Contains(within(page, "policy-citation-source"), "威海市委组织部") {
		t.Errorf("Weihai's citations: %q", cites)
	}
	res, body := u.get("/api/v1/policies")
	if res.StatusCode != 200 || !strings.Contains(body, `"issuer":"威海市委组织部"`) {
		t.Errorf("the API's citation sources: %d", res.StatusCode)
	}
}
