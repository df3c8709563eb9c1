package secondment

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// StockStatus is where a secondment that began before the service stands,
// as the record (or the clerk) says: the state follows from it and the day.
type StockStatus string

const (
	StockRunning         StockStatus = "running"          // still away: active, or expired/overdue if the end has passed
	StockReturned        StockStatus = "returned"         // back at the home unit
	StockTransferPending StockStatus = "transfer_pending" // being transferred in (调入 in progress)
	StockTransferred     StockStatus = "transferred"      // transferred in: the borrowing unit is now home
)

var AllStockStatuses = []StockStatus{StockRunning, StockReturned, StockTransferPending, StockTransferred}

func (s StockStatus) Valid() bool      { return slices.Contains(AllStockStatuses, s) }
func (s StockStatus) Message() Message { return Msg("stock.status." + string(s)) }

// Registration is an existing secondment as it is entered (登记存量): the
// request's fields plus what happened before the service knew of it. No
// step of the chain is invented for it; the approval document the record
// shows, if any, stands in for the sign-off.
type Registration struct {
	Secondment              // Kind, Alias, Purpose, Task, PersonID, BorrowerID, LenderID, Start, End
	Status      StockStatus //
	ReturnedOn  Date        // StockReturned: the day the person was back
	ApprovalRef string      // 审批文号; "" when no approval is on record
	ApprovedOn  Date        // the approval's date, if the record gives it
}

// Validate checks the registration's own fields as of day today, every
// problem at once: what the rules judge comes after.
func (r Registration) Validate(today Date) error {
	var fe []FieldError
	if err := r.Secondment.Validate(); err != nil {
		if e, ok := err.(*Error); ok {
			fe = append(fe, e.Fields...)
		}
	}
	has := func(f string) bool { return slices.ContainsFunc(fe, func(x FieldError) bool { return x.Field == f }) }
	if !r.Status.Valid() {
		fe = append(fe, FieldError{"status", Msg("stock.error.status")})
	}
	if !r.Start.IsZero() && r.Start.After(today) && !has("start") {
		// Something that has not begun is a request, not stock.
		fe = append(fe, FieldError{"start", Msg("stock.error.future", "Today", today.String())})
	}
	switch r.Status {
	case StockReturned:
		switch {
		case r.ReturnedOn.IsZero():
			fe = append(fe, FieldError{"returned_on", Msg("error.required")})
		case r.ReturnedOn.Before(r.Start) || r.ReturnedOn.After(today):
			fe = append(fe, FieldError{"returned_on", Msg("stock.error.returned_on", "Start", r.Start.String(), "Today", today.String())})
		}
	case StockTransferPending, StockTransferred:
		if !r.TransferMethod.Valid() {
			fe = append(fe, FieldError{"transfer_method", Msg("stock.error.transfer_method")})
		}
	}
	if r.Status != StockReturned && !r.ReturnedOn.IsZero() {
		fe = append(fe, FieldError{"returned_on", Msg("stock.error.returned_only")})
	}
	if utf8.RuneCountInString(r.ApprovalRef) > 100 {
		fe = append(fe, FieldError{"approval_ref", Msg("error.length", "Min", 0, "Max", 100)})
	}
	if !r.ApprovedOn.IsZero() && strings.TrimSpace(r.ApprovalRef) == "" {
		fe = append(fe, FieldError{"approval_ref", Msg("stock.error.approved_without_ref")})
	}
	if !r.ApprovedOn.IsZero() && r.ApprovedOn.After(today) {
		fe = append(fe, FieldError{"approved_on", Msg("stock.error.future", "Today", today.String())})
	}
	if len(fe) > 0 {
		return &Error{Code: EInvalid, Message: Msg("error.invalid"), Fields: fe}
	}
	return nil
}

// Registered is how a registration is recorded: the secondment in the
// state the status and the day give it, and the rules it breaks.
type Registered struct {
	Secondment Secondment
	// Findings are every violation the rules in force find, warnings
	// included; Irregular are the rules that put it in the ledger.
	Findings  Violations
	Irregular []RuleID
}

// Register judges an existing secondment by policy p, the one in force on
// day today, as a request would be judged on that day, and places it:
//
//   - no approval on record, or one dated after the start, breaks R8;
//   - what would block a request (R1–R5, R7) or need an exception nobody
//     is on record as granting (R4) makes it irregular;
//   - a running one past its end is expired, or overdue (R10) after the
//     grace period, as the sweep would have made it.
//
// Warnings (R9's other names, R14's load) are findings, not irregularities.
func Register(p Policy, r Registration, f Facts, today Date) (Registered, error) {
	if err := r.Validate(today); err != nil {
		return Registered{}, err
	}
	s := r.Secondment
	s.ID, s.SubmittedOn, s.Decisions = 0, Date{}, nil
	s.StartedOn = r.Start
	s.ApprovedOn = r.ApprovedOn
	var out Registered
	approved := strings.TrimSpace(r.ApprovalRef) != ""
	if !s.Kind.Exempt() || !approved {
		// A formal rotation (R9) is exempt only with the programme's
		// document; without one it is judged as the secondment it is.
		judged := s
		if !approved {
			judged.Kind = KindSecondment
			judged.Alias = AliasNone
			if s.Kind == KindSecondment {
				judged.Alias = s.Alias
			}
		}
		out.Findings = Evaluate(p, judged, f)
	}
	switch {
	case !approved:
		out.Findings = append(out.Findings, Violation{Rule: R8, Severity: SeverityBlock, Message: Msg("stock.r8.no_approval", s.msgData()...)})
	case !r.ApprovedOn.IsZero() && r.ApprovedOn.After(r.Start):
		out.Findings = append(out.Findings, Violation{Rule: R8, Severity: SeverityBlock,
			Message: Msg("stock.r8.approved_late", s.msgData("Approved", r.ApprovedOn.String())...)})
	}
	switch r.Status {
	case StockRunning:
		s.State = StateActive
		if today.After(s.End) {
			s.State = StateExpired
			if today.After(s.End.AddDays(p.ReturnGraceDays)) {
				s.State = StateOverdue
			}
		}
	case StockReturned:
		s.State, s.ReturnedOn, s.ReturnConfirmedOn = StateReturned, r.ReturnedOn, r.ReturnedOn
	case StockTransferPending:
		s.State = StateTransferPending
	case StockTransferred:
		s.State = StateTransferred
	}
	out.Findings = append(out.Findings, Audit(p, s, today)...)
	slices.SortStableFunc(out.Findings, func(a, b Violation) int { return a.Rule.num() - b.Rule.num() })
	out.Findings = p.Cite(out.Findings)
	for _, v := range out.Findings {
		if v.Severity == SeverityWarning || (v.Severity == SeverityException && approved) {
			continue // an approval on record stands for the exception's grant
		}
		if !slices.Contains(out.Irregular, v.Rule) {
			out.Irregular = append(out.Irregular, v.Rule)
		}
	}
	out.Secondment = s
	return out, nil
}
