package secondment

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Sentinel causes, for errors.Is; the *Error around them carries the code
// and the message.
var (
	ErrInvalidTransition = errors.New("invalid transition")
	ErrForbidden         = errors.New("forbidden for this actor")
	ErrPolicyViolation   = errors.New("policy violation")
)

// Actor is who takes an action, in the role they play on the request.
type Actor struct {
	UserID int64
	Name   string
	Role   Role
	UnitID int64 // the unit whose role they hold; unused for the system
	// For is the colleague an out-of-office proxy (代理) acts for: the role
	// and unit are theirs; the decision reads "Name for For.Name".
	ForID   int64
	ForName string
	// PersonID and ForPersonID are the person records of the actor and of
	// the colleague acted for (0: not linked): nobody files or decides a
	// request about themselves (issue #13).
	PersonID, ForPersonID int64
}

// About reports whether a, in person or for a colleague, is the person s
// is about.
func (a Actor) About(s Secondment) bool {
	return s.PersonID != 0 && (a.PersonID == s.PersonID || a.ForPersonID == s.PersonID)
}

// ownCase reports whether action is one nobody takes about themselves:
// filing or deciding.
func ownCase(action Action) bool {
	return action.Deciding() || action == ActSubmit || action == ActResubmit
}

// Input is what an action brings besides the actor. Which fields an action
// needs is said by each; the rest are ignored.
type Input struct {
	Action  Action
	Opinion string // consent, decline, send back, reject: required; approve: required for an exception
	Letter  bool   // consent: the signed letter is attached (required where the policy says so)

	// Submit resolves the jurisdiction; later steps pass it again to find the
	// policy version recorded at submission.
	Jurisdiction *Jurisdiction
	Facts        *Facts // submit, resubmit, approve: what the rules weigh
	Changed      bool   // resubmit: the request changed since it was sent back

	ReturnedOn Date   // record_return: the day the person went back; zero = today
	Handover   string // record_return: the work handover (工作交接)
	Evaluation string // record_return: the evaluation of the secondee's work (期满鉴定)
	RenewalID  int64  // succeed: the approved renewal that takes over

	TransferMethod TransferMethod // transfer
	Transfer       *TransferFacts // transfer, approve in transfer_pending
}

// Event is the audit record of one transition.
type Event struct {
	SecondmentID int64
	From, To     State
	Decision
	Rules   []RuleID // rules the step was judged on or applied (exceptions granted, R10 …)
	Message Message  // what happened, for the ledger
}

// Notification is a message to the holders of a role in a unit.
type Notification struct {
	Role    Role
	UnitID  int64
	Message Message
}

// Result is the outcome of a transition: the request as it is now, what to
// record and whom to tell.
type Result struct {
	Secondment    Secondment
	Event         Event
	Notifications []Notification
	Violations    Violations // warnings and exceptions granted, to show
	NewHomeUnit   int64      // on transfer-in: the person's home unit becomes this unit
}

// notify says who hears of a request reaching a state: whoever must act next,
// and the parties the outcome concerns. The actor's own role is left out.
var notify = map[State][]Role{
	StateAwaitingConsent: {RoleLender},
	StateAwaitingSignoff: {RoleOrgDept, RoleBorrower},
	StateSentBack:        {RoleBorrower},
	StateApproved:        {RoleBorrower, RoleLender},
	StateActive:          {RoleLender},
	StateExpired:         {RoleBorrower, RoleLender},
	StateOverdue:         {RoleBorrower, RoleLender, RoleOrgDept, RoleRegistrar},
	StateReturnRecorded:  {RoleLender},
	StateReturned:        {RoleBorrower, RoleRegistrar},
	StateRenewed:         {RoleLender},
	StateTransferPending: {RoleOrgDept, RoleLender},
	StateTransferred:     {RoleBorrower, RoleLender, RoleRegistrar},
	StateDeclined:        {RoleBorrower},
	StateRejected:        {RoleBorrower, RoleLender},
	StateWithdrawn:       {RoleLender, RoleOrgDept},
}

