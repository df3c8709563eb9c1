package deploy

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The operations documents name commands, flags, series and sections;
// these tests keep those names the code's, since no reader runs them in CI.
var opsDocs = []string{"docs/operations.md", "docs/backup.md"}

// codeSpans are the fenced blocks' lines and the inline code spans of a
// Markdown document.
func codeSpans(src string) []string {
	var out []string
	fenced := false
	for _, line := range strings.Split(src, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			out = append(out, line)
			continue
		}
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(line, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// commandRE finds a secondment command line, up to a shell separator:
// "secondment backup --out FILE" or "docker compose run --rm tools backup
// --out FILE". A login ("-u secondment") is no command.
var (
	commandRE = regexp.MustCompile(`(?:^|[^-\w])secondment ([a-z][^;&|<>#)'` + "`" + `]*)`)
	composeRE = regexp.MustCompile(`docker compose run ([^;&|<>#]*)`)
	loginRE   = regexp.MustCompile(`-[uU] secondment\b`)
)

// TestOpsDocCommands checks the commands the operations documents show:
// each is a subcommand of secondment, with flags it defines; each run
// through compose names a service of docker-compose.yml.
func TestOpsDocCommands(t *testing.T) {
	c := loadCompose(t)
	seen := 0
	for _, doc := range opsDocs {
		for _, span := range codeSpans(readFile(t, doc)) {
			span = loginRE.ReplaceAllString(span, "")
			for _, m := range composeRE.FindAllStringSubmatch(span, -1) {
				f := strings.Fields(m[1])
				for len(f) > 0 && strings.HasPrefix(f[0], "-") {
					if f[0] == "--entrypoint" { // another program: not secondment's arguments
						f = nil
						break
					}
					f = f[1:]
				}
				if len(f) == 0 {
					continue
				}
				if len(f) > 1 && regexp.MustCompile(`^[A-Z_]+$`).MatchString(f[1]) {
					continue // a placeholder: "run --rm tools COMMAND"
				}
				if c.Services[f[0]] == nil {
					t.Errorf("%s: `%s` runs service %q, which docker-compose.yml lacks", doc, m[0], f[0])
					continue
				}
				checkArgs(t, doc+": `"+m[0]+"`", f[1:])
				seen++
			}
			for _, m := range commandRE.FindAllStringSubmatch(span, -1) {
				checkArgs(t, doc+": `secondment "+m[1]+"`", strings.Fields(m[1]))
				seen++
			}
		}
	}
	if seen < 10 {
		t.Errorf("found only %d secondment commands in %v: has the scan stopped seeing them?", seen, opsDocs)
	}
}

// foreignFlags are other programs' flags the documents name on their own
// (docker build's, pg_restore's).
var foreignFlags = []string{"target", "clean", "if-exists", "no-owner", "no-acl", "single-transaction", "format", "snapshot"}

// TestOpsDocFlags checks the flags the documents name on their own, as
// `--flag` or `--flag=value`: each is one secondment defines.
func TestOpsDocFlags(t *testing.T) {
	seen := 0
	for _, doc := range opsDocs {
		for _, span := range codeSpans(readFile(t, doc)) {
			m := regexp.MustCompile(`^--([a-z][a-z-]*)`).FindStringSubmatch(span)
			if m == nil || slices.Contains(foreignFlags, m[1]) {
				continue
			}
			seen++
			if !flagDefined(t, m[1]) {
				t.Errorf("%s: `%s`: secondment defines no flag --%s", doc, span, m[1])
			}
		}
	}
	if seen < 10 {
		t.Errorf("found only %d flags named in %v: has the scan stopped seeing them?", seen, opsDocs)
	}
}

// seriesNames are the Prometheus series internal/metrics defines, with
// the namespace: a Name of the options and each desc(…).
func seriesNames(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "internal/metrics/*.go"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	re := regexp.MustCompile(`(?:Name: |desc\()"([a-z_]+)"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		for _, m := range re.FindAllStringSubmatch(readFile(t, strings.TrimPrefix(f, root+"/")), -1) {
			names["secondment_"+m[1]] = true
		}
	}
	if !names["secondment_database_up"] || !names["secondment_http_request_duration_seconds"] {
		t.Fatalf("found no secondment_database_up or secondment_http_request_duration_seconds in internal/metrics (found %d): has it moved?", len(names))
	}
	return names
}

// TestOpsDocAlerts parses the alert rules of docs/operations.md as
// Prometheus reads them and checks that each series they query exists
// (a histogram's _bucket, _sum and _count included).
func TestOpsDocAlerts(t *testing.T) {
	src := readFile(t, "docs/operations.md")
	block := regexp.MustCompile("(?s)```yaml\n(groups:.*?)```").FindStringSubmatch(src)
	if block == nil {
		t.Fatalf("docs/operations.md: no ```yaml block of alert rules (groups:)")
	}
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
				For   string `yaml:"for"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal([]byte(block[1]), &rules); err != nil {
		t.Fatalf("docs/operations.md: alert rules: %v", err)
	}
	series := seriesNames(t)
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			if r.Alert == "" || r.Expr == "" || r.For == "" {
				t.Errorf("docs/operations.md: rule %+v: want alert, expr and for", r)
			}
			for _, name := range regexp.MustCompile(`secondment_[a-z_]+`).FindAllString(r.Expr, -1) {
				base := regexp.MustCompile(`_(bucket|sum|count)$`).ReplaceAllString(name, "")
				if !series[name] && !series[base] {
					t.Errorf("docs/operations.md: alert %s queries %s, which internal/metrics does not define", r.Alert, name)
				}
			}
		}
	}
	if n == 0 {
		t.Errorf("docs/operations.md: no alert rules")
	}
}

// anchor is the fragment GitHub gives a heading.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 0x2e7f:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestOpsDocLinks checks the relative links of the operations documents
// and of the README: the file exists, and so does the section.
func TestOpsDocLinks(t *testing.T) {
	linkRE := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, doc := range append(slices.Clone(opsDocs), "README.md") {
		for _, m := range linkRE.FindAllStringSubmatch(readFile(t, doc), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, frag, _ := strings.Cut(target, "#")
			rel := doc
			if file != "" {
				rel = filepath.ToSlash(filepath.Join(filepath.Dir(doc), file))
			}
			src := readFile(t, rel)
			if frag == "" {
				continue
			}
			var anchors []string
			for _, h := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllStringSubmatch(src, -1) {
				anchors = append(anchors, anchor(strings.ReplaceAll(h[1], "`", "")))
			}
			if !slices.Contains(anchors, frag) {
				t.Errorf("%s: link %s: %s has no section #%s", doc, target, rel, frag)
			}
		}
	}
}
