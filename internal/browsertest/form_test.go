package browsertest_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"secondment/internal/browsertest"
	"secondment/internal/lettertest"
)

// The new-request form as a clerk meets it (issue #14): the live check
// answers on person and dates alone, before the task is typed; searching
// for a person keeps what was typed; 保存并提交 saves and submits in one go,
// with the borrowing unit's letter, and the request's page says so. The
// lending unit then decides in one panel at 1280 and 375 px: an empty
// opinion is refused beside the box, then the typed opinion goes through.
func TestNewRequestFormInTheBrowser(t *testing.T) {
	t.Parallel()
	srv, store := kashgarServer(t)
	var li int64
	if err := store.Pool.QueryRow(t.Context(), `SELECT id FROM person WHERE name = '李传群'`).Scan(&li); err != nil {
		t.Fatal(err)
	}

	b := browsertest.New(t)
	b.SignIn(srv, "xj-ks-jw.borrower", demoPassword)
	b.Go(srv + "/secondments/new")
	// Typed before a search, kept after it.
	b.Fill(`[data-testid=field-justification]`, "专项巡察任务紧急")
	b.Fill(`[data-testid=person-q]`, "李传群")
	b.ClickAndWait(`[data-testid=person-search-button]`)
	if got := b.Value(`[data-testid=field-justification]`); got != "专项巡察任务紧急" {
		t.Fatalf("the search lost the justification: %q", got)
	}
	// Person and dates alone: the check answers, naming the org dept.
	b.Select(`select[name=person]`, strconv.FormatInt(li, 10))
	b.SetValue(`input[name=start]`, "2024-03-11")
	b.SetValue(`input[name=end]`, "2024-05-31")
	b.WaitVisible(`[data-testid=check-orgdept]`)
	if got := b.Text(`[data-testid=check-orgdept]`); !strings.Contains(got, "喀什市委组织部") {
		t.Errorf("the check names %q", got)
	}
	b.Fill(`[data-testid=field-task]`, "市纪委监委专项巡察工作")
	// The borrowing unit's letter goes with the form (multipart).
	letter := filepath.Join(t.TempDir(), "借调函.pdf")
	if err := os.WriteFile(letter, lettertest.PDF(), 0o644); err != nil {
		t.Fatal(err)
	}
	b.Upload(`[data-testid=field-letter]`, letter)
	b.ClickAndWait(`[data-testid=save-submit]`)
	if got := b.Text(`[data-testid=notice]`); got != "已办理：提交。" {
		t.Errorf("after 保存并提交: %q", got)
	}
	if got := b.Text(`h1 [data-testid=state]`); got != "待借出单位出具意见" {
		t.Errorf("state after 保存并提交: %q", got)
	}
	if got := b.Text(`[data-testid=attachment]`); got != "借调函.pdf" {
		t.Errorf("the letter sent with the form: %q", got)
	}
	request, _, _ := strings.Cut(b.URL(), "?")

	// The lending unit decides in one panel, on a desktop and on a phone:
	// an empty opinion comes back beside the one opinion box, tied to it,
	// and the page stays within the window; then the opinion is typed
	// once and the consent goes through.
	town := browsertest.New(t)
	town.SignIn(srv, "xj-ks-akks.lender", demoPassword)
	for _, vp := range []struct {
		name          string
		width, height int64
	}{{"desktop", 1280, 800}, {"phone", 375, 740}} {
		town.Viewport(vp.width, vp.height)
		town.Go(request)
		if got := town.Text(`[data-testid=decision] label[for=op-decision]`); got != "书面意见" {
			t.Fatalf("%s: no decision panel: %q", vp.name, got)
		}
		town.ClickAndWait(`[data-testid=do-consent]`)
		if got := town.Text(`[data-testid=decision] [data-testid=error-opinion]`); got != "请填写意见。" {
			t.Errorf("%s: the empty opinion's error beside the box: %q", vp.name, got)
		}
		described, err := chromedp.Run(town.Context(), chromedp.Evaluate[string](
			`document.querySelector("[data-testid=opinion-decision]").getAttribute("aria-describedby")`))
		if err != nil || !strings.Contains(described, "e-opinion") {
			t.Errorf("%s: the error is not tied to the box: %q %v", vp.name, described, err)
		}
		checkPage(t, town, vp.name+" refused decision", vp.width < 500)
	}
	town.Fill(`[data-testid=opinion-decision]`, "同意借调")
	town.ClickAndWait(`[data-testid=do-consent]`)
	if got := town.Text(`[data-testid=notice]`); got != "已办理：同意借出。" {
		t.Errorf("after the consent: %q", got)
	}
	if got := town.Text(`[data-testid=fact-lender] blockquote`); got != "同意借调" {
		t.Errorf("the lender's opinion at the top: %q", got)
	}
}
