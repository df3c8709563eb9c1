package secondment_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	sm "secondment/internal/secondment"
)

// world is the demo units with one clerk per role per unit.
type world struct {
	t *testing.T
	h *sm.Hierarchy
}

func newWorld(t *testing.T) world {
	h, err := sm.NewHierarchy(sm.DemoUnits())
	if err != nil {
		t.Fatal(err)
	}
	return world{t, h}
}

func (w world) actor(code string, role sm.Role, name string) sm.Actor {
	u := sm.DemoUnit(code)
	return sm.Actor{UserID: u.ID*10 + int64(slices.Index(sm.AllRoles, role)), Name: name, Role: role, UnitID: u.ID}
}

// do takes one step, failing the test on an error.
func (w world) do(s sm.Secondment, a sm.Actor, in sm.Input, on sm.Date) sm.Secondment {
	w.t.Helper()
	res, err := sm.Transition(s, a, in, sm.At(on))
	if err != nil {
		w.t.Fatalf("%s by %s on %v: %v", in.Action, a.Role, on, err)
	}
	return res.Secondment
}

// refused takes a step that must be refused by the rules and returns the
// violations.
func refused(t *testing.T, s sm.Secondment, a sm.Actor, in sm.Input, on sm.Date) sm.Violations {
	t.Helper()
	res, err := sm.Transition(s, a, in, sm.At(on))
	var e *sm.Error
	if !errors.As(err, &e) || e.Code != sm.EInvalid || !errors.Is(err, sm.ErrPolicyViolation) {
		t.Fatalf("%s: got %v (state %s), want a policy violation", in.Action, err, res.Secondment.State)
	}
	if len(e.Rules()) == 0 {
		t.Fatal("a refusal that names no rule")
	}
	return e.Violations
}

func blocking(vs sm.Violations) []sm.RuleID {
	var ids []sm.RuleID
	for _, v := range vs {
		if v.Severity == sm.SeverityBlock {
			ids = append(ids, v.Rule)
		}
	}
	return ids
}

func draft(id int64, person string, borrower, lender string, start, end sm.Date) sm.Secondment {
	b, l := sm.DemoUnit(borrower), sm.DemoUnit(lender)
	return sm.Secondment{ID: id, State: sm.StateDraft, Kind: sm.KindSecondment, Purpose: sm.PurposeSpecialProject,
		Task: "协助专项任务", PersonID: 1, PersonName: person, BorrowerID: b.ID, LenderID: l.ID,
		BorrowerName: b.Name, LenderName: l.Name, Start: start, End: end}
}

func facts(j sm.Jurisdiction, borrower, lender string, history ...sm.Secondment) *sm.Facts {
	return &sm.Facts{Jurisdiction: j.Root.Name, Borrower: sm.DemoUnit(borrower), Lender: sm.DemoUnit(lender), History: history}
}

// S1: 青山区人大常委会机关 asks for 芦长丽 of 科学路街道办事处 after Baotou's April
// 2024 notice; the request is refused at submission, before anyone sees it,
// with R4 named.
func TestS1_LuChangli_RefusedUnderBaotouTownshipBan(t *testing.T) {
	w := newWorld(t)
	j, err := w.h.Jurisdiction(sm.DemoUnit("NMG-BT-QS-RD").ID, sm.DemoPolicies())
	if err != nil {
		t.Fatal(err)
	}
	if j.Root.Name != "包头市" || j.OrgDept.Name != "青山区委组织部" {
		t.Fatalf("jurisdiction %s / %s", j.Root.Name, j.OrgDept.Name)
	}
	s := draft(1, "芦长丽", "NMG-BT-QS-RD", "NMG-BT-QS-KXL", sm.D(2024, 6, 1), sm.D(2024, 8, 31))
	in := sm.Input{Action: sm.ActSubmit, Jurisdiction: &j, Facts: facts(j, "NMG-BT-QS-RD", "NMG-BT-QS-KXL")}
	vs := refused(t, s, w.actor("NMG-BT-QS-RD", sm.RoleBorrower, "人大经办人"), in, sm.D(2024, 5, 10))
	if got := blocking(vs); !slices.Equal(got, []sm.RuleID{sm.R4}) {
		t.Fatalf("blocked by %v", got)
	}
	zh, en := render(t, vs[0].Message)
	if zh != "科学路街道办事处属乡镇（街道）单位，按包头市规定一律不得借调" {
		t.Errorf("zh: %s", zh)
	}
	if !strings.Contains(en, "科学路街道办事处") || !strings.Contains(en, "may not be seconded at all") {
		t.Errorf("en: %s", en)
	}
	// R14 shows the street office's load too: 3 already away of 23.
	in.Facts.LenderAway = 3
	vs = refused(t, s, w.actor("NMG-BT-QS-RD", sm.RoleBorrower, ""), in, sm.D(2024, 5, 10))
	if r := vs.Rules(); !slices.Equal(r, []sm.RuleID{sm.R4, sm.R14}) {
		t.Errorf("rules %v", r)
	}
}

