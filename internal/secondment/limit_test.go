package secondment

import "testing"

// TestBorrowerLimit: R15 caps the people a borrowing unit holds at once, by
// a share of its staffing quota, a number, or the smaller of both; a unit
// without a quota under a share-only limit needs an exception.
func TestBorrowerLimit(t *testing.T) {
	share := latest(PresetKashgar)
	share.BorrowerCapBP = 1000 // 10% of 县政府办's quota of 45: 4 people
	number := latest(PresetKashgar)
	number.BorrowerCapPeople = 2
	both := share
	both.BorrowerCapPeople = 6 // the share's 4 is smaller
	taskForce := countyGov
	taskForce.StaffingQuota = nil
	for _, tc := range []struct {
		name     string
		pol      Policy
		borrower Unit
		held     int // others held
		want     Severity
		cap      int
	}{
		{"share, room", share, countyGov, 3, "", 4},
		{"share, full", share, countyGov, 4, SeverityBlock, 4},
		{"number, room", number, countyGov, 1, "", 2},
		{"number, full", number, countyGov, 2, SeverityBlock, 2},
		{"both, smaller applies", both, countyGov, 4, SeverityBlock, 4},
		{"task force, share only", share, taskForce, 0, SeverityException, 0},
		{"task force, number too", func() Policy { p := share; p.BorrowerCapPeople = 3; return p }(), taskForce, 3, SeverityBlock, 3},
		{"no limit", latest(PresetKashgar), countyGov, 400, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := baseProbe()
			p.f.Borrower, p.f.BorrowerHeld = tc.borrower, tc.held
			var got Severity
			for _, v := range Evaluate(tc.pol, p.s, p.f) {
				if v.Rule == R15 {
					got = v.Severity
					if _, ok := v.Message.Data["Borrower"]; !ok {
						t.Errorf("message names no borrowing unit: %+v", v.Message)
					}
				}
			}
			if got != tc.want {
				t.Errorf("R15 %q, want %q", got, tc.want)
			}
			if h := HoldOf(tc.pol, tc.borrower, tc.held+1); h.Cap != tc.cap || h.Over() != (tc.want == SeverityBlock) {
				t.Errorf("hold %+v, want cap %d", h, tc.cap)
			}
		})
	}
	bad := share
	bad.BorrowerCapBP = 10_001
	if err := bad.Validate(); err == nil {
		t.Error("a share over 100% was accepted")
	}
}

// TestHeldDuring: R15 counts the most people held at once on a day of the
// term, not everyone held some time during it; a term away past its end is
// held until return; for a secondment held already, only the people taken
// before its person count, by their first term (a renewal keeps its
// person's place).
func TestHeldDuring(t *testing.T) {
	jan, mar, apr, jun := D(2024, 1, 1), D(2024, 3, 31), D(2024, 4, 1), D(2024, 6, 30)
	req := Secondment{ID: 100, PersonID: 9, State: StateAwaitingSignoff, Start: jan, End: jun}
	one := []HeldTerm{{ID: 1, PersonID: 1, Start: jan, End: mar}, {ID: 2, PersonID: 2, Start: apr, End: jun}}
	if n := HeldDuring(one, req); n != 1 {
		t.Errorf("one after the other: %d at once, want 1", n)
	}
	both := append(one, HeldTerm{ID: 3, PersonID: 3, Start: D(2023, 6, 1), End: D(2023, 12, 31), Open: true})
	if n := HeldDuring(both, req); n != 2 {
		t.Errorf("with one overdue since December: %d, want 2", n)
	}
	if n := HeldDuring(both, Secondment{ID: 101, PersonID: 9, Start: D(2024, 7, 1), End: D(2024, 9, 30)}); n != 1 {
		t.Errorf("after the others' terms, the overdue one still held: %d, want 1", n)
	}
	// Person 3 came in June 2023, person 1 in January (renewed from April),
	// person 2 in April: person 1's renewal keeps January's place, after
	// person 3 only; person 2 comes after both.
	renewed := []HeldTerm{{ID: 1, PersonID: 1, Start: jan, End: mar}, {ID: 5, PersonID: 1, Start: apr, End: jun},
		{ID: 2, PersonID: 2, Start: apr, End: jun}, {ID: 3, PersonID: 3, Start: D(2023, 6, 1), End: D(2024, 12, 31)}}
	held := Secondment{ID: 5, PersonID: 1, State: StateApproved, Start: apr, End: jun}
	if n := HeldDuring(renewed, held); n != 1 {
		t.Errorf("the renewal of the person taken second: %d before it, want 1", n)
	}
	last := Secondment{ID: 2, PersonID: 2, State: StateActive, Start: apr, End: jun}
	if n := HeldDuring(renewed, last); n != 2 {
		t.Errorf("the person taken last: %d before, want 2", n)
	}
}

