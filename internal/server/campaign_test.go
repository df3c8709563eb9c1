package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"secondment/internal/demo"
)

type campaignJSON struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Filter   string `json:"filter"`
	ClosedOn string `json:"closed_on"`
	Counts   struct {
		Found, Returned, Transfer, Held, Exempt, Pending, Remaining int
	} `json:"counts"`
	Members []struct {
		SecondmentID int64  `json:"secondment_id"`
		Outcome      string `json:"outcome"`
		Until        string `json:"until"`
		Version      int    `json:"version"`
	} `json:"members"`
	Next string `json:"next"`
}

func (c *client) campaign(path string) campaignJSON {
	c.t.Helper()
	res, body := c.get(path)
	if res.StatusCode != http.StatusOK {
		c.t.Fatalf("%s: %d %s", path, res.StatusCode, body)
	}
	var v campaignJSON
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		c.t.Fatal(err)
	}
	return v
}

// S6 on both skins: the demo's Kashgar clean-up shows the seed's figures
// (165 found, 131 returned, 12 in transfer-in, 22 remaining) on its page
// and its API alike, each figure a link to its members; its export reads
// back; a decision through the page moves the figures; another org dept
// gets 404; a new campaign opens from the ledger's filter.
func TestCampaignPagesAndAPI(t *testing.T) {
	t.Parallel()
	s := newStorySetup(t)
	c := demo.StoryCounts
	org := s.as(t, "xj-ks-zzb.orgdept")
	res, body := org.get("/api/v1/campaigns")
	var list struct {
		Campaigns []campaignJSON `json:"campaigns"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || res.StatusCode != 200 || len(list.Campaigns) != 2 {
		t.Fatalf("campaigns: %d %s", res.StatusCode, body)
	}
	// Newest first: S6's, open, then the end-2022 clean-up's, closed.
	k, k22 := list.Campaigns[0], list.Campaigns[1]
	if k.ClosedOn != "" || k22.ClosedOn == "" || k22.Counts.Found != c.Kashgar2022Returned+c.Kashgar2022Transferred ||
		k22.Counts.Returned != c.Kashgar2022Returned || k22.Counts.Transfer != c.Kashgar2022Transferred || k22.Counts.Remaining != 0 {
		t.Errorf("the campaigns: S6 closed on %q; 2022's %+v closed on %q", k.ClosedOn, k22.Counts, k22.ClosedOn)
	}
	if k.Counts.Found != c.KashgarStock || k.Counts.Returned != c.StockReturned || k.Counts.Transfer != c.StockTransfer ||
		k.Counts.Remaining != c.StockAway {
		t.Fatalf("API counts %+v", k.Counts)
	}
	path := fmt.Sprintf("/campaigns/%d", k.ID)
	_, body = org.get("/campaigns")
	page := doc(t, body)
	for id, want := range map[string]int{"campaign-found": c.KashgarStock, "campaign-returned": c.StockReturned,
		"campaign-transfer": c.StockTransfer, "campaign-remaining": c.StockAway} {
		cards := byTestID(page, id)
		if len(cards) != 2 || figureCount(t, cards[0]) != want {
			t.Errorf("the list's %s: want %d", id, want)
		}
	}
	// The org dept's home shows the open campaign with the same figures.
	_, body = org.get("/")
	home := byTestID(doc(t, body), "home-campaign")
	if len(home) != 1 || figureCount(t, byTestID(home[0], "campaign-found")[0]) != c.KashgarStock ||
		figureCount(t, byTestID(home[0], "campaign-remaining")[0]) != c.StockAway {
		t.Errorf("the home page's campaign: %d sections", len(home))
	}
	// Each figure's link lists as many members as it says.
	_, body = org.get(path + "?outcome=held")
	if n := len(byTestID(doc(t, body), "campaign-member")); n != c.StockAway {
		t.Errorf("held members on the page: %d, want %d", n, c.StockAway)
	}
	held := org.campaign("/api/v1" + path + "?outcome=held")
	if len(held.Members) != c.StockAway || held.Members[0].Until == "" {
		t.Fatalf("held members on the API: %d", len(held.Members))
	}
	all := org.campaign("/api/v1" + path)
	if len(all.Members) != 50 || all.Next == "" {
		t.Errorf("the first page of members: %d, next %q", len(all.Members), all.Next)
	}
	next := org.campaign("/api/v1" + path + "?after=" + url.QueryEscape(all.Next))
	if next.Members[0].SecondmentID == all.Members[49].SecondmentID {
		t.Error("the next page repeats the last member")
	}

	// The export of the held: a header and one row each.
	res, csv := org.get(path + "/members.csv?outcome=held")
	if lines := strings.Count(strings.TrimSpace(csv), "\n"); res.StatusCode != 200 || lines != c.StockAway {
		t.Errorf("export: %d, %d rows", res.StatusCode, lines)
	}

	// A decision through the page: one held becomes exempt.
	m := held.Members[0]
	res, _ = org.post(fmt.Sprintf("%s/members/%d", path, m.SecondmentID), url.Values{"version": {strconv.Itoa(m.Version)},
		"outcome": {"exempt"}, "reason": {"已按程序办理调任"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("decision: %d", res.StatusCode)
	}
	after := org.campaign("/api/v1" + path)
	if after.Counts.Held != c.StockAway-1 || after.Counts.Exempt != 1 || after.Counts.Remaining != c.StockAway {
		t.Errorf("after the decision: %+v", after.Counts)
	}
	// Exempt with no reason: refused beside that member, the outcome
	// filter kept and what was chosen still chosen.
	m2 := held.Members[1]
	res, body = org.post(fmt.Sprintf("%s/members/%d", path, m2.SecondmentID), url.Values{"version": {strconv.Itoa(m2.Version)},
		"outcome": {"exempt"}, "reason": {""}, "back": {"held"}})
	if res.StatusCode != http.StatusUnprocessableEntity || len(byTestID(doc(t, body), "error-reason")) != 1 ||
		!strings.Contains(body, `<option value="exempt" selected>`) {
		t.Errorf("a decision without its reason: %d", res.StatusCode)
	}
	// The same form again is stale.
	if res, _ = org.post(fmt.Sprintf("%s/members/%d", path, m.SecondmentID), url.Values{"version": {strconv.Itoa(m.Version)},
		"outcome": {"pending"}}); res.StatusCode != http.StatusConflict {
		t.Errorf("a stale decision: %d, want 409", res.StatusCode)
	}

	// Another org dept, and a borrowing unit: nothing to see.
	for login, want := range map[string]int{"nmg-bt-zzb.orgdept": http.StatusNotFound, "xj-ks-jw.borrower": http.StatusForbidden} {
		if res, _ := s.as(t, login).get("/api/v1" + path); res.StatusCode != want {
			t.Errorf("%s on the campaign: %d, want %d", login, res.StatusCode, want)
		}
	}

	// A new campaign from the ledger's filter: the form says how many it
	// finds, the campaign holds them.
	filter := "state=active&level=township"
	ledger := org.ledger(filter + "&as=orgdept")
	_, body = org.get("/campaigns/new?" + filter)
	if got := within(doc(t, body), "campaign-new-found"); !strings.Contains(got, strconv.Itoa(ledger.Total)) {
		t.Errorf("the form says %q; the ledger has %d", got, ledger.Total)
	}
	form, _ := url.ParseQuery(filter)
	form.Set("name", "在借乡镇干部专项清理")
	res, _ = org.post("/campaigns", form)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("open: %d", res.StatusCode)
	}
	opened := org.campaign("/api/v1" + res.Header.Get("Location"))
	if opened.Counts.Found != ledger.Total || opened.Filter == "" {
		t.Errorf("the new campaign found %d, the ledger %d (filter %q)", opened.Counts.Found, ledger.Total, opened.Filter)
	}
}
