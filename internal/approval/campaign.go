package approval

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"secondment/internal/auth"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// Clean-up campaigns (清理整治, issue 11, S6). An org dept opens one over a
// filter of its ledger and follows each secondee it found to an outcome;
// its registrar sees them too. Anyone else is told a campaign does not
// exist.

// CampaignInput opens a campaign: its name, the document it follows, and
// the ledger's filter (as the ledger page's query string) it is opened
// over.
type CampaignInput struct {
	Name, Basis string
	Filter      LedgerQuery
	FilterText  string // the query string, kept to show and reopen the ledger view
}

// campaignKeeper refuses anyone but the org dept and its registrar.
func campaignKeeper(u auth.User) error {
	if registering(u) != nil {
		return forbidden("error.forbidden", fmt.Errorf("%s keeps no campaigns", u.Login))
	}
	return nil
}

// CampaignOpen opens a campaign of u's org dept over in.Filter (the org
// dept's ledger), with every secondment the filter finds as a member; a
// filter that finds none, or more than postgres.CampaignMax, is refused.
func (s *Service) CampaignOpen(ctx context.Context, u auth.User, in CampaignInput) (int64, error) {
	if !holds(u, secondment.RoleOrgDept) {
		return 0, forbidden("error.forbidden", fmt.Errorf("%s may not open a campaign", u.Login))
	}
	q := in.Filter
	q.As, q.After = string(secondment.RoleOrgDept), ""
	// A renewed term has ended in its renewal, which the filter finds in
	// its own state: the person is counted once, by the term that runs.
	if len(q.States) == 0 {
		for _, st := range LedgerStates {
			q.States = append(q.States, string(st))
		}
	}
	q.States = slices.DeleteFunc(q.States, func(st string) bool { return st == string(secondment.StateRenewed) })
	if len(q.States) == 0 {
		return 0, fieldError("filter", "campaign.error.empty")
	}
	f, _, err := ledgerFilter(u, q)
	if err != nil {
		return 0, err
	}
	now := s.clock.Now()
	c, err := secondment.NewCampaign(in.Name, in.Basis, in.FilterText, secondment.DateOf(now))
	if err != nil {
		return 0, err
	}
	c.OrgDeptID = u.UnitID
	var id int64
	err = s.store.InTx(ctx, func(tx *postgres.Tx) error {
		id, _, err = tx.CampaignOpen(ctx, c, f, postgres.CampaignMax, postgres.AuditEvent{At: now, ActorID: u.ID,
			ActorName: u.Name, Action: "campaign.open", ObjectType: "campaign", UnitID: u.UnitID,
			Detail: map[string]any{"name": c.Name, "basis": c.Basis, "filter": c.Filter}})
		return err
	})
	return id, err
}

// campaignsListed bounds a list of campaigns (an org dept runs a few a
// year).
const campaignsListed = 200

// Campaigns are u's org dept's campaigns, newest first, with their counts:
// all (up to 200), or the open ones up to limit (a home page's).
func (s *Service) Campaigns(ctx context.Context, u auth.User, openOnly bool, limit int) ([]secondment.CampaignView, error) {
	if err := campaignKeeper(u); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > campaignsListed {
		limit = campaignsListed
	}
	return s.store.Campaigns(ctx, u.UnitID, openOnly, limit)
}

// CampaignQuery is one page of a campaign's members: of one outcome, after
// the cursor of the page before.
type CampaignQuery struct {
	Outcome string
	After   string
}

// CampaignPage is a campaign as u sees it: its counts, a page of its
// members (50, by name), and what u may do.
type CampaignPage struct {
	secondment.CampaignView
	Members   []secondment.CampaignLine
	Next      string
	Outcome   secondment.CampaignOutcome // the filter
	CanDecide bool                       // the org dept, while the campaign is open
	Today     secondment.Date
}

// campaignOf reads campaign id for u: one of another org dept is not
// found.
func (s *Service) campaignOf(ctx context.Context, u auth.User, id int64) (secondment.CampaignView, error) {
	if err := campaignKeeper(u); err != nil {
		return secondment.CampaignView{}, err
	}
	v, err := s.store.CampaignGet(ctx, id)
	if err != nil {
		return v, err
	}
	if v.OrgDeptID != u.UnitID {
		return secondment.CampaignView{}, secondment.NotFound("campaign")
	}
	return v, nil
}

