package secondment

import "slices"

// R15 is the borrowing-unit limit. DOMAIN.md's table stops at R14; its
// policy paragraph adds, from Kashgar's finding 借调干部数量缺乏管控, a
// per-borrowing-unit limit as a policy option: a share of the unit's
// staffing quota, a number, or both (the smaller applies).

// Held reports whether a request in s holds its person at the borrowing
// unit for R15: signed off and not yet started, or away now. Requests still
// under review do not count, so two pending requests never block each
// other; the sign-off, which takes the place, is the binding check.
func (s State) Held() bool { return s == StateApproved || s.Away() }

// HasBorrowerCap reports whether the policy limits the people a borrowing
// unit holds (R15).
func (p Policy) HasBorrowerCap() bool { return p.BorrowerCapBP > 0 || p.BorrowerCapPeople > 0 }

// Hold is a borrowing unit's people held against its limit (R15).
type Hold struct {
	Held int // people held
	Cap  int // the limit; meaningful when Capped
	// Capped: the policy sets a limit that applies to this unit. A policy
	// with only a share of the staffing quota has no number for a unit
	// without a quota (a task force, 工作专班): then NoQuota is set.
	Capped, NoQuota bool
}

// Over reports whether the unit holds more than its limit.
func (h Hold) Over() bool { return h.Capped && h.Held > h.Cap }

// HoldOf is unit u's limit under p with held people held.
func HoldOf(p Policy, u Unit, held int) Hold {
	h := Hold{Held: held}
	if p.BorrowerCapBP > 0 {
		if u.StaffingQuota != nil {
			h.Capped, h.Cap = true, *u.StaffingQuota*p.BorrowerCapBP/10_000
		} else {
			h.NoQuota = true
		}
	}
	if p.BorrowerCapPeople > 0 {
		if !h.Capped || p.BorrowerCapPeople < h.Cap {
			h.Cap = p.BorrowerCapPeople
		}
		h.Capped, h.NoQuota = true, false
	}
	return h
}

// HeldTerm is a term on which a borrowing unit holds a person (R15).
type HeldTerm struct {
	ID, PersonID int64
	Start, End   Date
	Open         bool // away past its end (expired, overdue, in transfer-in): held until return
}

// HeldDuring is the most people, s's person apart, that the borrowing unit
// holds at once on some day of s's term, from terms (all the unit holds).
// For a request it holds already (signed off or away) only the people it
// took before s's person count — those whose first term there began
// earlier, ties by ID — so that a new or lower limit flags the people taken
// last, not everyone.
func HeldDuring(terms []HeldTerm, s Secondment) int {
	first := map[int64]HeldTerm{} // each person's first term held
	for _, t := range terms {
		if f, ok := first[t.PersonID]; !ok || t.earlier(f) {
			first[t.PersonID] = t
		}
	}
	me, mine := first[s.PersonID]
	if self := (HeldTerm{ID: s.ID, Start: s.Start}); !mine || self.earlier(me) {
		me = self
	}
	// Each other person's days within the term, as +1/-1 events: the most
	// at once is the largest running sum. A person's terms at one unit do
	// not overlap (a renewal starts the day after its predecessor ends), so
	// counting terms counts people.
	type event struct {
		day   Date
		delta int
	}
	var events []event
	for _, t := range terms {
		if t.PersonID == s.PersonID || (s.State.Held() && !first[t.PersonID].earlier(me)) {
			continue
		}
		from, to := t.Start, t.End
		if t.Open && to.Before(s.End) {
			to = s.End
		}
		if from.Before(s.Start) {
			from = s.Start
		}
		if to.After(s.End) {
			to = s.End
		}
		if to.Before(from) {
			continue
		}
		events = append(events, event{from, 1}, event{to.AddDays(1), -1})
	}
	slices.SortFunc(events, func(a, b event) int {
		if c := a.day.Compare(b.day); c != 0 {
			return c
		}
		return a.delta - b.delta // a term ending the day before another starts is not held with it
	})
	most, now := 0, 0
	for _, e := range events {
		now += e.delta
		most = max(most, now)
	}
	return most
}

func (t HeldTerm) earlier(u HeldTerm) bool {
	if c := t.Start.Compare(u.Start); c != 0 {
		return c < 0
	}
	return t.ID < u.ID
}

// borrowerLimit checks R15: with this request's person the borrowing unit
// would hold more people at once, on some day of the term, than its limit. A unit the limit
// cannot be computed for (a share, and no staffing quota) needs an
// exception: the org dept decides, with a written reason.
func borrowerLimit(p Policy, s Secondment, f Facts) Violations {
	if !p.HasBorrowerCap() {
		return nil
	}
	h := HoldOf(p, f.Borrower, f.BorrowerHeld+1)
	switch {
	case h.NoQuota:
		return Violations{{Rule: R15, Severity: SeverityException, Message: Msg("policy.r15.no_quota", s.msgData("Percent", Percent(p.BorrowerCapBP))...)}}
	case h.Over():
		return Violations{{Rule: R15, Severity: SeverityBlock, Message: Msg("policy.r15.over", s.msgData("Held", h.Held, "Cap", h.Cap)...)}}
	}
	return nil
}

// CapsBorrowers reports whether any version of the jurisdiction's policy
// limits borrowing units (R15): only then are the people held counted.
func (j Jurisdiction) CapsBorrowers() bool {
	for _, p := range j.Policies {
		if p.HasBorrowerCap() {
			return true
		}
	}
	return false
}

// Overlapping is the person's other term that s's dates overlap, if any:
// one person is never in two places at once (issue #12). A term counts
// while it holds the person — signed off, on post, away past its end (held
// until return, whatever the end says) or in transfer-in — up to its end
// (or an earlier return or recall date on record). A renewal starts the day after
// its predecessor ends, so it never overlaps it.
func Overlapping(s Secondment, history []Secondment) (Secondment, bool) {
	from, to, open := heldSpan(s)
	for _, h := range history {
		if h.ID == s.ID || h.PersonID != s.PersonID || !h.State.Held() {
			continue
		}
		hfrom, hto, hopen := heldSpan(h)
		if (open || !hfrom.After(to)) && (hopen || !from.After(hto)) {
			return h, true
		}
	}
	return Secondment{}, false
}

// OverlapMessage says that s's person is already seconded by o, naming o.
func OverlapMessage(s, o Secondment) Message {
	return Msg("transition.error.overlap", s.msgData("Other", o.Number, "OtherBorrower", o.BorrowerName,
		"OtherStart", o.Start.String(), "OtherEnd", o.End.String())...)
}

// heldSpan is the stretch of days s holds its person, as the database's
// secondment_one_place constraint reads it: from its start to its last day,
// or with no end (open) while it is expired, overdue or in transfer-in with
// no return on record: the person is still there.
func heldSpan(s Secondment) (from, to Date, open bool) {
	return s.Start, s.LastDay(), s.State.Away() && s.State != StateActive && s.ReturnedOn.IsZero()
}
