package approval_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"secondment/internal/approval"
	"secondment/internal/auth"
	"secondment/internal/postgres"
	sm "secondment/internal/secondment"
)

// S5: 喀什市纪委监委 borrows 李传群 of 阿克喀什乡 through the whole chain (R8):
// nomination, approval form, the lending unit's written opinion, the org
// dept's sign-off, then the start.
func TestSecondmentS5KashgarChain(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	clerk, lender, org := w.kashgar()

	// The form names no lending unit: it is the person's home unit.
	d := w.draft("李传群", sm.D(2024, 3, 11), sm.D(2024, 6, 10))
	s := w.create(clerk, d, sm.D(2024, 2, 28))
	if s.State != sm.StateDraft || s.Version != 1 || s.BorrowerID != w.unit("XJ-KS-JW") || s.LenderID != w.unit("XJ-KS-AKKS") ||
		s.PersonName != "李传群" || s.BorrowerName != "喀什市纪委监委" || s.LenderName != "阿克喀什乡" {
		t.Fatalf("draft %+v", s)
	}

	// Under Kashgar v2 a township secondment is an exception: refused
	// without a justification, and nothing is written.
	w.on(sm.D(2024, 3, 1))
	_, err := w.svc.Act(w.ctx, clerk, s.ID, approval.ActInput{Action: sm.ActSubmit, IfVersion: 1})
	e := codeOf(t, err, sm.EInvalid)
	if len(e.Fields) != 1 || e.Fields[0].Field != "justification" || !slices.Equal(e.Rules(), []sm.RuleID{sm.R4}) {
		t.Fatalf("submit without justification: %v (rules %v)", err, e.Rules())
	}
	w.nothingWritten(s.ID, 1, 0, 1, 0)
	if n := w.count(`SELECT count(*) FROM secondment_number_counter`); n != 0 {
		t.Errorf("a refused submission took a number (%d counters)", n)
	}

	d.Justification = "重大案件查办急需熟悉基层情况的干部"
	w.on(sm.D(2024, 2, 29))
	s, err = w.svc.Update(w.ctx, clerk, s.ID, 1, d)
	if err != nil || s.Version != 2 || s.Justification == "" {
		t.Fatalf("update: v%d %v", s.Version, err)
	}

	w.on(sm.D(2024, 3, 1))
	res, err := w.svc.Act(w.ctx, clerk, s.ID, approval.ActInput{Action: sm.ActSubmit, IfVersion: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.State != sm.StateAwaitingConsent || res.Version != 3 || res.Number != "借调〔2024〕0001" {
		t.Fatalf("submitted: %s v%d %q", res.State, res.Version, res.Number)
	}
	// The submission passed with the R4 exception on record, for the org
	// dept to grant.
	var violations []struct{ Rule, Severity string }
	var raw []byte
	if err := w.s.Pool.QueryRow(w.ctx, `SELECT coalesce(detail->'violations', '[]') FROM audit_event
		WHERE object_type = 'secondment' AND object_id = $1 AND action = 'secondment.submit'`, s.ID).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &violations); err != nil {
		t.Fatal(err)
	}
	if len(violations) != 1 || violations[0].Rule != string(sm.R4) || violations[0].Severity != string(sm.SeverityException) {
		t.Fatalf("submission's violations %s", raw)
	}
	w.act(s.ID, lender, approval.ActInput{Action: sm.ActConsent, Opinion: "同意借出,工作由他人代管"}, sm.D(2024, 3, 2))
	got := w.act(s.ID, org, approval.ActInput{Action: sm.ActApprove, Opinion: "同意,限期三个月"}, sm.D(2024, 3, 5))
	if got.State != sm.StateApproved || got.ExceptionApprover != "冯剑" || !slices.Equal(got.ExceptionRules, []sm.RuleID{sm.R4}) {
		t.Fatalf("approved: %+v", got)
	}
	got = w.act(s.ID, clerk, approval.ActInput{Action: sm.ActStart}, sm.D(2024, 3, 11))
	if got.State != sm.StateActive || got.Version != 6 {
		t.Fatalf("started: %s v%d", got.State, got.Version)
	}

	// The request as stored.
	r := w.record(s.ID)
	if r.Number != "借调〔2024〕0001" || r.Version != 6 || r.State != sm.StateActive || r.PolicyVersion != 2 ||
		r.JurisdictionID != w.unit("XJ-KS") || r.OrgDeptID != w.unit("XJ-KS-ZZB") ||
		r.SubmittedOn != sm.D(2024, 3, 1) || r.SubmittedBy != clerk.ID || r.ConsentedOn != sm.D(2024, 3, 2) ||
		r.ApprovedOn != sm.D(2024, 3, 5) || r.StartedOn != sm.D(2024, 3, 11) || r.ExceptionApprover != "冯剑" ||
		!slices.Equal(r.ExceptionRules, []sm.RuleID{sm.R4}) || !r.ClosedAt.IsZero() {
		t.Errorf("stored %+v", r)
	}
	type step struct {
		step   sm.State
		action sm.Action
		role   sm.Role
		actor  int64
		name   string
		on     sm.Date
	}
	want := []step{
		{sm.StateDraft, sm.ActSubmit, sm.RoleBorrower, clerk.ID, "纪委监委经办人", sm.D(2024, 3, 1)},
		{sm.StateAwaitingConsent, sm.ActConsent, sm.RoleLender, lender.ID, "张鹏", sm.D(2024, 3, 2)},
		{sm.StateAwaitingSignoff, sm.ActApprove, sm.RoleOrgDept, org.ID, "冯剑", sm.D(2024, 3, 5)},
		{sm.StateApproved, sm.ActStart, sm.RoleBorrower, clerk.ID, "纪委监委经办人", sm.D(2024, 3, 11)},
	}
	if len(r.Decisions) != len(want) {
		t.Fatalf("decisions %+v", r.Decisions)
	}
	for i, d := range r.Decisions {
		if w := want[i]; d.Step != w.step || d.Action != w.action || d.Role != w.role || d.ActorID != w.actor ||
			d.ActorName != w.name || !d.At.Equal(smAt(w.on)) {
			t.Errorf("decision %d = %+v, want %+v", i, d, w)
		}
	}
	if r.Decisions[1].Opinion != "同意借出,工作由他人代管" || r.Decisions[2].Opinion != "同意,限期三个月" {
		t.Errorf("opinions %q %q", r.Decisions[1].Opinion, r.Decisions[2].Opinion)
	}
	// The sign-off is the approve decision of this request.
	var signoff, approveID int64
	if err := w.s.Pool.QueryRow(w.ctx, `SELECT signoff_decision_id FROM secondment WHERE id = $1`, s.ID).Scan(&signoff); err != nil {
		t.Fatal(err)
	}
	if err := w.s.Pool.QueryRow(w.ctx, `SELECT id FROM decision WHERE secondment_id = $1 AND action = 'approve'`, s.ID).Scan(&approveID); err != nil {
		t.Fatal(err)
	}
	if signoff != approveID {
		t.Errorf("signoff_decision_id %d, want the approval %d", signoff, approveID)
	}

	// The audit trail, one event per step, each with its states and rules.
	rows, err := w.s.Pool.Query(w.ctx, `
		SELECT action, coalesce(actor_user_id, 0), actor_name, unit_id, coalesce(detail->>'from', ''),
		       coalesce(detail->>'to', ''), coalesce(detail->'rules', '[]'), coalesce(detail->>'number', '')
		FROM audit_event WHERE object_type = 'secondment' AND object_id = $1 ORDER BY id`, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	type event struct {
		action   string
		actor    int64
		name     string
		unit     int64
		from, to string
		rules    []string
		number   string
	}
	var events []event
	for rows.Next() {
		var e event
		if err := rows.Scan(&e.action, &e.actor, &e.name, &e.unit, &e.from, &e.to, &e.rules, &e.number); err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	wantEvents := []struct {
		action, from, to string
		actor            int64
	}{
		{"secondment.create", "", "", clerk.ID}, {"secondment.update", "", "", clerk.ID},
		{"secondment.submit", "draft", "awaiting_consent", clerk.ID},
		{"secondment.consent", "awaiting_consent", "awaiting_signoff", lender.ID},
		{"secondment.approve", "awaiting_signoff", "approved", org.ID},
		{"secondment.start", "approved", "active", clerk.ID},
	}
	if len(events) != len(wantEvents) {
		t.Fatalf("audit events %+v", events)
	}
	for i, e := range events {
		we := wantEvents[i]
		if e.action != we.action || e.from != we.from || e.to != we.to || e.unit != w.unit("XJ-KS-JW") || e.name == "" ||
			e.actor != we.actor {
			t.Errorf("audit event %d = %+v, want %+v", i, e, we)
		}
	}
	if !slices.Equal(events[2].rules, []string{"R4"}) || events[2].number != "借调〔2024〕0001" ||
		!slices.Equal(events[4].rules, []string{"R4"}) {
		t.Errorf("submit/approve audit details: %+v / %+v", events[2], events[4])
	}

	// One notification per recipient of each step, in the outbox.
	ns, err := w.s.Pool.Query(w.ctx, `
		SELECT recipient_role, recipient_unit_id, message_id, message_data->>'Person'
		FROM notification_outbox WHERE secondment_id = $1 ORDER BY id`, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	type note struct {
		role   string
		unit   int64
		msg    string
		person string
	}
	var notes []note
	for ns.Next() {
		var n note
		if err := ns.Scan(&n.role, &n.unit, &n.msg, &n.person); err != nil {
			t.Fatal(err)
		}
		notes = append(notes, n)
	}
	if err := ns.Err(); err != nil {
		t.Fatal(err)
	}
	jw, akks, zzb := w.unit("XJ-KS-JW"), w.unit("XJ-KS-AKKS"), w.unit("XJ-KS-ZZB")
	wantNotes := []note{
		{"lender", akks, "notify.awaiting_consent", "李传群"},
		{"orgdept", zzb, "notify.awaiting_signoff", "李传群"},
		{"borrower", jw, "notify.awaiting_signoff", "李传群"},
		{"borrower", jw, "notify.approved", "李传群"},
		{"lender", akks, "notify.approved", "李传群"},
		{"lender", akks, "notify.active", "李传群"},
	}
	if !slices.Equal(notes, wantNotes) {
		t.Errorf("notifications\n got %v\nwant %v", notes, wantNotes)
	}
	// The lending unit's consent read what asked for it; the sign-off and
	// the start came after and wait unread.
	if n, err := w.s.NotificationCountFor(w.ctx, sm.RoleLender, akks, 0); err != nil || n != 2 {
		t.Errorf("lender badge %d, %v; want 2", n, err)
	}
	if n, err := w.svc.Unread(w.ctx, lender); err != nil || n != 2 {
		t.Errorf("the lender's unread count %d, %v; want 2", n, err)
	}

	// Get agrees, for each party; to anyone else the request does not
	// exist, like a missing one.
	for _, p := range []struct {
		name string
		u    auth.User
	}{{"clerk", clerk}, {"lender", lender}, {"org dept", org}} {
		g, err := w.svc.Get(w.ctx, p.u, s.ID)
		if err != nil || g.Version != 6 || len(g.Decisions) != 4 || g.LenderName != "阿克喀什乡" || !g.Party() {
			t.Errorf("get by the %s: v%d %+v %v", p.name, g.Version, g, err)
		}
	}
	if g, err := w.s.SecondmentGet(w.ctx, s.ID); err != nil || g.Version != 6 || len(g.Decisions) != 4 {
		t.Errorf("store get: v%d %+v %v", g.Version, g, err)
	}
	if _, err := w.svc.Get(w.ctx, clerk, s.ID+1000); sm.ErrorCodeOf(err) != sm.ENotFound {
		t.Errorf("get of a missing request: %v", err)
	}
	if _, err := w.s.SecondmentGet(w.ctx, s.ID+1000); sm.ErrorCodeOf(err) != sm.ENotFound {
		t.Errorf("store get of a missing request: %v", err)
	}
	stranger := w.actor("NMG-BT-QS-RD", sm.RoleBorrower, "人大经办人")
	if _, err := w.svc.Get(w.ctx, stranger, s.ID); sm.ErrorCodeOf(err) != sm.ENotFound {
		t.Errorf("get by another unit's clerk: %v", err)
	}
}

// A step the domain refuses (a rule, a forbidden actor) writes nothing.
func TestSecondmentRefusedStepChangesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	// S1: 青山区人大常委会机关 asks for 芦长丽 of 科学路街道办事处 after Baotou's
	// April 2024 notice (v3: townships forbidden).
	clerk := w.actor("NMG-BT-QS-RD", sm.RoleBorrower, "人大经办人")
	d := w.draft("芦长丽", sm.D(2024, 6, 1), sm.D(2024, 8, 31))
	d.Purpose, d.Justification = string(sm.PurposeKeyTask), "人大换届"
	s := w.create(clerk, d, sm.D(2024, 5, 9))

	w.on(sm.D(2024, 5, 10))
	_, err := w.svc.Act(w.ctx, clerk, s.ID, approval.ActInput{Action: sm.ActSubmit})
	e := codeOf(t, err, sm.EInvalid)
	if !errors.Is(err, sm.ErrPolicyViolation) || !slices.Contains(e.Rules(), sm.R4) || !e.Violations.Blocked() {
		t.Fatalf("S1 submit: %v", err)
	}
	w.nothingWritten(s.ID, 1, 0, 1, 0)

	// A draft is the borrowing unit's own: to the lending unit it does not
	// exist yet, so it can neither submit it nor consent to it.
	lender := w.actor("NMG-BT-QS-KXL", sm.RoleLender, "张斌")
	w.on(sm.D(2024, 3, 1))
	_, err = w.svc.Act(w.ctx, lender, s.ID, approval.ActInput{Action: sm.ActSubmit})
	codeOf(t, err, sm.ENotFound)
	_, err = w.svc.Act(w.ctx, lender, s.ID, approval.ActInput{Action: sm.ActConsent, Opinion: "同意"})
	codeOf(t, err, sm.ENotFound)
	// Nor can the clerk consent to the draft: no such step from the draft.
	_, err = w.svc.Act(w.ctx, clerk, s.ID, approval.ActInput{Action: sm.ActConsent, Opinion: "同意"})
	if codeOf(t, err, sm.EConflict); !errors.Is(err, sm.ErrInvalidTransition) {
		t.Fatalf("consent to a draft: %v", err)
	}
	w.nothingWritten(s.ID, 1, 0, 1, 0)
	r := w.record(s.ID)
	if r.State != sm.StateDraft || r.Number != "" || r.JurisdictionID != 0 || !r.SubmittedOn.IsZero() {
		t.Errorf("after refusals: %+v", r)
	}
	if n := w.count(`SELECT count(*) FROM secondment_number_counter`); n != 0 {
		t.Errorf("a refused submission took a number")
	}

	// Before the notice (v2: exception) the same request passes.
	w.on(sm.D(2024, 3, 20))
	if _, err := w.svc.Act(w.ctx, clerk, s.ID, approval.ActInput{Action: sm.ActSubmit}); err != nil {
		t.Fatalf("submit under v2: %v", err)
	}
	if r := w.record(s.ID); r.PolicyVersion != 2 || r.OrgDeptID != w.unit("NMG-BT-QS-ZZB") || r.Number != "借调〔2024〕0001" {
		t.Errorf("submitted under v2: %+v", r)
	}

	// Submitted, the request is the lending unit's to see too; still the
	// borrowing unit cannot take the lender's step (forbidden), and the
	// lender cannot submit it: no such step from awaiting consent.
	w.on(sm.D(2024, 3, 21))
	_, err = w.svc.Act(w.ctx, clerk, s.ID, approval.ActInput{Action: sm.ActConsent, Opinion: "同意"})
	if codeOf(t, err, sm.EForbidden); !errors.Is(err, sm.ErrForbidden) {
		t.Fatalf("the borrower consenting: %v", err)
	}
	_, err = w.svc.Act(w.ctx, lender, s.ID, approval.ActInput{Action: sm.ActSubmit})
	if codeOf(t, err, sm.EConflict); !errors.Is(err, sm.ErrInvalidTransition) {
		t.Fatalf("submitting a submitted request: %v", err)
	}
	w.nothingWritten(s.ID, 2, 1, 2, 1)
}

// Sent back by the lender, edited, resubmitted: the lending unit is asked
// again. Sent back by the org dept and resubmitted unchanged: straight
// back to the org dept.
func TestSecondmentResubmit(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	clerk, lender, org := w.kashgar()
	s := w.s5Submitted()

	w.act(s.ID, lender, approval.ActInput{Action: sm.ActSendBack, Opinion: "请写明工作交接安排"}, sm.D(2024, 3, 2))
	cur := w.record(s.ID)
	in := inputOf(cur.Secondment)
	in.Justification += ";原岗位工作由张鹏代管"
	w.on(sm.D(2024, 3, 3))
	up, err := w.svc.Update(w.ctx, clerk, s.ID, cur.Version, in)
	if err != nil {
		t.Fatal(err)
	}
	if r := w.record(s.ID); !r.ChangedSinceSentBack || r.Version != up.Version || r.Version != cur.Version+1 {
		t.Fatalf("edited after send-back: %+v", r)
	}
	// The person cannot change after submission.
	other := in
	other.PersonID = w.person("张鹏")
	_, err = w.svc.Update(w.ctx, clerk, s.ID, up.Version, other)
	if e := codeOf(t, err, sm.EInvalid); len(e.Fields) != 1 || e.Fields[0].Field != "person" {
		t.Fatalf("changing the person: %v", err)
	}
	if r := w.record(s.ID); r.PersonID != w.person("李传群") || r.Version != up.Version {
		t.Fatalf("after the refused edit: %+v", r)
	}

	res := w.act(s.ID, clerk, approval.ActInput{Action: sm.ActResubmit}, sm.D(2024, 3, 4))
	if res.State != sm.StateAwaitingConsent {
		t.Fatalf("changed resubmission went to %s", res.State)
	}
	if r := w.record(s.ID); r.ChangedSinceSentBack || r.Number != "借调〔2024〕0001" || r.SubmittedOn != sm.D(2024, 3, 1) {
		t.Errorf("after resubmission: %+v", r)
	}

	w.act(s.ID, lender, approval.ActInput{Action: sm.ActConsent, Opinion: "同意"}, sm.D(2024, 3, 5))
	w.act(s.ID, org, approval.ActInput{Action: sm.ActSendBack, Opinion: "请补充案件说明"}, sm.D(2024, 3, 6))
	res = w.act(s.ID, clerk, approval.ActInput{Action: sm.ActResubmit}, sm.D(2024, 3, 7))
	if res.State != sm.StateAwaitingSignoff {
		t.Fatalf("unchanged resubmission went to %s", res.State)
	}
	if n := w.count(`SELECT count(*) FROM secondment_number_counter WHERE last_value = 1`); n != 1 {
		t.Errorf("resubmission took a new number")
	}
}

// S7: a transfer-in completed moves the person's home unit and both
// headcounts; without room in the staffing quota it is refused (R12).
func TestSecondmentTransferIn(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	clerk, _, org := w.kashgar()
	s := w.s5Active()
	jw, akks := w.unit("XJ-KS-JW"), w.unit("XJ-KS-AKKS")
	headcount := func(unit int64) int {
		return w.count(`SELECT headcount FROM unit WHERE id = $1`, unit)
	}

	// 喀什市纪委监委 full (60 of 60): refused, nothing written.
	if _, err := w.s.Pool.Exec(w.ctx, `UPDATE unit SET headcount = 60 WHERE id = $1`, jw); err != nil {
		t.Fatal(err)
	}
	before := w.record(s.ID)
	in := approval.ActInput{Action: sm.ActTransfer, TransferMethod: string(sm.TransferOfPost)}
	w.on(sm.D(2024, 4, 10))
	_, err := w.svc.Act(w.ctx, clerk, s.ID, in)
	if e := codeOf(t, err, sm.EInvalid); !slices.Equal(e.Rules(), []sm.RuleID{sm.R12}) {
		t.Fatalf("transfer into a full unit: %v", err)
	}
	w.nothingWritten(s.ID, before.Version, 4, 5, 6)

	if _, err := w.s.Pool.Exec(w.ctx, `UPDATE unit SET headcount = 57 WHERE id = $1`, jw); err != nil {
		t.Fatal(err)
	}
	res := w.act(s.ID, clerk, in, sm.D(2024, 4, 10))
	if res.State != sm.StateTransferPending {
		t.Fatalf("transfer: %s", res.State)
	}
	res = w.act(s.ID, org, approval.ActInput{Action: sm.ActApprove, Opinion: "同意转任"}, sm.D(2024, 4, 20))
	if res.State != sm.StateTransferred {
		t.Fatalf("approve transfer: %s", res.State)
	}
	// The new home unit: the person's, and in the audit trail.
	if got := w.count(`SELECT home_unit_id FROM person WHERE id = $1`, w.person("李传群")); int64(got) != jw {
		t.Errorf("home unit %d, want %d", got, jw)
	}
	if hb, hl := headcount(jw), headcount(akks); hb != 58 || hl != 43 {
		t.Errorf("headcounts %d / %d, want 58 / 43", hb, hl)
	}
	r := w.record(s.ID)
	if r.ClosedAt.IsZero() || !r.ClosedAt.Equal(smAt(sm.D(2024, 4, 20))) || r.TransferMethod != sm.TransferOfPost {
		t.Errorf("transferred: %+v", r)
	}
	if n := w.count(`SELECT count(*) FROM audit_event WHERE object_id = $1 AND action = 'secondment.approve'
		AND (detail->>'new_home_unit')::bigint = $2`, s.ID, jw); n != 1 {
		t.Errorf("transfer audit events with the new home unit: %d", n)
	}
}

func TestSecondmentList(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	clerk, _, _ := w.kashgar()
	submitted := w.s5Submitted() // created 28 Feb
	later := w.create(clerk, w.draft("李传群", sm.D(2024, 7, 1), sm.D(2024, 9, 30)), sm.D(2024, 3, 15))
	bt := w.actor("NMG-BT-JY-ZZB", sm.RoleBorrower, "九原区委组织部经办人")
	baotou := w.create(bt, w.draft("武俞吉", sm.D(2024, 3, 11), sm.D(2024, 6, 10)), sm.D(2024, 3, 1))

	ids := func(f postgres.SecondmentFilter) []int64 {
		t.Helper()
		rs, err := w.s.SecondmentList(w.ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, r := range rs {
			if r.PersonName == "" || r.BorrowerName == "" || r.LenderName == "" {
				t.Errorf("names not filled: %+v", r)
			}
			out = append(out, r.ID)
		}
		return out
	}
	for _, c := range []struct {
		name string
		f    postgres.SecondmentFilter
		want []int64
	}{
		{"all, newest first", postgres.SecondmentFilter{}, []int64{later.ID, baotou.ID, submitted.ID}},
		{"borrower", postgres.SecondmentFilter{BorrowerID: w.unit("XJ-KS-JW")}, []int64{later.ID, submitted.ID}},
		{"lender", postgres.SecondmentFilter{LenderID: w.unit("NMG-BT-JY-MC")}, []int64{baotou.ID}},
		{"org dept", postgres.SecondmentFilter{OrgDeptID: w.unit("XJ-KS-ZZB")}, []int64{submitted.ID}},
		{"states", postgres.SecondmentFilter{States: []sm.State{sm.StateAwaitingConsent, sm.StateApproved}}, []int64{submitted.ID}},
		{"person and state", postgres.SecondmentFilter{PersonID: w.person("李传群"), States: []sm.State{sm.StateDraft}}, []int64{later.ID}},
		{"limit", postgres.SecondmentFilter{Limit: 1}, []int64{later.ID}},
		{"nothing", postgres.SecondmentFilter{LenderID: w.unit("SD-WH-HC-YT")}, nil},
	} {
		if got := ids(c.f); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	rs, err := w.s.SecondmentList(w.ctx, postgres.SecondmentFilter{States: []sm.State{sm.StateAwaitingConsent}})
	if err != nil || len(rs) != 1 || rs[0].Number != "借调〔2024〕0001" || rs[0].Version != 2 || rs[0].PolicyVersion != 2 {
		t.Errorf("awaiting consent: %+v, %v", rs, err)
	}
}
