package province

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// Options size the data set.
type Options struct {
	N            int    // secondments in all, pools included
	Consent      int    // requests awaiting consent (the consent pool)
	Approve      int    // requests awaiting sign-off (the approve pool)
	PasswordHash string // every account's; hashed once by the caller
	Now          time.Time
	Seed         uint64
	Log          io.Writer
}

// chunk is how many secondments one pair of COPY statements carries, so
// the generator's memory stays small whatever N is.
const chunk = 50_000

// load fills an empty, migrated database with the benchmark's province,
// people, accounts and secondments, and returns the waiting requests with
// the tokens that may act on them. Everything but the units and policies is
// written in one transaction, so a failed load leaves no half data set.
func Load(ctx context.Context, store *postgres.Store, o Options) (*Fixture, error) {
	if o.Consent+o.Approve > o.N/2 {
		return nil, fmt.Errorf("pools of %d + %d requests are more than half of -n %d: raise -n or shorten the phases", o.Consent, o.Approve, o.N)
	}
	if err := checkEmpty(ctx, store); err != nil {
		return nil, err
	}
	t0 := time.Now()
	rng := rand.New(rand.NewPCG(o.Seed, 0x5ec0))
	sh := planShape(rng)
	// Units and policies go through the store's own import (2,000 rows):
	// its validation and its encoding of the policy rules are the service's.
	if _, err := store.Import(ctx, postgres.Import{Units: sh.units, Policies: sh.policies()}); err != nil {
		return nil, fmt.Errorf("import units and policies: %w", err)
	}
	p, err := readProvince(ctx, store)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "province: %d units, %d jurisdictions (%s)\n", len(p.units), len(p.policyIDs), since(t0))

	tx, err := store.Pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin load: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it does nothing
	g := &generator{rng: rng, today: secondment.DateOf(o.Now), numbers: map[numberKey]int{}}
	if g.people, err = copyPeople(ctx, tx, sh, p, rng); err != nil {
		return nil, err
	}
	acc, err := copyAccounts(ctx, tx, p, o.PasswordHash, o.Now)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "people: %d; accounts: %d with %d API tokens (%s)\n", len(g.people), len(acc.accounts), len(acc.tokens), since(t0))
	g.accounts = acc.accounts
	if g.borrowers, err = p.borrowerRefs(sh); err != nil {
		return nil, err
	}
	g.reservePool(o.Consent + o.Approve)
	if err := copySecondments(ctx, tx, g, planKinds(rng, o.N, o.Consent, o.Approve, len(g.people)), o.Log); err != nil {
		return nil, err
	}
	if err := finishLoad(ctx, tx, g); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit load: %w", err)
	}
	fmt.Fprintf(o.Log, "committed (%s)\n", since(t0))
	if err := Settle(ctx, store, o.Log); err != nil {
		return nil, err
	}
	if err := printStates(ctx, store, o.Log); err != nil {
		return nil, err
	}
	return acc.Fixture(g.consent, g.approve), nil
}

// printStates shows the mix loaded, in the order of the chain.
func printStates(ctx context.Context, store *postgres.Store, log io.Writer) error {
	counts := map[string]int{}
	rows, err := store.Pool.Query(ctx, `SELECT state, count(*) FROM secondment GROUP BY state`)
	if err != nil {
		return fmt.Errorf("count states: %w", err)
	}
	var state string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&state, &n}, func() error { counts[state] = n; return nil }); err != nil {
		return fmt.Errorf("count states: %w", err)
	}
	parts := make([]string, 0, len(secondment.AllStates))
	for _, s := range secondment.AllStates {
		parts = append(parts, fmt.Sprintf("%s %d", s, counts[string(s)]))
	}
	fmt.Fprintf(log, "by state: %s\n", strings.Join(parts, ", "))
	return nil
}

