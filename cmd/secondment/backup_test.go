package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/dbtest"
	"secondment/internal/lettertest"
	"secondment/internal/pgcluster"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// postJSON posts body as JSON and returns the status, the ETag and the
// answer.
func postJSON(t *testing.T, c *http.Client, url, ifMatch string, body any) (int, string, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(t.Context(), "POST", url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("ETag"), string(raw)
}

// fileRequest has the borrowing clerk signed in on c file a request at
// base through the API and submit it, for the first nominee the rules
// allow; it returns the request's ID and version tag.
func fileRequest(t *testing.T, c *http.Client, base string) (int64, string) {
	t.Helper()
	code, body := fetch(t, c, base+"/api/v1/nominees")
	var v struct {
		Nominees []struct {
			ID int64 `json:"id"`
		} `json:"nominees"`
	}
	if err := json.Unmarshal([]byte(body), &v); code != 200 || err != nil || len(v.Nominees) == 0 {
		t.Fatalf("nominees: %d %v %s", code, err, body)
	}
	today := secondment.DateOf(time.Now())
	first := time.Date(today.Year, today.Month, today.Day, 0, 0, 0, 0, time.UTC)
	day := func(d int) string { return first.AddDate(0, 0, d).Format(time.DateOnly) }
	var last string
	for i, n := range v.Nominees {
		draft := map[string]any{"person_id": n.ID, "kind": "secondment", "purpose": "special_project",
			"task": "专项巡察", "justification": "任务紧急", "start": day(20 + i), "end": day(40 + i)}
		code, etag, body := postJSON(t, c, base+"/api/v1/secondments", "", draft)
		if code != http.StatusCreated {
			last = fmt.Sprintf("create: %d %s", code, body)
			continue
		}
		var r struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatal(err)
		}
		code, etag, body = postJSON(t, c, fmt.Sprintf("%s/api/v1/secondments/%d/actions/submit", base, r.ID), etag, nil)
		if code == http.StatusOK {
			return r.ID, etag
		}
		last = fmt.Sprintf("submit: %d %s", code, body)
	}
	t.Fatalf("no nominee could be filed and submitted; the last answer: %s", last)
	return 0, ""
}

// consentWithLetter has the lending unit's contact signed in on c consent
// to request id at base with letter attached.
func consentWithLetter(t *testing.T, c *http.Client, base string, id int64, etag string, letter []byte) {
	t.Helper()
	code, _, body := postJSON(t, c, fmt.Sprintf("%s/api/v1/secondments/%d/actions/consent", base, id), etag,
		map[string]any{"opinion": "同意借调", "letter": map[string]string{"name": "同意函.pdf",
			"content_base64": base64.StdEncoding.EncodeToString(letter)}})
	if code != http.StatusOK {
		t.Fatalf("consent with a letter: %d %s", code, body)
	}
}

// lenderLogin is the demo login of request id's lending unit's contact.
func lenderLogin(t *testing.T, dbURL string, id int64) string {
	t.Helper()
	var login string
	err := queryOnce(t, dbURL, func(c *pgx.Conn) error {
		return c.QueryRow(t.Context(), `SELECT lower(u.code) || '.lender' FROM secondment s JOIN unit u ON u.id = s.lender_id
			WHERE s.id = $1`, id).Scan(&login)
	})
	if err != nil {
		t.Fatal(err)
	}
	return login
}

// queryOnce runs fn on a connection of its own, closed at once: a restore
// refuses to run while the service's logins are connected.
func queryOnce(t *testing.T, dbURL string, fn func(*pgx.Conn) error) error {
	t.Helper()
	c, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(t.Context()))
	return fn(c)
}

