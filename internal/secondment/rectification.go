package secondment

import (
	"strings"
	"time"
	"unicode/utf8"
)

// RectStatus is where an irregular ledger entry's rectification (整改)
// stands. The responsible unit reports the outcome; only the org dept
// closes (销号) an entry, and only once an outcome is reported.
type RectStatus string

const (
	RectRectifying      RectStatus = "rectifying"       // 整改中
	RectReturned        RectStatus = "returned"         // 已清退: sent back
	RectTransferPending RectStatus = "transfer_pending" // 调入办理中
	RectTransferred     RectStatus = "transferred"      // 已调入
	RectTermEnd         RectStatus = "term_end"         // 期满退回: held to term end (R11), then back
	RectClosed          RectStatus = "closed"           // 已销号
)

// RectStatuses are the statuses in the order a rectification goes.
var RectStatuses = []RectStatus{RectRectifying, RectReturned, RectTransferPending, RectTransferred, RectTermEnd, RectClosed}

// Valid reports whether st is a status.
func (st RectStatus) Valid() bool {
	for _, s := range RectStatuses {
		if s == st {
			return true
		}
	}
	return false
}

// Reportable reports whether a responsible unit may report st: every
// status but closing, which is the org dept's.
func (st RectStatus) Reportable() bool { return st.Valid() && st != RectClosed }

// Outcome reports whether st says how the case ended, so that the org dept
// may close the entry on it.
func (st RectStatus) Outcome() bool {
	return st == RectReturned || st == RectTransferred || st == RectTermEnd
}

// Message is st's name in the catalog.
func (st RectStatus) Message() Message { return Msg("rect.status." + string(st)) }

// Rectification is an irregular ledger entry (违规台账): a broken rule of
// one secondment and what is done about it (S4: target task, measures,
// responsible unit and person, deadline).
type Rectification struct {
	ID                int64
	SecondmentID      int64
	Rule              RuleID
	Detail            string // the message ID that explains the rule broken, or the org dept's words
	Manual            bool   // opened by hand, not by the sweep or a registration
	OpenedOn          Date
	OrgDeptID         int64 // the org dept that supervises it: the secondment's
	TargetTask        string
	Measures          string
	ResponsibleUnitID int64
	ResponsiblePerson string
	Deadline          Date // zero: none set yet
	Status            RectStatus
	EscalatedOn       Date // flagged to EscalatedTo when the deadline passed
	EscalatedTo       int64
	ClosedOn          Date
	CloseOpinion      string
	Version           int
}

// PastDeadline reports whether the entry is still open after its deadline.
func (r Rectification) PastDeadline(today Date) bool {
	return r.Status != RectClosed && !r.Deadline.IsZero() && r.Deadline.Before(today)
}

// Limits of a rectification's texts, in characters.
const (
	rectTextMax   = 1000
	rectPersonMax = 50
	rectDetailMax = 500
)

// RectPlan is a change to a rectification's plan. Deadline and
// ResponsibleUnitID are the org dept's (Keeper); the responsible unit
// writes the rest.
type RectPlan struct {
	TargetTask, Measures, ResponsiblePerson string
	ResponsibleUnitID                       int64
	Deadline                                Date
	Keeper                                  bool
	Calendar                                Calendar // a deadline on a holiday moves to the next working day
}

// Plan applies p to r as of today: the parties' units (borrower, lender)
// are the ones a plan may make responsible. A closed entry is not changed.
func (r Rectification) Plan(p RectPlan, parties []int64, today Date) (Rectification, error) {
	if r.Status == RectClosed {
		return r, Errorf(EConflict, Msg("rect.error.closed"), nil)
	}
	var fe []FieldError
	bad := func(field, id string, kv ...any) { fe = append(fe, FieldError{Field: field, Message: Msg(id, kv...)}) }
	text := func(field, v string, max int) string {
		v = strings.TrimSpace(v)
		if utf8.RuneCountInString(v) > max {
			bad(field, "error.too_long", "Max", max)
		}
		return v
	}
	out := r
	out.TargetTask = text("target_task", p.TargetTask, rectTextMax)
	out.Measures = text("measures", p.Measures, rectTextMax)
	out.ResponsiblePerson = text("responsible_person", p.ResponsiblePerson, rectPersonMax)
	if p.Keeper {
		if p.ResponsibleUnitID != 0 {
			ok := false
			for _, id := range parties {
				ok = ok || id == p.ResponsibleUnitID
			}
			if !ok {
				bad("responsible_unit", "rect.error.responsible_unit")
			}
			out.ResponsibleUnitID = p.ResponsibleUnitID
		}
		if !p.Deadline.IsZero() {
			p.Deadline = p.Calendar.Deadline(p.Deadline) // 民法典 art. 203
		}
		if p.Deadline != r.Deadline {
			// A deadline may be kept as it is, but not set in the past.
			if !p.Deadline.IsZero() && p.Deadline.Before(today) {
				bad("deadline", "rect.error.deadline_past")
			}
			out.Deadline = p.Deadline
			if p.Deadline.IsZero() || !p.Deadline.Before(today) {
				// A new deadline is a new chance, and none is nothing
				// missed: the flag goes (the audit records it going).
				out.EscalatedOn, out.EscalatedTo = Date{}, 0
			}
		}
	}
	if len(fe) > 0 {
		return r, &Error{Code: EInvalid, Message: Msg("error.invalid"), Fields: fe}
	}
	return out, nil
}

