package config_test

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"secondment/internal/config"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestDefaultsAndPrecedence(t *testing.T) {
	c, err := config.NewSet("serve", config.Options{HTTP: true}, env(), io.Discard).Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != config.DefaultAddr || c.DataDir != config.DefaultDataDir || !c.Migrate || c.Demo || !c.Jobs ||
		c.SweepInterval != 5*time.Minute || c.EscalateAfter != 5 || !slices.Equal(c.RemindDays, []int{15, 3}) ||
		c.Mode != config.ModeDev || c.SecureCookies {
		t.Fatalf("defaults %+v", c)
	}
	// The environment over the defaults, flags over the environment;
	// SECONDMENT_DATABASE_URL over DATABASE_URL.
	c, err = config.NewSet("serve", config.Options{HTTP: true},
		env("DATABASE_URL", "postgres://a@h/d", "SECONDMENT_DATABASE_URL", "postgres://b@h/d", "SECONDMENT_REMIND_DAYS", "30",
			"SECONDMENT_MODE", "production", "SECONDMENT_ADDR", ":9000"), io.Discard).
		Parse([]string{"--remind-days", "7, 1", "--addr", ":9100"})
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "postgres://b@h/d" || !slices.Equal(c.RemindDays, []int{7, 1}) || c.Addr != ":9100" || !c.SecureCookies {
		t.Fatalf("precedence %+v", c)
	}
}

// The webhook must be an http(s) URL; the environment sets it too.
func TestNotifyWebhook(t *testing.T) {
	parse := func(e func(string) string, args ...string) (config.Config, error) {
		return config.NewSet("serve", config.Options{HTTP: true}, e, io.Discard).Parse(args)
	}
	if c, err := parse(env()); err != nil || c.NotifyWebhook != "" {
		t.Fatalf("default: %q %v", c.NotifyWebhook, err)
	}
	if c, err := parse(env("SECONDMENT_NOTIFY_WEBHOOK", "https://gw.example/hook")); err != nil || c.NotifyWebhook != "https://gw.example/hook" {
		t.Fatalf("from the environment: %q %v", c.NotifyWebhook, err)
	}
	for _, bad := range []string{"gw.example/hook", "ftp://gw.example/", "http://"} {
		if _, err := parse(env(), "--notify-webhook", bad); err == nil || !strings.Contains(err.Error(), "--notify-webhook") {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
}

// Profiles are served only on loopback; hashing slots stay in range.
func TestDebugAddrAndHashSlots(t *testing.T) {
	parse := func(e func(string) string, args ...string) (config.Config, error) {
		return config.NewSet("serve", config.Options{HTTP: true}, e, io.Discard).Parse(args)
	}
	c, err := parse(env("SECONDMENT_DEBUG_ADDR", "127.0.0.1:6060", "SECONDMENT_HASH_SLOTS", "1"))
	if err != nil || c.DebugAddr != "127.0.0.1:6060" || c.HashSlots != 1 {
		t.Fatalf("from the environment: %+v %v", c, err)
	}
	for _, ok := range []string{"localhost:6060", "[::1]:6060"} {
		if _, err := parse(env(), "--debug-addr", ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"0.0.0.0:6060", ":6060", "10.0.0.5:6060", "example.com:6060", "6060"} {
		if _, err := parse(env(), "--debug-addr", bad); err == nil || !strings.Contains(err.Error(), "--debug-addr") {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
	for _, bad := range []string{"-1", "65"} {
		if _, err := parse(env(), "--hash-slots", bad); err == nil || !strings.Contains(err.Error(), "--hash-slots") {
			t.Errorf("--hash-slots %s accepted: %v", bad, err)
		}
	}
	if c, err := parse(env("SECONDMENT_DB_MAX_CONNS", "32")); err != nil || c.DBMaxConns != 32 {
		t.Fatalf("pool size from the environment: %d %v", c.DBMaxConns, err)
	}
	if _, err := parse(env(), "--db-max-conns", "-3"); err == nil || !strings.Contains(err.Error(), "--db-max-conns") {
		t.Errorf("a negative pool accepted: %v", err)
	}
}

// Single sign-on needs its client, secret and callback; switching
// passwords off needs single sign-on, or nobody could sign in.
func TestOIDCSettings(t *testing.T) {
	parse := func(e func(string) string, args ...string) (config.Config, error) {
		return config.NewSet("serve", config.Options{HTTP: true}, e, io.Discard).Parse(args)
	}
	c, err := parse(env())
	if err != nil || c.OIDC.Enabled() || !c.PasswordSignIn || c.OIDC.Claim != "preferred_username" {
		t.Fatalf("defaults: %+v %v", c.OIDC, err)
	}
	full := env("SECONDMENT_OIDC_ISSUER", "https://idp.example/realms/gov", "SECONDMENT_OIDC_CLIENT_ID", "secondment",
		"SECONDMENT_OIDC_CLIENT_SECRET", "s3cret", "SECONDMENT_OIDC_REDIRECT_URL", "https://jd.example/signin/oidc/callback",
		"SECONDMENT_OIDC_CLAIM", "employee_id", "SECONDMENT_OIDC_NAME", "统一身份认证", "SECONDMENT_PASSWORD_SIGNIN", "false")
	c, err = parse(full)
	if err != nil || !c.OIDC.Enabled() || c.PasswordSignIn || c.OIDC.ClientID != "secondment" || c.OIDC.ClientSecret != "s3cret" ||
		c.OIDC.Claim != "employee_id" || c.OIDC.Name != "统一身份认证" || c.OIDC.RedirectURL != "https://jd.example/signin/oidc/callback" {
		t.Fatalf("from the environment: %+v %v", c, err)
	}
	// --help shows every flag's default: never the secret's.
	var help strings.Builder
	set := config.NewSet("serve", config.Options{HTTP: true}, full, &help)
	set.PrintDefaults()
	if strings.Contains(help.String(), "s3cret") || !strings.Contains(help.String(), "oidc-client-secret") {
		t.Errorf("--help shows the client secret:\n%s", help.String())
	}
	for _, tc := range []struct {
		env  func(string) string
		args []string
		want string
	}{
		{env(), []string{"--password-signin=false"}, "--password-signin=false needs single sign-on"},
		{env(), []string{"--oidc-client-id", "x"}, "need --oidc-issuer"},
		{env(), []string{"--oidc-issuer", "https://idp.example"}, "needs --oidc-client-id"},
		{env(), []string{"--oidc-issuer", "https://idp.example"}, "needs SECONDMENT_OIDC_CLIENT_SECRET"},
		{env(), []string{"--oidc-issuer", "https://idp.example"}, "needs --oidc-redirect-url"},
		{full, []string{"--oidc-issuer", "idp.example"}, "--oidc-issuer"},
		{full, []string{"--oidc-redirect-url", "https://jd.example/callback"}, "/signin/oidc/callback"},
		{full, []string{"--oidc-claim", " "}, "--oidc-claim"},
		{full, []string{"--mode", "production", "--oidc-issuer", "http://idp.example"}, "want https:// in production"},
	} {
		if _, err := parse(tc.env, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want %q", tc.args, err, tc.want)
		}
	}
}
