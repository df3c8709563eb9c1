package browsertest_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"secondment/internal/auth"
	"secondment/internal/browsertest"
	"secondment/internal/dbtest"
	"secondment/internal/demo"
	"secondment/internal/i18n"
	"secondment/internal/lettertest"
	"secondment/internal/secondment"
	"secondment/internal/server"
)

// newStoryServer is the service over the demo with its stories, dated
// from today as a first visitor finds them.
func newStoryServer(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	cheap := auth.Hasher{Params: auth.CheapParams}
	store := dbtest.Store(t)
	if _, err := demo.Load(ctx, store); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.LoadUsers(ctx, store, cheap, demoPassword, now); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.LoadStories(ctx, store, now); err != nil {
		t.Fatal(err)
	}
	h := server.New(server.Deps{Store: store, Catalog: i18n.MustLoad(),
		Clock: secondment.FixedClock{T: now}, Hasher: cheap, Version: "test"}).Handler()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// S4 as 青山区委组织部 works it: from its home page's figure of
// rectifications past their deadline to the list behind it, to the entry
// (escalated to the city), where it sets a new deadline, records the
// return with a scanned notice, and closes the entry; the figure then
// reads 0.
func TestRectificationFromHomeFigure(t *testing.T) {
	t.Parallel()
	base := newStoryServer(t)
	b := browsertest.New(t)
	scan := filepath.Join(t.TempDir(), "返回通知.png")
	if err := os.WriteFile(scan, lettertest.PNG(400, 566), 0o600); err != nil {
		t.Fatal(err)
	}

	b.SignIn(base, "nmg-bt-qs-zzb.orgdept", demoPassword)
	b.Go(base + "/")
	figure := `[data-testid="figure-home.rect.past_deadline"]`
	if got := b.Text(figure); !strings.HasPrefix(strings.TrimSpace(got), "1") {
		t.Fatalf("the past-deadline figure: %q", got)
	}
	b.ClickAndWait(figure)
	if p := path(t, b); p != "/irregular" || !strings.Contains(b.URL(), "past_deadline=true") {
		t.Fatalf("the figure opened %s", b.URL())
	}
	if got := b.Text(`[data-testid=rect-total]`); !strings.Contains(got, "共 1 条") {
		t.Fatalf("the list behind the figure: %q", got)
	}
	b.ClickAndWait(`[data-testid=rect-link]`)
	if !b.Exists(`[data-testid=rect-past-deadline]`) || !b.Exists(`[data-testid=rect-escalated]`) {
		t.Fatal("the entry does not show its missed deadline and escalation")
	}

	// A new deadline, a fortnight on: the escalation is lifted.
	b.SetValue(`[data-testid=field-deadline]`, time.Now().AddDate(0, 0, 14).In(secondment.Shanghai).Format(time.DateOnly))
	b.ClickAndWait(`[data-testid=rect-plan-save]`)
	if got := b.Text(`[data-testid=rect-done]`); got != "整改方案已保存。" {
		t.Fatalf("after the plan: %q", got)
	}
	if b.Exists(`[data-testid=rect-escalated]`) || b.Exists(`[data-testid=rect-past-deadline]`) {
		t.Error("a new deadline left the entry escalated")
	}

	// The person is back: status, evidence, close.
	b.Select(`[data-testid=field-status]`, "returned")
	b.ClickAndWait(`[data-testid=rect-report-save]`)
	if got := b.Text(`[data-testid=rect-status]`); got != "已清退" {
		t.Errorf("status after the report: %q", got)
	}
	b.Upload(`[data-testid=field-file]`, scan)
	b.ClickAndWait(`[data-testid=rect-evidence-add]`)
	if got := b.Text(`[data-testid=rect-evidence-link]`); got != "返回通知.png" {
		t.Errorf("evidence: %q", got)
	}
	b.Fill(`[data-testid=field-opinion]`, "经核实已返回原单位，同意销号")
	b.ClickAndWait(`[data-testid=rect-close]`)
	if got := b.Text(`[data-testid=rect-status]`); got != "已销号" {
		t.Errorf("status after closing: %q", got)
	}
	if got := b.Text(`[data-testid=rect-closed]`); !strings.Contains(got, "同意销号") {
		t.Errorf("the closing: %q", got)
	}
	if b.Exists(`[data-testid=rect-plan-form]`) {
		t.Error("a closed entry still offers its plan")
	}

	b.Go(base + "/")
	if got := b.Text(figure); !strings.HasPrefix(strings.TrimSpace(got), "0") {
		t.Errorf("the past-deadline figure after closing: %q", got)
	}
}

// The dashboards on a phone (375 CSS pixels wide): the org dept's home
// with its figures, campaign bar and units' bars, the campaign's page and
// the irregular ledger fit the screen; wide tables scroll in their own
// box. A screenshot of each is kept with the test's artifacts.
func TestDashboardsOnAPhone(t *testing.T) {
	t.Parallel()
	base := newStoryServer(t)
	b := browsertest.New(t)
	b.SignIn(base, "xj-ks-zzb.orgdept", demoPassword)
	b.Viewport(375, 812)
	dir := browsertest.ArtifactDir(t)
	for name, page := range map[string]string{"home": "/", "campaigns": "/campaigns", "irregular": "/irregular"} {
		b.Go(base + page)
		if n := b.Overflow(); n > 0 {
			t.Errorf("%s is %d px wider than a 375 px screen", page, n)
		}
		if name == "home" && !b.Exists(`[data-testid=home-campaign] svg.campaign-bar`) {
			t.Error("the home page lacks the campaign's bar")
		}
		b.Screenshot(filepath.Join(dir, "phone-"+name+".png"))
	}
}
