package secondment

import (
	"strings"
	"unicode/utf8"
)

// A clean-up campaign (清理整治, S6): an org dept takes the secondments a
// filter of its ledger finds and follows each secondee to an outcome. The
// outcome of a member is a fact where the secondment shows one (back home,
// transferred in) and the org dept's decision otherwise: held to term end
// under R11, or exempt with a reason. Clean-up is not one-size-fits-all.

// CampaignOutcome is where a secondee found by a campaign stands.
type CampaignOutcome string

const (
	OutcomePending  CampaignOutcome = "pending"  // still away, nothing decided
	OutcomeReturned CampaignOutcome = "returned" // back at the home unit
	OutcomeTransfer CampaignOutcome = "transfer" // transfer-in under way or done (R12)
	OutcomeHeld     CampaignOutcome = "held"     // back at term end, after the handover (R11)
	OutcomeExempt   CampaignOutcome = "exempt"   // exempt, for a reason on record
)

// CampaignOutcomes are the outcomes in the order a report lists them.
var CampaignOutcomes = []CampaignOutcome{OutcomeReturned, OutcomeTransfer, OutcomeHeld, OutcomeExempt, OutcomePending}

// Valid reports whether o is an outcome.
func (o CampaignOutcome) Valid() bool {
	for _, x := range CampaignOutcomes {
		if x == o {
			return true
		}
	}
	return false
}

// Decidable reports whether the org dept records o itself; the others
// come from the secondment.
func (o CampaignOutcome) Decidable() bool {
	return o == OutcomeHeld || o == OutcomeExempt || o == OutcomePending
}

// Message is o's name in the catalog.
func (o CampaignOutcome) Message() Message { return Msg("campaign.outcome." + string(o)) }

// MemberOutcome is the outcome of a member whose secondment is in state
// st and on whom the org dept decided decided: the state speaks first.
func MemberOutcome(st State, decided CampaignOutcome) CampaignOutcome {
	switch st {
	case StateReturned, StateReturnRecorded:
		return OutcomeReturned
	case StateTransferPending, StateTransferred:
		return OutcomeTransfer
	}
	if decided == OutcomeHeld || decided == OutcomeExempt {
		return decided
	}
	return OutcomePending
}

// CampaignCounts are a campaign's figures: found, and how many of them
// stand at each outcome. Remaining are those not back and not moving in.
type CampaignCounts struct {
	Found                                     int
	Returned, Transfer, Held, Exempt, Pending int
}

// Remaining are the members still away from their home unit and not being
// transferred in: held, exempt and pending.
func (c CampaignCounts) Remaining() int { return c.Held + c.Exempt + c.Pending }

// at is the count of outcome o (pending for anything else).
func (c *CampaignCounts) at(o CampaignOutcome) *int {
	switch o {
	case OutcomeReturned:
		return &c.Returned
	case OutcomeTransfer:
		return &c.Transfer
	case OutcomeHeld:
		return &c.Held
	case OutcomeExempt:
		return &c.Exempt
	}
	return &c.Pending
}

// Of is how many members stand at outcome o.
func (c CampaignCounts) Of(o CampaignOutcome) int { return *c.at(o) }

// Add counts n members at outcome o.
func (c *CampaignCounts) Add(o CampaignOutcome, n int) {
	c.Found += n
	*c.at(o) += n
}

// Percent is n of the found in basis points (for progress bars).
func (c CampaignCounts) Percent(n int) int {
	if c.Found == 0 {
		return 0
	}
	return n * 10000 / c.Found
}

// Campaign is a clean-up campaign.
type Campaign struct {
	ID        int64
	OrgDeptID int64
	Name      string
	Basis     string // the document it follows, e.g. 喀地组通〔2024〕1号
	Filter    string // the ledger's query string it was opened over
	OpenedOn  Date
	ClosedOn  Date
	Version   int
}

