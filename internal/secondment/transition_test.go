package secondment

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

type triple struct {
	state  State
	action Action
	role   Role
}

// expected is the transition table written out again by hand: every triple
// not listed must be refused. A row added to the table without a line here
// fails TestEveryTriple, and so does a line here the table lacks.
var expected = map[triple]State{
	{StateDraft, ActSubmit, RoleBorrower}:               StateAwaitingConsent,
	{StateDraft, ActWithdraw, RoleBorrower}:             StateWithdrawn,
	{StateAwaitingConsent, ActConsent, RoleLender}:      StateAwaitingSignoff,
	{StateAwaitingConsent, ActDecline, RoleLender}:      StateDeclined,
	{StateAwaitingConsent, ActSendBack, RoleLender}:     StateSentBack,
	{StateAwaitingConsent, ActWithdraw, RoleBorrower}:   StateWithdrawn,
	{StateAwaitingConsent, ActWithdraw, RoleSystem}:     StateWithdrawn, // a renewal of a returned term
	{StateAwaitingSignoff, ActApprove, RoleOrgDept}:     StateApproved,
	{StateAwaitingSignoff, ActReject, RoleOrgDept}:      StateRejected,
	{StateAwaitingSignoff, ActSendBack, RoleOrgDept}:    StateSentBack,
	{StateAwaitingSignoff, ActWithdraw, RoleLender}:     StateAwaitingConsent,
	{StateAwaitingSignoff, ActWithdraw, RoleSystem}:     StateWithdrawn,
	{StateSentBack, ActResubmit, RoleBorrower}:          StateAwaitingConsent, // changed; unchanged: TestResubmit
	{StateSentBack, ActWithdraw, RoleBorrower}:          StateWithdrawn,
	{StateSentBack, ActWithdraw, RoleSystem}:            StateWithdrawn,
	{StateApproved, ActStart, RoleBorrower}:             StateActive,
	{StateApproved, ActStart, RoleSystem}:               StateActive,
	{StateApproved, ActWithdraw, RoleBorrower}:          StateWithdrawn,
	{StateApproved, ActWithdraw, RoleOrgDept}:           StateAwaitingSignoff,
	{StateApproved, ActWithdraw, RoleSystem}:            StateWithdrawn,
	{StateApproved, ActFile, RoleBorrower}:              StateApproved,
	{StateApproved, ActFile, RoleLender}:                StateApproved,
	{StateActive, ActFile, RoleBorrower}:                StateActive,
	{StateActive, ActFile, RoleLender}:                  StateActive,
	{StateActive, ActRecordReturn, RoleBorrower}:        StateReturnRecorded,
	{StateActive, ActExpire, RoleSystem}:                StateExpired,
	{StateActive, ActExpire, RoleRegistrar}:             StateExpired,
	{StateActive, ActSucceed, RoleSystem}:               StateRenewed,
	{StateActive, ActRecall, RoleOrgDept}:               StateExpired,
	{StateActive, ActTransfer, RoleBorrower}:            StateTransferPending,
	{StateExpired, ActRecordReturn, RoleBorrower}:       StateReturnRecorded,
	{StateExpired, ActMarkOverdue, RoleSystem}:          StateOverdue,
	{StateExpired, ActMarkOverdue, RoleRegistrar}:       StateOverdue,
	{StateOverdue, ActRecordReturn, RoleBorrower}:       StateReturnRecorded,
	{StateReturnRecorded, ActConfirmReturn, RoleLender}: StateReturned,
	{StateTransferPending, ActApprove, RoleOrgDept}:     StateTransferred,
	{StateTransferPending, ActReject, RoleOrgDept}:      StateActive,
	{StateTransferPending, ActWithdraw, RoleBorrower}:   StateActive,
}

var (
	tStart = D(2024, 3, 1)
	tEnd   = D(2024, 5, 31)
)