// S2: 武俞吉 of 麻池镇 is borrowed by 九原区委组织部 "for 3 months" at the
// leadership change. Had Kashgar-style rules applied in Baotou (3-month terms,
// at most 6 consecutive), each renewal runs the whole chain again and the
// second renewal is refused by R7 with both numbers in the message.
func TestS2_WuYuji_RenewedTermByTermUntilSixMonthCapRefusesNextRenewal(t *testing.T) {
	w := newWorld(t)
	custom := sm.Preset(sm.PresetKashgar)[0]
	custom.Preset, custom.EffectiveFrom, custom.Citations = "", sm.D(2021, 1, 1), nil
	policies := sm.DemoPolicies()
	policies[sm.DemoUnit("NMG-BT").ID] = []sm.Policy{custom}
	j, err := w.h.Jurisdiction(sm.DemoUnit("NMG-BT-JY-ZZB").ID, policies)
	if err != nil {
		t.Fatal(err)
	}
	if j.OrgDept.Name != "包头市委组织部" {
		t.Fatalf("an org dept's own borrowing is signed off by %s", j.OrgDept.Name)
	}
	clerk := w.actor("NMG-BT-JY-ZZB", sm.RoleBorrower, "九原区委组织部经办人")
	town := w.actor("NMG-BT-JY-MC", sm.RoleLender, "沈国平")
	city := w.actor("NMG-BT-ZZB", sm.RoleOrgDept, "李志强")
	system := sm.Actor{Role: sm.RoleSystem}
	var history []sm.Secondment

	// chain runs one term through every step: submit, written consent,
	// sign-off, and the start (by the clerk, or by the system for a renewal).
	chain := func(s sm.Secondment, submit sm.Date) sm.Secondment {
		in := sm.Input{Jurisdiction: &j, Facts: facts(j, "NMG-BT-JY-ZZB", "NMG-BT-JY-MC", history...), Opinion: "同意"}
		for _, step := range []struct {
			a  sm.Actor
			do sm.Action
			on sm.Date
		}{{clerk, sm.ActSubmit, submit}, {town, sm.ActConsent, submit.AddDays(2)}, {city, sm.ActApprove, submit.AddDays(5)}} {
			in.Action = step.do
			s = w.do(s, step.a, in, step.on)
		}
		return s
	}

	term1 := chain(draft(1, "武俞吉", "NMG-BT-JY-ZZB", "NMG-BT-JY-MC", sm.D(2021, 3, 1), sm.D(2021, 5, 31)), sm.D(2021, 2, 15))
	term1 = w.do(term1, clerk, sm.Input{Action: sm.ActStart}, sm.D(2021, 3, 1))
	history = append(history, term1)

	// "后续又有其他专项工作": the first renewal, from the day after the end.
	r1 := draft(2, "武俞吉", "NMG-BT-JY-ZZB", "NMG-BT-JY-MC", sm.D(2021, 6, 1), sm.D(2021, 8, 31))
	r1.PreviousID = term1.ID
	r1 = chain(r1, sm.D(2021, 5, 10))
	if r1.State != sm.StateApproved {
		t.Fatalf("renewal 1: %s", r1.State)
	}
	term1 = w.do(term1, system, sm.Input{Action: sm.ActSucceed, RenewalID: r1.ID}, sm.D(2021, 6, 1))
	r1 = w.do(r1, system, sm.Input{Action: sm.ActStart}, sm.D(2021, 6, 1))
	if term1.State != sm.StateRenewed || r1.State != sm.StateActive {
		t.Fatalf("hand-over: %s, %s", term1.State, r1.State)
	}
	history = []sm.Secondment{term1, r1}

	// The second renewal would make 9 months.
	r2 := draft(3, "武俞吉", "NMG-BT-JY-ZZB", "NMG-BT-JY-MC", sm.D(2021, 9, 1), sm.D(2021, 11, 30))
	r2.PreviousID = r1.ID
	in := sm.Input{Action: sm.ActSubmit, Jurisdiction: &j, Facts: facts(j, "NMG-BT-JY-ZZB", "NMG-BT-JY-MC", history...)}
	vs := refused(t, r2, clerk, in, sm.D(2021, 8, 10))
	if got := vs.Rules(); !slices.Equal(got, []sm.RuleID{sm.R7}) {
		t.Fatalf("rules %v: %+v", got, vs)
	}
	// What the form shows while the clerk types: the chain's days against the cap.
	probe := r2
	probe.SubmittedOn = sm.D(2021, 8, 10)
	if u := sm.UsageOf(custom, probe, *in.Facts); u.Used != 184 || u.Requested != 91 || u.Total() != 275 || u.CapDays != 184 || u.CapMonths != 6 {
		t.Errorf("usage %+v; want 184 used + 91 requested against 184", u)
	}
	zh, en := render(t, vs[0].Message)
	for _, want := range []string{"184", "91", "275", "6个月", "2021-03-01"} {
		if !strings.Contains(zh, want) {
			t.Errorf("zh lacks %s: %s", want, zh)
		}
	}
	for _, want := range []string{"184 days", "275 days", "6 months"} {
		if !strings.Contains(en, want) {
			t.Errorf("en lacks %s: %s", want, en)
		}
	}
	// Without the renewal the person goes back: the term expires, and left
	// there, becomes overdue and enters the ledger under R10.
	r1 = w.do(r1, system, sm.Input{Action: sm.ActExpire}, sm.D(2021, 9, 1))
	res, err := sm.Transition(r1, system, sm.Input{Action: sm.ActMarkOverdue, Jurisdiction: &j}, sm.At(sm.D(2021, 9, 2)))
	if err != nil || res.Secondment.State != sm.StateOverdue || !slices.Equal(res.Event.Rules, []sm.RuleID{sm.R10}) {
		t.Fatalf("overdue: %v %+v", err, res.Event)
	}
	if zh, _ := render(t, res.Event.Message); !strings.Contains(zh, "逾期2天") {
		t.Errorf("ledger entry: %s", zh)
	}
}

