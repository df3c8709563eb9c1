package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"secondment/internal/approval"
	"secondment/internal/i18n"
	"secondment/internal/postgres"
	"secondment/internal/province"
	"secondment/internal/secondment"
	"secondment/web"
)

// The lists benchmark (issue 10): at a million secondments with their
// history, the org dept's inbox page and its ledger page (50 rows, one
// filter) against a bare chi + pgx + templ handler that renders the same 50
// rows from one query; the ledger's queries timed on their own, past their
// sixth execution so that a generic plan is what is measured; an .xlsx
// export of the largest ledger; and an import of 10,000 rows, previewed and
// committed.

// Targets of issue 10.
const (
	targetListRatio    = 0.50
	targetLedgerP95    = 30 * time.Millisecond
	targetExport       = 20 * time.Second
	targetExportRSSMB  = 200
	targetImport       = 15 * time.Second
	targetDashboard    = 100 * time.Millisecond // issue #11: a dashboard's server time
	targetIrregular    = 30 * time.Millisecond  // issue #11: the irregular ledger page, like the ledger
	targetInboxFind    = 100 * time.Millisecond // issue #14: a searched or filtered inbox page, like a dashboard
	importRows         = 10000
	exportRowsWanted   = 100000
	ledgerQueryRepeats = 200
)

// listsParty is the org dept the lists are read as: the one with the most
// requests, so its pages are the heaviest.
type listsParty struct {
	unit  int64
	login string
	rows  int
}

func busiestOrgDept(ctx context.Context, pool *pgxpool.Pool) (listsParty, error) {
	var p listsParty
	err := pool.QueryRow(ctx, `
		SELECT s.org_dept_id, u.login, count(*) FROM secondment s
		JOIN app_user u ON u.unit_id = s.org_dept_id JOIN user_role r ON r.user_id = u.id AND r.role = 'orgdept'
		GROUP BY s.org_dept_id, u.login ORDER BY count(*) DESC LIMIT 1`).Scan(&p.unit, &p.login, &p.rows)
	if err != nil {
		return p, fmt.Errorf("find the busiest org dept: %w", err)
	}
	return p, nil
}

// busiestClerk is the clerk (role borrower or lender) of the unit of the
// org dept's jurisdiction with the most people away from it (lender) or
// held by it (borrower): the heaviest dashboard of that role.
func busiestClerk(ctx context.Context, pool *pgxpool.Pool, orgDept int64, role secondment.Role) (listsParty, error) {
	column := map[secondment.Role]string{secondment.RoleBorrower: "borrower_id", secondment.RoleLender: "lender_id"}[role]
	states := map[secondment.Role][]secondment.State{secondment.RoleBorrower: approval.HeldStates, secondment.RoleLender: approval.AwayStates}
	var p listsParty
	err := pool.QueryRow(ctx, `
		SELECT s.`+column+`, u.login, count(*) FROM secondment s
		JOIN app_user u ON u.unit_id = s.`+column+` JOIN user_role r ON r.user_id = u.id AND r.role = $2
		WHERE s.org_dept_id = $1 AND s.state = ANY ($3)
		GROUP BY 1, 2 ORDER BY 3 DESC, 2 LIMIT 1`, orgDept, string(role), stateNames(states[role])).Scan(&p.unit, &p.login, &p.rows)
	if err != nil {
		return p, fmt.Errorf("find the busiest %s: %w", role, err)
	}
	return p, nil
}

