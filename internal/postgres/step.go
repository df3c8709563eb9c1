package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"secondment/internal/secondment"
)

// Handler is the colleague a step of a request was handed to (转交).
type Handler struct {
	Step   secondment.State `json:"step"`
	UserID int64            `json:"user_id"`
	Name   string           `json:"name"`
}

// Loaded is a request as a use case loads it to show it or act on it, in
// one statement: the request with its decisions, who its steps were handed
// to, whether the viewer was copied in, which org dept its waiting step was
// flagged to, and the catalog version (units and policies) in force.
type Loaded struct {
	SecondmentRecord
	Handlers       []Handler
	Copied         bool  // the viewer was copied in (抄送)
	EscalatedTo    int64 // the org dept the waiting step was flagged to, 0 if none
	CatalogVersion int64
}

type loadedRow struct {
	withDecisions
	Handlers       []Handler `db:"handlers"`
	Copied         bool      `db:"copied"`
	EscalatedTo    int64     `db:"escalated_to"`
	CatalogVersion int64     `db:"catalog_version"`
}

// targets appends the destinations of loadSelect's columns to dst.
func (r *loadedRow) targets(dst []any) []any {
	return append(r.withDecisions.targets(dst), &r.Handlers, &r.Copied, &r.EscalatedTo, &r.CatalogVersion)
}

// loadedColumns is how many columns loadSelect has, the widest row
// scanned by position.
var loadedColumns = len((&loadedRow{}).targets(nil))

// loadQuery selects requests as Loaded holds them, for the viewer whose ID
// is parameter viewer, of the rows where selects.
func loadQuery(viewer, where string) string {
	return loadSelect(viewer) + secondmentFrom + `
WHERE ` + where
}

// loadSelect is loadQuery's select list, up to its FROM.
func loadSelect(viewer string) string {
	return `SELECT ` + secondmentColumns + `, ` + decisionsArray + ` AS decisions,
       (SELECT json_agg(json_build_object('step', h.step, 'user_id', h.user_id, 'name', hu.name))
        FROM secondment_handler h JOIN app_user hu ON hu.id = h.user_id
        WHERE h.secondment_id = s.id) AS handlers, -- NULL when none: no JSON to decode
       EXISTS (SELECT 1 FROM secondment_cc c WHERE c.secondment_id = s.id AND c.user_id = ` + viewer + `) AS copied,
       coalesce((SELECT e.supervisor_id FROM escalation e WHERE e.secondment_id = s.id AND e.step = s.state), 0) AS escalated_to,
       (SELECT version FROM catalog_version WHERE id = 1) AS catalog_version`
}

// loadPageQuery loads, as loadQuery does, the requests of page: a query
// of (id, created_at) rows, each request once, newest first, at most a
// page. The page is chosen from the index entries before any request is
// read: joining first read every branch's rows (twice a page for an org
// dept's two to-do states) with their people and units, and sorted them,
// to keep half (half the inbox query's time at a million requests).
func loadPageQuery(viewer, page string) string {
	return `WITH page AS MATERIALIZED (` + page + `)
` + loadSelect(viewer) + `
FROM page
JOIN secondment s ON s.id = page.id` + secondmentJoins + `
ORDER BY page.created_at DESC, page.id DESC`
}

// loadSQL loads request $1 for viewer $2.
var loadSQL = loadQuery("$2", "s.id = $1")

// SecondmentLoad loads request id as viewerID sees it (see Loaded).
func (t *Tx) SecondmentLoad(ctx context.Context, id, viewerID int64) (Loaded, error) {
	return secondmentLoad(ctx, t.q, id, viewerID)
}

// SecondmentLoad is Tx.SecondmentLoad outside a transaction (one statement
// reads one snapshot).
func (s *Store) SecondmentLoad(ctx context.Context, id, viewerID int64) (Loaded, error) {
	return secondmentLoad(ctx, s.Pool, id, viewerID)
}

func secondmentLoad(ctx context.Context, q dbtx, id, viewerID int64) (Loaded, error) {
	rows, _ := q.Query(ctx, loadSQL, id, viewerID)
	r, err := pgx.CollectExactlyOneRow(rows, scanRow[loadedRow])
	if err != nil {
		return Loaded{}, fmt.Errorf("load secondment %d: %w", id, mapError(err, "secondment"))
	}
	return r.loaded()
}

