package secondment

import (
	"slices"
	"strconv"
)

// RuleID names a rule of DOMAIN.md: "R1" … "R14", and R15, the
// borrowing-unit limit of its policy paragraph.
type RuleID string

const (
	R1  RuleID = "R1"  // purpose: key task, special or major project only
	R2  RuleID = "R2"  // no cross-level borrowing
	R3  RuleID = "R3"  // no cross-system borrowing
	R4  RuleID = "R4"  // townships protected
	R5  RuleID = "R5"  // one term at most N months
	R6  RuleID = "R6"  // a renewal runs the whole procedure again
	R7  RuleID = "R7"  // cumulative caps and cooling-off
	R8  RuleID = "R8"  // fixed order: approval before the start
	R9  RuleID = "R9"  // exchange/attachment exempt; disguises are secondments
	R10 RuleID = "R10" // overdue goes to the irregular ledger
	R11 RuleID = "R11" // clean-up holds major-project secondees until term end
	R12 RuleID = "R12" // transfer-in within staffing and post quota
	R13 RuleID = "R13" // dual filing
	R14 RuleID = "R14" // lending-unit burden
	R15 RuleID = "R15" // borrowing-unit limit (limit.go)
	R16 RuleID = "R16" // key and classified posts are not filled by secondees (an option)
)

var AllRules = []RuleID{R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, R11, R12, R13, R14, R15, R16}

func (r RuleID) Valid() bool { return slices.Contains(AllRules, r) }

// Name is the rule's short title, e.g. "不得跨系统借用".
func (r RuleID) Name() Message { return Msg("rule." + string(r) + ".name") }

func (r RuleID) num() int { n, _ := strconv.Atoi(string(r[1:])); return n }

// Severity says what a violation does to a request.
type Severity string

const (
	SeverityBlock     Severity = "block"     // cannot be submitted
	SeverityException Severity = "exception" // needs a written justification and org-dept approval
	SeverityWarning   Severity = "warning"   // shown only
)

var AllSeverities = []Severity{SeverityBlock, SeverityException, SeverityWarning}

func (s Severity) Message() Message { return Msg("severity." + string(s)) }

// Violation is one rule a request breaks, explained for the clerk.
type Violation struct {
	Rule     RuleID
	Severity Severity
	Message  Message
	Source   Source // what the rule rests on (Policy.Cite)
}

// Violations is the outcome of an evaluation: all of them, in rule order.
type Violations []Violation

// Blocked reports whether any violation blocks the request.
func (vs Violations) Blocked() bool { return vs.any(SeverityBlock) }

// NeedsException reports whether the request needs a justified exception.
func (vs Violations) NeedsException() bool { return vs.any(SeverityException) }

func (vs Violations) any(sev Severity) bool {
	return slices.ContainsFunc(vs, func(v Violation) bool { return v.Severity == sev })
}

// Rules lists the rule ids, each once, in order.
func (vs Violations) Rules() []RuleID { return vs.rules(func(Violation) bool { return true }) }

func (vs Violations) rules(keep func(Violation) bool) []RuleID {
	var ids []RuleID
	for _, v := range vs {
		if keep(v) && !slices.Contains(ids, v.Rule) {
			ids = append(ids, v.Rule)
		}
	}
	slices.SortFunc(ids, func(a, b RuleID) int { return a.num() - b.num() })
	return ids
}

// TownshipMode is how R4 protects townships.
type TownshipMode string

const (
	TownshipAllowed   TownshipMode = "allowed"
	TownshipException TownshipMode = "exception" // central No.1 document 2024: 一般不得
	TownshipForbidden TownshipMode = "forbidden" // Baotou: 一律不得
)

var AllTownshipModes = []TownshipMode{TownshipAllowed, TownshipException, TownshipForbidden}

func (m TownshipMode) Valid() bool      { return slices.Contains(AllTownshipModes, m) }
func (m TownshipMode) Message() Message { return Msg("township." + string(m)) }

