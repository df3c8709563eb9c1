package approval

import (
	"context"
	"slices"
	"time"

	"secondment/internal/auth"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// TimelineStep is one step of a request's history, with the unit it was
// taken for and how long the request waited for it.
type TimelineStep struct {
	secondment.Decision
	UnitName string
	Waited   time.Duration // since the previous step; 0 for the first
}

// Attachment is a stored file of a request, without its content.
type Attachment struct {
	ID          int64
	Name        string
	ContentType string // application/pdf, image/jpeg or image/png
	Size        int64
	Uploaded    time.Time
	Action      secondment.Action // the step it came with; "" when none
}

// UnitNumbers are a unit's staffing quota, post quota and headcount, for a
// transfer-in (R12); nil where not recorded.
type UnitNumbers struct {
	Name                                string
	StaffingQuota, PostQuota, Headcount *int
}

// Page is everything a request's page shows to u.
type Page struct {
	Request
	Jurisdiction, OrgDept string
	AtSubmit, Now         *Evaluation // the judgement by the policy at submission, and by today's
	Timeline              []TimelineStep
	Attachments           []Attachment // the parties' only
	History               []secondment.Secondment
	Previous              *secondment.Secondment  // the term this renewal continues
	Renewals              []secondment.Secondment // renewals filed on this term
	CanRenew              bool
	BorrowerUnit          *UnitNumbers // around a transfer-in
	LenderUnit            *UnitNumbers
	Colleagues            []Nominee // to hand the waiting step to
	CopyChoices           []Account // whom the user may copy in, offered by the picker (any login may still be typed)
	// Rects are its irregular ledger entries that u may open (a keeper of
	// its jurisdiction sees all, a responsible unit its own), and
	// CanOpenRect says u may put it on the ledger by hand.
	Rects       []secondment.Rectification
	CanOpenRect bool
}

// Show gathers request id's page for u; a request u may not see is not
// found.
func (s *Service) Show(ctx context.Context, u auth.User, id int64) (Page, error) {
	l, err := s.store.SecondmentLoad(ctx, id, u.ID)
	if err != nil {
		return Page{}, err
	}
	r, ok := s.inContext(u, l.SecondmentRecord, l.Handlers, l.Copied, l.EscalatedTo)
	if !ok {
		return Page{}, secondment.NotFound("secondment")
	}
	p := Page{Request: r}
	cat, err := s.catalog(ctx, l.CatalogVersion)
	if err != nil {
		return p, err
	}
	history, away, err := s.store.Facts(ctx, r.PersonID, r.ID, r.LenderID)
	if err != nil {
		return p, err
	}
	held, err := s.held(ctx, cat, r.Secondment)
	if err != nil {
		return p, err
	}
	today := secondment.Today(s.clock)
	if ev, err := evaluate(cat, r.Secondment, today, false, history, away, held); err == nil {
		p.Now = &ev
		p.Jurisdiction, p.OrgDept = ev.Jurisdiction, ev.OrgDept
	}
	if r.JurisdictionID != 0 {
		if ev, err := evaluate(cat, r.Secondment, r.SubmittedOn, true, history, away, held); err == nil {
			p.AtSubmit = &ev
			p.Jurisdiction, p.OrgDept = ev.Jurisdiction, ev.OrgDept
		}
	}
	unitOf := map[secondment.Role]string{secondment.RoleBorrower: r.BorrowerName, secondment.RoleLender: r.LenderName,
		secondment.RoleOrgDept: p.OrgDept, secondment.RoleRegistrar: p.OrgDept}
	var prev time.Time
	for _, d := range r.Decisions {
		st := TimelineStep{Decision: d, UnitName: unitOf[d.Role]}
		if !prev.IsZero() {
			st.Waited = d.At.Sub(prev)
		}
		prev = d.At
		p.Timeline = append(p.Timeline, st)
	}
	if r.Party() {
		files, err := s.store.AttachmentList(ctx, r.ID)
		if err != nil {
			return p, err
		}
		for _, a := range files {
			p.Attachments = append(p.Attachments, Attachment{ID: a.ID, Name: a.Name, ContentType: a.ContentType, Size: a.Size,
				Uploaded: a.UploadedAt, Action: secondment.Action(a.Action)})
		}
	}
	s.terms(u, cat, &p, history, today)
	if p.CanCopy() {
		// The parties' units and the user's own: who a copy usually goes to.
		units := []int64{u.UnitID, p.BorrowerID, p.LenderID}
		if p.OrgDeptID != 0 {
			units = append(units, p.OrgDeptID)
		}
		accounts, err := s.store.DirectoryOf(ctx, units, directoryLimit)
		if err != nil {
			return p, err
		}
		for _, a := range accounts {
			if a.ID != u.ID {
				p.CopyChoices = append(p.CopyChoices, Account{Login: a.Login, Name: a.Name, UnitName: a.UnitName})
			}
		}
	}
	if err := s.colleagues(ctx, u, &p); err != nil {
		return p, err
	}
	keeper := registering(u) == nil && u.UnitID == r.OrgDeptID
	p.CanOpenRect = keeper && slices.Contains(LedgerStates, r.State)
	if slices.Contains(LedgerStates, r.State) {
		rects, err := s.store.SecondmentRects(ctx, r.ID)
		if err != nil {
			return p, err
		}
		for _, e := range rects {
			if keeper || e.ResponsibleUnitID == u.UnitID || (e.EscalatedTo == u.UnitID && holds(u, secondment.RoleOrgDept)) {
				p.Rects = append(p.Rects, e)
			}
		}
	}
	return p, nil
}

// terms adds what links a request to other terms of the person (the one
// it renews, its renewals, whether it may be renewed) and, around a
// transfer-in, both units' numbers.
func (s *Service) terms(u auth.User, cat *snapshot, p *Page, history []postgres.SecondmentRecord, today secondment.Date) {
	slices.SortFunc(history, func(a, b postgres.SecondmentRecord) int { return b.CreatedAt.Compare(a.CreatedAt) })
	mine := holds(u, secondment.RoleBorrower) && p.BorrowerID == u.UnitID
	live := false
	for i := range history {
		history[i].Secondment = named(cat, history[i].Secondment, p.PersonName)
	}
	for i := len(history) - 1; i >= 0; i-- { // oldest first
		h := history[i]
		if h.ID == p.PreviousID {
			prev := h.Secondment
			p.Previous = &prev
		}
		if h.PreviousID == p.ID {
			live = live || h.State.Live()
			if h.Number != "" || mine { // a draft is the borrowing unit's own
				p.Renewals = append(p.Renewals, h.Secondment)
			}
		}
	}
	for _, h := range history {
		if h.Number != "" && len(p.History) < 50 {
			p.History = append(p.History, h.Secondment)
		}
	}
	p.CanRenew = mine && !live && p.Renewable(today)
	switch p.State {
	case secondment.StateActive, secondment.StateTransferPending, secondment.StateTransferred:
		numbers := func(id int64) *UnitNumbers {
			un := cat.unit(id)
			return &UnitNumbers{Name: un.Name, StaffingQuota: un.StaffingQuota, PostQuota: un.PostQuota, Headcount: un.Headcount}
		}
		p.BorrowerUnit, p.LenderUnit = numbers(p.BorrowerID), numbers(p.LenderID)
	}
}

// colleagues lists, for the holder of a waiting step, the colleagues it may
// be handed to: same unit, same role, enabled.
func (s *Service) colleagues(ctx context.Context, u auth.User, p *Page) error {
	role, unit, ok := p.Pending()
	if !ok || !p.Party() || unit != u.UnitID || !holds(u, role) || (p.Handler.UserID != 0 && p.Handler.UserID != u.ID) {
		return nil
	}
	cs, err := s.store.UserColleagues(ctx, u.UnitID, roleOfChain(role))
	if err != nil {
		return err
	}
	for _, c := range cs {
		if c.ID != u.ID {
			p.Colleagues = append(p.Colleagues, Nominee{ID: c.ID, Name: c.Name, UnitName: c.UnitName})
		}
	}
	return nil
}

// Account is a colleague as a picker offers them.
type Account struct{ Login, Name, UnitName string }

// directoryLimit bounds a picker's choices; the login can always be typed.
const directoryLimit = 100

// ProxyChoices are the colleagues of u's unit a proxy may be chosen from.
func (s *Service) ProxyChoices(ctx context.Context, u auth.User) ([]Account, error) {
	accounts, err := s.store.DirectoryOf(ctx, []int64{u.UnitID}, directoryLimit)
	if err != nil {
		return nil, err
	}
	var out []Account
	for _, a := range accounts {
		// Not offered: oneself, and whoever would join roles that must
		// stay apart (ProxySet refuses them).
		if _, _, bad := auth.Incompatible(append(slices.Clone(u.Roles), a.Roles...)); a.ID != u.ID && !bad {
			out = append(out, Account{Login: a.Login, Name: a.Name, UnitName: a.UnitName})
		}
	}
	return out, nil
}

// roleOfChain is the account role that plays chain role r.
func roleOfChain(r secondment.Role) auth.Role {
	for _, role := range auth.AllRoles {
		if cr, ok := role.Chain(); ok && cr == r {
			return role
		}
	}
	return ""
}