// tableDigests reads every table of the public schema as text, in one
// order, with the session settings that shape that text fixed: equal
// digests are equal rows.
func tableDigests(t *testing.T, dbURL string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := queryOnce(t, dbURL, func(c *pgx.Conn) error {
		ctx := t.Context()
		if _, err := c.Exec(ctx, `SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres';
			SET extra_float_digits = 1; SET bytea_output = 'hex'`); err != nil {
			return err
		}
		rows, err := c.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)
		if err != nil {
			return err
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, tb := range tables {
			var n int64
			var sum string
			if err := c.QueryRow(ctx, fmt.Sprintf(`SELECT count(*), coalesce(md5(string_agg(t::text, E'\n' ORDER BY t::text)), '')
				FROM public.%s t`, pgx.Identifier{tb}.Sanitize())).Scan(&n, &sum); err != nil {
				return fmt.Errorf("%s: %w", tb, err)
			}
			out[tb] = fmt.Sprintf("%d rows, md5 %s", n, sum)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var headRE = regexp.MustCompile(`(?m)^  head: (\d+:[0-9a-f]{64})$`)

// Issue #15: a database with the demo's requests, a letter and the audit
// trail of their steps is backed up with `secondment backup`, and restored
// with `secondment restore` into a new embedded cluster: every table is
// identical row for row (the ledger, the trail and its chain, the letters'
// bytes), the chain verifies there as the service's application role,
// which reads every table, and a service on the copy signs a user in and
// serves the letter. Restoring over a database that holds data needs
// --yes, and puts back what the backup holds.
func TestBackupRestore(t *testing.T) {
	t.Parallel()
	began := time.Now()
	app, owner := dbtest.URLs(t)
	e := env("SECONDMENT_DATABASE_URL", app, "SECONDMENT_DATABASE_OWNER_URL", owner)
	out, code, stderr := runCmd(t, e, "seed", "demo")
	m := passwordRE.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("seed demo: exit %d: %s %s", code, out, stderr)
	}
	password := m[1]

	// A request filed and consented to with a scanned letter, through the
	// service: its steps leave audit events, the letter an attachment.
	letter := lettertest.ScanPDF()
	base, _, stop := startServe(t, "--database-url", app, "--database-owner-url", owner, "--jobs=false")
	id, etag := fileRequest(t, signIn(t, base, "xj-ks-jw.borrower", password), base)
	lender := lenderLogin(t, owner, id)
	consentWithLetter(t, signIn(t, base, lender, password), base, id, etag, letter)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var attachmentID int64
	if err := queryOnce(t, owner, func(c *pgx.Conn) error {
		return c.QueryRow(t.Context(), `SELECT id FROM attachment WHERE secondment_id = $1`, id).Scan(&attachmentID)
	}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "secondment.dump")
	out, code, stderr = runCmd(t, e, "backup", "--out", file)
	if code != 0 {
		t.Fatalf("backup: exit %d: %s %s", code, out, stderr)
	}
	t.Logf("backup:\n%s", out)
	heads := headRE.FindAllStringSubmatch(out, -1)
	if len(heads) == 0 || !strings.Contains(out, "1 letters and other files") {
		t.Fatalf("the backup's summary lacks the chain's heads or the letter:\n%s", out)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the backup file: %v %v (want mode 0600: it holds password hashes)", fi, err)
	}
	// An existing file is not overwritten without --force.
	if _, code, stderr := runCmd(t, e, "backup", "--out", file); code != 1 || !strings.Contains(stderr, "--force") {
		t.Errorf("backup over an existing file: exit %d: %s", code, stderr)
	}
	// Nor is a database with tables restored over without --yes.
	if _, code, stderr := runCmd(t, e, "restore", "--in", file); code != 2 || !strings.Contains(stderr, "not empty") ||
		!strings.Contains(stderr, "--yes") {
		t.Errorf("restore over a database with data, without --yes: exit %d: %s", code, stderr)
	}
	source := tableDigests(t, owner)

	// Into a new embedded cluster.
	cluster, err := dbtest.ClusterDir("secondment-restore-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(cluster) })
	dataDir := filepath.Join(cluster, "db")
	out, code, stderr = runCmd(t, env(), "restore", "--in", file, "--data-dir", dataDir)
	if code != 0 {
		t.Fatalf("restore into a new cluster: exit %d: %s %s", code, out, stderr)
	}
	t.Logf("restore:\n%s", out)
	if got := headRE.FindAllStringSubmatch(out, -1); fmt.Sprint(got) != fmt.Sprint(heads) {
		t.Errorf("the restored chain's heads %v differ from the backup's %v", got, heads)
	}

	// A service on the copy, not running jobs, so nothing writes before
	// the copy is compared.
	base, _, stop = startServe(t, "--data-dir", dataDir, "--jobs=false")
	super := pgcluster.SocketURL(dataDir, "secondment")
	restored := tableDigests(t, super)
	if len(restored) != len(source) {
		t.Errorf("%d tables restored, %d in the source", len(restored), len(source))
	}
	for _, tb := range []string{"secondment", "ledger_entry", "audit_event", "audit_chain", "audit_chain_head", "attachment", "app_user"} {
		if source[tb] == "" {
			t.Errorf("table %s is not in the source", tb)
		}
	}
	for tb, want := range source {
		if got := restored[tb]; got != want {
			t.Errorf("table %s: restored %q, source %q", tb, got, want)
		}
	}

	// The application role reads every table and verifies the chain, and
	// still may not edit the trail: its grants were applied again, the
	// source's (to another role) were not restored.
	appURL := postgres.WithLogin(super, postgres.EmbeddedApp)
	appStore, err := postgres.Open(t.Context(), appURL, postgres.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer appStore.Close()
	rep, err := appStore.AuditVerify(t.Context(), time.Now, "restore test")
	if err != nil || !rep.OK || rep.Checked == 0 {
		t.Fatalf("the restored chain as the application role: %+v %v", rep, err)
	}
	for tb := range source {
		if _, err := appStore.Pool.Exec(t.Context(), fmt.Sprintf(`SELECT * FROM public.%s LIMIT 1`, pgx.Identifier{tb}.Sanitize())); err != nil {
			t.Errorf("the application role cannot read %s after the restore: %v", tb, err)
		}
	}
	if _, err := appStore.Pool.Exec(t.Context(), `UPDATE audit_event SET action = action`); err == nil {
		t.Error("the application role may update the audit trail after the restore")
	}

	// The service on the copy signs the lender in with the backed-up
	// password and serves the letter, byte for byte.
	c := signIn(t, base, lender, password)
	res, err := c.Get(fmt.Sprintf("%s/secondments/%d/attachments/%d", base, id, attachmentID))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Equal(got, letter) {
		t.Errorf("the letter from the restored service: %d, %d bytes, equal %t (want %d bytes)",
			res.StatusCode, len(got), bytes.Equal(got, letter), len(letter))
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// Over the source, which changed since: --yes puts back the backup.
	// First with a view someone made on a table, which the restore may
	// not drop: it fails as a whole and leaves the database as it was.
	exec := func(q string, args ...any) {
		t.Helper()
		if err := queryOnce(t, owner, func(c *pgx.Conn) error { _, err := c.Exec(t.Context(), q, args...); return err }); err != nil {
			t.Fatal(err)
		}
	}
	exec(`UPDATE secondment SET task = '改过' WHERE id = $1`, id)
	exec(`CREATE VIEW report AS SELECT id, task FROM secondment`)
	changed := tableDigests(t, owner)
	out, code, stderr = runCmd(t, e, "restore", "--in", file, "--yes")
	if code != 1 || !strings.Contains(stderr, "the database is as it was") {
		t.Fatalf("restore --yes over a table a view depends on: exit %d: %s %s", code, out, stderr)
	}
	if changed["secondment"] == source["secondment"] {
		t.Fatal("the change to the source did not change its digest")
	}
	after := tableDigests(t, owner)
	for tb, want := range changed {
		if got := after[tb]; got != want {
			t.Errorf("table %s changed by a failed restore: %q, was %q", tb, got, want)
		}
	}
	exec(`DROP VIEW report`)
	out, code, stderr = runCmd(t, e, "restore", "--in", file, "--yes")
	if code != 0 {
		t.Fatalf("restore --yes over the source: exit %d: %s %s", code, out, stderr)
	}
	again := tableDigests(t, owner)
	for tb, want := range source {
		if again[tb] != want {
			t.Errorf("table %s after restore --yes: %q, the backup's %q", tb, again[tb], want)
		}
	}
	t.Logf("test %s", time.Since(began).Round(time.Millisecond))
}

// A dump that fails leaves no file behind, neither the backup's name nor
// the scratch file, and a backup is named only once complete.
func TestBackupFileIsWholeOrAbsent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "b.dump")
	boom := errors.New("pg_dump failed")
	err := writeBackup(out, false, func(w io.Writer) error {
		_, _ = w.Write([]byte("PGDMP half a dump"))
		if _, err := os.Stat(out); err == nil {
			t.Error("the backup has its name before the dump ended")
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("writeBackup = %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a failed dump left %v", entries)
	}
	if err := writeBackup(out, false, func(w io.Writer) error { _, err := w.Write([]byte("PGDMP whole")); return err }); err != nil {
		t.Fatal(err)
	}
	if err := writeBackup(out, false, func(w io.Writer) error { return nil }); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("a second backup to the same name: %v", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "PGDMP whole" {
		t.Fatalf("the first backup was changed: %q", b)
	}
	if err := writeBackup(out, true, func(w io.Writer) error { _, err := w.Write([]byte("PGDMP newer")); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "PGDMP newer" {
		t.Fatalf("--force did not replace the backup: %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestLibpqConn(t *testing.T) {
	t.Parallel()
	dsn, env := libpqConn("postgres://app:s3cret@db.example:5432/secondment?sslmode=require&pool_max_conns=20&statement_cache_capacity=0")
	if strings.Contains(dsn, "s3cret") || strings.Contains(dsn, "pool_") || strings.Contains(dsn, "statement_cache") ||
		!strings.Contains(dsn, "sslmode=require") || !strings.HasPrefix(dsn, "postgres://app@db.example:5432/secondment") {
		t.Errorf("dsn = %q", dsn)
	}
	if !strings.Contains(strings.Join(env, " "), "PGPASSWORD=s3cret") {
		t.Errorf("env = %v", env)
	}
	if dsn, _ := libpqConn("host=/run/pg dbname=x"); dsn != "host=/run/pg dbname=x" {
		t.Errorf("a key=value string changed: %q", dsn)
	}
	// A password in the query, or in a key=value string, leaves the
	// command line too.
	for _, c := range []struct{ in, dsn, pw string }{
		{"postgres://app@db/x?password=q%20pw&sslmode=require", "postgres://app@db/x?sslmode=require", "q pw"},
		{"host=db password=kv-secret dbname=x", "host=db dbname=x", "kv-secret"},
		{"password = 'a b\\'c' host=db", "host=db", "a b'c"},
	} {
		dsn, env := libpqConn(c.in)
		if strings.Contains(dsn, "password") || dsn != c.dsn {
			t.Errorf("%q: dsn %q, want %q", c.in, dsn, c.dsn)
		}
		if c.pw != "" && !slices.Contains(env, "PGPASSWORD="+c.pw) {
			t.Errorf("%q: env %v, want the password %q", c.in, env, c.pw)
		}
	}
}
