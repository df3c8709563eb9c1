package secondment

import "testing"

// A rectification's steps, on their own: what a plan may change and for
// whom, when a status may be reported, when the org dept may close.
func TestRectification(t *testing.T) {
	today := D(2024, 6, 1)
	r := Rectification{ID: 1, SecondmentID: 7, Rule: R4, OpenedOn: D(2024, 5, 1), ResponsibleUnitID: 3, Status: RectRectifying}
	parties := []int64{3, 4}

	// The responsible unit writes texts only.
	got, err := r.Plan(RectPlan{TargetTask: " 返回 ", Measures: "交接", ResponsiblePerson: "王", ResponsibleUnitID: 4,
		Deadline: D(2024, 7, 1)}, parties, today)
	if err != nil || got.TargetTask != "返回" || got.ResponsibleUnitID != 3 || !got.Deadline.IsZero() {
		t.Errorf("a responsible unit's plan: %+v %v", got, err)
	}
	// A keeper sets the deadline and the unit, among the parties, not in the past.
	got, err = r.Plan(RectPlan{ResponsibleUnitID: 4, Deadline: D(2024, 7, 1), Keeper: true}, parties, today)
	if err != nil || got.ResponsibleUnitID != 4 || got.Deadline != D(2024, 7, 1) {
		t.Errorf("a keeper's plan: %+v %v", got, err)
	}
	if _, err := r.Plan(RectPlan{ResponsibleUnitID: 9, Deadline: D(2024, 5, 31), Keeper: true}, parties, today); err == nil ||
		len(err.(*Error).Fields) != 2 {
		t.Errorf("another unit and a past deadline: %v", err)
	}
	long := make([]rune, 1001)
	for i := range long {
		long[i] = '字'
	}
	if _, err := r.Plan(RectPlan{Measures: string(long)}, parties, today); ErrorCodeOf(err) != EInvalid {
		t.Errorf("1,001 characters of measures: %v", err)
	}
	// A new deadline after an escalation clears the flag; keeping the old
	// one (now past) is no error.
	esc := r
	esc.Deadline, esc.EscalatedOn, esc.EscalatedTo = D(2024, 5, 20), D(2024, 5, 21), 2
	if got, err := esc.Plan(RectPlan{ResponsibleUnitID: 3, Deadline: D(2024, 5, 20), Keeper: true}, parties, today); err != nil || got.EscalatedTo != 2 {
		t.Errorf("keeping a past deadline: %+v %v", got, err)
	}
	if got, _ := esc.Plan(RectPlan{ResponsibleUnitID: 3, Deadline: D(2024, 6, 15), Keeper: true}, parties, today); got.EscalatedTo != 0 || !got.EscalatedOn.IsZero() {
		t.Errorf("a new deadline kept the escalation: %+v", got)
	}
	if !esc.PastDeadline(today) || esc.PastDeadline(D(2024, 5, 20)) {
		t.Errorf("past deadline: the day after it only")
	}

	// Statuses: reported, but closing is the org dept's own step.
	if _, err := r.Report(RectClosed); ErrorCodeOf(err) != EInvalid {
		t.Errorf("reporting closed: %v", err)
	}
	if _, err := r.Close("同意", today); ErrorCodeOf(err) != EInvalid {
		t.Errorf("closing without an outcome: %v", err)
	}
	back, err := r.Report(RectTermEnd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := back.Close("", today); ErrorCodeOf(err) != EInvalid {
		t.Errorf("closing without an opinion: %v", err)
	}
	closed, err := back.Close("期满已返回", today)
	if err != nil || closed.Status != RectClosed || closed.ClosedOn != today || closed.PastDeadline(D(2030, 1, 1)) {
		t.Fatalf("close: %+v %v", closed, err)
	}
	for name, err := range map[string]error{
		"plan":   func() error { _, err := closed.Plan(RectPlan{}, parties, today); return err }(),
		"report": func() error { _, err := closed.Report(RectReturned); return err }(),
		"close":  func() error { _, err := closed.Close("再次", today); return err }(),
	} {
		if ErrorCodeOf(err) != EConflict {
			t.Errorf("%s on a closed entry: %v", name, err)
		}
	}
}