// Transition applies an action to a request. It is a pure function of the
// request, the actor, the input and now: it returns the request's next state
// with the audit event and the notifications, or an *Error: EConflict wrapping
// ErrInvalidTransition when the state allows no such action (someone else
// acted first), EForbidden wrapping ErrForbidden when this actor may not take
// it, EInvalid wrapping ErrPolicyViolation with every violated rule, or
// EInvalid with field errors for missing input.
func Transition(s Secondment, a Actor, in Input, now time.Time) (Result, error) {
	var rows []Row
	allowed := false
	for _, r := range table {
		if r.From == s.State && r.Action == in.Action {
			allowed = true
			if r.Role == a.Role {
				rows = append(rows, r)
			}
		}
	}
	switch {
	case !allowed:
		return Result{}, &Error{Code: EConflict, Message: Msg("transition.error.invalid"), Err: ErrInvalidTransition}
	case len(rows) == 0 && s.playedBy(a) && roleTakes(a.Role, in.Action):
		// The actor could take this step in another state: the request
		// moved on while they looked at it (someone acted first).
		return Result{}, &Error{Code: EConflict, Message: Msg("transition.error.invalid"), Err: ErrInvalidTransition}
	case len(rows) == 0 || !s.playedBy(a):
		return Result{}, &Error{Code: EForbidden, Message: Msg("transition.error.forbidden"), Err: ErrForbidden}
	case in.Action.Deciding() && (s.FiledBy(a.UserID) || s.FiledBy(a.ForID)):
		return Result{}, &Error{Code: EForbidden, Message: Msg("transition.error.own_request"), Err: ErrForbidden}
	case ownCase(in.Action) && a.About(s):
		return Result{}, &Error{Code: EForbidden, Message: Msg("transition.error.about_self"), Err: ErrForbidden}
	case in.Action.Deciding() && (s.DecidedAsOther(a.UserID, a.Role) || s.DecidedAsOther(a.ForID, a.Role)):
		return Result{}, &Error{Code: EForbidden, Message: Msg("transition.error.other_capacity"), Err: ErrForbidden}
	}

	t := &step{s: s, a: a, in: in, now: now, today: DateOf(now), row: rows[0]}
	if err := t.apply(rows); err != nil {
		return Result{}, err
	}
	return t.result(), nil
}

// roleTakes reports whether role r takes action in any state.
func roleTakes(r Role, action Action) bool {
	for _, row := range table {
		if row.Role == r && row.Action == action {
			return true
		}
	}
	return false
}

// step is one transition under way.
type step struct {
	s     Secondment
	a     Actor
	in    Input
	now   time.Time
	today Date
	row   Row
	vs    Violations
	rules []RuleID
	event Message
	home  int64
	// notice replaces the notice of the state reached, to every party but
	// the actor (the system's withdrawal of a renewal).
	notice *Message
}

