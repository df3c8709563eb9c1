package approval_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"secondment/internal/approval"
	"secondment/internal/postgres"
	sm "secondment/internal/secondment"
)

// activeTerm runs a Kashgar request of person through the whole chain (in
// 2023, under Kashgar's first version: townships allowed, 3-month terms,
// 6 months over a chain) and starts it on its first day; a renewal
// (previous ≠ 0) is left approved, for the sweep to start.
func (w *world) activeTerm(person string, start, end sm.Date, previous int64) sm.Secondment {
	w.t.Helper()
	clerk := w.actor("XJ-KS-JW", sm.RoleBorrower, "纪委监委经办人")
	d := w.draft(person, start, end)
	d.PreviousID = previous
	s := w.create(clerk, d, start.AddDays(-20))
	w.act(s.ID, clerk, approval.ActInput{Action: sm.ActSubmit}, start.AddDays(-20))
	w.act(s.ID, w.actor("XJ-KS-AKKS", sm.RoleLender, "张鹏"), approval.ActInput{Action: sm.ActConsent, Opinion: "同意"}, start.AddDays(-18))
	w.act(s.ID, w.actor("XJ-KS-ZZB", sm.RoleOrgDept, "冯剑"), approval.ActInput{Action: sm.ActApprove, Opinion: "同意"}, start.AddDays(-15))
	if previous == 0 {
		w.act(s.ID, clerk, approval.ActInput{Action: sm.ActStart}, start)
	}
	return w.record(s.ID).Secondment
}

func (w *world) sweep(day sm.Date) postgres.SweepResult {
	w.t.Helper()
	res, err := w.s.Sweep(w.ctx, day, smAt(day), postgres.SweepOptions{BatchSize: 7})
	if err != nil {
		w.t.Fatalf("sweep %s: %v", day, err)
	}
	return res
}

// Expiry comes the day after the last day (a term ending 31 October is
// still running on the 31st), and with Kashgar's grace of 0 days the
// person is overdue from then on: the ledger gets an R10 entry. A second
// sweep the same day changes nothing.
func TestSweepExpiresTheDayAfterTheLastDay(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	s := w.activeTerm("李传群", sm.D(2023, 8, 1), sm.D(2023, 10, 31), 0)

	if r := w.sweep(sm.D(2023, 10, 31)); r.Expired+r.Overdue != 0 {
		t.Fatalf("on the last day: %+v", r)
	}
	if st := w.record(s.ID).State; st != sm.StateActive {
		t.Fatalf("on the last day the term is %s", st)
	}
	r := w.sweep(sm.D(2023, 11, 1))
	if r.Expired != 1 || r.Overdue != 1 {
		t.Fatalf("the day after: %+v", r)
	}
	rec := w.record(s.ID)
	if rec.State != sm.StateOverdue || rec.Version != 7 {
		t.Fatalf("after the sweep: %s v%d", rec.State, rec.Version)
	}
	if n := w.count(`SELECT count(*) FROM ledger_entry WHERE secondment_id = $1 AND rule = 'R10' AND opened_on = '2023-11-01'`, s.ID); n != 1 {
		t.Fatalf("ledger entries: %d", n)
	}
	if n := w.count(`SELECT count(*) FROM audit_event WHERE object_id = $1 AND action IN ('secondment.expire', 'secondment.mark_overdue')`, s.ID); n != 2 {
		t.Fatalf("audit events: %d", n)
	}
	if n := w.count(`SELECT count(*) FROM notification_outbox WHERE secondment_id = $1 AND message_id IN ('notify.digest.expired', 'notify.digest.overdue')
		AND message_data->>'Names' = '李传群'`, s.ID); n == 0 {
		t.Fatal("nobody was told")
	}
	before := w.count(`SELECT count(*) FROM audit_event`)
	if r := w.sweep(sm.D(2023, 11, 1)); r.Renewed+r.Expired+r.Overdue+r.Reminders != 0 {
		t.Fatalf("second sweep the same day: %+v", r)
	}
	if after := w.count(`SELECT count(*) FROM audit_event`); after != before {
		t.Fatalf("the second sweep wrote %d audit events", after-before)
	}
	if n := w.count(`SELECT count(*) FROM sweep_run`); n != 3 {
		t.Fatalf("%d sweeps recorded", n)
	}
}

