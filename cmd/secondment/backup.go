package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"secondment/internal/config"
	"secondment/internal/pgcluster"
	"secondment/internal/postgres"
)

// runBackup dumps the database with pg_dump's custom format into --out.
// It works on the embedded cluster too (started from --data-dir, or used
// through its socket while `serve` runs). The dump is written to
// FILE.partial and renamed into place only when pg_dump succeeded, so a
// file named FILE is always a whole backup.
func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	set := newSet("backup", "secondment backup --out FILE [--force] [flags]", config.Options{}, getenv, stdout)
	outFlag := set.String("out", "", "the file to write (pg_dump's custom format, mode 0600; secondment restore --in FILE reads it), "+
		"written as FILE.partial and renamed once complete; refused if it exists, unless --force")
	force := set.Bool("force", false, "replace --out if it exists (and a FILE.partial an interrupted backup left)")
	cfg, pos, err := parse(set, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &usageError{fmt.Sprintf("backup takes no arguments, got %q", pos[0])}
	}
	if *outFlag == "" {
		return &usageError{"backup needs --out FILE"}
	}
	out, err := filepath.Abs(*outFlag)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(out); err == nil {
		if fi.IsDir() {
			return fmt.Errorf("--out %s is a directory; name the backup's file", out)
		}
		if !*force {
			return fmt.Errorf("%s exists; choose another name or add --force to replace it", out)
		}
	}

	db, err := openDatabase(ctx, cfg, cfg.Logger(stderr), false, false)
	if err != nil {
		return err
	}
	defer db.Close()
	info, err := db.store.ServerInfoRead(ctx)
	if err != nil {
		return err
	}
	dump, dumpMajor, err := clientTool("pg_dump", info.Major(), true)
	if err != nil {
		return err
	}
	began := time.Now()
	var c postgres.Contents
	err = writeBackup(out, *force, func(w io.Writer) error {
		return db.store.Snapshot(ctx, func(id string, contents postgres.Contents) error {
			c = contents
			return pgDump(ctx, dump, db.url, id, w)
		})
	})
	if err != nil {
		return err
	}
	fi, err := os.Stat(out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s: %s in %s\n", out, bytesize(fi.Size()), time.Since(began).Round(10*time.Millisecond))
	fmt.Fprintf(stdout, "  from %s, PostgreSQL %s; pg_dump %d (%s)\n", db.describe, info.Version, dumpMajor, dump)
	printContents(stdout, c)
	if len(c.Heads) > 0 {
		fmt.Fprintln(stdout, "  the audit chain's heads: after a restore, `secondment audit verify --expect SEQ:HASH` checks the trail against each")
		for _, h := range c.Heads {
			fmt.Fprintf(stdout, "  head: %d:%x\n", h.Seq, h.Hash)
		}
	}
	return nil
}

// printContents prints what a database holds, in the same words for a
// backup and a restore, so the two can be compared.
func printContents(w io.Writer, c postgres.Contents) {
	schema := "none (never migrated)"
	if c.Schema.Current > 0 {
		schema = postgres.MigrationName(c.Schema.Current)
		if c.Schema.Dirty {
			schema += " (dirty: a migration failed half-way)"
		}
	}
	fmt.Fprintf(w, "  schema %s; this binary's latest %s\n", schema, postgres.MigrationName(c.Schema.Latest))
	fmt.Fprintf(w, "  %d tables: %d requests, %d people, %d accounts, %d audit events, %d letters and other files (%s), %d notifications\n",
		len(c.Tables), c.Requests, c.People, c.Users, c.AuditEvents, c.Attachments, bytesize(c.AttachmentBytes), c.Notifications)
}

// writeBackup has dump write into out.partial, then gives the file its
// name only when dump succeeded and the bytes are on disk: a file named out
// is always a whole backup. A failed dump leaves neither file.
func writeBackup(out string, force bool, dump func(io.Writer) error) error {
	partial := out + ".partial"
	f, err := createPartial(partial, force)
	if err != nil {
		return err
	}
	err = dump(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = place(partial, out, force)
	}
	if err != nil {
		_ = os.Remove(partial)
	}
	return err
}

