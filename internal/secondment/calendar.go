package secondment

import (
	"fmt"
	"time"
)

// Calendar says which days are working days: Monday to Friday, except
// the public holidays of the State Council's yearly schedule, plus its
// make-up working days (调休) that fall on a weekend. The zero Calendar
// knows no schedule: Monday to Friday only. Every working-day count and
// every deadline that moves past a holiday reads it (issue #12: counting
// Monday–Friday alone, 8 October 2024 was 6 working days after 30
// September, where there was 1).
type Calendar struct {
	days  map[Date]CalendarDay
	years map[int]bool
}

// CalendarDay is a day the schedule sets apart from its weekday: a holiday
// (Working false) or a make-up working day (Working true), with the
// holiday's name.
type CalendarDay struct {
	Day     Date
	Working bool
	Name    string
}

// NewCalendar is the calendar of the given days, for the years whose
// schedule was entered (a year without one counts Monday to Friday).
func NewCalendar(days []CalendarDay, years []int) Calendar {
	c := Calendar{days: make(map[Date]CalendarDay, len(days)), years: make(map[int]bool, len(years))}
	for _, d := range days {
		c.days[d.Day] = d
	}
	for _, y := range years {
		c.years[y] = true
	}
	return c
}

// Known reports whether year's schedule was entered.
func (c Calendar) Known(year int) bool { return c.years[year] }

// Working reports whether d is a working day.
func (c Calendar) Working(d Date) bool {
	if x, ok := c.days[d]; ok {
		return x.Working
	}
	wd := d.Start().Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// Holiday is the name of the holiday d is in ("" on a working day or a
// plain weekend).
func (c Calendar) Holiday(d Date) string {
	if x, ok := c.days[d]; ok && !x.Working {
		return x.Name
	}
	return ""
}

// WorkingDaysAfter counts the working days after from up to and
// including to.
func (c Calendar) WorkingDaysAfter(from, to Date) int {
	n := 0
	for d := from.AddDays(1); !d.After(to); d = d.AddDays(1) {
		if c.Working(d) {
			n++
		}
	}
	return n
}

// Deadline is the last day of a period that ends on day d: d itself on a
// working day, or else the first working day after it. 民法典 art. 203:
// 期间的最后一日是法定休假日的，以法定休假日结束的次日为期间的最后一日 (the
// weekend being a statutory rest day too). Apply-by and rectification
// deadlines follow it.
func (c Calendar) Deadline(d Date) Date {
	for i := 0; i < 60 && !c.Working(d); i++ { // the longest break is 9 days; 60 stops a broken calendar
		d = d.AddDays(1)
	}
	return d
}

// CalendarYear is one year's schedule as an administrator enters it:
// the holidays as spans with their names, the make-up working days, and
// the notice they come from.
type CalendarYear struct {
	Year     int
	Source   string // the notice: 国务院办公厅关于2024年部分节假日安排的通知（2023年10月25日）
	Holidays []CalendarSpan
	Workdays []CalendarDay
}

// CalendarSpan is a holiday from From to To, both included.
type CalendarSpan struct {
	From, To Date
	Name     string
}

// within reports whether d may be in year's schedule: in the year, or in
// the December before (元旦's break may start there, as 2023's did on 31
// December 2022).
func (y CalendarYear) within(d Date) bool {
	return d.Year == y.Year || d.Year == y.Year-1 && d.Month == time.December
}

// Validate checks a year's schedule: every day within the year, a span
// in order and at most 15 days, a make-up working day on a weekend, no day
// both, and names and the source given.
func (y CalendarYear) Validate() error {
	var fe []FieldError
	bad := func(field, id string, kv ...any) { fe = append(fe, FieldError{field, Msg(id, kv...)}) }
	if y.Year < 2000 || y.Year > 2100 {
		bad("year", "calendar.error.year")
		return &Error{Code: EInvalid, Message: Msg("error.invalid"), Fields: fe}
	}
	if len([]rune(y.Source)) == 0 || len([]rune(y.Source)) > 200 {
		bad("source", "calendar.error.source")
	}
	off := map[Date]bool{}
	for i, h := range y.Holidays {
		field := fmt.Sprintf("holidays[%d]", i)
		switch {
		case !y.within(h.From) || !y.within(h.To):
			bad(field, "calendar.error.outside", "Year", y.Year)
		case h.To.Before(h.From) || h.From.DaysUntil(h.To) > 14:
			bad(field, "calendar.error.span")
		case h.Name == "" || len([]rune(h.Name)) > 20:
			bad(field, "calendar.error.name")
		default:
			for d := h.From; !d.After(h.To); d = d.AddDays(1) {
				if off[d] {
					bad(field, "calendar.error.twice", "Day", d.String())
					break
				}
				off[d] = true
			}
		}
	}
	worked := map[Date]bool{}
	for i, w := range y.Workdays {
		field := fmt.Sprintf("workdays[%d]", i)
		wd := w.Day.Start().Weekday()
		switch {
		case !y.within(w.Day):
			bad(field, "calendar.error.outside", "Year", y.Year)
		case wd != time.Saturday && wd != time.Sunday:
			bad(field, "calendar.error.workday_weekday", "Day", w.Day.String())
		case off[w.Day]:
			bad(field, "calendar.error.both", "Day", w.Day.String())
		case worked[w.Day]:
			bad(field, "calendar.error.twice", "Day", w.Day.String())
		case w.Name == "" || len([]rune(w.Name)) > 20:
			bad(field, "calendar.error.name")
		}
		worked[w.Day] = true
	}
	if len(fe) > 0 {
		return &Error{Code: EInvalid, Message: Msg("error.invalid"), Fields: fe}
	}
	return nil
}

// Days lists the schedule's days set apart: each holiday's days, then
// the make-up working days, named.
func (y CalendarYear) Days() []CalendarDay {
	var out []CalendarDay
	for _, h := range y.Holidays {
		for d := h.From; !d.After(h.To); d = d.AddDays(1) {
			out = append(out, CalendarDay{Day: d, Name: h.Name})
		}
	}
	for _, w := range y.Workdays {
		w.Working = true
		out = append(out, w)
	}
	return out
}
