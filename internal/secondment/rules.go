package secondment

import (
	"fmt"
	"slices"
)

// Facts is what the rules need to know besides the request and the policy.
type Facts struct {
	Jurisdiction string // name of the jurisdiction's root unit, e.g. 包头市, for messages
	Borrower     Unit
	Lender       Unit
	History      []Secondment // the person's other requests, any state (R6, R7)
	Calendar     Calendar     // working days: a deadline on a holiday moves past it (R6's apply-by)
	LenderAway   int          // people of the lending unit away now, this request excluded (R14)
	BorrowerHeld int          // people the borrowing unit holds during the term, this person excluded (R15)
}

// Evaluate judges a request against a policy as of its submission day (today
// for a draft) and returns every violation, in rule order, not only the
// first. It never fails: a request it cannot judge is a block with a reason.
func Evaluate(p Policy, s Secondment, f Facts) Violations {
	return p.Cite(evaluateRules(p, s, f))
}

func evaluateRules(p Policy, s Secondment, f Facts) Violations {
	on := s.SubmittedOn
	var vs Violations
	add := func(r RuleID, sev Severity, id string, kv ...any) {
		vs = append(vs, Violation{Rule: r, Severity: sev, Message: Msg(id, s.msgData(kv...)...)})
	}

	// R8: approval comes first; a start before the submission means the
	// person is already there and the paperwork follows.
	if !on.IsZero() && s.Start.Before(on) {
		add(R8, SeverityBlock, "policy.r8.start_before_submission", "Submitted", on.String())
	}
	// R9: only a formal exchange is exempt (除正式交流锻炼外); an exchange or
	// attachment no programme arranged, and a secondment under another
	// name, are judged as the secondments they are.
	switch {
	case s.Formal():
		vs = append(vs, burden(p, s, f)...)
		return vs
	case s.Kind.Exempt():
		add(R9, SeverityWarning, "policy.r9.no_programme")
	case s.Alias != AliasNone:
		add(R9, SeverityWarning, "policy.r9.alias."+string(s.Alias))
	}

	if len(p.Purposes) > 0 && !slices.Contains(p.Purposes, s.Purpose) {
		if s.Purpose == PurposeRoutine {
			add(R1, SeverityBlock, "policy.r1.routine")
		} else {
			add(R1, SeverityBlock, "policy.r1.not_allowed")
		}
	}
	gap := f.Lender.Level.Rank() - f.Borrower.Level.Rank()
	if p.MaxLevelGap > 0 && gap > p.MaxLevelGap {
		add(R2, SeverityBlock, "policy.r2.cross_level", "Gap", gap, "Max", p.MaxLevelGap)
	}
	if p.SameSystem && !p.sameLine(f.Borrower.System, f.Lender.System) {
		add(R3, SeverityBlock, "policy.r3.cross_system")
	}
	if f.Lender.Level == LevelTownship && f.Borrower.Level.Rank() < LevelTownship.Rank() {
		switch p.Township {
		case TownshipForbidden:
			add(R4, SeverityBlock, "policy.r4.forbidden", "Jurisdiction", f.Jurisdiction)
		case TownshipException:
			add(R4, SeverityException, "policy.r4.exception")
		}
	}
	if p.TermMonths > 0 && !s.End.Before(s.Start) {
		if last := TermLastDay(s.Start, p.TermMonths); s.End.After(last) {
			add(R5, SeverityBlock, "policy.r5.term", "Max", p.TermMonths, "LastDay", last.String(),
				"Days", DaysInclusive(s.Start, s.End))
		}
	}
	vs = append(vs, renewal(p, s, f, on)...)
	vs = append(vs, cumulative(p, s, f, on)...)
	vs = append(vs, burden(p, s, f)...)
	vs = append(vs, borrowerLimit(p, s, f)...)
	// R16, where the policy excludes them: a key or classified post is
	// filled by a secondee only by an approved exception (原则上不使用).
	if p.KeyPostsExcluded && s.KeyPost {
		add(R16, SeverityException, "policy.r16.key_post")
	}
	slices.SortStableFunc(vs, func(a, b Violation) int { return a.Rule.num() - b.Rule.num() })
	return vs
}