// Policy is one version of a jurisdiction's rules. Every number is off at 0.
// R8 (order), R10 (overdue) and R6's structure hold whatever the policy says.
type Policy struct {
	Preset        PresetName // the preset it was built from; "" for a custom policy
	Version       int
	EffectiveFrom Date // in force from this day until the next version's

	Purposes     []Purpose    // R1: allowed purposes; empty = any
	MaxLevelGap  int          // R2: the lending unit at most this many levels below
	SameSystem   bool         // R3
	SystemGroups [][]System   // R3: separate lines that count as one
	Township     TownshipMode // R4
	TermMonths   int          // R5

	RenewalApplyByDays int // R6: a renewal is submitted at least this many days before the end
	ChainCapMonths     int // R7: over the renewal chain
	PersonCapMonths    int // R7: per person within the rolling window
	PersonWindowMonths int
	CoolingOffMonths   int // R7: no new secondment of a person within N months of a return

	ConsentLetter     bool // R8: the lending unit's consent must carry its signed letter
	ReturnGraceDays   int  // R10: days after the end before a secondee is overdue
	CleanupHoldsMajor bool // R11
	TransferInQuota   bool // R12
	DualFiling        bool // R13
	BurdenWarnBP      int  // R14: warn when seconded-out/headcount reaches this, in basis points (1% = 100)
	BorrowerCapBP     int  // R15: people a borrowing unit may hold, as a share of its staffing quota (basis points)
	BorrowerCapPeople int  // R15: … as a number; with both, the smaller applies
	// R16: key and classified posts (关键岗位、涉密岗位) are not filled by
	// secondees, save by an approved exception. Not in the seed: real
	// approval forms carry it, so a policy may switch it on; no preset does.
	KeyPostsExcluded bool

	Citations []Citation // where the seed says so, for the user and the docs
	Basis     string     // the document that set this version (依据), as the org dept enters it
}

// Citation ties a rule of a preset to the words of its source, quoted
// verbatim from the seed article (a test checks they are there).
type Citation struct {
	Rule  RuleID
	Quote string
}

// Message names the policy for the user: a preset's name and version.
func (p Policy) Message() Message {
	if p.Preset == "" {
		return Msg("policy.custom", "Version", p.Version, "From", p.EffectiveFrom.String())
	}
	return Msg("preset."+string(p.Preset)+".policy", "Version", p.Version, "From", p.EffectiveFrom.String())
}

// Validate checks a policy a jurisdiction sets up.
func (p Policy) Validate() error {
	var fe []FieldError
	bad := func(field, id string, kv ...any) { fe = append(fe, FieldError{field, Msg(id, kv...)}) }
	if p.Version < 1 {
		bad("version", "error.range", "Min", 1, "Max", 1_000_000)
	}
	if p.EffectiveFrom.IsZero() {
		bad("effective_from", "error.required")
	}
	for _, pu := range p.Purposes {
		if !pu.Valid() || pu == PurposeRoutine {
			bad("purposes", "policy.error.purposes")
			break
		}
	}
	for _, g := range p.SystemGroups {
		for _, s := range g {
			if !s.Valid() {
				bad("system_groups", "unit.error.system")
			}
		}
	}
	if !p.Township.Valid() {
		bad("township", "policy.error.township")
	}
	for _, n := range []struct {
		field    string
		v, limit int
	}{
		{"max_level_gap", p.MaxLevelGap, len(Levels) - 1},
		{"term_months", p.TermMonths, 60},
		{"renewal_apply_by_days", p.RenewalApplyByDays, 90},
		{"chain_cap_months", p.ChainCapMonths, 120},
		{"person_cap_months", p.PersonCapMonths, 120},
		{"person_window_months", p.PersonWindowMonths, 120},
		{"cooling_off_months", p.CoolingOffMonths, 120},
		{"return_grace_days", p.ReturnGraceDays, 90},
		{"burden_warn_bp", p.BurdenWarnBP, 10_000},
		{"borrower_cap_bp", p.BorrowerCapBP, 10_000},
		{"borrower_cap_people", p.BorrowerCapPeople, 100_000},
	} {
		if n.v < 0 || n.v > n.limit {
			bad(n.field, "error.range", "Min", 0, "Max", n.limit)
		}
	}
	if (p.PersonCapMonths == 0) != (p.PersonWindowMonths == 0) || p.PersonCapMonths > p.PersonWindowMonths {
		bad("person_window_months", "policy.error.window")
	}
	if p.TermMonths > 0 && p.ChainCapMonths > 0 && p.ChainCapMonths < p.TermMonths {
		bad("chain_cap_months", "policy.error.cap_below_term")
	}
	if len(fe) > 0 {
		return &Error{Code: EInvalid, Message: Msg("error.invalid"), Fields: fe}
	}
	return nil
}