// Month ends: a term of 3 months from 30 November 2023 ends on 29 February
// 2024 (a leap year), and expires on 1 March, not before.
func TestSweepMonthEnd(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	s := w.activeTerm("李传群", sm.D(2023, 11, 30), sm.TermLastDay(sm.D(2023, 11, 30), 3), 0)
	if s.End != sm.D(2024, 2, 29) {
		t.Fatalf("end %s", s.End)
	}
	if r := w.sweep(sm.D(2024, 2, 29)); r.Expired != 0 {
		t.Fatalf("expired on its last day: %+v", r)
	}
	if r := w.sweep(sm.D(2024, 3, 1)); r.Expired != 1 {
		t.Fatalf("not expired the day after: %+v", r)
	}
}

// Each reminder is sent once, on its day or when a missed day is caught up;
// a late sweep sends only the most urgent one.
func TestSweepRemindersOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	s := w.activeTerm("李传群", sm.D(2023, 8, 1), sm.D(2023, 10, 31), 0)
	reminders := func() int {
		return w.count(`SELECT count(*) FROM notification_outbox WHERE secondment_id = $1 AND message_id = 'notify.reminder.before'`, s.ID)
	}
	w.sweep(sm.D(2023, 10, 15))
	if n := reminders(); n != 0 {
		t.Fatalf("2023-10-15: %d reminders", n)
	}
	if r := w.sweep(sm.D(2023, 10, 16)); r.Reminders != 1 || reminders() != 2 { // borrower and lender
		t.Fatalf("15 days before: %+v, %d notifications", r, reminders())
	}
	if r := w.sweep(sm.D(2023, 10, 16)); r.Reminders != 0 {
		t.Fatalf("again the same day: %+v", r)
	}
	if r := w.sweep(sm.D(2023, 10, 20)); r.Reminders != 0 {
		t.Fatalf("a later day before the next: %+v", r)
	}
	if r := w.sweep(sm.D(2023, 10, 29)); r.Reminders != 1 || reminders() != 4 {
		t.Fatalf("3 days before (caught up on the 29th): %+v", r)
	}
	if r := w.sweep(sm.D(2023, 10, 30)); r.Reminders != 0 {
		t.Fatalf("after the last reminder: %+v", r)
	}

	// Catch-up after a gap: a sweep first run 2 days before the end sends
	// the 3-day reminder alone; the 15-day one is never sent late.
	w2 := newWorld(t, 0)
	s2 := w2.activeTerm("李传群", sm.D(2023, 8, 1), sm.D(2023, 10, 31), 0)
	if r := w2.sweep(sm.D(2023, 10, 29)); r.Reminders != 1 {
		t.Fatalf("late first sweep: %+v", r)
	}
	if r := w2.sweep(sm.D(2023, 10, 30)); r.Reminders != 0 {
		t.Fatalf("the covered 15-day reminder was sent late: %+v", r)
	}
	if n := w2.count(`SELECT count(*) FROM reminder_sent WHERE secondment_id = $1`, s2.ID); n != 2 {
		t.Fatalf("%d reminder records, want both kinds", n)
	}
	// And days missed entirely are caught up: nothing ran until well after
	// the end, and the term is expired and overdue at once.
	if r := w2.sweep(sm.D(2023, 11, 20)); r.Expired != 1 || r.Overdue != 1 {
		t.Fatalf("catch-up after a gap: %+v", r)
	}
}

