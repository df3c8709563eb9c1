package secondment

import "testing"

// A member's outcome is the secondment's where it shows one; the org
// dept's decision holds only a running term, never past its end.
func TestCampaignDecide(t *testing.T) {
	today := D(2024, 6, 1)
	running := Secondment{State: StateActive, Start: D(2024, 3, 1), End: D(2024, 8, 31)}
	d, err := Decide(MemberDecision{Outcome: OutcomeHeld, Reason: "重点项目"}, running, today)
	if err != nil || d.Until != running.End {
		t.Errorf("held without a day: %+v %v, want until the term's end", d, err)
	}
	for name, c := range map[string]struct {
		d     MemberDecision
		s     Secondment
		field string
		code  ErrorCode
	}{
		"past the term":  {MemberDecision{Outcome: OutcomeHeld, Reason: "x", Until: D(2024, 9, 1)}, running, "until", EInvalid},
		"before today":   {MemberDecision{Outcome: OutcomeHeld, Reason: "x", Until: D(2024, 5, 31)}, running, "until", EInvalid},
		"no reason":      {MemberDecision{Outcome: OutcomeExempt}, running, "reason", EInvalid},
		"returned":       {MemberDecision{Outcome: OutcomeHeld, Reason: "x"}, Secondment{State: StateReturned, End: D(2024, 8, 31)}, "", EConflict},
		"transfer":       {MemberDecision{Outcome: OutcomeHeld, Reason: "x"}, Secondment{State: StateTransferPending, End: D(2024, 8, 31)}, "", EConflict},
		"overdue, held":  {MemberDecision{Outcome: OutcomeHeld, Reason: "x"}, Secondment{State: StateOverdue, End: D(2024, 4, 30)}, "outcome", EInvalid},
		"not an outcome": {MemberDecision{Outcome: OutcomeReturned}, running, "outcome", EInvalid},
	} {
		_, err := Decide(c.d, c.s, today)
		if ErrorCodeOf(err) != c.code {
			t.Errorf("%s: %v, want %s", name, err, c.code)
			continue
		}
		if c.field != "" && err.(*Error).Fields[0].Field != c.field {
			t.Errorf("%s: on %s, want %s", name, err.(*Error).Fields[0].Field, c.field)
		}
	}
	if d, err := Decide(MemberDecision{Outcome: OutcomePending, Reason: "x", Until: D(2024, 7, 1)}, running, today); err != nil ||
		d.Reason != "" || !d.Until.IsZero() {
		t.Errorf("pending keeps no reason or day: %+v %v", d, err)
	}
	var c CampaignCounts
	for st, o := range map[State]CampaignOutcome{StateReturned: OutcomeHeld, StateReturnRecorded: OutcomePending,
		StateTransferred: OutcomeExempt, StateActive: OutcomeHeld, StateExpired: OutcomeExempt, StateOverdue: OutcomePending} {
		c.Add(MemberOutcome(st, o), 1)
	}
	if c.Found != 6 || c.Returned != 2 || c.Transfer != 1 || c.Held != 1 || c.Exempt != 1 || c.Pending != 1 || c.Remaining() != 3 {
		t.Errorf("counts %+v", c)
	}
}