// TestEditedPolicy: an edited copy of a preset keeps the preset's name only
// while nothing changed, and its citations only for the rules unchanged.
func TestEditedPolicy(t *testing.T) {
	base := latest(PresetWeihai)
	if p := base.Edited(base); p.Preset != PresetWeihai || len(p.Citations) != len(base.Citations) {
		t.Errorf("unchanged: %s with %d citations", p.Preset, len(p.Citations))
	}
	six := base
	six.TermMonths = 6
	p := six.Edited(base)
	if p.Preset != "" {
		t.Errorf("a six-month term is still called %s", p.Preset)
	}
	for _, c := range p.Citations {
		if c.Rule == R5 {
			t.Errorf("the six-month term still cites %q", c.Quote)
		}
	}
	if len(p.Citations) == 0 || len(p.Citations) >= len(base.Citations) {
		t.Errorf("%d of %d citations kept", len(p.Citations), len(base.Citations))
	}
}

// TestOverlapping: one person is never seconded to two places at once. A
// term overlaps while it holds the person, up to its last day; one away
// past its end holds them until return; a renewal from the day after does
// not overlap; a returned or refused term does not count.
func TestOverlapping(t *testing.T) {
	req := Secondment{ID: 9, PersonID: 1, Start: D(2024, 5, 1), End: D(2024, 7, 31)}
	term := func(id int64, st State, start, end Date) Secondment {
		return Secondment{ID: id, PersonID: 1, State: st, Start: start, End: end, Number: "借调〔2024〕0001"}
	}
	for _, tc := range []struct {
		name string
		h    Secondment
		want bool
	}{
		{"approved, the same dates", term(1, StateApproved, D(2024, 5, 1), D(2024, 7, 31)), true},
		{"active, ending on the first day", term(1, StateActive, D(2024, 2, 1), D(2024, 5, 1)), true},
		{"active, ending the day before (a renewal's predecessor)", term(1, StateActive, D(2024, 2, 1), D(2024, 4, 30)), false},
		{"overdue since March: still there", term(1, StateOverdue, D(2023, 12, 1), D(2024, 2, 29)), true},
		{"returned in April", func() Secondment {
			h := term(1, StateReturned, D(2024, 2, 1), D(2024, 6, 30))
			h.ReturnedOn = D(2024, 4, 20)
			return h
		}(), false},
		{"in transfer-in since January: still there", term(1, StateTransferPending, D(2023, 10, 1), D(2024, 1, 31)), true},
		{"expired in March, not back", term(1, StateExpired, D(2023, 12, 1), D(2024, 3, 31)), true},
		{"return recorded in April", func() Secondment {
			h := term(1, StateReturnRecorded, D(2024, 2, 1), D(2024, 6, 30))
			h.ReturnedOn = D(2024, 4, 20)
			return h
		}(), false},
		{"rejected", term(1, StateRejected, D(2024, 5, 1), D(2024, 7, 31)), false},
		{"awaiting sign-off", term(1, StateAwaitingSignoff, D(2024, 5, 1), D(2024, 7, 31)), false},
		{"someone else", func() Secondment { h := term(1, StateActive, D(2024, 5, 1), D(2024, 7, 31)); h.PersonID = 2; return h }(), false},
	} {
		if _, got := Overlapping(req, []Secondment{tc.h}); got != tc.want {
			t.Errorf("%s: overlap %v, want %v", tc.name, got, tc.want)
		}
	}
}