// createPartial creates the scratch file of a backup, readable by its
// owner only: a dump holds password hashes and people's particulars.
func createPartial(path string, force bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		if !force {
			return nil, fmt.Errorf("%s exists: another backup is writing it, or one was interrupted; "+
				"remove it, or add --force", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	}
	if err != nil {
		return nil, fmt.Errorf("create the backup file: %w", err)
	}
	return f, nil
}

// place gives the finished dump its name: without force by a hard link,
// which fails rather than replace a file made meanwhile; with force by a
// rename, which replaces it whole. Then the directory is synced, so the
// name survives a crash.
func place(partial, out string, force bool) error {
	if force {
		if err := os.Rename(partial, out); err != nil {
			return fmt.Errorf("rename the backup into place: %w", err)
		}
	} else if err := os.Link(partial, out); errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s was created while the backup ran; add --force to replace it", out)
	} else if err != nil {
		// A file system without hard links: look, then rename.
		if _, serr := os.Lstat(out); serr == nil {
			return fmt.Errorf("%s was created while the backup ran; add --force to replace it", out)
		}
		if err := os.Rename(partial, out); err != nil {
			return fmt.Errorf("rename the backup into place: %w", err)
		}
	} else {
		_ = os.Remove(partial)
	}
	if d, err := os.Open(filepath.Dir(out)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// pgDump runs pg_dump on the snapshot into w.
func pgDump(ctx context.Context, dump, dbURL, snapshot string, w io.Writer) error {
	dsn, env := libpqConn(dbURL)
	cmd := exec.CommandContext(ctx, dump, "--format=custom", "--no-password", "--snapshot="+snapshot,
		// A migration holding a table exclusively makes the dump fail,
		// rather than wait behind it for ever.
		"--lock-wait-timeout=60s", "--dbname="+dsn)
	cmd.Env = append(os.Environ(), env...)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &errb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pg_dump failed (%w): %s", err, strings.TrimSpace(errb.String()))
	}
	return nil
}

// clientTool finds a PostgreSQL client program for a server of major
// version server: with oldest, the first found that is at least as new
// (pg_dump reads its own and older servers only); otherwise the newest.
func clientTool(name string, server int, oldest bool) (path string, major int, err error) {
	var found []string
	for _, p := range pgcluster.SystemFinder().Tools(name) {
		m, err := pgcluster.ToolMajor(p)
		if err != nil {
			continue
		}
		found = append(found, fmt.Sprintf("%s (%d)", p, m))
		if m >= server && (oldest || m > major) {
			path, major = p, m
			if oldest {
				break
			}
		}
	}
	if path == "" {
		return "", 0, pgcluster.NoClientError(name, server, found)
	}
	return path, major, nil
}

// libpqConn turns a database URL as pgx reads it into one for libpq
// (pg_dump, pg_restore): the password (in the URL's user part, its query,
// or a key=value string) moves to PGPASSWORD, out of the process list,
// and pgx's own parameters (pool_max_conns, …), which libpq refuses, are
// dropped from a URL. A key=value string is otherwise passed on as it is.
func libpqConn(raw string) (dsn string, env []string) {
	env = []string{"PGAPPNAME=secondment"}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		rest, pw, found := cutPassword(raw)
		if found {
			env = append(env, "PGPASSWORD="+pw)
		}
		return rest, env
	}
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			env = append(env, "PGPASSWORD="+pw)
			u.User = url.User(u.User.Username())
		}
	}
	q := u.Query()
	if pw := q.Get("password"); q.Has("password") {
		env = append(env, "PGPASSWORD="+pw)
		q.Del("password")
	}
	for k := range q {
		if strings.HasPrefix(k, "pool_") || slices.Contains(pgxOnlyParams, k) {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), env
}

// pgxOnlyParams are the URL parameters pgx reads that libpq does not know.
var pgxOnlyParams = []string{"statement_cache_capacity", "description_cache_capacity", "default_query_exec_mode",
	"min_read_buffer_size", "prefer_simple_protocol"}