// An approved renewal takes over when the term ends; one still pending
// does not keep the person seconded.
func TestSweepHandsOverToTheApprovedRenewal(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	t1 := w.activeTerm("李传群", sm.D(2023, 8, 1), sm.D(2023, 10, 31), 0)
	r1 := w.activeTerm("李传群", sm.D(2023, 11, 1), sm.D(2024, 1, 31), t1.ID) // approved, not started
	if st := w.record(r1.ID).State; st != sm.StateApproved {
		t.Fatalf("renewal %s", st)
	}
	if r := w.sweep(sm.D(2023, 11, 1)); r.Renewed != 1 || r.Expired != 0 {
		t.Fatalf("hand-over: %+v", r)
	}
	if a, b := w.record(t1.ID), w.record(r1.ID); a.State != sm.StateRenewed || a.RenewalID != r1.ID || b.State != sm.StateActive || b.StartedOn != sm.D(2023, 11, 1) {
		t.Fatalf("after hand-over: %s (renewal %d), %s from %s", a.State, a.RenewalID, b.State, b.StartedOn)
	}
	if r := w.sweep(sm.D(2023, 11, 1)); r.Renewed != 0 {
		t.Fatalf("second sweep: %+v", r)
	}

	// A renewal still under review at the end: the term expires.
	w2 := newWorld(t, 0)
	t2 := w2.activeTerm("李传群", sm.D(2023, 8, 1), sm.D(2023, 10, 31), 0)
	clerk := w2.actor("XJ-KS-JW", sm.RoleBorrower, "纪委监委经办人")
	d := w2.draft("李传群", sm.D(2023, 11, 1), sm.D(2024, 1, 31))
	d.PreviousID = t2.ID
	pending := w2.create(clerk, d, sm.D(2023, 10, 20))
	w2.act(pending.ID, clerk, approval.ActInput{Action: sm.ActSubmit}, sm.D(2023, 10, 20))
	if r := w2.sweep(sm.D(2023, 11, 1)); r.Renewed != 0 || r.Expired != 1 {
		t.Fatalf("with a pending renewal: %+v", r)
	}
}

// Many due rows in small batches: each changes once.
func TestSweepBatches(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	var ids []int64
	for i := range 20 {
		name := fmt.Sprintf("测试人员%02d", i)
		if _, err := w.s.Import(w.ctx, postgres.Import{People: []postgres.PersonImport{{HomeUnitCode: "XJ-KS-AKKS",
			Person: sm.Person{Code: fmt.Sprintf("XJ-KS-AKKS-T%02d", i), Name: name}}}}); err != nil {
			t.Fatal(err)
		}
		w.people[name] = int64(w.count(`SELECT id FROM person WHERE name = $1`, name))
		ids = append(ids, w.activeTerm(name, sm.D(2023, 8, 1), sm.D(2023, 10, 31), 0).ID)
	}
	if r := w.sweep(sm.D(2023, 11, 1)); r.Expired != 20 || r.Overdue != 20 {
		t.Fatalf("batches: %+v", r)
	}
	if n := w.count(`SELECT count(*) FROM audit_event WHERE action = 'secondment.expire'`); n != 20 {
		t.Fatalf("%d expire events", n)
	}
	for _, id := range ids {
		if rec := w.record(id); rec.State != sm.StateOverdue || rec.Version != 7 {
			t.Fatalf("request %d after the sweep: %s v%d", id, rec.State, rec.Version)
		}
	}
	// Notifications come as digests per recipient and batch (of 7 here),
	// together naming all 20 people once.
	if n := w.count(`SELECT coalesce(sum((message_data->>'Count')::int), 0) FROM notification_outbox
		WHERE message_id = 'notify.digest.expired' AND recipient_role = 'borrower'`); n != 20 {
		t.Fatalf("digests count %d people, want 20", n)
	}
	if n := w.count(`SELECT count(*) FROM notification_outbox WHERE message_id = 'notify.digest.expired' AND recipient_role = 'borrower'`); n != 3 {
		t.Fatalf("%d digests for the borrower, want 3 (batches of 7)", n)
	}
}

