package approval_test

import (
	"slices"
	"testing"

	"secondment/internal/approval"
	"secondment/internal/auth"
	sm "secondment/internal/secondment"
)

// rectWorld registers 芦长丽's secondment from 科学路街道 to 青山区人大 (S1),
// running since March 2024 with no approval on record, as 青山区委组织部
// on 1 June 2024: Baotou forbids borrowing from a township (R4), so it is
// on the irregular ledger. It returns the R4 entry's id.
func rectWorld(t *testing.T) (*world, int64) {
	w := newWorld(t, 0)
	w.on(sm.D(2024, 6, 1))
	org := w.actor("NMG-BT-QS-ZZB", sm.RoleOrgDept, "区委组织部")
	reg, err := w.svc.Register(w.ctx, org, approval.RegisterInput{PersonID: w.person("芦长丽"), BorrowerID: w.unit("NMG-BT-QS-RD"),
		Kind: string(sm.KindSecondment), Purpose: string(sm.PurposeKeyTask), Task: "人大换届筹备",
		Start: "2024-03-01", End: "2024-08-31", Status: string(sm.StockRunning)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(reg.Irregular, sm.R4) {
		t.Fatalf("registered %+v: not irregular under R4", reg)
	}
	list, err := w.svc.Rects(w.ctx, org, approval.RectQuery{Rule: "R4"})
	if err != nil || len(list.Rows) != 1 || list.Total != 1 {
		t.Fatalf("the org dept's R4 entries: %+v %v", list, err)
	}
	e := list.Rows[0]
	if e.SecondmentID != reg.ID || e.Status != sm.RectRectifying || e.ResponsibleUnitID != w.unit("NMG-BT-QS-RD") ||
		e.PersonName != "芦长丽" || e.OrgDeptID != org.UnitID {
		t.Fatalf("entry %+v", e)
	}
	return w, e.ID
}

// The whole rectification (S4): the org dept sets the deadline, the
// borrowing unit writes the plan and reports the return with evidence,
// the missed deadline is escalated to the city, and only the org dept
// closes, on an outcome and with an opinion. Each change is audited, and
// each refusal changes nothing.
func TestRectificationLifecycle(t *testing.T) {
	t.Parallel()
	w, id := rectWorld(t)
	org := w.actor("NMG-BT-QS-ZZB", sm.RoleOrgDept, "区委组织部")
	registrar := w.actor("NMG-BT-QS-ZZB", sm.RoleRegistrar, "台账管理员")
	clerk := w.actor("NMG-BT-QS-RD", sm.RoleBorrower, "人大经办人")
	lender := w.actor("NMG-BT-QS-KXL", sm.RoleLender, "街道经办人")
	city := w.actor("NMG-BT-ZZB", sm.RoleOrgDept, "市委组织部")
	elsewhere := w.actor("XJ-KS-ZZB", sm.RoleOrgDept, "冯剑")

	// Who sees it: its org dept (and registrar) and the responsible unit;
	// not the lending unit, another jurisdiction, nor the city before an
	// escalation.
	for _, u := range []struct {
		name string
		user auth.User
	}{{"lending unit", lender}, {"Kashgar", elsewhere}, {"city", city}} {
		if _, err := w.svc.Rect(w.ctx, u.user, id); sm.ErrorCodeOf(err) != sm.ENotFound {
			t.Errorf("%s sees the entry: %v", u.name, err)
		}
	}
	p, err := w.svc.Rect(w.ctx, clerk, id)
	if err != nil || !p.CanEdit || p.Keeper || p.CanClose {
		t.Fatalf("the responsible unit's view: %+v %v", p, err)
	}
	if l, err := w.svc.Rects(w.ctx, clerk, approval.RectQuery{}); err != nil || l.Scope != approval.RectResponsible || len(l.Rows) == 0 {
		t.Fatalf("the responsible unit's list: %+v %v", l, err)
	}

	// The borrowing unit's plan: its deadline and unit are not its to set.
	p, err = w.svc.RectPlan(w.ctx, clerk, id, approval.RectPlanInput{Version: p.Version, TargetTask: new("芦长丽返回原单位"),
		Measures: new("完成交接后6月底前返回"), ResponsiblePerson: new("王主任"), Deadline: new("2024-12-31"),
		ResponsibleUnitID: new(w.unit("NMG-BT-QS-KXL"))})
	if err != nil {
		t.Fatal(err)
	}
	if p.TargetTask != "芦长丽返回原单位" || p.ResponsiblePerson != "王主任" || !p.Deadline.IsZero() ||
		p.ResponsibleUnitID != w.unit("NMG-BT-QS-RD") {
		t.Errorf("after the borrowing unit's plan: %+v", p.Rectification)
	}
	// The org dept's deadline: not in the past.
	before := p.Version
	_, err = w.svc.RectPlan(w.ctx, org, id, approval.RectPlanInput{Version: p.Version, TargetTask: new(p.TargetTask),
		Measures: new(p.Measures), ResponsiblePerson: new(p.ResponsiblePerson), Deadline: new("2024-05-01")})
	if e := codeOf(t, err, sm.EInvalid); len(e.Fields) != 1 || e.Fields[0].Field != "deadline" {
		t.Errorf("a deadline in the past: %+v", e)
	}
	if p, _ = w.svc.Rect(w.ctx, org, id); p.Version != before || !p.Deadline.IsZero() {
		t.Errorf("a refused plan changed the entry: %+v", p.Rectification)
	}
	// The deadline alone (as an API call may send it): the rest stays.
	// 30 June 2024 is a Sunday: the deadline is Monday 1 July (民法典
	// art. 203, by the holiday calendar).
	p, err = w.svc.RectPlan(w.ctx, registrar, id, approval.RectPlanInput{Version: p.Version, Deadline: new("2024-06-30")})
	if err != nil || p.Deadline != sm.D(2024, 7, 1) || p.Version != before+1 || p.TargetTask != "芦长丽返回原单位" ||
		p.ResponsiblePerson != "王主任" {
		t.Fatalf("the registrar's deadline: %+v %v", p.Rectification, err)
	}
	// A change made over an old version is a conflict.
	_, err = w.svc.RectReport(w.ctx, clerk, id, before, string(sm.RectReturned))
	codeOf(t, err, sm.EConflict)
	// Nothing to close on yet; the registrar never closes.
	_, err = w.svc.RectClose(w.ctx, org, id, p.Version, "已整改")
	if e := codeOf(t, err, sm.EInvalid); !slices.ContainsFunc(e.Fields, func(f sm.FieldError) bool { return f.Message.ID == "rect.error.no_outcome" }) {
		t.Errorf("closing without an outcome: %+v", e.Fields)
	}
	_, err = w.svc.RectClose(w.ctx, registrar, id, p.Version, "已整改")
	codeOf(t, err, sm.EForbidden)

	// The deadline passes: the sweep flags the entry to the city, once,
	// and tells the city, the district and the borrowing unit.
	w.on(sm.D(2024, 7, 2))
	if res := w.sweep(sm.D(2024, 7, 2)); res.RectEscalated != 1 {
		t.Errorf("escalated %d entries, want 1", res.RectEscalated)
	}
	if res := w.sweep(sm.D(2024, 7, 2)); res.RectEscalated != 0 {
		t.Errorf("a second sweep escalated %d entries again", res.RectEscalated)
	}
	p, err = w.svc.Rect(w.ctx, city, id)
	if err != nil || p.EscalatedTo != city.UnitID || p.EscalatedOn != sm.D(2024, 7, 2) || !p.PastDeadline || p.CanEdit || p.CanClose {
		t.Fatalf("the city's view after the escalation: %+v %v", p, err)
	}
	if l, err := w.svc.Rects(w.ctx, city, approval.RectQuery{Scope: "escalated"}); err != nil || len(l.Rows) != 1 || l.Rows[0].ID != id {
		t.Errorf("the city's escalated list: %+v %v", l, err)
	}
	if l, err := w.svc.Rects(w.ctx, org, approval.RectQuery{PastDeadline: true}); err != nil || len(l.Rows) != 1 {
		t.Errorf("the district's past-deadline list: %+v %v", l, err)
	}
	for _, unit := range []int64{city.UnitID, org.UnitID, clerk.UnitID} {
		if n := w.count(`SELECT count(*) FROM notification_outbox WHERE recipient_unit_id = $1 AND message_id = 'rect.notify.escalated'`, unit); n != 1 {
			t.Errorf("unit %d told %d times of the escalation", unit, n)
		}
	}
	// The city's notice links no secondment: it may not open one.
	if n := w.count(`SELECT count(*) FROM notification_outbox WHERE recipient_unit_id = $1 AND secondment_id IS NULL`, city.UnitID); n != 1 {
		t.Errorf("the city's notice links a secondment it cannot open")
	}

	// The return, reported with evidence, and closed.
	p, err = w.svc.RectReport(w.ctx, clerk, id, p.Version, string(sm.RectReturned))
	if err != nil || p.Status != sm.RectReturned {
		t.Fatalf("report: %+v %v", p.Rectification, err)
	}
	pdf := approval.File{Name: "返回证明.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 返回原单位证明")}
	if p, err = w.svc.RectAttach(w.ctx, clerk, id, pdf); err != nil || len(p.Evidence) != 1 {
		t.Fatalf("attach: %+v %v", p.Evidence, err)
	}
	if f, err := w.svc.RectEvidence(w.ctx, org, id, p.Evidence[0].ID); err != nil || string(f.Data) != string(pdf.Data) {
		t.Errorf("the org dept reads the evidence: %v", err)
	}
	if _, err := w.svc.RectEvidence(w.ctx, elsewhere, id, p.Evidence[0].ID); sm.ErrorCodeOf(err) != sm.ENotFound {
		t.Errorf("another jurisdiction reads the evidence: %v", err)
	}
	_, err = w.svc.RectClose(w.ctx, org, id, p.Version, " ")
	codeOf(t, err, sm.EInvalid)
	p, err = w.svc.RectClose(w.ctx, org, id, p.Version, "经核实已返回原单位，同意销号")
	if err != nil || p.Status != sm.RectClosed || p.ClosedOn != sm.D(2024, 7, 2) || p.CanEdit || p.CanClose {
		t.Fatalf("close: %+v %v", p, err)
	}
	_, err = w.svc.RectPlan(w.ctx, clerk, id, approval.RectPlanInput{Version: p.Version, TargetTask: new("改")})
	codeOf(t, err, sm.EConflict)
	_, err = w.svc.RectClose(w.ctx, org, id, p.Version, "再次销号")
	codeOf(t, err, sm.EConflict)
	// A closed entry leaves the ledger's irregular filter.
	if n := w.count(`SELECT count(*) FROM ledger_entry WHERE id = $1 AND closed_on IS NULL`, id); n != 0 {
		t.Errorf("a closed entry still open")
	}
	for action, want := range map[string]int{"ledger.plan": 2, "ledger.report": 1, "ledger.evidence": 1, "ledger.close": 1, "ledger.escalate": 1} {
		if n := w.count(`SELECT count(*) FROM audit_event WHERE object_type = 'ledger_entry' AND object_id = $1 AND action = $2`, id, action); n != want {
			t.Errorf("%d %s audit events, want %d", n, action, want)
		}
	}
}

// The org dept enters a secondment by hand, with its own words and a
// deadline; once per rule, only on a secondment that happened, only its
// own jurisdiction's, and never by a borrowing unit.
func TestRectificationOpenByHand(t *testing.T) {
	t.Parallel()
	w, id := rectWorld(t)
	org := w.actor("NMG-BT-QS-ZZB", sm.RoleOrgDept, "区委组织部")
	clerk := w.actor("NMG-BT-QS-RD", sm.RoleBorrower, "人大经办人")
	elsewhere := w.actor("XJ-KS-ZZB", sm.RoleOrgDept, "冯剑")
	p, err := w.svc.Rect(w.ctx, org, id)
	if err != nil {
		t.Fatal(err)
	}
	in := approval.RectOpenInput{SecondmentID: p.SecondmentID, Rule: "R13", Detail: "借出单位未备案", Deadline: "2024-06-20"}
	got, err := w.svc.RectOpen(w.ctx, org, in)
	if err != nil {
		t.Fatal(err)
	}
	e, err := w.svc.Rect(w.ctx, clerk, got)
	if err != nil || !e.Manual || e.Detail != "借出单位未备案" || e.Deadline != sm.D(2024, 6, 20) || e.Rule != sm.R13 ||
		e.ResponsibleUnitID != clerk.UnitID {
		t.Fatalf("entered by hand: %+v %v", e.Rectification, err)
	}
	_, err = w.svc.RectOpen(w.ctx, org, in)
	codeOf(t, err, sm.EConflict)
	_, err = w.svc.RectOpen(w.ctx, clerk, in)
	codeOf(t, err, sm.EForbidden)
	_, err = w.svc.RectOpen(w.ctx, elsewhere, in)
	codeOf(t, err, sm.ENotFound)
	bad := in
	bad.Rule, bad.Detail, bad.Deadline = "R99", "", "2024-01-01"
	_, err = w.svc.RectOpen(w.ctx, org, bad)
	if e := codeOf(t, err, sm.EInvalid); len(e.Fields) != 3 {
		t.Errorf("a bad entry: %+v", e.Fields)
	}
	// A request still in the chain is no secondment yet.
	req := w.s5Submitted()
	_, err = w.svc.RectOpen(w.ctx, w.actor("XJ-KS-ZZB", sm.RoleOrgDept, "冯剑"), approval.RectOpenInput{SecondmentID: req.ID,
		Rule: "R8", Detail: "先借后批"})
	codeOf(t, err, sm.EInvalid)
	if n := w.count(`SELECT count(*) FROM audit_event WHERE action = 'ledger.open'`); n != 1 {
		t.Errorf("%d ledger.open audit events, want 1", n)
	}
}