// renewal checks R6: a renewal continues a term of the same person at the same
// units that is still running, from the day after its end.
func renewal(p Policy, s Secondment, f Facts, on Date) Violations {
	if s.PreviousID == 0 {
		return nil
	}
	v := func(id string, kv ...any) Violations {
		return Violations{{Rule: R6, Severity: SeverityBlock, Message: Msg(id, s.msgData(kv...)...)}}
	}
	i := slices.IndexFunc(f.History, func(h Secondment) bool { return h.ID == s.PreviousID })
	if i < 0 {
		return v("policy.r6.previous")
	}
	prev := f.History[i]
	if prev.PersonID != s.PersonID || prev.BorrowerID != s.BorrowerID || prev.LenderID != s.LenderID ||
		(prev.State != StateActive && prev.State != StateApproved) || (!on.IsZero() && on.After(prev.End)) {
		return v("policy.r6.previous")
	}
	var vs Violations
	if want := prev.End.AddDays(1); s.Start != want {
		vs = append(vs, v("policy.r6.start", "Expected", want.String())...)
	}
	if p.RenewalApplyByDays > 0 && !on.IsZero() {
		if deadline := f.Calendar.Deadline(prev.End.AddDays(-p.RenewalApplyByDays)); on.After(deadline) {
			vs = append(vs, v("policy.r6.late", "Days", p.RenewalApplyByDays, "Deadline", deadline.String())...)
		}
	}
	return vs
}

// span is a stretch of days a person was, is or will be seconded.
type span struct{ from, to Date }

func (sp span) days() int { return DaysInclusive(sp.from, sp.to) }

// term is the span a counted request covers as of day on: its approved term,
// cut short by a return or recall, or stretched to on while the person
// overstays.
func term(h Secondment, on Date) span {
	to := h.LastDay()
	if h.ReturnedOn.IsZero() && (h.State == StateExpired || h.State == StateOverdue) && on.After(to) {
		to = on
	}
	return span{h.Start, to}
}

// counted reports whether h's days count toward s's caps: a term of the
// same person signed off or served, a secondment or a rotation no
// programme arranged (R9: only a formal one is exempt).
func counted(h Secondment, s Secondment) bool {
	return h.ID != s.ID && h.PersonID == s.PersonID && !h.Formal() && h.State.Seconded()
}

// chain is the run of terms this request continues: linked renewals, and a
// term of the same person at the same borrowing unit ending the day before,
// linked or not, since a fresh request is no way round the cap.
func chain(s Secondment, f Facts, on Date) []span {
	var out []span
	seen := map[int64]bool{s.ID: true}
	cur := s
	for {
		i := slices.IndexFunc(f.History, func(h Secondment) bool {
			if seen[h.ID] || !counted(h, s) {
				return false
			}
			if cur.PreviousID != 0 {
				return h.ID == cur.PreviousID
			}
			return h.BorrowerID == s.BorrowerID && term(h, on).to.AddDays(1) == cur.Start
		})
		if i < 0 {
			return out
		}
		cur = f.History[i]
		seen[cur.ID] = true
		out = append(out, term(cur, on))
	}
}

// windowUse is what a window of the per-person sum holds: the days of the
// person's counted terms in it, the request's own days in it, and the first
// day counted (the cap's months are counted from it).
type windowUse struct {
	used, requested int
	first           Date
}

func windowUseOf(s Secondment, f Facts, on Date, win span) windowUse {
	req := span{later(s.Start, win.from), earlier(s.End, win.to)}
	w := windowUse{first: req.from}
	if !req.to.Before(req.from) {
		w.requested = req.days()
	}
	for _, h := range f.History {
		if !counted(h, s) {
			continue
		}
		sp := term(h, on)
		sp.from, sp.to = later(sp.from, win.from), earlier(sp.to, win.to)
		if sp.to.Before(sp.from) {
			continue
		}
		w.used += sp.days()
		w.first = earlier(w.first, sp.from)
	}
	return w
}

