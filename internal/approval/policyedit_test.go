package approval_test

import (
	"slices"
	"testing"

	"secondment/internal/approval"
	"secondment/internal/auth"
	sm "secondment/internal/secondment"
)

// s5AndAnother runs S5 to the start (李传群, from 阿克喀什乡, active from
// 11 March 2024) and brings a second request of 喀什市纪委监委 (张鹏,
// April to June) to the org dept's sign-off on 13 March.
func (w *world) s5AndAnother() (running, pending approval.Request) {
	w.t.Helper()
	clerk, lender, _ := w.kashgar()
	running = w.s5Active()
	d := w.draft("张鹏", sm.D(2024, 4, 1), sm.D(2024, 6, 30))
	d.Justification = "重大案件查办急需"
	pending = w.create(clerk, d, sm.D(2024, 3, 12))
	w.act(pending.ID, clerk, approval.ActInput{Action: sm.ActSubmit}, sm.D(2024, 3, 12))
	w.act(pending.ID, lender, approval.ActInput{Action: sm.ActConsent, Opinion: "同意借出"}, sm.D(2024, 3, 13))
	return running, pending
}

// zhangPengAtGov brings a second request for 张鹏, at 喀什市人民政府办公室
// from May to July (overlapping s5AndAnother's), to the org dept's
// sign-off on 13 March 2024.
func (w *world) zhangPengAtGov() approval.Request {
	w.t.Helper()
	_, lender, _ := w.kashgar()
	gov := w.actor("XJ-KS-ZF", sm.RoleBorrower, "政府办经办人")
	d := w.draft("张鹏", sm.D(2024, 5, 1), sm.D(2024, 7, 31))
	d.Justification = "重点项目急需"
	other := w.create(gov, d, sm.D(2024, 3, 12))
	w.act(other.ID, gov, approval.ActInput{Action: sm.ActSubmit}, sm.D(2024, 3, 12))
	w.act(other.ID, lender, approval.ActInput{Action: sm.ActConsent, Opinion: "同意借出"}, sm.D(2024, 3, 13))
	return other
}

// refusedBy checks that err refuses a step under rule r, as a block.
func refusedBy(t *testing.T, err error, r sm.RuleID, what string) {
	t.Helper()
	if e := codeOf(t, err, sm.EInvalid); !slices.ContainsFunc(e.Violations, func(v sm.Violation) bool { return v.Rule == r && v.Severity == sm.SeverityBlock }) {
		t.Errorf("%s: %+v, want refused under %s", what, e, r)
	}
}

// banTownships is an edit that forbids borrowing from townships (R4).
func banTownships(p *sm.Policy) error { p.Township = sm.TownshipForbidden; return nil }