// dashboards times the home page of the org dept (client) and of the
// busiest lending and borrowing units' clerks of its jurisdiction, and
// returns the worst p95.
func dashboards(ctx context.Context, out io.Writer, pool *pgxpool.Pool, base string, party listsParty, client *http.Client) (time.Duration, error) {
	type who struct {
		name   string
		client *http.Client
	}
	all := []who{{"the org dept's home, " + party.login, client}}
	for _, role := range []secondment.Role{secondment.RoleLender, secondment.RoleBorrower} {
		clerk, err := busiestClerk(ctx, pool, party.unit, role)
		if err != nil {
			return 0, err
		}
		c, err := signedIn(ctx, base, clerk.login, 1)
		if err != nil {
			return 0, err
		}
		what := map[secondment.Role]string{secondment.RoleBorrower: "held", secondment.RoleLender: "away"}[role]
		all = append(all, who{fmt.Sprintf("the %s's home, %s, %d %s", role, clerk.login, clerk.rows, what), c})
	}
	var worst time.Duration
	for _, w := range all {
		took, err := pageTimes(ctx, w.client, base, "/", ledgerQueryRepeats)
		if err != nil {
			return 0, err
		}
		p95 := took[len(took)*95/100]
		worst = max(worst, p95)
		fmt.Fprintf(out, "dashboard (%s; %d requests after 10, one client): p50 %.1f ms, p95 %.1f ms\n",
			w.name, len(took), ms(took[len(took)/2]), ms(p95))
	}
	return worst, nil
}

// signedIn is an HTTP client holding a session of login.
func signedIn(ctx context.Context, base, login string, conns int) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 5 * time.Minute,
		Transport:     &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := url.Values{"login": {login}, "password": {password}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("sign in %s: %s", login, resp.Status)
	}
	return c, nil
}

// getStep is a phase's step: GET path, 200 wanted, the body read.
func getStep(c *http.Client, base, path string) stepFunc {
	return func(ctx context.Context, _ int) (outcome, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		resp, err := c.Do(req)
		if err != nil {
			return stepFailed, nil // counted: a failed phase is reported, never hidden
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return stepFailed, nil
		}
		return stepOK, nil
	}
}

// bareServer is the bare handler: chi, one pgx query, the same templ page.
type bareServer struct {
	pool  *pgxpool.Pool
	party listsParty
	srv   *http.Server
	base  string
}

// bareLedgerSQL is the ledger page's 50 rows, as one plain query.
const bareLedgerSQL = `
	SELECT s.id, coalesce(s.number, ''), s.state, s.kind, s.alias, s.purpose, s.task, pe.name, b.name, l.name, l.level,
	       s.start_date, s.end_date
	FROM secondment s JOIN person pe ON pe.id = s.person_id JOIN unit b ON b.id = s.borrower_id JOIN unit l ON l.id = s.lender_id
	WHERE s.org_dept_id = $1 AND s.state = 'active'
	ORDER BY s.start_date DESC, s.id DESC LIMIT 50`

// bareInboxSQL is the org dept's to-do rows, as one plain query.
const bareInboxSQL = `
	SELECT s.id, coalesce(s.number, ''), s.state, s.kind, s.alias, s.purpose, s.task, pe.name, b.name, l.name, l.level,
	       s.start_date, s.end_date
	FROM secondment s JOIN person pe ON pe.id = s.person_id JOIN unit b ON b.id = s.borrower_id JOIN unit l ON l.id = s.lender_id
	WHERE s.org_dept_id = $1 AND s.state IN ('awaiting_signoff', 'transfer_pending')
	ORDER BY s.created_at DESC, s.id DESC LIMIT 50`