func (t *step) apply(rows []Row) error {
	s, in := &t.s, t.in
	switch in.Action {
	case ActSubmit:
		if err := s.Validate(); err != nil {
			return err
		}
		if in.Jurisdiction == nil {
			return missing("jurisdiction")
		}
		p, err := in.Jurisdiction.PolicyOn(t.today)
		if err != nil {
			return err
		}
		s.SubmittedOn, s.SubmittedBy, s.PolicyVersion = t.today, t.a.UserID, p.Version
		s.JurisdictionID, s.OrgDeptID = in.Jurisdiction.Root.ID, in.Jurisdiction.OrgDept.ID
		return t.judge(p, false)
	case ActResubmit:
		if err := s.Validate(); err != nil {
			return err
		}
		// Judged like a submission, by the version in force that day: a
		// stricter one reaches a request sent back for revision too.
		if in.Jurisdiction == nil {
			return missing("jurisdiction")
		}
		p, err := in.Jurisdiction.PolicyOn(t.today)
		if err != nil {
			return err
		}
		if in.Changed || s.ConsentedOn.IsZero() {
			s.ConsentedOn = Date{}
			t.row = pick(rows, WhenConsentReset)
		} else {
			t.row = pick(rows, WhenConsentKept)
		}
		return t.judge(p, false)
	case ActConsent, ActDecline, ActSendBack, ActReject:
		if strings.TrimSpace(in.Opinion) == "" {
			return fieldErr("opinion", "transition.error.opinion_required")
		}
		if in.Action == ActConsent {
			// A policy may demand the signed letter itself, not only typed
			// words (书面意见 as a scanned, stamped letter).
			if in.Jurisdiction != nil {
				p, err := t.policy()
				if err != nil {
					return err
				}
				if p.ConsentLetter && !in.Letter {
					return fieldErr("letter", "transition.error.letter_required")
				}
			}
			// A version in force since the submission reaches the request
			// at the consent too: what it newly forbids is refused here
			// rather than passed on. Not what the submission's version
			// forbade as well (facts that changed since are the sign-off's
			// to weigh), nor an exception it asks for, nor the borrowing
			// unit's limit (R15), which the lending unit can do nothing
			// about: those are the org dept's. The caller gives the facts
			// only when such a version is in force.
			if in.Facts != nil && in.Jurisdiction != nil {
				now, err := in.Jurisdiction.PolicyOn(t.today)
				if err != nil {
					return err
				}
				then, err := t.policy()
				if err != nil {
					return err
				}
				if now.Version != then.Version {
					was := Evaluate(then, *s, *in.Facts)
					var vs Violations
					for _, v := range Evaluate(now, *s, *in.Facts) {
						if v.Severity == SeverityBlock && v.Rule != R15 &&
							!slices.ContainsFunc(was, func(w Violation) bool { return w.Rule == v.Rule && w.Severity == SeverityBlock }) {
							vs = append(vs, v)
						}
					}
					if len(vs) > 0 {
						t.vs, t.rules = vs, vs.Rules()
						return t.refuse(vs, nil)
					}
				}
			}
			s.ConsentedOn = t.today
		}
	case ActApprove:
		// The org dept's decision is written down, whatever it decides.
		if strings.TrimSpace(in.Opinion) == "" {
			return fieldErr("opinion", "transition.error.opinion_required")
		}
		p, err := t.policy()
		if err != nil {
			return err
		}
		if s.State == StateTransferPending {
			return t.transferIn(p, true)
		}
		s.ApprovedOn = t.today
		// The sign-off judges by the policy in force today: a stricter
		// version reaches the requests still in the chain (S1's ban of
		// April 2024 refuses a request submitted before it).
		now, err := t.in.Jurisdiction.PolicyOn(t.today)
		if err != nil {
			return err
		}
		return t.judge(now, true)
	case ActWithdraw:
		if t.a.Role == RoleSystem {
			// Only a renewal, once the term it continues is returned
			// (the caller's judgement): nothing is left to renew.
			if s.PreviousID == 0 {
				return Errorf(EForbidden, Msg("transition.error.system_withdraw"), ErrForbidden)
			}
			t.event = Msg("event.renewal_withdrawn", s.msgData()...)
			t.notice = &Message{ID: "notify.renewal_withdrawn", Data: t.event.Data}
			break
		}
		if s.State == StateAwaitingSignoff { // the lender takes back its consent
			s.ConsentedOn = Date{}
		}
		if s.State == StateApproved && t.a.Role == RoleOrgDept {
			s.ApprovedOn, s.ExceptionRules, s.ExceptionApprover = Date{}, nil, ""
		}
	case ActStart:
		switch {
		case t.a.Role == RoleSystem && s.PreviousID == 0:
			return Errorf(EForbidden, Msg("transition.error.system_start"), ErrForbidden)
		case t.today.Before(s.Start):
			return Errorf(EInvalid, Msg("transition.error.before_start", "Start", s.Start.String()), nil)
		case t.today.After(s.End):
			return Errorf(EInvalid, Msg("transition.error.after_end", "End", s.End.String()), nil)
		}
		s.StartedOn = t.today
	case ActFile:
		filed := &s.FiledByBorrower
		if t.a.Role == RoleLender {
			filed = &s.FiledByLender
		}
		if !filed.IsZero() {
			return Errorf(EConflict, Msg("transition.error.already_filed"), nil)
		}
		*filed = t.today
	case ActRecordReturn:
		on := in.ReturnedOn
		if on.IsZero() {
			on = t.today
		}
		if on.After(t.today) || (!s.StartedOn.IsZero() && on.Before(s.StartedOn)) {
			return fieldErr("returned_on", "transition.error.return_date")
		}
		if strings.TrimSpace(in.Handover) == "" {
			return fieldErr("handover", "transition.error.handover_required")
		}
		switch n := utf8.RuneCountInString(strings.TrimSpace(in.Evaluation)); {
		case n == 0:
			return fieldErr("evaluation", "transition.error.evaluation_required")
		case n > 1000:
			return fieldErr("evaluation", "transition.error.evaluation_long")
		}
		s.ReturnedOn, s.Handover, s.Evaluation = on, in.Handover, strings.TrimSpace(in.Evaluation)
	case ActConfirmReturn:
		s.ReturnConfirmedOn = t.today
	case ActExpire:
		if !t.today.After(s.End) {
			return Errorf(EInvalid, Msg("transition.error.not_due", "Date", s.End.AddDays(1).String()), nil)
		}
	case ActMarkOverdue:
		p, err := t.policy()
		if err != nil {
			return err
		}
		end := s.LastDay()
		if due := end.AddDays(p.ReturnGraceDays + 1); t.today.Before(due) {
			return Errorf(EInvalid, Msg("transition.error.not_due", "Date", due.String()), nil)
		}
		t.rules = []RuleID{R10}
		t.event = Msg("policy.r10.overdue", s.msgData("Ended", end.String(), "Days", end.DaysUntil(t.today))...)
	case ActSucceed:
		if in.RenewalID == 0 {
			return missing("renewal")
		}
		if !t.today.After(s.End) {
			return Errorf(EInvalid, Msg("transition.error.not_due", "Date", s.End.AddDays(1).String()), nil)
		}
		s.RenewalID = in.RenewalID
	case ActRecall:
		p, err := t.policy()
		if err != nil {
			return err
		}
		if p.CleanupHoldsMajor && s.Purpose == PurposeMajorProject && !t.today.After(s.End) {
			return t.refuse(Violations{{Rule: R11, Severity: SeverityBlock, Message: Msg("policy.r11.hold", s.msgData()...)}}, nil)
		}
		s.RecalledOn = t.today
	case ActTransfer:
		if !in.TransferMethod.Valid() {
			return fieldErr("transfer_method", "transition.error.transfer_method")
		}
		p, err := t.policy()
		if err != nil {
			return err
		}
		s.TransferMethod = in.TransferMethod
		if in.Transfer != nil {
			s.TransferLeadership = in.Transfer.Leadership // recorded with the application (R12's post quota)
		}
		return t.transferIn(p, false)
	}
	return nil
}