// PolicyOn picks from the versions of one jurisdiction's policy the one in
// force on day d: the latest whose EffectiveFrom is not after d. A request is
// judged by the version in force on its submission day, and at the sign-off
// by the one in force that day.
func PolicyOn(versions []Policy, d Date) (Policy, error) {
	var best *Policy
	for i := range versions {
		v := &versions[i]
		if !v.EffectiveFrom.After(d) && (best == nil || v.EffectiveFrom.After(best.EffectiveFrom) ||
			(v.EffectiveFrom == best.EffectiveFrom && v.Version > best.Version)) {
			best = v
		}
	}
	if best == nil {
		return Policy{}, Errorf(ENotFound, Msg("policy.error.none_in_force", "Date", d.String()), nil)
	}
	return *best, nil
}

// sameLine reports whether two systems count as one for R3.
func (p Policy) sameLine(a, b System) bool {
	if a == b {
		return true
	}
	for _, g := range p.SystemGroups {
		if slices.Contains(g, a) && slices.Contains(g, b) {
			return true
		}
	}
	return false
}

// SameRule reports whether p and q set rule r alike, to tell which of a
// preset's citations still hold for an edited copy.
func (p Policy) SameRule(q Policy, r RuleID) bool {
	switch r {
	case R1:
		return slices.Equal(p.Purposes, q.Purposes)
	case R2:
		return p.MaxLevelGap == q.MaxLevelGap
	case R3:
		return p.SameSystem == q.SameSystem && slices.EqualFunc(p.SystemGroups, q.SystemGroups, slices.Equal[[]System])
	case R4:
		return p.Township == q.Township
	case R5:
		return p.TermMonths == q.TermMonths
	case R6:
		return p.RenewalApplyByDays == q.RenewalApplyByDays
	case R7:
		return p.ChainCapMonths == q.ChainCapMonths && p.PersonCapMonths == q.PersonCapMonths &&
			p.PersonWindowMonths == q.PersonWindowMonths && p.CoolingOffMonths == q.CoolingOffMonths
	case R8:
		return p.ConsentLetter == q.ConsentLetter
	case R10:
		return p.ReturnGraceDays == q.ReturnGraceDays
	case R11:
		return p.CleanupHoldsMajor == q.CleanupHoldsMajor
	case R12:
		return p.TransferInQuota == q.TransferInQuota
	case R13:
		return p.DualFiling == q.DualFiling
	case R14:
		return p.BurdenWarnBP == q.BurdenWarnBP
	case R15:
		return p.BorrowerCapBP == q.BorrowerCapBP && p.BorrowerCapPeople == q.BorrowerCapPeople
	case R16:
		return p.KeyPostsExcluded == q.KeyPostsExcluded
	}
	return true // R9 has no setting
}

// Edited is p after an editor changed it from base: a preset's name stays
// only while every rule is the preset's, and a citation only while its
// rule is (a changed threshold is no longer what the source says).
func (p Policy) Edited(base Policy) Policy {
	same := true
	for _, r := range AllRules {
		same = same && p.SameRule(base, r)
	}
	if !same {
		p.Preset = ""
	}
	p.Citations = slices.DeleteFunc(slices.Clone(p.Citations), func(c Citation) bool { return !p.SameRule(base, c.Rule) })
	return p
}
