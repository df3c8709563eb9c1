package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"secondment/internal/secondment"
)

// Issue #12: the system administrator keeps the holiday calendar. The
// years the migrations load are listed with their notices; the year ahead
// that is missing is said so; entering it through the page checks every
// line (a weekday given as a make-up working day is refused beside its
// text area, nothing saved), then saves the year whole; the API reads and
// replaces it the same way, and the next working-day count reads it.
func TestHolidayCalendarAdmin(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, time.Date(2026, time.December, 7, 9, 0, 0, 0, secondment.Shanghai))
	admin := s.as(t, "sysadmin")
	_, body := admin.get("/admin/calendar")
	page := doc(t, body)
	years := byTestID(page, "calendar-year")
	if len(years) != 4 || attr(years[0], "data-year") != "2026" || !strings.Contains(within(page, "calendar-years"), "国务院办公厅关于2024年部分节假日安排的通知") {
		t.Fatalf("years listed: %d %q", len(years), within(page, "calendar-years"))
	}
	if m := byTestID(page, "calendar-missing"); len(m) != 1 || attr(m[0], "data-year") != "2027" {
		t.Fatalf("2027 not said missing: %q", within(page, "calendar-missing"))
	}

	form := url.Values{"source": {"测试通知（2026年11月）"}, "holidays": {"2027-01-01 元旦\n2027-02-05 2027-02-11 春节"},
		"workdays": {"2027-02-03 春节"}} // a Wednesday: refused
	res, body := admin.post("/admin/calendar/2027", form)
	if got := within(doc(t, body), "error-workdays"); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(got, "2027-02-03") {
		t.Fatalf("a weekday as a make-up working day: %d %q", res.StatusCode, got)
	}
	if _, body := admin.get("/admin/calendar"); len(byTestID(doc(t, body), "calendar-year")) != 4 {
		t.Fatal("a refused year was saved")
	}
	form.Set("workdays", "2027-02-14 春节\nnot a line")
	if res, body := admin.post("/admin/calendar/2027", form); res.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(within(doc(t, body), "error-workdays"), "not a line") {
		t.Fatalf("an unreadable line: %d", res.StatusCode)
	}
	form.Set("workdays", "2027-02-14 春节")
	if res, _ := admin.post("/admin/calendar/2027", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save 2027: %d", res.StatusCode)
	}
	cal, err := s.store.Calendar(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// From Thursday 4 February 2027 to Monday 15 February: the 14th
	// (a Sunday worked) and the 12th and 15th.
	if n := cal.WorkingDaysAfter(secondment.D(2027, 2, 4), secondment.D(2027, 2, 15)); !cal.Known(2027) || n != 3 {
		t.Errorf("working days over the 2027 break entered: %d", n)
	}
	var audited int
	if err := s.store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM audit_event WHERE action = 'calendar.update' AND object_id = 2027`).Scan(&audited); err != nil || audited != 1 {
		t.Errorf("audit events of the save: %d %v", audited, err)
	}

	// The API: the same year read back, then replaced whole.
	a := apiCaller{t, s}
	tok := a.token("sysadmin")
	res, got := a.call(tok, "GET", "/api/v1/calendar/2027", nil)
	if hs, _ := got["holidays"].([]any); res.StatusCode != 200 || len(hs) != 2 || hs[1].(map[string]any)["to"] != "2027-02-11" {
		t.Fatalf("GET 2027: %d %v", res.StatusCode, got)
	}
	res, got = a.call(tok, "PUT", "/api/v1/calendar/2027", map[string]any{"source": "测试通知", "holidays": []map[string]string{{"from": "2027-13-01", "name": "元旦"}}})
	if res.StatusCode != http.StatusUnprocessableEntity || fieldErrors(got)["holidays[0]"] == nil {
		t.Fatalf("PUT a bad date: %d %v", res.StatusCode, got)
	}
	res, got = a.call(tok, "PUT", "/api/v1/calendar/2027", map[string]any{"source": "测试通知", "holidays": []map[string]string{{"from": "2027-01-01", "name": "元旦"}}})
	if res.StatusCode != 200 || len(got["workdays"].([]any)) != 0 {
		t.Fatalf("PUT 2027: %d %v", res.StatusCode, got)
	}
	if res, _ := a.call(tok, "GET", "/api/v1/calendar/2031", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("a year not entered: %d", res.StatusCode)
	}
	if res, _ := a.call(a.token("xj-ks-zzb.orgdept"), "PUT", "/api/v1/calendar/2027", map[string]any{"source": "x"}); res.StatusCode != http.StatusForbidden {
		t.Errorf("an org dept replacing the calendar: %d", res.StatusCode)
	}
}
