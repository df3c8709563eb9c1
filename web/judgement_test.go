package web

import (
	"testing"

	"secondment/internal/approval"
	"secondment/internal/secondment"
)

// Two policy panels show only when the submission's day and today judge a
// request differently: another version, or a rule with another outcome.
func TestSameJudgement(t *testing.T) {
	base := approval.Evaluation{Jurisdiction: "喀什市", Policy: secondment.Policy{Version: 2},
		Violations: secondment.Violations{{Rule: "R4", Severity: secondment.SeverityException}}}
	same := base
	if !sameJudgement(base, same) {
		t.Error("identical judgements told apart")
	}
	newer := base
	newer.Policy.Version = 3
	stricter := base
	stricter.Violations = secondment.Violations{{Rule: "R4", Severity: secondment.SeverityBlock}}
	more := base
	more.Violations = append(secondment.Violations{}, base.Violations[0], secondment.Violation{Rule: "R7", Severity: secondment.SeverityWarning})
	for name, e := range map[string]approval.Evaluation{"a new version": newer, "a stricter outcome": stricter, "another rule": more} {
		if sameJudgement(base, e) {
			t.Errorf("%s judged the same", name)
		}
	}
}