// bytesize writes n bytes for a person.
func bytesize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// runRestore loads a backup made by `secondment backup` into the
// configured database, as the schema's owner: objects are created owned by
// it (--no-owner), without the source's grants (--no-acl), and then the
// application role gets its grants again (postgres.GrantApp), so a backup
// from a database with other role names restores anywhere. pg_restore
// runs as one transaction: a restore that fails leaves the database as it
// was.
//
// An empty database (no table) is restored into without more ado. A
// database holding anything is replaced only with --yes, and only when
// every table it has is in the backup: each of the backup's objects is
// dropped and made again, and a table the backup lacks (a newer schema,
// something else's data) would survive the restore, so it is refused
// instead. A running service is refused too: the embedded cluster's lock
// says so, and on an external database so does any session of the
// service's logins.
func runRestore(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	set := newSet("restore", "secondment restore --in FILE [--yes] [flags]", config.Options{}, getenv, stdout)
	inFlag := set.String("in", "", "the backup to restore, as secondment backup --out wrote it")
	yes := set.Bool("yes", false, "replace what the database holds: needed unless it has no tables. Each of the backup's objects "+
		"is dropped and made again, all in one transaction (a failure changes nothing); a database with tables the backup "+
		"lacks is refused even so, and so is one the service is connected to (docs/backup.md)")
	cfg, pos, err := parse(set, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &usageError{fmt.Sprintf("restore takes no arguments, got %q", pos[0])}
	}
	if *inFlag == "" {
		return &usageError{"restore needs --in FILE"}
	}
	in, err := filepath.Abs(*inFlag)
	if err != nil {
		return err
	}
	if _, err := os.Stat(in); err != nil {
		return fmt.Errorf("the backup: %w", err)
	}
	restore, _, err := clientTool("pg_restore", 0, false)
	if err != nil {
		return err
	}
	toc, err := readTOC(ctx, restore, in)
	if err != nil {
		return err
	}
	if !slices.Contains(toc.Tables, "schema_migrations") {
		return fmt.Errorf("%s holds no schema_migrations table: it is not a backup of this service's database", in)
	}

	db, err := openDatabase(ctx, cfg, cfg.Logger(stderr), true, false)
	if err != nil {
		return err
	}
	defer db.Close()
	logins := []string{}
	if l, err := postgres.LoginOf(db.url); err == nil {
		logins = append(logins, l)
	}
	if db.appRole != "" {
		logins = append(logins, db.appRole)
	}
	if n, err := db.store.SessionsOf(ctx, logins); err != nil {
		return err
	} else if n > 0 {
		return fmt.Errorf("%d other sessions of %s are connected to the database: stop the service (every replica) "+
			"and its other commands before restoring", n, strings.Join(logins, " or "))
	}
	target, err := db.store.ContentsRead(ctx)
	if err != nil {
		return err
	}
	clean := !target.Empty()
	if clean {
		if !*yes {
			var b strings.Builder
			printContents(&b, target)
			return &usageError{fmt.Sprintf("the database (%s) is not empty:\n%s"+
				"restore --yes replaces all of it with the backup", db.describe, b.String())}
		}
		var extra []string
		for _, t := range target.Tables {
			if !slices.Contains(toc.Tables, t) {
				extra = append(extra, t)
			}
		}
		if len(extra) > 0 {
			return fmt.Errorf("the database has tables the backup lacks (%s): it holds a newer schema or other data, "+
				"which a restore would leave behind; restore into an empty database instead", strings.Join(extra, ", "))
		}
	}
	for _, e := range toc.Extensions {
		if err := db.store.ExtensionCreate(ctx, e); err != nil {
			return err
		}
	}
	list, err := os.CreateTemp("", "secondment-restore-*.list")
	if err != nil {
		return err
	}
	defer os.Remove(list.Name())
	_, err = list.WriteString(toc.List)
	if cerr := list.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}

	fmt.Fprintf(stdout, "restoring %s (%s) into %s\n", in, toc.Header, db.describe)
	began := time.Now()
	dsn, env := libpqConn(db.url)
	rargs := []string{"--no-owner", "--no-acl", "--single-transaction", "--exit-on-error", "--no-password",
		"--use-list=" + list.Name(), "--dbname=" + dsn}
	if clean {
		rargs = append(rargs, "--clean", "--if-exists")
	}
	cmd := exec.CommandContext(ctx, restore, append(rargs, in)...)
	cmd.Env = append(os.Environ(), env...)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &errb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pg_restore failed (%w); the database is as it was: %s", err, strings.TrimSpace(errb.String()))
	}
	if db.appRole != "" {
		if err := postgres.GrantApp(ctx, db.store.Pool, db.appRole); err != nil {
			return err
		}
	}
	c, err := db.store.ContentsRead(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored in %s\n", time.Since(began).Round(10*time.Millisecond))
	printContents(stdout, c)
	if db.appRole != "" {
		fmt.Fprintf(stdout, "  the application role %s has its grants again\n", db.appRole)
	}
	r, err := db.store.AuditVerify(ctx, time.Now, "restore")
	if err != nil {
		return err
	}
	if !r.OK {
		fmt.Fprintf(stdout, "the restored audit chain is BROKEN at link %d: %s\n", r.BrokenSeq, chainProblem[r.Problem])
		return errChainBroken
	}
	fmt.Fprintf(stdout, "  audit chain intact: %d links; its heads:\n", r.Checked)
	for _, h := range r.Heads {
		fmt.Fprintf(stdout, "  head: %d:%x\n", h.Seq, h.Hash)
	}
	switch st := c.Schema; {
	case st.Current > st.Latest:
		fmt.Fprintf(stdout, "the backup's schema is newer than this binary's: serve it with the version of secondment that made it\n")
	case st.Current < st.Latest:
		fmt.Fprintf(stdout, "the backup's schema is older than this binary's: `serve` (or `migrate up`) brings it up to date\n")
	}
	return nil
}