func (r *loadedRow) loaded() (Loaded, error) {
	rec, err := r.withDecisions.record()
	return Loaded{SecondmentRecord: rec, Handlers: r.Handlers, Copied: r.Copied,
		EscalatedTo: r.EscalatedTo, CatalogVersion: r.CatalogVersion}, err
}

// awaySQL counts the people of a lending unit away now. The states are
// written into the text, not passed as a parameter, so that every plan —
// a prepared statement's generic one too — can see that the query lies
// within secondment_away_idx and reads only that index.
var awaySQL = `SELECT count(DISTINCT person_id) FROM secondment
	WHERE lender_id = $1 AND person_id <> $2 AND state IN ('` +
	strings.Join(statesWhere(secondment.State.Away), "', '") + `')`

// historySQL reads a person's other requests from secondment_person_idx
// alone (an index-only scan): the columns the rules weigh and the request
// page lists. Names come from the caller's catalog.
const historySQL = `SELECT ` + historyColumns + `
FROM secondment WHERE person_id = $1 AND id <> $2 ORDER BY start_date, id`

// historyColumns are historyRow's, all in secondment_person_idx.
const historyColumns = `id, state, kind, person_id, borrower_id, lender_id, start_date, end_date,
       coalesce(previous_id, 0) AS previous_id, returned_on, recalled_on, coalesce(number, '') AS number, created_at,
       programme`

// historyRow is a row of historySQL, in its column order.
type historyRow struct {
	ID, PersonID, BorrowerID, LenderID, PreviousID int64
	State, Kind, Number, Programme                 string
	Start, End, ReturnedOn, RecalledOn             pgtype.Date
	CreatedAt                                      time.Time
}

// collectHistory scans historySQL's rows by position: a step reads one
// history, an import one per row, and scanning by name (reflection) was a
// sixth of an import's server time. The rows are scanned small and made
// records once their number is known: growing a slice of records (728
// bytes each) by appending was, with the collector it fed, two fifths of an
// import's server time.
func collectHistory(rows pgx.Rows, err error) ([]SecondmentRecord, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var scanned []historyRow
	for rows.Next() {
		var r historyRow
		if err := rows.Scan(&r.ID, &r.State, &r.Kind, &r.PersonID, &r.BorrowerID, &r.LenderID, &r.Start, &r.End,
			&r.PreviousID, &r.ReturnedOn, &r.RecalledOn, &r.Number, &r.CreatedAt, &r.Programme); err != nil {
			return nil, err
		}
		scanned = append(scanned, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]SecondmentRecord, len(scanned))
	for i, r := range scanned {
		out[i] = SecondmentRecord{CreatedAt: r.CreatedAt, Secondment: secondment.Secondment{ID: r.ID,
			State: secondment.State(r.State), Kind: secondment.Kind(r.Kind), PersonID: r.PersonID,
			BorrowerID: r.BorrowerID, LenderID: r.LenderID, Start: civil(r.Start), End: civil(r.End),
			PreviousID: r.PreviousID, ReturnedOn: civil(r.ReturnedOn), RecalledOn: civil(r.RecalledOn), Number: r.Number,
			Programme: r.Programme}}
	}
	return out, nil
}

// Facts reads, in one round trip, what the rules weigh besides the units:
// the person's other requests (R6, R7; without their names) and how many
// other people of the lending unit are away now (R14, from the index of
// people away).
//
// In a transaction it first locks the person's row (FOR NO KEY UPDATE, in
// the same round trip): two steps judging one person — two sign-offs for
// overlapping terms at different units — are judged one after the other,
// so neither misses the other's term (one person, one place).
func (t *Tx) Facts(ctx context.Context, personID, excludeID, lenderID int64) ([]SecondmentRecord, int, error) {
	return facts(ctx, t.q, personID, excludeID, lenderID, true)
}

// Facts is Tx.Facts outside a transaction, for the live check of a form.
func (s *Store) Facts(ctx context.Context, personID, excludeID, lenderID int64) ([]SecondmentRecord, int, error) {
	return facts(ctx, s.Pool, personID, excludeID, lenderID, false)
}

