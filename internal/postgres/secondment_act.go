package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"secondment/internal/secondment"
)

// SecondmentAct takes one step on a request, in one transaction: it reads
// the request, gathers what the domain weighs (jurisdiction, facts, transfer
// facts), calls secondment.Transition, and writes the new state with a
// guarded UPDATE (WHERE version = the version read) together with its
// decision, its audit event, its notifications and, on submission, its
// number. ifVersion is the version the caller saw (0 = don't check).
//
// Errors: the domain's own (EInvalid with violations or field errors,
// EForbidden, EConflict for an action the state no longer allows); EConflict
// "error.conflict" wrapping ErrStale when ifVersion is not the stored version,
// (also when the version changed between this step's read and its write),
// or ErrConcurrentUpdate when ifVersion is 0 and another transaction
// changed the request first. On any error nothing is written.
//
// Of in the caller supplies the action and what the actor brings
// (Opinion, ReturnedOn, Handover, RenewalID, TransferMethod, and for a
// transfer Transfer.Leadership, recorded with the application, and
// Transfer.PostsFilled, which the schema does not record); Jurisdiction, Facts, Changed and the rest of Transfer
// are gathered here and whatever the caller put there is ignored.
//
// Files (a scanned letter) are stored with the step, in its transaction.
func (s *Store) SecondmentAct(ctx context.Context, id int64, ifVersion int, actor secondment.Actor,
	in secondment.Input, now time.Time, files ...*Attachment) (secondment.Result, error) {
	var res secondment.Result
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		res, err = actTx(ctx, tx, id, ifVersion, actor, in, now, files...)
		return err
	})
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001") { // deadlock, serialization
			err = conflictError(fmt.Errorf("%w: %w", ErrConcurrentUpdate, err))
		}
		return secondment.Result{}, fmt.Errorf("%s secondment %d: %w", in.Action, id, err)
	}
	return res, nil
}

// actTx is SecondmentAct in the caller's transaction, for use cases that
// take several steps at once (the sweep hands a term over to its renewal).
func actTx(ctx context.Context, tx pgx.Tx, id int64, ifVersion int, actor secondment.Actor,
	in secondment.Input, now time.Time, files ...*Attachment) (secondment.Result, error) {
	cur, err := getSecondment(ctx, tx, id)
	if err != nil {
		return secondment.Result{}, err
	}
	if ifVersion != 0 && ifVersion != cur.Version {
		return secondment.Result{}, versionError(id, ifVersion, cur.Version)
	}
	if err := checkHandler(ctx, tx, cur, actor); err != nil {
		return secondment.Result{}, err
	}
	in.Letter = false // the domain knows only whether a letter comes with the step
	for _, f := range files {
		in.Letter = in.Letter || f != nil
	}
	input, err := gatherInput(ctx, tx, cur, in)
	if err != nil {
		return secondment.Result{}, err
	}
	res, err := secondment.Transition(cur.Secondment, actor, input, now)
	if err != nil {
		return secondment.Result{}, err
	}
	if err := persistStep(ctx, tx, cur, ifVersion, actor, input, res, now); err != nil {
		return secondment.Result{}, err
	}
	for _, f := range files {
		if f == nil {
			continue
		}
		if err := insertAttachment(ctx, tx, id, actor.UserID, f, now); err != nil {
			return secondment.Result{}, err
		}
	}
	return res, nil
}