// fixture builds a request in state st in the test region T, an actor for
// role, an input that satisfies every guard of action, and a fitting now.
func fixture(st State, action Action, role Role) (Secondment, Actor, Input, time.Time) {
	j := DemoJurisdiction("T-A")
	borrower, lender := DemoUnit("T-A"), DemoUnit("T-B")
	s := Secondment{ID: 100, State: st, Kind: KindSecondment, Purpose: PurposeSpecialProject,
		Task: "项目评审", PersonID: 1, PersonName: "甲", BorrowerID: borrower.ID, LenderID: lender.ID,
		BorrowerName: borrower.Name, LenderName: lender.Name, Start: tStart, End: tEnd,
		JurisdictionID: j.Root.ID, OrgDeptID: j.OrgDept.ID, PolicyVersion: 1,
		SubmittedOn: D(2024, 2, 20), SubmittedBy: 99, ConsentedOn: D(2024, 2, 21)}
	if st == StateDraft {
		s.JurisdictionID, s.OrgDeptID, s.PolicyVersion, s.SubmittedOn, s.SubmittedBy, s.ConsentedOn = 0, 0, 0, Date{}, 0, Date{}
	}
	units := map[Role]int64{RoleBorrower: borrower.ID, RoleLender: lender.ID, RoleOrgDept: j.OrgDept.ID, RoleRegistrar: j.OrgDept.ID}
	a := Actor{UserID: 7, Name: "乙", Role: role, UnitID: units[role]}
	in := Input{Action: action, Opinion: "同意", Jurisdiction: &j, Facts: &Facts{Jurisdiction: j.Root.Name, Borrower: borrower, Lender: lender},
		Changed: true, Handover: "已交接", Evaluation: "工作认真负责", RenewalID: 101, TransferMethod: TransferOfPost,
		Transfer: &TransferFacts{Borrower: borrower}}
	now := At(D(2024, 2, 25))
	switch action {
	case ActStart, ActWithdraw:
		if action == ActStart {
			now = At(tStart)
		}
		if role == RoleSystem { // the system starts and withdraws renewals only
			s.PreviousID = 50
		}
	case ActExpire, ActMarkOverdue, ActSucceed:
		now = At(tEnd.AddDays(1))
	}
	return s, a, in, now
}

func TestEveryTriple(t *testing.T) {
	actionSomewhere := map[[2]string]bool{}
	roleActs := map[[2]string]bool{} // the role takes the action in some state
	for k := range expected {
		actionSomewhere[[2]string{string(k.state), string(k.action)}] = true
		roleActs[[2]string{string(k.role), string(k.action)}] = true
	}
	for _, st := range AllStates {
		for _, act := range AllActions {
			for _, role := range AllRoles {
				name := fmt.Sprintf("%s/%s/%s", st, act, role)
				s, a, in, now := fixture(st, act, role)
				res, err := Transition(s, a, in, now)
				want, ok := expected[triple{st, act, role}]
				switch {
				case ok && err != nil:
					t.Errorf("%s: %v", name, err)
				case ok && res.Secondment.State != want:
					t.Errorf("%s: got %s, want %s", name, res.Secondment.State, want)
				case ok:
					if res.Event.From != st || res.Event.To != want || res.Event.Action != act || res.Event.Role != role {
						t.Errorf("%s: event %+v", name, res.Event)
					}
				case err == nil:
					t.Errorf("%s: allowed to %s, want refused", name, res.Secondment.State)
				case actionSomewhere[[2]string{string(st), string(act)}] && roleActs[[2]string{string(role), string(act)}] && s.playedBy(a):
					// The actor's role takes this step elsewhere: the request
					// moved on under them (someone acted first) — a conflict,
					// like a lost race, not a lack of rights.
					if ErrorCodeOf(err) != EConflict || !errors.Is(err, ErrInvalidTransition) {
						t.Errorf("%s: %v, want invalid transition (moved on)", name, err)
					}
				case actionSomewhere[[2]string{string(st), string(act)}]:
					if ErrorCodeOf(err) != EForbidden || !errors.Is(err, ErrForbidden) {
						t.Errorf("%s: %v, want forbidden", name, err)
					}
				default:
					if ErrorCodeOf(err) != EConflict || !errors.Is(err, ErrInvalidTransition) {
						t.Errorf("%s: %v, want invalid transition", name, err)
					}
				}
			}
		}
	}
	// Every row of the table is expected, and terminal states are the ones
	// nothing leaves.
	for _, r := range Table() {
		if want, ok := expected[triple{r.From, r.Action, r.Role}]; !ok || (want != r.To && r.When != WhenConsentKept) {
			t.Errorf("row %+v has no expected entry", r)
		}
	}
	var terminal []State
	for _, s := range AllStates {
		if s.Terminal() {
			terminal = append(terminal, s)
		}
	}
	want := []State{StateReturned, StateRenewed, StateTransferred, StateDeclined, StateRejected, StateWithdrawn}
	if !slices.Equal(terminal, want) {
		t.Errorf("terminal states %v, want %v", terminal, want)
	}
}

