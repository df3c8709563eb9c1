// Package config reads the service's settings from flags and the
// environment, validates them, and hands them on explicitly: there is no
// global configuration.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// Config holds every setting. Flags win over the environment, which wins
// over the defaults.
type Config struct {
	DatabaseURL      string        // empty: the embedded database in DataDir
	OwnerURL         string        // the schema owner's login, for migrations; empty: DatabaseURL's
	DataDir          string        // where the embedded database lives
	Addr             string        // HTTP listen address
	LogLevel         slog.Level    //
	LogFormat        string        // text or json
	Migrate          bool          // apply migrations at start (serve)
	Demo             bool          // load the demo data at start (serve)
	DBConnectTimeout time.Duration // how long to retry an unreachable database
	DBMaxConns       int           // connections in the pool; 0: four per CPU, at least eight
	Mode             string        // dev or production
	SecureCookies    bool          // cookies only over HTTPS (always in production)
	Jobs             bool          // run background workers in this process (serve)
	SweepInterval    time.Duration // how often the periodic sweep runs
	EscalateAfter    int           // working days a review step may wait before it is flagged (0: never)
	RemindDays       []int         // days before a term's end on which it is reminded
	NotifyWebhook    string        // URL each notification is also posted to; "": the inbox only
	DebugAddr        string        // loopback address serving Go's profiles (net/http/pprof); "": off
	HashSlots        int           // password hashes at once (64 MiB each); 0: one per CPU (GOMAXPROCS)
	OIDC             OIDC          // single sign-on; off while OIDC.Issuer is empty
	PasswordSignIn   bool          // local passwords sign in; false: only OIDC does
	// Metrics and the reverse proxies in front (metrics.go).
	MetricsAddr    string         // address of a separate listener serving /metrics; "": none
	MetricsToken   string         // bearer token that opens /metrics on the public address too; "": a 404 there
	TrustedProxies []netip.Prefix // peers whose X-Forwarded-For is believed; none: the peer is the client
	// Today is the rehearsal day (dev mode only): the service runs as if
	// it were that day; zero: the real clock.
	Today secondment.Date
}

// Clock is the clock the settings ask for: the real one, or in dev mode a
// rehearsal clock on which today is --today.
func (c Config) Clock() secondment.Clock {
	if c.Today.IsZero() {
		return secondment.SystemClock{}
	}
	return secondment.RehearsalOn(c.Today, time.Now())
}

// OIDC is the single sign-on provider's settings (docs/security.md).
type OIDC struct {
	Issuer       string // the provider's issuer URL; "": no single sign-on
	ClientID     string
	ClientSecret string // from the environment, never the command line, where ps shows it
	RedirectURL  string // this service's public callback, …/signin/oidc/callback
	Claim        string // the ID token claim matched against an account's login
	Name         string // the provider's name on the sign-in button; "": 统一身份认证
}

// Enabled reports whether single sign-on is configured.
func (o OIDC) Enabled() bool { return o.Issuer != "" }

// Modes. Production refuses demo data and never prints a password; dev is
// for trying the service on one machine.
const (
	ModeDev        = "dev"
	ModeProduction = "production"
)

// Defaults.
const (
	DefaultAddr    = "127.0.0.1:8080"
	DefaultDataDir = "./data"
)

// Set is a flag set bound to a Config, for one subcommand.
type Set struct {
	*flag.FlagSet
	cfg        *Config
	logLevel   string
	remindDays string
	today      string
	env        func(string) string
	errs       []error
	// trustedProxies is --trusted-proxies as given; Parse reads it.
	trustedProxies string
}

// Options choose which flags a subcommand has.
type Options struct {
	HTTP bool // --addr, --migrate, --demo
}