// judge evaluates the request at submission, resubmission and sign-off. Any
// block refuses it; an exception needs a justification from the borrowing
// unit and, at sign-off, the approver's written opinion, and is then
// recorded with the approver's name.
func (t *step) judge(p Policy, signoff bool) error {
	if t.in.Facts == nil {
		return missing("facts")
	}
	s := &t.s
	vs := Evaluate(p, *s, *t.in.Facts)
	if t.in.Action == ActResubmit && s.Start.Before(t.today) { // R8 again, as of today
		vs = append(Violations{{Rule: R8, Severity: SeverityBlock, Message: Msg("policy.r8.start_before_submission",
			s.msgData("Submitted", t.today.String())...)}}, slices.DeleteFunc(vs, func(v Violation) bool { return v.Rule == R8 })...)
	}
	t.vs, t.rules = vs, vs.Rules()
	var fe []FieldError
	// One person, one place: said beside the start date, with whatever
	// the rules say too.
	if o, ok := Overlapping(*s, t.in.Facts.History); ok {
		fe = append(fe, FieldError{Field: "start", Message: OverlapMessage(*s, o)})
	}
	if vs.NeedsException() {
		if strings.TrimSpace(s.Justification) == "" {
			fe = append(fe, FieldError{"justification", Msg("transition.error.justification_required")})
		}
		if signoff && strings.TrimSpace(t.in.Opinion) == "" {
			fe = append(fe, FieldError{"opinion", Msg("transition.error.exception_opinion")})
		}
	}
	if vs.Blocked() || len(fe) > 0 {
		return t.refuse(vs, fe)
	}
	if signoff && vs.NeedsException() {
		s.ExceptionRules = vs.rules(func(v Violation) bool { return v.Severity == SeverityException })
		s.ExceptionApprover = t.a.Name
		t.event = Msg("event.exception_granted", s.msgData("Approver", t.a.Name)...)
	}
	return nil
}

