package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"secondment/internal/dbtest"
)

// The auditor checks the chain from the page and the API; after someone
// holding the database's superuser login edits an event, both report the
// broken link and the trail page raises the alarm.
func TestAuditorVerifiesTheChain(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	s.as(t, "nmg-bt-qs-rd.borrower") // a sign-in, so the trail has events
	aud := s.as(t, "auditor")
	_, body := aud.get("/audit/chain")
	if len(byTestID(doc(t, body), "audit-chain-none")) != 1 {
		t.Fatal("a chain never verified should say so")
	}
	res, body := aud.post("/audit/chain", url.Values{})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "校验完成：完整") {
		t.Fatalf("verify now: %d\n%s", res.StatusCode, body)
	}
	rows := byTestID(doc(t, body), "audit-chain-row")
	if len(rows) != 1 || attr(rows[0], "data-ok") != "true" {
		t.Fatalf("verification rows: %d", len(rows))
	}

	su := dbtest.Pool(t, dbtest.SuperURL(t, s.url))
	if _, err := su.Exec(t.Context(), `BEGIN; SET LOCAL session_replication_role = replica;
		UPDATE audit_event SET actor_name = '别人' WHERE id = (SELECT event_id FROM audit_chain WHERE seq = 2); COMMIT;`); err != nil {
		t.Fatal(err)
	}
	res, m := aud.sendCSV("POST", "/api/v1/audit/verifications", "")
	if res.StatusCode != http.StatusCreated || m["ok"] != false || m["broken_seq"] != float64(2) || m["problem"] != "hash" {
		t.Fatalf("API verify after an edit: %d %v", res.StatusCode, m)
	}
	_, body = aud.get("/audit")
	alarm := byTestID(doc(t, body), "audit-chain-alarm")
	if len(alarm) != 1 || !strings.Contains(text(alarm[0]), "自第 2 环起断裂") {
		t.Fatalf("the trail page raises no alarm:\n%s", body)
	}
	res, body = aud.get("/api/v1/audit/verifications")
	var list struct {
		Verifications []map[string]any `json:"verifications"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || res.StatusCode != http.StatusOK || len(list.Verifications) != 2 ||
		list.Verifications[0]["ok"] != false || list.Verifications[1]["ok"] != true {
		t.Fatalf("API list: %d %s", res.StatusCode, body)
	}
	for _, who := range []string{"sysadmin", "nmg-bt-qs-zzb.orgdept"} {
		if res, _ := s.as(t, who).post("/audit/chain", url.Values{}); res.StatusCode != http.StatusForbidden {
			t.Errorf("%s verifies the chain: %d", who, res.StatusCode)
		}
	}
}