// Limits of a campaign's texts, in characters.
const (
	campaignNameMax   = 100
	campaignBasisMax  = 200
	campaignReasonMax = 500
)

// NewCampaign checks a campaign the org dept opens on day today.
func NewCampaign(name, basis, filter string, today Date) (Campaign, error) {
	c := Campaign{Name: strings.TrimSpace(name), Basis: strings.TrimSpace(basis), Filter: filter, OpenedOn: today}
	var fe []FieldError
	switch n := utf8.RuneCountInString(c.Name); {
	case n == 0:
		fe = append(fe, FieldError{Field: "name", Message: Msg("error.required")})
	case n > campaignNameMax:
		fe = append(fe, FieldError{Field: "name", Message: Msg("error.too_long", "Max", campaignNameMax)})
	}
	if utf8.RuneCountInString(c.Basis) > campaignBasisMax {
		fe = append(fe, FieldError{Field: "basis", Message: Msg("error.too_long", "Max", campaignBasisMax)})
	}
	if len(fe) > 0 {
		return Campaign{}, &Error{Code: EInvalid, Message: Msg("error.invalid"), Fields: fe}
	}
	return c, nil
}

// MemberDecision is the org dept's decision on one member: held to term
// end (R11: until the day the term ends, at the latest; the reason, e.g. a
// major project or a handover, required), exempt (the reason required),
// or pending (undone).
type MemberDecision struct {
	Outcome CampaignOutcome
	Reason  string
	Until   Date // held only
}

// Decide checks decision d on a member whose secondment is s, as of
// today. A member already back or moving in has its outcome from the
// secondment, and nothing to decide.
func Decide(d MemberDecision, s Secondment, today Date) (MemberDecision, error) {
	if o := MemberOutcome(s.State, OutcomePending); o == OutcomeReturned || o == OutcomeTransfer {
		return d, Errorf(EConflict, Msg("campaign.error.settled"), nil)
	}
	var fe []FieldError
	bad := func(field, id string, kv ...any) { fe = append(fe, FieldError{Field: field, Message: Msg(id, kv...)}) }
	d.Reason = strings.TrimSpace(d.Reason)
	if !d.Outcome.Decidable() {
		bad("outcome", "campaign.error.outcome")
	}
	switch d.Outcome {
	case OutcomeHeld, OutcomeExempt:
		if d.Reason == "" {
			bad("reason", "error.required")
		} else if utf8.RuneCountInString(d.Reason) > campaignReasonMax {
			bad("reason", "error.too_long", "Max", campaignReasonMax)
		}
	case OutcomePending:
		d.Reason, d.Until = "", Date{}
	}
	if d.Outcome == OutcomeHeld {
		if d.Until.IsZero() {
			d.Until = s.End // R11: back when the term ends
		}
		switch {
		case (s.State != StateActive && s.State != StateApproved) || s.End.Before(today):
			// Held to term end is for a term still running: one past its
			// end is overdue (R10) and goes back, not on.
			bad("outcome", "campaign.error.held_ended", "End", s.End.String())
		case d.Until.Before(today):
			bad("until", "campaign.error.until_past")
		case s.End.Before(d.Until):
			// Holding past the term would be a renewal, which runs the
			// whole procedure (R6).
			bad("until", "campaign.error.until_term", "End", s.End.String())
		}
	} else {
		d.Until = Date{}
	}
	if len(fe) > 0 {
		return d, &Error{Code: EInvalid, Message: Msg("error.invalid"), Fields: fe}
	}
	return d, nil
}

// CampaignView is a campaign with its counts.
type CampaignView struct {
	Campaign
	Counts CampaignCounts
}

// CampaignLine is one secondee a campaign found, as its list shows them.
type CampaignLine struct {
	SecondmentID             int64
	Number, PersonName       string
	BorrowerName, LenderName string
	State                    State
	Start, End               Date
	Outcome                  CampaignOutcome
	Decision                 MemberDecision // the org dept's, when any
	DecidedBy                string
	Version                  int
}