// gatherInput completes the caller's input with what the store knows.
func gatherInput(ctx context.Context, tx pgx.Tx, cur SecondmentRecord, in secondment.Input) (secondment.Input, error) {
	caller := in.Transfer
	in.Jurisdiction, in.Facts, in.Transfer = nil, nil, nil
	in.Changed = cur.ChangedSinceSentBack
	s := cur.Secondment

	switch {
	case cur.State == secondment.StateDraft && in.Action == secondment.ActSubmit:
		// The jurisdiction is resolved now and recorded by the submission.
		units, err := unitsTx(ctx, tx)
		if err != nil {
			return in, err
		}
		h, err := secondment.NewHierarchy(units)
		if err != nil {
			return in, fmt.Errorf("unit hierarchy: %w", err)
		}
		policies, err := policiesTx(ctx, tx, 0)
		if err != nil {
			return in, err
		}
		j, err := h.Jurisdiction(s.BorrowerID, policies)
		if err != nil {
			return in, err
		}
		in.Jurisdiction = &j
	case cur.JurisdictionID != 0:
		// Later steps: the jurisdiction recorded at submission, whatever the
		// hierarchy says today, with its policy versions.
		j, err := recordedJurisdiction(ctx, tx, cur)
		if err != nil {
			return in, err
		}
		in.Jurisdiction = &j
	}

	switch in.Action {
	case secondment.ActSubmit, secondment.ActResubmit, secondment.ActApprove:
		if cur.State == secondment.StateTransferPending || in.Jurisdiction == nil {
			break
		}
		f, err := gatherFacts(ctx, tx, s, in.Jurisdiction.Root.Name)
		if err != nil {
			return in, err
		}
		in.Facts = &f
	}

	transferApply := in.Action == secondment.ActTransfer && cur.State == secondment.StateActive
	transferDecide := in.Action == secondment.ActApprove && cur.State == secondment.StateTransferPending
	if transferApply || transferDecide {
		t := secondment.TransferFacts{Leadership: cur.TransferLeadership}
		if caller != nil {
			t.PostsFilled = caller.PostsFilled
			if transferApply {
				t.Leadership = caller.Leadership
			}
		}
		if err := gatherTransferFacts(ctx, tx, s, transferDecide, &t); err != nil {
			return in, err
		}
		in.Transfer = &t
	}
	return in, nil
}

// recordedJurisdiction rebuilds the jurisdiction recorded on a request.
func recordedJurisdiction(ctx context.Context, tx pgx.Tx, cur SecondmentRecord) (secondment.Jurisdiction, error) {
	var j secondment.Jurisdiction
	var err error
	if j.Root, err = unitTx(ctx, tx, cur.JurisdictionID, false); err != nil {
		return j, err
	}
	if j.OrgDept, err = unitTx(ctx, tx, cur.OrgDeptID, false); err != nil {
		return j, err
	}
	policies, err := policiesTx(ctx, tx, cur.JurisdictionID)
	if err != nil {
		return j, err
	}
	j.Policies = policies[cur.JurisdictionID]
	return j, nil
}

// gatherFacts reads what the rules weigh: both units, the person's other
// requests (R6, R7), and how many other people of the lending unit are
// away now (R14).
func gatherFacts(ctx context.Context, tx pgx.Tx, s secondment.Secondment, jurisdiction string) (secondment.Facts, error) {
	f := secondment.Facts{Jurisdiction: jurisdiction}
	var err error
	if f.Borrower, err = unitTx(ctx, tx, s.BorrowerID, false); err != nil {
		return f, err
	}
	if f.Lender, err = unitTx(ctx, tx, s.LenderID, false); err != nil {
		return f, err
	}
	rows, err := tx.Query(ctx, secondmentSelect+` WHERE s.person_id = $1 AND s.id <> $2 ORDER BY s.start_date, s.id`,
		s.PersonID, s.ID)
	if err != nil {
		return f, fmt.Errorf("history of person %d: %w", s.PersonID, err)
	}
	history, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (SecondmentRecord, error) { return scanSecondment(row) })
	if err != nil {
		return f, fmt.Errorf("history of person %d: %w", s.PersonID, err)
	}
	for _, h := range history {
		f.History = append(f.History, h.Secondment)
	}
	// People, not requests: a person away on one term and renewed by
	// another counts once, and the request's own person is not counted
	// (Evaluate adds them).
	err = tx.QueryRow(ctx, `
		SELECT count(DISTINCT person_id) FROM secondment
		WHERE lender_id = $1 AND state = ANY ($2) AND person_id <> $3`,
		s.LenderID, statesWhere(secondment.State.Away), s.PersonID).Scan(&f.LenderAway)
	if err != nil {
		return f, fmt.Errorf("count people away from unit %d: %w", s.LenderID, err)
	}
	return f, nil
}

