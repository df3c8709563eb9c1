package secondment

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Date
		ok   bool
	}{
		{"2024-02-29", D(2024, 2, 29), true},
		{"2023-02-29", Date{}, false}, // not a day
		{"2024-13-01", Date{}, false},
		{"2024-1-5", Date{}, false},
		{"", Date{}, false},
	} {
		got, err := ParseDate(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseDate(%q) = %v, %v", tc.in, got, err)
		}
		if tc.ok && got.String() != tc.in {
			t.Errorf("%v.String() = %q", got, got.String())
		}
		if !tc.ok && ErrorCodeOf(err) != EInvalid {
			t.Errorf("ParseDate(%q) error code %q", tc.in, ErrorCodeOf(err))
		}
	}
}

func TestDateJSON(t *testing.T) {
	var v struct{ D, Z Date }
	v.D = D(2024, 1, 31)
	b, _ := json.Marshal(v)
	if string(b) != `{"D":"2024-01-31","Z":""}` {
		t.Fatalf("json %s", b)
	}
	var back struct{ D, Z Date }
	if err := json.Unmarshal(b, &back); err != nil || back != v {
		t.Fatalf("round trip %v %v", back, err)
	}
}

func TestAddMonthsClampsToMonthEnd(t *testing.T) {
	for _, tc := range []struct {
		from Date
		n    int
		want Date
	}{
		{D(2024, 1, 31), 1, D(2024, 2, 29)}, // leap year
		{D(2023, 1, 31), 1, D(2023, 2, 28)},
		{D(2024, 11, 30), 3, D(2025, 2, 28)},
		{D(2024, 2, 29), 12, D(2025, 2, 28)},
		{D(2024, 2, 29), 3, D(2024, 5, 29)},
		{D(2024, 3, 31), -1, D(2024, 2, 29)},
		{D(2024, 12, 15), 2, D(2025, 2, 15)},
	} {
		if got := tc.from.AddMonths(tc.n); got != tc.want {
			t.Errorf("%v + %d months = %v, want %v", tc.from, tc.n, got, tc.want)
		}
	}
}

// A term of n months ends the day before the same day n months later, or
// on the last day of a target month that is too short (docs/domain.md).
func TestTermLastDay(t *testing.T) {
	for _, tc := range []struct {
		start Date
		n     int
		want  Date
	}{
		{D(2024, 3, 1), 3, D(2024, 5, 31)},
		{D(2024, 11, 30), 3, D(2025, 2, 28)}, // 30 Feb does not exist: all of February
		{D(2024, 11, 28), 3, D(2025, 2, 27)},
		{D(2024, 1, 31), 1, D(2024, 2, 29)}, // 31 Jan + 1 month: the whole leap February
		{D(2023, 1, 31), 1, D(2023, 2, 28)},
		{D(2024, 1, 31), 3, D(2024, 4, 30)},
		{D(2024, 2, 29), 3, D(2024, 5, 28)},
		{D(2024, 2, 29), 12, D(2025, 2, 28)},
		{D(2024, 12, 1), 3, D(2025, 2, 28)},
		{D(2024, 3, 1), 6, D(2024, 8, 31)},
	} {
		if got := TermLastDay(tc.start, tc.n); got != tc.want {
			t.Errorf("TermLastDay(%v, %d) = %v, want %v", tc.start, tc.n, got, tc.want)
		}
	}
	// Never shorter for a later start: the bound moves with the start.
	for d := D(2023, 1, 1); d.Before(D(2026, 1, 1)); d = d.AddDays(1) {
		if a, b := TermLastDay(d, 3), TermLastDay(d.AddDays(1), 3); b.Before(a) {
			t.Fatalf("TermLastDay(%v) = %v after TermLastDay(%v) = %v", d.AddDays(1), b, d, a)
		}
	}
}

func TestDaysAndCompare(t *testing.T) {
	if n := D(2024, 2, 28).DaysUntil(D(2024, 3, 1)); n != 2 {
		t.Errorf("DaysUntil = %d", n)
	}
	if n := DaysInclusive(D(2024, 3, 1), D(2024, 5, 31)); n != 92 {
		t.Errorf("DaysInclusive = %d", n)
	}
	if n := DaysInclusive(D(2024, 3, 2), D(2024, 3, 1)); n != 0 {
		t.Errorf("DaysInclusive reversed = %d", n)
	}
	if !D(2024, 1, 1).Before(D(2024, 1, 2)) || D(2024, 1, 2).Before(D(2024, 1, 2)) || !D(2025, 1, 1).After(D(2024, 12, 31)) {
		t.Error("comparisons")
	}
	if D(2024, 12, 31).AddDays(1) != D(2025, 1, 1) {
		t.Error("AddDays over the year")
	}
}

// The domain's day is Shanghai's: 17:00 UTC is already the next day there.
func TestTodayInShanghai(t *testing.T) {
	c := FixedClock{time.Date(2024, 2, 28, 17, 0, 0, 0, time.UTC)}
	if got := Today(c); got != D(2024, 2, 29) {
		t.Errorf("Today = %v", got)
	}
	if got := DateOf(D(2024, 2, 29).Start()); got != D(2024, 2, 29) {
		t.Errorf("Start round trip = %v", got)
	}
	if Today(SystemClock{}).IsZero() {
		t.Error("system clock")
	}
}

func TestOnDay(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 23, 30, 0, 0, Shanghai)
	for _, d := range []Date{D(2026, 12, 6), D(2027, 3, 10), D(2023, 10, 16)} {
		got := OnDay(d, t0)
		if DateOf(got) != d || got.In(Shanghai).Format("15:04") != "23:30" {
			t.Errorf("OnDay(%s) = %s", d, got.In(Shanghai))
		}
	}
}