// toc is what `pg_restore --list` says of a backup.
type toc struct {
	Header     string   // who dumped what, when
	Tables     []string // the tables of the public schema
	Extensions []string
	List       string // the entries to restore: all but the extensions and their comments
}

var (
	tocTable      = regexp.MustCompile(`^\d+; \d+ \d+ TABLE public (\S+) \S*$`)
	tocExtension  = regexp.MustCompile(`^\d+; \d+ \d+ EXTENSION - (\S+)`)
	tocExtComment = regexp.MustCompile(`^\d+; \d+ \d+ COMMENT - EXTENSION `)
	tocHeader     = regexp.MustCompile(`^;\s+(Archive created at|Dumped from database version:|Dumped by pg_dump version:)\s+(.*)$`)
)

// readTOC lists the backup's contents. The extensions are left out of the
// list: the restore creates each beforehand if missing, for an extension a
// superuser created is the owner's to neither drop (--clean) nor comment
// on.
func readTOC(ctx context.Context, restore, file string) (toc, error) {
	var t toc
	var errb bytes.Buffer
	cmd := exec.CommandContext(ctx, restore, "--list", file)
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return t, fmt.Errorf("%s is not a backup pg_restore can read (%w): %s", file, err, strings.TrimSpace(errb.String()))
	}
	var list strings.Builder
	var header []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := tocHeader.FindStringSubmatch(line); m != nil {
			header = append(header, strings.ToLower(m[1][:1])+strings.TrimSuffix(m[1][1:], ":")+" "+m[2])
		}
		if m := tocTable.FindStringSubmatch(line); m != nil {
			t.Tables = append(t.Tables, m[1])
		}
		if m := tocExtension.FindStringSubmatch(line); m != nil {
			t.Extensions = append(t.Extensions, m[1])
			continue
		}
		if tocExtComment.MatchString(line) {
			continue
		}
		list.WriteString(line)
		list.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return t, err
	}
	t.Header, t.List = strings.Join(header, ", "), list.String()
	return t, nil
}

// cutPassword takes the password=… pair out of a libpq key=value string
// (its value bare or single-quoted, with \' and \\ escapes), returning the
// rest and the password.
func cutPassword(kv string) (rest, password string, found bool) {
	var out strings.Builder
	for i := 0; i < len(kv); {
		// One pair: key, '=', value.
		j := i
		for j < len(kv) && kv[j] == ' ' {
			j++
		}
		k := j
		for k < len(kv) && kv[k] != '=' && kv[k] != ' ' {
			k++
		}
		key := kv[j:k]
		for k < len(kv) && kv[k] == ' ' {
			k++
		}
		if k >= len(kv) || kv[k] != '=' {
			out.WriteString(kv[i:])
			break
		}
		k++
		for k < len(kv) && kv[k] == ' ' {
			k++
		}
		var val strings.Builder
		end := k
		if end < len(kv) && kv[end] == '\'' {
			for end++; end < len(kv) && kv[end] != '\''; end++ {
				if kv[end] == '\\' && end+1 < len(kv) {
					end++
				}
				val.WriteByte(kv[end])
			}
			end++ // the closing quote
		} else {
			for ; end < len(kv) && kv[end] != ' '; end++ {
				if kv[end] == '\\' && end+1 < len(kv) {
					end++
				}
				val.WriteByte(kv[end])
			}
		}
		end = min(end, len(kv))
		if key == "password" {
			password, found = val.String(), true
		} else {
			out.WriteString(kv[i:end])
		}
		i = end
	}
	return strings.TrimSpace(out.String()), password, found
}