// Report sets the status the responsible unit (or the org dept) reports.
func (r Rectification) Report(st RectStatus) (Rectification, error) {
	if r.Status == RectClosed {
		return r, Errorf(EConflict, Msg("rect.error.closed"), nil)
	}
	if !st.Reportable() {
		return r, &Error{Code: EInvalid, Message: Msg("error.invalid"),
			Fields: []FieldError{{Field: "status", Message: Msg("rect.error.status")}}}
	}
	r.Status = st
	return r, nil
}

// Close closes (销号) the entry on the org dept's opinion, once an outcome
// is reported.
func (r Rectification) Close(opinion string, today Date) (Rectification, error) {
	if r.Status == RectClosed {
		return r, Errorf(EConflict, Msg("rect.error.closed"), nil)
	}
	opinion = strings.TrimSpace(opinion)
	var fe []FieldError
	switch {
	case opinion == "":
		fe = append(fe, FieldError{Field: "opinion", Message: Msg("error.required")})
	case utf8.RuneCountInString(opinion) > rectTextMax:
		fe = append(fe, FieldError{Field: "opinion", Message: Msg("error.too_long", "Max", rectTextMax)})
	}
	if !r.Status.Outcome() {
		fe = append(fe, FieldError{Field: "status", Message: Msg("rect.error.no_outcome")})
	}
	if len(fe) > 0 {
		return r, &Error{Code: EInvalid, Message: Msg("error.invalid"), Fields: fe}
	}
	r.Status, r.ClosedOn, r.CloseOpinion = RectClosed, today, opinion
	return r, nil
}

// OpenRectification is an entry the org dept opens by hand on a secondment:
// a rule and its own words for what is wrong, and a deadline, moved past a
// holiday it falls on (cal).
func OpenRectification(rule RuleID, detail string, deadline Date, today Date, cal Calendar) (Rectification, error) {
	var fe []FieldError
	bad := func(field, id string, kv ...any) { fe = append(fe, FieldError{Field: field, Message: Msg(id, kv...)}) }
	if !rule.Valid() {
		bad("rule", "rect.error.rule")
	}
	detail = strings.TrimSpace(detail)
	switch {
	case detail == "":
		bad("detail", "error.required")
	case utf8.RuneCountInString(detail) > rectDetailMax:
		bad("detail", "error.too_long", "Max", rectDetailMax)
	}
	if !deadline.IsZero() && deadline.Before(today) {
		bad("deadline", "rect.error.deadline_past")
	}
	if !deadline.IsZero() {
		deadline = cal.Deadline(deadline) // on a holiday: the next working day (民法典 art. 203)
	}
	if len(fe) > 0 {
		return Rectification{}, &Error{Code: EInvalid, Message: Msg("error.invalid"), Fields: fe}
	}
	return Rectification{Rule: rule, Detail: detail, Manual: true, OpenedOn: today, Deadline: deadline, Status: RectRectifying}, nil
}

// RectificationSupervisor is the org dept a missed rectification deadline
// is escalated to: the one a region up from the entry's org dept, as for a
// sign-off left waiting. ok is false at the top.
func (h *Hierarchy) RectificationSupervisor(orgDeptID int64) (Unit, bool) {
	return h.Supervisor(Secondment{State: StateAwaitingSignoff, OrgDeptID: orgDeptID})
}

// RectLine is an entry as the irregular ledger lists it.
type RectLine struct {
	Rectification
	Number, PersonName, BorrowerName, LenderName, ResponsibleName string
	State                                                         State
	Evidence                                                      int // files attached
}

// RectView is an entry with what its page shows beside it: its
// secondment's summary, the units' names and its evidence.
type RectView struct {
	Rectification
	Number                         string
	State                          State
	PersonName                     string
	BorrowerID, LenderID           int64
	BorrowerName, LenderName       string
	Start, End                     Date
	ResponsibleName, EscalatedName string
	Evidence                       []Evidence
}

// Evidence is a file attached to an entry (整改佐证材料), without its
// content.
type Evidence struct {
	ID          int64
	EntryID     int64
	Name        string
	ContentType string
	Size        int
	UploadedBy  string
	UploadedAt  time.Time
}
