package approval

import (
	"context"
	"time"

	"secondment/internal/auth"
	"secondment/internal/secondment"
)

// PrintForm is the printable approval form (借调审批表) of a request.
type PrintForm struct {
	secondment.Secondment
	PreviousNumber string // the term a renewal continues
	OrgDept        string
	Person         secondment.PersonView // the particulars a form carries (性别, 出生年月 …)
	// Opinions are the last word of each party: the submission, the
	// lending unit's opinion, the org dept's decision.
	Opinions []secondment.Decision
	// Transfer are the steps of a transfer-in, a later procedure printed
	// apart from the approval.
	Transfer []secondment.Decision
	Printed  time.Time
}

// partyOnly reads request id for what only its parties get (the approval
// form, the signed letter): for anyone else — copied in, supervising — it
// does not exist.
func (s *Service) partyOnly(ctx context.Context, u auth.User, id int64) (Request, error) {
	r, err := s.Get(ctx, u, id)
	if err == nil && !r.Party() {
		err = secondment.NotFound("secondment")
	}
	return r, err
}

// Print gathers the approval form of request id for a party u.
func (s *Service) Print(ctx context.Context, u auth.User, id int64) (PrintForm, error) {
	r, err := s.partyOnly(ctx, u, id)
	if err != nil {
		return PrintForm{}, err
	}
	f := PrintForm{Secondment: r.Secondment, Printed: s.clock.Now()}
	p, err := s.store.PersonGet(ctx, r.PersonID)
	if err != nil {
		return f, err
	}
	f.Person = p
	if prev, err := previous(ctx, s.store, r.PreviousID); err == nil && prev != nil {
		f.PreviousNumber = prev.Number
	}
	if r.OrgDeptID != 0 {
		cat, err := s.catalog(ctx, 0)
		if err != nil {
			return f, err
		}
		f.OrgDept = cat.unit(r.OrgDeptID).Name
	}
	last := map[secondment.Role]secondment.Decision{}
	for _, d := range r.Decisions {
		if d.Action == secondment.ActTransfer || d.Step == secondment.StateTransferPending {
			f.Transfer = append(f.Transfer, d)
			continue
		}
		switch d.Action {
		case secondment.ActSubmit, secondment.ActResubmit, secondment.ActConsent, secondment.ActDecline,
			secondment.ActApprove, secondment.ActReject:
			last[d.Role] = d
		}
	}
	for _, role := range []secondment.Role{secondment.RoleBorrower, secondment.RoleLender, secondment.RoleOrgDept} {
		if d, ok := last[role]; ok {
			f.Opinions = append(f.Opinions, d)
		}
	}
	return f, nil
}

// Attachment returns file attID of request id, with its content, to a
// party u; a file of another request is not found.
func (s *Service) Attachment(ctx context.Context, u auth.User, id, attID int64) (File, error) {
	if _, err := s.partyOnly(ctx, u, id); err != nil {
		return File{}, err
	}
	a, err := s.store.AttachmentGet(ctx, id, attID)
	if err != nil {
		return File{}, err
	}
	return File{Name: a.Name, ContentType: a.ContentType, Data: a.Data}, nil
}
