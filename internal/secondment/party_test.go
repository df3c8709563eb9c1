package secondment

import (
	"slices"
	"testing"
)

// Whose move it is follows the transition table: the role Pending names
// is the one the table lets act in that state (besides withdrawals and the
// system's steps), in the unit the request records for it.
func TestPendingMatchesTheTable(t *testing.T) {
	s := Secondment{BorrowerID: 1, LenderID: 2, OrgDeptID: 3}
	units := map[Role]int64{RoleBorrower: 1, RoleLender: 2, RoleOrgDept: 3}
	for _, st := range AllStates {
		s.State = st
		role, unit, ok := s.Pending()
		var movers []Role
		for _, r := range []Role{RoleBorrower, RoleLender, RoleOrgDept} {
			for _, a := range Allowed(st, r) {
				if a != ActWithdraw && a != ActFile && a != ActTransfer && a != ActRecordReturn && !slices.Contains(movers, r) {
					movers = append(movers, r)
				}
			}
		}
		switch {
		case !ok && (st == StateActive || st == StateDraft):
			// Running: nobody is waited for (filing, return and
			// transfer-in are the borrowing unit's choice); a draft
			// waits for its own author, whom nobody urges.
		case !ok && len(movers) > 0 && st != StateExpired && st != StateOverdue:
			t.Errorf("%s: nobody pending, but %v may move it", st, movers)
		case ok && (!slices.Contains(movers, role) || unit != units[role]):
			t.Errorf("%s: pending %s of unit %d; the table lets %v move it", st, role, unit, movers)
		}
	}
	// Before submission the org dept is not known, so a sign-off waits for
	// nobody in particular.
	s.State, s.OrgDeptID = StateAwaitingSignoff, 0
	if _, _, ok := s.Pending(); ok {
		t.Error("a sign-off without an org dept is pending")
	}
}

func TestPartyTo(t *testing.T) {
	s := Secondment{BorrowerID: 1, LenderID: 2, OrgDeptID: 3}
	for _, c := range []struct {
		state State
		role  Role
		unit  int64
		want  bool
	}{
		{StateDraft, RoleBorrower, 1, true},
		{StateDraft, RoleLender, 2, false}, // a draft is the borrowing unit's own
		{StateAwaitingConsent, RoleLender, 2, true},
		{StateAwaitingConsent, RoleLender, 1, false},
		{StateAwaitingSignoff, RoleOrgDept, 3, true},
		{StateAwaitingSignoff, RoleRegistrar, 3, true},
		{StateAwaitingSignoff, RoleOrgDept, 2, false},
		{StateActive, RoleSystem, 0, false},
		{StateDraft, RoleOrgDept, 3, false},
	} {
		s.State = c.state
		if got := s.PartyTo(c.role, c.unit); got != c.want {
			t.Errorf("%s as %s of %d: %v, want %v", c.state, c.role, c.unit, got, c.want)
		}
	}
}

// A role's to-do states are those in which the table gives it a step; the
// registrar's are the cases its ledger follows (expired, overdue), whatever
// the sweep does with them.
func TestTodoStatesHaveSteps(t *testing.T) {
	if !slices.Equal(TodoStates(RoleRegistrar), []State{StateExpired, StateOverdue}) {
		t.Errorf("registrar's to-do: %v", TodoStates(RoleRegistrar))
	}
	for _, r := range []Role{RoleBorrower, RoleLender, RoleOrgDept} {
		if len(TodoStates(r)) == 0 {
			t.Errorf("%s has nothing to do anywhere", r)
		}
		for _, st := range TodoStates(r) {
			if len(Allowed(st, r)) == 0 {
				t.Errorf("%s has %s to do but no step in it", r, st)
			}
		}
	}
}

func TestRenewableAndLive(t *testing.T) {
	s := Secondment{State: StateActive, Start: D(2024, 3, 11), End: D(2024, 6, 10)}
	if !s.Renewable(D(2024, 6, 10)) || s.Renewable(D(2024, 6, 11)) {
		t.Error("a running term is renewable up to its last day, not after")
	}
	s.State = StateExpired
	if s.Renewable(D(2024, 6, 1)) {
		t.Error("an expired term is renewable")
	}
	for _, st := range AllStates {
		want := st != StateDeclined && st != StateRejected && st != StateWithdrawn
		if st.Live() != want {
			t.Errorf("%s live: %v", st, st.Live())
		}
	}
}

// What a form asks for follows what the transition requires: a deciding
// step needs an opinion (Transition refuses it without one), only the
// lending unit's opinion carries the letter, the post count only where
// R12 weighs the post quota.
func TestNeedsOf(t *testing.T) {
	for _, a := range AllActions {
		n := NeedsOf(a, Secondment{State: StateAwaitingSignoff})
		if a.Deciding() && !n.Opinion {
			t.Errorf("%s decides without an opinion box", a)
		}
		if n.Letter != (a == ActConsent || a == ActDecline) {
			t.Errorf("%s letter: %v", a, n.Letter)
		}
	}
	lead := Secondment{State: StateTransferPending, TransferLeadership: true}
	if !NeedsOf(ActApprove, lead).PostsFilled || NeedsOf(ActApprove, Secondment{State: StateTransferPending}).PostsFilled {
		t.Error("the posts filled are asked exactly when a transfer-in fills a leadership post")
	}
	if !ActExpire.Systemic() || ActConsent.Systemic() {
		t.Error("systemic steps")
	}
}

// A draft is the borrowing unit's own; every other state is seen by every
// role, so the inbox's list of all requests and PartyTo agree.
func TestVisibleTo(t *testing.T) {
	for _, st := range AllStates {
		for _, r := range AllRoles {
			if want := st != StateDraft || r == RoleBorrower; st.VisibleTo(r) != want {
				t.Errorf("%s visible to %s: %v", st, r, st.VisibleTo(r))
			}
		}
	}
}