func TestActorMustBeAPartyToTheRequest(t *testing.T) {
	s, a, in, now := fixture(StateAwaitingConsent, ActConsent, RoleLender)
	a.UnitID = DemoUnit("NMG-BT-JY-MC").ID // a lender, but of another unit
	if _, err := Transition(s, a, in, now); ErrorCodeOf(err) != EForbidden {
		t.Errorf("stranger consented: %v", err)
	}
}

func TestNobodyDecidesOnTheirOwnRequest(t *testing.T) {
	s, a, in, now := fixture(StateAwaitingSignoff, ActApprove, RoleOrgDept)
	a.UserID = s.SubmittedBy
	_, err := Transition(s, a, in, now)
	var e *Error
	if !errors.As(err, &e) || e.Code != EForbidden || e.Message.ID != "transition.error.own_request" {
		t.Errorf("own request approved: %v", err)
	}
}

func TestResubmit(t *testing.T) {
	for _, tc := range []struct {
		name      string
		changed   bool
		consented Date
		want      State
	}{
		{"changed after consent: ask the lender again", true, D(2024, 2, 21), StateAwaitingConsent},
		{"unchanged after consent: back to the org dept", false, D(2024, 2, 21), StateAwaitingSignoff},
		{"sent back by the lender: the lender again", false, Date{}, StateAwaitingConsent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, a, in, now := fixture(StateSentBack, ActResubmit, RoleBorrower)
			s.ConsentedOn, in.Changed = tc.consented, tc.changed
			res, err := Transition(s, a, in, now)
			if err != nil {
				t.Fatal(err)
			}
			if res.Secondment.State != tc.want {
				t.Errorf("state %s, want %s", res.Secondment.State, tc.want)
			}
			if tc.want == StateAwaitingConsent && !res.Secondment.ConsentedOn.IsZero() {
				t.Error("consent kept after a change")
			}
			if res.Secondment.SubmittedOn != s.SubmittedOn {
				t.Error("resubmission moved the submission day, and with it the policy")
			}
		})
	}
}

