package secondment

import (
	"fmt"
	"time"
	_ "time/tzdata" // the zone must load on hosts without a zoneinfo database
)

// Shanghai is the zone in which every date of the domain is a calendar day.
var Shanghai = mustLoadLocation("Asia/Shanghai")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // cannot happen: time/tzdata is linked in
	}
	return loc
}

// Clock is where the domain gets "now" from, so that tests can fix it.
type Clock interface{ Now() time.Time }

// SystemClock is the real clock.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now() }

// FixedClock always returns T.
type FixedClock struct{ T time.Time }

func (c FixedClock) Now() time.Time { return c.T }

// RehearsalClock runs a whole number of days ahead of (or behind) the real
// clock, so that a trainer can show what happens on another day — expiry,
// overdue, reminders — while the time of day still moves. Dev mode only.
type RehearsalClock struct{ Offset time.Duration }

// RehearsalOn is the clock on which today is d, at the real time of day.
func RehearsalOn(d Date, real time.Time) RehearsalClock {
	return RehearsalClock{Offset: time.Duration(DateOf(real).DaysUntil(d)) * 24 * time.Hour}
}

func (c RehearsalClock) Now() time.Time { return time.Now().Add(c.Offset) }

// OnDay is t moved by whole days to fall on day d, its time of day kept:
// "now" for work done as of another day (a sweep for a given day).
func OnDay(d Date, t time.Time) time.Time {
	return t.Add(time.Duration(DateOf(t).DaysUntil(d)) * 24 * time.Hour)
}

// Today is the calendar day in Shanghai at c.Now().
func Today(c Clock) Date { return DateOf(c.Now()) }

// Date is a civil date without time or zone: a term runs over whole days.
// The zero Date means "not set".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateLayout is the one textual form of a Date.
const DateLayout = "2006-01-02"

// D builds a Date, normalising overflow as time.Date does (D(2024, 2, 30) is
// 1 March); tests use it for readable literals.
func D(year int, month time.Month, day int) Date {
	return dateOfUTC(time.Date(year, month, day, 0, 0, 0, 0, time.UTC))
}

// DateOf is the day t falls on in Shanghai.
func DateOf(t time.Time) Date {
	y, m, d := t.In(Shanghai).Date()
	return Date{y, m, d}
}

func dateOfUTC(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate reads "2006-01-02" strictly: 2023-02-29 is an error, not 1 March.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return Date{}, &Error{Code: EInvalid, Message: Msg("date.error.format", "Value", s), Err: err}
	}
	// A sane window (issue #13): 9999-12-30 is a typing slip, not a term.
	if t.Year() < MinYear || t.Year() > MaxYear {
		return Date{}, &Error{Code: EInvalid, Message: Msg("date.error.range", "Value", s, "Min", MinYear, "Max", MaxYear)}
	}
	return dateOfUTC(t), nil
}

// MinYear and MaxYear bound every date the service reads.
const (
	MinYear = 1900
	MaxYear = 2100
)

// ParseMonth reads a month, 出生年月, as "2006-01" (or a whole date, whose
// day is dropped): the first day of that month.
func ParseMonth(s string) (Date, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		d, derr := ParseDate(s)
		if derr != nil {
			return Date{}, derr
		}
		return D(d.Year, d.Month, 1), nil
	}
	if t.Year() < MinYear || t.Year() > MaxYear {
		return Date{}, &Error{Code: EInvalid, Message: Msg("date.error.range", "Value", s, "Min", MinYear, "Max", MaxYear)}
	}
	return dateOfUTC(t), nil
}

// YearMonth formats d's month as "2006-01", and the zero Date as "".
func (d Date) YearMonth() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d", d.Year, d.Month)
}

// String formats d as "2006-01-02", and the zero Date as "".
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// MarshalText and UnmarshalText let dates travel as JSON strings.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d == Date{} }

func (d Date) utc() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// Start is the first instant of d in Shanghai.
func (d Date) Start() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, Shanghai) }

// AddDays moves d by n days.
func (d Date) AddDays(n int) Date { return D(d.Year, d.Month, d.Day+n) }

// AddMonths moves d by n calendar months, clamped to the end of a shorter
// month: 31 Jan + 1 month is 28 or 29 Feb, never 2 or 3 March.
func (d Date) AddMonths(n int) Date {
	first := D(d.Year, d.Month+time.Month(n), 1)
	return Date{first.Year, first.Month, min(d.Day, daysIn(first.Year, first.Month))}
}

func daysIn(y int, m time.Month) int { return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day() }

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int { return d.utc().Compare(e.utc()) }

func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }
func (d Date) After(e Date) bool  { return d.Compare(e) > 0 }

// DaysUntil is the number of days from d to e: 1 for the next day, negative
// when e is earlier.
func (d Date) DaysUntil(e Date) int { return int(e.utc().Sub(d.utc()).Hours()) / 24 }

// DaysInclusive counts the days of the span from..to with both ends in it, as
// a term is counted; 0 when to is before from.
func DaysInclusive(from, to Date) int { return max(0, from.DaysUntil(to)+1) }

// TermLastDay is the last day a term of n months starting on start may run:
// the day before the same day of the month n months later, or, when the
// target month has no such day, that month's last day. So 1 Mar + 3 months
// ends 31 May, 30 Nov 2024 ends 28 Feb 2025, 31 Jan 2024 + 1 month ends on
// 29 Feb 2024, and 29 Feb 2024 + 3 months ends 28 May. See docs/domain.md.
func TermLastDay(start Date, months int) Date {
	t := start.AddMonths(months)
	if t.Day < start.Day { // clamped: the short month is used in full
		return t
	}
	return t.AddDays(-1)
}
