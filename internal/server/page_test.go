package server_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"secondment/internal/demo"
	"secondment/internal/secondment"
	"secondment/web"
)

// The units of the seed's scenarios S1–S8 appear in their hierarchy.
func TestUnitListShowsScenarioUnits(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	res, body := s.get(t, "/units", "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /units = %d", res.StatusCode)
	}
	rows := byTestID(doc(t, body), "unit-row")
	type row struct {
		name, level, headcount string
		depth                  string
		index                  int
	}
	got := map[string]row{}
	for i, r := range rows {
		got[attr(r, "data-code")] = row{within(r, "unit-name"), attr(r, "data-level"), within(r, "unit-headcount"), attr(r, "data-depth"), i}
	}
	d, err := demo.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(d.Units) {
		t.Fatalf("%d unit rows, want %d", len(rows), len(d.Units))
	}
	for _, u := range d.Units {
		r, ok := got[u.Code]
		if !ok || r.name != u.Name {
			t.Errorf("unit %s (%s) missing or misnamed: %+v", u.Code, u.Name, r)
		}
		if u.ParentCode != "" && got[u.ParentCode].index >= r.index {
			t.Errorf("%s listed before its parent %s", u.Code, u.ParentCode)
		}
	}
	for code, want := range map[string]row{
		"NMG-BT-QS-RD":  {name: "青山区人大常委会机关", level: "county", depth: "2", headcount: "28"},
		"NMG-BT-QS-KXL": {name: "科学路街道办事处", level: "township", depth: "2", headcount: "23"},
		"NMG-BT-JY-ZZB": {name: "九原区委组织部", level: "county", depth: "2"},
		"NMG-BT-JY-MC":  {name: "麻池镇", level: "township", depth: "2"},
		"SD-WH-ZZB":     {name: "威海市委组织部", level: "city", depth: "1"},
		"SD-WH-HC-YT":   {name: "羊亭镇", level: "township", depth: "2", headcount: "72"},
		"XJ-KS-ZZB":     {name: "喀什市委组织部", level: "county", depth: "1"},
		"XJ-KS-AKKS":    {name: "阿克喀什乡", level: "township", depth: "1"},
		"NMG-BT":        {name: "包头市", level: "city", depth: "0", headcount: "—"},
	} {
		g := got[code]
		if g.name != want.name || g.level != want.level || g.depth != want.depth || (want.headcount != "" && g.headcount != want.headcount) {
			t.Errorf("%s = %+v; want %+v", code, g, want)
		}
	}
}

func TestUnitListEmpty(t *testing.T) {
	t.Parallel()
	s := newSetup(t, false)
	_, body := s.get(t, "/units", "")
	if len(byTestID(doc(t, body), "unit-empty")) != 1 || !strings.Contains(body, "seed demo") {
		t.Fatal("an empty unit list must say how to load the demo data")
	}
}

func TestPersonListAndFilter(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	_, body := s.get(t, "/people", "")
	all := byTestID(doc(t, body), "person-row")
	if len(all) != 13 {
		t.Fatalf("%d people, want the 13 of the seed", len(all))
	}

	_, body = s.get(t, "/people?unit=NMG-BT-QS-KXL", "")
	page := doc(t, body)
	var names []string
	for _, r := range byTestID(page, "person-row") {
		names = append(names, within(r, "person-name"))
		if u := within(r, "person-unit"); !strings.HasPrefix(u, "科学路街道办事处") {
			t.Errorf("person of another unit listed: %s", u)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"张斌", "芦长丽"}) {
		t.Fatalf("people of 科学路街道办事处 = %v", names)
	}
	if c := within(page, "person-count"); c != "共 2 人" {
		t.Errorf("count = %q", c)
	}

	_, body = s.get(t, "/people?unit=NO-SUCH-UNIT", "")
	if len(byTestID(doc(t, body), "person-empty")) != 1 {
		t.Fatal("an unknown unit must list nobody")
	}
}

// Text that looks like markup is shown, never run.
func TestMarkupInDataIsInert(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	if _, err := s.store.Pool.Exec(t.Context(), `UPDATE person SET post = '<script>alert(1)</script>' WHERE code = 'NMG-BT-QS-KXL-P01'`); err != nil {
		t.Fatal(err)
	}
	_, body := s.get(t, "/people", "")
	if strings.Contains(body, "<script>alert(1)") || !strings.Contains(body, "&lt;script&gt;alert(1)") {
		t.Fatal("markup in data was not escaped")
	}
}