func TestGuards(t *testing.T) {
	for _, tc := range []struct {
		name   string
		state  State
		action Action
		role   Role
		change func(*Secondment, *Input, *time.Time)
		code   ErrorCode
		field  string
	}{
		{"consent needs a written opinion", StateAwaitingConsent, ActConsent, RoleLender,
			func(_ *Secondment, in *Input, _ *time.Time) { in.Opinion = " " }, EInvalid, "opinion"},
		{"reject needs a reason", StateAwaitingSignoff, ActReject, RoleOrgDept,
			func(_ *Secondment, in *Input, _ *time.Time) { in.Opinion = "" }, EInvalid, "opinion"},
		{"no start before the start date", StateApproved, ActStart, RoleBorrower,
			func(_ *Secondment, _ *Input, now *time.Time) { *now = At(tStart.AddDays(-1)) }, EInvalid, ""},
		{"no start after the end", StateApproved, ActStart, RoleBorrower,
			func(_ *Secondment, _ *Input, now *time.Time) { *now = At(tEnd.AddDays(1)) }, EInvalid, ""},
		{"the system starts renewals only", StateApproved, ActStart, RoleSystem,
			func(s *Secondment, _ *Input, _ *time.Time) { s.PreviousID = 0 }, EForbidden, ""},
		{"no expiry on the last day", StateActive, ActExpire, RoleSystem,
			func(_ *Secondment, _ *Input, now *time.Time) { *now = At(tEnd) }, EInvalid, ""},
		{"overdue only after the grace period", StateExpired, ActMarkOverdue, RoleSystem,
			func(_ *Secondment, in *Input, _ *time.Time) {
				j := *in.Jurisdiction
				j.Policies = slices.Clone(j.Policies)
				j.Policies[0].ReturnGraceDays = 5
				in.Jurisdiction = &j
			}, EInvalid, ""},
		{"succeed needs the renewal", StateActive, ActSucceed, RoleSystem,
			func(_ *Secondment, in *Input, _ *time.Time) { in.RenewalID = 0 }, EInternal, ""},
		{"return needs a handover", StateActive, ActRecordReturn, RoleBorrower,
			func(_ *Secondment, in *Input, _ *time.Time) { in.Handover = "" }, EInvalid, "handover"},
		{"return needs an evaluation (期满鉴定)", StateActive, ActRecordReturn, RoleBorrower,
			func(_ *Secondment, in *Input, _ *time.Time) { in.Evaluation = " " }, EInvalid, "evaluation"},
		{"no return in the future", StateActive, ActRecordReturn, RoleBorrower,
			func(_ *Secondment, in *Input, _ *time.Time) { in.ReturnedOn = D(2030, 1, 1) }, EInvalid, "returned_on"},
		{"filing twice", StateActive, ActFile, RoleLender,
			func(s *Secondment, _ *Input, _ *time.Time) { s.FiledByLender = D(2024, 3, 2) }, EConflict, ""},
		{"transfer needs a method", StateActive, ActTransfer, RoleBorrower,
			func(_ *Secondment, in *Input, _ *time.Time) { in.TransferMethod = "" }, EInvalid, "transfer_method"},
		{"submit validates the form", StateDraft, ActSubmit, RoleBorrower,
			func(s *Secondment, _ *Input, _ *time.Time) { s.End = s.Start.AddDays(-1) }, EInvalid, "end"},
		{"submit needs the jurisdiction", StateDraft, ActSubmit, RoleBorrower,
			func(_ *Secondment, in *Input, _ *time.Time) { in.Jurisdiction = nil }, EInternal, ""},
		{"no policy in force yet", StateDraft, ActSubmit, RoleBorrower,
			func(_ *Secondment, _ *Input, now *time.Time) { *now = At(D(2024, 1, 5)) }, ENotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, a, in, now := fixture(tc.state, tc.action, tc.role)
			tc.change(&s, &in, &now)
			_, err := Transition(s, a, in, now)
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.code {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
			if tc.field != "" && (len(e.Fields) != 1 || e.Fields[0].Field != tc.field) {
				t.Errorf("fields %+v, want %s", e.Fields, tc.field)
			}
		})
	}
}

func TestNotifications(t *testing.T) {
	s, a, in, now := fixture(StateDraft, ActSubmit, RoleBorrower)
	res, err := Transition(s, a, in, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Notifications) != 1 || res.Notifications[0].Role != RoleLender || res.Notifications[0].UnitID != s.LenderID ||
		res.Notifications[0].Message.ID != "notify.awaiting_consent" {
		t.Errorf("submit notifies %+v", res.Notifications)
	}
	if got := res.Secondment; got.SubmittedBy != a.UserID || got.OrgDeptID != in.Jurisdiction.OrgDept.ID || got.PolicyVersion != 1 {
		t.Errorf("submission not recorded: %+v", got)
	}
	s, a, in, now = fixture(StateExpired, ActMarkOverdue, RoleSystem)
	res, err = Transition(s, a, in, now)
	if err != nil {
		t.Fatal(err)
	}
	var roles []Role
	for _, n := range res.Notifications {
		roles = append(roles, n.Role)
	}
	if !slices.Equal(roles, []Role{RoleBorrower, RoleLender, RoleOrgDept, RoleRegistrar}) {
		t.Errorf("overdue notifies %v", roles)
	}
	if !slices.Equal(res.Event.Rules, []RuleID{R10}) || res.Event.Message.ID != "policy.r10.overdue" || len(res.Secondment.Decisions) != 0 {
		t.Errorf("overdue event %+v", res.Event)
	}
	s, a, in, now = fixture(StateDraft, ActWithdraw, RoleBorrower)
	if res, _ := Transition(s, a, in, now); len(res.Notifications) != 0 {
		t.Errorf("a discarded draft notifies %+v", res.Notifications)
	}
}

func TestAllowed(t *testing.T) {
	if got := Allowed(StateAwaitingSignoff, RoleOrgDept); !slices.Equal(got, []Action{ActApprove, ActReject, ActSendBack}) {
		t.Errorf("Allowed = %v", got)
	}
	if got := Allowed(StateReturned, RoleBorrower); got != nil {
		t.Errorf("Allowed on a terminal state = %v", got)
	}
}