func facts(ctx context.Context, q dbtx, personID, excludeID, lenderID int64, lock bool) ([]SecondmentRecord, int, error) {
	b := &pgx.Batch{}
	if lock {
		b.Queue(`SELECT 1 FROM person WHERE id = $1 FOR NO KEY UPDATE`, personID)
	}
	b.Queue(historySQL, personID, excludeID)
	// People, not requests: a person away on one term and renewed by
	// another counts once, and the request's own person is not counted.
	b.Queue(awaySQL, lenderID, personID)
	br := q.SendBatch(ctx, b)
	defer br.Close()
	if lock {
		if _, err := br.Exec(); err != nil {
			return nil, 0, fmt.Errorf("lock person %d: %w", personID, err)
		}
	}
	history, err := collectHistory(br.Query())
	if err != nil {
		return nil, 0, fmt.Errorf("history of person %d: %w", personID, err)
	}
	var away int
	if err := br.QueryRow().Scan(&away); err != nil {
		return nil, 0, fmt.Errorf("count people away from unit %d: %w", lenderID, err)
	}
	return history, away, br.Close()
}

// TransferCounts locks the borrowing unit (and, completing, the lending
// unit, in ID order) and reads them with the transfers into the borrowing
// unit under way, for R12. The lock (FOR NO KEY UPDATE, which lets others
// keep referencing the units) makes two transfers into one unit be judged
// one after the other, so they cannot both take its last post.
func (t *Tx) TransferCounts(ctx context.Context, id, borrowerID, lenderID int64, complete bool) (
	borrower secondment.Unit, pending, pendingLeadership int, err error) {
	ids := []int64{borrowerID}
	if complete {
		ids = []int64{min(borrowerID, lenderID), max(borrowerID, lenderID)}
	}
	for _, uid := range ids {
		u, err := scanOneUnit(t.q.Query(ctx, `SELECT `+unitColumns+` FROM unit WHERE id = $1 FOR NO KEY UPDATE`, uid))
		if err != nil {
			return borrower, 0, 0, fmt.Errorf("lock unit %d: %w", uid, mapError(err, "unit"))
		}
		if uid == borrowerID {
			borrower = u
		}
	}
	err = t.q.QueryRow(ctx, `
		SELECT count(*), count(*) FILTER (WHERE transfer_leadership) FROM secondment
		WHERE borrower_id = $1 AND state = 'transfer_pending' AND id <> $2`, borrowerID, id).Scan(&pending, &pendingLeadership)
	if err != nil {
		return borrower, 0, 0, fmt.Errorf("count pending transfers into unit %d: %w", borrowerID, err)
	}
	return borrower, pending, pendingLeadership, nil
}

// NextNumber gives the next request number of a jurisdiction and year. The
// counter row stays locked until the transaction ends, so concurrent
// submissions get distinct numbers, and one that rolls back returns its
// number.
func (t *Tx) NextNumber(ctx context.Context, jurisdictionID int64, year int) (int, error) {
	var n int
	err := t.q.QueryRow(ctx, `
		INSERT INTO secondment_number_counter (jurisdiction_id, series, year, last_value) VALUES ($1, 'request', $2, 1)
		ON CONFLICT (jurisdiction_id, series, year) DO UPDATE SET last_value = secondment_number_counter.last_value + 1
		RETURNING last_value`, jurisdictionID, year).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("number for jurisdiction %d, %d: %w", jurisdictionID, year, err)
	}
	return n, nil
}

// Step is one transition the domain accepted, as it is written.
type Step struct {
	From    SecondmentRecord      // the request as read (its version guards the write)
	To      secondment.Secondment // the request after the step
	Actor   secondment.Actor
	Action  secondment.Action
	Event   secondment.Event
	Notify  []secondment.Notification
	Signoff bool  // the decision is the request's sign-off
	Submit  bool  // the submission: the policy version becomes the request's
	Home    int64 // a completed transfer-in: the person's new home unit
	Detail  map[string]any
	Files   []*Attachment
	Now     time.Time
}

