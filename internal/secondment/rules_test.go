package secondment

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

// latest is the newest version of a preset.
func latest(n PresetName) Policy { v := Preset(n); return v[len(v)-1] }

func unit(id int64, name string, l Level, sys System, headcount int) Unit {
	return Unit{ID: id, Name: name, Level: l, System: sys, StaffingQuota: ip(headcount + 5), Headcount: ip(headcount), PostQuota: ip(3)}
}

var (
	countyGov   = unit(1, "县政府办", LevelCounty, SystemGeneral, 40)
	countyGov2  = unit(2, "县财政局", LevelCounty, SystemGeneral, 40)
	countyCourt = unit(3, "县法院", LevelCounty, SystemCourt, 40)
	cityGov     = unit(4, "市政府办", LevelCity, SystemGeneral, 40)
	township    = unit(5, "某镇", LevelTownship, SystemGeneral, 40)
)

// probe is a request and its facts built to touch exactly one rule.
type probe struct {
	s Secondment
	f Facts
}

func baseProbe() probe {
	return probe{
		s: Secondment{ID: 10, State: StateDraft, Kind: KindSecondment, Purpose: PurposeSpecialProject, Task: "专项工作",
			PersonID: 1, BorrowerID: countyGov.ID, LenderID: countyGov2.ID, Start: D(2024, 3, 1), End: D(2024, 5, 31),
			SubmittedOn: D(2024, 2, 25)},
		f: Facts{Jurisdiction: "某市", Borrower: countyGov, Lender: countyGov2},
	}
}

// running is a term of the same person and units as p, in state st.
func (p probe) running(id int64, st State, start, end Date, prev int64) Secondment {
	return Secondment{ID: id, State: st, Kind: KindSecondment, PersonID: p.s.PersonID, BorrowerID: p.s.BorrowerID,
		LenderID: p.s.LenderID, Start: start, End: end, PreviousID: prev}
}