// NewSet makes the flag set of subcommand name, with defaults taken from
// the environment through getenv.
func NewSet(name string, o Options, getenv func(string) string, out io.Writer) *Set {
	s := &Set{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), cfg: &Config{}, env: getenv}
	s.SetOutput(out)
	c := s.cfg
	dbURL := getenv("SECONDMENT_DATABASE_URL")
	if dbURL == "" {
		dbURL = getenv("DATABASE_URL")
	}
	s.StringVar(&c.DatabaseURL, "database-url", dbURL,
		"PostgreSQL URL (env SECONDMENT_DATABASE_URL, then DATABASE_URL); empty: run an embedded PostgreSQL in --data-dir")
	s.StringVar(&c.OwnerURL, "database-owner-url", getenv("SECONDMENT_DATABASE_OWNER_URL"),
		"PostgreSQL URL of the login that owns the schema and runs migrations, when the service's own login (--database-url) "+
			"is a restricted application role (env SECONDMENT_DATABASE_OWNER_URL; see docs/security.md)")
	s.StringVar(&c.DataDir, "data-dir", orDefault(getenv("SECONDMENT_DATA_DIR"), DefaultDataDir),
		"directory of the embedded PostgreSQL cluster (env SECONDMENT_DATA_DIR)")
	s.StringVar(&s.logLevel, "log-level", orDefault(getenv("SECONDMENT_LOG_LEVEL"), "info"),
		"debug, info, warn or error (env SECONDMENT_LOG_LEVEL)")
	s.StringVar(&c.LogFormat, "log-format", orDefault(getenv("SECONDMENT_LOG_FORMAT"), "text"),
		"text or json (env SECONDMENT_LOG_FORMAT)")
	s.StringVar(&c.Mode, "mode", orDefault(getenv("SECONDMENT_MODE"), ModeDev),
		"dev or production; production refuses demo data and sets Secure cookies (env SECONDMENT_MODE)")
	c.DBConnectTimeout = s.envDuration("SECONDMENT_DB_CONNECT_TIMEOUT", 30*time.Second)
	s.DurationVar(&c.DBConnectTimeout, "db-connect-timeout", c.DBConnectTimeout,
		"how long to keep retrying an unreachable database at start (env SECONDMENT_DB_CONNECT_TIMEOUT)")
	c.DBMaxConns = s.envInt("SECONDMENT_DB_MAX_CONNS", 0)
	s.IntVar(&c.DBMaxConns, "db-max-conns", c.DBMaxConns,
		"connections the service keeps to PostgreSQL; 0: four per CPU, at least eight (env SECONDMENT_DB_MAX_CONNS)")
	if o.HTTP {
		s.StringVar(&c.Addr, "addr", orDefault(getenv("SECONDMENT_ADDR"), DefaultAddr),
			"HTTP listen address, host:port (env SECONDMENT_ADDR)")
		s.BoolVar(&c.Migrate, "migrate", s.envBool("SECONDMENT_MIGRATE", true),
			"apply database migrations at start; turn off where migrations run separately (env SECONDMENT_MIGRATE)")
		s.BoolVar(&c.Demo, "demo", s.envBool("SECONDMENT_DEMO", false),
			"load the demo data and accounts at start and print the accounts (dev mode only; env SECONDMENT_DEMO)")
		s.BoolVar(&c.Jobs, "jobs", s.envBool("SECONDMENT_JOBS", true),
			"run background jobs (the sweep) in this process; any number of replicas may (env SECONDMENT_JOBS)")
		c.SweepInterval = s.envDuration("SECONDMENT_SWEEP_INTERVAL", 5*time.Minute)
		s.DurationVar(&c.SweepInterval, "sweep-interval", c.SweepInterval,
			"how often the periodic sweep (expiry, overdue, reminders) runs (env SECONDMENT_SWEEP_INTERVAL)")
		s.StringVar(&s.remindDays, "remind-days", orDefault(getenv("SECONDMENT_REMIND_DAYS"), "15,3"),
			"days before a term's end on which the units are reminded, comma-separated (env SECONDMENT_REMIND_DAYS)")
		c.EscalateAfter = s.envInt("SECONDMENT_ESCALATE_AFTER", 5)
		s.IntVar(&c.EscalateAfter, "escalate-after", c.EscalateAfter,
			"working days a review step may wait before the supervising org dept is told; 0: never (env SECONDMENT_ESCALATE_AFTER)")
		c.HashSlots = s.envInt("SECONDMENT_HASH_SLOTS", 0)
		s.IntVar(&c.HashSlots, "hash-slots", c.HashSlots,
			"password hashes that may run at once, 64 MiB each; 0: one per CPU (env SECONDMENT_HASH_SLOTS)")
		s.StringVar(&c.DebugAddr, "debug-addr", getenv("SECONDMENT_DEBUG_ADDR"),
			"serve Go's runtime profiles (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060; empty: off (env SECONDMENT_DEBUG_ADDR)")
		s.metricsFlags()
		s.StringVar(&c.NotifyWebhook, "notify-webhook", getenv("SECONDMENT_NOTIFY_WEBHOOK"),
			"also post every notification as JSON to this http(s) URL, retrying until it gets through (env SECONDMENT_NOTIFY_WEBHOOK)")
		s.StringVar(&s.today, "today", getenv("SECONDMENT_TODAY"),
			"rehearsal: run as if today were this day, YYYY-MM-DD, to show expiry and reminders (dev mode only; env SECONDMENT_TODAY)")
		s.BoolVar(&c.SecureCookies, "secure-cookies", s.envBool("SECONDMENT_SECURE_COOKIES", false),
			"mark cookies Secure (HTTPS only); always on in production mode (env SECONDMENT_SECURE_COOKIES)")
		s.oidcFlags()
	}
	return s
}

