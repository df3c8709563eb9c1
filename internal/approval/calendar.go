package approval

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"secondment/internal/auth"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// CalendarInput is a year's holiday schedule as a page or the API sends
// it: dates as text, checked here.
type CalendarInput struct {
	Year     int
	Source   string
	Holidays []CalendarSpanInput
	Workdays []CalendarDayInput
}

// CalendarSpanInput is a holiday from From to To (To empty: one day).
type CalendarSpanInput struct{ From, To, Name string }

// CalendarDayInput is a make-up working day.
type CalendarDayInput struct{ Date, Name string }

// CalendarYearInfo is a year entered, as the administrator's list shows
// it.
type CalendarYearInfo = postgres.CalendarYearInfo

// keepsCalendar refuses anyone but the system administrator, who keeps the
// calendar (its days count everyone's deadlines, and the pages that read
// them say so; the calendar itself is the administrator's).
func keepsCalendar(u auth.User) error {
	if !u.Has(auth.RoleSysAdmin) {
		return forbidden("error.forbidden", fmt.Errorf("%s is no system administrator", u.Login))
	}
	return nil
}

// CalendarYears lists the years whose schedule was entered, newest first,
// and the years about to matter that have none: this year and the next.
func (s *Service) CalendarYears(ctx context.Context, u auth.User) (years []CalendarYearInfo, missing []int, err error) {
	if err := keepsCalendar(u); err != nil {
		return nil, nil, err
	}
	if years, err = s.store.CalendarYears(ctx); err != nil {
		return nil, nil, err
	}
	this := secondment.Today(s.clock).Year
	for _, y := range []int{this, this + 1} {
		if !slices.ContainsFunc(years, func(i CalendarYearInfo) bool { return i.Year == y }) {
			missing = append(missing, y)
		}
	}
	return years, missing, nil
}

// CalendarYear reads year's schedule; a year not entered is ENotFound.
func (s *Service) CalendarYear(ctx context.Context, u auth.User, year int) (secondment.CalendarYear, error) {
	if err := keepsCalendar(u); err != nil {
		return secondment.CalendarYear{}, err
	}
	y, ok, err := s.store.CalendarYear(ctx, year)
	if err != nil {
		return y, err
	}
	if !ok {
		return y, secondment.NotFound("calendar")
	}
	return y, nil
}

// CalendarSave replaces a year's schedule whole, as the system
// administrator enters it from the State Council's notice: checked,
// written in one transaction with its audit event (calendar.update), and
// read by every process at its next step (the catalog version moves).
func (s *Service) CalendarSave(ctx context.Context, u auth.User, in CalendarInput) (secondment.CalendarYear, error) {
	if err := keepsCalendar(u); err != nil {
		return secondment.CalendarYear{}, err
	}
	y := secondment.CalendarYear{Year: in.Year, Source: strings.TrimSpace(in.Source)}
	var fe []secondment.FieldError
	date := func(field, v string) secondment.Date {
		d, err := secondment.ParseDate(strings.TrimSpace(v))
		if err != nil {
			fe = append(fe, secondment.FieldError{Field: field, Message: secondment.Msg("calendar.error.date", "Value", v)})
		}
		return d
	}
	for i, h := range in.Holidays {
		field := fmt.Sprintf("holidays[%d]", i)
		from := date(field, h.From)
		to := from
		if strings.TrimSpace(h.To) != "" {
			to = date(field, h.To)
		}
		y.Holidays = append(y.Holidays, secondment.CalendarSpan{From: from, To: to, Name: strings.TrimSpace(h.Name)})
	}
	for i, w := range in.Workdays {
		y.Workdays = append(y.Workdays, secondment.CalendarDay{Day: date(fmt.Sprintf("workdays[%d]", i), w.Date),
			Working: true, Name: strings.TrimSpace(w.Name)})
	}
	if len(fe) > 0 {
		return y, &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"), Fields: fe}
	}
	if err := y.Validate(); err != nil {
		return y, err
	}
	now := s.clock.Now()
	err := s.store.InTx(ctx, func(tx *postgres.Tx) error {
		return tx.CalendarYearSave(ctx, y, postgres.AuditEvent{At: now, ActorID: u.ID, ActorName: u.Name, Action: "calendar.update",
			ObjectType: "calendar", ObjectID: int64(y.Year), UnitID: u.UnitID,
			Detail: map[string]any{"source": y.Source, "holidays": len(y.Holidays), "workdays": len(y.Workdays)}})
	})
	if err != nil {
		return y, fmt.Errorf("save calendar %d: %w", y.Year, err)
	}
	return y, nil
}
