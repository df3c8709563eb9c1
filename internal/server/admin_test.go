package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"secondment/internal/jobs"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

func TestAdminUnits(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	admin := s.as(t, "sysadmin")
	res, _ := admin.post("/admin/units", url.Values{"code": {"NMG-BT-QS-XY"}, "name": {"兴业路街道办事处"}, "level": {"township"},
		"system": {"general"}, "parent": {"NMG-BT-QS"}, "staffing_quota": {"20"}, "headcount": {"18"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", res.StatusCode)
	}
	u, err := s.store.UnitGetByCode(t.Context(), "NMG-BT-QS-XY")
	if err != nil || *u.StaffingQuota != 20 || u.PostQuota != nil {
		t.Fatalf("created unit %+v, %v", u, err)
	}
	for name, form := range map[string]url.Values{
		"code taken":            {"code": {"NMG-BT-QS-XY"}, "name": {"重复"}, "level": {"township"}, "system": {"general"}, "parent": {"NMG-BT-QS"}},
		"county under township": {"code": {"BAD-1"}, "name": {"倒挂"}, "level": {"county"}, "system": {"general"}, "parent": {"NMG-BT-QS-XY"}},
		"court as party":        {"code": {"BAD-2"}, "name": {"法院"}, "level": {"city"}, "system": {"court"}, "branch": {"party"}},
		"bad number":            {"code": {"BAD-3"}, "name": {"某"}, "level": {"city"}, "system": {"general"}, "headcount": {"-4x"}},
	} {
		res, body := admin.post("/admin/units", form)
		if res.StatusCode != http.StatusUnprocessableEntity || within(doc(t, body), "form-summary") == "" {
			t.Errorf("%s: %d", name, res.StatusCode)
		}
	}
	if n, _, _ := s.store.UnitCount(t.Context()); n != 28 {
		t.Fatalf("%d units after refused creates, want 28", n)
	}
	res, _ = admin.post("/admin/units/"+itoa(u.ID), url.Values{"name": {"兴业路街道"}, "staffing_quota": {"22"}, "headcount": {"19"}, "post_quota": {"4"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("update: %d", res.StatusCode)
	}
	u, _ = s.store.UnitGetByCode(t.Context(), "NMG-BT-QS-XY")
	if u.Name != "兴业路街道" || *u.StaffingQuota != 22 || *u.PostQuota != 4 || *u.Headcount != 19 {
		t.Fatalf("updated unit %+v", u)
	}
	if res, _ := admin.post("/admin/units/999999", url.Values{"name": {"某"}}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("update of a missing unit: %d", res.StatusCode)
	}
	events, _, _ := s.store.AuditList(t.Context(), postgres.AuditFilter{Action: "unit."})
	if len(events) != 2 || events[0].Action != "unit.update" || events[1].Action != "unit.create" {
		t.Fatalf("unit events %+v", events)
	}
}

func TestJobsPage(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	if _, err := s.store.Sweep(t.Context(), secondment.D(2024, 5, 6), s.clock.Now(), postgres.SweepOptions{Origin: "test"}); err != nil {
		t.Fatal(err)
	}
	c, err := jobs.NewClient(s.store, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Insert(t.Context(), jobs.SweepArgs{Day: "2024-05-06"}, nil); err != nil {
		t.Fatal(err)
	}
	res, body := s.as(t, "sysadmin").get("/admin/jobs")
	page := doc(t, body)
	if res.StatusCode != http.StatusOK || len(byTestID(page, "sweep-row")) != 1 || len(byTestID(page, "job-row")) != 1 ||
		attr(byTestID(page, "job-row")[0], "data-state") != "available" {
		t.Fatalf("jobs page: %d, %d sweeps, %d jobs", res.StatusCode, len(byTestID(page, "sweep-row")), len(byTestID(page, "job-row")))
	}
	// Kinds, states and origins in the user's words, not River's codes.
	if row := text(byTestID(page, "job-row")[0]); !strings.Contains(row, "到期巡检") || !strings.Contains(row, "待执行") {
		t.Errorf("job row in codes: %q", row)
	}
	// The sweep's count of running secondments a new policy entered (none
	// in the demo without its stories) is shown with the others.
	if got := within(page, "sweep-policy-flagged"); got != "0" {
		t.Errorf("policy-flagged column: %q", got)
	}
	// A sweep killed midway stays on record unfinished, shown as
	// interrupted once past the sweep's time limit.
	if _, err := s.store.Pool.Exec(t.Context(), `INSERT INTO sweep_run (day, started_at, origin) VALUES ('2024-05-06', $1, 'job 7')`,
		s.clock.Now().Add(-jobs.SweepTimeout-time.Minute)); err != nil {
		t.Fatal(err)
	}
	_, body = s.as(t, "sysadmin").get("/admin/jobs")
	if got := byTestID(doc(t, body), "sweep-interrupted"); len(got) != 1 {
		t.Fatalf("an interrupted sweep is not shown: %d", len(got))
	}
}