// checkEmpty refuses a database that already holds data: the loader
// chooses the row IDs itself.
func checkEmpty(ctx context.Context, store *postgres.Store) error {
	var units, people int
	err := store.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM unit), (SELECT count(*) FROM person)`).Scan(&units, &people)
	if err != nil {
		return fmt.Errorf("look at the database: %w", err)
	}
	if units+people > 0 {
		return fmt.Errorf("the database already holds %d units and %d people; a province loads into an empty one "+
			"(start from a new data directory or database)", units, people)
	}
	return nil
}

// copySecondments generates the plan chunk by chunk and copies each
// chunk's secondments and decisions. As pg_restore does, the foreign keys
// and the plain indexes of both tables are dropped for the copy and made
// again afterwards: each key then checks every row in one join instead of
// millions of single lookups, each index is built by one sort instead of
// millions of random inserts, and a secondment and its sign-off decision
// may arrive in either order. The indexes behind PRIMARY KEY and UNIQUE
// constraints stay, so a duplicate fails at once.
func copySecondments(ctx context.Context, tx pgx.Tx, g *generator, plan []kind, log io.Writer) error {
	t0 := time.Now()
	fks, err := dropForeignKeys(ctx, tx, "secondment", "decision")
	if err != nil {
		return err
	}
	indexes, err := dropIndexes(ctx, tx, "secondment", "decision")
	if err != nil {
		return err
	}
	var rows, decisions int
	for len(plan) > 0 {
		g.rows, g.decisions = make([]srow, 0, chunk+2), g.decisions[:0]
		for len(plan) > 0 && len(g.rows) < chunk {
			g.generate(plan[0])
			plan = plan[1:]
		}
		if err := copyRows(ctx, tx, g.rows, g.decisions); err != nil {
			return err
		}
		rows += len(g.rows)
		decisions += len(g.decisions)
	}
	g.rows, g.decisions = nil, nil
	fmt.Fprintf(log, "secondments: %d with %d decisions copied (%s)\n", rows, decisions, since(t0))
	t1 := time.Now()
	if err := recreate(ctx, tx, indexes); err != nil {
		return err
	}
	if err := addForeignKeys(ctx, tx, fks); err != nil {
		return err
	}
	fmt.Fprintf(log, "indexes: %d built; foreign keys: %d added back and checked (%s)\n", len(indexes), len(fks), since(t1))
	return nil
}

// dropIndexes drops the indexes of tables that back no constraint and
// returns their definitions.
func dropIndexes(ctx context.Context, tx pgx.Tx, tables ...string) ([]string, error) {
	rows, err := tx.Query(ctx, `
		SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
		WHERE i.indrelid::regclass::text = ANY ($1)
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
		ORDER BY 1`, tables)
	if err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	var names, defs []string
	var name, def string
	if _, err := pgx.ForEachRow(rows, []any{&name, &def}, func() error {
		names, defs = append(names, name), append(defs, def)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	for _, n := range names {
		if _, err := tx.Exec(ctx, "DROP INDEX "+pgx.Identifier{n}.Sanitize()); err != nil {
			return nil, fmt.Errorf("drop index %s: %w", n, err)
		}
	}
	return defs, nil
}

// recreate runs saved definitions, with sort memory to match a bulk load.
func recreate(ctx context.Context, tx pgx.Tx, defs []string) error {
	if _, err := tx.Exec(ctx, "SET LOCAL maintenance_work_mem = '256MB'"); err != nil {
		return fmt.Errorf("maintenance_work_mem: %w", err)
	}
	for _, def := range defs {
		if _, err := tx.Exec(ctx, def); err != nil {
			return fmt.Errorf("%s: %w", def, err)
		}
	}
	return nil
}

// foreignKey is a constraint as the catalog defines it.
type foreignKey struct{ table, name, def string }

func dropForeignKeys(ctx context.Context, tx pgx.Tx, tables ...string) ([]foreignKey, error) {
	rows, err := tx.Query(ctx, `
		SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
		WHERE contype = 'f' AND conrelid::regclass::text = ANY ($1) ORDER BY conrelid, conname`, tables)
	if err != nil {
		return nil, fmt.Errorf("list foreign keys: %w", err)
	}
	fks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (foreignKey, error) {
		var fk foreignKey
		return fk, r.Scan(&fk.table, &fk.name, &fk.def)
	})
	if err != nil {
		return nil, fmt.Errorf("list foreign keys: %w", err)
	}
	for _, fk := range fks {
		if _, err := tx.Exec(ctx, fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s",
			pgx.Identifier{fk.table}.Sanitize(), pgx.Identifier{fk.name}.Sanitize())); err != nil {
			return nil, fmt.Errorf("drop %s: %w", fk.name, err)
		}
	}
	return fks, nil
}

func addForeignKeys(ctx context.Context, tx pgx.Tx, fks []foreignKey) error {
	for _, fk := range fks {
		if _, err := tx.Exec(ctx, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s %s",
			pgx.Identifier{fk.table}.Sanitize(), pgx.Identifier{fk.name}.Sanitize(), fk.def)); err != nil {
			return fmt.Errorf("add back %s (%s): %w", fk.name, fk.def, err)
		}
	}
	return nil
}

var (
	secondmentColumns = []string{"id", "number", "state", "kind", "alias", "purpose", "task", "person_id",
		"borrower_id", "lender_id", "start_date", "end_date", "previous_id", "jurisdiction_id", "org_dept_id",
		"policy_id", "submitted_on", "submitted_by", "consented_on", "approved_on", "signoff_decision_id",
		"started_on", "returned_on", "handover", "return_confirmed_on", "renewal_id", "transfer_method",
		"closed_at", "version", "created_at", "updated_at"}
	decisionColumns = []string{"id", "secondment_id", "step", "action", "role", "actor_user_id", "actor_name",
		"opinion", "at"}
)

// copyRows writes one chunk. COPY takes the IDs as given, even into
// GENERATED ALWAYS identity columns; finishLoad moves the sequences on.
func copyRows(ctx context.Context, tx pgx.Tx, rows []srow, decisions []drow) error {
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"secondment"}, secondmentColumns,
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			s := &rows[i]
			return []any{s.id, nullText(s.number), s.state, s.kind, s.alias, s.purpose, s.task, s.person,
				s.borrower, s.lender, pgDate(s.start), pgDate(s.end), nullID(s.previous), nullID(s.jurisdiction),
				nullID(s.orgDept), nullID(s.policy), pgDate(s.submitted), nullID(s.submittedBy), pgDate(s.consented),
				pgDate(s.approved), nullID(s.signoff), pgDate(s.started), pgDate(s.returned), s.handover,
				pgDate(s.returnConfirmed), nullID(s.renewal), nullText(s.transferMethod), nullTime(s.closedAt),
				s.version, s.createdAt, s.updatedAt}, nil
		}))
	if err != nil {
		return fmt.Errorf("copy secondments %d–%d: %w", rows[0].id, rows[len(rows)-1].id, err)
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"decision"}, decisionColumns,
		pgx.CopyFromSlice(len(decisions), func(i int) ([]any, error) {
			d := &decisions[i]
			return []any{d.id, d.secondment, d.step, d.action, d.role, nullID(d.actor), d.actorName, d.opinion, d.at}, nil
		}))
	if err != nil {
		return fmt.Errorf("copy decisions of secondments %d–%d: %w", rows[0].id, rows[len(rows)-1].id, err)
	}
	return nil
}

// finishLoad records the last number given per jurisdiction and year, so a
// submission made later continues the series, and moves every identity
// sequence past the IDs the loader chose.
func finishLoad(ctx context.Context, tx pgx.Tx, g *generator) error {
	var counters [][]any
	for k, n := range g.numbers {
		counters = append(counters, []any{k.jurisdiction, k.year, n})
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"secondment_number_counter"},
		[]string{"jurisdiction_id", "year", "last_value"}, pgx.CopyFromRows(counters)); err != nil {
		return fmt.Errorf("number counters: %w", err)
	}
	for _, t := range []string{"person", "app_user", "secondment", "decision"} {
		if _, err := tx.Exec(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%[1]s', 'id'), greatest(1, (SELECT max(id) FROM %[1]s)))`, t)); err != nil {
			return fmt.Errorf("move the %s sequence: %w", t, err)
		}
	}
	return nil
}

