package secondment

import (
	"slices"
	"testing"
)

func TestRemindersDue(t *testing.T) {
	s := Secondment{State: StateActive, Kind: KindSecondment, Start: D(2024, 3, 1), End: D(2024, 5, 31)}
	kinds := func(p Policy, on Date, pending bool) []string {
		var out []string
		for _, r := range RemindersDue(p, s, on, DefaultReminderDays, pending, Calendar{}) {
			out = append(out, r.Kind)
		}
		return out
	}
	p := Policy{}
	for _, c := range []struct {
		on   Date
		want []string
	}{
		{D(2024, 5, 15), nil},                   // 16 days left
		{D(2024, 5, 16), []string{"before_15"}}, // 15 days left: the day itself
		{D(2024, 5, 20), []string{"before_15"}}, // caught up later
		{D(2024, 5, 28), []string{"before_3"}},  // 3 days left: the more urgent only
		{D(2024, 5, 31), []string{"before_3"}},  // the last day
		{D(2024, 6, 1), nil},                    // over: expiry, not a reminder
	} {
		if got := kinds(p, c.on, false); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.on, got, c.want)
		}
	}
	r := RemindersDue(p, s, D(2024, 5, 28), DefaultReminderDays, false, Calendar{})
	if len(r) != 1 || !slices.Equal(r[0].Covers, []string{"before_15"}) {
		t.Errorf("the 3-day reminder must cover the 15-day one: %+v", r)
	}
	p.RenewalApplyByDays = 10
	if got := kinds(p, D(2024, 5, 21), false); !slices.Equal(got, []string{"before_15", "apply_by"}) {
		t.Errorf("apply-by day: %v", got)
	}
	if got := kinds(p, D(2024, 5, 21), true); !slices.Equal(got, []string{"before_15"}) {
		t.Errorf("a pending renewal needs no apply-by reminder: %v", got)
	}
	s.State = StateExpired
	if got := kinds(p, D(2024, 5, 21), false); got != nil {
		t.Errorf("only running terms are reminded: %v", got)
	}
}

// The form's rolling-window figure counts as R7's window check does.
func TestUsageOverTheRollingWindow(t *testing.T) {
	p := Policy{PersonCapMonths: 6, PersonWindowMonths: 12}
	earlier := Secondment{ID: 1, PersonID: 7, BorrowerID: 2, Kind: KindSecondment, State: StateReturned,
		Start: D(2023, 9, 1), End: D(2023, 11, 30), ReturnedOn: D(2023, 11, 30)}
	s := Secondment{ID: 2, PersonID: 7, BorrowerID: 3, Kind: KindSecondment, Start: D(2024, 3, 1), End: D(2024, 5, 31),
		SubmittedOn: D(2024, 2, 20)}
	u := UsageOf(p, s, Facts{History: []Secondment{earlier}})
	if u.WindowUsed != 91 || u.Requested != 92 || u.WindowMonths != 12 || u.WindowCapMonths != 6 || u.WindowCapDays != 182 {
		t.Fatalf("usage %+v", u)
	}
	if u.CapDays != 0 {
		t.Fatalf("no chain cap set, got %d", u.CapDays)
	}
	// Evaluate agrees: 91 + 92 = 183 days exceed the 182 days of 6 months
	// from 1 September, so R7 refuses.
	vs := Evaluate(p, s, Facts{History: []Secondment{earlier}})
	if len(vs) == 0 || vs[0].Rule != R7 {
		t.Fatalf("window check: %+v", vs)
	}
}
