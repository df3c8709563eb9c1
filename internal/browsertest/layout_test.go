package browsertest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"secondment/internal/browsertest"
	"secondment/internal/i18n"
)

// layoutRole is a demo account ("" for signed out) and the main pages it
// opens.
type layoutRole struct {
	login string
	pages []string
}

// allRequests is the list of all the viewer's requests; the first one's
// page is checked after it.
const allRequests = "/secondments?tab=all"

// chainPages are the pages every role of the approval chain opens: the
// inbox (to do), all requests and the first one's page, the ledgers, the
// units, the people and the account. The policies and the notifications
// are checked for two of them (the same templates for the others).
var chainPages = []string{"/", "/secondments", allRequests, "/ledger", "/irregular", "/people", "/units", "/account"}

// with is chainPages and more.
func with(more ...string) []string {
	return append(chainPages[:len(chainPages):len(chainPages)], more...)
}

var layoutRoles = []layoutRole{
	{login: "", pages: []string{"/signin"}}, // signed out
	{login: "nmg-bt-qs-rd.borrower", pages: with("/secondments/new", "/policies", "/notifications")},
	{login: "nmg-bt-qs-kxl.lender", pages: chainPages},
	{login: "nmg-bt-qs-zzb.orgdept", pages: with("/campaigns")},
	{login: "xj-ks-zzb.registrar", pages: with("/campaigns", "/policies", "/notifications")},
	{login: "sysadmin", pages: []string{"/", "/units", "/people", "/admin/users", "/admin/units", "/admin/jobs",
		"/admin/calendar", "/account"}},
	{login: "secadmin", pages: []string{"/", "/admin/security", "/account"}},
	{login: "auditor", pages: []string{"/", "/audit", "/audit/chain", "/account"}},
}

// rawMessageID is a message ID the catalog could not find, which it
// renders as [the.id].
var rawMessageID = regexp.MustCompile(`\[[a-z_]+(\.[a-z_0-9]+)+\]`)

// TestLayoutAndAccessibility opens each role's main pages in both
// languages on a desktop window (1280×800) and a phone (375×740), over the
// demo and its stories, and checks on each that the page does not scroll
// sideways, shows no raw message ID, and that axe-core finds no serious
// or critical violation. On the phone it also checks the header's height
// and that its links and buttons are big enough to tap.
func TestLayoutAndAccessibility(t *testing.T) {
	t.Parallel()
	base := newStoryServer(t)
	for _, vp := range []struct {
		name          string
		width, height int64
		phone         bool
	}{{"desktop", 1280, 800, false}, {"phone", 375, 740, true}} {
		t.Run(vp.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			pages := 0
			for _, role := range layoutRoles {
				who := role.login
				if who == "" {
					who = "signed out"
				}
				for _, lang := range i18n.Supported {
					// A tab per role and language, with its own cookies
					// and time: a dozen pages, and axe on each, may take
					// a few minutes on a busy machine.
					b := browsertest.NewWithTimeout(t, 5*time.Minute)
					b.StepTimeout = 30 * time.Second // axe on a long page, on a busy machine
					b.Viewport(vp.width, vp.height)
					if role.login != "" {
						b.SignIn(base, role.login, demoPassword)
					}
					setLanguage(t, b, base, lang)
					paths := role.pages
					for i := 0; i < len(paths); i++ {
						p := paths[i]
						b.Go(base + p)
						checkPage(t, b, fmt.Sprintf("%s %s %s %s", vp.name, lang, who, p), vp.phone)
						pages++
						// SECONDMENT_SCREENSHOTS=DIR keeps a picture of each
						// page's first screen.
						if dir := os.Getenv("SECONDMENT_SCREENSHOTS"); dir != "" {
							name := strings.NewReplacer("/", "_", "?", "_", "=", "_", " ", "_").Replace(strings.Join([]string{vp.name, lang, who, p}, "-"))
							firstScreen(t, b, filepath.Join(dir, name+".png"))
						}
						// The list of all requests leads to the first one's
						// page, checked next.
						if p == allRequests {
							if r := firstRequest(t, b); r != "" {
								paths = append(paths[:i+1:i+1], append([]string{r}, paths[i+1:]...)...)
							} else {
								t.Errorf("%s sees no request: no request page is checked", who)
							}
						}
					}
				}
			}
			t.Logf("%s: %d pages checked in %s", vp.name, pages, time.Since(start).Round(time.Millisecond))
		})
	}
}