// The policy's grace period and renewal apply-by reach the sweep: with 3
// days' grace the person is overdue only from the 4th day after the end,
// and the borrower is reminded once, on the apply-by day, to renew in time.
func TestSweepGraceAndApplyBy(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	s := w.activeTerm("李传群", sm.D(2023, 8, 1), sm.D(2023, 10, 31), 0)
	if _, err := w.s.Pool.Exec(w.ctx, `UPDATE policy SET rules = rules || '{"return_grace_days": 3, "renewal_apply_by_days": 20}'
		WHERE id = (SELECT policy_id FROM secondment WHERE id = $1)`, s.ID); err != nil {
		t.Fatal(err)
	}
	applyBy := func() int {
		return w.count(`SELECT count(*) FROM notification_outbox WHERE secondment_id = $1 AND message_id = 'notify.reminder.apply_by'`, s.ID)
	}
	w.sweep(sm.D(2023, 10, 10))
	if n := applyBy(); n != 0 {
		t.Fatalf("apply-by reminder before the day: %d", n)
	}
	w.sweep(sm.D(2023, 10, 11)) // 31 October − 20 days
	w.sweep(sm.D(2023, 10, 12))
	if n := applyBy(); n != 1 {
		t.Fatalf("apply-by reminders: %d, want 1 (borrower, once)", n)
	}
	if r := w.sweep(sm.D(2023, 11, 1)); r.Expired != 1 || r.Overdue != 0 {
		t.Fatalf("the day after the end: %+v", r)
	}
	if r := w.sweep(sm.D(2023, 11, 3)); r.Overdue != 0 { // the grace's last day
		t.Fatalf("within the grace: %+v", r)
	}
	if r := w.sweep(sm.D(2023, 11, 4)); r.Overdue != 1 || w.record(s.ID).State != sm.StateOverdue {
		t.Fatalf("after the grace: %+v", r)
	}
}

// Issue #12: an early return withdraws the term's pending renewals. 李传群's
// first term (Kashgar, 2023) has a renewal awaiting the lending unit's
// consent, one sent back, and one signed off with a draft renewal of its
// own; when 纪委监委 records the return on 10 June, all four are withdrawn
// by the system in the return's transaction, whoever had seen each is
// told, and the lending unit has nothing left to consent to.
func TestReturnWithdrawsPendingRenewals(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	clerk := w.actor("XJ-KS-JW", sm.RoleBorrower, "纪委监委经办人")
	lender := w.actor("XJ-KS-AKKS", sm.RoleLender, "张鹏")
	first := w.activeTerm("李传群", sm.D(2023, 5, 1), sm.D(2023, 7, 31), 0)
	renewal := func(lenderAct sm.Action) int64 {
		d := w.draft("李传群", sm.D(2023, 8, 1), sm.D(2023, 10, 31))
		d.PreviousID = first.ID
		r := w.create(clerk, d, sm.D(2023, 6, 1))
		w.act(r.ID, clerk, approval.ActInput{Action: sm.ActSubmit}, sm.D(2023, 6, 1))
		if lenderAct != "" {
			w.act(r.ID, lender, approval.ActInput{Action: lenderAct, Opinion: "请补充续借理由"}, sm.D(2023, 6, 2))
		}
		return r.ID
	}
	awaiting, sentBack := renewal(""), renewal(sm.ActSendBack)
	// And one signed off, with a renewal of its own down the chain, sent
	// back by the org dept, and a draft renewal the clerk keeps.
	approved := w.activeTerm("李传群", sm.D(2023, 8, 1), sm.D(2023, 8, 31), first.ID)
	d := w.draft("李传群", sm.D(2023, 9, 1), sm.D(2023, 9, 30))
	d.PreviousID = approved.ID
	next := w.create(clerk, d, sm.D(2023, 6, 5)).ID
	w.act(next, clerk, approval.ActInput{Action: sm.ActSubmit}, sm.D(2023, 6, 5))
	w.act(next, lender, approval.ActInput{Action: sm.ActConsent, Opinion: "同意"}, sm.D(2023, 6, 6))
	w.act(next, w.actor("XJ-KS-ZZB", sm.RoleOrgDept, "冯剑"), approval.ActInput{Action: sm.ActSendBack, Opinion: "请说明续借理由"}, sm.D(2023, 6, 7))
	d.Start, d.End = sm.D(2023, 8, 1).String(), sm.D(2023, 10, 31).String()
	d.PreviousID = first.ID
	draft := w.create(clerk, d, sm.D(2023, 6, 8)).ID
	notes := w.count(`SELECT count(*) FROM notification_outbox WHERE message_id = 'notify.renewal_withdrawn'`)

	w.act(first.ID, clerk, approval.ActInput{Action: sm.ActRecordReturn, ReturnedOn: "2023-06-10", Handover: "已交接", Evaluation: "工作认真负责"}, sm.D(2023, 6, 10))
	all := []int64{awaiting, sentBack, approved.ID, next}
	for _, id := range all {
		if rec := w.record(id); rec.State != sm.StateWithdrawn {
			t.Errorf("renewal %d is %s after the return, want withdrawn", id, rec.State)
		}
	}
	if rec := w.record(draft); rec.State != sm.StateDraft {
		t.Errorf("the clerk's draft renewal is %s", rec.State)
	}
	// Told: the borrowing and lending units of the two the lending unit
	// held, those and the org dept of the signed-off one and of the one it
	// sent back.
	if n := w.count(`SELECT count(*) FROM notification_outbox WHERE message_id = 'notify.renewal_withdrawn'`) - notes; n != 10 {
		t.Errorf("%d notices of the withdrawals, want 10", n)
	}
	if n := w.count(`SELECT count(*) FROM audit_event WHERE object_id = ANY ($1) AND action = 'secondment.withdraw'`, all); n != 4 {
		t.Errorf("%d audit events of the withdrawals", n)
	}
	w.on(sm.D(2023, 6, 11))
	if _, err := w.svc.Act(w.ctx, lender, awaiting, approval.ActInput{Action: sm.ActConsent, Opinion: "同意"}); err == nil {
		t.Error("the lending unit consented to the renewal of a returned term")
	}
	if rec := w.record(first.ID); rec.State != sm.StateReturnRecorded {
		t.Errorf("the term is %s", rec.State)
	}
}

