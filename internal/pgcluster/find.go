// Package pgcluster runs a private PostgreSQL cluster from the server
// binaries installed on the machine: the service's embedded default when no
// database URL is given, and the throwaway cluster of the test suite.
package pgcluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// MinMajor is the oldest PostgreSQL major version the service supports.
const MinMajor = 14

// ErrNoBinaries is returned when no initdb/postgres pair can be found.
var ErrNoBinaries = errors.New("PostgreSQL server binaries (initdb, postgres) not found; " +
	"install them with `apt-get install postgresql` (Debian/Ubuntu), " +
	"or give a database URL (--database-url or SECONDMENT_DATABASE_URL), " +
	"or start one with `docker compose up -d db`")

// Finder locates the server binaries. Its fields are the outside world, so a
// test can stand in for each.
type Finder struct {
	PGConfigBinDir func() (string, error)         // `pg_config --bindir`
	Glob           func(string) ([]string, error) // filepath.Glob
	LookPath       func(string) (string, error)   // exec.LookPath
	IsExecutable   func(string) bool
}

// SystemFinder looks on this machine.
func SystemFinder() Finder {
	return Finder{
		PGConfigBinDir: func() (string, error) {
			out, err := exec.Command("pg_config", "--bindir").Output()
			return strings.TrimSpace(string(out)), err
		},
		Glob:     filepath.Glob,
		LookPath: exec.LookPath,
		IsExecutable: func(p string) bool {
			fi, err := os.Stat(p)
			return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
		},
	}
}

// BinDir returns the first directory holding both initdb and postgres, in
// the order: pg_config --bindir, /usr/lib/postgresql/*/bin (newest major
// first), then PATH. pg_config alone is not enough: with only libpq-dev it
// points at /usr/bin, which has no initdb.
func (f Finder) BinDir() (string, error) {
	has := func(dir string) bool {
		return dir != "" && f.IsExecutable(filepath.Join(dir, "initdb")) && f.IsExecutable(filepath.Join(dir, "postgres"))
	}
	if dir, err := f.PGConfigBinDir(); err == nil && has(dir) {
		return dir, nil
	}
	dirs, _ := f.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOfDir(b) - versionOfDir(a) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	initdb, err1 := f.LookPath("initdb")
	postgres, err2 := f.LookPath("postgres")
	if err1 == nil && err2 == nil {
		// Follow links: Debian puts links in /usr/local/bin or /usr/bin whose
		// targets sit together in the versioned directory.
		if real, err := filepath.EvalSymlinks(initdb); err == nil && has(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
		if filepath.Dir(initdb) == filepath.Dir(postgres) {
			return filepath.Dir(initdb), nil
		}
	}
	return "", ErrNoBinaries
}

func versionOfDir(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

var versionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

// ParseMajor reads the major version from `postgres --version` output.
func ParseMajor(out string) (int, error) {
	m := versionRE.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("cannot read the PostgreSQL version from %q", strings.TrimSpace(out))
	}
	return strconv.Atoi(m[1])
}

// CheckMajor refuses versions older than MinMajor.
func CheckMajor(major int) error {
	if major < MinMajor {
		return fmt.Errorf("PostgreSQL %d is not supported: version %d or newer is required", major, MinMajor)
	}
	return nil
}

// Tools lists the copies of a PostgreSQL client program (pg_dump,
// pg_restore) found where BinDir looks, in its order: pg_config --bindir,
// /usr/lib/postgresql/*/bin newest major first, then PATH. The caller
// picks the first new enough for its server: a client reads servers of its
// own major version and older, never newer ones. Empty when there is none
// (see NoClientError).
func (f Finder) Tools(name string) []string {
	var out []string
	add := func(p string) {
		if p != "" && f.IsExecutable(p) && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if dir, err := f.PGConfigBinDir(); err == nil && dir != "" {
		add(filepath.Join(dir, name))
	}
	dirs, _ := f.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOfDir(b) - versionOfDir(a) })
	for _, d := range dirs {
		add(filepath.Join(d, name))
	}
	if p, err := f.LookPath(name); err == nil {
		add(p)
	}
	return out
}

// NoClientError says that a client program is missing, or too old for a
// server of major version need (0: any), and which package brings it.
func NoClientError(name string, need int, found []string) error {
	if len(found) == 0 {
		return fmt.Errorf("%s not found: install the PostgreSQL client programs, `apt-get install postgresql-client` "+
			"(Debian/Ubuntu; the server package `postgresql` includes them)", name)
	}
	return fmt.Errorf("%s %d or newer is needed for a PostgreSQL %d server, found only %s: "+
		"install `postgresql-client-%d` (Debian/Ubuntu, from apt.postgresql.org when the distribution has no such version)",
		name, need, need, strings.Join(found, ", "), need)
}

// ToolMajor runs `path --version` and reads its major version.
func ToolMajor(path string) (int, error) {
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return 0, fmt.Errorf("run %s --version: %w", path, err)
	}
	return ParseMajor(string(out))
}
