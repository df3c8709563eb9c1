package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"secondment/internal/secondment"
)

// calendarTx reads the holiday calendar: every day set apart from its
// weekday, and the years whose schedule was entered. It is read whole, with
// no LIMIT, on purpose: a year holds a few dozen rows and the years are
// bounded (2000–2100 by the schema), so the whole calendar is a few
// thousand rows at most; it is cached with the catalog, and a sweep reads
// it once.
func calendarTx(ctx context.Context, q dbtx) (secondment.Calendar, error) {
	rows, err := q.Query(ctx, `SELECT day, working, name FROM calendar_day ORDER BY day`)
	if err != nil {
		return secondment.Calendar{}, fmt.Errorf("calendar days: %w", err)
	}
	days, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (secondment.CalendarDay, error) {
		var d pgtype.Date
		var c secondment.CalendarDay
		err := r.Scan(&d, &c.Working, &c.Name)
		c.Day = civil(d)
		return c, err
	})
	if err != nil {
		return secondment.Calendar{}, fmt.Errorf("calendar days: %w", err)
	}
	rows, err = q.Query(ctx, `SELECT year FROM calendar_year ORDER BY year`)
	if err != nil {
		return secondment.Calendar{}, fmt.Errorf("calendar years: %w", err)
	}
	years, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return secondment.Calendar{}, fmt.Errorf("calendar years: %w", err)
	}
	return secondment.NewCalendar(days, years), nil
}

// Calendar reads the holiday calendar.
func (s *Store) Calendar(ctx context.Context) (secondment.Calendar, error) {
	return calendarTx(ctx, s.Pool)
}

// CalendarYearInfo is a year's schedule as the administrator's list shows
// it.
type CalendarYearInfo struct {
	Year               int
	Source             string
	Holidays, Workdays int // days
	UpdatedAt          time.Time
}

// CalendarYears lists the years entered, newest first.
func (s *Store) CalendarYears(ctx context.Context) ([]CalendarYearInfo, error) {
	rows, err := s.Pool.Query(ctx, `
		SELECT y.year, y.source, count(d.day) FILTER (WHERE NOT d.working), count(d.day) FILTER (WHERE d.working), y.updated_at
		FROM calendar_year y LEFT JOIN calendar_day d ON d.year = y.year
		GROUP BY y.year ORDER BY y.year DESC`)
	if err != nil {
		return nil, fmt.Errorf("calendar years: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[CalendarYearInfo])
	if err != nil {
		return nil, fmt.Errorf("calendar years: %w", err)
	}
	return out, nil
}

// CalendarYear reads year's schedule, its holidays as spans of days with
// one name; ok is false when it was never entered.
func (s *Store) CalendarYear(ctx context.Context, year int) (y secondment.CalendarYear, ok bool, err error) {
	y.Year = year
	switch err := s.Pool.QueryRow(ctx, `SELECT source FROM calendar_year WHERE year = $1`, year).Scan(&y.Source); {
	case err == pgx.ErrNoRows:
		return y, false, nil
	case err != nil:
		return y, false, fmt.Errorf("calendar year %d: %w", year, err)
	}
	rows, err := s.Pool.Query(ctx, `SELECT day, working, name FROM calendar_day WHERE year = $1 ORDER BY day`, year)
	if err != nil {
		return y, false, fmt.Errorf("calendar year %d: %w", year, err)
	}
	var d pgtype.Date
	var working bool
	var name string
	_, err = pgx.ForEachRow(rows, []any{&d, &working, &name}, func() error {
		day := civil(d)
		if working {
			y.Workdays = append(y.Workdays, secondment.CalendarDay{Day: day, Working: true, Name: name})
			return nil
		}
		if n := len(y.Holidays); n > 0 && y.Holidays[n-1].Name == name && y.Holidays[n-1].To.AddDays(1) == day {
			y.Holidays[n-1].To = day
			return nil
		}
		y.Holidays = append(y.Holidays, secondment.CalendarSpan{From: day, To: day, Name: name})
		return nil
	})
	if err != nil {
		return y, false, fmt.Errorf("calendar year %d: %w", year, err)
	}
	return y, true, nil
}

// CalendarYearSave replaces year y's schedule whole, with its audit event,
// in one transaction. A day another year's schedule holds is a conflict.
func (t *Tx) CalendarYearSave(ctx context.Context, y secondment.CalendarYear, e AuditEvent) error {
	if _, err := t.q.Exec(ctx, `INSERT INTO calendar_year (year, source, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (year) DO UPDATE SET source = excluded.source, updated_at = excluded.updated_at`, y.Year, y.Source, e.At); err != nil {
		return fmt.Errorf("save calendar year %d: %w", y.Year, mapError(err, "calendar"))
	}
	if _, err := t.q.Exec(ctx, `DELETE FROM calendar_day WHERE year = $1`, y.Year); err != nil {
		return fmt.Errorf("save calendar year %d: %w", y.Year, err)
	}
	days := y.Days()
	dates, years := make([]pgtype.Date, len(days)), make([]int, len(days))
	working, names := make([]bool, len(days)), make([]string, len(days))
	for i, d := range days {
		dates[i], years[i], working[i], names[i] = dateArg(d.Day), y.Year, d.Working, d.Name
	}
	if _, err := t.q.Exec(ctx, `INSERT INTO calendar_day (day, year, working, name)
		SELECT * FROM unnest($1::date[], $2::int[], $3::boolean[], $4::text[])`, dates, years, working, names); err != nil {
		return fmt.Errorf("save calendar year %d: %w", y.Year, mapError(err, "calendar"))
	}
	return auditInsert(ctx, t.q, e)
}
