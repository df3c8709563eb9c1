package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"secondment/internal/lettertest"
)

type rectJSON struct {
	ID           int64  `json:"id"`
	SecondmentID int64  `json:"secondment_id"`
	Number       string `json:"number"`
	Person       string `json:"person"`
	Rule         string `json:"rule"`
	Status       string `json:"status"`
	Deadline     string `json:"deadline"`
	TargetTask   string `json:"target_task"`
	Version      int    `json:"version"`
	ClosedOn     string `json:"closed_on"`
	Evidence     []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"evidence"`
	Can map[string]bool `json:"can"`
}

type rectListJSON struct {
	Scope   string     `json:"scope"`
	Total   int        `json:"total"`
	Next    string     `json:"next"`
	Entries []rectJSON `json:"entries"`
}

func (c *client) rectList(query string) rectListJSON {
	c.t.Helper()
	res, body := c.get("/api/v1/irregular?" + query)
	if res.StatusCode != http.StatusOK {
		c.t.Fatalf("irregular %s: %d %s", query, res.StatusCode, body)
	}
	var l rectListJSON
	if err := json.Unmarshal([]byte(body), &l); err != nil {
		c.t.Fatal(err)
	}
	return l
}

// sendJSON calls the API with a JSON body and decodes the answer.
func (c *client) sendJSON(path string, body any) (*http.Response, map[string]any, rectJSON) {
	c.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, c.s.srv.URL+path, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	res, out := c.do(req)
	var m map[string]any
	_ = json.Unmarshal([]byte(out), &m)
	var r rectJSON
	_ = json.Unmarshal([]byte(out), &r)
	return res, m, r
}

// The irregular ledger through its pages and its API, which agree: the
// demo's Kashgar stock is on it; the org dept's list, an entry's page, a
// plan with a deadline (the page redirects, so a reload repeats nothing),
// evidence uploaded and read back, a stale change refused, the close;
// another jurisdiction gets 404 on both skins.
func TestIrregularLedgerPagesAndAPI(t *testing.T) {
	t.Parallel()
	s := newStorySetup(t)
	org := s.as(t, "xj-ks-zzb.orgdept")
	list := org.rectList("open=true")
	if list.Scope != "own" || list.Total == 0 || len(list.Entries) == 0 {
		t.Fatalf("the org dept's open entries: %+v", list)
	}
	res, body := org.get("/irregular?open=true")
	page := doc(t, body)
	rows := byTestID(page, "rect-row")
	if res.StatusCode != http.StatusOK || len(rows) != len(list.Entries) {
		t.Fatalf("page: %d, %d rows; API %d", res.StatusCode, len(rows), len(list.Entries))
	}
	for i, r := range rows {
		if attr(r, "data-id") != strconv.FormatInt(list.Entries[i].ID, 10) {
			t.Fatalf("row %d: page %s, API %d", i, attr(r, "data-id"), list.Entries[i].ID)
		}
	}
	e := list.Entries[0]
	path := fmt.Sprintf("/irregular/%d", e.ID)

	// The secondment's page links to its entries, and offers the org dept
	// to enter it by hand.
	_, body = org.get(fmt.Sprintf("/secondments/%d", e.SecondmentID))
	sp := doc(t, body)
	linked := false
	for _, a := range byTestID(sp, "secondment-rect") {
		linked = linked || attr(a, "href") == path
	}
	if !linked || len(byTestID(sp, "rect-open-link")) != 1 {
		t.Errorf("the secondment's page: link to %s %v, open link %d", path, linked, len(byTestID(sp, "rect-open-link")))
	}

	// Entering it by hand under another rule, through the form.
	reg := s.as(t, "xj-ks-zzb.registrar")
	sid := strconv.FormatInt(e.SecondmentID, 10)
	if res, body := reg.get("/irregular/new?secondment=" + sid); res.StatusCode != http.StatusOK || len(byTestID(doc(t, body), "rect-open-form")) != 1 {
		t.Errorf("the form to enter by hand: %d", res.StatusCode)
	}
	res, body = reg.post("/irregular", url.Values{"secondment": {sid}, "rule": {"R13"}, "detail": {""}})
	if res.StatusCode != http.StatusUnprocessableEntity || len(byTestID(doc(t, body), "error-detail")) != 1 {
		t.Errorf("entering without words: %d", res.StatusCode)
	}
	res, _ = reg.post("/irregular", url.Values{"secondment": {sid}, "rule": {"R13"}, "detail": {"借用单位、借出单位未双备案"}})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc, "?done=open") {
		t.Errorf("entering by hand: %d %s", res.StatusCode, loc)
	}

	// Another jurisdiction: not found, on both skins.
	bt := s.as(t, "nmg-bt-zzb.orgdept")
	for _, p := range []string{path, "/api/v1" + path} {
		if res, _ := bt.get(p); res.StatusCode != http.StatusNotFound {
			t.Errorf("Baotou's org dept on %s: %d, want 404", p, res.StatusCode)
		}
	}
	if res, _ := bt.post(path+"/plan", url.Values{"version": {"1"}, "target_task": {"x"}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("Baotou's org dept posts a plan: %d, want 404", res.StatusCode)
	}

	// A plan through the page.
	_, body = org.get("/api/v1" + path)
	var cur rectJSON
	_ = json.Unmarshal([]byte(body), &cur)
	if !cur.Can["edit"] || !cur.Can["close"] {
		t.Fatalf("the org dept may not act on its entry: %+v", cur)
	}
	form := url.Values{"version": {strconv.Itoa(cur.Version)}, "target_task": {"清退返回原单位"}, "measures": {"月底前完成交接"},
		"responsible_person": {"经办人"}, "deadline": {"2099-12-31"}}
	res, _ = org.post(path+"/plan", form)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != path+"?done=plan" {
		t.Fatalf("plan: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	_, body = org.get(path + "?done=plan")
	if got := within(doc(t, body), "rect-done"); got != "整改方案已保存。" {
		t.Errorf("notice %q", got)
	}
	// The same form again is stale: shown beside the page, nothing changed.
	if res, _ = org.post(path+"/plan", form); res.StatusCode != http.StatusConflict {
		t.Errorf("a stale plan: %d, want 409", res.StatusCode)
	}
	_, after, got := org.sendJSON("/api/v1"+path+"/status", map[string]any{"version": cur.Version, "status": "returned"})
	if after["status"] != float64(http.StatusConflict) {
		t.Errorf("a stale status on the API: %v", after)
	}
	_, body = org.get("/api/v1" + path)
	_ = json.Unmarshal([]byte(body), &got)
	if got.Version != cur.Version+1 || got.TargetTask != "清退返回原单位" || got.Deadline != "2099-12-31" || got.Status != "rectifying" {
		t.Fatalf("after the plan: %+v", got)
	}

	// Evidence: a text file is refused on its field; a PNG goes in and
	// reads back.
	res, body = org.postFile(path+"/evidence", nil, "file", "说明.txt", []byte("just words"))
	if res.StatusCode != http.StatusUnprocessableEntity || len(byTestID(doc(t, body), "error-file")) != 1 {
		t.Errorf("a text file as evidence: %d", res.StatusCode)
	}
	png := lettertest.PNG(200, 280)
	res, _ = org.postFile(path+"/evidence", nil, "file", "清退通知.png", png)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("evidence: %d", res.StatusCode)
	}
	_, body = org.get("/api/v1" + path)
	_ = json.Unmarshal([]byte(body), &got)
	if len(got.Evidence) != 1 || got.Evidence[0].Name != "清退通知.png" {
		t.Fatalf("evidence after upload: %+v", got.Evidence)
	}
	res, file := org.get(fmt.Sprintf("%s/evidence/%d", path, got.Evidence[0].ID))
	if res.StatusCode != http.StatusOK || file != string(png) || res.Header.Get("Content-Type") != "image/png" {
		t.Errorf("evidence read back: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if res, _ := bt.get(fmt.Sprintf("%s/evidence/%d", path, got.Evidence[0].ID)); res.StatusCode != http.StatusNotFound {
		t.Errorf("Baotou reads Kashgar's evidence: %d", res.StatusCode)
	}

	// Closing on the API: no outcome yet, then the outcome and the close.
	res, m, _ := org.sendJSON("/api/v1"+path+"/close", map[string]any{"version": got.Version, "opinion": "同意销号"})
	if res.StatusCode != http.StatusUnprocessableEntity || m["errors"] == nil {
		t.Errorf("closing without an outcome: %d %v", res.StatusCode, m)
	}
	res, _, got = org.sendJSON("/api/v1"+path+"/status", map[string]any{"version": got.Version, "status": "term_end"})
	if res.StatusCode != http.StatusOK || got.Status != "term_end" {
		t.Fatalf("status on the API: %d %+v", res.StatusCode, got)
	}
	res, _, got = org.sendJSON("/api/v1"+path+"/close", map[string]any{"version": got.Version, "opinion": "期满已返回，同意销号"})
	if res.StatusCode != http.StatusOK || got.Status != "closed" || got.ClosedOn == "" || got.Can["edit"] {
		t.Fatalf("close on the API: %d %+v", res.StatusCode, got)
	}
	_, body = org.get(path)
	if !strings.Contains(within(doc(t, body), "rect-closed"), "期满已返回，同意销号") {
		t.Errorf("the page does not show the closing opinion")
	}
	if n := org.rectList("status=closed").Total; n < 1 {
		t.Errorf("closed entries: %d", n)
	}

	// The page in English.
	en := s.as(t, "xj-ks-zzb.registrar")
	en.post("/lang", url.Values{"lang": {"en"}})
	if _, body = en.get("/irregular"); !strings.Contains(body, "Irregular secondments ledger") {
		t.Errorf("the English page lacks its title")
	}
}

// Each figure of the irregular ledger on a home page is the number of the
// rows its link opens (S4 in the demo): 青山区's past-deadline entry,
// escalated to 包头市委组织部, and 青山区人大's share to rectify.
func TestIrregularFiguresAreTheirRows(t *testing.T) {
	t.Parallel()
	s := newStorySetup(t)
	for _, c := range []struct {
		login string
		want  map[string]int // figures whose count the demo fixes
	}{
		{"nmg-bt-qs-zzb.orgdept", map[string]int{"home.rect.past_deadline": 1, "home.rect.transfer_pending": 1}},
		{"nmg-bt-zzb.orgdept", map[string]int{"home.rect.escalated": 1}},
		{"nmg-bt-qs-rd.borrower", map[string]int{"home.rect.responsible_past": 1}},
		{"xj-ks-zzb.registrar", map[string]int{"home.rect.term_end": 5}},
	} {
		u := s.as(t, c.login)
		_, body := u.get("/")
		figures := byTestID(doc(t, body), "rect-figures")
		if len(figures) != 1 {
			t.Fatalf("%s: no irregular ledger figures", c.login)
		}
		seen := map[string]bool{}
		for n := figures[0].FirstChild; n != nil; n = n.NextSibling {
			id := strings.TrimPrefix(attr(n, "data-testid"), "figure-")
			if id == "" {
				continue
			}
			seen[id] = true
			href := attr(n, "href")
			total := u.rectList(strings.TrimPrefix(href, "/irregular?")).Total
			if got := figureCount(t, n); got != total {
				t.Errorf("%s: figure %s shows %d, its link %s lists %d", c.login, id, got, href, total)
			}
			if want, ok := c.want[id]; ok && total != want {
				t.Errorf("%s: %s = %d, want %d", c.login, id, total, want)
			}
		}
		for id := range c.want {
			if !seen[id] {
				t.Errorf("%s: no figure %s", c.login, id)
			}
		}
		// The keepers' chart of open entries by status: its parts add up to
		// the open entries, and each linked part lists as many as it says.
		if !strings.HasSuffix(c.login, ".borrower") && !strings.HasPrefix(c.login, "nmg-bt-zzb") {
			parts := byTestID(doc(t, body), "rect-chart-part")
			if len(parts) != 4 {
				t.Fatalf("%s: the chart has %d parts", c.login, len(parts))
			}
			sum := 0
			for _, p := range parts {
				n, _ := strconv.Atoi(attr(p, "data-count"))
				sum += n
				if href := attr(p, "href"); href != "" {
					if total := u.rectList(strings.TrimPrefix(href, "/irregular?")).Total; total != n {
						t.Errorf("%s: the chart's part says %d, its link %s lists %d", c.login, n, href, total)
					}
				}
			}
			if open := u.rectList("scope=own&open=true").Total; sum != open || open == 0 {
				t.Errorf("%s: the chart's parts add up to %d of %d open", c.login, sum, open)
			}
		}
	}
}

// figureCount is the number a home page's figure (a card) shows.
func figureCount(t *testing.T, card *html.Node) int {
	t.Helper()
	for n := card.FirstChild; n != nil; n = n.NextSibling {
		if attr(n, "class") == "num" {
			c, err := strconv.Atoi(strings.TrimSpace(text(n)))
			if err != nil {
				t.Fatalf("figure %q: %v", text(n), err)
			}
			return c
		}
	}
	t.Fatal("a figure without its number")
	return 0
}