// S3: Weihai's three don'ts, each refused with its own rule, and a 挂职
// attachment that passes.
func TestS3_Weihai_ThreeDontsEachRefusedWhileAttachmentPasses(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		name             string
		borrower, lender string
		change           func(*sm.Secondment)
		want             []sm.RuleID // blocking rules; nil: submitted
		text             string
	}{
		{"不得以日常工作为由借用人员", "SD-WH-HC-XC", "SD-WH-HC-YT",
			func(s *sm.Secondment) { s.Purpose = sm.PurposeRoutine }, []sm.RuleID{sm.R1}, "不得以日常工作为由借用人员"},
		{"不得跨层级借用人员", "SD-WH-ZZB", "SD-WH-HC-YT", nil, []sm.RuleID{sm.R2}, "低2个层级"},
		{"不得跨系统借用人员", "SD-WH-FY", "SD-WH-HC-XC", nil, []sm.RuleID{sm.R3}, "不属于同一系统"},
		{"挂职不受借调规定约束", "SD-WH-ZZB", "SD-WH-HC-YT",
			func(s *sm.Secondment) {
				s.Kind, s.Purpose, s.Programme = sm.KindAttachment, sm.PurposeRoutine, "威海市委组织部干部挂职计划"
			}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j, err := w.h.Jurisdiction(sm.DemoUnit(tc.borrower).ID, sm.DemoPolicies())
			if err != nil {
				t.Fatal(err)
			}
			s := draft(1, "胡瀚", tc.borrower, tc.lender, sm.D(2024, 5, 1), sm.D(2024, 7, 31))
			s.Justification = "乡村振兴专班急需补充力量" // answers R4's exception, so only the don't is left
			if tc.change != nil {
				tc.change(&s)
			}
			in := sm.Input{Action: sm.ActSubmit, Jurisdiction: &j, Facts: facts(j, tc.borrower, tc.lender)}
			clerk := w.actor(tc.borrower, sm.RoleBorrower, "")
			if tc.want == nil {
				res, err := sm.Transition(s, clerk, in, sm.At(sm.D(2024, 4, 20)))
				if err != nil || res.Secondment.State != sm.StateAwaitingConsent || len(res.Violations) != 0 {
					t.Fatalf("attachment: %v %+v", err, res.Violations)
				}
				return
			}
			vs := refused(t, s, clerk, in, sm.D(2024, 4, 20))
			if got := blocking(vs); !slices.Equal(got, tc.want) {
				t.Fatalf("blocked by %v, want %v", got, tc.want)
			}
			for _, v := range vs {
				if v.Rule == tc.want[0] {
					if zh, _ := render(t, v.Message); !strings.Contains(zh, tc.text) {
						t.Errorf("message %s", zh)
					}
				}
			}
		})
	}
}