func startBare(ctx context.Context, dbURL string, party listsParty, conns int) (*bareServer, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = int32(conns)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	cat := i18n.MustLoad()
	b := &bareServer{pool: pool, party: party}
	rows := func(r *http.Request, sql string) ([]secondment.LedgerLine, error) {
		res, err := pool.Query(r.Context(), sql, party.unit)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(res, func(row pgx.CollectableRow) (secondment.LedgerLine, error) {
			var l secondment.LedgerLine
			var start, end time.Time
			err := row.Scan(&l.ID, &l.Number, &l.State, &l.Kind, &l.Alias, &l.Purpose, &l.Task, &l.PersonName,
				&l.BorrowerName, &l.LenderName, &l.LenderLevel, &start, &end)
			l.Start, l.End = secondment.DateOf(start), secondment.DateOf(end)
			return l, err
		})
	}
	page := func(w http.ResponseWriter, r *http.Request, sql string, render func([]secondment.LedgerLine) error) {
		ls, err := rows(r, sql)
		if err == nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			err = render(ls)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}
	r := chi.NewRouter()
	r.Get("/ledger", func(w http.ResponseWriter, r *http.Request) {
		ctx := i18n.WithLocalizer(r.Context(), cat.Localizer(i18n.Chinese))
		page(w, r, bareLedgerSQL, func(ls []secondment.LedgerLine) error {
			return web.LedgerPage(web.LedgerView{Ledger: approval.Ledger{Rows: ls}, Form: web.NewForm()}).Render(ctx, w)
		})
	})
	r.Get("/secondments", func(w http.ResponseWriter, r *http.Request) {
		ctx := i18n.WithLocalizer(r.Context(), cat.Localizer(i18n.Chinese))
		page(w, r, bareInboxSQL, func(ls []secondment.LedgerLine) error {
			reqs := make([]approval.Request, len(ls))
			for i, l := range ls {
				reqs[i].Secondment = secondment.Secondment{ID: l.ID, Number: l.Number, State: l.State, PersonName: l.PersonName,
					BorrowerName: l.BorrowerName, LenderName: l.LenderName, Start: l.Start, End: l.End}
			}
			return web.SecondmentListPage(web.SecondmentListView{Tab: approval.TabTodo, Rows: reqs}).Render(ctx, w)
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		pool.Close()
		return nil, err
	}
	b.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	b.base = "http://" + ln.Addr().String()
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

func (b *bareServer) close() {
	_ = b.srv.Close()
	b.pool.Close()
}

// ledgerQuery is one ledger view whose queries the benchmark times.
type ledgerQuery struct {
	name string
	f    postgres.LedgerFilter
}

// ledgerQueries are the views timed: the page's (running terms, latest
// start first), and the whole ledger in either order ("soonest end" is
// the registrar's what-runs-out-next).
func ledgerQueries(party listsParty) []ledgerQuery {
	f := postgres.LedgerFilter{Role: secondment.RoleOrgDept, UnitID: party.unit, Limit: approval.LedgerPageSize + 1}
	active := f
	active.States = []secondment.State{secondment.StateActive}
	byEnd := f
	byEnd.Sort = postgres.LedgerByEnd
	return []ledgerQuery{{"active by start", active}, {"all by start", f}, {"all by end", byEnd}}
}

// inboxViews are the searched and filtered inbox pages timed (issue #14),
// as the org dept reads its whole list: a request's number, the name the
// most requests of its jurisdiction share, its busiest lending unit's
// name, a state, a month of requests, and a name with a state.
func inboxViews(ctx context.Context, pool *pgxpool.Pool, party listsParty) ([]struct{ name, path string }, error) {
	var number, person, unit string
	var made time.Time
	err := pool.QueryRow(ctx, `SELECT number, created_at FROM secondment WHERE org_dept_id = $1 AND number IS NOT NULL
		ORDER BY created_at LIMIT 1
		OFFSET (SELECT count(*) / 2 FROM secondment WHERE org_dept_id = $1 AND number IS NOT NULL)`, party.unit).Scan(&number, &made)
	if err == nil {
		err = pool.QueryRow(ctx, `SELECT p.name FROM secondment s JOIN person p ON p.id = s.person_id
			WHERE s.org_dept_id = $1 GROUP BY p.name ORDER BY count(*) DESC LIMIT 1`, party.unit).Scan(&person)
	}
	if err == nil {
		err = pool.QueryRow(ctx, `SELECT u.name FROM secondment s JOIN unit u ON u.id = s.lender_id
			WHERE s.org_dept_id = $1 GROUP BY u.name ORDER BY count(*) DESC LIMIT 1`, party.unit).Scan(&unit)
	}
	if err != nil {
		return nil, fmt.Errorf("pick the inbox searches: %w", err)
	}
	day := func(t time.Time) string { return t.In(secondment.Shanghai).Format("2006-01-02") }
	q := func(v url.Values) string { v.Set("tab", "all"); return "/secondments?" + v.Encode() }
	return []struct{ name, path string }{
		{"number", q(url.Values{"q": {number}})},
		{"commonest name", q(url.Values{"q": {person}})},
		{"busiest lender", q(url.Values{"q": {unit}})},
		{"state returned", q(url.Values{"state": {"returned"}})},
		{"a month", q(url.Values{"from": {day(made)}, "to": {day(made.AddDate(0, 1, 0))}})},
		{"name and state", q(url.Values{"q": {person}, "state": {"active"}})},
	}, nil
}

// irregularViews are the irregular ledger's pages timed (issue #11): the
// org dept's whole list, one status, the entries past their deadline.
var irregularViews = []struct{ name, path string }{{"all", "/irregular"}, {"rectifying", "/irregular?status=rectifying"},
	{"past deadline", "/irregular?past_deadline=true"}}

// ledgerQueryTimes runs a ledger view's two queries (rows and count) as
// the service does, repeatedly on one connection: the first runs are
// discarded (custom plans), the rest timed, generic plans included.
func ledgerQueryTimes(ctx context.Context, store *postgres.Store, f postgres.LedgerFilter) ([]time.Duration, error) {
	var took []time.Duration
	for i := range ledgerQueryRepeats + 10 {
		t0 := time.Now()
		if _, err := store.Ledger(ctx, f); err != nil {
			return nil, err
		}
		if _, err := store.LedgerCount(ctx, f, approval.LedgerCountMax+1); err != nil {
			return nil, err
		}
		if i >= 10 {
			took = append(took, time.Since(t0))
		}
	}
	slices.Sort(took)
	return took, nil
}

// pageTimes times n requests of path, one at a time after 10 not timed:
// with one client on loopback, a request's time is the server's.
func pageTimes(ctx context.Context, c *http.Client, base, path string, n int) ([]time.Duration, error) {
	step := getStep(c, base, path)
	var took []time.Duration
	for i := range n + 10 {
		t0 := time.Now()
		o, err := step(ctx, i)
		if err != nil {
			return nil, err
		}
		if o != stepOK {
			return nil, fmt.Errorf("GET %s failed", path)
		}
		if i >= 10 {
			took = append(took, time.Since(t0))
		}
	}
	slices.Sort(took)
	return took, nil
}

// exportRun downloads the org dept's whole ledger as .xlsx and counts
// its bytes.
func exportRun(ctx context.Context, c *http.Client, base string) (time.Duration, int64, error) {
	t0 := time.Now()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/ledger.xlsx", nil)
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return 0, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("export: %s", resp.Status)
	}
	return time.Since(t0), n, nil
}

// importFile is a CSV of rows existing secondments of the org dept's
// region: its people (by code) at units whose requests it approves. Each
// round of a run starts its rows on other days.
func importFile(ctx context.Context, pool *pgxpool.Pool, party listsParty, rows, round int) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("姓名,人员编号,原单位（借出单位）,借用单位,借调事由,具体任务,开始日期,结束日期,借调现状,返回日期\n")
	i := 0
	// People at borrowing units that asked for them through the org dept
	// before: pairings the rules let it register (each row its own start).
	res, err := pool.Query(ctx, `
		SELECT DISTINCT pe.name, pe.code, lu.code, bu.code
		FROM secondment s JOIN person pe ON pe.id = s.person_id AND pe.home_unit_id = s.lender_id
		JOIN unit lu ON lu.id = s.lender_id JOIN unit bu ON bu.id = s.borrower_id
		WHERE s.org_dept_id = $1
		LIMIT $2`, party.unit, rows)
	if err != nil {
		return nil, err
	}
	// Each run's rows, and each round's, start on days of their own, so
	// that a run on data kept from an earlier one registers new rows rather
	// than finding them "already" registered. All are past: 2005 onwards,
	// at most 500 + 700 days a round + 700 days later.
	shift := int(time.Now().Unix()/60)%500 + round*700
	var name, code, lender, borrower string
	_, err = pgx.ForEachRow(res, []any{&name, &code, &lender, &borrower}, func() error {
		start := secondment.D(2005, 1, 1).AddDays(shift + i%700)
		fmt.Fprintf(&buf, "%s,%s,%s,%s,专项工作,历史借调,%s,%s,已返回原单位,%s\n", name, code, lender, borrower,
			start, start.AddDays(60), start.AddDays(60))
		i++
		return nil
	})
	if err != nil {
		return nil, err
	}
	if i < rows {
		return nil, fmt.Errorf("only %d people for an import of %d rows", i, rows)
	}
	return buf.Bytes(), nil
}

var importIDRE = regexp.MustCompile(`action="/ledger/import/(\d+)/commit"`)

// importRun uploads the file (the preview) and commits it, through pages.
func importRun(ctx context.Context, c *http.Client, base string, file []byte) (preview, commit time.Duration, err error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "stock.csv")
	_, _ = fw.Write(file)
	_ = mw.Close()
	t0 := time.Now()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/ledger/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	preview = time.Since(t0)
	m := importIDRE.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		return 0, 0, fmt.Errorf("import preview: %s: %.300s", resp.Status, page)
	}
	t1 := time.Now()
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, base+"/ledger/import/"+string(m[1])+"/commit", strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = c.Do(req)
	if err != nil {
		return 0, 0, err
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("import commit: %s: %.300s", resp.Status, page)
	}
	return preview, time.Since(t1), nil
}