// Issue #12: one person, two places at once. Two requests for 张鹏 with
// overlapping terms both reach the org dept; once one is signed off, the
// other's sign-off is refused naming it, and so is a new request for
// 李传群, on post under S5.
func TestOnePersonOnePlace(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	clerk, _, org := w.kashgar()
	first, pending := w.s5AndAnother() // 张鹏: April to June, awaiting sign-off
	other := w.zhangPengAtGov()

	signed := w.act(pending.ID, org, approval.ActInput{Action: sm.ActApprove, Opinion: "同意"}, sm.D(2024, 3, 14))
	_, err := w.svc.Act(w.ctx, org, other.ID, approval.ActInput{Action: sm.ActApprove, Opinion: "同意"})
	if e := codeOf(t, err, sm.EInvalid); len(e.Fields) != 1 || e.Fields[0].Field != "start" ||
		e.Fields[0].Message.ID != "transition.error.overlap" || e.Fields[0].Message.Data["Other"] != signed.Number {
		t.Errorf("the second sign-off: %+v", e)
	}
	if w.record(other.ID).State != sm.StateAwaitingSignoff {
		t.Error("the refused sign-off changed the request")
	}
	// The database guarantees it whatever path writes: the other request,
	// written straight into the table as a registered running term, is
	// refused by the exclusion constraint over the person and the term.
	straight := `UPDATE secondment SET state = 'active', registered_on = '2024-03-14', registered_by = submitted_by,
		approved_on = '2024-03-14', started_on = start_date WHERE id = $1`
	_, err = w.s.Pool.Exec(w.ctx, straight, other.ID)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23P01" || pe.ConstraintName != "secondment_one_place" {
		t.Errorf("an overlapping term written straight: %v", err)
	}
	// From the day after the signed-off term's end, there is room.
	if _, err := w.s.Pool.Exec(w.ctx, `UPDATE secondment SET start_date = '2024-07-01' WHERE id = $1`, other.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.Pool.Exec(w.ctx, straight, other.ID); err != nil {
		t.Errorf("a term after the other's end: %v", err)
	}
	again := w.create(clerk, w.draft("李传群", sm.D(2024, 5, 1), sm.D(2024, 6, 30)), sm.D(2024, 3, 15))
	_, err = w.svc.Act(w.ctx, clerk, again.ID, approval.ActInput{Action: sm.ActSubmit})
	if e := codeOf(t, err, sm.EInvalid); len(e.Fields) == 0 || e.Fields[0].Message.Data["Other"] != first.Number {
		t.Errorf("a request for 李传群, on post: %+v", e)
	}
}