// cumulative checks R7. A cap of N months is N months' worth of days counted
// from the first day counted: the length of a term of N months that starts
// that day (TermLastDay), so a cap is never looser than the term rule.
func cumulative(p Policy, s Secondment, f Facts, on Date) Violations {
	if s.End.Before(s.Start) {
		return nil
	}
	var vs Violations
	add := func(id string, kv ...any) {
		vs = append(vs, Violation{Rule: R7, Severity: SeverityBlock, Message: Msg(id, s.msgData(kv...)...)})
	}
	req := span{s.Start, s.End}
	capDays := func(from Date, months int) int { return DaysInclusive(from, TermLastDay(from, months)) }

	chainOver := false
	if p.ChainCapMonths > 0 {
		first, used := s.Start, 0
		for _, sp := range chain(s, f, on) {
			used += sp.days()
			first = sp.from
		}
		if c := capDays(first, p.ChainCapMonths); used+req.days() > c {
			chainOver = true
			add("policy.r7.chain", "Used", used, "Requested", req.days(), "Total", used+req.days(),
				"CapMonths", p.ChainCapMonths, "CapDays", c, "First", first.String())
		}
	}
	// The window check repeats the chain check for a chain, so it speaks only
	// when it finds something the chain did not.
	if p.PersonCapMonths > 0 && !chainOver {
		// Every window the request's days fall in is checked: the one
		// ending with the request, and each ending with a later term on
		// record (a request filed for a stretch before terms already
		// signed off adds to their windows too). The first over the cap
		// is reported.
		ends := []Date{s.End}
		for _, h := range f.History {
			if to := term(h, on).to; counted(h, s) && to.After(s.End) && !to.AddMonths(-p.PersonWindowMonths).AddDays(1).After(s.End) {
				ends = append(ends, to)
			}
		}
		slices.SortFunc(ends, func(a, b Date) int { return a.Compare(b) })
		for _, end := range slices.Compact(ends) {
			w := windowUseOf(s, f, on, span{end.AddMonths(-p.PersonWindowMonths).AddDays(1), end})
			if c := capDays(w.first, p.PersonCapMonths); w.used+w.requested > c {
				add("policy.r7.window", "Used", w.used, "Requested", w.requested, "Total", w.used+w.requested,
					"CapMonths", p.PersonCapMonths, "CapDays", c, "WindowMonths", p.PersonWindowMonths, "WindowEnd", end.String())
				break
			}
		}
	}
	if p.CoolingOffMonths > 0 && s.PreviousID == 0 {
		var back Date // the latest return
		for _, h := range f.History {
			if counted(h, s) && (h.State == StateReturned || h.State == StateReturnRecorded) && h.LastDay().After(back) {
				back = h.LastDay()
			}
		}
		if !back.IsZero() {
			if until := TermLastDay(back.AddDays(1), p.CoolingOffMonths).AddDays(1); s.Start.Before(until) {
				add("policy.r7.cooling_off", "Returned", back.String(), "Months", p.CoolingOffMonths, "Until", until.String())
			}
		}
	}
	return vs
}

func earlier(a, b Date) Date {
	if b.Before(a) {
		return b
	}
	return a
}

func later(a, b Date) Date {
	if b.After(a) {
		return b
	}
	return a
}

// burden warns when the lending unit would have too many people away (R14).
// Shares are compared cross-multiplied, in integers.
func burden(p Policy, s Secondment, f Facts) Violations {
	if p.BurdenWarnBP == 0 || f.Lender.Headcount == nil || *f.Lender.Headcount <= 0 {
		return nil
	}
	away, head := f.LenderAway+1, *f.Lender.Headcount
	if away*10_000 < p.BurdenWarnBP*head {
		return nil
	}
	return Violations{{Rule: R14, Severity: SeverityWarning, Message: Msg("policy.r14.burden", s.msgData("Away", away, "Headcount", head,
		"Percent", Percent(away*10_000/head), "Threshold", Percent(p.BurdenWarnBP))...)}}
}

// Percent formats basis points as a percentage with one decimal, rounded down.
func Percent(bp int) string { return fmt.Sprintf("%d.%d", bp/100, bp%100/10) }

// Burden is the seconded-out load of a lending unit, for the lender view (R14).
type Burden struct {
	Away, Headcount int
	BP              int // Away/Headcount in basis points; 0 when headcount is unknown
	Warn            bool
}

// BurdenOf computes the load of unit u with away people out under p.
func BurdenOf(p Policy, u Unit, away int) Burden {
	b := Burden{Away: away}
	if u.Headcount != nil && *u.Headcount > 0 {
		b.Headcount = *u.Headcount
		b.BP = away * 10_000 / b.Headcount
		b.Warn = p.BurdenWarnBP > 0 && away*10_000 >= p.BurdenWarnBP*b.Headcount
	}
	return b
}

// TransferFacts is what R12 weighs: the borrowing unit's numbers.
type TransferFacts struct {
	Borrower          Unit
	Pending           int  // other transfers into the unit under way
	Leadership        bool // the person is to fill a leadership post (职数)
	PostsFilled       int  // leadership posts filled now
	PendingLeadership int  // other pending transfers into leadership posts
}

