package sheet

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"time"

	"golang.org/x/text/width"
)

// Dates outside these years are typing mistakes (2204 for 2024) or numbers
// that are not dates at all, never the start or end of a secondment.
const (
	minYear = 1950
	maxYear = 2100
)

var (
	// 2024-01-05, 2024/1/5, 2024.1.5: both separators must be the same.
	dateSep = regexp.MustCompile(`^(\d{4})([-/.])(\d{1,2})([-/.])(\d{1,2})$`)
	dateCN  = regexp.MustCompile(`^(\d{4})年(\d{1,2})月(\d{1,2})日$`)
	// 20240105, as people type dates into systems that want digits only.
	dateCompact = regexp.MustCompile(`^(\d{4})(\d{2})(\d{2})$`)
)

// Date parses a cell as a calendar date and returns it at midnight UTC.
//
// Text may be 2024-01-05, 2024-1-5, 2024/01/05, 2024/1/5, 2024.1.5,
// 2024年1月5日 or 20240105, in half- or full-width digits. An xlsx numeric
// cell is also taken as an Excel serial (1900 date system; 45292 is
// 2024-01-01; a time of day is dropped) when its text is none of those, as
// with a date shown as "1月5日" or a date cell left in General format. A bare
// number in a CSV is never a serial: there it is just text. Years must lie
// in 1950–2100. Errors carry a short English reason.
//
// The text is tried first because it is what the user sees, and it stays
// right where the serial would not (a workbook in the 1904 date system).
func Date(c Cell) (time.Time, error) {
	// Full-width digits and punctuation come from Chinese input methods.
	s := clean(width.Fold.String(c.Text))
	if m := dateSep.FindStringSubmatch(s); m != nil {
		if m[2] != m[4] {
			return time.Time{}, errors.New("mixed date separators")
		}
		return ymd(m[1], m[3], m[5])
	}
	if m := dateCN.FindStringSubmatch(s); m != nil {
		return ymd(m[1], m[2], m[3])
	}
	if m := dateCompact.FindStringSubmatch(s); m != nil {
		return ymd(m[1], m[2], m[3])
	}
	if c.Numeric {
		return fromSerial(c.Serial)
	}
	if s == "" {
		return time.Time{}, errors.New("empty")
	}
	return time.Time{}, errors.New("not a date")
}

func ymd(ys, ms, ds string) (time.Time, error) {
	// The patterns admit only digits, so Atoi cannot fail.
	y, _ := strconv.Atoi(ys)
	m, _ := strconv.Atoi(ms)
	d, _ := strconv.Atoi(ds)
	if y < minYear || y > maxYear {
		return time.Time{}, errors.New("year out of range")
	}
	tm := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	// time.Date rolls 30 February over into March; a real date survives.
	if tm.Month() != time.Month(m) || tm.Day() != d {
		return time.Time{}, errors.New("no such date")
	}
	return tm, nil
}

func fromSerial(v float64) (time.Time, error) {
	if math.IsNaN(v) || v < serialOf(time.Date(minYear, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		v >= serialOf(time.Date(maxYear+1, 1, 1, 0, 0, 0, 0, time.UTC)) {
		return time.Time{}, errors.New("number is not a date")
	}
	return excelEpoch.AddDate(0, 0, int(math.Floor(v))), nil
}
