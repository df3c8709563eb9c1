package deploy

import (
	"bufio"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// unit is a systemd unit file: section → key → values in order.
type unit map[string]map[string][]string

func (u unit) get(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// parseUnit reads a unit file's sections and keys (no line continuations:
// the unit has none).
func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			if u[section] != nil {
				t.Errorf("%s:%d: section [%s] twice", path, n, section)
			}
			u[section] = map[string][]string{}
		case strings.HasSuffix(line, `\`):
			t.Errorf("%s:%d: a continued line; this parser does not read those", path, n)
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Errorf("%s:%d: %q is not a key=value line inside a section", path, n, line)
				continue
			}
			u[section][strings.TrimSpace(k)] = append(u[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSystemdUnit(t *testing.T) {
	const path = "systemd/secondment.service"
	name := "deploy/" + path
	u := parseUnit(t, path)
	for _, s := range []string{"Unit", "Service", "Install"} {
		if u[s] == nil {
			t.Fatalf("%s: no [%s] section", name, s)
		}
	}

	cmd := strings.Fields(u.get("Service", "ExecStart"))
	if len(cmd) < 2 || !filepath.IsAbs(cmd[0]) || filepath.Base(cmd[0]) != "secondment" {
		t.Errorf("%s: ExecStart=%v; want the absolute path of secondment and a command", name, cmd)
	} else {
		checkArgs(t, name, cmd[1:])
		if cmd[1] != "serve" {
			t.Errorf("%s: ExecStart runs %q; want serve", name, cmd[1])
		}
	}
	if ef := strings.TrimPrefix(u.get("Service", "EnvironmentFile"), "-"); ef != "/etc/secondment/env" {
		t.Errorf("%s: EnvironmentFile=%q; want /etc/secondment/env", name, ef)
	}
	user := u.get("Service", "User")
	if user == "" && u.get("Service", "DynamicUser") != "yes" {
		t.Errorf("%s: runs as root: want User= or DynamicUser=yes", name)
	}
	for k, want := range map[string]string{
		"NoNewPrivileges": "yes",
		"ProtectSystem":   "strict",
		"PrivateTmp":      "yes",
		"Restart":         "on-failure",
	} {
		if got := u.get("Service", k); got != want {
			t.Errorf("%s: %s=%q; want %s", name, k, got, want)
		}
	}
	if u.get("Install", "WantedBy") == "" {
		t.Errorf("%s: no WantedBy=, so systemctl enable does nothing", name)
	}

	// The environment it sets: real settings, and the data directory
	// writable under ProtectSystem=strict.
	env := map[string]string{}
	for _, e := range u["Service"]["Environment"] {
		for _, kv := range strings.Fields(e) {
			k, v, _ := strings.Cut(strings.Trim(kv, `"`), "=")
			env[k] = v
			checkSetting(t, name+" Environment=", k)
		}
	}
	dataDir := env["SECONDMENT_DATA_DIR"]
	if dataDir == "" {
		t.Fatalf("%s: no SECONDMENT_DATA_DIR: the embedded cluster would go in the working directory", name)
	}
	var writable []string
	for _, v := range u["Service"]["ReadWritePaths"] {
		writable = append(writable, strings.Fields(v)...)
	}
	for _, v := range u["Service"]["StateDirectory"] {
		for _, d := range strings.Fields(v) {
			writable = append(writable, "/var/lib/"+d)
		}
	}
	if !slices.ContainsFunc(writable, func(w string) bool { return dataDir == w || strings.HasPrefix(dataDir, strings.TrimSuffix(w, "/")+"/") }) {
		t.Errorf("%s: the data directory %s is not under ReadWritePaths= or StateDirectory= (%v): read-only under ProtectSystem=strict", name, dataDir, writable)
	}

	// The system user the sysusers.d file creates is the unit's.
	if user != "" {
		f := readFile(t, "deploy/systemd/secondment.sysusers")
		found := false
		for _, line := range strings.Split(f, "\n") {
			if fs := strings.Fields(line); len(fs) >= 2 && fs[0] == "u" && fs[1] == user {
				found = true
			}
		}
		if !found {
			t.Errorf("deploy/systemd/secondment.sysusers does not create the unit's user %q", user)
		}
	}

	// The example environment file: KEY=value lines of real settings. The
	// service reads them over the unit's Environment=, and must accept them
	// as they stand and with the commented examples switched on.
	withExamples := maps.Clone(env)
	for n, line := range strings.Split(readFile(t, "deploy/systemd/env.example"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "# ") || line == "#" {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "#"), "=")
		if !ok || strings.ContainsAny(k, " \t") {
			t.Errorf("deploy/systemd/env.example:%d: %q is not KEY=value", n+1, line)
			continue
		}
		checkSetting(t, "deploy/systemd/env.example", k)
		if !strings.HasPrefix(line, "#") {
			env[k] = v
		}
		withExamples[k] = v
	}
	if len(cmd) > 1 {
		checkListeners(t, name, serveConfig(t, name+" with deploy/systemd/env.example", env, cmd[1:]))
		serveConfig(t, name+" with deploy/systemd/env.example's examples uncommented", withExamples, cmd[1:])
	}

	systemdAnalyze(t, path)
}

// systemdAnalyze runs systemd-analyze verify on a copy of the unit whose
// ExecStart points at an executable that exists (the test binary), so that
// what it checks is the rest: unknown keys, bad values, missing sections.
// It prints those as warnings with exit status 0, so any output fails.
func systemdAnalyze(t *testing.T, path string) {
	t.Helper()
	bin, err := exec.LookPath("systemd-analyze")
	if err != nil {
		// Not a silent pass: the unit would go unchecked.
		t.Fatalf("systemd-analyze is not installed: apt-get install systemd (.ci/run installs it)")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "secondment.service")
	src := strings.ReplaceAll(string(b), "/usr/local/bin/secondment", self)
	if err := os.WriteFile(copyPath, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "verify", "--man=no", copyPath).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify deploy/%s: %v\n%s", path, err, out)
	}
}
