package secondment

import "slices"

// PolicyImpact is what judging a jurisdiction's requests by one policy
// version finds (the preview of a new version): how many were judged, how
// many it would refuse or flag, and how many more would need an exception,
// with the requests per rule that blocks them.
type PolicyImpact struct {
	Judged, Blocked, Exception int
	Rules                      map[RuleID]int
}

// Add counts one request judged to vs, of which only the blocks keep
// accepts count as blocks (a running secondment is flagged by what it is,
// not by the procedure it went through).
func (x *PolicyImpact) Add(vs Violations, keep func(Violation) bool) {
	if x.Rules == nil {
		x.Rules = map[RuleID]int{}
	}
	x.Judged++
	var rules []RuleID
	for _, v := range vs {
		if v.Severity == SeverityBlock && keep(v) && !slices.Contains(rules, v.Rule) {
			rules = append(rules, v.Rule)
		}
	}
	for _, r := range rules {
		x.Rules[r]++
	}
	switch {
	case len(rules) > 0:
		x.Blocked++
	case vs.NeedsException():
		x.Exception++
	}
}