// oidcFlags are the single sign-on settings (serve only).
func (s *Set) oidcFlags() {
	o, getenv := &s.cfg.OIDC, s.env
	s.StringVar(&o.Issuer, "oidc-issuer", getenv("SECONDMENT_OIDC_ISSUER"),
		"OpenID Connect issuer URL for single sign-on; empty: none (env SECONDMENT_OIDC_ISSUER)")
	s.StringVar(&o.ClientID, "oidc-client-id", getenv("SECONDMENT_OIDC_CLIENT_ID"),
		"this service's client ID at the OIDC provider (env SECONDMENT_OIDC_CLIENT_ID)")
	// No default from the environment here: --help prints defaults, and
	// this one is a secret. Parse reads the environment instead.
	s.StringVar(&o.ClientSecret, "oidc-client-secret", "",
		"the client secret; prefer the environment, which ps does not show (env SECONDMENT_OIDC_CLIENT_SECRET)")
	s.StringVar(&o.RedirectURL, "oidc-redirect-url", getenv("SECONDMENT_OIDC_REDIRECT_URL"),
		"the public callback URL registered at the provider, https://HOST/signin/oidc/callback (env SECONDMENT_OIDC_REDIRECT_URL)")
	s.StringVar(&o.Claim, "oidc-claim", orDefault(getenv("SECONDMENT_OIDC_CLAIM"), "preferred_username"),
		"the ID token claim matched against an account's login (env SECONDMENT_OIDC_CLAIM)")
	s.StringVar(&o.Name, "oidc-name", getenv("SECONDMENT_OIDC_NAME"),
		"the provider's name on the sign-in button, e.g. 统一身份认证 (env SECONDMENT_OIDC_NAME)")
	s.BoolVar(&s.cfg.PasswordSignIn, "password-signin", s.envBool("SECONDMENT_PASSWORD_SIGNIN", true),
		"accept local passwords at sign-in; false (needs --oidc-issuer): single sign-on only, API tokens still work (env SECONDMENT_PASSWORD_SIGNIN)")
}

