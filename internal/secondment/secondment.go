package secondment

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind separates secondments from formal rotations, which R9 exempts.
type Kind string

const (
	KindSecondment Kind = "secondment" // 借调, whatever it is called locally (see Alias)
	KindExchange   Kind = "exchange"   // 交流锻炼
	KindAttachment Kind = "attachment" // 挂职
)

var AllKinds = []Kind{KindSecondment, KindExchange, KindAttachment}

func (k Kind) Valid() bool      { return slices.Contains(AllKinds, k) }
func (k Kind) Message() Message { return Msg("kind." + string(k)) }

// Exempt reports whether R1–R7 do not apply (R9).
func (k Kind) Exempt() bool { return k == KindExchange || k == KindAttachment }

// Formal reports whether s is a formal exchange or attachment (正式交流锻炼,
// R9): of an exempt kind and arranged by a programme on record. Only then
// is it outside R1–R7; without one it is judged as the secondment it is.
func (s Secondment) Formal() bool { return s.Kind.Exempt() && strings.TrimSpace(s.Programme) != "" }

// Alias is the local name a secondment goes by. It is kept for the record but
// changes nothing: these are secondments under another name.
type Alias string

const (
	AliasNone       Alias = ""
	AliasBorrowing  Alias = "borrowing"  // 借用
	AliasAssignment Alias = "assignment" // 抽调
	AliasShadowing  Alias = "shadowing"  // 跟班学习
)

var AllAliases = []Alias{AliasNone, AliasBorrowing, AliasAssignment, AliasShadowing}

func (a Alias) Valid() bool { return slices.Contains(AllAliases, a) }
func (a Alias) Message() Message {
	if a == AliasNone {
		return Msg("alias.none")
	}
	return Msg("alias." + string(a))
}

// Purpose is why the borrowing unit needs the person (R1).
type Purpose string

const (
	PurposeKeyTask        Purpose = "key_task"        // 重点任务
	PurposeSpecialProject Purpose = "special_project" // 专项工作
	PurposeMajorProject   Purpose = "major_project"   // 重大工程、重点项目 (also R11)
	PurposeRoutine        Purpose = "routine"         // 日常工作: refused wherever R1 is on
	PurposeOther          Purpose = "other"
)

var AllPurposes = []Purpose{PurposeKeyTask, PurposeSpecialProject, PurposeMajorProject, PurposeRoutine, PurposeOther}

func (p Purpose) Valid() bool      { return slices.Contains(AllPurposes, p) }
func (p Purpose) Message() Message { return Msg("purpose." + string(p)) }

// TransferMethod is how a secondee may be transferred in (R12).
type TransferMethod string

const (
	TransferPublicSelection TransferMethod = "public_selection" // 公开遴选
	TransferOfPost          TransferMethod = "transfer_of_post" // 转任
)

var AllTransferMethods = []TransferMethod{TransferPublicSelection, TransferOfPost}

func (m TransferMethod) Valid() bool      { return slices.Contains(AllTransferMethods, m) }
func (m TransferMethod) Message() Message { return Msg("transfer.method." + string(m)) }

// Secondment is one term of one person at a borrowing unit. A renewal is a
// new Secondment whose PreviousID is the term it continues (R6).
type Secondment struct {
	ID            int64
	State         State
	Kind          Kind
	Alias         Alias
	Purpose       Purpose
	Task          string // the task the person is needed for
	PersonID      int64
	BorrowerID    int64 // borrowing unit
	LenderID      int64 // lending unit, the person's home unit
	Start, End    Date  // requested term, both days included
	PreviousID    int64 // the term this one renews; 0 for a first term
	Justification string
	// Programme is the org dept's programme or document that arranged a
	// formal exchange or attachment (R9): only with one is it exempt.
	Programme string
	// SalaryWith is who pays the salary (工资关系): the lending unit keeps
	// salary, benefits and the employment relationship unless recorded
	// otherwise.
	SalaryWith SalaryWith
	// SelfOpinion is the secondee's own opinion (本人意见), asked first,
	// as the borrowing unit records it with the nomination.
	SelfOpinion string
	// KeyPost: the post the person is borrowed for is a key or classified
	// post (关键岗位、涉密岗位), as the borrowing unit declares it (R16).
	KeyPost bool
	// Evaluation is the borrowing unit's evaluation of the secondee's
	// work (期满鉴定), recorded with the return, for the lending unit's
	// personnel file and annual assessment.
	Evaluation string

	// Names for messages; the store fills them, the rules never read them.
	PersonName, BorrowerName, LenderName string

	// Set at submission and never changed afterwards: the request number
	// (借调〔2024〕0001), the jurisdiction, its approving org dept and the
	// policy version the request is judged by.
	Number         string
	JurisdictionID int64
	OrgDeptID      int64
	PolicyVersion  int
	SubmittedOn    Date
	SubmittedBy    int64 // user who submitted; may not decide any step

	ConsentedOn       Date
	ApprovedOn        Date
	ExceptionRules    []RuleID // exceptions the approver granted
	ExceptionApprover string   // and who granted them
	StartedOn         Date
	FiledByBorrower   Date // R13 dual filing
	FiledByLender     Date
	RecalledOn        Date // clean-up ordered the return early
	ReturnedOn        Date
	Handover          string
	ReturnConfirmedOn Date
	RenewalID         int64 // the approved renewal that took over
	TransferMethod    TransferMethod
	// TransferLeadership: the transfer-in applied for fills a leadership
	// post, so R12 weighs the post quota too.
	TransferLeadership bool
	// ChangedSinceSentBack: edited after a send-back, so a resubmission
	// asks the lending unit again.
	ChangedSinceSentBack bool
	// RegisteredOn: the secondment began before the service and was
	// registered (登记存量) on that day, with the approval document the
	// record shows ("" when none); it has no steps of the chain before it.
	RegisteredOn Date
	ApprovalRef  string

	Decisions []Decision
}

