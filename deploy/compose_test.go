package deploy

import (
	"bytes"
	"cmp"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// composeFile is the part of the Compose specification docker-compose.yml
// uses. Decoding is strict: a key missing here (a typo such as depend_on,
// or a new key — then add it) fails the test.
type composeFile struct {
	Services   map[string]*composeService `yaml:"services"`
	Networks   map[string]*composeNetwork `yaml:"networks"`
	Volumes    map[string]any             `yaml:"volumes"`
	Extensions map[string]any             `yaml:",inline"` // x-…
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       *composeBuild     `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Expose      []string          `yaml:"expose"`
	Volumes     []string          `yaml:"volumes"`
	Tmpfs       []string          `yaml:"tmpfs"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test     []string `yaml:"test"`
		Interval string   `yaml:"interval"`
		Timeout  string   `yaml:"timeout"`
		Retries  int      `yaml:"retries"`
	} `yaml:"healthcheck"`
	Networks    []string `yaml:"networks"`
	Profiles    []string `yaml:"profiles"`
	Restart     string   `yaml:"restart"`
	ReadOnly    bool     `yaml:"read_only"`
	CapDrop     []string `yaml:"cap_drop"`
	SecurityOpt []string `yaml:"security_opt"`
}

type composeBuild struct {
	Context    string            `yaml:"context"`
	Dockerfile string            `yaml:"dockerfile"`
	Target     string            `yaml:"target"`
	Args       map[string]string `yaml:"args"`
}