// TestRulesPerPreset takes every rule under every preset: a request made to
// break that rule, and the severity each preset gives it ("" = not a rule there).
func TestRulesPerPreset(t *testing.T) {
	type outcome map[PresetName]Severity
	all := func(s Severity) outcome {
		return outcome{PresetNational: s, PresetBaotou: s, PresetWeihai: s, PresetKashgar: s}
	}
	cases := []struct {
		rule  RuleID
		check func(Policy) Violations
		want  outcome
	}{
		{R1, evaluate(func(p *probe) { p.s.Purpose = PurposeRoutine }),
			outcome{PresetBaotou: SeverityBlock, PresetWeihai: SeverityBlock}},
		{R2, evaluate(func(p *probe) { p.f.Borrower, p.f.Lender = cityGov, township }),
			outcome{PresetWeihai: SeverityBlock}},
		{R3, evaluate(func(p *probe) { p.f.Borrower = countyCourt }),
			outcome{PresetWeihai: SeverityBlock}},
		{R4, evaluate(func(p *probe) { p.f.Lender = township }),
			outcome{PresetNational: SeverityException, PresetBaotou: SeverityBlock, PresetWeihai: SeverityException, PresetKashgar: SeverityException}},
		{R5, evaluate(func(p *probe) { p.s.End = D(2024, 6, 1) }), // one day over 3 months
			outcome{PresetWeihai: SeverityBlock, PresetKashgar: SeverityBlock}},
		{R6, evaluate(func(p *probe) { // a renewal that does not continue from the day after
			p.f.History = []Secondment{p.running(9, StateActive, D(2024, 1, 1), D(2024, 3, 31), 0)}
			p.s.PreviousID, p.s.Start, p.s.End, p.s.SubmittedOn = 9, D(2024, 4, 5), D(2024, 5, 31), D(2024, 3, 20)
		}), all(SeverityBlock)},
		{R7, evaluate(func(p *probe) { // third term of a chain: 275 days against 6 months
			p.f.History = []Secondment{
				p.running(8, StateRenewed, D(2023, 12, 1), D(2024, 2, 29), 0),
				p.running(9, StateActive, D(2024, 3, 1), D(2024, 5, 31), 8)}
			p.s.PreviousID, p.s.Start, p.s.End, p.s.SubmittedOn = 9, D(2024, 6, 1), D(2024, 8, 31), D(2024, 5, 20)
		}), outcome{PresetWeihai: SeverityBlock, PresetKashgar: SeverityBlock}},
		{R8, evaluate(func(p *probe) { p.s.SubmittedOn = D(2024, 3, 2) }), all(SeverityBlock)},
		{R9, evaluate(func(p *probe) { p.s.Alias = AliasShadowing }), all(SeverityWarning)},
		{R10, func(pol Policy) Violations {
			p := baseProbe()
			s := p.running(10, StateExpired, D(2024, 3, 1), D(2024, 5, 31), 0)
			s.FiledByBorrower, s.FiledByLender = D(2024, 3, 1), D(2024, 3, 1)
			return Audit(pol, s, D(2024, 6, 1+pol.ReturnGraceDays))
		}, all(SeverityBlock)},
		{R11, func(pol Policy) Violations {
			s, a, in, now := fixture(StateActive, ActRecall, RoleOrgDept)
			s.Purpose = PurposeMajorProject
			in.Jurisdiction.Policies = []Policy{pol}
			s.PolicyVersion = pol.Version
			_, err := Transition(s, a, in, now)
			var e *Error
			if errors.As(err, &e) {
				return e.Violations
			}
			return nil
		}, outcome{PresetKashgar: SeverityBlock}},
		{R12, func(pol Policy) Violations {
			p := baseProbe()
			full := p.f.Borrower
			full.Headcount = full.StaffingQuota
			return CheckTransferIn(pol, p.s, TransferFacts{Borrower: full})
		}, all(SeverityBlock)},
		{R13, func(pol Policy) Violations {
			p := baseProbe()
			s := p.running(10, StateActive, D(2024, 3, 1), D(2024, 5, 31), 0)
			s.FiledByBorrower = D(2024, 3, 1)
			return Audit(pol, s, D(2024, 3, 10))
		}, outcome{PresetWeihai: SeverityWarning}},
		{R14, evaluate(func(p *probe) { p.f.Lender.Headcount, p.f.LenderAway = ip(23), 3 }), all(SeverityWarning)},
		// The seed names no number for R15: no preset limits a borrowing
		// unit, however many it holds (TestBorrowerLimit sets one).
		{R15, evaluate(func(p *probe) { p.f.BorrowerHeld = 500 }), outcome{}},
		// Nor does it say anything of key posts: no preset excludes them
		// (TestR16KeyPosts switches the option on).
		{R16, evaluate(func(p *probe) { p.s.KeyPost = true }), outcome{}},
	}
	if len(cases) != len(AllRules) {
		t.Fatalf("%d rule cases for %d rules", len(cases), len(AllRules))
	}
	for i, tc := range cases {
		if tc.rule != AllRules[i] {
			t.Fatalf("case %d is %s", i, tc.rule)
		}
		for _, n := range AllPresets {
			t.Run(string(n)+"/"+string(tc.rule), func(t *testing.T) {
				vs := tc.check(latest(n))
				var got Severity
				for _, v := range vs {
					if v.Rule == tc.rule {
						got = v.Severity
					} else if v.Rule != R14 && v.Rule != R4 && tc.rule != R11 {
						t.Errorf("stray violation %+v", v)
					}
				}
				if got != tc.want[n] {
					t.Errorf("%s under %s: %q, want %q (all: %+v)", tc.rule, n, got, tc.want[n], vs)
				}
			})
		}
	}
}

func evaluate(change func(*probe)) func(Policy) Violations {
	return func(pol Policy) Violations {
		p := baseProbe()
		change(&p)
		return Evaluate(pol, p.s, p.f)
	}
}