// S7: 喀什市纪委监委 applies to transfer 李传群 in. Without room in its staffing
// quota it is refused with R12; with room the org dept approves and her home
// unit becomes the borrowing unit, leaving a vacancy at 阿克喀什乡.
func TestS7_TransferIn_RefusedWithoutQuotaRoomAcceptedWithIt(t *testing.T) {
	w := newWorld(t)
	j, _ := w.h.Jurisdiction(sm.DemoUnit("XJ-KS-JW").ID, sm.DemoPolicies())
	s := draft(1, "李传群", "XJ-KS-JW", "XJ-KS-AKKS", sm.D(2023, 8, 1), sm.D(2023, 10, 31))
	s.State, s.PolicyVersion, s.SubmittedOn, s.SubmittedBy, s.OrgDeptID, s.JurisdictionID =
		sm.StateActive, 1, sm.D(2023, 7, 20), 1, j.OrgDept.ID, j.Root.ID
	clerk := w.actor("XJ-KS-JW", sm.RoleBorrower, "纪委监委经办人")
	jw := sm.DemoUnit("XJ-KS-JW") // staffing quota 60, 57 on post

	in := sm.Input{Action: sm.ActTransfer, TransferMethod: sm.TransferOfPost, Jurisdiction: &j,
		Transfer: &sm.TransferFacts{Borrower: jw, Pending: 3}}
	vs := refused(t, s, clerk, in, sm.D(2023, 10, 10))
	if got := vs.Rules(); !slices.Equal(got, []sm.RuleID{sm.R12}) {
		t.Fatalf("rules %v", got)
	}
	zh, _ := render(t, vs[0].Message)
	for _, want := range []string{"喀什市纪委监委", "编制数60名", "实有57人", "3人正在办理调入"} {
		if !strings.Contains(zh, want) {
			t.Errorf("zh lacks %s: %s", want, zh)
		}
	}

	in.Transfer.Pending = 2 // 57 + 2 + 1 = 60: the last free post
	s = w.do(s, clerk, in, sm.D(2023, 10, 10))
	if s.State != sm.StateTransferPending || s.TransferMethod != sm.TransferOfPost {
		t.Fatalf("state %s", s.State)
	}
	in.Action, in.Opinion = sm.ActApprove, "同意转任"
	res, err := sm.Transition(s, w.actor("XJ-KS-ZZB", sm.RoleOrgDept, "冯剑"), in, sm.At(sm.D(2023, 10, 20)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Secondment.State != sm.StateTransferred || res.NewHomeUnit != jw.ID {
		t.Errorf("transferred: %s, home %d", res.Secondment.State, res.NewHomeUnit)
	}
	if zh, _ := render(t, res.Notifications[0].Message); !strings.Contains(zh, "阿克喀什乡空出一个编制") {
		t.Errorf("notification %s", zh)
	}
}

// A township secondment under the No.1 document is an exception: it needs a
// justification, then an approver who writes an opinion and is named.
func TestExceptionCarriesJustificationAndApproverName(t *testing.T) {
	w := newWorld(t)
	j, _ := w.h.Jurisdiction(sm.DemoUnit("XJ-KS-JW").ID, sm.DemoPolicies())
	s := draft(1, "李传群", "XJ-KS-JW", "XJ-KS-AKKS", sm.D(2024, 4, 1), sm.D(2024, 6, 30))
	clerk := w.actor("XJ-KS-JW", sm.RoleBorrower, "")
	in := sm.Input{Action: sm.ActSubmit, Jurisdiction: &j, Facts: facts(j, "XJ-KS-JW", "XJ-KS-AKKS")}
	_, err := sm.Transition(s, clerk, in, sm.At(sm.D(2024, 3, 1)))
	var e *sm.Error
	if !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != "justification" || e.Violations[0].Severity != sm.SeverityException {
		t.Fatalf("no justification: %v", err)
	}
	s.Justification = "重大案件查办急需"
	s = w.do(s, clerk, in, sm.D(2024, 3, 1))
	in.Action, in.Opinion = sm.ActConsent, "同意借出"
	s = w.do(s, w.actor("XJ-KS-AKKS", sm.RoleLender, "张鹏"), in, sm.D(2024, 3, 2))
	in.Action, in.Opinion = sm.ActApprove, ""
	if _, err := sm.Transition(s, w.actor("XJ-KS-ZZB", sm.RoleOrgDept, "冯剑"), in, sm.At(sm.D(2024, 3, 5))); err == nil {
		t.Fatal("exception approved without an opinion")
	}
	in.Opinion = "同意,限期三个月"
	res, err := sm.Transition(s, w.actor("XJ-KS-ZZB", sm.RoleOrgDept, "冯剑"), in, sm.At(sm.D(2024, 3, 5)))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Secondment; got.ExceptionApprover != "冯剑" || !slices.Equal(got.ExceptionRules, []sm.RuleID{sm.R4}) {
		t.Errorf("exception record %q %v", got.ExceptionApprover, got.ExceptionRules)
	}
	if zh, _ := render(t, res.Event.Message); !strings.Contains(zh, "冯剑") {
		t.Errorf("event %s", zh)
	}
	if len(res.Secondment.Decisions) != 3 || res.Secondment.Decisions[2].ActorName != "冯剑" {
		t.Errorf("decisions %+v", res.Secondment.Decisions)
	}
}

// A jurisdiction may demand the lending unit's signed letter with its
// consent: without it the consent is refused on the letter field.
func TestConsentLetterRequiredByPolicy(t *testing.T) {
	w := newWorld(t)
	strict := sm.Preset(sm.PresetKashgar)[1]
	strict.ConsentLetter = true
	policies := sm.DemoPolicies()
	policies[sm.DemoUnit("XJ-KS").ID] = []sm.Policy{sm.Preset(sm.PresetKashgar)[0], strict}
	j, err := w.h.Jurisdiction(sm.DemoUnit("XJ-KS-JW").ID, policies)
	if err != nil {
		t.Fatal(err)
	}
	s := draft(1, "李传群", "XJ-KS-JW", "XJ-KS-AKKS", sm.D(2024, 3, 11), sm.D(2024, 6, 10))
	s.Justification = "任务紧急"
	s = w.do(s, w.actor("XJ-KS-JW", sm.RoleBorrower, "经办人"), sm.Input{Action: sm.ActSubmit, Jurisdiction: &j,
		Facts: facts(j, "XJ-KS-JW", "XJ-KS-AKKS")}, sm.D(2024, 3, 1))
	town := w.actor("XJ-KS-AKKS", sm.RoleLender, "张鹏")
	_, err = sm.Transition(s, town, sm.Input{Action: sm.ActConsent, Opinion: "同意", Jurisdiction: &j}, sm.At(sm.D(2024, 3, 2)))
	var e *sm.Error
	if !errors.As(err, &e) || e.Code != sm.EInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "letter" {
		t.Fatalf("consent without the letter: %v", err)
	}
	res, err := sm.Transition(s, town, sm.Input{Action: sm.ActConsent, Opinion: "同意", Letter: true, Jurisdiction: &j}, sm.At(sm.D(2024, 3, 2)))
	if err != nil || res.Secondment.State != sm.StateAwaitingSignoff {
		t.Fatalf("consent with the letter: %v", err)
	}
}

// The org dept's decision is always written down, exception or not.
func TestApproveNeedsWrittenOpinion(t *testing.T) {
	w := newWorld(t)
	j, err := w.h.Jurisdiction(sm.DemoUnit("XJ-KS-JW").ID, sm.DemoPolicies())
	if err != nil {
		t.Fatal(err)
	}
	// Kashgar's first version (2023) allowed townships: no exception here.
	s := draft(1, "李传群", "XJ-KS-JW", "XJ-KS-AKKS", sm.D(2023, 8, 1), sm.D(2023, 10, 31))
	in := sm.Input{Jurisdiction: &j, Facts: facts(j, "XJ-KS-JW", "XJ-KS-AKKS"), Opinion: "同意"}
	in.Action = sm.ActSubmit
	s = w.do(s, w.actor("XJ-KS-JW", sm.RoleBorrower, "经办人"), in, sm.D(2023, 7, 20))
	in.Action = sm.ActConsent
	s = w.do(s, w.actor("XJ-KS-AKKS", sm.RoleLender, "张鹏"), in, sm.D(2023, 7, 21))
	od := w.actor("XJ-KS-ZZB", sm.RoleOrgDept, "冯剑")
	in.Action, in.Opinion = sm.ActApprove, "  "
	_, err = sm.Transition(s, od, in, sm.At(sm.D(2023, 7, 25)))
	var e *sm.Error
	if !errors.As(err, &e) || e.Code != sm.EInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "opinion" {
		t.Fatalf("approve without an opinion: %v", err)
	}
	in.Opinion = "同意"
	if res, err := sm.Transition(s, od, in, sm.At(sm.D(2023, 7, 25))); err != nil || res.Secondment.State != sm.StateApproved || res.Secondment.ExceptionApprover != "" {
		t.Fatalf("approve: %v %+v", err, res.Secondment)
	}
}
