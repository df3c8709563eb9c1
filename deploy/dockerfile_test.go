package deploy

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// dockerStage is one stage of deploy/Dockerfile: the image it starts
// from, its name, and its instructions with continuation lines joined.
type dockerStage struct {
	from, name string
	lines      []string
}

// has says whether one of the stage's instructions matches re.
func (s dockerStage) has(re string) bool {
	r := regexp.MustCompile(re)
	for _, l := range s.lines {
		if r.MatchString(l) {
			return true
		}
	}
	return false
}

// uid is the numeric user of the stage's USER line; "" without one.
func (s dockerStage) uid() string {
	for _, l := range s.lines {
		if m := regexp.MustCompile(`^USER (\d+)(?::\d+)?$`).FindStringSubmatch(l); m != nil {
			return m[1]
		}
	}
	return ""
}

// parseDockerfile reads deploy/Dockerfile: the ARGs declared before the
// first FROM (with their defaults), and the stages in order.
func parseDockerfile(t *testing.T) (args map[string]string, stages []dockerStage) {
	t.Helper()
	args = map[string]string{}
	var joined []string
	cont := ""
	for _, line := range strings.Split(readFile(t, "deploy/Dockerfile"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cont += strings.TrimSuffix(line, `\`) + " "
			continue
		}
		joined = append(joined, cont+line)
		cont = ""
	}
	for _, l := range joined {
		f := strings.Fields(l)
		switch {
		case f[0] == "FROM":
			st := dockerStage{from: f[1]}
			if len(f) == 4 && strings.EqualFold(f[2], "AS") {
				st.name = f[3]
			}
			stages = append(stages, st)
		case len(stages) == 0 && f[0] == "ARG":
			k, v, _ := strings.Cut(f[1], "=")
			args[k] = v
		case len(stages) == 0:
			t.Fatalf("deploy/Dockerfile: %q before the first FROM", l)
		default:
			stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, l)
		}
	}
	if len(stages) == 0 {
		t.Fatalf("deploy/Dockerfile: no FROM")
	}
	return args, stages
}

// dockerfileStage is the stage of that name; "" is the last, the one
// `docker build` makes without --target.
func dockerfileStage(t *testing.T, name string) dockerStage {
	t.Helper()
	_, stages := parseDockerfile(t)
	if name == "" {
		return stages[len(stages)-1]
	}
	for _, s := range stages {
		if s.name == name {
			return s
		}
	}
	t.Fatalf("deploy/Dockerfile: no stage %q", name)
	return dockerStage{}
}

// dockerfileUID is the user the service's image (the last stage) runs as.
func dockerfileUID(t *testing.T) string {
	t.Helper()
	return dockerfileStage(t, "").uid()
}

// builtBinary is the path the build stage writes ./cmd/secondment to.
func builtBinary(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`go build .*-o (\S+) \./cmd/secondment`).FindStringSubmatch(readFile(t, "deploy/Dockerfile"))
	if m == nil {
		t.Fatalf("deploy/Dockerfile: does not build ./cmd/secondment")
	}
	return m[1]
}

// pgMajor is the PostgreSQL major version of an image reference
// ("postgres:16", "postgres:16.4-bookworm", "postgres:${PG_MAJOR}"), with
// build arguments from args; 0 when it names none.
func pgMajor(image string, args map[string]string) int {
	image = regexp.MustCompile(`\$\{?(\w+)\}?`).ReplaceAllStringFunc(image, func(v string) string {
		return args[strings.Trim(v, "${}")]
	})
	m := regexp.MustCompile(`^postgres:(\d+)`).FindStringSubmatch(image)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestDockerfile checks both images: the service's holds the binary as its
// entrypoint, runs as a non-root user and has /tmp; the tools image holds
// the same binary beside pg_dump and pg_restore of a known major version,
// as the same user, with somewhere to write backups. The tools stage must
// not be the last: `docker build` without --target makes the service's.
func TestDockerfile(t *testing.T) {
	args, stages := parseDockerfile(t)
	bin := builtBinary(t)

	t.Run("runtime", func(t *testing.T) {
		rt := stages[len(stages)-1]
		name := filepath.Base(bin)
		if !rt.has(`^COPY --from=build ` + regexp.QuoteMeta(bin) + ` /` + regexp.QuoteMeta(name) + `$`) {
			t.Errorf("deploy/Dockerfile: the last stage does not copy the built %s to /%s", bin, name)
		}
		if !rt.has(`^ENTRYPOINT \["/` + regexp.QuoteMeta(name) + `"\]$`) {
			t.Errorf("deploy/Dockerfile: the last stage's ENTRYPOINT is not /%s", name)
		}
		if uid := rt.uid(); uid == "0" || uid == "" {
			t.Errorf("deploy/Dockerfile: the service's image runs as user %q; want a non-root USER", uid)
		}
		if !rt.has(`^COPY --from=build .*/tmp /tmp$`) {
			t.Errorf("deploy/Dockerfile: no /tmp in the service's image (uploads over 1 MiB spill there)")
		}
		for _, l := range rt.lines {
			for _, m := range regexp.MustCompile(`(SECONDMENT_[A-Z0-9_]+)=`).FindAllStringSubmatch(l, -1) {
				checkSetting(t, "deploy/Dockerfile", m[1])
			}
		}
	})

	t.Run("tools", func(t *testing.T) {
		tools := dockerfileStage(t, "tools")
		if tools.name == stages[len(stages)-1].name {
			t.Fatalf("deploy/Dockerfile: tools is the last stage, so a build without --target would make it")
		}
		if major := pgMajor(tools.from, args); major < 14 {
			t.Errorf("deploy/Dockerfile: tools starts from %q (args %v); want postgres:N, N ≥ 14 (the oldest server the service supports), for pg_dump", tools.from, args)
		}
		m := regexp.MustCompile(`^COPY --from=build ` + regexp.QuoteMeta(bin) + ` (/\S+)$`)
		path := ""
		for _, l := range tools.lines {
			if mm := m.FindStringSubmatch(l); mm != nil {
				path = mm[1]
			}
		}
		if path == "" {
			t.Fatalf("deploy/Dockerfile: the tools stage does not copy the built %s", bin)
		}
		if !tools.has(`^ENTRYPOINT \["` + regexp.QuoteMeta(path) + `"\]$`) {
			t.Errorf("deploy/Dockerfile: the tools stage's ENTRYPOINT is not %s", path)
		}
		uid := tools.uid()
		if uid != dockerfileUID(t) {
			t.Errorf("deploy/Dockerfile: the tools image runs as %q, the service's as %q; one user keeps the manifests' runAsUser right for both", uid, dockerfileUID(t))
		}
		if !tools.has(`^COPY --from=build --chown=` + uid + `:\d+ \S+ /backups$`) {
			t.Errorf("deploy/Dockerfile: no /backups owned by user %s in the tools image (a new volume mounted there takes its owner)", uid)
		}
		// libpq finds the CA bundle through SSL_CERT_FILE, which must be
		// a file the stage has.
		mm := regexp.MustCompile(`SSL_CERT_FILE=(\S+)`).FindStringSubmatch(strings.Join(tools.lines, "\n"))
		if mm == nil || !tools.has(`^COPY --from=build \S+ `+regexp.QuoteMeta(mm[1])+`$`) {
			t.Errorf("deploy/Dockerfile: the tools stage sets no SSL_CERT_FILE that it copies in: libpq (pg_dump) could not verify the database's certificate")
		}
	})
}