// Kashgar's org dept writes a stricter version (S1's ban, in Kashgar): the
// preview counts the request in the chain it would refuse and the running
// secondment it would flag, against none under the version in force; the
// preview writes nothing; a back-dated version is refused; the saved
// version is audited, refuses the pending request at its sign-off and puts
// the running one on the irregular ledger at the next sweep.
func TestPolicyVersionByTheOrgDept(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	clerk, lender, org := w.kashgar()
	running, pending := w.s5AndAnother()

	w.on(sm.D(2024, 3, 14))
	policies := w.count(`SELECT count(*) FROM policy`)
	in := approval.PolicyInput{EffectiveFrom: "2024-03-20", Basis: "喀组通〔2024〕3号", Edit: banTownships}
	c, err := w.svc.PolicyPreview(w.ctx, org, in)
	if err != nil {
		t.Fatal(err)
	}
	if c.Book.Region.Code != "XJ-KS" || c.Policy.Township != sm.TownshipForbidden || c.Policy.Version != 3 ||
		c.Policy.TermMonths != 3 { // the rest is the base's: Kashgar v2
		t.Fatalf("the previewed version: %+v in %s", c.Policy, c.Book.Region.Name)
	}
	if c.Pending.Blocked != 1 || c.Pending.Rules[sm.R4] != 1 || c.Running.Blocked != 1 || c.Running.Rules[sm.R4] != 1 {
		t.Errorf("under the ban: pending %+v, running %+v", c.Pending, c.Running)
	}
	if !c.HasToday || c.PendingToday.Blocked != 0 || c.PendingToday.Exception != 1 || c.RunningToday.Blocked != 0 {
		t.Errorf("under the version in force: pending %+v, running %+v", c.PendingToday, c.RunningToday)
	}
	if n := w.count(`SELECT count(*) FROM policy`); n != policies {
		t.Fatalf("the preview wrote %d versions", n-policies)
	}

	back := in
	back.EffectiveFrom = "2024-03-13"
	if _, err := w.svc.PolicyCreate(w.ctx, org, back); codeOf(t, err, sm.EInvalid).Fields[0].Field != "effective_from" {
		t.Errorf("a back-dated version: %v", err)
	}
	for _, u := range []auth.User{clerk, lender, w.actor("XJ-KS-ZZB", sm.RoleRegistrar, "登记员"),
		w.actor("NMG-BT-QS-ZZB", sm.RoleOrgDept, "青山区委组织部")} {
		if _, err := w.svc.PolicyCreate(w.ctx, u, in); err == nil && u.UnitID != w.unit("NMG-BT-QS-ZZB") {
			t.Errorf("%s saved a Kashgar version", u.Name)
		}
	}
	if n := w.count(`SELECT count(*) FROM policy p JOIN unit u ON u.id = p.jurisdiction_id WHERE u.code = 'XJ-KS'`); n != 2 {
		t.Fatalf("refused versions were saved: Kashgar has %d", n)
	}

	c, err = w.svc.PolicyCreate(w.ctx, org, in)
	if err != nil || !c.Saved || c.Policy.Version != 3 {
		t.Fatalf("save: %+v %v", c.Policy, err)
	}
	if n := w.count(`SELECT count(*) FROM audit_event WHERE action = 'policy.create' AND actor_user_id = $1
		AND detail->'versions'->0->>'version' = '3' AND detail->'versions'->0->'rules'->>'township' = 'forbidden'
		AND detail->'versions'->0->'rules'->>'basis' = '喀组通〔2024〕3号'`, org.ID); n != 1 {
		t.Errorf("%d audit events of the new version", n)
	}
	b, err := w.svc.Policies(w.ctx, clerk)
	if err != nil || len(b.Versions) != 3 || b.Versions[0].Version != 3 || b.InForce != 2 || b.Versions[0].Basis == "" {
		t.Fatalf("the clerk's policy book: %+v %v", b, err)
	}

	// In force from 20 March: the sign-off refuses the pending request by
	// R4, and the sweep flags the running one (R11 governs its return).
	w.on(sm.D(2024, 3, 20))
	_, err = w.svc.Act(w.ctx, org, pending.ID, approval.ActInput{Action: sm.ActApprove, Opinion: "同意"})
	refusedBy(t, err, sm.R4, "the sign-off under the ban")
	if res := w.sweep(sm.D(2024, 3, 20)); res.PolicyFlagged != 1 {
		t.Errorf("the sweep flagged %d", res.PolicyFlagged)
	}
	if n := w.count(`SELECT count(*) FROM ledger_entry WHERE secondment_id = $1 AND rule = 'R4'`, running.ID); n != 1 {
		t.Errorf("%d R4 entries for the running secondment", n)
	}
}