// checkOIDC reports what is wrong with the single sign-on settings.
func checkOIDC(c Config) []error {
	o := c.OIDC
	var errs []error
	if !o.Enabled() {
		if o.ClientID != "" || o.ClientSecret != "" || o.RedirectURL != "" {
			errs = append(errs, errors.New("--oidc-client-id, --oidc-client-secret and --oidc-redirect-url need --oidc-issuer"))
		}
		if !c.PasswordSignIn {
			errs = append(errs, errors.New("--password-signin=false needs single sign-on (--oidc-issuer), or nobody could sign in"))
		}
		return errs
	}
	if u, err := url.Parse(o.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("--oidc-issuer %q: want the provider's https:// issuer URL", o.Issuer))
	} else if u.Scheme == "http" && c.Mode == ModeProduction {
		errs = append(errs, fmt.Errorf("--oidc-issuer %q: want https:// in production mode", o.Issuer))
	}
	if o.ClientID == "" {
		errs = append(errs, errors.New("--oidc-issuer needs --oidc-client-id"))
	}
	if o.ClientSecret == "" {
		errs = append(errs, errors.New("--oidc-issuer needs SECONDMENT_OIDC_CLIENT_SECRET in the environment"))
	}
	if o.RedirectURL == "" {
		errs = append(errs, errors.New("--oidc-issuer needs --oidc-redirect-url, the public https://HOST/signin/oidc/callback"))
	} else if u, err := url.Parse(o.RedirectURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		!strings.HasSuffix(u.Path, "/signin/oidc/callback") {
		errs = append(errs, fmt.Errorf("--oidc-redirect-url %q: want this service's public URL ending in /signin/oidc/callback", o.RedirectURL))
	} else if u.Scheme == "http" && c.Mode == ModeProduction {
		errs = append(errs, fmt.Errorf("--oidc-redirect-url %q: want https:// in production mode", o.RedirectURL))
	}
	if strings.TrimSpace(o.Claim) == "" {
		errs = append(errs, errors.New("--oidc-claim: must not be empty"))
	}
	return errs
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (s *Set) envBool(name string, def bool) bool {
	v := s.env(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		s.errs = append(s.errs, fmt.Errorf("%s=%q: want true or false", name, v))
		return def
	}
	return b
}

func (s *Set) envInt(name string, def int) int {
	v := s.env(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		s.errs = append(s.errs, fmt.Errorf("%s=%q: want a whole number", name, v))
		return def
	}
	return n
}

func (s *Set) envDuration(name string, def time.Duration) time.Duration {
	v := s.env(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		s.errs = append(s.errs, fmt.Errorf("%s=%q: want a duration such as 30s", name, v))
		return def
	}
	return d
}

// Parse reads args and validates the result, reporting every bad value
// (one line each) at once.
func (s *Set) Parse(args []string) (Config, error) {
	if err := s.FlagSet.Parse(args); err != nil {
		return Config{}, err
	}
	c := *s.cfg
	errs := s.errs
	switch strings.ToLower(s.logLevel) {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info":
		c.LogLevel = slog.LevelInfo
	case "warn", "warning":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", s.logLevel))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", c.LogFormat))
	}
	if c.DatabaseURL != "" {
		if _, err := postgres.ParseURL(c.DatabaseURL); err != nil {
			errs = append(errs, fmt.Errorf("--database-url: %w", err))
		}
		if c.OwnerURL != "" {
			if _, err := postgres.ParseURL(c.OwnerURL); err != nil {
				errs = append(errs, fmt.Errorf("--database-owner-url: %w", err))
			}
		}
	} else if c.OwnerURL != "" {
		errs = append(errs, errors.New("--database-owner-url: only with --database-url; the embedded database sets up its own two logins"))
	} else if strings.TrimSpace(c.DataDir) == "" {
		errs = append(errs, errors.New("--data-dir: must not be empty when no database URL is given"))
	}
	switch c.Mode {
	case ModeDev:
	case ModeProduction:
		c.SecureCookies = true
		if c.Demo {
			errs = append(errs, errors.New("--demo: demo data and accounts are refused in production mode"))
		}
	default:
		errs = append(errs, fmt.Errorf("--mode %q: want dev or production", c.Mode))
	}
	if s.today != "" {
		d, err := secondment.ParseDate(strings.TrimSpace(s.today))
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("--today %q: want a day as YYYY-MM-DD", s.today))
		case c.Mode == ModeProduction:
			errs = append(errs, errors.New("--today: the rehearsal clock is refused in production mode"))
		default:
			c.Today = d
		}
	}
	if s.Lookup("remind-days") != nil {
		c.RemindDays = nil
		for _, f := range strings.Split(s.remindDays, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > 90 {
				errs = append(errs, fmt.Errorf("--remind-days %q: want days from 1 to 90, comma-separated", s.remindDays))
				c.RemindDays = nil
				break
			}
			c.RemindDays = append(c.RemindDays, n)
		}
	}
	if c.DBMaxConns < 0 || c.DBMaxConns > 1000 {
		errs = append(errs, fmt.Errorf("--db-max-conns %d: want 0 (four per CPU) to 1000", c.DBMaxConns))
	}
	if c.HashSlots < 0 || c.HashSlots > 64 {
		errs = append(errs, fmt.Errorf("--hash-slots %d: want 0 (one per CPU) to 64", c.HashSlots))
	}
	if c.DebugAddr != "" {
		host, _, err := net.SplitHostPort(c.DebugAddr)
		ip := net.ParseIP(host)
		if err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			errs = append(errs, fmt.Errorf("--debug-addr %q: want a loopback host:port such as 127.0.0.1:6060 (profiles are never served to the network)", c.DebugAddr))
		}
	}
	errs = append(errs, s.checkMetrics(&c)...)
	if c.NotifyWebhook != "" {
		if u, err := url.Parse(c.NotifyWebhook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--notify-webhook %q: want an http:// or https:// URL", c.NotifyWebhook))
		}
	}
	if s.Lookup("escalate-after") != nil && (c.EscalateAfter < 0 || c.EscalateAfter > 60) {
		errs = append(errs, fmt.Errorf("--escalate-after %d: want 0 to 60 working days", c.EscalateAfter))
	}
	if s.Lookup("sweep-interval") != nil && (c.SweepInterval < time.Second || c.SweepInterval > 24*time.Hour) {
		errs = append(errs, fmt.Errorf("--sweep-interval %s: want 1s to 24h", c.SweepInterval))
	}
	if c.DBConnectTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--db-connect-timeout %s: must be positive", c.DBConnectTimeout))
	}
	if s.Lookup("oidc-issuer") != nil {
		if c.OIDC.ClientSecret == "" {
			c.OIDC.ClientSecret = s.env("SECONDMENT_OIDC_CLIENT_SECRET")
		}
		errs = append(errs, checkOIDC(c)...)
	} else {
		c.PasswordSignIn = true // subcommands without the flags sign nobody in
	}
	if s.Lookup("addr") != nil {
		if err := checkAddr(c.Addr); err != nil {
			errs = append(errs, fmt.Errorf("--addr %q: %w", c.Addr, err))
		}
	}
	if len(errs) > 0 {
		return c, &Error{Errs: errs}
	}
	return c, nil
}

func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port, e.g. 127.0.0.1:8080 or :8080")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return errors.New("the port must be a number from 0 to 65535")
	}
	return nil
}

// Error lists every invalid setting.
type Error struct{ Errs []error }

func (e *Error) Error() string {
	lines := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		lines[i] = "invalid setting: " + err.Error()
	}
	return strings.Join(lines, "\n")
}

// Logger builds the logger the settings ask for.
func (c Config) Logger(w io.Writer) *slog.Logger {
	o := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}
