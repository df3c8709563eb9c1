package config

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"strings"
)

// MinMetricsToken is the shortest --metrics-token accepted: it guards the
// metrics on the public port, so it must not be guessable.
const MinMetricsToken = 16

// metricsFlags adds the flags of the metrics and of the reverse proxies in
// front of the service (serve only).
func (s *Set) metricsFlags() {
	c := s.cfg
	s.StringVar(&c.MetricsAddr, "metrics-addr", s.env("SECONDMENT_METRICS_ADDR"),
		"serve Prometheus metrics (/metrics) on this separate address, e.g. :9090, reachable by the scraper only; empty: off (env SECONDMENT_METRICS_ADDR)")
	// The environment's token is read in checkMetrics, not made the flag's
	// default, which --help would print.
	s.StringVar(&c.MetricsToken, "metrics-token", "",
		fmt.Sprintf("also serve /metrics on the public address to requests bearing \"Authorization: Bearer TOKEN\" (at least %d characters; "+
			"prefer the environment, which ps does not show); empty: /metrics is a 404 there (env SECONDMENT_METRICS_TOKEN)", MinMetricsToken))
	s.StringVar(&s.trustedProxies, "trusted-proxies", s.env("SECONDMENT_TRUSTED_PROXIES"),
		"reverse proxies whose X-Forwarded-For gives the client's address, as CIDRs, comma-separated, e.g. 10.0.0.0/8,fd00::/8; "+
			"empty: the connection's peer is the client and X-Forwarded-For is ignored (env SECONDMENT_TRUSTED_PROXIES)")
}

// checkMetrics validates the metrics flags and parses the trusted proxies
// into c.
func (s *Set) checkMetrics(c *Config) []error {
	var errs []error
	given := false
	s.Visit(func(f *flag.Flag) { given = given || f.Name == "metrics-token" })
	if !given && s.Lookup("metrics-token") != nil {
		c.MetricsToken = s.env("SECONDMENT_METRICS_TOKEN")
	}
	if c.MetricsAddr != "" {
		if err := checkAddr(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("--metrics-addr %q: %w", c.MetricsAddr, err))
		} else if s.Lookup("addr") != nil && c.MetricsAddr == c.Addr && !strings.HasSuffix(c.Addr, ":0") {
			errs = append(errs, fmt.Errorf("--metrics-addr %q: must differ from --addr, the public address", c.MetricsAddr))
		}
	}
	if c.MetricsToken != "" && (len(c.MetricsToken) < MinMetricsToken || strings.ContainsFunc(c.MetricsToken, isSpaceOrControl)) {
		errs = append(errs, fmt.Errorf("--metrics-token: want at least %d characters without spaces (e.g. from `openssl rand -hex 32`)", MinMetricsToken))
	}
	ps, err := ParseTrustedProxies(s.trustedProxies)
	if err != nil {
		errs = append(errs, fmt.Errorf("--trusted-proxies %q: %w", s.trustedProxies, err))
	}
	c.TrustedProxies = ps
	return errs
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// ParseTrustedProxies reads a comma-separated list of CIDRs (a bare address
// is its own /32 or /128). A prefix of length 0 is refused: trusting every
// peer would let any client choose its address.
func ParseTrustedProxies(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for f := range strings.SplitSeq(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		var p netip.Prefix
		if strings.Contains(f, "/") {
			var err error
			if p, err = netip.ParsePrefix(f); err != nil {
				return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or fd00::/8", f)
			}
		} else {
			a, err := netip.ParseAddr(f)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or fd00::/8", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		if p.Bits() == 0 {
			return nil, errors.New("a prefix of length 0 trusts every peer, so any client could choose its address")
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
