package secondment

import "testing"

func TestWorkingDays(t *testing.T) {
	// Friday 3 May 2024 to Friday 10 May: Mon–Fri of the next week.
	if n := WorkingDaysAfter(D(2024, 5, 3), D(2024, 5, 10)); n != 5 {
		t.Fatalf("working days %d, want 5", n)
	}
	if EscalationDue(D(2024, 5, 3), D(2024, 5, 10), 5) {
		t.Fatal("due after exactly 5 working days; want more than 5")
	}
	if !EscalationDue(D(2024, 5, 3), D(2024, 5, 13), 5) {
		t.Fatal("not due after 6 working days")
	}
	if EscalationDue(D(2024, 5, 3), D(2024, 6, 13), 0) {
		t.Fatal("0 turns escalation off")
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