// R9 (issue #12): only a formal exchange or attachment, arranged by an org
// dept's programme on record, skips R1–R7; a two-year routine 挂职 from a
// township up to a city organ without one is judged as a secondment, with
// R9's warning saying why.
func TestExemptKindsSkipR1ToR7(t *testing.T) {
	p := baseProbe()
	p.s.Kind, p.s.Purpose, p.s.End = KindAttachment, PurposeRoutine, D(2025, 3, 1)
	p.f.Borrower, p.f.Lender = cityGov, township
	formal := p.s
	formal.Programme = "市委组织部年轻干部双向挂职计划"
	for _, n := range AllPresets {
		if vs := Evaluate(latest(n), formal, p.f); len(vs) != 0 {
			t.Errorf("%s: a formal attachment refused: %+v", n, vs)
		}
		vs := Evaluate(latest(n), p.s, p.f)
		if !slices.ContainsFunc(vs, func(v Violation) bool { return v.Rule == R9 && v.Message.ID == "policy.r9.no_programme" }) {
			t.Errorf("%s: an attachment without a programme: %+v", n, vs)
		}
		if n == PresetWeihai && (!vs.Blocked() || !slices.Contains(vs.Rules(), R1) || !slices.Contains(vs.Rules(), R5)) {
			t.Errorf("weihai: a routine two-year 挂职 without a programme passes: %+v", vs)
		}
	}
}

func TestEvaluateReturnsEveryViolation(t *testing.T) {
	p := baseProbe()
	p.s.Purpose, p.s.End, p.s.SubmittedOn = PurposeRoutine, D(2024, 9, 30), D(2024, 3, 5)
	p.f.Borrower, p.f.Lender = unit(6, "市法院", LevelCity, SystemCourt, 100), township
	vs := Evaluate(latest(PresetWeihai), p.s, p.f)
	if got := vs.Rules(); !slices.Equal(got, []RuleID{R1, R2, R3, R4, R5, R7, R8}) {
		t.Errorf("rules %v", got)
	}
	if !vs.Blocked() || !vs.NeedsException() {
		t.Error("Blocked/NeedsException")
	}
}

// R7 is two measures (DOMAIN.md, issue #12): Weihai's 累计…不得超过半年 sums
// the days borrowed within a year, so a day's gap between terms resets
// nothing (3 + 3 + 3 months is refused); Kashgar's 最长连续 is the longest
// continuous chain, which the gap does end.
func TestR7SumAndChain(t *testing.T) {
	p := baseProbe()
	p.s.Start, p.s.End, p.s.SubmittedOn = D(2024, 7, 3), D(2024, 10, 2), D(2024, 6, 20)
	p.f.History = []Secondment{p.running(1, StateReturned, D(2024, 1, 1), D(2024, 3, 31), 0),
		p.running(2, StateReturned, D(2024, 4, 2), D(2024, 7, 1), 0)}
	p.f.History[0].ReturnedOn, p.f.History[1].ReturnedOn = D(2024, 3, 31), D(2024, 7, 1)
	weihai := Evaluate(latest(PresetWeihai), p.s, p.f)
	if !slices.ContainsFunc(weihai, func(v Violation) bool { return v.Rule == R7 && v.Message.ID == "policy.r7.window" }) {
		t.Errorf("Weihai, three terms of three months with a day between: %+v", weihai)
	}
	if kashgar := Evaluate(latest(PresetKashgar), p.s, p.f); slices.Contains(kashgar.Rules(), R7) {
		t.Errorf("Kashgar, the chain broken by a day: %+v", kashgar)
	}
	u := UsageOf(latest(PresetWeihai), p.s, p.f)
	if u.WindowCapDays == 0 || u.CapDays != 0 {
		t.Errorf("Weihai's live check shows the chain, not the sum: %+v", u)
	}
}

