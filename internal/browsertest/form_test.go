package browsertest_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"secondment/internal/browsertest"
	"secondment/internal/lettertest"
)

// The new-request form as a clerk meets it (issue #14): the live check
// answers on person and dates alone, before the task is typed; searching
// for a person keeps what was typed; 保存并提交 saves and submits in one go
// and the request's page says so.
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
}