// Issue #12: a recall, too, leaves a renewal nothing to continue. The org
// dept recalls 李传群's first term while its renewal is signed off and
// waiting to start: the renewal is withdrawn in the recall's transaction
// (an approved renewal beside a term that holds the person without end
// would be two places at once).
func TestRecallWithdrawsRenewal(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	first := w.activeTerm("李传群", sm.D(2023, 5, 1), sm.D(2023, 7, 31), 0)
	renewal := w.activeTerm("李传群", sm.D(2023, 8, 1), sm.D(2023, 8, 31), first.ID)
	if renewal.State != sm.StateApproved {
		t.Fatalf("the renewal is %s", renewal.State)
	}
	org := w.actor("XJ-KS-ZZB", sm.RoleOrgDept, "冯剑")
	w.act(first.ID, org, approval.ActInput{Action: sm.ActRecall, Opinion: "清理整顿，召回原单位"}, sm.D(2023, 6, 10))
	if rec := w.record(renewal.ID); rec.State != sm.StateWithdrawn {
		t.Errorf("the renewal is %s after the recall, want withdrawn", rec.State)
	}
	if rec := w.record(first.ID); rec.State != sm.StateExpired || rec.RecalledOn != sm.D(2023, 6, 10) {
		t.Errorf("the recalled term: %s, recalled on %s", rec.State, rec.RecalledOn)
	}
}

// Issue #12: a transfer-in is refused while a renewal of the term is in
// the chain, naming it, and changes nothing; once the renewal is
// withdrawn, the transfer-in goes ahead.
func TestTransferWaitsForPendingRenewal(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	clerk := w.actor("XJ-KS-JW", sm.RoleBorrower, "纪委监委经办人")
	first := w.activeTerm("李传群", sm.D(2023, 5, 1), sm.D(2023, 7, 31), 0)
	d := w.draft("李传群", sm.D(2023, 8, 1), sm.D(2023, 10, 31))
	d.PreviousID = first.ID
	r := w.create(clerk, d, sm.D(2023, 6, 1))
	submitted := w.act(r.ID, clerk, approval.ActInput{Action: sm.ActSubmit}, sm.D(2023, 6, 1))
	before := w.record(first.ID)

	in := approval.ActInput{Action: sm.ActTransfer, TransferMethod: string(sm.TransferOfPost)}
	w.on(sm.D(2023, 6, 5))
	_, err := w.svc.Act(w.ctx, clerk, first.ID, in)
	if e := codeOf(t, err, sm.EConflict); e.Message.ID != "transfer.error.renewal_pending" || e.Message.Data["Number"] != submitted.Number {
		t.Errorf("a transfer-in beside a pending renewal: %+v", e)
	}
	if after := w.record(first.ID); after.Version != before.Version || after.State != sm.StateActive {
		t.Errorf("the refused transfer-in changed the term: %s v%d", after.State, after.Version)
	}
	w.act(r.ID, clerk, approval.ActInput{Action: sm.ActWithdraw}, sm.D(2023, 6, 6))
	if res := w.act(first.ID, clerk, in, sm.D(2023, 6, 7)); res.State != sm.StateTransferPending {
		t.Errorf("the transfer-in once the renewal is withdrawn: %s", res.State)
	}
}