func TestR7WindowAndCoolingOff(t *testing.T) {
	pol := latest(PresetNational)
	pol.PersonCapMonths, pol.PersonWindowMonths, pol.CoolingOffMonths = 6, 12, 0
	p := baseProbe()
	// Two earlier terms at other units within a year: 92 + 92 days; this one 92 more.
	other := func(id int64, start, end Date) Secondment {
		s := p.running(id, StateReturned, start, end, 0)
		s.BorrowerID = 77
		return s
	}
	p.f.History = []Secondment{other(1, D(2023, 6, 1), D(2023, 8, 31)), other(2, D(2023, 10, 1), D(2023, 12, 31))}
	vs := Evaluate(pol, p.s, p.f)
	if len(vs) != 1 || vs[0].Rule != R7 || vs[0].Message.ID != "policy.r7.window" || vs[0].Message.Data["Total"] != 276 {
		t.Errorf("window: %+v", vs)
	}
	pol.PersonCapMonths, pol.PersonWindowMonths, pol.CoolingOffMonths = 0, 0, 24
	vs = Evaluate(pol, p.s, p.f)
	if len(vs) != 1 || vs[0].Message.ID != "policy.r7.cooling_off" || vs[0].Message.Data["Until"] != "2026-01-01" {
		t.Errorf("cooling-off: %+v", vs)
	}
	// A fresh request straight after a term at the same unit continues it.
	pol.CoolingOffMonths, pol.ChainCapMonths = 0, 6
	p.f.History = []Secondment{p.running(3, StateActive, D(2023, 9, 1), D(2024, 2, 29), 0)}
	if vs := Evaluate(pol, p.s, p.f); len(vs) != 1 || vs[0].Message.ID != "policy.r7.chain" {
		t.Errorf("unlinked continuation: %+v", vs)
	}
}

func TestPolicyVersions(t *testing.T) {
	k := Preset(PresetKashgar)
	for _, tc := range []struct {
		on      Date
		version int
		mode    TownshipMode
	}{
		{D(2023, 8, 1), 1, TownshipAllowed},   // 李传群 was borrowed in August 2023
		{D(2024, 2, 3), 2, TownshipException}, // from the No.1 document on
	} {
		p, err := PolicyOn(k, tc.on)
		if err != nil || p.Version != tc.version || p.Township != tc.mode {
			t.Errorf("%v: version %d %s, %v", tc.on, p.Version, p.Township, err)
		}
	}
	if _, err := PolicyOn(k, D(2020, 1, 1)); ErrorCodeOf(err) != ENotFound {
		t.Errorf("before any version: %v", err)
	}
}