func (t *step) transferIn(p Policy, complete bool) error {
	if t.in.Transfer == nil {
		return missing("transfer")
	}
	vs := CheckTransferIn(p, t.s, *t.in.Transfer)
	t.rules = append(vs.Rules(), R12)
	if vs.Blocked() {
		return t.refuse(vs, nil)
	}
	if complete {
		t.home = t.s.BorrowerID
	}
	return nil
}

func (t *step) refuse(vs Violations, fe []FieldError) error {
	if p, err := t.policy(); err == nil {
		vs = p.Cite(vs)
	} else {
		vs = Policy{}.Cite(vs) // the catalog's sources
	}
	return &Error{Code: EInvalid, Message: Msg("transition.error.policy"), Fields: fe, Violations: vs, Err: ErrPolicyViolation}
}

// policy is the version the request was judged by at submission. The
// sign-off judges again by the version in force that day (ActApprove).
func (t *step) policy() (Policy, error) {
	if t.in.Jurisdiction == nil {
		return Policy{}, missing("jurisdiction")
	}
	for _, p := range t.in.Jurisdiction.Policies {
		if p.Version == t.s.PolicyVersion {
			return p, nil
		}
	}
	return Policy{}, Errorf(EInternal, Msg("policy.error.none_in_force", "Date", t.s.SubmittedOn.String()),
		fmt.Errorf("policy version %d not in jurisdiction %d", t.s.PolicyVersion, t.in.Jurisdiction.Root.ID))
}

func (t *step) result() Result {
	s := t.s
	from := s.State
	s.State = t.row.To
	d := Decision{Step: from, Action: t.in.Action, Role: t.a.Role, ActorID: t.a.UserID, ActorName: t.a.Name,
		OnBehalfOf: t.a.ForName, ForID: t.a.ForID, Opinion: t.in.Opinion, At: t.now}
	if t.a.Role != RoleSystem {
		s.Decisions = append(slices.Clip(s.Decisions), d)
	}
	ev := t.event
	if ev.ID == "" {
		ev = Msg("event."+string(t.in.Action), s.msgData("Actor", t.a.Name)...)
	}
	r := Result{Secondment: s, Violations: t.vs, NewHomeUnit: t.home,
		Event: Event{SecondmentID: s.ID, From: from, To: s.State, Decision: d, Rules: t.rules, Message: ev}}
	if t.notice != nil {
		// Those who have seen the request: the borrowing unit always, the
		// lending unit once it was submitted, the org dept once it held it
		// (or decided on it, say by sending it back).
		roles := []Role{RoleBorrower}
		if from != StateDraft {
			roles = append(roles, RoleLender)
		}
		if from == StateAwaitingSignoff || from == StateApproved ||
			slices.ContainsFunc(s.Decisions, func(d Decision) bool { return d.Role == RoleOrgDept }) {
			roles = append(roles, RoleOrgDept)
		}
		for _, role := range roles {
			r.Notifications = append(r.Notifications, Notification{Role: role, UnitID: s.unitOf(role), Message: *t.notice})
		}
		return r
	}
	if from == s.State || from == StateDraft && s.State == StateWithdrawn {
		return r // nothing anyone else needs to hear
	}
	for _, role := range notify[s.State] {
		if role == t.a.Role {
			continue
		}
		r.Notifications = append(r.Notifications, Notification{Role: role, UnitID: s.unitOf(role),
			Message: Msg("notify."+string(s.State), s.msgData("Actor", t.a.Name)...)})
	}
	return r
}

// unitOf is the unit whose holders of role hear about s.
func (s Secondment) unitOf(r Role) int64 {
	switch r {
	case RoleBorrower:
		return s.BorrowerID
	case RoleLender:
		return s.LenderID
	}
	return s.OrgDeptID
}

func pick(rows []Row, when string) Row {
	for _, r := range rows {
		if r.When == when {
			return r
		}
	}
	return rows[0]
}

func fieldErr(field, id string) error {
	return &Error{Code: EInvalid, Message: Msg("error.invalid"), Fields: []FieldError{{field, Msg(id)}}}
}

// missing reports a caller that did not pass what the action needs: a bug,
// not a user error.
func missing(what string) error {
	return Errorf(EInternal, Msg("error.internal"), fmt.Errorf("transition input: %s missing", what))
}
