package server

import (
	"testing"

	"secondment/internal/secondment"
)

// Issue #12: a refusal lists each rule with its own outcome, never lumped:
// an exception already justified is not named as a reason it cannot
// proceed, one still lacking its reason is named as needing it.
func TestRefusalSummary(t *testing.T) {
	vs := secondment.Violations{
		{Rule: secondment.R4, Severity: secondment.SeverityException},
		{Rule: secondment.R5, Severity: secondment.SeverityBlock},
		{Rule: secondment.R14, Severity: secondment.SeverityWarning},
	}
	if m := refusalSummary(vs, false); m.ID != "secondment.error.blocked" || m.Data["Rules"] != "R5" {
		t.Errorf("R4 justified: %+v", m)
	}
	if m := refusalSummary(vs, true); m.ID != "secondment.error.blocked_and_exception" || m.Data["Rules"] != "R5" || m.Data["Exceptions"] != "R4" {
		t.Errorf("R4 without its reason: %+v", m)
	}
	if m := refusalSummary(vs[:1], true); m.ID != "secondment.error.exception_reason" || m.Data["Rules"] != "R4" {
		t.Errorf("only R4, without its reason: %+v", m)
	}
	if m := refusalSummary(vs[2:], false); m.ID != "" {
		t.Errorf("a warning alone refuses nothing: %+v", m)
	}
}