// settle gives the planner statistics and the visibility map for the new
// rows, then checkpoints, so that writing out the load's dirty pages does
// not fall into a measured phase.
func Settle(ctx context.Context, store *postgres.Store, log io.Writer) error {
	t0 := time.Now()
	if _, err := store.Pool.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		return fmt.Errorf("vacuum analyze: %w", err)
	}
	// CHECKPOINT needs a superuser (or pg_checkpoint) on a server of one's
	// own; without, the next checkpoint may fall into a phase, and we say so.
	done := "vacuum analyze and checkpoint"
	if _, err := store.Pool.Exec(ctx, "CHECKPOINT"); err != nil {
		done = fmt.Sprintf("vacuum analyze; no checkpoint (%v)", err)
	}
	fmt.Fprintf(log, "%s (%s)\n", done, since(t0))
	return nil
}

// pgDate is a civil date for COPY; the zero date is NULL.
func pgDate(d secondment.Date) any {
	if d.IsZero() {
		return nil
	}
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }

var ErrNoData = errors.New("the database holds no data of this benchmark (unit " + RootCode + " is missing); load it without -skip-load")

// History adds what a province's history holds beyond the requests and
// decisions the loader wrote: an audit event per decision and two
// notifications per request (to the lending unit and the org dept), all but
// the latest read.
func History(ctx context.Context, store *postgres.Store, out io.Writer) error {
	var n int
	if err := store.Pool.QueryRow(ctx, `SELECT count(*) FROM notification_outbox`).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil // loaded by an earlier run
	}
	t0 := time.Now()
	// The audit events in batches, each its own transaction: every event
	// gets its hash-chain link at commit (one pass per transaction since
	// migration 43), and smaller transactions keep the trigger's queue and
	// the WAL between checkpoints small.
	var maxID int64
	if err := store.Pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM decision`).Scan(&maxID); err != nil {
		return err
	}
	const batch = 50000
	for from := int64(0); from <= maxID; from += batch {
		if _, err := store.Pool.Exec(ctx, `INSERT INTO audit_event (at, actor_user_id, actor_name, action, object_type, object_id, detail)
		 SELECT d.at, d.actor_user_id, d.actor_name, 'secondment.' || d.action, 'secondment', d.secondment_id,
		        jsonb_build_object('step', d.step)
		 FROM decision d WHERE d.id > $1 AND d.id <= $2 ORDER BY d.at`, from, from+batch); err != nil {
			return fmt.Errorf("history: audit events: %w", err)
		}
	}
	for _, q := range []string{
		`INSERT INTO notification_outbox (recipient_role, recipient_unit_id, secondment_id, message_id, message_data,
		     created_at, delivered_at, read_at, next_attempt_at)
		 SELECT r.role, CASE r.role WHEN 'lender' THEN s.lender_id ELSE s.org_dept_id END, s.id, 'notify.awaiting_consent',
		        jsonb_build_object('Person', 'x'), s.created_at, s.created_at,
		        CASE WHEN s.created_at < now() - interval '7 days' THEN s.created_at + interval '1 day' END, s.created_at
		 FROM secondment s CROSS JOIN (VALUES ('lender'), ('orgdept')) r(role)
		 WHERE s.org_dept_id IS NOT NULL`,
		// The irregular ledger: every overdue term (R10), its deadline a
		// month after it was entered (the sweep escalates those missed), a
		// fifth reported sent back and a tenth in transfer-in; and one
		// returned secondment in eight found without approval (R8) and
		// closed since.
		`INSERT INTO ledger_entry (secondment_id, rule, opened_on, detail, responsible_unit_id, org_dept_id, target_task,
		     measures, deadline, status, created_at)
		 SELECT s.id, 'R10', s.end_date + 1, 'policy.r10.overdue', s.borrower_id, s.org_dept_id, '返回原单位', '完成交接后返回',
		        s.end_date + 31,
		        CASE s.id % 10 WHEN 0 THEN 'returned' WHEN 1 THEN 'returned' WHEN 2 THEN 'transfer_pending' ELSE 'rectifying' END,
		        s.updated_at
		 FROM secondment s WHERE s.state = 'overdue'`,
		`INSERT INTO ledger_entry (secondment_id, rule, opened_on, detail, responsible_unit_id, org_dept_id, deadline, status,
		     closed_on, close_opinion, created_at)
		 SELECT s.id, 'R8', s.start_date, 'stock.r8.no_approval', s.borrower_id, s.org_dept_id, s.start_date + 30, 'closed',
		        greatest(s.start_date, coalesce(s.returned_on, s.end_date)), '已返回，同意销号', s.created_at
		 FROM secondment s WHERE s.state = 'returned' AND s.id % 8 = 0`,
	} {
		if _, err := store.Pool.Exec(ctx, q); err != nil {
			return fmt.Errorf("history: %w", err)
		}
	}
	var audit, notes, entries int
	if err := store.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM audit_event), (SELECT count(*) FROM notification_outbox),
		(SELECT count(*) FROM ledger_entry)`).Scan(&audit, &notes, &entries); err != nil {
		return err
	}
	fmt.Fprintf(out, "history: %d audit events, %d notifications, %d irregular ledger entries (%s)\n", audit, notes, entries, since(t0))
	return Settle(ctx, store, out)
}
