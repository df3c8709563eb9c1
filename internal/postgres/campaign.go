package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"secondment/internal/secondment"
)

// CampaignMax bounds the members of one campaign: a filter that finds more
// is to be narrowed (Kashgar's found 165; Baotou's returned 331).
const CampaignMax = 5000

// outcomeSQL is a member's outcome (secondment.MemberOutcome) in SQL, for
// counting and filtering where the rows are.
const outcomeSQL = `CASE WHEN s.state IN ('returned', 'return_recorded') THEN 'returned'
	WHEN s.state IN ('transfer_pending', 'transferred') THEN 'transfer'
	WHEN m.decision IN ('held', 'exempt') THEN m.decision ELSE 'pending' END`

// CampaignOpen opens campaign c over the rows of ledger filter f (at most
// max; more is refused, nothing written) with its audit event, and returns
// its id and how many it found.
func (t *Tx) CampaignOpen(ctx context.Context, c secondment.Campaign, f LedgerFilter, max int, e AuditEvent) (int64, int, error) {
	csql, cargs := ledgerCountSQL(f, max+1)
	var n int
	if err := t.q.QueryRow(ctx, csql, cargs...).Scan(&n); err != nil {
		return 0, 0, fmt.Errorf("count the campaign's rows: %w", err)
	}
	if n > max {
		return 0, 0, &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"),
			Fields: []secondment.FieldError{{Field: "filter", Message: secondment.Msg("campaign.error.too_many", "Max", max)}}}
	}
	if n == 0 {
		return 0, 0, &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"),
			Fields: []secondment.FieldError{{Field: "filter", Message: secondment.Msg("campaign.error.empty")}}}
	}
	var id int64
	if err := t.q.QueryRow(ctx, `INSERT INTO campaign (org_dept_id, name, basis, filter, opened_on, created_by, created_at)
	    VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, c.OrgDeptID, c.Name, c.Basis, c.Filter, dateArg(c.OpenedOn),
		nullID(e.ActorID), e.At).Scan(&id); err != nil {
		return 0, 0, fmt.Errorf("open campaign: %w", mapError(err, "campaign"))
	}
	isql, iargs := ledgerIDsSQL(f, max)
	iargs = append(iargs, id)
	tag, err := t.q.Exec(ctx, `INSERT INTO campaign_member (campaign_id, secondment_id)
	    SELECT $`+strconv.Itoa(len(iargs))+`, ids.id FROM (`+isql+`) ids`, iargs...)
	if err != nil {
		return 0, 0, fmt.Errorf("campaign members: %w", err)
	}
	e.ObjectID = id
	if e.Detail == nil {
		e.Detail = map[string]any{}
	}
	e.Detail["found"] = tag.RowsAffected()
	return id, int(tag.RowsAffected()), auditInsert(ctx, t.q, e)
}

// ledgerIDsSQL selects the ids of f's rows, up to limit.
func ledgerIDsSQL(f LedgerFilter, limit int) (string, []any) {
	states := ledgerStates(f)
	if len(states) == 0 {
		return "SELECT NULL::bigint AS id WHERE false", nil
	}
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	lim := arg(limit)
	var branches []string
	for _, g := range ledgerGroups(f, states) {
		branches = append(branches, "(SELECT s.id "+ledgerBranch(f, g, arg)+" LIMIT "+lim+")")
	}
	return `SELECT id FROM (` + strings.Join(branches, " UNION ALL ") + `) u LIMIT ` + lim, args
}

// campaignColumns are a campaign's columns, in scanCampaign's order.
const campaignColumns = `c.id, c.org_dept_id, c.name, c.basis, c.filter, c.opened_on, c.closed_on, c.version`

func scanCampaign(r pgx.Row, extra ...any) (secondment.Campaign, error) {
	var c secondment.Campaign
	var opened, closed pgtype.Date
	err := r.Scan(append([]any{&c.ID, &c.OrgDeptID, &c.Name, &c.Basis, &c.Filter, &opened, &closed, &c.Version}, extra...)...)
	c.OpenedOn, c.ClosedOn = civil(opened), civil(closed)
	return c, err
}

// campaignCounts adds up rows of (outcome, count).
func campaignCounts(rows pgx.Rows) (secondment.CampaignCounts, error) {
	var c secondment.CampaignCounts
	var o string
	var n int
	_, err := pgx.ForEachRow(rows, []any{&o, &n}, func() error {
		c.Add(secondment.CampaignOutcome(o), n)
		return nil
	})
	return c, err
}

// Campaigns lists the campaigns of an org dept, newest first, with their
// counts: at most limit, and only those still open when open.
func (s *Store) Campaigns(ctx context.Context, orgDeptID int64, open bool, limit int) ([]secondment.CampaignView, error) {
	where := ""
	if open {
		where = " AND c.closed_on IS NULL"
	}
	rows, err := s.Pool.Query(ctx, `SELECT `+campaignColumns+` FROM campaign c WHERE c.org_dept_id = $1`+where+`
	    ORDER BY c.opened_on DESC, c.id DESC LIMIT $2`, orgDeptID, limit)
	if err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (secondment.Campaign, error) { return scanCampaign(r) })
	if err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	out := make([]secondment.CampaignView, len(cs))
	b := &pgx.Batch{}
	for _, c := range cs {
		b.Queue(countsSQL, c.ID)
	}
	br := s.Pool.SendBatch(ctx, b)
	defer br.Close()
	for i, c := range cs {
		out[i].Campaign = c
		rows, err := br.Query()
		if err != nil {
			return nil, fmt.Errorf("count campaign %d: %w", c.ID, err)
		}
		if out[i].Counts, err = campaignCounts(rows); err != nil {
			return nil, fmt.Errorf("count campaign %d: %w", c.ID, err)
		}
	}
	return out, br.Close()
}

const countsSQL = `SELECT ` + outcomeSQL + ` AS outcome, count(*) FROM campaign_member m
    JOIN secondment s ON s.id = m.secondment_id WHERE m.campaign_id = $1 GROUP BY 1`

// CampaignGet reads campaign id with its counts.
func (s *Store) CampaignGet(ctx context.Context, id int64) (secondment.CampaignView, error) {
	var v secondment.CampaignView
	var err error
	v.Campaign, err = scanCampaign(s.Pool.QueryRow(ctx, `SELECT `+campaignColumns+` FROM campaign c WHERE c.id = $1`, id))
	if err != nil {
		return v, fmt.Errorf("get campaign %d: %w", id, mapError(err, "campaign"))
	}
	rows, err := s.Pool.Query(ctx, countsSQL, id)
	if err != nil {
		return v, fmt.Errorf("count campaign %d: %w", id, err)
	}
	if v.Counts, err = campaignCounts(rows); err != nil {
		return v, fmt.Errorf("count campaign %d: %w", id, err)
	}
	return v, nil
}

// MemberFilter is one page of a campaign's members, by person name and
// secondment id; Outcome "" lists all. Limit 0: all (an export).
type MemberFilter struct {
	CampaignID int64
	Outcome    secondment.CampaignOutcome
	AfterName  string
	AfterID    int64
	Limit      int
}

// CampaignMembers is a page of f.
func (s *Store) CampaignMembers(ctx context.Context, f MemberFilter) ([]secondment.CampaignLine, error) {
	args := []any{f.CampaignID}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	where := "m.campaign_id = $1"
	if f.Outcome != "" {
		where += " AND " + outcomeSQL + " = " + arg(string(f.Outcome))
	}
	if f.AfterID > 0 {
		where += " AND (pe.name, s.id) > (" + arg(f.AfterName) + ", " + arg(f.AfterID) + ")"
	}
	limit := ""
	if f.Limit > 0 {
		limit = " LIMIT " + arg(f.Limit)
	}
	rows, err := s.Pool.Query(ctx, `SELECT s.id, coalesce(s.number, ''), pe.name, bu.name, lu.name, s.state, s.start_date,
	        s.end_date, `+outcomeSQL+`, m.decision, m.reason, m.held_until, coalesce(u.name, ''), m.version
	    FROM campaign_member m
	    JOIN secondment s ON s.id = m.secondment_id
	    JOIN person pe ON pe.id = s.person_id
	    JOIN unit bu ON bu.id = s.borrower_id
	    JOIN unit lu ON lu.id = s.lender_id
	    LEFT JOIN app_user u ON u.id = m.decided_by
	    WHERE `+where+` ORDER BY pe.name, s.id`+limit, args...)
	if err != nil {
		return nil, fmt.Errorf("campaign members: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (secondment.CampaignLine, error) {
		var m secondment.CampaignLine
		var start, end, until pgtype.Date
		var decision string
		err := r.Scan(&m.SecondmentID, &m.Number, &m.PersonName, &m.BorrowerName, &m.LenderName, &m.State, &start, &end,
			&m.Outcome, &decision, &m.Decision.Reason, &until, &m.DecidedBy, &m.Version)
		m.Start, m.End, m.Decision.Until = civil(start), civil(end), civil(until)
		m.Decision.Outcome = secondment.CampaignOutcome(decision)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("campaign members: %w", err)
	}
	return out, nil
}

// MemberLock reads and locks one member of campaign campaignID, with its
// secondment, and holds the campaign (FOR SHARE) until the transaction
// ends, so that the campaign cannot close under a decision being made;
// closed says it had closed before.
func (t *Tx) MemberLock(ctx context.Context, campaignID, secondmentID int64) (m secondment.CampaignLine, s secondment.Secondment,
	closed bool, err error) {
	var start, end, until pgtype.Date
	var decision string
	err = t.q.QueryRow(ctx, `SELECT s.id, s.state, s.start_date, s.end_date, m.decision, m.reason, m.held_until, m.version,
	        c.closed_on IS NOT NULL
	    FROM campaign_member m JOIN campaign c ON c.id = m.campaign_id JOIN secondment s ON s.id = m.secondment_id
	    WHERE m.campaign_id = $1 AND m.secondment_id = $2 FOR UPDATE OF m FOR SHARE OF c`, campaignID, secondmentID).
		Scan(&s.ID, &s.State, &start, &end, &decision, &m.Decision.Reason, &until, &m.Version, &closed)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, s, false, secondment.NotFound("campaign_member")
	}
	if err != nil {
		return m, s, false, fmt.Errorf("campaign member: %w", err)
	}
	s.Start, s.End = civil(start), civil(end)
	m.SecondmentID, m.State, m.Start, m.End = s.ID, s.State, s.Start, s.End
	m.Decision.Outcome, m.Decision.Until = secondment.CampaignOutcome(decision), civil(until)
	return m, s, closed, nil
}

// MemberDecide writes the org dept's decision on a member read at version,
// with its audit event; another decision since is a conflict.
func (t *Tx) MemberDecide(ctx context.Context, campaignID, secondmentID int64, version int, d secondment.MemberDecision,
	today secondment.Date, e AuditEvent) error {
	tag, err := t.q.Exec(ctx, `UPDATE campaign_member SET decision = $4, reason = $5, held_until = $6, decided_by = $7,
	        decided_on = $8, version = version + 1
	    WHERE campaign_id = $1 AND secondment_id = $2 AND version = $3`,
		campaignID, secondmentID, version, string(d.Outcome), d.Reason, dateArg(d.Until), nullID(e.ActorID), dateArg(today))
	if err != nil {
		return fmt.Errorf("decide campaign member: %w", mapError(err, "campaign_member"))
	}
	if tag.RowsAffected() == 0 {
		return secondment.Errorf(secondment.EConflict, secondment.Msg("error.conflict"), errors.New("campaign member changed"))
	}
	return auditInsert(ctx, t.q, e)
}

// CampaignClose closes campaign id (its work done), read at version, with
// its audit event, which records the figures it closed on: counted after
// the campaign row is locked, so no decision slips in between.
func (t *Tx) CampaignClose(ctx context.Context, id int64, version int, on secondment.Date, e AuditEvent) error {
	tag, err := t.q.Exec(ctx, `UPDATE campaign SET closed_on = $3, version = version + 1
	    WHERE id = $1 AND version = $2 AND closed_on IS NULL`, id, version, dateArg(on))
	if err != nil {
		return fmt.Errorf("close campaign %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return secondment.Errorf(secondment.EConflict, secondment.Msg("error.conflict"), errors.New("campaign changed"))
	}
	rows, err := t.q.Query(ctx, countsSQL, id)
	if err != nil {
		return fmt.Errorf("count campaign %d: %w", id, err)
	}
	c, err := campaignCounts(rows)
	if err != nil {
		return fmt.Errorf("count campaign %d: %w", id, err)
	}
	if e.Detail == nil {
		e.Detail = map[string]any{}
	}
	e.Detail["found"], e.Detail["returned"], e.Detail["transfer"], e.Detail["remaining"] = c.Found, c.Returned, c.Transfer, c.Remaining()
	return auditInsert(ctx, t.q, e)
}
