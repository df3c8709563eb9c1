package secondment

import (
	"fmt"
	"slices"
	"strings"
)

// The state machine as data: the transition table, what it allows, and
// its diagram (docs/domain.md). transition.go applies it.

// Row is one line of the transition table: in state From, an actor playing
// Role may take Action, and the request moves to To. When two rows share
// (From, Action, Role), When names the condition that picks one.
type Row struct {
	From   State
	Action Action
	Role   Role
	To     State
	When   string
}

// Conditions of rows that share a triple.
const (
	WhenConsentReset = "consent reset" // resubmitted changed, or never consented: ask the lender again
	WhenConsentKept  = "consent kept"  // resubmitted unchanged after consent: straight back to the org dept
)

// table is the state machine. Everything not in it is refused: an action no
// row allows from the state is an invalid transition; one allowed to other
// roles only is forbidden for this actor. docs/domain.md draws it; a test
// keeps the two in step.
var table = []Row{
	{StateDraft, ActSubmit, RoleBorrower, StateAwaitingConsent, ""},
	{StateDraft, ActWithdraw, RoleBorrower, StateWithdrawn, ""},

	{StateAwaitingConsent, ActConsent, RoleLender, StateAwaitingSignoff, ""},
	{StateAwaitingConsent, ActDecline, RoleLender, StateDeclined, ""},
	{StateAwaitingConsent, ActSendBack, RoleLender, StateSentBack, ""},
	{StateAwaitingConsent, ActWithdraw, RoleBorrower, StateWithdrawn, ""},
	{StateAwaitingConsent, ActWithdraw, RoleSystem, StateWithdrawn, ""}, // a renewal whose term has been returned

	{StateAwaitingSignoff, ActApprove, RoleOrgDept, StateApproved, ""},
	{StateAwaitingSignoff, ActReject, RoleOrgDept, StateRejected, ""},
	{StateAwaitingSignoff, ActSendBack, RoleOrgDept, StateSentBack, ""},
	{StateAwaitingSignoff, ActWithdraw, RoleLender, StateAwaitingConsent, ""}, // lender takes back its consent
	{StateAwaitingSignoff, ActWithdraw, RoleSystem, StateWithdrawn, ""},

	{StateSentBack, ActResubmit, RoleBorrower, StateAwaitingConsent, WhenConsentReset},
	{StateSentBack, ActResubmit, RoleBorrower, StateAwaitingSignoff, WhenConsentKept},
	{StateSentBack, ActWithdraw, RoleBorrower, StateWithdrawn, ""},
	{StateSentBack, ActWithdraw, RoleSystem, StateWithdrawn, ""},

	{StateApproved, ActStart, RoleBorrower, StateActive, ""},
	{StateApproved, ActStart, RoleSystem, StateActive, ""}, // a renewal starts by itself
	{StateApproved, ActWithdraw, RoleBorrower, StateWithdrawn, ""},
	{StateApproved, ActWithdraw, RoleOrgDept, StateAwaitingSignoff, ""}, // org dept takes back its sign-off
	{StateApproved, ActWithdraw, RoleSystem, StateWithdrawn, ""},
	{StateApproved, ActFile, RoleBorrower, StateApproved, ""},
	{StateApproved, ActFile, RoleLender, StateApproved, ""},

	{StateActive, ActFile, RoleBorrower, StateActive, ""},
	{StateActive, ActFile, RoleLender, StateActive, ""},
	{StateActive, ActRecordReturn, RoleBorrower, StateReturnRecorded, ""}, // early return
	{StateActive, ActExpire, RoleSystem, StateExpired, ""},
	{StateActive, ActExpire, RoleRegistrar, StateExpired, ""},
	{StateActive, ActSucceed, RoleSystem, StateRenewed, ""},
	{StateActive, ActRecall, RoleOrgDept, StateExpired, ""},
	{StateActive, ActTransfer, RoleBorrower, StateTransferPending, ""},

	{StateExpired, ActRecordReturn, RoleBorrower, StateReturnRecorded, ""},
	{StateExpired, ActMarkOverdue, RoleSystem, StateOverdue, ""},
	{StateExpired, ActMarkOverdue, RoleRegistrar, StateOverdue, ""},
	{StateOverdue, ActRecordReturn, RoleBorrower, StateReturnRecorded, ""},
	{StateReturnRecorded, ActConfirmReturn, RoleLender, StateReturned, ""},

	{StateTransferPending, ActApprove, RoleOrgDept, StateTransferred, ""},
	{StateTransferPending, ActReject, RoleOrgDept, StateActive, ""},
	{StateTransferPending, ActWithdraw, RoleBorrower, StateActive, ""},
}

// Table returns a copy of the transition table.
func Table() []Row { return slices.Clone(table) }

// Allowed lists the actions role may take on a request in state, for the
// buttons a page shows.
func Allowed(state State, role Role) []Action {
	var out []Action
	for _, r := range table {
		if r.From == state && r.Role == role && !slices.Contains(out, r.Action) {
			out = append(out, r.Action)
		}
	}
	return out
}

// Mermaid draws the table as a Mermaid state diagram, one edge per (from,
// to, action) with the roles that may take it.
func Mermaid() string {
	var b strings.Builder
	b.WriteString("stateDiagram-v2\n    [*] --> draft\n")
	type edge struct {
		from, to State
		action   Action
		when     string
	}
	var order []edge
	roles := map[edge][]string{}
	for _, r := range table {
		e := edge{r.From, r.To, r.Action, r.When}
		if _, ok := roles[e]; !ok {
			order = append(order, e)
		}
		roles[e] = append(roles[e], string(r.Role))
	}
	for _, e := range order {
		label := string(e.action)
		if e.when != "" {
			label += " [" + e.when + "]"
		}
		fmt.Fprintf(&b, "    %s --> %s : %s (%s)\n", e.from, e.to, label, strings.Join(roles[e], ", "))
	}
	for _, s := range AllStates {
		if s.Terminal() {
			fmt.Fprintf(&b, "    %s --> [*]\n", s)
		}
	}
	return b.String()
}
