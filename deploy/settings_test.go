// Package deploy holds the files that run the service — the image, the
// compose file's proxy, the Kubernetes manifests, the systemd unit — and
// these tests, which check them in CI where neither Docker nor a cluster
// runs: every file parses, the pieces name each other correctly, and every
// setting they pass is one the binary reads.
package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"

	"secondment/internal/config"
)

// root is the repository's root (tests run in deploy/).
const root = ".."

var (
	sourcesOnce sync.Once
	sources     string // the non-test Go sources of internal/config and cmd/secondment
	sourcesErr  error
	quotedEnvRE = regexp.MustCompile(`"(SECONDMENT_[A-Z0-9_]+)"`)
)

// configSources are the non-test Go sources of the configuration package
// and the command, where every flag and environment variable is defined.
func configSources(t *testing.T) string {
	t.Helper()
	sourcesOnce.Do(func() {
		var b strings.Builder
		for _, dir := range []string{"internal/config", "cmd/secondment"} {
			files, err := filepath.Glob(filepath.Join(root, dir, "*.go"))
			if err != nil || len(files) == 0 {
				sourcesErr = errors.Join(err, errors.New("no Go files in "+dir))
				return
			}
			for _, f := range files {
				if strings.HasSuffix(f, "_test.go") {
					continue
				}
				src, err := os.ReadFile(f)
				if err != nil {
					sourcesErr = err
					return
				}
				b.Write(src)
				b.WriteByte('\n')
			}
		}
		sources = b.String()
	})
	if sourcesErr != nil {
		t.Fatal(sourcesErr)
	}
	return sources
}

// knownSettings are the environment variables the binary reads: every
// "SECONDMENT_…" string literal in the configuration package and the
// command's own sources. A flag renamed there leaves the old name in a file
// here, and the check fails.
func knownSettings(t *testing.T) map[string]bool {
	t.Helper()
	s := map[string]bool{}
	for _, m := range quotedEnvRE.FindAllStringSubmatch(configSources(t), -1) {
		s[m[1]] = true
	}
	if !s["SECONDMENT_DATABASE_URL"] || !s["SECONDMENT_ADDR"] {
		t.Fatalf("found no SECONDMENT_DATABASE_URL or SECONDMENT_ADDR in internal/config: has the configuration moved? (found %d settings)", len(s))
	}
	return s
}

// checkSetting fails the test when name (from where) is not a setting the
// binary reads. Names that do not start with SECONDMENT_ are not ours.
func checkSetting(t *testing.T, where, name string) {
	t.Helper()
	if !strings.HasPrefix(name, "SECONDMENT_") {
		return
	}
	if knownSettings(t)[name] {
		return
	}
	t.Errorf("%s: %s is not a setting of the binary (no %q in internal/config or cmd/secondment): renamed or misspelt?", where, name, name)
}

// TestSettingsSeen guards the scan itself: a setting every file here uses
// must be among those found.
func TestSettingsSeen(t *testing.T) {
	s := knownSettings(t)
	for _, name := range []string{"SECONDMENT_DATABASE_OWNER_URL", "SECONDMENT_MODE", "SECONDMENT_LOG_FORMAT", "SECONDMENT_DATA_DIR"} {
		if !s[name] {
			t.Errorf("the scan of internal/config did not find %s", name)
		}
	}
}

// TestYAMLParses parses the compose file and every YAML file under
// deploy/, each document of it, strictly enough to catch a tab or a
// duplicate key.
func TestYAMLParses(t *testing.T) {
	files := []string{filepath.Join(root, "docker-compose.yml")}
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("found no YAML under deploy/: %v", files)
	}
	for _, f := range files {
		docs := decodeAll(t, f)
		if len(docs) == 0 {
			t.Errorf("%s: no YAML document", f)
		}
	}
}

// decodeAll reads every document of a YAML file as a node tree.
func decodeAll(t *testing.T, path string) []*yaml.Node {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(n.Content) > 0 && !(n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Tag == "!!null") {
			docs = append(docs, &n)
		}
	}
}