// Decision is one step taken on a request, as the approval form prints it.
type Decision struct {
	Step       State // the state the step was taken in
	Action     Action
	Role       Role
	ActorID    int64
	ActorName  string
	OnBehalfOf string // the colleague a proxy acted for, "" when none
	ForID      int64  // and their user ID, 0 when none
	Opinion    string
	At         time.Time
}

// DecidedAsOther reports whether user id decided a step of s in a role
// other than role, in person or as someone's proxy, or was the colleague
// a proxy decided it for (issue #13): one person never takes decisions on
// one request in two capacities. Deciding the same step again after a
// resubmission (same role) is no second capacity.
func (s Secondment) DecidedAsOther(id int64, role Role) bool {
	if id == 0 {
		return false
	}
	for _, d := range s.Decisions {
		if d.Action.Deciding() && d.Role != role && (d.ActorID == id || d.ForID == id) {
			return true
		}
	}
	return false
}

// FiledBy reports whether user id filed s: submitted or resubmitted it,
// in person or as someone's proxy, or was the colleague a proxy filed it
// for. Such a user decides no step of it.
func (s Secondment) FiledBy(id int64) bool {
	if id == 0 {
		return false
	}
	if s.SubmittedBy == id {
		return true
	}
	for _, d := range s.Decisions {
		if (d.Action == ActSubmit || d.Action == ActResubmit) && (d.ActorID == id || d.ForID == id) {
			return true
		}
	}
	return false
}

// LastDay is the day the term ends in fact: the approved end, or an earlier
// recall or return.
func (s Secondment) LastDay() Date {
	end := s.End
	for _, d := range []Date{s.RecalledOn, s.ReturnedOn} {
		if !d.IsZero() && d.Before(end) {
			end = d
		}
	}
	return end
}

// Validate checks what the borrowing unit fills in, before any rule.
func (s Secondment) Validate() error {
	var fe []FieldError
	if !s.Kind.Valid() {
		fe = append(fe, FieldError{"kind", Msg("secondment.error.kind")})
	}
	if !s.Alias.Valid() || (s.Alias != AliasNone && s.Kind != KindSecondment) {
		fe = append(fe, FieldError{"alias", Msg("secondment.error.alias")})
	}
	if !s.Purpose.Valid() {
		fe = append(fe, FieldError{"purpose", Msg("secondment.error.purpose")})
	}
	if n := utf8.RuneCountInString(s.Task); n == 0 || n > 500 {
		fe = append(fe, FieldError{"task", Msg("error.length", "Min", 1, "Max", 500)})
	}
	if s.PersonID <= 0 {
		fe = append(fe, FieldError{"person", Msg("error.required")})
	}
	if s.BorrowerID <= 0 {
		fe = append(fe, FieldError{"borrower", Msg("error.required")})
	}
	if s.LenderID <= 0 || s.LenderID == s.BorrowerID {
		fe = append(fe, FieldError{"lender", Msg("secondment.error.lender")})
	}
	switch {
	case s.Start.IsZero():
		fe = append(fe, FieldError{"start", Msg("error.required")})
	case s.End.IsZero():
		fe = append(fe, FieldError{"end", Msg("error.required")})
	case s.End.Before(s.Start):
		fe = append(fe, FieldError{"end", Msg("secondment.error.end_before_start")})
	}
	if utf8.RuneCountInString(s.Justification) > 2000 {
		fe = append(fe, FieldError{"justification", Msg("error.length", "Min", 0, "Max", 2000)})
	}
	if utf8.RuneCountInString(s.Programme) > 100 {
		fe = append(fe, FieldError{"programme", Msg("error.length", "Min", 0, "Max", 100)})
	}
	if !s.SalaryWith.Valid() {
		fe = append(fe, FieldError{"salary_with", Msg("secondment.error.salary_with")})
	}
	if utf8.RuneCountInString(s.SelfOpinion) > 200 {
		fe = append(fe, FieldError{"self_opinion", Msg("error.length", "Min", 0, "Max", 200)})
	}
	if len(fe) > 0 {
		return &Error{Code: EInvalid, Message: Msg("error.invalid"), Fields: fe}
	}
	return nil
}

// msgData is the template data every message about s may use.
func (s Secondment) msgData(kv ...any) []any {
	return append([]any{"Person", s.PersonName, "Borrower", s.BorrowerName, "Lender", s.LenderName,
		"Start", s.Start.String(), "End", s.End.String()}, kv...)
}

// SalaryWith is who pays a secondee's salary (工资关系).
type SalaryWith string

const (
	// SalaryLender: salary, benefits and the employment relationship stay
	// with the lending unit, the usual arrangement and the default.
	SalaryLender   SalaryWith = "lender"
	SalaryBorrower SalaryWith = "borrower" // the borrowing unit pays
)

// Valid reports whether w is recorded ("" is read as the lending unit).
func (w SalaryWith) Valid() bool { return w == "" || w == SalaryLender || w == SalaryBorrower }

// Or is w, the lending unit when not recorded.
func (w SalaryWith) Or() SalaryWith {
	if w == "" {
		return SalaryLender
	}
	return w
}

// Message says the arrangement.
func (w SalaryWith) Message() Message { return Msg("salary." + string(w.Or())) }