// stepSQL writes a step in one statement: its decision, the guarded update
// (WHERE version = the version read), its audit event and its
// notifications. When the update finds another version it returns no row
// and the caller rolls the transaction back; the decision is only written
// when the version it saw was the one read, so a caller that forgot to
// roll back would leave nothing behind but a concurrent race's loser.
const stepSQL = `
WITH d AS (
    INSERT INTO decision (secondment_id, step, action, role, actor_user_id, actor_name, on_behalf_of,
                          on_behalf_of_user_id, opinion, at)
    SELECT $1, $29, $30, $31, $32, $33, $34, $35, $36, $26
    WHERE $28::boolean AND EXISTS (SELECT 1 FROM secondment WHERE id = $1 AND version = $2)
    RETURNING id
), u AS (
    UPDATE secondment SET
        state = $3, number = coalesce($4, number),
        policy_id = CASE WHEN $5::boolean THEN (SELECT id FROM policy WHERE jurisdiction_id = $6 AND version = $27)
                         ELSE policy_id END,
        jurisdiction_id = $6, org_dept_id = $7, submitted_on = $8, submitted_by = $9,
        consented_on = $10, approved_on = $11,
        signoff_decision_id = CASE WHEN $11::date IS NULL THEN NULL
                                   WHEN $12::boolean THEN (SELECT id FROM d) ELSE signoff_decision_id END,
        exception_rules = $13, exception_approver = $14, started_on = $15,
        filed_by_borrower = $16, filed_by_lender = $17, recalled_on = $18, returned_on = $19,
        handover = $20, return_confirmed_on = $21, renewal_id = $22, transfer_method = $23,
        transfer_leadership = $24, closed_at = $25, changed_since_sent_back = false, evaluation = $44,
        version = version + 1, updated_at = $26
    WHERE id = $1 AND version = $2
    RETURNING version, borrower_id
), a AS (
    INSERT INTO audit_event (at, actor_user_id, actor_name, action, object_type, object_id, unit_id, detail, request_id)
    SELECT $26, $32, $33, $37, 'secondment', $1, u.borrower_id,
           $38::jsonb || jsonb_build_object('version', u.version) ||
               coalesce((SELECT jsonb_build_object('decision_id', id) FROM d), '{}'),
           $39
    FROM u
), n AS (
    INSERT INTO notification_outbox (recipient_role, recipient_unit_id, secondment_id, message_id, message_data,
                                     created_at, next_attempt_at)
    SELECT x.role, x.unit, $1, x.message, x.data::jsonb, $26, $26
    FROM u, unnest($40::text[], $41::bigint[], $42::text[], $43::text[]) AS x(role, unit, message, data)
), r AS (
    -- The actor's unit has done its part: what it was told about this
    -- request is read (an unread badge for a finished task misleads).
    UPDATE notification_outbox SET read_at = $26
    WHERE secondment_id = $1 AND read_at IS NULL AND recipient_role = $45 AND recipient_unit_id = $46
      AND EXISTS (SELECT 1 FROM u)
)
SELECT u.version, coalesce((SELECT id FROM d), 0) FROM u`

