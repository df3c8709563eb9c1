package browsertest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"secondment/internal/auth"
	"secondment/internal/browsertest"
	"secondment/internal/dbtest"
	"secondment/internal/demo"
	"secondment/internal/i18n"
	"secondment/internal/secondment"
	"secondment/internal/server"
	"secondment/internal/sso"
	"secondment/internal/ssotest"
)

// In a real browser, single sign-on goes to the provider and back: the
// provider is another site (localhost, the service 127.0.0.1), so this
// checks that the SameSite=Lax session cookie comes back with the
// provider's redirect and that the page's CSP lets the button leave.
func TestSingleSignOn(t *testing.T) {
	t.Parallel()
	is := ssotest.New(t, "secondment-browser", "client-secret")
	is.URL = strings.Replace(is.URL, "127.0.0.1", "localhost", 1)
	const login = "nmg-bt-qs-rd.borrower"
	is.SignInAs(map[string]any{"sub": "b-1", "preferred_username": login})

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
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	h = server.New(server.Deps{Store: store, Catalog: i18n.MustLoad(), Clock: secondment.FixedClock{T: now}, Hasher: cheap,
		Version: "test", NoPasswordSignIn: true,
		SSO: sso.New(sso.Config{Issuer: is.URL, ClientID: is.ClientID, ClientSecret: is.ClientSecret,
			RedirectURL: srv.URL + "/signin/oidc/callback", Claim: "preferred_username"})}).Handler()

	b := browsertest.New(t)
	b.Go(srv.URL + "/account")
	if p := path(t, b); p != "/signin" || b.Exists(`[data-testid=signin-form]`) {
		t.Fatalf("on %s; the password form shown: %t", p, b.Exists(`[data-testid=signin-form]`))
	}
	for _, v := range b.Axe() {
		t.Errorf("sign-in page: %s", v)
	}
	if status := b.ClickAndWait(`[data-testid=signin-sso]`); status != http.StatusOK {
		t.Fatalf("after the provider: %d on %s", status, b.URL())
	}
	if p := path(t, b); p != "/account" {
		t.Fatalf("single sign-on ends on %s, want /account", p)
	}
	if got := b.Text(`[data-testid=account-login]`); got != login {
		t.Fatalf("signed in as %q, want %s", got, login)
	}
}
