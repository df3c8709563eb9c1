package approval_test

import (
	"testing"

	"secondment/internal/approval"
	sm "secondment/internal/secondment"
)

// A new policy version reaches running secondments (DOMAIN's policy
// paragraph, S1): 芦长丽's secondment, approved in March 2024 as an
// exception under Baotou's version 2, is running when the township ban of
// 1 April comes into force; the next sweep puts it on the irregular ledger
// under R4 for clean-up, without stopping it, once.
func TestNewPolicyFlagsRunningSecondments(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	clerk := w.actor("NMG-BT-QS-RD", sm.RoleBorrower, "人大经办人")
	lender := w.actor("NMG-BT-QS-KXL", sm.RoleLender, "街道联络人")
	org := w.actor("NMG-BT-QS-ZZB", sm.RoleOrgDept, "区委组织部")
	d := w.draft("芦长丽", sm.D(2024, 3, 11), sm.D(2024, 6, 10))
	d.Justification = "人大换届筹备急需熟悉基层情况的干部"
	r := w.create(clerk, d, sm.D(2024, 3, 1))
	w.act(r.ID, clerk, approval.ActInput{Action: sm.ActSubmit}, sm.D(2024, 3, 1))
	w.act(r.ID, lender, approval.ActInput{Action: sm.ActConsent, Opinion: "同意借出"}, sm.D(2024, 3, 2))
	w.act(r.ID, org, approval.ActInput{Action: sm.ActApprove, Opinion: "同意，作为例外"}, sm.D(2024, 3, 5))
	w.act(r.ID, clerk, approval.ActInput{Action: sm.ActStart}, sm.D(2024, 3, 11))

	w.on(sm.D(2024, 3, 20))
	if res := w.sweep(sm.D(2024, 3, 20)); res.PolicyFlagged != 0 {
		t.Fatalf("before the ban: %d flagged", res.PolicyFlagged)
	}
	w.on(sm.D(2024, 4, 2))
	if res := w.sweep(sm.D(2024, 4, 2)); res.PolicyFlagged != 1 {
		t.Fatalf("after the ban: %d flagged, want 1", res.PolicyFlagged)
	}
	if res := w.sweep(sm.D(2024, 4, 2)); res.PolicyFlagged != 0 {
		t.Errorf("a second sweep flagged %d again", res.PolicyFlagged)
	}
	if n := w.count(`SELECT count(*) FROM ledger_entry WHERE secondment_id = $1 AND rule = 'R4' AND closed_on IS NULL
		AND status = 'rectifying' AND responsible_unit_id = $2 AND org_dept_id = $3`, r.ID, clerk.UnitID, org.UnitID); n != 1 {
		t.Errorf("%d open R4 entries for the running secondment, want 1", n)
	}
	if rec := w.record(r.ID); rec.State != sm.StateActive {
		t.Errorf("the secondment was stopped: %s", rec.State)
	}
	if n := w.count(`SELECT count(*) FROM notification_outbox WHERE recipient_unit_id = $1 AND message_id = 'notify.policy_flagged'`, org.UnitID); n != 1 {
		t.Errorf("the org dept told %d times", n)
	}
	if n := w.count(`SELECT count(*) FROM audit_event WHERE action = 'policy.sweep' AND detail->>'flagged' = '1'`); n != 1 {
		t.Errorf("%d audit events of the sweep that flagged it", n)
	}
	l, err := w.svc.Rects(w.ctx, org, approval.RectQuery{Rule: "R4"})
	if err != nil || len(l.Rows) != 1 || l.Rows[0].SecondmentID != r.ID {
		t.Errorf("the org dept's irregular ledger: %+v %v", l.Rows, err)
	}
}