// Issue #12: working days follow the holiday calendar the migrations load.
// A request submitted on Monday 30 September 2024 waits for the lending
// unit through 国庆 (1–7 October off, Saturday 12 October worked): on 8
// October it has waited 1 working day, not the 6 of Monday to Friday, and
// is not flagged; on Monday 14 October it has waited 6 (8–12 October and
// the 14th) and is. In the audit, the days waited are the calendar's.
func TestEscalationCountsTheHolidayCalendar(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	clerk, _, _ := w.kashgar()
	d := w.draft("李传群", sm.D(2024, 11, 1), sm.D(2025, 1, 31))
	d.Justification = "重大案件查办急需"
	r := w.create(clerk, d, sm.D(2024, 9, 30))
	w.act(r.ID, clerk, approval.ActInput{Action: sm.ActSubmit}, sm.D(2024, 9, 30))
	if res := w.sweep(sm.D(2024, 10, 8)); res.Escalated != 0 {
		t.Fatalf("flagged on 8 October, one working day after the submission: %+v", res)
	}
	if res := w.sweep(sm.D(2024, 10, 12)); res.Escalated != 0 {
		t.Fatalf("flagged on 12 October (a Saturday worked), five working days on: %+v", res)
	}
	if res := w.sweep(sm.D(2024, 10, 14)); res.Escalated != 1 {
		t.Fatalf("not flagged on 14 October, six working days on: %+v", res)
	}
	if n := w.count(`SELECT waited_days FROM escalation WHERE secondment_id = $1`, r.ID); n != 6 {
		t.Errorf("waited %d working days, want 6", n)
	}
}

// The calendar as loaded: 春节 2025 (28 January to 4 February off, Sunday
// 26 January and Saturday 8 February worked), and a year not entered
// (2027 when this was written) counting Monday to Friday.
func TestCalendarAsLoaded(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	cal, err := w.s.Calendar(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := cal.WorkingDaysAfter(sm.D(2025, 1, 24), sm.D(2025, 2, 10)); n != 7 {
		t.Errorf("working days over 春节 2025: %d, want 7 (Mon–Fri alone: 11)", n)
	}
	if n := cal.WorkingDaysAfter(sm.D(2024, 9, 30), sm.D(2024, 10, 8)); n != 1 {
		t.Errorf("working days over 国庆 2024: %d, want 1", n)
	}
	if got := cal.Deadline(sm.D(2025, 1, 30)); got != sm.D(2025, 2, 5) {
		t.Errorf("a deadline in 春节 2025 moves to %s, want 2025-02-05", got)
	}
	for _, y := range []int{2023, 2024, 2025, 2026} {
		if !cal.Known(y) {
			t.Errorf("%d's schedule not loaded", y)
		}
	}
}

// A term whose renewal is signed off is handed over by the sweep; the
// registrar cannot end it by hand, and is told why (the database would
// otherwise refuse two places at once with a vaguer word).
func TestManualExpireWaitsForTheHandOver(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	first := w.activeTerm("李传群", sm.D(2023, 5, 1), sm.D(2023, 7, 31), 0)
	renewal := w.activeTerm("李传群", sm.D(2023, 8, 1), sm.D(2023, 8, 31), first.ID)
	registrar := w.actor("XJ-KS-ZZB", sm.RoleRegistrar, "台账管理员")
	w.on(sm.D(2023, 8, 1))
	_, err := w.svc.Act(w.ctx, registrar, first.ID, approval.ActInput{Action: sm.ActExpire})
	if e := codeOf(t, err, sm.EConflict); e.Message.ID != "transition.error.expire_renewed" || e.Message.Data["Number"] != renewal.Number {
		t.Errorf("a manual expiry beside a signed-off renewal: %+v", e)
	}
	if res := w.sweep(sm.D(2023, 8, 1)); w.record(first.ID).State != sm.StateRenewed || w.record(renewal.ID).State != sm.StateActive {
		t.Errorf("the hand-over after the refused expiry: %+v", res)
	}
}