// The diagram in docs/domain.md is the table, edge for edge.
func TestDocsDiagramMatchesTable(t *testing.T) {
	doc, err := os.ReadFile("../../docs/domain.md")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)```mermaid\n(stateDiagram-v2\n.*?)```").FindSubmatch(doc)
	if block == nil {
		t.Fatal("no mermaid stateDiagram in docs/domain.md")
	}
	edge := regexp.MustCompile(`^\s*(\w+) --> (\w+) : (\w+)(?: \[([^\]]*)\])? \(([^)]*)\)$`)
	final := regexp.MustCompile(`^\s*(\w+) --> \[\*\]$`)
	var got, want []string
	var ends []State
	for _, line := range strings.Split(string(block[1]), "\n") {
		if m := edge.FindStringSubmatch(line); m != nil {
			for _, r := range strings.Split(m[5], ", ") {
				got = append(got, strings.Join([]string{m[1], m[3], r, m[2], m[4]}, " "))
			}
		} else if m := final.FindStringSubmatch(line); m != nil {
			ends = append(ends, State(m[1]))
		}
	}
	for _, r := range Table() {
		want = append(want, strings.Join([]string{string(r.From), string(r.Action), string(r.Role), string(r.To), r.When}, " "))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("docs/domain.md diagram differs from the table; paste Mermaid():\n%s", Mermaid())
	}
	for _, s := range AllStates {
		if s.Terminal() != slices.Contains(ends, s) {
			t.Errorf("terminal state %s: diagram %v", s, slices.Contains(ends, s))
		}
	}
}

// Issue #13: one person never decides one request in two capacities —
// the lending unit's consent given in person or as a proxy, then the
// sign-off — nor files or decides a request about themselves. Deciding
// the same step again (a send-back, then the sign-off) is one capacity.
func TestOneCapacityAndNotAboutOneself(t *testing.T) {
	now := D(2024, 3, 5).Start().Add(10 * time.Hour)
	s := Secondment{ID: 1, State: StateAwaitingSignoff, Kind: KindSecondment, PersonID: 42, SubmittedBy: 1,
		Decisions: []Decision{{Step: StateAwaitingConsent, Action: ActConsent, Role: RoleLender, ActorID: 7, ForID: 9}}}
	approve := Input{Action: ActApprove, Opinion: "同意"}
	s.OrgDeptID = 3
	for name, c := range map[string]struct {
		a   Actor
		msg string
	}{
		"the consenting proxy signs off":           {Actor{UserID: 7, Role: RoleOrgDept, UnitID: 3}, "transition.error.other_capacity"},
		"the colleague consented for signs off":    {Actor{UserID: 9, Role: RoleOrgDept, UnitID: 3}, "transition.error.other_capacity"},
		"the org dept's reviewer about himself":    {Actor{UserID: 5, Role: RoleOrgDept, UnitID: 3, PersonID: 42}, "transition.error.about_self"},
		"a proxy for someone the request is about": {Actor{UserID: 5, Role: RoleOrgDept, UnitID: 3, ForID: 6, ForPersonID: 42}, "transition.error.about_self"},
	} {
		_, err := Transition(s, c.a, approve, now)
		var e *Error
		if !errors.As(err, &e) || e.Code != EForbidden || e.Message.ID != c.msg {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The same reviewer deciding the same step again is no second capacity.
	s.Decisions = append(s.Decisions, Decision{Step: StateAwaitingSignoff, Action: ActSendBack, Role: RoleOrgDept, ActorID: 5})
	if s.DecidedAsOther(5, RoleOrgDept) || !s.DecidedAsOther(7, RoleOrgDept) || s.DecidedAsOther(7, RoleLender) {
		t.Error("DecidedAsOther")
	}
	// Filing a request about oneself is refused too.
	d := Secondment{ID: 2, State: StateDraft, Kind: KindSecondment, PersonID: 42, BorrowerID: 8}
	var e *Error
	if _, err := Transition(d, Actor{UserID: 3, Role: RoleBorrower, UnitID: 8, PersonID: 42}, Input{Action: ActSubmit}, now); !errors.As(err, &e) ||
		e.Message.ID != "transition.error.about_self" {
		t.Errorf("filing one's own secondment: %v", err)
	}
}