// measureLists runs the lists benchmark against the service.
func measureLists(ctx context.Context, o options, bin, url, tmp string, store *postgres.Store, out io.Writer) error {
	if err := province.History(ctx, store, out); err != nil {
		return err
	}
	party, err := busiestOrgDept(ctx, store.Pool)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "reading as %s (%d requests)\n", party.login, party.rows)
	prof, env, err := newProfiler(ctx, o, store, out)
	if err != nil {
		return err
	}
	svc, err := startService(ctx, bin, url, tmp+"/server.log", append([]string{"SECONDMENT_DB_MAX_CONNS=64"}, env...))
	if err != nil {
		return err
	}
	defer svc.stop()
	stopSampling := make(chan struct{})
	go svc.sample(stopSampling)
	client, err := signedIn(ctx, svc.base, party.login, o.clients)
	if err != nil {
		return err
	}
	bare, err := startBare(ctx, url, party, 64) // as many connections as the service's pool
	if err != nil {
		return err
	}
	defer bare.close()
	bareClient := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: o.clients, MaxConnsPerHost: o.clients}}

	type pageResult struct {
		name                string
		service, bare       []float64
		ratios              []float64
		servicep99, barep99 time.Duration
	}
	pages := []*pageResult{{name: "inbox"}, {name: "ledger"}}
	paths := map[string]string{"inbox": "/secondments", "ledger": "/ledger?state=active"}
	barePaths := map[string]string{"inbox": "/secondments", "ledger": "/ledger"}
	for pair := 1; pair <= o.pairs; pair++ {
		for _, p := range pages {
			bw, err := measure(ctx, time.Now(), o.clients, o.warmup, o.duration, getStep(bareClient, bare.base, barePaths[p.name]))
			if err != nil {
				return err
			}
			profiled := prof.start(ctx, fmt.Sprintf("%s-%d", p.name, pair), o.warmup+o.duration)
			sw, err := measure(ctx, time.Now(), o.clients, o.warmup, o.duration, getStep(client, svc.base, paths[p.name]))
			profiled()
			if err != nil {
				return err
			}
			if sw.failed > 0 || bw.failed > 0 {
				return fmt.Errorf("%s: %d service and %d bare requests failed (see %s)", p.name, sw.failed, bw.failed, svc.log)
			}
			fmt.Fprintf(out, "pair %d %-6s service %6.0f/s p99 %6.1f ms   bare %6.0f/s p99 %6.1f ms   ratio %.2f\n", pair, p.name,
				sw.rate(), ms(sw.percentile(0.99)), bw.rate(), ms(bw.percentile(0.99)), sw.rate()/bw.rate())
			p.service, p.bare = append(p.service, sw.rate()), append(p.bare, bw.rate())
			p.ratios = append(p.ratios, sw.rate()/bw.rate())
			p.servicep99, p.barep99 = max(p.servicep99, sw.percentile(0.99)), max(p.barep99, bw.percentile(0.99))
		}
	}

	// Where the RSS peak is set: the pages at 64 clients, the import, or
	// the export (printed with it).
	if o.pairs > 0 {
		fmt.Fprintf(out, "server peak RSS after the pages: %.1f MB\n", svc.memory().peakMB())
	}

	var p95 time.Duration // the worst view's
	for _, q := range ledgerQueries(party) {
		took, err := ledgerQueryTimes(ctx, store, q.f)
		if err != nil {
			return err
		}
		p := took[len(took)*95/100]
		p95 = max(p95, p)
		fmt.Fprintf(out, "ledger queries, %s (rows + count, %d runs after 10, generic plans included): p50 %.1f ms, p95 %.1f ms\n",
			q.name, len(took), ms(took[len(took)/2]), ms(p))
	}

	homeP95, err := dashboards(ctx, out, store.Pool, svc.base, party, client)
	if err != nil {
		return err
	}

	var irregularP95 time.Duration
	for _, v := range irregularViews {
		took, err := pageTimes(ctx, client, svc.base, v.path, ledgerQueryRepeats)
		if err != nil {
			return err
		}
		p := took[len(took)*95/100]
		irregularP95 = max(irregularP95, p)
		fmt.Fprintf(out, "irregular ledger page, %s (%d requests after 10, one client): p50 %.1f ms, p95 %.1f ms\n",
			v.name, len(took), ms(took[len(took)/2]), ms(p))
	}

	views, err := inboxViews(ctx, store.Pool, party)
	if err != nil {
		return err
	}
	var findP95 time.Duration
	for _, v := range views {
		took, err := pageTimes(ctx, client, svc.base, v.path, ledgerQueryRepeats)
		if err != nil {
			return err
		}
		p := took[len(took)*95/100]
		findP95 = max(findP95, p)
		fmt.Fprintf(out, "inbox page, %s (%d requests after 10, one client): p50 %.1f ms, p95 %.1f ms\n",
			v.name, len(took), ms(took[len(took)/2]), ms(p))
	}

	// The import first (its 10,000 rows are the one measured), then more
	// imports of the same size until the org dept's ledger holds the
	// 100,000 rows the export is to be measured on: a province's busiest
	// org dept after its stock came in.
	ledgerRows := func() (int, error) {
		var n int
		err := store.Pool.QueryRow(ctx, `SELECT count(*) FROM secondment WHERE org_dept_id = $1 AND state = ANY ($2)`,
			party.unit, stateNames(postgres.LedgerStates)).Scan(&n)
		return n, err
	}
	var preview, commit time.Duration
	for round := 0; ; round++ {
		n, err := ledgerRows()
		if err != nil {
			return err
		}
		if round > 0 && n >= exportRowsWanted {
			break
		}
		file, err := importFile(ctx, store.Pool, party, importRows, round)
		if err != nil {
			return err
		}
		profiled := func() {}
		if round == 0 {
			profiled = prof.start(ctx, "import", targetImport)
		}
		p, c, err := importRun(ctx, client, svc.base, file)
		profiled()
		if err != nil {
			return err
		}
		if round == 0 {
			preview, commit = p, c
			fmt.Fprintf(out, "import: %d rows previewed in %.1f s, committed in %.1f s; server peak RSS so far %.1f MB\n",
				importRows, p.Seconds(), c.Seconds(), svc.memory().peakMB())
		} else {
			fmt.Fprintf(out, "import (toward an export of %d rows; the ledger held %d): previewed in %.1f s, committed in %.1f s\n",
				exportRowsWanted, n, p.Seconds(), c.Seconds())
		}
	}
	exportRows, err := ledgerRows()
	if err != nil {
		return err
	}
	// The peak before the export says whether the export sets it, or the
	// pages and imports before it.
	before := svc.memory()
	exportTook, exportBytes, err := exportRun(ctx, client, svc.base)
	if err != nil {
		return err
	}
	mem := svc.memory()
	fmt.Fprintf(out, "export: %d rows, %.1f MB of .xlsx in %.1f s; server peak RSS so far %.1f MB (%.1f MB before the export)\n",
		exportRows, float64(exportBytes)/(1<<20), exportTook.Seconds(), mem.peakMB(), before.peakMB())
	close(stopSampling)

	fmt.Fprintln(out)
	if o.pairs == 0 {
		fmt.Fprintln(out, "lists: pages not measured (-pairs 0)")
		pages = nil
	}
	var weakest *pageResult
	for _, p := range pages {
		fmt.Fprintf(out, "%s ratios per pair: %s → median %.2f\n", p.name, formatRatios(p.ratios), median(p.ratios))
		if weakest == nil || median(p.ratios) < median(weakest.ratios) {
			weakest = p
		}
	}
	for _, p := range pages {
		fmt.Fprintf(out, "target %s ratio ≥ %.2f at %d connections: %.2f %s\n", p.name, targetListRatio, o.clients,
			median(p.ratios), mark(median(p.ratios) >= targetListRatio))
	}
	fmt.Fprintf(out, "target ledger query p95 ≤ %d ms (the slowest view): %.1f ms %s\n", targetLedgerP95.Milliseconds(), ms(p95), mark(p95 <= targetLedgerP95))
	fmt.Fprintf(out, "target dashboard p95 ≤ %d ms (issue #11, the slowest of the three roles'): %.1f ms %s\n", targetDashboard.Milliseconds(), ms(homeP95),
		mark(homeP95 <= targetDashboard))
	fmt.Fprintf(out, "target irregular ledger page p95 ≤ %d ms (issue #11, the slowest view): %.1f ms %s\n",
		targetIrregular.Milliseconds(), ms(irregularP95), mark(irregularP95 <= targetIrregular))
	fmt.Fprintf(out, "target searched or filtered inbox page p95 ≤ %d ms (issue #14, the slowest view): %.1f ms %s\n",
		targetInboxFind.Milliseconds(), ms(findP95), mark(findP95 <= targetInboxFind))
	exportNote := fmt.Sprintf(" for %d rows", exportRows)
	if exportRows < exportRowsWanted {
		exportNote = fmt.Sprintf(" (only %d rows: below the %d the target names)", exportRows, exportRowsWanted)
	}
	fmt.Fprintf(out, "target export ≤ %.0f s: %.1f s%s %s\n", targetExport.Seconds(), exportTook.Seconds(), exportNote,
		mark(exportTook <= targetExport && exportRows >= exportRowsWanted))
	fmt.Fprintf(out, "target server RSS ≤ %d MB through the export: %.1f MB %s\n", targetExportRSSMB, mem.peakMB(),
		mark(mem.peakMB() <= targetExportRSSMB))
	total := preview + commit
	fmt.Fprintf(out, "target import of %d rows ≤ %.0f s: %.1f s %s\n", importRows, targetImport.Seconds(), total.Seconds(), mark(total <= targetImport))
	if weakest != nil {
		fmt.Fprintf(out, "lists: service %.0f/s, bare %.0f/s, ratio %.2f (%s)\n", median(weakest.service), median(weakest.bare),
			median(weakest.ratios), weakest.name)
	}
	return nil
}

func stateNames(ss []secondment.State) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}