// setLanguage switches the language with the header's form, as a user
// would.
func setLanguage(t *testing.T, b *browsertest.Browser, base, lang string) {
	t.Helper()
	b.Go(base + "/") // the sign-in page when signed out
	b.Select(`[data-testid=lang-form] select[name=lang]`, lang)
	b.ClickAndWait(`[data-testid=lang-form] button[type=submit]`)
	if got, err := chromedp.Run(b.Context(), chromedp.Evaluate[string](`document.documentElement.lang`)); err != nil || got != lang {
		t.Fatalf("after switching to %s the page's language is %q (%v)", lang, got, err)
	}
}

// firstRequest is the path of the first request in the list shown, or ""
// when there is none.
func firstRequest(t *testing.T, b *browsertest.Browser) string {
	t.Helper()
	p, err := chromedp.Run(b.Context(), chromedp.Evaluate[string](
		`(document.querySelector("[data-testid=secondment-link]") || {pathname: ""}).pathname`))
	if err != nil {
		t.Fatalf("read the first request's link: %v", err)
	}
	return p
}

// repeatedRows are the rows of a list after its 20th: the same template
// as those before, with other data. Axe leaves them out, which halves the
// time it takes on a long ledger.
const repeatedRows = "tbody > tr:nth-child(n+21)"

// checkPage checks the page shown; where names it in the messages.
func checkPage(t *testing.T, b *browsertest.Browser, where string, phone bool) {
	t.Helper()
	if n := b.Overflow(); n > 0 {
		wide, err := chromedp.Run(b.Context(), chromedp.Evaluate[[]string](tooWide))
		if err != nil {
			t.Fatalf("%s: find what is too wide: %v", where, err)
		}
		t.Errorf("%s: the page is %d px wider than the window; too wide:\n\t%s", where, n, strings.Join(wide, "\n\t"))
	}
	text, err := chromedp.Run(b.Context(), chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatalf("%s: read the text: %v", where, err)
	}
	if ids := rawMessageID.FindAllString(text, -1); len(ids) > 0 {
		t.Errorf("%s: raw message IDs on the page: %v", where, ids)
	}
	for _, v := range b.Axe(repeatedRows) {
		t.Errorf("%s: axe: %s", where, v)
	}
	if phone {
		checkPhone(t, b, where)
	}
}

// tooWide names the first elements that reach past the window's right
// edge while none of their children does, outside any box that scrolls
// or clips them: what to fix.
const tooWide = `(() => {
	const w = document.documentElement.clientWidth, out = [];
	const past = el => el.getBoundingClientRect().right > w + 0.5;
	const boxed = el => {
		for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
			if (getComputedStyle(p).overflowX !== "visible") return true;
		}
		return false;
	};
	for (const el of document.body.querySelectorAll("*")) {
		if (out.length === 5) break;
		if (past(el) && !boxed(el) && ![...el.children].some(c => past(c) && !boxed(c))) {
			out.push(el.tagName.toLowerCase() + (el.className && typeof el.className === "string" ? "." + el.className.trim().replace(/\s+/g, ".") : "") +
				(el.dataset.testid ? "[data-testid=" + el.dataset.testid + "]" : "") + " right=" + Math.round(el.getBoundingClientRect().right) +
				" " + JSON.stringify(el.textContent.trim().slice(0, 30)));
		}
	}
	return out;
})()`

// phoneProblems lists, on a phone, a header taller than 64 px, a list
// that scrolls sideways in its box (the state out of sight), and the
// header's and the main part's links styled as buttons, buttons and
// fields lower than 44 px (a fingertip).
const phoneProblems = `(() => {
	const out = [];
	const header = document.querySelector("header.top");
	if (header && header.getBoundingClientRect().height > 64.5) {
		out.push("the header is " + Math.round(header.getBoundingClientRect().height) + " px high");
	}
	for (const w of document.querySelectorAll(".table-wrap")) {
		if (w.scrollWidth > w.clientWidth + 1) {
			const t = w.querySelector("table");
			out.push("the list " + ((t && t.dataset.testid) || "") + " scrolls sideways in its box (" + w.scrollWidth + " px in " + w.clientWidth + ")");
		}
	}
	const targets = document.querySelectorAll("header.top a, header.top button, header.top select, " +
		"main button, main a.button, main select, main input:not([type=checkbox]):not([type=radio]):not([type=hidden]), " +
		".tabs a");
	for (const el of targets) {
		const r = el.getBoundingClientRect();
		if (r.width === 0 && r.height === 0) continue; // not shown
		if (r.height < 43.5) {
			out.push((el.dataset.testid || el.tagName.toLowerCase() + (el.name ? "[name=" + el.name + "]" : "")) +
				" (" + el.textContent.trim().slice(0, 20) + ") is " + Math.round(r.height) + " px high");
		}
	}
	return out;
})()`

