package config

import (
	"flag"
	"fmt"
	"strings"
)

// MinMetricsToken is the shortest --metrics-token accepted: it guards the
// metrics on the public port, so it must not be guessable.
const MinMetricsToken = 16

// metricsFlags adds the flags of the metrics (serve only).
func (s *Set) metricsFlags() {
	c := s.cfg
	s.StringVar(&c.MetricsAddr, "metrics-addr", s.env("SECONDMENT_METRICS_ADDR"),
		"serve Prometheus metrics (/metrics) on this separate address, e.g. :9090, reachable by the scraper only; empty: off (env SECONDMENT_METRICS_ADDR)")
	// The environment's token is read in checkMetrics, not made the flag's
	// default, which --help would print.
	s.StringVar(&c.MetricsToken, "metrics-token", "",
		fmt.Sprintf("also serve /metrics on the public address to requests bearing \"Authorization: Bearer TOKEN\" (at least %d characters; "+
			"prefer the environment, which ps does not show); empty: /metrics is a 404 there (env SECONDMENT_METRICS_TOKEN)", MinMetricsToken))
}

// checkMetrics validates the metrics flags.
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
	return errs
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }
