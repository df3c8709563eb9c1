package demo

import (
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"

	"secondment/internal/approval"
	"secondment/internal/auth"
	"secondment/internal/secondment"
)

// The supervision stories of issue 11: S6's clean-up campaign and S4's
// rectifications, told after the stock they follow is registered.

// stock2022Borrowers are the organs that held the 2022 clean-up's people.
var stock2022Borrowers = []string{"XJ-KS-ZF", "XJ-KS-JW"}

// kashgar2022 is Kashgar's earlier clean-up (S6: end of 2022, 100+
// long-term secondees found, 103 returned, 38 moved in by public selection
// or transfer). 喀什市委组织部's registrar records them as they ended,
// terms of ten months and more that all ended before S6's stock began, and
// the org dept opens the campaign over its ledger's registered township
// stock that day (nothing else was registered yet) and closes it two months
// later, every one accounted for. It comes before S6 in the stories, as in
// the seed; S6's campaign only takes the terms that ran after it.
func (t *teller) kashgar2022() error {
	registrar, err := t.user("xj-ks-zzb.registrar")
	if err != nil {
		return err
	}
	org, err := t.user("xj-ks-zzb.orgdept")
	if err != nil {
		return err
	}
	t.at(stock2022Day)
	c := StoryCounts
	for i := range c.Kashgar2022Returned + c.Kashgar2022Transferred {
		start := stock2022Day - 700 + 2*i
		in := approval.RegisterInput{PersonID: t.people[stock2022Name(i)], BorrowerID: t.units[stock2022Borrowers[i%2]],
			LenderID: t.units[storyTowns[i%len(storyTowns)]], Kind: string(secondment.KindSecondment),
			Purpose: string(secondment.PurposeSpecialProject), Task: "专项工作",
			Start: t.day(start).String(), End: t.day(min(start+300+i%60, stock2022Day-30)).String()}
		if i < c.Kashgar2022Returned {
			in.Status, in.ReturnedOn = string(secondment.StockReturned), t.day(stock2022Day-10+i%8).String()
		} else {
			in.Status, in.TransferMethod = string(secondment.StockTransferred), string(secondment.TransferPublicSelection)
			if i%2 == 1 {
				in.TransferMethod = string(secondment.TransferOfPost)
			}
		}
		if _, err := t.register(registrar, in); err != nil {
			return fmt.Errorf("demo story Kashgar 2022: %w", err)
		}
	}
	filter := url.Values{"registered": {"true"}, "level": {"township"}}
	id, err := t.svc.CampaignOpen(t.ctx, org, approval.CampaignInput{Name: "长期借调干部清理（2022年底）",
		Basis: "喀什市长期借调干部专项清理", Filter: approval.LedgerQuery{Registered: true, Level: string(secondment.LevelTownship)},
		FilterText: filter.Encode()})
	if err != nil {
		return fmt.Errorf("demo story Kashgar 2022: %w", err)
	}
	t.at(stock2022Day + 60)
	v, err := t.svc.Campaign(t.ctx, org, id, approval.CampaignQuery{})
	if err == nil {
		err = t.svc.CampaignClose(t.ctx, org, id, v.Version)
	}
	if err != nil {
		return fmt.Errorf("demo story Kashgar 2022: %w", err)
	}
	return nil
}

// stock2022Day is the day, relative to today, Kashgar's 2022 clean-up
// registered its people and opened: about fourteen months before S6's.
const stock2022Day = -480

// kashgarCampaign is S6's clean-up: 喀什市委组织部 opens it over its
// ledger's registered township stock the day it was registered, and holds
// the 22 on major projects to their term's end (R11). Its figures are then
// the seed's: 165 found, 131 returned, 12 in transfer-in, 22 remaining.
func (t *teller) kashgarCampaign() error {
	org, err := t.user("xj-ks-zzb.orgdept")
	if err != nil {
		return err
	}
	t.at(-60)
	// The terms that ran after the 2022 clean-up (all of its ended before).
	from := t.day(stock2022Day).String()
	filter := url.Values{"registered": {"true"}, "level": {"township"}, "from": {from}}
	id, err := t.svc.CampaignOpen(t.ctx, org, approval.CampaignInput{Name: "借调干部清理整治（2024年1月）",
		Basis: "喀什市规范借调工作专项清理", Filter: approval.LedgerQuery{Registered: true, Level: string(secondment.LevelTownship),
			From: from}, FilterText: filter.Encode()})
	if err != nil {
		return fmt.Errorf("demo story S6: %w", err)
	}
	p, err := t.svc.Campaign(t.ctx, org, id, approval.CampaignQuery{Outcome: string(secondment.OutcomePending)})
	for err == nil {
		for _, m := range p.Members {
			if err = t.svc.CampaignDecide(t.ctx, org, id, m.SecondmentID, approval.MemberInput{Version: m.Version,
				Outcome: string(secondment.OutcomeHeld), Reason: "重点项目建设，期满完成交接后清退"}); err != nil {
				break
			}
		}
		if err != nil || p.Next == "" {
			break
		}
		p, err = t.svc.Campaign(t.ctx, org, id, approval.CampaignQuery{Outcome: string(secondment.OutcomePending), After: p.Next})
	}
	if err != nil {
		return fmt.Errorf("demo story S6: %w", err)
	}
	return nil
}

