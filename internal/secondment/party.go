package secondment

import "slices"

// Pending is whose move it is on s: the role and the unit that must act
// next; ok is false when nothing waits for anyone.
func (s Secondment) Pending() (role Role, unitID int64, ok bool) {
	switch s.State {
	case StateAwaitingConsent, StateReturnRecorded:
		return RoleLender, s.LenderID, true
	case StateAwaitingSignoff, StateTransferPending:
		return RoleOrgDept, s.OrgDeptID, s.OrgDeptID != 0
	case StateSentBack, StateApproved:
		return RoleBorrower, s.BorrowerID, true
	}
	return "", 0, false
}

// PartyTo reports whether the holder of role r in unit takes part in s:
// the borrowing unit's clerk always; the lending unit and the org dept once
// the request is submitted (a draft is the borrowing unit's own).
func (s Secondment) PartyTo(r Role, unit int64) bool {
	if !s.State.VisibleTo(r) {
		return false
	}
	switch r {
	case RoleBorrower:
		return s.BorrowerID == unit
	case RoleLender:
		return s.LenderID == unit
	case RoleOrgDept, RoleRegistrar:
		return s.OrgDeptID != 0 && s.OrgDeptID == unit
	}
	return false
}

// VisibleTo reports whether the parties playing role r see a request in
// state s at all: every state, but a draft is the borrowing unit's own.
func (s State) VisibleTo(r Role) bool {
	return s != StateDraft || r == RoleBorrower
}

// todo are the states in which each role has something to do.
var todo = map[Role][]State{
	RoleBorrower:  {StateDraft, StateSentBack, StateApproved, StateExpired, StateOverdue},
	RoleLender:    {StateAwaitingConsent, StateReturnRecorded},
	RoleOrgDept:   {StateAwaitingSignoff, StateTransferPending},
	RoleRegistrar: {StateExpired, StateOverdue},
}

// TodoStates lists the states in which role r has something to do (待办).
func TodoStates(r Role) []State { return slices.Clone(todo[r]) }

// Renewable reports whether the borrowing unit may apply to renew s on day
// today: a term approved or running that has not ended (R6 judges the same
// at submission).
func (s Secondment) Renewable(today Date) bool {
	return (s.State == StateActive || s.State == StateApproved) && !today.After(s.End)
}

// Live reports whether a request still stands: anything but refused or
// withdrawn. A term has at most one live renewal at a time.
func (s State) Live() bool {
	switch s {
	case StateDeclined, StateRejected, StateWithdrawn:
		return false
	}
	return true
}

// Systemic reports whether only the sweep (or the registrar's sweep-like
// correction) takes a: a page offers it to nobody.
func (a Action) Systemic() bool {
	return a == ActExpire || a == ActMarkOverdue || a == ActSucceed
}

// Needs is what an action's form asks for besides the click.
type Needs struct {
	Opinion     bool // a written opinion (required for the deciding actions)
	Letter      bool // the signed letter may come with it
	Return      bool // the return date and the work handover
	Transfer    bool // the transfer-in's method and leadership post (R12)
	PostsFilled bool // the leadership posts filled now (R12's post quota)
	Danger      bool // it refuses, withdraws or sends back
}

// NeedsOf says what action a on s asks the actor for.
func NeedsOf(a Action, s Secondment) Needs {
	return Needs{
		Opinion:     a.Deciding() || a == ActRecall || a == ActTransfer,
		Letter:      a == ActConsent || a == ActDecline,
		Return:      a == ActRecordReturn,
		Transfer:    a == ActTransfer,
		PostsFilled: a == ActTransfer || (a == ActApprove && s.State == StateTransferPending && s.TransferLeadership),
		Danger:      a == ActDecline || a == ActReject || a == ActWithdraw || a == ActSendBack,
	}
}