// A request still in the chain when a stricter version takes effect is
// judged by it at the sign-off and at a resubmission (S1: Baotou's township
// ban of April 2024 reaches a request submitted under the version before),
// and by the version of that day when decided before it.
func TestNewVersionReachesTheChain(t *testing.T) {
	j := DemoJurisdiction("NMG-BT-QS-RD")
	kxl, rd := DemoUnit("NMG-BT-QS-KXL"), DemoUnit("NMG-BT-QS-RD")
	s := Secondment{ID: 1, State: StateDraft, Kind: KindSecondment, Purpose: PurposeSpecialProject, Task: "人大专项工作",
		PersonID: 1, PersonName: "芦长丽", BorrowerID: rd.ID, LenderID: kxl.ID, Start: D(2024, 5, 1), End: D(2024, 5, 31)}
	s.Justification = "人大换届筹备急需" // the township was an exception before the ban
	in := Input{Jurisdiction: &j, Facts: &Facts{Jurisdiction: j.Root.Name, Borrower: rd, Lender: kxl}, Opinion: "同意"}
	clerk := Actor{UserID: 1, Role: RoleBorrower, UnitID: rd.ID}
	in.Action = ActSubmit
	res, err := Transition(s, clerk, in, At(D(2024, 3, 20)))
	if err != nil {
		t.Fatalf("submitted before the ban: %v", err)
	}
	submitted := res.Secondment.PolicyVersion
	in.Action = ActConsent
	res, err = Transition(res.Secondment, Actor{UserID: 2, Role: RoleLender, UnitID: kxl.ID}, in, At(D(2024, 3, 22)))
	if err != nil {
		t.Fatal(err)
	}
	ban, err := PolicyOn(j.Policies, D(2024, 4, 20))
	if err != nil || ban.Version <= submitted || ban.Township != TownshipForbidden {
		t.Fatalf("the ban: version %d (submitted under %d), %s, %v", ban.Version, submitted, ban.Township, err)
	}
	org := Actor{UserID: 3, Name: "李志强", Role: RoleOrgDept, UnitID: j.OrgDept.ID}
	in.Action = ActApprove
	_, err = Transition(res.Secondment, org, in, At(D(2024, 4, 20)))
	var e *Error
	if !errors.As(err, &e) || !e.Violations.Blocked() || !slices.Contains(e.Violations.Rules(), R4) {
		t.Fatalf("signed off after the ban: %v; want refused under R4", err)
	}
	if res2, err := Transition(res.Secondment, org, in, At(D(2024, 3, 25))); err != nil || res2.Secondment.State != StateApproved {
		t.Errorf("signed off before the ban: %v", err)
	}
	// Sent back before the ban and resubmitted after it: judged like a
	// submission, by the version of that day.
	in.Action, in.Opinion = ActSendBack, "请补充任务说明"
	back, err := Transition(res.Secondment, org, in, At(D(2024, 3, 25)))
	if err != nil {
		t.Fatal(err)
	}
	in.Action, in.Changed = ActResubmit, true
	if _, err := Transition(back.Secondment, clerk, in, At(D(2024, 4, 20))); !errors.As(err, &e) || !slices.Contains(e.Violations.Rules(), R4) {
		t.Errorf("resubmitted after the ban: %v; want refused under R4", err)
	}
	if r, err := Transition(back.Secondment, clerk, in, At(D(2024, 3, 28))); err != nil || r.Secondment.State != StateAwaitingConsent {
		t.Errorf("resubmitted before the ban: %v", err)
	}
}

func TestPresetsAreValidAndCiteTheSeed(t *testing.T) {
	seed, err := os.ReadFile("testdata/article.zh.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range AllPresets {
		vs := Preset(n)
		for _, p := range vs {
			if err := p.Validate(); err != nil {
				t.Errorf("%s v%d: %v", n, p.Version, err)
			}
			if len(p.Citations) == 0 || p.Basis == "" {
				t.Errorf("%s v%d cites nothing, or names no basis", n, p.Version)
			}
			for _, c := range p.Citations {
				if !c.Rule.Valid() || !strings.Contains(string(seed), c.Quote) {
					t.Errorf("%s %s: %q is not in the seed", n, c.Rule, c.Quote)
				}
			}
		}
		vs[0].Purposes = append(vs[0].Purposes, PurposeOther) // a copy: the preset stays
		if slices.Contains(Preset(n)[0].Purposes, PurposeOther) {
			t.Errorf("%s: Preset returned shared slices", n)
		}
	}
	bad := Policy{Version: 0, Township: "sometimes", TermMonths: -1, PersonCapMonths: 6, Purposes: []Purpose{PurposeRoutine}}
	var e *Error
	if err := bad.Validate(); !errors.As(err, &e) || len(e.Fields) != 6 {
		t.Errorf("bad policy: %v", err)
	}
}

func TestBurdenOf(t *testing.T) {
	b := BurdenOf(latest(PresetBaotou), DemoUnit("NMG-BT-QS-KXL"), 4) // 科学路街道: 4 of 23
	if b.BP != 1739 || !b.Warn || b.Headcount != 23 {
		t.Errorf("burden %+v", b)
	}
	if Percent(1739) != "17.3" {
		t.Errorf("percent %s", Percent(1739))
	}
}