// gatherTransferFacts reads the borrowing unit's numbers for R12. The
// units are locked (FOR NO KEY UPDATE, which lets other transactions keep
// referencing them) so that two transfers into one unit are judged one
// after the other and cannot both take its last post; a completion locks
// the lending unit too, in ID order, as it changes both headcounts.
func gatherTransferFacts(ctx context.Context, tx pgx.Tx, s secondment.Secondment, complete bool, t *secondment.TransferFacts) error {
	ids := []int64{s.BorrowerID}
	if complete {
		ids = []int64{min(s.BorrowerID, s.LenderID), max(s.BorrowerID, s.LenderID)}
	}
	for _, id := range ids {
		u, err := unitTx(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if id == s.BorrowerID {
			t.Borrower = u
		}
	}
	err := tx.QueryRow(ctx, `
		SELECT count(*), count(*) FILTER (WHERE transfer_leadership) FROM secondment
		WHERE borrower_id = $1 AND state = 'transfer_pending' AND id <> $2`,
		s.BorrowerID, s.ID).Scan(&t.Pending, &t.PendingLeadership)
	if err != nil {
		return fmt.Errorf("count pending transfers into unit %d: %w", s.BorrowerID, err)
	}
	return nil
}

// persistStep writes a transition that the domain accepted.
func persistStep(ctx context.Context, tx pgx.Tx, cur SecondmentRecord, ifVersion int, actor secondment.Actor,
	in secondment.Input, res secondment.Result, now time.Time) error {
	ns, id := res.Secondment, cur.ID
	var number *string
	var policyID *int64
	if in.Action == secondment.ActSubmit {
		if err := tx.QueryRow(ctx, `SELECT id FROM policy WHERE jurisdiction_id = $1 AND version = $2`,
			ns.JurisdictionID, ns.PolicyVersion).Scan(&policyID); err != nil {
			return fmt.Errorf("policy %d of jurisdiction %d: %w", ns.PolicyVersion, ns.JurisdictionID, err)
		}
		n, err := nextNumber(ctx, tx, ns.JurisdictionID, ns.SubmittedOn.Year)
		if err != nil {
			return err
		}
		number = &n
	}

	// The decision comes first: an approval's row is what the request's
	// sign-off references (the schema checks it). If the guarded update
	// below finds another version, the whole transaction rolls back.
	var decisionID int64
	if actor.Role != secondment.RoleSystem {
		d := res.Event.Decision
		err := tx.QueryRow(ctx, `
			INSERT INTO decision (secondment_id, step, action, role, actor_user_id, actor_name, on_behalf_of,
			                      on_behalf_of_user_id, opinion, at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
			id, d.Step, d.Action, d.Role, nullID(d.ActorID), d.ActorName, d.OnBehalfOf, nullID(d.ForID), d.Opinion, d.At).Scan(&decisionID)
		if err != nil {
			return fmt.Errorf("record decision: %w", mapError(err, "decision"))
		}
	}
	var signoff *int64
	if in.Action == secondment.ActApprove && cur.State == secondment.StateAwaitingSignoff {
		signoff = &decisionID
	}
	var closedAt *time.Time
	if ns.State.Terminal() {
		closedAt = &now
	}
	var transferMethod *string
	if ns.TransferMethod != "" {
		m := string(ns.TransferMethod)
		transferMethod = &m
	}
	leadership := cur.TransferLeadership
	if in.Action == secondment.ActTransfer && in.Transfer != nil {
		leadership = in.Transfer.Leadership
	}
	exceptions := make([]string, len(ns.ExceptionRules))
	for i, r := range ns.ExceptionRules {
		exceptions[i] = string(r)
	}

	var version int
	err := tx.QueryRow(ctx, `
		UPDATE secondment SET
		    state = $3, number = coalesce($4, number), policy_id = coalesce($5, policy_id),
		    jurisdiction_id = $6, org_dept_id = $7, submitted_on = $8, submitted_by = $9,
		    consented_on = $10, approved_on = $11,
		    signoff_decision_id = CASE WHEN $11::date IS NULL THEN NULL ELSE coalesce($12, signoff_decision_id) END,
		    exception_rules = $13, exception_approver = $14, started_on = $15,
		    filed_by_borrower = $16, filed_by_lender = $17, recalled_on = $18, returned_on = $19,
		    handover = $20, return_confirmed_on = $21, renewal_id = $22, transfer_method = $23,
		    transfer_leadership = $24, closed_at = $25, changed_since_sent_back = false,
		    version = version + 1, updated_at = $26
		WHERE id = $1 AND version = $2
		RETURNING version`,
		id, cur.Version, ns.State, number, policyID,
		nullID(ns.JurisdictionID), nullID(ns.OrgDeptID), dateArg(ns.SubmittedOn), nullID(ns.SubmittedBy),
		dateArg(ns.ConsentedOn), dateArg(ns.ApprovedOn), signoff,
		exceptions, ns.ExceptionApprover, dateArg(ns.StartedOn),
		dateArg(ns.FiledByBorrower), dateArg(ns.FiledByLender), dateArg(ns.RecalledOn), dateArg(ns.ReturnedOn),
		ns.Handover, dateArg(ns.ReturnConfirmedOn), nullID(ns.RenewalID), transferMethod,
		leadership, closedAt, now).Scan(&version)
	if errors.Is(err, pgx.ErrNoRows) {
		return versionError(id, ifVersion, cur.Version)
	}
	if err != nil {
		return fmt.Errorf("update secondment: %w", mapError(err, "secondment"))
	}

	if res.NewHomeUnit != 0 {
		if err := moveHome(ctx, tx, ns, res.NewHomeUnit, now); err != nil {
			return err
		}
	}

	detail := map[string]any{"from": res.Event.From, "to": res.Event.To, "rules": ruleStrings(res.Event.Rules),
		"version": version, "event": map[string]any{"id": res.Event.Message.ID, "data": res.Event.Message.Data}}
	if decisionID != 0 {
		detail["decision_id"] = decisionID
	}
	if number != nil {
		detail["number"] = *number
		detail["policy_version"] = ns.PolicyVersion
	}
	if len(res.Violations) > 0 {
		var vs []map[string]string
		for _, v := range res.Violations {
			vs = append(vs, map[string]string{"rule": string(v.Rule), "severity": string(v.Severity)})
		}
		detail["violations"] = vs
	}
	if res.NewHomeUnit != 0 {
		detail["new_home_unit"] = res.NewHomeUnit
	}
	actorID, actorName := actorOf(actor)
	if err := auditInsert(ctx, tx, AuditEvent{At: now, ActorID: actorID, ActorName: actorName, Action: "secondment." + string(in.Action),
		ObjectType: "secondment", ObjectID: id, UnitID: ns.BorrowerID, Detail: detail}); err != nil {
		return err
	}
	return insertNotifications(ctx, tx, id, res.Notifications, now)
}

func ruleStrings(rules []secondment.RuleID) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = string(r)
	}
	return out
}

// nextNumber gives the next request number of a jurisdiction and year,
// 借调〔2024〕0001 onwards. The counter row stays locked until the
// transaction ends, so concurrent submissions get distinct numbers, and one
// that rolls back returns its number.
func nextNumber(ctx context.Context, tx pgx.Tx, jurisdictionID int64, year int) (string, error) {
	var n int
	err := tx.QueryRow(ctx, `
		INSERT INTO secondment_number_counter (jurisdiction_id, year, last_value) VALUES ($1, $2, 1)
		ON CONFLICT (jurisdiction_id, year) DO UPDATE SET last_value = secondment_number_counter.last_value + 1
		RETURNING last_value`, jurisdictionID, year).Scan(&n)
	if err != nil {
		return "", fmt.Errorf("number for jurisdiction %d, %d: %w", jurisdictionID, year, err)
	}
	return FormatNumber(year, n), nil
}

// FormatNumber is the request number 借调〔2024〕0001.
func FormatNumber(year, n int) string { return fmt.Sprintf("借调〔%04d〕%04d", year, n) }

// moveHome completes a transfer-in (R12): the person now belongs to the
// borrowing unit, which gains one on its headcount while the lending unit
// loses one and so gains a vacancy. A unit without a recorded headcount
// keeps none.
func moveHome(ctx context.Context, tx pgx.Tx, s secondment.Secondment, home int64, now time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE person SET home_unit_id = $2, updated_at = $3 WHERE id = $1`,
		s.PersonID, home, now); err != nil {
		return fmt.Errorf("move person %d to unit %d: %w", s.PersonID, home, mapError(err, "person"))
	}
	_, err := tx.Exec(ctx, `
		UPDATE unit SET headcount = headcount + CASE WHEN id = $1 THEN 1 ELSE -1 END, updated_at = $3
		WHERE id IN ($1, $2)`, home, s.LenderID, now)
	if err != nil {
		return fmt.Errorf("headcounts of units %d and %d: %w", home, s.LenderID, mapError(err, "unit"))
	}
	return nil
}

const unitColumns = `id, code, name, level, system, branch, coalesce(parent_id, 0),
       staffing_quota, post_quota, headcount, note`

func scanUnit(row pgx.Row) (secondment.Unit, error) {
	var u secondment.Unit
	err := row.Scan(&u.ID, &u.Code, &u.Name, &u.Level, &u.System, &u.Branch, &u.ParentID,
		&u.StaffingQuota, &u.PostQuota, &u.Headcount, &u.Note)
	return u, err
}

// unitTx reads one unit in the transaction, locked against other writers
// of its row when lock is set.
func unitTx(ctx context.Context, tx pgx.Tx, id int64, lock bool) (secondment.Unit, error) {
	q := `SELECT ` + unitColumns + ` FROM unit WHERE id = $1`
	if lock {
		q += ` FOR NO KEY UPDATE`
	}
	u, err := scanUnit(tx.QueryRow(ctx, q, id))
	if err != nil {
		return u, fmt.Errorf("get unit %d: %w", id, mapError(err, "unit"))
	}
	return u, nil
}

// unitsTx lists every unit, in the use case's transaction or on the pool.
func unitsTx(ctx context.Context, tx dbtx) ([]secondment.Unit, error) {
	rows, err := tx.Query(ctx, `SELECT `+unitColumns+` FROM unit ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list units: %w", err)
	}
	units, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (secondment.Unit, error) { return scanUnit(r) })
	if err != nil {
		return nil, fmt.Errorf("list units: %w", err)
	}
	return units, nil
}

// policiesTx lists the policy versions of one jurisdiction or (0) all of
// them, in the use case's transaction or on the pool.
func policiesTx(ctx context.Context, tx dbtx, jurisdictionID int64) (map[int64][]secondment.Policy, error) {
	rows, err := tx.Query(ctx, `
		SELECT jurisdiction_id, version, preset, effective_from, rules
		FROM policy WHERE $1::bigint = 0 OR jurisdiction_id = $1
		ORDER BY jurisdiction_id, version`, jurisdictionID)
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	defer rows.Close()
	out := map[int64][]secondment.Policy{}
	for rows.Next() {
		var (
			jid     int64
			version int
			preset  string
			from    time.Time
			rules   policyRules
		)
		if err := rows.Scan(&jid, &version, &preset, &from, &rules); err != nil {
			return nil, fmt.Errorf("read policy: %w", err)
		}
		out[jid] = append(out[jid], rules.policy(preset, version, from))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	return out, nil
}
