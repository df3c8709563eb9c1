package browsertest_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"secondment/internal/auth"
	"secondment/internal/browsertest"
	"secondment/internal/dbtest"
	"secondment/internal/demo"
	"secondment/internal/i18n"
	"secondment/internal/secondment"
	"secondment/internal/server"
)

func TestMain(m *testing.M) { os.Exit(browsertest.MainWith(m, dbtest.Main)) }

// demoPassword is every demo account's password in these tests.
const demoPassword = "Demo-Password-2026"

// newServer is the service on a fresh database with the demo data and
// accounts, as in internal/server's tests; it returns the base URL.
func newServer(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2024, time.May, 6, 9, 0, 0, 0, secondment.Shanghai)
	cheap := auth.Hasher{Params: auth.CheapParams}
	store := dbtest.Store(t)
	if _, err := demo.Load(ctx, store); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.LoadUsers(ctx, store, cheap, demoPassword, now); err != nil {
		t.Fatal(err)
	}
	h := server.New(server.Deps{Store: store, Catalog: i18n.MustLoad(),
		Clock: secondment.FixedClock{T: now}, Hasher: cheap, Version: "test"}).Handler()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// path is the path of the page the browser shows.
func path(t *testing.T, b *browsertest.Browser) string {
	t.Helper()
	u, err := url.Parse(b.URL())
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

func TestSignInUnitsLanguageSignOut(t *testing.T) {
	t.Parallel()
	base := newServer(t)
	b := browsertest.New(t)

	b.SignIn(base, "sysadmin", demoPassword)
	if v := b.Text(`[data-testid=viewer]`); v == "" {
		t.Fatal("the header shows no viewer after sign-in")
	}

	b.Go(base + "/units")
	const kxl = `tr[data-testid=unit-row][data-code=NMG-BT-QS-KXL]`
	if got := b.Text(kxl + ` [data-testid=unit-name]`); got != "科学路街道办事处" {
		t.Errorf("unit NMG-BT-QS-KXL is named %q, want 科学路街道办事处", got)
	}
	if got := b.Text(`h1`); got != "单位" {
		t.Errorf("heading in the default language = %q, want 单位", got)
	}

	b.Select(`[data-testid=lang-form] select[name=lang]`, i18n.English)
	b.ClickAndWait(`[data-testid=lang-form] button[type=submit]`)
	if p := path(t, b); p != "/units" {
		t.Errorf("after switching the language the browser is on %s, want /units", p)
	}
	if got := b.Text(`h1`); got != "Units" {
		t.Errorf("heading in English = %q, want Units", got)
	}
	if got := b.Text(`[data-testid=nav-units]`); got != "Units" {
		t.Errorf("navigation in English = %q, want Units", got)
	}
	if !b.Exists(kxl) {
		t.Error("the unit list in English lacks NMG-BT-QS-KXL")
	}

	b.ClickAndWait(`[data-testid=signout]`)
	if p := path(t, b); p != "/signin" {
		t.Errorf("sign-out leads to %s, want /signin", p)
	}
	if b.Exists(`[data-testid=viewer]`) {
		t.Error("the header still shows a viewer after sign-out")
	}
	b.Go(base + "/units")
	if p := path(t, b); p != "/signin" {
		t.Errorf("/units after sign-out shows %s, want the sign-in page", p)
	}
	b.WaitVisible(`[data-testid=signin-form]`)
	if b.Exists(kxl) {
		t.Error("the unit list is shown after sign-out")
	}
}

func TestSignInWrongPassword(t *testing.T) {
	t.Parallel()
	base := newServer(t)
	b := browsertest.New(t)

	b.Go(base + "/signin")
	b.Fill(`input[name=login]`, "sysadmin")
	b.Fill(`input[name=password]`, "not-the-password")
	if status := b.ClickAndWait(`[data-testid=signin-submit]`); status != http.StatusUnauthorized {
		t.Errorf("a wrong password answers %d, want %d", status, http.StatusUnauthorized)
	}
	b.WaitVisible(`[data-testid=form-summary]`)
	if b.Text(`[data-testid=form-summary]`) == "" {
		t.Error("the form summary is empty")
	}
	if p := path(t, b); p != "/signin" {
		t.Errorf("a wrong password leads to %s, want /signin", p)
	}
	if b.Exists(`[data-testid=viewer]`) {
		t.Error("a wrong password signed in")
	}
}

// TestSeparateContexts checks that each test's browser context has its own
// cookies: a session in one tab is not seen by another.
func TestSeparateContexts(t *testing.T) {
	t.Parallel()
	base := newServer(t)
	signedIn := browsertest.New(t)
	signedIn.SignIn(base, "sysadmin", demoPassword)

	other := browsertest.New(t)
	other.Go(base + "/units")
	if p := path(t, other); p != "/signin" {
		t.Errorf("a second browser context reaches %s without signing in, want /signin", p)
	}
}

func TestScreenshotAndPDF(t *testing.T) {
	t.Parallel()
	base := newServer(t)
	b := browsertest.New(t)
	b.Go(base + "/signin")

	dir := t.TempDir()
	png, pdf := filepath.Join(dir, "signin.png"), filepath.Join(dir, "signin.pdf")
	b.Screenshot(png)
	b.PrintPDF(pdf)
	for _, f := range []struct{ path, magic string }{{png, "\x89PNG\r\n"}, {pdf, "%PDF-"}} {
		data, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, []byte(f.magic)) {
			t.Errorf("%s does not start with %q", filepath.Base(f.path), f.magic)
		}
	}
}