func checkPhone(t *testing.T, b *browsertest.Browser, where string) {
	t.Helper()
	problems, err := chromedp.Run(b.Context(), chromedp.Evaluate[[]string](phoneProblems))
	if err != nil {
		t.Fatalf("%s: measure the tap targets: %v", where, err)
	}
	if len(problems) > 0 {
		t.Errorf("%s: on a phone:\n\t%s", where, strings.Join(problems, "\n\t"))
	}
}

// firstScreen saves a PNG of what the window shows at path.
func firstScreen(t *testing.T, b *browsertest.Browser, path string) {
	t.Helper()
	png, err := chromedp.Run(b.Context(), chromedp.CaptureScreenshot())
	if err == nil {
		err = os.MkdirAll(filepath.Dir(path), 0o755)
	}
	if err == nil {
		err = os.WriteFile(path, png, 0o644)
	}
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
}

// untiedErrors lists the field problems on the page that no input points
// to with aria-describedby, and the inputs marked aria-invalid whose
// aria-describedby is missing or names no element; and says so when the
// page shows no problem at all.
const untiedErrors = `(() => {
	const out = [];
	const errors = [...document.querySelectorAll(".error[data-testid^=error-]")];
	if (errors.length === 0) out.push("no field problem is shown");
	const described = new Set([...document.querySelectorAll("[aria-describedby]")]
		.flatMap(el => el.getAttribute("aria-describedby").split(/\s+/)));
	for (const e of errors) {
		if (!e.id) out.push(e.dataset.testid + " has no id");
		else if (!described.has(e.id)) out.push(e.dataset.testid + " (#" + e.id + ") is not an input's aria-describedby");
	}
	for (const el of document.querySelectorAll("[aria-invalid=true]")) {
		const ids = (el.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
		if (ids.length === 0 || ids.some(id => !document.getElementById(id))) {
			out.push((el.name || el.id) + " is aria-invalid and describedby " + JSON.stringify(ids));
		}
	}
	return out;
})()`

// A refused form ties each field's problem to its input (aria-invalid and
// aria-describedby naming the problem), so a screen reader reads the
// problem with the field; axe finds nothing serious on the refused form.
// The browser's own checks (required) are turned off to let the server
// refuse it.
func TestFieldErrorsAreTiedToTheirInputs(t *testing.T) {
	t.Parallel()
	base := newServer(t)
	for _, c := range []struct{ login, page, form string }{
		{"nmg-bt-qs-rd.borrower", "/secondments/new", "[data-testid=secondment-form]"},
		{"sysadmin", "/admin/units", "[data-testid=unit-create-form]"},
		{"sysadmin", "/admin/users", "[data-testid=user-create-form]"},
	} {
		b := browsertest.New(t)
		b.SignIn(base, c.login, demoPassword)
		b.Go(base + c.page)
		// The form as sent empty, shown when folded away.
		if _, err := chromedp.Run(b.Context(), chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			const f = document.querySelector(%q);
			f.noValidate = true;
			if (f.closest("details")) f.closest("details").open = true;
		})()`, c.form))); err != nil {
			t.Fatalf("%s: %v", c.page, err)
		}
		b.ClickAndWait(c.form + ` button.primary[type=submit]`)
		problems, err := chromedp.Run(b.Context(), chromedp.Evaluate[[]string](untiedErrors))
		if err != nil {
			t.Fatalf("%s: %v", c.page, err)
		}
		for _, p := range problems {
			t.Errorf("%s refused: %s", c.page, p)
		}
		for _, v := range b.Axe() {
			t.Errorf("%s refused: axe: %s", c.page, v)
		}
	}
}

// The helper finds what it should: an input without a label (critical)
// and grey text on white (serious), and not in what it is told to leave
// out.
func TestAxeFindsViolations(t *testing.T) {
	t.Parallel()
	b := browsertest.New(t)
	b.Go(`data:text/html;charset=utf-8,<!DOCTYPE html><html lang="en"><title>t</title>` +
		`<main><input name="q"><p style="color:%23ccc">faint</p><div id="out"><input name="r"></div></main>`)
	got := map[string]int{}
	for _, v := range b.Axe() {
		got[v.ID] = len(v.Nodes)
	}
	if got["label"] != 2 || got["color-contrast"] != 1 {
		t.Errorf("axe found %v, want label on 2 inputs and color-contrast on 1 paragraph", got)
	}
	for _, v := range b.Axe("#out") {
		if v.ID == "label" && len(v.Nodes) != 1 {
			t.Errorf("axe left nothing out: label on %d inputs, want 1", len(v.Nodes))
		}
	}
}