// CheckTransferIn judges a transfer-in against the borrowing unit's staffing
// quota and post quota (R12). A unit without a recorded quota cannot show
// room, so it is refused too.
func CheckTransferIn(p Policy, s Secondment, t TransferFacts) Violations {
	if !p.TransferInQuota {
		return nil
	}
	u := t.Borrower
	v := func(id string, kv ...any) Violation {
		return Violation{Rule: R12, Severity: SeverityBlock, Message: Msg(id, s.msgData(append([]any{"Unit", u.Name}, kv...)...)...)}
	}
	var vs Violations
	switch {
	case u.StaffingQuota == nil || u.Headcount == nil:
		vs = append(vs, v("policy.r12.quota_unknown"))
	case *u.Headcount+t.Pending+1 > *u.StaffingQuota:
		vs = append(vs, v("policy.r12.staffing", "Quota", *u.StaffingQuota, "Headcount", *u.Headcount, "Pending", t.Pending))
	}
	if t.Leadership {
		switch {
		case u.PostQuota == nil:
			vs = append(vs, v("policy.r12.quota_unknown"))
		case t.PostsFilled+t.PendingLeadership+1 > *u.PostQuota:
			vs = append(vs, v("policy.r12.posts", "Quota", *u.PostQuota, "Filled", t.PostsFilled, "Pending", t.PendingLeadership))
		}
	}
	return vs
}

// Audit lists what is irregular about a running secondment on day today, for
// the ledger: overdue (R10) and missing dual filing (R13).
func Audit(p Policy, s Secondment, today Date) Violations {
	return p.Cite(auditRules(p, s, today))
}

func auditRules(p Policy, s Secondment, today Date) Violations {
	var vs Violations
	if !s.State.Away() {
		return nil
	}
	if end := s.LastDay(); s.State != StateTransferPending && today.After(end.AddDays(p.ReturnGraceDays)) {
		vs = append(vs, Violation{Rule: R10, Severity: SeverityBlock, Message: Msg("policy.r10.overdue", s.msgData("Ended", end.String(), "Days", end.DaysUntil(today))...)})
	}
	if p.DualFiling && s.Kind == KindSecondment {
		if s.FiledByBorrower.IsZero() {
			vs = append(vs, Violation{Rule: R13, Severity: SeverityWarning, Message: Msg("policy.r13.borrower", s.msgData()...)})
		}
		if s.FiledByLender.IsZero() {
			vs = append(vs, Violation{Rule: R13, Severity: SeverityWarning, Message: Msg("policy.r13.lender", s.msgData()...)})
		}
	}
	return vs
}

// Usage is how much of the cumulative cap (R7) a request's renewal chain
// uses, for the form to show while the clerk types ("已借调 92 天 / 上限
// 184 天"). CapDays is 0 when the policy sets no chain cap.
type Usage struct {
	Used      int // days of the earlier terms of the chain
	Requested int // days of this request
	CapMonths int
	CapDays   int // the cap counted from the chain's first day

	// Over the person's rolling window (PersonCapMonths within
	// PersonWindowMonths), any borrowing unit: zero when the policy sets
	// no window.
	WindowMonths, WindowUsed, WindowCapMonths, WindowCapDays int
}

// Total is the chain's days with this request.
func (u Usage) Total() int { return u.Used + u.Requested }

// UsageOf measures request s's chain as Evaluate's R7 check does.
func UsageOf(p Policy, s Secondment, f Facts) Usage {
	on := s.SubmittedOn
	u := Usage{CapMonths: p.ChainCapMonths}
	if !s.End.Before(s.Start) && !s.Start.IsZero() {
		u.Requested = span{s.Start, s.End}.days()
	}
	first := s.Start
	for _, sp := range chain(s, f, on) {
		u.Used += sp.days()
		first = sp.from
	}
	if p.ChainCapMonths > 0 && !first.IsZero() {
		u.CapDays = DaysInclusive(first, TermLastDay(first, p.ChainCapMonths))
	}
	if p.PersonCapMonths > 0 && !s.Start.IsZero() && !s.End.Before(s.Start) {
		// As cumulative's window check counts the year ending with the
		// request.
		w := windowUseOf(s, f, on, span{s.End.AddMonths(-p.PersonWindowMonths).AddDays(1), s.End})
		u.WindowUsed = w.used
		u.WindowMonths, u.WindowCapMonths = p.PersonWindowMonths, p.PersonCapMonths
		u.WindowCapDays = DaysInclusive(w.first, TermLastDay(w.first, p.PersonCapMonths))
	}
	return u
}
