package approval_test

import (
	"testing"

	"secondment/internal/approval"
	sm "secondment/internal/secondment"
)

// A clean-up over the registered stock of 青山区 (S6's procedure at small
// scale): who is found, the outcomes the secondments show, the org dept's
// decisions and their checks, the scope, the close. Every decision is
// audited; a refused one changes nothing.
func TestCampaignLifecycle(t *testing.T) {
	t.Parallel()
	w, _ := rectWorld(t) // 芦长丽, running since March 2024
	org := w.actor("NMG-BT-QS-ZZB", sm.RoleOrgDept, "区委组织部")
	registrar := w.actor("NMG-BT-QS-ZZB", sm.RoleRegistrar, "台账管理员")
	elsewhere := w.actor("XJ-KS-ZZB", sm.RoleOrgDept, "冯剑")
	if _, err := w.s.Pool.Exec(w.ctx, `INSERT INTO person (code, name, home_unit_id)
		SELECT c, n, (SELECT id FROM unit WHERE code = 'NMG-BT-QS-KXL') FROM (VALUES ('QS-T-1', '赵婷'), ('QS-T-2', '钱伟')) v(c, n)`); err != nil {
		t.Fatal(err)
	}
	zhaoID := int64(w.count(`SELECT id FROM person WHERE code = 'QS-T-1'`))
	qianID := int64(w.count(`SELECT id FROM person WHERE code = 'QS-T-2'`))
	for _, in := range []approval.RegisterInput{
		{PersonID: zhaoID, Start: "2024-01-02", End: "2024-03-31", Status: string(sm.StockReturned), ReturnedOn: "2024-03-31"},
		{PersonID: qianID, Start: "2024-02-01", End: "2024-07-31", Status: string(sm.StockRunning)},
	} {
		in.BorrowerID, in.Kind, in.Purpose, in.Task = w.unit("NMG-BT-QS-RD"), string(sm.KindSecondment), string(sm.PurposeKeyTask), "代表联络"
		if _, err := w.svc.Register(w.ctx, org, in); err != nil {
			t.Fatal(err)
		}
	}
	// Only the org dept opens one; a filter that finds nobody is refused.
	in := approval.CampaignInput{Name: "借调人员清理", Basis: "青组通〔2024〕1号", Filter: approval.LedgerQuery{Registered: true},
		FilterText: "registered=true"}
	_, err := w.svc.CampaignOpen(w.ctx, registrar, in)
	codeOf(t, err, sm.EForbidden)
	_, err = w.svc.CampaignOpen(w.ctx, org, approval.CampaignInput{Name: "空", Filter: approval.LedgerQuery{Q: "无此人"}})
	codeOf(t, err, sm.EInvalid)
	id, err := w.svc.CampaignOpen(w.ctx, org, in)
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.svc.Campaign(w.ctx, registrar, id, approval.CampaignQuery{})
	if err != nil || p.Counts.Found != 3 || p.Counts.Returned != 1 || p.Counts.Pending != 2 || p.Counts.Remaining() != 2 || p.CanDecide {
		t.Fatalf("the registrar's view: %+v %v", p.Counts, err)
	}
	if _, err := w.svc.Campaign(w.ctx, elsewhere, id, approval.CampaignQuery{}); sm.ErrorCodeOf(err) != sm.ENotFound {
		t.Errorf("another org dept sees the campaign: %v", err)
	}
	members := map[string]sm.CampaignLine{}
	for _, m := range p.Members {
		members[m.PersonName] = m
	}
	lu, qian, zhao := members["芦长丽"], members["钱伟"], members["赵婷"]

	// Held to term end: the end by default, never past it; exempt needs
	// its reason; the one back home has nothing to decide.
	err = w.svc.CampaignDecide(w.ctx, org, id, lu.SecondmentID, approval.MemberInput{Version: lu.Version, Outcome: "held",
		Reason: "人大换届筹备", Until: "2024-09-30"})
	if e := codeOf(t, err, sm.EInvalid); len(e.Fields) != 1 || e.Fields[0].Field != "until" {
		t.Errorf("held past the term: %+v", e.Fields)
	}
	err = w.svc.CampaignDecide(w.ctx, org, id, qian.SecondmentID, approval.MemberInput{Version: qian.Version, Outcome: "exempt"})
	codeOf(t, err, sm.EInvalid)
	err = w.svc.CampaignDecide(w.ctx, org, id, zhao.SecondmentID, approval.MemberInput{Version: zhao.Version, Outcome: "held", Reason: "x"})
	codeOf(t, err, sm.EConflict)
	err = w.svc.CampaignDecide(w.ctx, registrar, id, lu.SecondmentID, approval.MemberInput{Version: lu.Version, Outcome: "held", Reason: "x"})
	codeOf(t, err, sm.EForbidden)
	if n := w.count(`SELECT count(*) FROM campaign_member WHERE campaign_id = $1 AND decision <> 'pending'`, id); n != 0 {
		t.Fatalf("refused decisions wrote %d", n)
	}
	if err := w.svc.CampaignDecide(w.ctx, org, id, lu.SecondmentID, approval.MemberInput{Version: lu.Version, Outcome: "held",
		Reason: "人大换届筹备，期满交接后返回"}); err != nil {
		t.Fatal(err)
	}
	err = w.svc.CampaignDecide(w.ctx, org, id, lu.SecondmentID, approval.MemberInput{Version: lu.Version, Outcome: "pending"})
	codeOf(t, err, sm.EConflict) // stale
	if err := w.svc.CampaignDecide(w.ctx, org, id, qian.SecondmentID, approval.MemberInput{Version: qian.Version, Outcome: "exempt",
		Reason: "已办理调任手续"}); err != nil {
		t.Fatal(err)
	}
	p, err = w.svc.Campaign(w.ctx, org, id, approval.CampaignQuery{Outcome: "held"})
	if err != nil || len(p.Members) != 1 || p.Members[0].Decision.Until != sm.D(2024, 8, 31) || p.Counts.Held != 1 ||
		p.Counts.Exempt != 1 || p.Counts.Pending != 0 || p.Counts.Remaining() != 2 {
		t.Fatalf("after the decisions: %+v %+v %v", p.Members, p.Counts, err)
	}

	// Closed: the figures stay, nothing more is decided.
	if err := w.svc.CampaignClose(w.ctx, org, id, p.Version); err != nil {
		t.Fatal(err)
	}
	held := p.Members[0]
	err = w.svc.CampaignDecide(w.ctx, org, id, held.SecondmentID, approval.MemberInput{Version: held.Version, Outcome: "pending"})
	codeOf(t, err, sm.EConflict)
	if n := w.count(`SELECT count(*) FROM audit_event WHERE object_type = 'campaign' AND object_id = $1`, id); n != 4 {
		t.Errorf("%d audit events of the campaign, want 4 (open, two decisions, close)", n)
	}
}