// readFile reads a file of the repository.
func readFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sortedKeys is for stable messages.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// subcommands are the commands cmd/secondment's run dispatches on.
func subcommands(t *testing.T) []string {
	t.Helper()
	src := readFile(t, "cmd/secondment/main.go")
	var cmds []string
	for _, m := range regexp.MustCompile(`case ("[a-z]+"(?:, "[a-z-]+")*):`).FindAllStringSubmatch(src, -1) {
		for _, q := range strings.Split(m[1], ", ") {
			cmds = append(cmds, strings.Trim(q, `"`))
		}
	}
	if !slices.Contains(cmds, "serve") || !slices.Contains(cmds, "migrate") {
		t.Fatalf("cmd/secondment/main.go: found no serve or migrate command among %v", cmds)
	}
	return cmds
}

// checkArgs checks a command line given to the image: a real subcommand,
// and flags the binary defines.
func checkArgs(t *testing.T, where string, args []string) {
	t.Helper()
	if len(args) == 0 {
		return // the image's CMD, serve
	}
	if !slices.Contains(subcommands(t), args[0]) {
		t.Errorf("%s: %q is not a command of secondment (cmd/secondment/main.go)", where, args[0])
	}
	for _, a := range args[1:] {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !flagDefined(t, name) {
			t.Errorf("%s: flag %s is not defined in internal/config or cmd/secondment", where, a)
		}
	}
}

// flagDefined says whether a flag of that name is defined: its name as
// the first string argument of a flag definition.
func flagDefined(t *testing.T, name string) bool {
	t.Helper()
	re := regexp.MustCompile(`(?:Var|Bool|String|Int|Duration|Func)\((?:&[\w.]+, )?"` + regexp.QuoteMeta(name) + `",`)
	return re.MatchString(configSources(t))
}

// serveConfig reads a replica's settings as `secondment serve` does, with
// the binary's own flag set: env is its environment, args what follows
// "serve". A value the service would refuse at start (a CIDR that does not
// parse, a metrics address equal to the public one, single sign-on half
// configured) fails the test here, where no container starts.
func serveConfig(t *testing.T, where string, env map[string]string, args []string) config.Config {
	t.Helper()
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	}
	set := config.NewSet("serve", config.Options{HTTP: true}, func(k string) string { return env[k] }, io.Discard)
	cfg, err := set.Parse(args)
	if err != nil {
		t.Errorf("%s: secondment serve would refuse these settings:\n%v", where, err)
	}
	return cfg
}

// checkListeners wants the metrics listener, when there is one, on a port
// of its own: config compares the two addresses as strings only, so
// ":9090" beside "0.0.0.0:9090" would pass it and fail to listen.
func checkListeners(t *testing.T, where string, cfg config.Config) {
	t.Helper()
	if cfg.MetricsAddr == "" {
		return
	}
	_, app, _ := net.SplitHostPort(cfg.Addr)
	_, metrics, _ := net.SplitHostPort(cfg.MetricsAddr)
	if app == metrics {
		t.Errorf("%s: the metrics listener %q and the public one %q share port %s", where, cfg.MetricsAddr, cfg.Addr, app)
	}
}

// namedSettingRE finds a setting's name anywhere in a file, comments
// included, or a family of them ("SECONDMENT_OIDC_…").
var namedSettingRE = regexp.MustCompile(`SECONDMENT_[A-Z0-9_]*[A-Z0-9](_…|_\*)?`)

// TestSettingsNamedAnywhere checks every SECONDMENT_… name in the files
// here and in the operations documents, comments and examples included: a
// commented example names a real setting too, or it misleads whoever
// uncomments it.
func TestSettingsNamedAnywhere(t *testing.T) {
	files := []string{"docker-compose.yml", "docs/operations.md", "docs/backup.md"}
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasSuffix(p, ".go") {
			files = append(files, filepath.Join("deploy", p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		src := readFile(t, f)
		for n, line := range strings.Split(src, "\n") {
			for _, m := range namedSettingRE.FindAllStringSubmatch(line, -1) {
				where := fmt.Sprintf("%s:%d", f, n+1)
				if m[1] == "" {
					checkSetting(t, where, m[0])
					continue
				}
				prefix := strings.TrimSuffix(m[0], m[1]) + "_"
				if !slices.ContainsFunc(sortedKeys(knownSettings(t)), func(k string) bool { return strings.HasPrefix(k, prefix) }) {
					t.Errorf("%s: %s names no setting of the binary", where, m[0])
				}
			}
		}
	}
}
