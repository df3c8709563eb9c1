package secondment

import "slices"

// Role is the part an actor plays on one request. It is relative: a user with
// the lender role acts as lender only on requests whose lending unit is
// theirs (see Hierarchy.RoleOn). System admin, security admin and auditor
// never act in the chain, so they are not roles here.
type Role string

const (
	RoleBorrower  Role = "borrower"  // clerk of the borrowing unit
	RoleLender    Role = "lender"    // the lending (home) unit
	RoleOrgDept   Role = "orgdept"   // the approving organization department
	RoleRegistrar Role = "registrar" // ledger keeper at the approving org dept
	RoleSystem    Role = "system"    // the periodic sweep
)

// AllRoles lists every role that can act on a request.
var AllRoles = []Role{RoleBorrower, RoleLender, RoleOrgDept, RoleRegistrar, RoleSystem}

func (r Role) Valid() bool      { return slices.Contains(AllRoles, r) }
func (r Role) Message() Message { return Msg("role." + string(r)) }

// State is where a request stands. "Submitted" is not a state: the submit
// action moves a complete draft straight to the lending unit (docs/domain.md).
type State string

const (
	StateDraft           State = "draft"            // candidate nominated, form being filled
	StateAwaitingConsent State = "awaiting_consent" // waiting for the lending unit's written opinion
	StateAwaitingSignoff State = "awaiting_signoff" // waiting for the org dept
	StateSentBack        State = "sent_back"        // 退回修改: back with the borrowing unit
	StateApproved        State = "approved"         // signed off, not yet started
	StateActive          State = "active"           // the secondee is at the borrowing unit
	StateExpired         State = "expired"          // term over (or recalled), awaiting return
	StateOverdue         State = "overdue"          // past the grace period without return (R10)
	StateReturnRecorded  State = "return_recorded"  // borrower recorded the return, lender to confirm
	StateReturned        State = "returned"
	StateRenewed         State = "renewed" // term ended and an approved renewal took over
	StateTransferPending State = "transfer_pending"
	StateTransferred     State = "transferred" // 调入: the person now belongs to the borrowing unit
	StateDeclined        State = "declined"    // lending unit refused
	StateRejected        State = "rejected"    // org dept refused
	StateWithdrawn       State = "withdrawn"
)

// AllStates lists every state in the order of the chain.
var AllStates = []State{StateDraft, StateAwaitingConsent, StateAwaitingSignoff, StateSentBack,
	StateApproved, StateActive, StateExpired, StateOverdue, StateReturnRecorded, StateReturned,
	StateRenewed, StateTransferPending, StateTransferred, StateDeclined, StateRejected, StateWithdrawn}

func (s State) Valid() bool      { return slices.Contains(AllStates, s) }
func (s State) Message() Message { return Msg("state." + string(s)) }

// Terminal reports whether no action leads out of s.
func (s State) Terminal() bool {
	for _, r := range table {
		if r.From == s && r.To != s {
			return false
		}
	}
	return true
}

// Seconded reports whether a request in s means the person is, was or will
// certainly be away: what R7 counts and R14 weighs. Requests still under
// review do not count.
func (s State) Seconded() bool {
	switch s {
	case StateApproved, StateActive, StateExpired, StateOverdue, StateReturnRecorded,
		StateReturned, StateRenewed, StateTransferPending, StateTransferred:
		return true
	}
	return false
}

// Away reports whether the person is away from the lending unit now (R14).
func (s State) Away() bool {
	switch s {
	case StateActive, StateExpired, StateOverdue, StateTransferPending:
		return true
	}
	return false
}

// Action is what an actor does to a request.
type Action string

const (
	ActSubmit        Action = "submit"         // borrower sends the completed form to the lending unit
	ActResubmit      Action = "resubmit"       // after a send-back
	ActWithdraw      Action = "withdraw"       // 撤回: take back one's own last step before the next one acts
	ActConsent       Action = "consent"        // lending unit's written consent
	ActDecline       Action = "decline"        // lending unit refuses
	ActSendBack      Action = "send_back"      // 退回修改, with a reason
	ActApprove       Action = "approve"        // org-dept sign-off (or transfer-in approval)
	ActReject        Action = "reject"         // org dept refuses
	ActStart         Action = "start"          // the secondee reports for duty
	ActFile          Action = "file"           // 双备案: a unit files the secondment on its record (R13)
	ActRecordReturn  Action = "record_return"  // borrower records return date and handover
	ActConfirmReturn Action = "confirm_return" // lending unit confirms the person is back
	ActExpire        Action = "expire"         // term over without renewal
	ActMarkOverdue   Action = "mark_overdue"   // still away after the grace period (R10)
	ActSucceed       Action = "succeed"        // term over, its approved renewal takes over
	ActRecall        Action = "recall"         // clean-up: the org dept orders the return (R11)
	ActTransfer      Action = "transfer"       // borrower applies to transfer the person in (R12)
)

// AllActions lists every action.
var AllActions = []Action{ActSubmit, ActResubmit, ActWithdraw, ActConsent, ActDecline,
	ActSendBack, ActApprove, ActReject, ActStart, ActFile, ActRecordReturn, ActConfirmReturn,
	ActExpire, ActMarkOverdue, ActSucceed, ActRecall, ActTransfer}

func (a Action) Valid() bool      { return slices.Contains(AllActions, a) }
func (a Action) Message() Message { return Msg("action." + string(a)) }

// Deciding reports whether a is a judgement on someone else's request: its
// author may not take it.
func (a Action) Deciding() bool {
	switch a {
	case ActConsent, ActDecline, ActSendBack, ActApprove, ActReject:
		return true
	}
	return false
}
