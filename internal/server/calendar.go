package server

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"secondment/internal/approval"
	"secondment/internal/secondment"
	"secondment/web"
)

// calendarYear is the {year} of a calendar path; anything else is 404.
func calendarYear(r *http.Request) (int, error) {
	y, err := strconv.Atoi(chi.URLParam(r, "year"))
	if err != nil || y < 2000 || y > 2100 {
		return 0, secondment.NotFound("calendar")
	}
	return y, nil
}

func (s *Server) handleCalendarList(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	years, missing, err := s.app.CalendarYears(r.Context(), u)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, web.CalendarListPage(web.CalendarListView{Years: years, Missing: missing}))
}

func (s *Server) handleCalendarForm(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	year, err := calendarYear(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f := web.NewForm()
	y, err := s.app.CalendarYear(r.Context(), u, year)
	switch {
	case err == nil:
		f.Values["source"], f.Values["holidays"], f.Values["workdays"] = y.Source, holidayLines(y), workdayLines(y)
	case secondment.ErrorCodeOf(err) != secondment.ENotFound:
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, web.CalendarFormPage(web.CalendarFormView{Year: year, Form: f, New: err != nil}))
}

func (s *Server) handleCalendarSave(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	year, err := calendarYear(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f, err := readForm(w, r, "source", "holidays", "workdays")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	in := approval.CalendarInput{Year: year, Source: f.Value("source")}
	in.Holidays, in.Workdays = parseCalendarLines(&f)
	if len(f.Errors) == 0 {
		_, err = s.app.CalendarSave(r.Context(), u, in)
		if err == nil {
			http.Redirect(w, r, "/admin/calendar", http.StatusSeeOther)
			return
		}
		if !withErrors(&f, calendarLineErrors(err, in)) {
			s.renderError(w, r, err)
			return
		}
	}
	f.Summary = secondment.Msg("error.invalid")
	s.renderStatus(w, r, http.StatusUnprocessableEntity, web.CalendarFormPage(web.CalendarFormView{Year: year, Form: f}))
}

// A calendar line: a date, an optional second date (the span's end), and
// the name: "2027-02-05 2027-02-11 春节", "2027-02-14 春节".
var calendarLine = regexp.MustCompile(`^(\S+)(?:\s*(?:至|到|~|—|–)?\s*(\d{4}-\d{1,2}-\d{1,2}))?\s+(.+)$`)

// parseCalendarLines reads the form's two text areas, one day or span a
// line; a line that is no date and name is an error on its text area.
func parseCalendarLines(f *web.Form) ([]approval.CalendarSpanInput, []approval.CalendarDayInput) {
	var hs []approval.CalendarSpanInput
	var ws []approval.CalendarDayInput
	for field, lines := range map[string][]string{"holidays": strings.Split(f.Value("holidays"), "\n"), "workdays": strings.Split(f.Value("workdays"), "\n")} {
		for i, line := range lines {
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			m := calendarLine.FindStringSubmatch(line)
			if m == nil || field == "workdays" && m[2] != "" {
				if _, dup := f.Errors[field]; !dup {
					f.Errors[field] = secondment.Msg("calendar.error.line", "Line", i+1, "Text", line)
				}
				continue
			}
			if field == "holidays" {
				hs = append(hs, approval.CalendarSpanInput{From: m[1], To: m[2], Name: strings.TrimSpace(m[3])})
			} else {
				ws = append(ws, approval.CalendarDayInput{Date: m[1], Name: strings.TrimSpace(m[3])})
			}
		}
	}
	return hs, ws
}

// calendarLineErrors puts the use case's errors on holidays[i] and
// workdays[i] beside their text areas, naming the entry.
func calendarLineErrors(err error, in approval.CalendarInput) error {
	de, ok := err.(*secondment.Error)
	if !ok {
		return err
	}
	out := *de
	out.Fields = nil
	for _, fe := range de.Fields {
		var i int
		switch {
		case strings.HasPrefix(fe.Field, "holidays["):
			fmt.Sscanf(fe.Field, "holidays[%d]", &i)
			fe.Message = secondment.Msg("calendar.error.entry", "Entry", in.Holidays[i].From+" "+in.Holidays[i].To+" "+in.Holidays[i].Name, "Problem", fe.Message)
			fe.Field = "holidays"
		case strings.HasPrefix(fe.Field, "workdays["):
			fmt.Sscanf(fe.Field, "workdays[%d]", &i)
			fe.Message = secondment.Msg("calendar.error.entry", "Entry", in.Workdays[i].Date+" "+in.Workdays[i].Name, "Problem", fe.Message)
			fe.Field = "workdays"
		}
		out.Fields = append(out.Fields, fe)
	}
	return &out
}

func holidayLines(y secondment.CalendarYear) string {
	var b strings.Builder
	for _, h := range y.Holidays {
		if h.From == h.To {
			fmt.Fprintf(&b, "%s %s\n", h.From, h.Name)
		} else {
			fmt.Fprintf(&b, "%s %s %s\n", h.From, h.To, h.Name)
		}
	}
	return b.String()
}

func workdayLines(y secondment.CalendarYear) string {
	var b strings.Builder
	for _, w := range y.Workdays {
		fmt.Fprintf(&b, "%s %s\n", w.Day, w.Name)
	}
	return b.String()
}

// The JSON API: the same use cases.

type apiCalendarYear struct {
	Year     int               `json:"year"`
	Source   string            `json:"source"`
	Holidays []apiCalendarSpan `json:"holidays"`
	Workdays []apiCalendarDay  `json:"workdays"`
}

type apiCalendarSpan struct {
	From string `json:"from"`
	To   string `json:"to,omitempty"`
	Name string `json:"name"`
}

type apiCalendarDay struct {
	Date string `json:"date"`
	Name string `json:"name"`
}

func calendarJSON(y secondment.CalendarYear) apiCalendarYear {
	out := apiCalendarYear{Year: y.Year, Source: y.Source, Holidays: []apiCalendarSpan{}, Workdays: []apiCalendarDay{}}
	for _, h := range y.Holidays {
		out.Holidays = append(out.Holidays, apiCalendarSpan{From: h.From.String(), To: h.To.String(), Name: h.Name})
	}
	for _, w := range y.Workdays {
		out.Workdays = append(out.Workdays, apiCalendarDay{Date: w.Day.String(), Name: w.Name})
	}
	return out
}

func (s *Server) handleAPICalendarList(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	years, missing, err := s.app.CalendarYears(r.Context(), u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	type row struct {
		Year     int    `json:"year"`
		Source   string `json:"source"`
		Holidays int    `json:"holiday_days"`
		Workdays int    `json:"workdays"`
	}
	out := []row{}
	for _, y := range years {
		out = append(out, row{y.Year, y.Source, y.Holidays, y.Workdays})
	}
	if missing == nil {
		missing = []int{}
	}
	writeJSON(w, map[string]any{"years": out, "missing": missing})
}

func (s *Server) handleAPICalendarGet(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	year, err := calendarYear(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	y, err := s.app.CalendarYear(r.Context(), u, year)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, calendarJSON(y))
}

func (s *Server) handleAPICalendarPut(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	year, err := calendarYear(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var body struct {
		Source   string            `json:"source"`
		Holidays []apiCalendarSpan `json:"holidays"`
		Workdays []apiCalendarDay  `json:"workdays"`
	}
	if err := readJSON(w, r, &body); err != nil {
		s.fail(w, r, err)
		return
	}
	in := approval.CalendarInput{Year: year, Source: body.Source}
	for _, h := range body.Holidays {
		in.Holidays = append(in.Holidays, approval.CalendarSpanInput{From: h.From, To: h.To, Name: h.Name})
	}
	for _, d := range body.Workdays {
		in.Workdays = append(in.Workdays, approval.CalendarDayInput{Date: d.Date, Name: d.Name})
	}
	y, err := s.app.CalendarSave(r.Context(), u, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, calendarJSON(y))
}
