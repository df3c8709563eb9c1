package secondment

import (
	"errors"
	"testing"
)

func TestWorkingDays(t *testing.T) {
	var plain Calendar // no schedule: Monday to Friday
	// Friday 3 May 2024 to Friday 10 May: Mon–Fri of the next week.
	if n := plain.WorkingDaysAfter(D(2024, 5, 3), D(2024, 5, 10)); n != 5 {
		t.Fatalf("working days %d, want 5", n)
	}
	if EscalationDue(plain, D(2024, 5, 3), D(2024, 5, 10), 5) {
		t.Fatal("due after exactly 5 working days; want more than 5")
	}
	if !EscalationDue(plain, D(2024, 5, 3), D(2024, 5, 13), 5) {
		t.Fatal("not due after 6 working days")
	}
	if EscalationDue(plain, D(2024, 5, 3), D(2024, 6, 13), 0) {
		t.Fatal("0 turns escalation off")
	}
	// With 劳动节 2024 (1–5 May off, Saturday 11 May worked): from Friday
	// 26 April to Monday 13 May, 28 April (a Sunday worked), 29–30 April,
	// 6–10 May, 11 May and 13 May.
	y := CalendarYear{Year: 2024, Source: "国务院办公厅关于2024年部分节假日安排的通知", Holidays: []CalendarSpan{{D(2024, 5, 1), D(2024, 5, 5), "劳动节"}},
		Workdays: []CalendarDay{{Day: D(2024, 4, 28), Name: "劳动节"}, {Day: D(2024, 5, 11), Name: "劳动节"}}}
	if err := y.Validate(); err != nil {
		t.Fatal(err)
	}
	cal := NewCalendar(y.Days(), []int{2024})
	if n := cal.WorkingDaysAfter(D(2024, 4, 26), D(2024, 5, 13)); n != 10 {
		t.Errorf("working days over 劳动节: %d, want 10", n)
	}
	if n := plain.WorkingDaysAfter(D(2024, 4, 26), D(2024, 5, 13)); n != 11 {
		t.Errorf("Monday to Friday over 劳动节: %d, want 11", n)
	}
	// 民法典 art. 203: a deadline on a holiday or a weekend moves to the
	// next working day; on a working day (the Sunday worked) it stays.
	for _, c := range []struct{ on, want Date }{
		{D(2024, 5, 1), D(2024, 5, 6)}, {D(2024, 5, 5), D(2024, 5, 6)}, {D(2024, 4, 28), D(2024, 4, 28)},
		{D(2024, 5, 12), D(2024, 5, 13)}, {D(2024, 5, 8), D(2024, 5, 8)},
	} {
		if got := cal.Deadline(c.on); got != c.want {
			t.Errorf("deadline on %s: %s, want %s", c.on, got, c.want)
		}
	}
	if !cal.Known(2024) || cal.Known(2027) || cal.Holiday(D(2024, 5, 3)) != "劳动节" {
		t.Error("the calendar's years or names")
	}
}

// A schedule the administrator enters is checked whole: a make-up working
// day must be a weekend day, no day both, spans in order, all in the year.
func TestCalendarYearValidate(t *testing.T) {
	good := CalendarYear{Year: 2027, Source: "通知", Holidays: []CalendarSpan{{D(2026, 12, 31), D(2027, 1, 1), "元旦"}}}
	if err := good.Validate(); err != nil {
		t.Fatalf("元旦 from the December before: %v", err)
	}
	for name, c := range map[string]struct {
		y     CalendarYear
		field string
	}{
		"no source":          {CalendarYear{Year: 2027}, "source"},
		"another year":       {CalendarYear{Year: 2027, Source: "通知", Holidays: []CalendarSpan{{D(2028, 1, 1), D(2028, 1, 1), "元旦"}}}, "holidays[0]"},
		"backwards":          {CalendarYear{Year: 2027, Source: "通知", Holidays: []CalendarSpan{{D(2027, 2, 9), D(2027, 2, 5), "春节"}}}, "holidays[0]"},
		"a weekday worked":   {CalendarYear{Year: 2027, Source: "通知", Workdays: []CalendarDay{{Day: D(2027, 2, 3)}}}, "workdays[0]"},
		"both":               {CalendarYear{Year: 2027, Source: "通知", Holidays: []CalendarSpan{{D(2027, 2, 6), D(2027, 2, 7), "春节"}}, Workdays: []CalendarDay{{Day: D(2027, 2, 6)}}}, "workdays[0]"},
		"nameless holiday":   {CalendarYear{Year: 2027, Source: "通知", Holidays: []CalendarSpan{{D(2027, 2, 6), D(2027, 2, 7), ""}}}, "holidays[0]"},
		"spans overlapping":  {CalendarYear{Year: 2027, Source: "通知", Holidays: []CalendarSpan{{D(2027, 2, 6), D(2027, 2, 8), "春节"}, {D(2027, 2, 8), D(2027, 2, 9), "春节"}}}, "holidays[1]"},
		"a day worked twice": {CalendarYear{Year: 2027, Source: "通知", Workdays: []CalendarDay{{Day: D(2027, 2, 13), Name: "春节"}, {Day: D(2027, 2, 13), Name: "春节"}}}, "workdays[1]"},
		"nameless workday":   {CalendarYear{Year: 2027, Source: "通知", Workdays: []CalendarDay{{Day: D(2027, 2, 13)}}}, "workdays[0]"},
	} {
		err := c.y.Validate()
		var e *Error
		if !errors.As(err, &e) || len(e.Fields) == 0 || e.Fields[0].Field != c.field {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSupervisor(t *testing.T) {
	h, err := NewHierarchy(DemoUnits())
	if err != nil {
		t.Fatal(err)
	}
	district := Secondment{State: StateAwaitingSignoff, OrgDeptID: DemoUnit("NMG-BT-QS-ZZB").ID}
	if u, ok := h.Supervisor(district); !ok || u.Code != "NMG-BT-ZZB" {
		t.Fatalf("supervisor of 青山区委组织部's sign-off: %v %v", u.Code, ok)
	}
	city := Secondment{State: StateAwaitingSignoff, OrgDeptID: DemoUnit("NMG-BT-ZZB").ID}
	if u, ok := h.Supervisor(city); ok {
		t.Fatalf("包头市委组织部 has no supervisor in the demo, got %s", u.Code)
	}
	consent := Secondment{State: StateAwaitingConsent, OrgDeptID: DemoUnit("NMG-BT-QS-ZZB").ID}
	if u, ok := h.Supervisor(consent); !ok || u.Code != "NMG-BT-QS-ZZB" {
		t.Fatalf("supervisor of the consent: %v", u.Code)
	}
}
