package approval

import (
	"slices"
	"time"

	"secondment/internal/auth"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// Party is a chain role in which a user takes part in a request: their own,
// or that of a colleague they stand in for (For, as out-of-office proxy).
type Party struct {
	Role secondment.Role
	For  *auth.User
}

// actor is the domain's actor for u acting in p.
func (p Party) actor(u auth.User) secondment.Actor {
	a := u.Actor(p.Role)
	if p.For != nil {
		a.ForID, a.ForName, a.ForPersonID = p.For.ID, p.For.Name, p.For.PersonID
	}
	return a
}

// partiesOn lists the ways u takes part in s: u's own chain roles first,
// then those of the colleagues u stands in for today.
func partiesOn(u auth.User, s secondment.Secondment) []Party {
	var out []Party
	for _, role := range u.Roles {
		if r, ok := role.Chain(); ok && s.PartyTo(r, u.UnitID) {
			out = append(out, Party{Role: r})
		}
	}
	for i := range u.ActingFor {
		p := &u.ActingFor[i]
		for _, role := range p.Roles {
			if r, ok := role.Chain(); ok && s.PartyTo(r, p.UnitID) {
				out = append(out, Party{Role: r, For: p})
			}
		}
	}
	return out
}

// holds reports whether u holds chain role r.
func holds(u auth.User, r secondment.Role) bool {
	return slices.ContainsFunc(u.Roles, func(role auth.Role) bool { cr, ok := role.Chain(); return ok && cr == r })
}

// HandlerRef is the colleague a waiting step was handed to.
type HandlerRef struct {
	UserID int64
	Name   string
}

// Request is a request in context: the request, and what the user looking
// at it may see and do. Pages and the API render it alike.
type Request struct {
	secondment.Secondment
	Version              int
	CreatedAt, UpdatedAt time.Time

	Parties     []Party
	Copied      bool // copied in (抄送): read-only
	Supervising bool // the user's org dept was asked to follow up its waiting step
	Handler     HandlerRef
	// Actions are the steps open to the user now, by the transition table:
	// deciding on one's own request is left out, the system's steps are
	// the sweep's, and a step handed to a colleague is theirs alone. The
	// domain checks again when one is taken.
	Actions []secondment.Action
	CanUrge bool // remind whoever must act (not oneself)

	// In the inbox's own lists: the step the user took (已办) and when the
	// row was made (the step, the submission, the copy).
	Done     secondment.Action
	ListedAt time.Time
}

// CanCopy reports whether the user may copy a colleague in: any party.
func (r Request) CanCopy() bool { return r.Party() }

// Party reports whether the user takes part (not only copied in or
// supervising).
func (r Request) Party() bool { return len(r.Parties) > 0 }

// handlerOf is the colleague step was handed to, if any.
func handlerOf(hs []postgres.Handler, step secondment.State) HandlerRef {
	for _, h := range hs {
		if h.Step == step {
			return HandlerRef{UserID: h.UserID, Name: h.Name}
		}
	}
	return HandlerRef{}
}

// inContext makes the request as u sees it. ok is false when u may not see
// it at all: then it does not exist for them.
func inContext(u auth.User, rec postgres.SecondmentRecord, handlers []postgres.Handler, copied bool, escalatedTo int64) (Request, bool) {
	r := Request{Secondment: rec.Secondment, Version: rec.Version, CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt,
		Parties: partiesOn(u, rec.Secondment), Copied: copied,
		Supervising: escalatedTo != 0 && escalatedTo == u.UnitID && holds(u, secondment.RoleOrgDept),
		Handler:     handlerOf(handlers, rec.State)}
	if !r.Party() && !r.Copied && !r.Supervising {
		return Request{}, false
	}
	if !r.Party() {
		// The term-end evaluation is for the personnel file: the
		// parties read it, not those copied in or supervising.
		r.Evaluation = ""
	}
	r.Actions = actionsFor(u, r.Secondment, r.Parties, r.Handler)
	if role, unit, ok := r.Pending(); ok && r.Party() {
		r.CanUrge = !(unit == u.UnitID && holds(u, role))
	}
	r.CanUrge = r.CanUrge || r.Supervising
	return r, true
}

// inContext is the package's inContext with the steps that today's date
// rules out left out, as the transition would refuse them: reporting for
// duty before the start day or after the end (确认到岗 was offered before
// the start date, then refused).
func (s *Service) inContext(u auth.User, rec postgres.SecondmentRecord, handlers []postgres.Handler, copied bool, escalatedTo int64) (Request, bool) {
	r, ok := inContext(u, rec, handlers, copied, escalatedTo)
	if !ok {
		return r, ok
	}
	today := secondment.Today(s.clock)
	if today.Before(r.Start) || today.After(r.End) {
		r.Actions = slices.DeleteFunc(r.Actions, func(a secondment.Action) bool { return a == secondment.ActStart })
	}
	return r, true
}

// actionsFor lists what u may do on s now (see Request.Actions).
func actionsFor(u auth.User, s secondment.Secondment, parties []Party, handler HandlerRef) []secondment.Action {
	var out []secondment.Action
	pending, _, _ := s.Pending()
	for _, p := range parties {
		if handler.UserID != 0 && p.Role == pending && handler.UserID != u.ID {
			continue
		}
		for _, a := range secondment.Allowed(s.State, p.Role) {
			if slices.Contains(out, a) || a.Systemic() {
				continue
			}
			if a.Deciding() && (s.FiledBy(u.ID) || (p.For != nil && s.FiledBy(p.For.ID))) {
				continue
			}
			if a.Deciding() && (s.DecidedAsOther(u.ID, p.Role) || (p.For != nil && s.DecidedAsOther(p.For.ID, p.Role))) {
				continue
			}
			if p.actor(u).About(s) && (a.Deciding() || a == secondment.ActSubmit || a == secondment.ActResubmit) {
				continue
			}
			out = append(out, a)
		}
	}
	return out
}

// actorFor picks how u takes action a on s: in a part the table allows
// (u's own roles before a colleague's); failing that, u's first part, so
// the domain gives the precise refusal.
func actorFor(u auth.User, s secondment.Secondment, parties []Party, a secondment.Action) secondment.Actor {
	for _, p := range parties {
		if slices.Contains(secondment.Allowed(s.State, p.Role), a) {
			return p.actor(u)
		}
	}
	if len(parties) > 0 {
		return parties[0].actor(u)
	}
	return u.Actor("")
}