// Campaign is campaign id with a page of its members.
func (s *Service) Campaign(ctx context.Context, u auth.User, id int64, q CampaignQuery) (CampaignPage, error) {
	v, err := s.campaignOf(ctx, u, id)
	if err != nil {
		return CampaignPage{}, err
	}
	p := CampaignPage{CampaignView: v, Outcome: secondment.CampaignOutcome(q.Outcome), Today: secondment.DateOf(s.clock.Now()),
		CanDecide: holds(u, secondment.RoleOrgDept) && v.ClosedOn.IsZero()}
	f := postgres.MemberFilter{CampaignID: id, Outcome: p.Outcome, Limit: LedgerPageSize + 1}
	if p.Outcome != "" && !p.Outcome.Valid() {
		return p, fieldError("outcome", "campaign.error.outcome")
	}
	if q.After != "" {
		// The cursor is "<id>.<name>": the id, all digits, first, so a
		// name may hold anything (no control character: cursors travel
		// in URLs, which the input layer checks as text).
		sid, name, ok := strings.Cut(q.After, ".")
		n, err := strconv.ParseInt(sid, 10, 64)
		if !ok || err != nil || n <= 0 {
			return p, fieldError("after", "error.cursor")
		}
		f.AfterName, f.AfterID = name, n
	}
	rows, err := s.store.CampaignMembers(ctx, f)
	if err != nil {
		return p, err
	}
	if len(rows) > LedgerPageSize {
		rows = rows[:LedgerPageSize]
		last := rows[len(rows)-1]
		p.Next = strconv.FormatInt(last.SecondmentID, 10) + "." + last.PersonName
	}
	p.Members = rows
	return p, nil
}

// CampaignMembers are all the members of campaign id of one outcome (""
// all), for an export.
func (s *Service) CampaignMembers(ctx context.Context, u auth.User, id int64, outcome string) (secondment.CampaignView, []secondment.CampaignLine, error) {
	v, err := s.campaignOf(ctx, u, id)
	if err != nil {
		return v, nil, err
	}
	o := secondment.CampaignOutcome(outcome)
	if o != "" && !o.Valid() {
		return v, nil, fieldError("outcome", "campaign.error.outcome")
	}
	rows, err := s.store.CampaignMembers(ctx, postgres.MemberFilter{CampaignID: id, Outcome: o})
	return v, rows, err
}

// MemberInput is the org dept's decision on one member, read at Version.
type MemberInput struct {
	Version int
	Outcome string
	Reason  string
	Until   string
}

// CampaignDecide records u's decision on the member secondmentID of
// campaign id: held to term end (R11), exempt, or pending again.
func (s *Service) CampaignDecide(ctx context.Context, u auth.User, id, secondmentID int64, in MemberInput) error {
	if _, err := s.campaignOf(ctx, u, id); err != nil {
		return err
	}
	if !holds(u, secondment.RoleOrgDept) {
		return forbidden("error.forbidden", fmt.Errorf("%s may not decide in campaign %d", u.Login, id))
	}
	now := s.clock.Now()
	today := secondment.DateOf(now)
	d := secondment.MemberDecision{Outcome: secondment.CampaignOutcome(in.Outcome), Reason: in.Reason}
	if v := strings.TrimSpace(in.Until); v != "" {
		until, err := secondment.ParseDate(v)
		if err != nil {
			return fieldError("until", "error.date")
		}
		d.Until = until
	}
	return s.store.InTx(ctx, func(tx *postgres.Tx) error {
		m, sec, closed, err := tx.MemberLock(ctx, id, secondmentID)
		if err != nil {
			return err
		}
		if closed {
			return secondment.Errorf(secondment.EConflict, secondment.Msg("campaign.error.closed"), nil)
		}
		if m.Version != in.Version {
			return secondment.Errorf(secondment.EConflict, secondment.Msg("error.conflict"),
				fmt.Errorf("member %d of campaign %d is at version %d, not %d", secondmentID, id, m.Version, in.Version))
		}
		d, err := secondment.Decide(d, sec, today)
		if err != nil {
			return err
		}
		return tx.MemberDecide(ctx, id, secondmentID, m.Version, d, today, postgres.AuditEvent{At: now, ActorID: u.ID,
			ActorName: u.Name, Action: "campaign.decide", ObjectType: "campaign", ObjectID: id, UnitID: u.UnitID,
			Detail: map[string]any{"secondment": secondmentID, "outcome": d.Outcome, "reason": d.Reason,
				"until": d.Until.String(), "before": m.Decision.Outcome}})
	})
}

// CampaignClose closes campaign id, its work done: its figures stay.
func (s *Service) CampaignClose(ctx context.Context, u auth.User, id int64, version int) error {
	if _, err := s.campaignOf(ctx, u, id); err != nil {
		return err
	}
	if !holds(u, secondment.RoleOrgDept) {
		return forbidden("error.forbidden", fmt.Errorf("%s may not close campaign %d", u.Login, id))
	}
	now := s.clock.Now()
	return s.store.InTx(ctx, func(tx *postgres.Tx) error {
		return tx.CampaignClose(ctx, id, version, secondment.DateOf(now), postgres.AuditEvent{At: now, ActorID: u.ID,
			ActorName: u.Name, Action: "campaign.close", ObjectType: "campaign", ObjectID: id, UnitID: u.UnitID})
	})
}
