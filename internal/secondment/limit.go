package secondment

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

// borrowerLimit checks R15: with this request's person the borrowing unit
// would hold more people during the term than its limit. A unit the limit
// cannot be computed for (a share, and no staffing quota) needs an
// exception: the org dept decides, with a written reason.
func borrowerLimit(p Policy, s Secondment, f Facts) Violations {
	if !p.HasBorrowerCap() {
		return nil
	}
	h := HoldOf(p, f.Borrower, f.BorrowerHeld+1)
	switch {
	case h.NoQuota:
		return Violations{{R15, SeverityException, Msg("policy.r15.no_quota", s.msgData("Percent", Percent(p.BorrowerCapBP))...)}}
	case h.Over():
		return Violations{{R15, SeverityBlock, Msg("policy.r15.over", s.msgData("Held", h.Held, "Cap", h.Cap)...)}}
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