// SecondmentStep writes st and returns the request's new version and the
// decision's ID (0 for the system's steps). A request changed since it was
// read is ErrVersion, and nothing is written.
func (t *Tx) SecondmentStep(ctx context.Context, st Step) (version int, decisionID int64, err error) {
	ns, id := st.To, st.From.ID
	var number *string
	if st.Submit {
		number = &ns.Number
	}
	var closedAt *time.Time
	if ns.State.Terminal() {
		closedAt = &st.Now
	}
	var method *string
	if ns.TransferMethod != "" {
		m := string(ns.TransferMethod)
		method = &m
	}
	exceptions := ruleStrings(ns.ExceptionRules)
	d := st.Event.Decision
	actorID, actorName := actorOf(st.Actor)
	detail, err := json.Marshal(st.Detail)
	if err != nil {
		return 0, 0, fmt.Errorf("encode audit detail: %w", err)
	}
	var roles, messages, data []string
	var units []int64
	for _, n := range st.Notify {
		b, err := json.Marshal(n.Message.Data)
		if err != nil || n.Message.Data == nil {
			b = []byte("{}")
		}
		roles, units = append(roles, string(n.Role)), append(units, n.UnitID)
		messages, data = append(messages, n.Message.ID), append(data, string(b))
	}
	err = t.q.QueryRow(ctx, stepSQL,
		id, st.From.Version, ns.State, number, st.Submit,
		nullID(ns.JurisdictionID), nullID(ns.OrgDeptID), dateArg(ns.SubmittedOn), nullID(ns.SubmittedBy),
		dateArg(ns.ConsentedOn), dateArg(ns.ApprovedOn), st.Signoff,
		exceptions, ns.ExceptionApprover, dateArg(ns.StartedOn),
		dateArg(ns.FiledByBorrower), dateArg(ns.FiledByLender), dateArg(ns.RecalledOn), dateArg(ns.ReturnedOn),
		ns.Handover, dateArg(ns.ReturnConfirmedOn), nullID(ns.RenewalID), method,
		ns.TransferLeadership, closedAt, st.Now, ns.PolicyVersion,
		st.Actor.Role != secondment.RoleSystem, // $28: whether the step is a decision on record
		d.Step, d.Action, d.Role, nullID(actorID), actorName, d.OnBehalfOf, nullID(d.ForID), d.Opinion,
		"secondment."+string(st.Action), string(detail), requestID(ctx),
		roles, units, messages, data, ns.Evaluation,
		string(st.Actor.Role), st.Actor.UnitID).Scan(&version, &decisionID)
	if err == pgx.ErrNoRows {
		return 0, 0, ErrVersion
	}
	if err != nil {
		return 0, 0, fmt.Errorf("write %s of secondment %d: %w", st.Action, id, mapError(err, "secondment"))
	}
	if st.Home != 0 {
		t.moveHome(ns, st.Home, st.Now)
		if err := t.Flush(ctx); err != nil {
			return 0, 0, err
		}
	}
	for _, f := range st.Files {
		if f == nil {
			continue
		}
		if err := insertAttachment(ctx, t.q, id, decisionID, actorID, f, st.Now); err != nil {
			return 0, 0, err
		}
	}
	return version, decisionID, nil
}

func ruleStrings(rules []secondment.RuleID) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = string(r)
	}
	return out
}

// FormatNumber is the request number 借调〔2024〕0001.
func FormatNumber(year, n int) string { return fmt.Sprintf("借调〔%04d〕%04d", year, n) }

// moveHome queues on t the writes that complete a transfer-in (R12): the
// person now belongs to the borrowing unit, which gains one on its
// headcount while the lending unit loses one and so gains a vacancy. A
// unit without a recorded headcount keeps none.
func (t *Tx) moveHome(s secondment.Secondment, home int64, now time.Time) {
	t.queue(`UPDATE person SET home_unit_id = $2, updated_at = $3 WHERE id = $1`, []any{s.PersonID, home, now},
		func(br pgx.BatchResults) error {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("move person %d to unit %d: %w", s.PersonID, home, mapError(err, "person"))
			}
			return nil
		})
	t.queue(`UPDATE unit SET headcount = headcount + CASE WHEN id = $1 THEN 1 ELSE -1 END, updated_at = $3
		WHERE id IN ($1, $2)`, []any{home, s.LenderID, now},
		func(br pgx.BatchResults) error {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("headcounts of units %d and %d: %w", home, s.LenderID, mapError(err, "unit"))
			}
			return nil
		})
}

