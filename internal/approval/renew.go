package approval

import (
	"context"
	"slices"

	"secondment/internal/auth"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// RenewalOf is the term a renewal form continues: the renewal starts the
// day after it ends (Next) and runs the whole chain again (R6).
type RenewalOf struct {
	ID         int64
	Number     string
	PersonID   int64
	Start, End secondment.Date
	Next       secondment.Date
}

// Renewal is what the renewal form (续借) of term id opens with: the form
// prefilled from the term, or — when a renewal is already under way — that
// renewal's ID, to go to instead. A term u may not renew today is
// EConflict "term.renew.unavailable".
type Renewal struct {
	Existing int64 // the live renewal under way, if any
	Form     DraftInput
	Of       RenewalOf
}

// Renewal opens the renewal of term id for u.
func (s *Service) Renewal(ctx context.Context, u auth.User, id int64) (Renewal, error) {
	r, err := s.Get(ctx, u, id)
	if err != nil {
		return Renewal{}, err
	}
	today := secondment.Today(s.clock)
	if !holds(u, secondment.RoleBorrower) || r.BorrowerID != u.UnitID || !r.Renewable(today) {
		return Renewal{}, &secondment.Error{Code: secondment.EConflict, Message: secondment.Msg("term.renew.unavailable")}
	}
	all, err := s.store.SecondmentList(ctx, postgres.SecondmentFilter{PersonID: r.PersonID})
	if err != nil {
		return Renewal{}, err
	}
	slices.SortFunc(all, func(a, b postgres.SecondmentRecord) int { return a.CreatedAt.Compare(b.CreatedAt) })
	for _, rn := range all {
		if rn.PreviousID == r.ID && rn.State.Live() {
			return Renewal{Existing: rn.ID}, nil
		}
	}
	return Renewal{Of: renewalOf(r.Secondment), Form: DraftInput{PersonID: r.PersonID, PreviousID: r.ID,
		Kind: string(r.Kind), Alias: string(r.Alias), Purpose: string(r.Purpose), Task: r.Task,
		Start: r.End.AddDays(1).String(), Justification: r.Justification, Programme: r.Programme,
		SalaryWith: string(r.SalaryWith.Or()), KeyPost: r.KeyPost}}, nil // the secondee is asked again (本人意见)
}

func renewalOf(p secondment.Secondment) RenewalOf {
	return RenewalOf{ID: p.ID, Number: p.Number, PersonID: p.PersonID, Start: p.Start, End: p.End, Next: p.End.AddDays(1)}
}

// RenewalContext is the term a request form's previous_id names, when it is
// a term of u's unit: the form then shows it and fixes the person.
func (s *Service) RenewalContext(ctx context.Context, u auth.User, previousID int64) (*RenewalOf, error) {
	if err := borrowing(u); err != nil {
		return nil, err
	}
	prev, err := previous(ctx, s.store, previousID)
	if err != nil || prev == nil || prev.BorrowerID != u.UnitID {
		return nil, err
	}
	r := renewalOf(prev.Secondment)
	return &r, nil
}
