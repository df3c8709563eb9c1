package server_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"secondment/internal/auth"
	"secondment/internal/demo"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
	"secondment/web"
)

// The units of the seed's scenarios S1–S8 appear in their hierarchy.
func TestUnitListShowsScenarioUnits(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	res, body := s.as(t, "sysadmin").get("/units")
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

// A borrowing clerk sees only their own unit and its people; a city org
// dept sees its whole city.
func TestListsAreScoped(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	codes := func(c *client, path, testid string) []string {
		_, body := c.get(path)
		var out []string
		for _, r := range byTestID(doc(t, body), testid) {
			out = append(out, attr(r, "data-code"))
		}
		slices.Sort(out)
		return out
	}
	clerk := s.as(t, "nmg-bt-qs-rd.borrower")
	if got := codes(clerk, "/units", "unit-row"); !slices.Equal(got, []string{"NMG-BT-QS-RD"}) {
		t.Errorf("a clerk of 青山区人大 sees units %v", got)
	}
	if got := codes(clerk, "/people", "person-row"); len(got) != 0 {
		t.Errorf("a clerk of 青山区人大 sees people %v of other units", got)
	}
	if res, _ := clerk.get("/people?unit=NMG-BT-QS-KXL"); res.StatusCode != http.StatusNotFound {
		t.Errorf("another unit's people: %d, want 404", res.StatusCode)
	}
	city := s.as(t, "nmg-bt-zzb.orgdept")
	units := codes(city, "/units", "unit-row")
	if !slices.Contains(units, "NMG-BT-QS-KXL") || !slices.Contains(units, "NMG-BT") || slices.Contains(units, "SD-WH") {
		t.Errorf("包头市委组织部 sees %v; want all of 包头市 and nothing of 威海市", units)
	}
	district := s.as(t, "nmg-bt-qs-zzb.orgdept")
	units = codes(district, "/units", "unit-row")
	if !slices.Contains(units, "NMG-BT-QS-KXL") || slices.Contains(units, "NMG-BT-JY-MC") {
		t.Errorf("青山区委组织部 sees %v; want 青山区 only", units)
	}
	if res, _ := district.get("/api/v1/people?unit=NMG-BT-JY-MC"); res.StatusCode != http.StatusNotFound {
		t.Errorf("API: another district's people: %d, want 404", res.StatusCode)
	}
}

func TestUnitListEmpty(t *testing.T) {
	t.Parallel()
	s := newSetup(t, false)
	// With no units there is no account either: make the administrator.
	if _, err := s.store.Import(t.Context(), postgres.Import{Units: []postgres.UnitImport{{Unit: secondment.Unit{
		Code: "X", Name: "某市", Level: secondment.LevelCity, System: secondment.SystemGeneral}}}}); err != nil {
		t.Fatal(err)
	}
	makeUser(t, s, "admin1", "X", auth.RoleSysAdmin)
	if _, err := s.store.Pool.Exec(t.Context(), `DELETE FROM unit WHERE code <> 'X'`); err != nil {
		t.Fatal(err)
	}
	_, body := s.as(t, "admin1").get("/people")
	if len(byTestID(doc(t, body), "person-empty")) != 1 {
		t.Fatal("an empty person list must say so")
	}
}

func TestPersonListAndFilter(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	admin := s.as(t, "sysadmin")
	_, body := admin.get("/people")
	all := byTestID(doc(t, body), "person-row")
	if len(all) != 13 {
		t.Fatalf("%d people, want the 13 of the seed", len(all))
	}

	_, body = admin.get("/people?unit=NMG-BT-QS-KXL")
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

	if res, _ := admin.get("/people?unit=NO-SUCH-UNIT"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("an unknown unit: %d, want 404", res.StatusCode)
	}
}

// Text that looks like markup is shown, never run.
func TestMarkupInDataIsInert(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	if _, err := s.store.Pool.Exec(t.Context(), `UPDATE person SET post = '<script>alert(1)</script>' WHERE code = 'NMG-BT-QS-KXL-P01'`); err != nil {
		t.Fatal(err)
	}
	_, body := s.as(t, "sysadmin").get("/people")
	if strings.Contains(body, "<script>alert(1)") || !strings.Contains(body, "&lt;script&gt;alert(1)") {
		t.Fatal("markup in data was not escaped")
	}
}

func TestLanguages(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	c := s.as(t, "sysadmin")
	_, body := c.get("/units")
	page := doc(t, body)
	if !strings.Contains(body, `<html lang="zh-CN">`) || within(page, "nav-units") != "单位" {
		t.Fatal("default language must be Simplified Chinese")
	}
	c.lang = "en"
	_, body = c.get("/units")
	page = doc(t, body)
	if !strings.Contains(body, `<html lang="en">`) || within(page, "nav-units") != "Units" {
		t.Fatal("the en cookie must give English")
	}
	_, body = c.get("/people?unit=NMG-BT-QS-KXL")
	if c := within(doc(t, body), "person-count"); c != "2 people" {
		t.Errorf("English count = %q", c)
	}
	// The sign-in page too, before anyone signs in.
	_, body = s.get(t, "/signin", "en")
	if !strings.Contains(body, "Sign in") {
		t.Error("the sign-in page must follow the language cookie")
	}

	// Switching: a POST sets the cookie and returns to the page.
	res, _ := s.anonymous(t).post("/lang", url.Values{"lang": {"en"}, "next": {"/people?unit=NMG-BT-QS-KXL"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/people?unit=NMG-BT-QS-KXL" {
		t.Fatalf("POST /lang = %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if c := res.Cookies(); len(c) != 1 || c[0].Value != "en" || !c[0].HttpOnly {
		t.Fatalf("cookies = %v", c)
	}
	// It never redirects off the site.
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"} {
		if res, _ := s.anonymous(t).post("/lang", url.Values{"lang": {"zh-CN"}, "next": {next}}); res.Header.Get("Location") != "/" {
			t.Errorf("next=%q redirected to %q", next, res.Header.Get("Location"))
		}
	}
}

func TestHomeCounts(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	_, body := s.as(t, "sysadmin").get("/")
	page := doc(t, body)
	if got := within(page, "stat-units"); got != "27" {
		t.Errorf("units card = %q", got)
	}
	if got := within(page, "stat-townships"); got != "9" {
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
	_, page := s.get(t, "/signin", "")
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
		s := newSetupAt(t, true, day.Start().Add(10*time.Hour))
		_, body := s.as(t, "sysadmin").get("/units")
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
		"NMG-BT-QS-RD":  {"青山区委组织部", "包头市规定（第3版，2024-04-01起施行）"},
		"NMG-BT-JY-ZZB": {"包头市委组织部", "包头市规定（第3版，2024-04-01起施行）"}, // an org dept never signs off its own borrowing
		"SD-WH-FY":      {"威海市委组织部", "威海市“三个不得”（第1版，2024-01-01起施行）"},
		"XJ-KS-JW":      {"喀什市委组织部", "喀什市借调管理办法（第2版，2024-02-03起施行）"},
	})
	check(secondment.D(2024, time.March, 15), map[string][2]string{
		"NMG-BT-QS-RD": {"青山区委组织部", "包头市规定（第2版，2024-02-03起施行）"},
		"SD-WH-FY":     {"威海市委组织部", "威海市“三个不得”（第1版，2024-01-01起施行）"},
	})
	// Before Weihai's first version there is no policy in force to show.
	check(secondment.D(2023, time.June, 1), map[string][2]string{
		"SD-WH-FY": {"威海市委组织部", ""},
	})
}