// rectifications is S4 on the irregular ledger: 青山区委组织部 gave the
// four people 科学路街道 still has away (each against Baotou's township
// ban) a deadline forty days ago; 青山区人大 wrote a plan for three and
// reported one transfer-in under way. One deadline passed ten days ago, so
// the day's sweep escalates it to 包头市委组织部; the others run three weeks
// more. In Kashgar, five of the 22 held on major projects are reported to
// return at term end (R11).
func (t *teller) rectifications() error {
	open := func(lender string, limit int) ([]int64, error) {
		rows, err := t.store.Pool.Query(t.ctx, `SELECT le.id FROM ledger_entry le JOIN secondment s ON s.id = le.secondment_id
			JOIN unit l ON l.id = s.lender_id
			WHERE l.code LIKE $1 AND le.rule = 'R4' AND le.closed_on IS NULL ORDER BY s.start_date, le.id LIMIT $2`, lender, limit)
		if err != nil {
			return nil, fmt.Errorf("demo story S4: %w", err)
		}
		return pgx.CollectRows(rows, pgx.RowTo[int64])
	}
	change := func(login string, id int64, do func(u auth.User, p approval.RectPage) (approval.RectPage, error)) error {
		u, err := t.user(login)
		if err != nil {
			return err
		}
		p, err := t.svc.Rect(t.ctx, u, id)
		if err == nil {
			_, err = do(u, p)
		}
		if err != nil {
			return fmt.Errorf("demo story S4, entry %d as %s: %w", id, login, err)
		}
		return nil
	}
	kxl, err := open("NMG-BT-QS-KXL", 4)
	if err != nil {
		return err
	}
	if len(kxl) != 4 {
		return fmt.Errorf("demo story S4: %d entries of 科学路街道's people, want 4", len(kxl))
	}
	t.at(-40)
	for i, id := range kxl {
		deadline := t.day(20)
		if i == 0 {
			deadline = t.day(-10)
		}
		if err := change("nmg-bt-qs-zzb.orgdept", id, func(u auth.User, p approval.RectPage) (approval.RectPage, error) {
			return t.svc.RectPlan(t.ctx, u, id, approval.RectPlanInput{Version: p.Version, Deadline: new(deadline.String())})
		}); err != nil {
			return err
		}
	}
	t.at(-30)
	plans := []approval.RectPlanInput{
		{TargetTask: new("借调人员返回科学路街道"), Measures: new("完成代表联络站移交后返回原单位，街道安排接续岗位"), ResponsiblePerson: new("办公室主任")},
		{TargetTask: new("借调人员返回科学路街道"), Measures: new("信访接待工作由机关人员接手，月底前返回"), ResponsiblePerson: new("办公室主任")},
		{TargetTask: new("符合条件的按程序调入"), Measures: new("在编制和职数内通过公开遴选调入人大机关（R12）"), ResponsiblePerson: new("人事科科长")},
	}
	for i, in := range plans {
		id := kxl[i]
		if err := change("nmg-bt-qs-rd.borrower", id, func(u auth.User, p approval.RectPage) (approval.RectPage, error) {
			in.Version = p.Version
			return t.svc.RectPlan(t.ctx, u, id, in)
		}); err != nil {
			return err
		}
	}
	if err := change("nmg-bt-qs-rd.borrower", kxl[2], func(u auth.User, p approval.RectPage) (approval.RectPage, error) {
		return t.svc.RectReport(t.ctx, u, kxl[2], p.Version, string(secondment.RectTransferPending))
	}); err != nil {
		return err
	}
	held, err := open("XJ-KS-%", 1000)
	if err != nil {
		return err
	}
	n := 0
	for _, id := range held {
		if n == 5 {
			break
		}
		u, err := t.user("xj-ks-zzb.orgdept")
		if err != nil {
			return err
		}
		p, err := t.svc.Rect(t.ctx, u, id)
		if err != nil {
			return err
		}
		if p.State != secondment.StateActive {
			continue
		}
		if _, err := t.svc.RectPlan(t.ctx, u, id, approval.RectPlanInput{Version: p.Version, TargetTask: new("期满完成交接后返回原单位"),
			Measures: new("重点项目不搞一刀切，期满交接后清退（R11）"), ResponsiblePerson: new("项目负责人"),
			Deadline: new(p.End.AddDays(1).String())}); err != nil {
			return fmt.Errorf("demo story S4, entry %d: %w", id, err)
		}
		if p, err = t.svc.Rect(t.ctx, u, id); err == nil {
			_, err = t.svc.RectReport(t.ctx, u, id, p.Version, string(secondment.RectTermEnd))
		}
		if err != nil {
			return fmt.Errorf("demo story S4, entry %d: %w", id, err)
		}
		n++
	}
	return nil
}