// A district org dept (青山区委组织部, under Baotou's policy) adopts the
// Weihai preset for its district in March 2024: the district gets a policy
// of its own, copies first of Baotou's version in force and of the one
// scheduled for April (the township ban), so nothing changes before the new
// version's day; its units' requests are judged by it from then on.
func TestPolicyAdoptPreset(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	org := w.actor("NMG-BT-QS-ZZB", sm.RoleOrgDept, "青山区委组织部")
	clerk := w.actor("NMG-BT-QS-RD", sm.RoleBorrower, "人大经办人")
	w.on(sm.D(2024, 3, 10))
	b, err := w.svc.Policies(w.ctx, org)
	if err != nil || !b.Inherits() || b.Jurisdiction.Code != "NMG-BT" || b.Region.Code != "NMG-BT-QS" || b.Stored() != 0 {
		t.Fatalf("before: %+v %v", b, err)
	}
	if _, err := w.svc.PolicyCreate(w.ctx, org, approval.PolicyInput{Base: "nowhere"}); codeOf(t, err, sm.EInvalid).Fields[0].Field != "base" {
		t.Errorf("an unknown base: %v", err)
	}
	c, err := w.svc.PolicyCreate(w.ctx, org, approval.PolicyInput{Base: string(sm.PresetWeihai), EffectiveFrom: "2024-06-01"})
	if err != nil || c.Policy.Version != 3 || c.Policy.Preset != sm.PresetWeihai || c.Policy.TermMonths != 3 {
		t.Fatalf("adopt Weihai: %+v %v", c.Policy, err)
	}
	b, err = w.svc.Policies(w.ctx, clerk)
	if err != nil || b.Jurisdiction.Code != "NMG-BT-QS" || len(b.Versions) != 3 || b.InForce != 1 ||
		b.Versions[1].Preset != sm.PresetBaotou || b.Versions[1].Township != sm.TownshipForbidden ||
		b.Versions[1].EffectiveFrom != sm.D(2024, 4, 1) || b.Versions[2].Township != sm.TownshipException {
		t.Fatalf("after: %+v %v", b, err)
	}
	// In May the copy of Baotou's ban judges; from 1 June, Weihai's three
	// months.
	d := w.draft("芦长丽", sm.D(2024, 6, 10), sm.D(2024, 10, 9))
	d.Purpose = string(sm.PurposeKeyTask)
	w.on(sm.D(2024, 5, 6))
	ev, err := w.svc.Check(w.ctx, clerk, d)
	if err != nil || ev.Jurisdiction != "青山区" || ev.Policy.Version != 2 || slices.Contains(ev.Violations.Rules(), sm.R5) ||
		!slices.Contains(ev.Violations.Rules(), sm.R4) {
		t.Errorf("in May: %+v %v", ev, err)
	}
	w.on(sm.D(2024, 6, 1))
	ev, err = w.svc.Check(w.ctx, clerk, d)
	if err != nil || ev.Policy.Version != 3 || !slices.Contains(ev.Violations.Rules(), sm.R5) {
		t.Errorf("from June: %+v %v", ev, err)
	}
	// An editor who began before that save is told, and nothing is saved.
	stale := 0
	if _, err := w.svc.PolicyCreate(w.ctx, org, approval.PolicyInput{BasedOn: &stale}); err == nil {
		t.Error("a save on a stale editor went through")
	} else {
		codeOf(t, err, sm.EConflict)
	}
}