type composeNetwork struct {
	IPAM *struct {
		Config []struct {
			Subnet string `yaml:"subnet"`
		} `yaml:"config"`
	} `yaml:"ipam"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var c composeFile
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for k := range c.Extensions {
		if !strings.HasPrefix(k, "x-") {
			t.Errorf("docker-compose.yml: unknown top-level key %q", k)
		}
	}
	return c
}

// oneShot says whether a service runs once and exits (a migration, a seed):
// it is not restarted, so "completed successfully" can be waited for.
func (s *composeService) oneShot() bool { return s.Restart == "no" }

// secondmentImage says whether the service runs the image built from
// deploy/Dockerfile.
func (s *composeService) secondmentImage() bool {
	return s.Build != nil && strings.HasSuffix(s.Build.Dockerfile, "deploy/Dockerfile")
}

func TestCompose(t *testing.T) {
	c := loadCompose(t)

	for _, name := range []string{"db", "migrate", "app1", "app2", "proxy"} {
		if c.Services[name] == nil {
			t.Fatalf("docker-compose.yml: no service %q (have %v)", name, sortedKeys(c.Services))
		}
	}
	db, migrate, proxy := c.Services["db"], c.Services["migrate"], c.Services["proxy"]
	apps := []string{"app1", "app2"}

	t.Run("depends_on", func(t *testing.T) {
		conditions := []string{"service_started", "service_healthy", "service_completed_successfully"}
		for _, name := range sortedKeys(c.Services) {
			for _, dep := range sortedKeys(c.Services[name].DependsOn) {
				cond := c.Services[name].DependsOn[dep].Condition
				target := c.Services[dep]
				switch {
				case target == nil:
					t.Errorf("%s depends on %q, which is not a service", name, dep)
				case !slices.Contains(conditions, cond):
					t.Errorf("%s depends on %s with condition %q; want one of %v", name, dep, cond, conditions)
				case cond == "service_healthy" && target.Healthcheck == nil:
					t.Errorf("%s waits for %s to be healthy, which has no healthcheck", name, dep)
				case cond == "service_completed_successfully" && !target.oneShot():
					t.Errorf("%s waits for %s to complete, which is restarted (restart: %q) rather than run once", name, dep, target.Restart)
				case target.oneShot() && cond != "service_completed_successfully":
					t.Errorf("%s depends on the one-shot %s with %q; want service_completed_successfully", name, dep, cond)
				}
			}
		}
		want := func(svc, dep, cond string) {
			if got := c.Services[svc].DependsOn[dep].Condition; got != cond {
				t.Errorf("%s: depends_on %s condition = %q; want %q", svc, dep, got, cond)
			}
		}
		want("migrate", "db", "service_healthy")
		for _, app := range apps {
			want(app, "db", "service_healthy")
			want(app, "migrate", "service_completed_successfully")
		}
		for _, app := range apps {
			if _, ok := proxy.DependsOn[app]; !ok {
				t.Errorf("proxy does not depend on %s", app)
			}
		}
	})

	t.Run("db", func(t *testing.T) {
		if db.Healthcheck == nil || len(db.Healthcheck.Test) < 2 {
			t.Fatalf("db: no healthcheck test")
		}
		var data bool
		for _, v := range db.Volumes {
			src, dst, _ := strings.Cut(v, ":")
			if strings.HasPrefix(dst, "/var/lib/postgresql/data") && !isBindMount(src) {
				data = true
			}
		}
		if !data {
			t.Errorf("db: no named volume on /var/lib/postgresql/data (volumes %v)", db.Volumes)
		}
		if !slices.ContainsFunc(db.Volumes, func(v string) bool { return strings.Contains(v, "/docker-entrypoint-initdb.d") }) {
			t.Errorf("db: deploy/initdb is not mounted: the restricted role would not exist")
		}
	})

	t.Run("volumes", func(t *testing.T) {
		for _, name := range sortedKeys(c.Services) {
			for _, v := range c.Services[name].Volumes {
				src, _, ok := strings.Cut(v, ":")
				if !ok {
					t.Errorf("%s: volume %q has no target", name, v)
					continue
				}
				if isBindMount(src) {
					if _, err := os.Stat(filepath.Join(root, src)); err != nil {
						t.Errorf("%s: bind mount %s: %v", name, src, err)
					}
				} else if _, ok := c.Volumes[src]; !ok {
					t.Errorf("%s: volume %q is not declared under volumes:", name, src)
				}
			}
		}
	})

	t.Run("networks", func(t *testing.T) {
		for _, name := range sortedKeys(c.Services) {
			for _, n := range c.Services[name].Networks {
				if _, ok := c.Networks[n]; !ok {
					t.Errorf("%s: network %q is not declared under networks:", name, n)
				}
			}
		}
	})

	t.Run("image", func(t *testing.T) {
		runtime := dockerfileStage(t, "").name
		for _, name := range append([]string{"migrate"}, apps...) {
			s := c.Services[name]
			if !s.secondmentImage() {
				t.Errorf("%s: not built from deploy/Dockerfile (build: %+v)", name, s.Build)
				continue
			}
			if s.Build.Target != "" && s.Build.Target != runtime {
				t.Errorf("%s: build target %q; want the service's image, the last stage %q", name, s.Build.Target, runtime)
			}
		}
		// One image name per stage built: two stages under one name
		// would overwrite each other's tag.
		stageOf := map[string]string{}
		for _, name := range sortedKeys(c.Services) {
			s := c.Services[name]
			if !s.secondmentImage() {
				continue
			}
			if s.Build.Context != "." {
				t.Errorf("%s: build context %q; want the repository root, \".\"", name, s.Build.Context)
			}
			stage := cmp.Or(s.Build.Target, runtime)
			if prev, ok := stageOf[s.Image]; ok && prev != stage {
				t.Errorf("%s: image %q is also the name of stage %q's image; give stage %q its own", name, s.Image, prev, stage)
			}
			stageOf[s.Image] = stage
			checkArgs(t, name, s.Command)
			if !s.ReadOnly || !slices.Contains(s.Tmpfs, "/tmp") {
				t.Errorf("%s: want read_only: true with a tmpfs on /tmp (uploads spill there)", name)
			}
		}
	})

	t.Run("tools", func(t *testing.T) {
		tools := c.Services["tools"]
		if tools == nil {
			t.Fatalf("docker-compose.yml: no service tools, for backup and restore (the service's image has no pg_dump)")
		}
		if !tools.secondmentImage() || tools.Build.Target != "tools" {
			t.Errorf("tools: build %+v; want deploy/Dockerfile's target tools", tools.Build)
		}
		if len(tools.Profiles) == 0 {
			t.Errorf("tools: no profiles, so docker compose up would start it with the service")
		}
		if !tools.oneShot() {
			t.Errorf("tools: restart %q; want \"no\" (it runs a command and exits)", tools.Restart)
		}
		// pg_dump reads servers of its own major version and older.
		args, _ := parseDockerfile(t)
		if v, ok := tools.Build.Args["PG_MAJOR"]; ok {
			args["PG_MAJOR"] = v
		}
		client, server := pgMajor(dockerfileStage(t, "tools").from, args), pgMajor(db.Image, nil)
		if server == 0 {
			t.Errorf("db: image %q names no PostgreSQL major version", db.Image)
		} else if client < server {
			t.Errorf("tools: pg_dump %d cannot dump the db service's PostgreSQL %d; raise PG_MAJOR", client, server)
		}
		// Backups and restores run as the owner, and restore grants the
		// application role again: both URLs, migrate's own.
		for _, k := range []string{"SECONDMENT_DATABASE_URL", "SECONDMENT_DATABASE_OWNER_URL"} {
			if tools.Environment[k] == "" || tools.Environment[k] != migrate.Environment[k] {
				t.Errorf("tools: %s %q; want migrate's %q (without a database URL secondment runs an embedded cluster instead)", k, tools.Environment[k], migrate.Environment[k])
			}
		}
		if !slices.ContainsFunc(tools.Volumes, func(v string) bool {
			src, dst, _ := strings.Cut(v, ":")
			return !isBindMount(src) && strings.TrimSuffix(strings.Split(dst, ":")[0], "/") == "/backups"
		}) {
			t.Errorf("tools: no named volume on /backups (volumes %v): the root file system is read-only", tools.Volumes)
		}
	})

	t.Run("migrate", func(t *testing.T) {
		if !slices.Equal(migrate.Command, []string{"migrate", "up"}) {
			t.Errorf("migrate: command %q; want [migrate up]", migrate.Command)
		}
		if !migrate.oneShot() {
			t.Errorf("migrate: restart %q; want \"no\" (it runs once)", migrate.Restart)
		}
		owner, app := migrate.Environment["SECONDMENT_DATABASE_OWNER_URL"], migrate.Environment["SECONDMENT_DATABASE_URL"]
		if owner == "" || app == "" {
			t.Fatalf("migrate: needs SECONDMENT_DATABASE_OWNER_URL (it migrates as the owner) and SECONDMENT_DATABASE_URL (the role it grants to)")
		}
		if login(t, owner) == login(t, app) {
			t.Errorf("migrate: the owner and the application role are both %q", login(t, owner))
		}
		if u, _ := url.Parse(owner); u.User != nil && u.User.Username() != db.Environment["POSTGRES_USER"] {
			t.Errorf("migrate: owner login %q is not the database's POSTGRES_USER %q, which owns the schema", u.User.Username(), db.Environment["POSTGRES_USER"])
		}
		initdb := readFile(t, "deploy/initdb/01-app-role.sql")
		if !strings.Contains(initdb, "CREATE ROLE "+login(t, app)+" ") {
			t.Errorf("deploy/initdb does not create the application role %q", login(t, app))
		}
	})

	t.Run("apps", func(t *testing.T) {
		for _, name := range apps {
			s := c.Services[name]
			if len(s.Command) == 0 || s.Command[0] != "serve" || !slices.Contains(s.Command, "--migrate=false") {
				t.Errorf("%s: command %q; want serve --migrate=false (the migrate service migrates)", name, s.Command)
			}
			if len(s.Ports) > 0 {
				t.Errorf("%s: publishes %v; only the proxy may publish", name, s.Ports)
			}
			if _, ok := s.Environment["SECONDMENT_DATABASE_OWNER_URL"]; ok {
				t.Errorf("%s: has the schema owner's URL; a replica holds the restricted role only", name)
			}
			if got, want := login(t, s.Environment["SECONDMENT_DATABASE_URL"]), login(t, migrate.Environment["SECONDMENT_DATABASE_URL"]); got != want {
				t.Errorf("%s: serves as %q, but migrate grants %q", name, got, want)
			}
			if _, port, _ := net.SplitHostPort(s.Environment["SECONDMENT_ADDR"]); port != "8080" {
				t.Errorf("%s: SECONDMENT_ADDR %q; want port 8080, where the proxy sends", name, s.Environment["SECONDMENT_ADDR"])
			}
			if host, _, _ := net.SplitHostPort(s.Environment["SECONDMENT_ADDR"]); host != "" && host != "0.0.0.0" {
				t.Errorf("%s: SECONDMENT_ADDR %q; want all interfaces inside the container", name, s.Environment["SECONDMENT_ADDR"])
			}
			if s.Restart == "" || s.oneShot() {
				t.Errorf("%s: restart %q; want it restarted", name, s.Restart)
			}
			if !sharesNetwork(s, proxy) {
				t.Errorf("%s: shares no network with the proxy", name)
			}
		}
	})

	t.Run("proxy", func(t *testing.T) {
		if !slices.ContainsFunc(proxy.Ports, func(p string) bool { return containerPort(p) == "8080" }) {
			t.Errorf("proxy: does not publish port 8080 (ports %v)", proxy.Ports)
		}
		caddyfile := ""
		for _, v := range proxy.Volumes {
			src, dst, _ := strings.Cut(v, ":")
			if strings.HasPrefix(dst, "/etc/caddy/Caddyfile") {
				caddyfile = src
			}
		}
		if caddyfile == "" {
			t.Fatalf("proxy: no Caddyfile mounted on /etc/caddy/Caddyfile")
		}
		checkCaddyfile(t, strings.TrimPrefix(caddyfile, "./"), apps)
	})

	t.Run("ports", func(t *testing.T) {
		for _, name := range sortedKeys(c.Services) {
			for _, p := range c.Services[name].Ports {
				if !strings.HasPrefix(p, "127.0.0.1:") {
					t.Errorf("%s: publishes %q on every interface; bind it to 127.0.0.1", name, p)
				}
				if name != "proxy" && (containerPort(p) == "8080" || containerPort(p) == "9090") {
					t.Errorf("%s: publishes the app's port %q; only the proxy may", name, p)
				}
			}
		}
	})

	t.Run("trusted proxies", func(t *testing.T) {
		var proxySubnets []netip.Prefix
		for _, n := range proxy.Networks {
			nw := c.Networks[n]
			if nw == nil || nw.IPAM == nil || len(nw.IPAM.Config) == 0 || nw.IPAM.Config[0].Subnet == "" {
				t.Errorf("proxy: network %q has no fixed subnet, so the apps cannot name the proxy's addresses", n)
				continue
			}
			for _, cfg := range nw.IPAM.Config {
				sub, err := netip.ParsePrefix(cfg.Subnet)
				if err != nil {
					t.Errorf("network %s: subnet %q: %v", n, cfg.Subnet, err)
					continue
				}
				proxySubnets = append(proxySubnets, sub.Masked())
			}
		}
		for _, name := range apps {
			s := c.Services[name]
			// The binary's own parser reads the list, as at start.
			trusted := serveConfig(t, "docker-compose.yml "+name, s.Environment, s.Command).TrustedProxies
			for _, sub := range proxySubnets {
				if !slices.ContainsFunc(trusted, func(p netip.Prefix) bool { return p.Bits() <= sub.Bits() && p.Contains(sub.Addr()) }) {
					t.Errorf("%s: SECONDMENT_TRUSTED_PROXIES %q does not cover the proxy's subnet %s", name, s.Environment["SECONDMENT_TRUSTED_PROXIES"], sub)
				}
			}
		}
		// The trusted subnet holds the proxy and the apps only: the
		// database and the one-shot steps stay off it.
		for _, other := range sortedKeys(c.Services) {
			if other != "proxy" && !slices.Contains(apps, other) && sharesNetwork(c.Services[other], proxy) {
				t.Errorf("%s is on the proxy's network, whose addresses the apps trust", other)
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		for _, name := range apps {
			s := c.Services[name]
			cfg := serveConfig(t, "docker-compose.yml "+name, s.Environment, s.Command)
			if cfg.MetricsAddr == "" {
				t.Errorf("%s: no SECONDMENT_METRICS_ADDR", name)
				continue
			}
			checkListeners(t, "docker-compose.yml "+name, cfg)
			if _, port, _ := net.SplitHostPort(cfg.MetricsAddr); !slices.Contains(s.Expose, port) {
				t.Errorf("%s: the metrics port %s is not in expose %v, where a scraper on the compose network finds it", name, port, s.Expose)
			}
		}
	})

	t.Run("settings", func(t *testing.T) {
		for _, name := range sortedKeys(c.Services) {
			for _, k := range sortedKeys(c.Services[name].Environment) {
				checkSetting(t, "docker-compose.yml "+name, k)
			}
		}
	})
}

func isBindMount(src string) bool {
	return strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") || strings.HasPrefix(src, "~")
}

// containerPort is the container side of a short-syntax port
// ("127.0.0.1:8080:8080" → "8080").
func containerPort(p string) string {
	p, _, _ = strings.Cut(p, "/")
	return p[strings.LastIndex(p, ":")+1:]
}

func sharesNetwork(a, b *composeService) bool {
	return slices.ContainsFunc(a.Networks, func(n string) bool { return slices.Contains(b.Networks, n) })
}

// login is the user name of a PostgreSQL URL.
func login(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.User == nil || u.User.Username() == "" {
		t.Fatalf("%q: not a PostgreSQL URL with a login", raw)
	}
	return u.User.Username()
}

// checkCaddyfile checks that the proxy balances over every app on the port
// it serves and takes a replica out while its /readyz fails.
func checkCaddyfile(t *testing.T, rel string, apps []string) {
	t.Helper()
	src := readFile(t, rel)
	var upstreams []string
	var healthURI string
	for _, line := range strings.Split(src, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "reverse_proxy":
			for _, a := range f[1:] {
				if a != "{" {
					upstreams = append(upstreams, a)
				}
			}
		case "to":
			upstreams = append(upstreams, f[1:]...)
		case "health_uri":
			if len(f) > 1 {
				healthURI = f[1]
			}
		}
	}
	for _, app := range apps {
		if !slices.Contains(upstreams, app+":8080") {
			t.Errorf("%s: reverse_proxy does not name %s:8080 (upstreams %v)", rel, app, upstreams)
		}
	}
	if healthURI != "/readyz" {
		t.Errorf("%s: health_uri %q; want /readyz", rel, healthURI)
	}
	if strings.Count(src, "{") != strings.Count(src, "}") {
		t.Errorf("%s: unbalanced braces", rel)
	}
	if !regexp.MustCompile(`(?m)^:8080\s*\{`).MatchString(src) {
		t.Errorf("%s: no site block on :8080, the port the proxy publishes", rel)
	}
}
