package pgcluster

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// fakeFinder simulates a machine whose executables are the keys of files.
func fakeFinder(pgConfig string, globbed []string, path map[string]string, files ...string) Finder {
	exe := map[string]bool{}
	for _, f := range files {
		exe[f] = true
	}
	return Finder{
		PGConfigBinDir: func() (string, error) {
			if pgConfig == "" {
				return "", exec.ErrNotFound
			}
			return pgConfig, nil
		},
		Glob: func(string) ([]string, error) { return globbed, nil },
		LookPath: func(name string) (string, error) {
			if p, ok := path[name]; ok {
				return p, nil
			}
			return "", exec.ErrNotFound
		},
		IsExecutable: func(p string) bool { return exe[p] },
	}
}

func TestFinderOrder(t *testing.T) {
	cases := []struct {
		name string
		f    Finder
		want string
	}{
		{"pg_config with server binaries",
			fakeFinder("/opt/pg/bin", nil, nil, "/opt/pg/bin/initdb", "/opt/pg/bin/postgres"),
			"/opt/pg/bin"},
		{"pg_config from libpq-dev only: fall back to the newest versioned dir",
			fakeFinder("/usr/bin", []string{"/usr/lib/postgresql/13/bin", "/usr/lib/postgresql/15/bin"}, nil,
				"/usr/lib/postgresql/13/bin/initdb", "/usr/lib/postgresql/13/bin/postgres",
				"/usr/lib/postgresql/15/bin/initdb", "/usr/lib/postgresql/15/bin/postgres"),
			"/usr/lib/postgresql/15/bin"},
		{"versioned dir without postgres is skipped",
			fakeFinder("", []string{"/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"}, nil,
				"/usr/lib/postgresql/16/bin/initdb",
				"/usr/lib/postgresql/15/bin/initdb", "/usr/lib/postgresql/15/bin/postgres"),
			"/usr/lib/postgresql/15/bin"},
		{"PATH as the last resort",
			fakeFinder("", nil, map[string]string{"initdb": "/usr/local/pgsql/bin/initdb", "postgres": "/usr/local/pgsql/bin/postgres"},
				"/usr/local/pgsql/bin/initdb", "/usr/local/pgsql/bin/postgres"),
			"/usr/local/pgsql/bin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.f.BinDir()
			if err != nil || got != c.want {
				t.Fatalf("BinDir() = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestFinderMissingNamesThePackage(t *testing.T) {
	_, err := fakeFinder("/usr/bin", nil, nil).BinDir()
	if !errors.Is(err, ErrNoBinaries) {
		t.Fatalf("err = %v; want ErrNoBinaries", err)
	}
	for _, want := range []string{"apt-get install postgresql", "SECONDMENT_DATABASE_URL", "docker compose up"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not mention %q", err, want)
		}
	}
}

func TestVersion(t *testing.T) {
	if m, err := ParseMajor("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n"); err != nil || m != 15 {
		t.Fatalf("ParseMajor = %d, %v", m, err)
	}
	if _, err := ParseMajor("garbage"); err == nil {
		t.Fatal("ParseMajor accepted garbage")
	}
	if err := CheckMajor(13); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Fatalf("CheckMajor(13) = %v; want not supported", err)
	}
	if err := CheckMajor(MinMajor); err != nil {
		t.Fatalf("CheckMajor(%d) = %v", MinMajor, err)
	}
}

func TestToolsOrder(t *testing.T) {
	f := fakeFinder("/usr/bin", []string{"/usr/lib/postgresql/13/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"},
		map[string]string{"pg_dump": "/usr/bin/pg_dump"},
		"/usr/bin/pg_dump", "/usr/lib/postgresql/13/bin/pg_dump", "/usr/lib/postgresql/16/bin/pg_dump")
	got := strings.Join(f.Tools("pg_dump"), " ")
	// pg_config's directory first (here it has one too), then the
	// versioned ones newest first, each path once.
	if want := "/usr/bin/pg_dump /usr/lib/postgresql/16/bin/pg_dump /usr/lib/postgresql/13/bin/pg_dump"; got != want {
		t.Errorf("Tools = %q, want %q", got, want)
	}
	if got := fakeFinder("", nil, nil).Tools("pg_restore"); len(got) != 0 {
		t.Errorf("Tools on a machine without clients = %v", got)
	}
	if err := NoClientError("pg_dump", 0, nil); !strings.Contains(err.Error(), "postgresql-client") {
		t.Errorf("missing: %v", err)
	}
	if err := NoClientError("pg_dump", 17, []string{"/usr/lib/postgresql/15/bin/pg_dump"}); !strings.Contains(err.Error(), "postgresql-client-17") {
		t.Errorf("too old: %v", err)
	}
}