// R15: Kashgar caps the people 喀什市纪委监委 holds at once at what it
// holds; a request in the chain is refused at its sign-off, the live check
// says so with the count; a running secondment inside the limit is not
// flagged; once the limit is raised, the sign-off passes.
func TestBorrowerLimitAtSignOff(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	clerk, _, org := w.kashgar()
	_, pending := w.s5AndAnother()

	w.on(sm.D(2024, 3, 14))
	// 喀什市纪委监委 holds 李传群 (S5) and nobody else in this world.
	const held = 1
	if n := w.count(`SELECT count(*) FROM secondment WHERE borrower_id = $1 AND state NOT IN ('draft', 'awaiting_consent',
		'awaiting_signoff', 'sent_back', 'declined', 'rejected', 'withdrawn')`, clerk.UnitID); n != held {
		t.Fatalf("喀什市纪委监委 has %d secondments signed off, want %d", n, held)
	}
	limit := func(n int) approval.PolicyInput {
		return approval.PolicyInput{Edit: func(p *sm.Policy) error { p.BorrowerCapPeople = n; return nil }}
	}
	c, err := w.svc.PolicyPreview(w.ctx, org, limit(held))
	if err != nil || c.Pending.Rules[sm.R15] != 1 || c.Running.Rules[sm.R15] != 0 {
		t.Fatalf("preview of a limit of %d: pending %+v, running %+v, %v", held, c.Pending, c.Running, err)
	}
	if _, err := w.svc.PolicyCreate(w.ctx, org, limit(held)); err != nil {
		t.Fatal(err)
	}
	// The live check of a form like 张鹏's says so, with the count.
	ev, err := w.svc.Check(w.ctx, clerk, w.draft("张鹏", sm.D(2024, 4, 1), sm.D(2024, 6, 30)))
	if err != nil || !ev.Hold.Capped || ev.Hold.Cap != held || ev.Hold.Held != held+1 ||
		!slices.Contains(ev.Violations.Rules(), sm.R15) || !ev.Violations.Blocked() {
		t.Errorf("the live check: %+v %+v %v", ev.Hold, ev.Violations, err)
	}
	_, err = w.svc.Act(w.ctx, org, pending.ID, approval.ActInput{Action: sm.ActApprove, Opinion: "同意"})
	refusedBy(t, err, sm.R15, "the sign-off over the limit")
	if w.record(pending.ID).State != sm.StateAwaitingSignoff {
		t.Fatal("a refused sign-off changed the request")
	}
	if res := w.sweep(sm.D(2024, 3, 14)); res.PolicyFlagged != 0 {
		t.Errorf("the sweep flagged %d inside the limit", res.PolicyFlagged)
	}

	w.on(sm.D(2024, 3, 15))
	if _, err := w.svc.PolicyCreate(w.ctx, org, limit(held+1)); err != nil {
		t.Fatal(err)
	}
	w.act(pending.ID, org, approval.ActInput{Action: sm.ActApprove, Opinion: "同意"}, sm.D(2024, 3, 15))
	// Full again: a lower limit now flags the one taken last, not both.
	w.on(sm.D(2024, 3, 16))
	if _, err := w.svc.PolicyCreate(w.ctx, org, limit(held)); err != nil {
		t.Fatal(err)
	}
	if res := w.sweep(sm.D(2024, 3, 16)); res.PolicyFlagged != 1 {
		t.Errorf("the sweep under a lower limit flagged %d, want 1", res.PolicyFlagged)
	}
	if n := w.count(`SELECT count(*) FROM ledger_entry WHERE secondment_id = $1 AND rule = 'R15'`, pending.ID); n != 1 {
		t.Errorf("the one taken last has %d R15 entries", n)
	}
}

// A version that takes effect while a request awaits the lending unit
// reaches it at the consent: Kashgar bans townships from 2 March, and
// 阿克喀什乡's consent to S5's request of 1 March is refused by R4, the
// request left as it was; under the version of its submission nothing
// more is read at the consent (TestS5 and the chain tests consent freely).
func TestConsentJudgedByANewVersion(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	_, lender, org := w.kashgar()
	r := w.s5Submitted()
	w.on(sm.D(2024, 3, 1))
	if _, err := w.svc.PolicyCreate(w.ctx, org, approval.PolicyInput{EffectiveFrom: "2024-03-02", Edit: banTownships}); err != nil {
		t.Fatal(err)
	}
	w.on(sm.D(2024, 3, 2))
	_, err := w.svc.Act(w.ctx, lender, r.ID, approval.ActInput{Action: sm.ActConsent, Opinion: "同意借出"})
	refusedBy(t, err, sm.R4, "the consent under the ban")
	if rec := w.record(r.ID); rec.State != sm.StateAwaitingConsent || !rec.ConsentedOn.IsZero() {
		t.Errorf("a refused consent changed the request: %s", rec.State)
	}
}

// What a newer version asks of the org dept stays the org dept's: a limit
// (R15) set after S5's submission does not refuse 阿克喀什乡's consent,
// which the lending unit could do nothing about; the sign-off refuses it.
func TestConsentLeavesTheLimitToTheSignOff(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	_, lender, org := w.kashgar()
	r := w.s5Submitted()
	w.on(sm.D(2024, 3, 1))
	// 0.01% of 喀什市纪委监委's quota of 60, rounded down: nobody.
	if _, err := w.svc.PolicyCreate(w.ctx, org, approval.PolicyInput{EffectiveFrom: "2024-03-02",
		Edit: func(p *sm.Policy) error { p.BorrowerCapBP = 1; return nil }}); err != nil {
		t.Fatal(err)
	}
	w.act(r.ID, lender, approval.ActInput{Action: sm.ActConsent, Opinion: "同意借出"}, sm.D(2024, 3, 2))
	w.on(sm.D(2024, 3, 5))
	_, err := w.svc.Act(w.ctx, org, r.ID, approval.ActInput{Action: sm.ActApprove, Opinion: "同意"})
	refusedBy(t, err, sm.R15, "the sign-off over a limit of nobody")
}
