package config_test

import (
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"secondment/internal/config"
)

// The metrics' listener and token, and the trusted proxies: from the
// environment or the flags, off by default, and refused at start when
// they make no sense.
func TestMetricsAndTrustedProxies(t *testing.T) {
	parse := func(e func(string) string, args ...string) (config.Config, error) {
		return config.NewSet("serve", config.Options{HTTP: true}, e, io.Discard).Parse(args)
	}
	c, err := parse(env())
	if err != nil || c.MetricsAddr != "" || c.MetricsToken != "" || c.TrustedProxies != nil {
		t.Fatalf("defaults: %q %q %v %v", c.MetricsAddr, c.MetricsToken, c.TrustedProxies, err)
	}
	token := strings.Repeat("k", config.MinMetricsToken)
	c, err = parse(env("SECONDMENT_METRICS_ADDR", ":9090", "SECONDMENT_METRICS_TOKEN", token,
		"SECONDMENT_TRUSTED_PROXIES", " 10.0.0.0/8, 192.0.2.7 ,fd00::/8,2001:db8::1,10.1.2.3/16,::ffff:172.16.0.0/108"))
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("2001:db8::1/128"), netip.MustParsePrefix("10.1.0.0/16"),
		netip.MustParsePrefix("172.16.0.0/12")}
	if err != nil || c.MetricsAddr != ":9090" || c.MetricsToken != token || !slices.Equal(c.TrustedProxies, want) {
		t.Fatalf("from the environment: %q %q %v %v", c.MetricsAddr, c.MetricsToken, c.TrustedProxies, err)
	}
	// Flags over the environment.
	c, err = parse(env("SECONDMENT_METRICS_ADDR", ":9090", "SECONDMENT_TRUSTED_PROXIES", "10.0.0.0/8"),
		"--metrics-addr", "127.0.0.1:9100", "--trusted-proxies", "")
	if err != nil || c.MetricsAddr != "127.0.0.1:9100" || c.TrustedProxies != nil {
		t.Fatalf("flags: %q %v %v", c.MetricsAddr, c.TrustedProxies, err)
	}
	for _, bad := range [][]string{
		{"--metrics-addr", "9090"},
		{"--metrics-addr", "127.0.0.1:8080"}, // the public address
		{"--metrics-token", "short"},
		{"--metrics-token", strings.Repeat("k", 20) + " x"},
		{"--trusted-proxies", "10.0.0.0/33"},
		{"--trusted-proxies", "10.0.0.0/8,proxy.example"},
		{"--trusted-proxies", "0.0.0.0/0"},
		{"--trusted-proxies", "::/0"},
		{"--trusted-proxies", "fe80::1%eth0"},
	} {
		_, err := parse(env(), bad...)
		if err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%v accepted: %v", bad, err)
		}
	}
	// The token from the environment is not shown by --help (the flag's
	// default); a flag wins over it, even an empty one.
	var help strings.Builder
	set := config.NewSet("serve", config.Options{HTTP: true}, env("SECONDMENT_METRICS_TOKEN", token), &help)
	set.PrintDefaults()
	if strings.Contains(help.String(), token) || !strings.Contains(help.String(), "SECONDMENT_METRICS_TOKEN") {
		t.Errorf("--help shows the token or not its variable:\n%s", help.String())
	}
	if c, err := parse(env("SECONDMENT_METRICS_TOKEN", token), "--metrics-token", ""); err != nil || c.MetricsToken != "" {
		t.Errorf("an empty flag over the environment: %q %v", c.MetricsToken, err)
	}
	// Only serve has them.
	if config.NewSet("migrate", config.Options{}, env(), io.Discard).Lookup("metrics-addr") != nil {
		t.Error("migrate has --metrics-addr")
	}
}