// R6's apply-by: a renewal filed later than the policy's days before the
// current term ends is refused, naming the deadline; on the deadline it is
// not. A deadline on a rest day moves to the next working day (民法典 art.
// 203): with 15 days, 16 March 2024 is a Saturday, so Monday the 18th.
func TestR6RenewalFiledTooLate(t *testing.T) {
	pol := latest(PresetNational)
	pol.RenewalApplyByDays = 16
	p := baseProbe()
	p.f.History = []Secondment{p.running(9, StateActive, D(2024, 1, 1), D(2024, 3, 31), 0)}
	p.s.PreviousID, p.s.Start, p.s.End = 9, D(2024, 4, 1), D(2024, 5, 31)

	p.s.SubmittedOn = D(2024, 3, 16) // one day after 31 March − 16 days, a Friday
	vs := Evaluate(pol, p.s, p.f)
	if len(vs) != 1 || vs[0].Rule != R6 || vs[0].Message.ID != "policy.r6.late" ||
		vs[0].Message.Data["Deadline"] != "2024-03-15" || vs[0].Message.Data["Days"] != 16 {
		t.Fatalf("late renewal: %+v", vs)
	}
	p.s.SubmittedOn = D(2024, 3, 15)
	if vs := Evaluate(pol, p.s, p.f); len(vs) != 0 {
		t.Fatalf("renewal on the deadline: %+v", vs)
	}
	pol.RenewalApplyByDays = 15
	p.s.SubmittedOn = D(2024, 3, 18)
	if vs := Evaluate(pol, p.s, p.f); len(vs) != 0 {
		t.Fatalf("renewal on the Monday a weekend deadline moved to: %+v", vs)
	}
	p.s.SubmittedOn = D(2024, 3, 19)
	if vs := Evaluate(pol, p.s, p.f); len(vs) != 1 || vs[0].Message.Data["Deadline"] != "2024-03-18" {
		t.Fatalf("renewal after the moved deadline: %+v", vs)
	}
	pol.RenewalApplyByDays = 0 // off
	p.s.SubmittedOn = D(2024, 3, 30)
	if vs := Evaluate(pol, p.s, p.f); len(vs) != 0 {
		t.Fatalf("no apply-by, filed the day before the end: %+v", vs)
	}
}

// Issue #12: every rule of the catalog rests on a source the report
// quotes, named by document and issuer; a policy's own citation comes
// first (Weihai's R7 is its 累计…不得超过半年, Kashgar's its 最长连续), a
// policy an org dept wrote rests on its basis, and every violation
// Evaluate returns carries its rule's source.
func TestRuleSources(t *testing.T) {
	seed, err := os.ReadFile("testdata/article.zh.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range AllRules {
		src := RuleSource(r)
		if _, option := notInSeed[r]; option {
			if !src.Known() || src.Quote != "" {
				t.Errorf("%s, an option the report does not state, quotes %+v", r, src)
			}
			continue
		}
		if !src.Known() || src.Quote == "" || !strings.Contains(string(seed), src.Quote) {
			t.Errorf("%s: source %+v is not the report's words", r, src)
		}
	}
	for q := range quoted {
		if !strings.Contains(string(seed), q) {
			t.Errorf("%q is not in the report", q)
		}
	}
	for _, n := range AllPresets {
		for _, p := range Preset(n) {
			for _, c := range p.Citations {
				if s := p.SourceOf(c.Rule); !s.Known() || s.Issuer == "" {
					t.Errorf("%s v%d %s: %q names no document or issuer", n, p.Version, c.Rule, c.Quote)
				}
			}
		}
	}
	weihai, kashgar := latest(PresetWeihai), latest(PresetKashgar)
	if w, k := weihai.SourceOf(R7), kashgar.SourceOf(R7); w.Quote != "累计借用时间原则上不得超过半年" || w.Issuer != "威海市委组织部" ||
		k.Quote != "最长连续不得超过6个月" || k.Issuer != "喀什市" {
		t.Errorf("R7: Weihai %+v, Kashgar %+v", w, k)
	}
	custom := weihai
	custom.Preset, custom.Citations, custom.Basis = "", nil, "青山区借调工作实施细则（2026年）"
	if s := custom.SourceOf(R5); s.Document != custom.Basis {
		t.Errorf("a custom policy's R5 rests on %+v", s)
	}
	p := baseProbe()
	p.s.Purpose = PurposeRoutine
	vs := Evaluate(weihai, p.s, p.f)
	if len(vs) == 0 {
		t.Fatal("a routine secondment under Weihai passed")
	}
	for _, v := range vs {
		if !v.Source.Known() {
			t.Errorf("%s has no source", v.Rule)
		}
	}
}

