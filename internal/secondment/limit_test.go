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