// InTxLoading begins a transaction and loads request id as viewerID sees it
// in the same round trip (pgx's Batch.BeginTx), then runs fn in that
// transaction: committed when fn returns nil, rolled back otherwise. Every
// command on a request starts so; the separate BEGIN was one round trip of
// five in a step.
func (s *Store) InTxLoading(ctx context.Context, id, viewerID int64, fn func(*Tx, Loaded) error) error {
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	b.Queue(loadSQL, id, viewerID)
	br := s.Pool.SendBatch(ctx, b)
	tx := br.Tx()
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	_, err := br.Exec()
	var row loadedRow
	if err == nil {
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			row, err = pgx.CollectExactlyOneRow(rows, scanRow[loadedRow])
		}
	}
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	var l Loaded
	if err == nil {
		l, err = row.loaded()
	}
	if err != nil {
		return retryable(fmt.Errorf("load secondment %d: %w", id, mapError(err, "secondment")))
	}
	t := &Tx{q: tx}
	if err := fn(t, l); err != nil {
		return retryable(err)
	}
	if err := t.finish(ctx); err != nil {
		return retryable(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return retryable(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// PendingRenewals lists, locked (FOR UPDATE, term before renewal as the
// sweep takes them), the renewals of term id submitted and not yet started,
// and theirs down the chain (a renewal may continue an approved renewal):
// its return leaves them all without a term to continue. Drafts are the
// clerk's (R6 refuses to submit them).
func (t *Tx) PendingRenewals(ctx context.Context, id int64) ([]int64, error) {
	rows, err := t.q.Query(ctx, `
		WITH RECURSIVE chain AS (
		    SELECT id FROM secondment WHERE previous_id = $1 AND state = ANY ($2)
		    UNION
		    SELECT s.id FROM secondment s JOIN chain c ON s.previous_id = c.id WHERE s.state = ANY ($2))
		SELECT id FROM secondment WHERE id IN (SELECT id FROM chain) ORDER BY id FOR UPDATE`,
		id, []string{string(secondment.StateAwaitingConsent), string(secondment.StateAwaitingSignoff),
			string(secondment.StateSentBack), string(secondment.StateApproved)})
	if err != nil {
		return nil, fmt.Errorf("renewals of secondment %d: %w", id, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("renewals of secondment %d: %w", id, err)
	}
	return ids, nil
}

// heldSQL reads the terms on which borrowing units hold people (R15):
// signed off or away; formal exchanges and attachments, arranged by the
// org dept, do not count. It reads secondment_borrower_state_start_idx,
// whose rows per unit and held state are as few as the people the unit
// holds, whatever its history.
var heldSQL = `SELECT borrower_id, id, person_id, start_date, end_date, state IN ('` +
	strings.Join(statesWhere(func(st secondment.State) bool { return st.Away() && st != secondment.StateActive }), "', '") + `')
	FROM secondment WHERE borrower_id = ANY($1) AND (kind = 'secondment' OR programme = '') AND state IN ('` +
	strings.Join(statesWhere(secondment.State.Held), "', '") + `')`

// HeldTerms reads the terms borrowing unit borrowerID holds people on
// (R15). With lock, the unit is locked first (FOR NO KEY UPDATE, as a
// transfer does), so two sign-offs for one unit are judged one after the
// other and cannot both take its last place.
func (t *Tx) HeldTerms(ctx context.Context, borrowerID int64, lock bool) ([]secondment.HeldTerm, error) {
	if lock {
		if _, err := t.q.Exec(ctx, `SELECT 1 FROM unit WHERE id = $1 FOR NO KEY UPDATE`, borrowerID); err != nil {
			return nil, fmt.Errorf("lock unit %d: %w", borrowerID, err)
		}
	}
	terms, err := heldTerms(ctx, t.q, []int64{borrowerID})
	return terms[borrowerID], err
}

// HeldTerms is Tx.HeldTerms outside a transaction, for the live check,
// a request's page and the borrowing unit's home page.
func (s *Store) HeldTerms(ctx context.Context, borrowerID int64) ([]secondment.HeldTerm, error) {
	terms, err := heldTerms(ctx, s.Pool, []int64{borrowerID})
	return terms[borrowerID], err
}

// heldTerms reads the held terms of units, by unit.
func heldTerms(ctx context.Context, q dbtx, units []int64) (map[int64][]secondment.HeldTerm, error) {
	rows, err := q.Query(ctx, heldSQL, units)
	if err != nil {
		return nil, fmt.Errorf("people held by %d units: %w", len(units), err)
	}
	defer rows.Close()
	out := map[int64][]secondment.HeldTerm{}
	for rows.Next() {
		var unit int64
		var t secondment.HeldTerm
		var start, end pgtype.Date
		if err := rows.Scan(&unit, &t.ID, &t.PersonID, &start, &end, &t.Open); err != nil {
			return nil, fmt.Errorf("people held: %w", err)
		}
		t.Start, t.End = civil(start), civil(end)
		out[unit] = append(out[unit], t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("people held: %w", err)
	}
	return out, nil
}

// LenderAway counts the people of a lending unit away now (R14), from the
// index of people away.
func (s *Store) LenderAway(ctx context.Context, unitID int64) (int, error) {
	var n int
	if err := s.Pool.QueryRow(ctx, awaySQL, unitID, int64(0)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count people away from unit %d: %w", unitID, err)
	}
	return n, nil
}