// Issue #12: Weihai's sum is checked over every window the request's days
// fall in, not only the year ending with it: a request for March to May
// 2024, filed when terms for July to September and October to December
// are already signed off, puts 269 days in the year to 31 December.
// And a routine 挂职 no programme arranged counts as the secondment it is
// judged as (R9); a formal one does not.
func TestR7WindowsAfterTheRequest(t *testing.T) {
	weihai := latest(PresetWeihai)
	p := baseProbe()
	p.s.Start, p.s.End, p.s.SubmittedOn = D(2024, 3, 1), D(2024, 5, 31), D(2024, 2, 20)
	p.f.History = []Secondment{p.running(1, StateApproved, D(2024, 7, 1), D(2024, 9, 30), 0),
		p.running(2, StateApproved, D(2024, 10, 8), D(2024, 12, 31), 0)}
	vs := Evaluate(weihai, p.s, p.f)
	i := slices.IndexFunc(vs, func(v Violation) bool { return v.Message.ID == "policy.r7.window" })
	if i < 0 || vs[i].Message.Data["WindowEnd"] != "2024-12-31" || vs[i].Message.Data["Total"] != 92+92+85 {
		t.Fatalf("a window ending after the request: %+v", vs)
	}
	// Without the later terms the request is within its own year.
	p.f.History = p.f.History[:1]
	if vs := Evaluate(weihai, p.s, p.f); slices.Contains(vs.Rules(), R7) {
		t.Errorf("92 + 92 days: %+v", vs)
	}

	// A 挂职 without a programme counts; with one it does not.
	p.f.History = []Secondment{p.running(1, StateReturned, D(2023, 6, 1), D(2023, 8, 31), 0),
		p.running(2, StateReturned, D(2023, 10, 1), D(2023, 12, 31), 0)}
	p.f.History[0].Kind, p.f.History[1].Kind = KindAttachment, KindAttachment
	if vs := Evaluate(weihai, p.s, p.f); !slices.Contains(vs.Rules(), R7) {
		t.Errorf("two routine 挂职 of 92 days and this one: %+v", vs)
	}
	p.f.History[0].Programme, p.f.History[1].Programme = "市委组织部挂职锻炼计划", "市委组织部挂职锻炼计划"
	if vs := Evaluate(weihai, p.s, p.f); slices.Contains(vs.Rules(), R7) {
		t.Errorf("two formal 挂职 counted: %+v", vs)
	}
}

// Issue #12: R16, an option no preset switches on. A policy that excludes
// key and classified posts makes such a post an exception needing a reason
// and approval; a post that is neither, or a policy without the option,
// says nothing.
func TestR16KeyPosts(t *testing.T) {
	for _, n := range AllPresets {
		for _, p := range Preset(n) {
			if p.KeyPostsExcluded {
				t.Errorf("%s v%d excludes key posts: the report says nothing of them", n, p.Version)
			}
		}
	}
	pol := latest(PresetNational)
	p := baseProbe()
	p.s.KeyPost = true
	if vs := Evaluate(pol, p.s, p.f); slices.Contains(vs.Rules(), R16) {
		t.Errorf("without the option: %+v", vs)
	}
	pol.KeyPostsExcluded, pol.Preset, pol.Basis = true, "", "某市借调人员管理办法（2026年）"
	vs := Evaluate(pol, p.s, p.f)
	if len(vs) != 1 || vs[0].Rule != R16 || vs[0].Severity != SeverityException || vs[0].Source.Document != pol.Basis {
		t.Errorf("a key post under the option: %+v", vs)
	}
	p.s.KeyPost = false
	if vs := Evaluate(pol, p.s, p.f); len(vs) != 0 {
		t.Errorf("an ordinary post under the option: %+v", vs)
	}
}
