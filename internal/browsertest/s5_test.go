package browsertest_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"secondment/internal/auth"
	"secondment/internal/browsertest"
	"secondment/internal/dbtest"
	"secondment/internal/demo"
	"secondment/internal/i18n"
	"secondment/internal/lettertest"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
	"secondment/internal/server"
)

// TestS5KashgarChainInTheBrowser plays scenario S5 as three people in three
// browsers, clicking through the real pages: 喀什市纪委监委's clerk
// nominates 李传群 of 阿克喀什乡 and fills the form (the live check names the
// township exception), 阿克喀什乡 gives its written opinion with the scanned
// letter, 冯剑 of 喀什市委组织部 signs off, the clerk records the start and
// prints the approval form.
func TestS5KashgarChainInTheBrowser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base, store := kashgarServer(t)
	var li int64
	if err := store.Pool.QueryRow(ctx, `SELECT id FROM person WHERE name = '李传群'`).Scan(&li); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// SECONDMENT_SCREENSHOTS=DIR keeps a picture of each page for people to
	// look at.
	shot := func(b *browsertest.Browser, name string) {
		if d := os.Getenv("SECONDMENT_SCREENSHOTS"); d != "" {
			b.Screenshot(filepath.Join(d, name+".png"))
		}
	}

	// The borrowing unit's clerk fills the form.
	clerk := browsertest.New(t)
	clerk.SignIn(base, "xj-ks-jw.borrower", demoPassword)
	clerk.Go(base + "/secondments")
	clerk.ClickAndWait(`[data-testid=new-secondment]`)
	clerk.Select(`select[name=person]`, strconv.FormatInt(li, 10))
	clerk.Select(`select[name=purpose]`, string(secondment.PurposeSpecialProject))
	clerk.Fill(`[data-testid=field-task]`, "市纪委监委专项巡察工作")
	clerk.SetValue(`input[name=start]`, "2024-03-01")
	clerk.SetValue(`input[name=end]`, "2024-05-31")
	clerk.Fill(`[data-testid=field-justification]`, "专项巡察任务紧急，本单位力量不足。")
	clerk.Fill(`input[name=self_opinion]`, "本人同意借调。")
	// The live check (htmx) lists the township exception while she types.
	clerk.WaitVisible(`[data-testid=violation][data-rule=R4][data-severity=exception]`)
	if got := clerk.Text(`[data-testid=check-usage]`); !strings.Contains(got, "92 天") {
		t.Errorf("usage shown %q", got)
	}
	shot(clerk, "s5-1-form")
	clerk.ClickAndWait(`[data-testid=save-draft]`)
	clerk.ClickAndWait(`[data-testid=do-submit]`)
	if got := clerk.Text(`[data-testid=number]`); got != "借调〔2024〕0001" {
		t.Fatalf("number %q", got)
	}
	request, _, _ := strings.Cut(clerk.URL(), "?") // without the ?done= of the step just taken

	// The lending unit gives its written opinion with the signed letter.
	letter := filepath.Join(dir, "阿克喀什乡意见.pdf")
	if err := os.WriteFile(letter, lettertest.ScanPDF(), 0o644); err != nil {
		t.Fatal(err)
	}
	town := browsertest.New(t)
	town.SignIn(base, "xj-ks-akks.lender", demoPassword)
	town.Go(base + "/secondments?tab=todo")
	town.ClickAndWait(`[data-testid=secondment-link]`)
	shot(town, "s5-2-lender")
	town.Fill(`[data-testid=opinion-decision]`, "同意借调，工作已妥善安排")
	town.Upload(`[data-testid=letter-decision]`, letter)
	town.ClickAndWait(`[data-testid=do-consent]`)
	if got := town.Text(`h1 [data-testid=state]`); got != "待组织部审批" {
		t.Fatalf("after consent: %q", got)
	}

	// The org dept reads the justification and signs off.
	od := browsertest.New(t)
	od.SignIn(base, "xj-ks-zzb.orgdept", demoPassword)
	od.Go(base + "/secondments?tab=todo")
	od.ClickAndWait(`[data-testid=secondment-link]`)
	if got := od.Text(`[data-testid=exception-banner]`); !strings.Contains(got, "专项巡察任务紧急") {
		t.Fatalf("exception banner %q", got)
	}
	if !od.Exists(`[data-testid=attachment]`) {
		t.Fatal("the letter is not listed for the org dept")
	}
	shot(od, "s5-3-orgdept")
	od.Fill(`[data-testid=opinion-decision]`, "同意，按例外情形办理")
	od.ClickAndWait(`[data-testid=do-approve]`)
	if got := od.Text(`h1 [data-testid=state]`); got != "已批准，待到岗" {
		t.Fatalf("after sign-off: %q", got)
	}

	// Only now may the secondment start; then the form is printed.
	clerk.Go(request)
	clerk.ClickAndWait(`[data-testid=do-start]`)
	if got := clerk.Text(`h1 [data-testid=state]`); got != "借调中" {
		t.Fatalf("after start: %q", got)
	}
	shot(clerk, "s5-4-active")
	clerk.ClickAndWait(`[data-testid=print-link]`)
	shot(clerk, "s5-5-print")
	if got := clerk.Text(`[data-testid=print-opinion-orgdept]`); !strings.Contains(got, "冯剑") || !strings.Contains(got, "2024年3月1日") {
		t.Fatalf("printed sign-off %q", got)
	}
	if got := clerk.Text(`[data-testid=print-opinion-lender]`); !strings.Contains(got, "同意借调，工作已妥善安排") {
		t.Fatalf("printed opinion %q", got)
	}
	form := filepath.Join(dir, "借调审批表.pdf")
	clerk.PrintPDF(form)
	b, err := os.ReadFile(form)
	if err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("printed form: %v", err)
	}
	// Issue #12: the official form, read back from the PDF as paper would
	// read: one A4 page with the person's particulars, the units, term,
	// task and reason, the salary arrangement, the secondee's own opinion,
	// each party's opinion in its own words with the signer and the date,
	// room for each head's signature and seal, and the exception's approval.
	text, pages := browsertest.PDFText(t, form)
	flat := strings.Join(strings.Fields(text), "")
	if pages != 1 {
		t.Errorf("the form takes %d pages, want one A4 page", pages)
	}
	for _, want := range []string{"借调审批表", "借调〔2024〕0001", "李传群", "性别", "男", "出生年月", "1992年6月", "政治面貌", "群众",
		"学历", "大学专科", "公务员（行政编制）", "科员一级科员", "阿克喀什乡", "喀什市纪委监委", "自2024年3月1日至2024年5月31日，共92天",
		"市纪委监委专项巡察工作", "专项巡察任务紧急，本单位力量不足。", "工资关系、福利待遇和工作关系保留在借出单位", "本人同意借调。",
		"同意借调，工作已妥善安排", "同意，按例外情形办理", "签署人：冯剑", "2024年3月1日", "经办人：",
		"例外事项：R4", "经冯剑批准"} {
		if !strings.Contains(flat, want) {
			t.Errorf("the printed form lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(flat, "负责人签字："); n != 3 || strings.Count(flat, "（盖章）") != 3 {
		t.Errorf("%d places for a head's signature and %d for a seal, want 3 each", n, strings.Count(flat, "（盖章）"))
	}
	for _, never := range []string{"提交审批", "重新提交", "[print.", "[secondment."} { // action names, untranslated IDs
		if strings.Contains(flat, never) {
			t.Errorf("the printed form shows %q", never)
		}
	}
	// In English, one page too.
	clerk.Go(request)
	clerk.Select(`#lang-select`, "en")
	clerk.ClickAndWait(`[data-testid=lang-form] button`)
	clerk.Go(request + "/print")
	en := filepath.Join(dir, "approval-form.pdf")
	clerk.PrintPDF(en)
	text, pages = browsertest.PDFText(t, en)
	if pages != 1 || !strings.Contains(text, "Head's signature") || !strings.Contains(text, "Li Chuanqun") && !strings.Contains(text, "李传群") {
		t.Errorf("the English form: %d pages\n%s", pages, text)
	}

	rec, err := store.SecondmentList(ctx, postgres.SecondmentFilter{PersonID: li})
	if err != nil || len(rec) != 1 || rec[0].State != secondment.StateActive || rec[0].ExceptionApprover != "冯剑" {
		t.Fatalf("stored: %+v %v", rec, err)
	}
}

// kashgarServer is the service on a fresh database with the demo's units,
// people and accounts, its clock at 1 March 2024, 09:00 in Shanghai (the
// day of S5); it returns the base URL and the store.
func kashgarServer(t *testing.T) (string, *postgres.Store) {
	t.Helper()
	ctx := context.Background()
	today := time.Date(2024, time.March, 1, 9, 0, 0, 0, secondment.Shanghai)
	cheap := auth.Hasher{Params: auth.CheapParams}
	store := dbtest.Store(t)
	if _, err := demo.Load(ctx, store); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.LoadUsers(ctx, store, cheap, demoPassword, today); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(server.Deps{Store: store, Catalog: i18n.MustLoad(),
		Clock: secondment.FixedClock{T: today}, Hasher: cheap, Version: "test"}).Handler())
	t.Cleanup(srv.Close)
	return srv.URL, store
}
