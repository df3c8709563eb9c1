package approval

import (
	"context"

	"secondment/internal/auth"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// Evaluation is a request judged by the rules: where, by which policy
// version, what the rules say, how much of the cumulative cap its chain
// uses, and the lending unit's load.
type Evaluation struct {
	Jurisdiction, OrgDept string
	Policy                secondment.Policy
	Violations            secondment.Violations
	Usage                 secondment.Usage
	Burden                secondment.Burden
	Hold                  secondment.Hold // the borrowing unit against its limit (R15), this request included
	LenderName            string
	// Overlap is the person's other term these dates would overlap (one
	// person, one place: submission and sign-off refuse it); ID 0 if none.
	Overlap        secondment.Secondment
	OverlapMessage secondment.Message
}

// evaluate judges req as if submitted on day (today for a form being
// filled in), or with recorded as it was judged at its submission: in the
// jurisdiction and by the policy version it recorded, on its submission
// day. history and away are the facts (Store.Facts), held the people the
// borrowing unit holds (Store.Held).
func evaluate(cat *snapshot, req secondment.Secondment, day secondment.Date, recorded bool,
	history []postgres.SecondmentRecord, away, held int) (Evaluation, error) {
	var ev Evaluation
	var j secondment.Jurisdiction
	if recorded && req.JurisdictionID != 0 {
		j = *cat.recorded(req)
		p, err := cat.policyOf(req)
		if err != nil {
			return ev, err
		}
		ev.Policy = p
	} else {
		var err error
		if j, err = cat.h.Jurisdiction(req.BorrowerID, cat.policies); err != nil {
			return ev, err
		}
		if ev.Policy, err = j.PolicyOn(day); err != nil {
			return ev, err
		}
		req.SubmittedOn = day
	}
	f := factsOf(cat, req, j.Root.Name, history, away, held)
	ev.Jurisdiction, ev.OrgDept = j.Root.Name, j.OrgDept.Name
	ev.Violations = secondment.Evaluate(ev.Policy, req, f)
	ev.Usage = secondment.UsageOf(ev.Policy, req, f)
	ev.Burden = secondment.BurdenOf(ev.Policy, f.Lender, f.LenderAway+1)
	ev.Hold = secondment.HoldOf(ev.Policy, f.Borrower, f.BorrowerHeld+1)
	ev.LenderName = f.Lender.Name
	if o, ok := secondment.Overlapping(req, f.History); ok {
		ev.Overlap, ev.OverlapMessage = o, secondment.OverlapMessage(req, o)
	}
	return ev, nil
}

// Check judges the form of a request being filled in by u, as if submitted
// today, without saving anything: the live check beside the form. A form
// the rules cannot judge yet (no person, no dates) is EInvalid with its
// fields; a person the clerk could not pick is judged as unknown.
func (s *Service) Check(ctx context.Context, u auth.User, in DraftInput) (Evaluation, error) {
	if err := borrowing(u); err != nil {
		return Evaluation{}, err
	}
	cat, err := s.catalog(ctx, 0)
	if err != nil {
		return Evaluation{}, err
	}
	prev, err := previous(ctx, s.store, in.PreviousID)
	if err != nil {
		return Evaluation{}, err
	}
	d, err := s.draft(ctx, s.store, u, cat, in, prev)
	if err != nil && (d.PersonID == 0 || d.Start.IsZero() || d.End.IsZero()) {
		return Evaluation{}, err
	}
	// The rules, not the form's other problems (a task still empty), are
	// what the check shows.
	history, away, err := s.store.Facts(ctx, d.PersonID, 0, d.LenderID)
	if err != nil {
		return Evaluation{}, err
	}
	held, err := s.held(ctx, cat, d)
	if err != nil {
		return Evaluation{}, err
	}
	return evaluate(cat, d, secondment.Today(s.clock), false, history, away, held)
}

// held is the most people req's borrowing unit holds at once during its
// term besides req's person (for a request it holds already, of those it
// took before), when its jurisdiction has ever limited them (R15); 0 saves
// the query where no version does.
func (s *Service) held(ctx context.Context, cat *snapshot, req secondment.Secondment) (int, error) {
	var caps bool
	if rec := cat.recorded(req); rec != nil {
		caps = rec.CapsBorrowers()
	} else if j, err := cat.h.Jurisdiction(req.BorrowerID, cat.policies); err == nil {
		caps = j.CapsBorrowers()
	} // else: no jurisdiction, which evaluate reports
	if !caps {
		return 0, nil
	}
	terms, err := s.store.HeldTerms(ctx, req.BorrowerID)
	if err != nil {
		return 0, err
	}
	return secondment.HeldDuring(terms, req), nil
}