func TestLanguages(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	_, body := s.get(t, "/units", "")
	page := doc(t, body)
	if !strings.Contains(body, `<html lang="zh-CN">`) || within(page, "nav-units") != "单位" {
		t.Fatal("default language must be Simplified Chinese")
	}
	_, body = s.get(t, "/units", "en")
	page = doc(t, body)
	if !strings.Contains(body, `<html lang="en">`) || within(page, "nav-units") != "Units" {
		t.Fatal("the en cookie must give English")
	}
	_, body = s.get(t, "/people?unit=NMG-BT-QS-KXL", "en")
	if c := within(doc(t, body), "person-count"); c != "2 people" {
		t.Errorf("English count = %q", c)
	}

	// Switching: a POST sets the cookie and returns to the page.
	form := url.Values{"lang": {"en"}, "next": {"/people?unit=NMG-BT-QS-KXL"}}
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/lang", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, _ := do(t, req)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/people?unit=NMG-BT-QS-KXL" {
		t.Fatalf("POST /lang = %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if c := res.Cookies(); len(c) != 1 || c[0].Value != "en" || !c[0].HttpOnly {
		t.Fatalf("cookies = %v", c)
	}
	// It never redirects off the site.
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"} {
		form := url.Values{"lang": {"zh-CN"}, "next": {next}}
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/lang", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if res, _ := do(t, req); res.Header.Get("Location") != "/" {
			t.Errorf("next=%q redirected to %q", next, res.Header.Get("Location"))
		}
	}
}

func TestHomeCounts(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	_, body := s.get(t, "/", "")
	page := doc(t, body)
	if got := within(page, "stat-units"); got != "20" {
		t.Errorf("units card = %q", got)
	}
	if got := within(page, "stat-townships"); got != "4" {
		t.Errorf("townships card = %q", got)
	}
	if got := within(page, "stat-people"); got != "13" {
		t.Errorf("people card = %q", got)
	}
}

func TestStaticAssets(t *testing.T) {
	t.Parallel()
	s := newSetup(t, false)
	res, body := s.get(t, web.Asset("app.css"), "")
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") || !strings.Contains(body, ":root") {
		t.Fatalf("current asset: %d %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
	res, _ = s.get(t, "/static/000000000000/app.css", "")
	if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("stale hash: %d %q; want the file, uncached", res.StatusCode, res.Header.Get("Cache-Control"))
	}
	res, _ = s.get(t, "/static/000000000000/nope.css", "")
	if res.StatusCode != 404 {
		t.Fatalf("unknown asset: %d", res.StatusCode)
	}
	// The page links the current URL.
	_, page := s.get(t, "/", "")
	if !strings.Contains(page, web.Asset("app.css")) {
		t.Fatal("layout does not link the hashed stylesheet")
	}
}

// Each unit shows where its borrowing is judged: the approving org dept and
// the policy version in force on the server's today.
func TestUnitListShowsJurisdictions(t *testing.T) {
	t.Parallel()
	check := func(day secondment.Date, want map[string][2]string) {
		t.Helper()
		s := newSetupAt(t, true, secondment.FixedClock{T: day.Start().Add(10 * time.Hour)})
		_, body := s.get(t, "/units", "")
		got := map[string][2]string{}
		for _, r := range byTestID(doc(t, body), "unit-row") {
			got[attr(r, "data-code")] = [2]string{within(r, "unit-orgdept"), within(r, "unit-policy")}
		}
		for code, w := range want {
			if got[code] != w {
				t.Errorf("on %s, %s shows %q; want %q", day, code, got[code], w)
			}
		}
	}
	check(secondment.D(2024, time.May, 1), map[string][2]string{
		"NMG-BT-QS-RD":  {"青山区委组织部", "包头市规定(第3版,2024-04-01起施行)"},
		"NMG-BT-JY-ZZB": {"包头市委组织部", "包头市规定(第3版,2024-04-01起施行)"}, // an org dept never signs off its own borrowing
		"SD-WH-FY":      {"威海市委组织部", "威海市“三个不得”(第1版,2024-01-01起施行)"},
		"XJ-KS-JW":      {"喀什市委组织部", "喀什市借调管理办法(第2版,2024-02-03起施行)"},
	})
	check(secondment.D(2024, time.March, 15), map[string][2]string{
		"NMG-BT-QS-RD": {"青山区委组织部", "包头市规定(第2版,2024-02-03起施行)"},
		"SD-WH-FY":     {"威海市委组织部", "威海市“三个不得”(第1版,2024-01-01起施行)"},
	})
	// Before Weihai's first version there is no policy in force to show.
	check(secondment.D(2023, time.June, 1), map[string][2]string{
		"SD-WH-FY": {"威海市委组织部", ""},
	})
}
