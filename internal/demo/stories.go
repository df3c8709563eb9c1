package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"secondment/internal/approval"
	"secondment/internal/auth"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// The seed's stories as requests and registrations, every date counted
// from today, so that a first visitor sees a living system: requests
// waiting at each step, terms ending this week and next month, overdue
// ones in the ledger, returns and transfers, and the stock of the clean-ups.
// Requests go through the real chain (approval.Service) on a clock set to
// each step's day; what happened before the service is registered as
// stock. Numbers the seed gives hold exactly:
//
//   - S6: 165 Kashgar township secondees registered: 131 returned, 12 in
//     transfer-in, 22 away on major projects until their term ends;
//   - S8: 科学路街道 has 4 people away, 阿克喀什乡 6.

// StoryCounts are the numbers the stories promise, for tests and the README.
var StoryCounts = struct {
	KashgarStock, StockReturned, StockTransfer, StockAway int
	KexueluAway, AkekashiAway                             int
	// Kashgar's earlier clean-up (end of 2022): 103 returned, 38 moved in
	// by public selection or transfer of post.
	Kashgar2022Returned, Kashgar2022Transferred int
}{165, 131, 12, 22, 4, 6, 103, 38}

// StoriesResult says what LoadStories did.
type StoriesResult struct {
	Skipped              bool // requests were there already: nothing was added
	Requests, Registered int
}

// storyClock is the clock the stories move from day to day.
type storyClock struct{ t time.Time }

func (c *storyClock) Now() time.Time { return c.t }

// teller runs the stories.
type teller struct {
	ctx    context.Context
	store  *postgres.Store
	svc    *approval.Service
	clock  *storyClock
	now    time.Time // the real now: the stories end there
	today  secondment.Date
	users  map[string]auth.User // by login
	units  map[string]int64     // by code
	people map[string]int64     // by name
	res    StoriesResult
	capped term // S2's third term, which the six-month cap refuses
}

// LoadStories adds the stories once: when requests of the demo's cities
// are stored already, it adds nothing, so that `serve --demo` may run it at
// every start.
func LoadStories(ctx context.Context, s *postgres.Store, now time.Time) (StoriesResult, error) {
	// Requests of the demo's cities mean the stories are there (a scaled
	// demo's synthetic province has requests of its own).
	var any bool
	if err := s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM secondment s JOIN unit b ON b.id = s.borrower_id
		WHERE b.code LIKE ANY (ARRAY['NMG-BT%', 'SD-WH%', 'XJ-KS%']))`).Scan(&any); err != nil {
		return StoriesResult{}, fmt.Errorf("demo stories: %w", err)
	}
	if any {
		return StoriesResult{Skipped: true}, nil
	}
	if _, err := s.Import(ctx, postgres.Import{People: storyPeople()}); err != nil {
		return StoriesResult{}, fmt.Errorf("demo story people: %w", err)
	}
	clock := &storyClock{}
	t := &teller{ctx: ctx, store: s, svc: approval.New(s, clock), clock: clock, now: now, today: secondment.DateOf(now),
		users: map[string]auth.User{}, units: map[string]int64{}, people: map[string]int64{}}
	if err := t.index(); err != nil {
		return t.res, err
	}
	for _, story := range []func() error{t.kashgar, t.weihai, t.baotou, t.kashgar2022, t.kashgarStock, t.kashgarCampaign, t.rectifications} {
		if err := story(); err != nil {
			return t.res, err
		}
	}
	// Bring every term up to today: renewals take over, ended terms
	// expire, and those past their grace go into the ledger (R10).
	if _, err := s.Sweep(ctx, t.today, now, postgres.SweepOptions{Origin: "seed demo"}); err != nil {
		return t.res, fmt.Errorf("demo sweep: %w", err)
	}
	// S2's third term, asked for while the renewal runs: R7 stops it.
	if _, err := t.request(t.capped, 0, step{"xj-ks-jw.borrower", secondment.ActSubmit, 0, approval.ActInput{}}); !errors.Is(err, secondment.ErrPolicyViolation) {
		return t.res, fmt.Errorf("demo story S2: the six-month cap did not stop the third term: %v", err)
	}
	return t.res, nil
}

func (t *teller) index() error {
	users, err := t.store.UserList(t.ctx, postgres.UserPage{Limit: 100000})
	if err != nil {
		return err
	}
	for _, u := range users {
		t.users[u.Login] = u
	}
	units, err := t.store.UnitAll(t.ctx)
	if err != nil {
		return err
	}
	for _, u := range units {
		t.units[u.Code] = u.ID
	}
	people, err := t.store.PersonList(t.ctx, postgres.PersonPage{Limit: 100000})
	if err != nil {
		return err
	}
	for _, p := range people {
		t.people[p.Name] = p.ID
	}
	return nil
}

// day is today plus n days; at sets the clock to 10:00 of it.
func (t *teller) day(n int) secondment.Date { return t.today.AddDays(n) }
func (t *teller) at(n int)                  { t.clock.t = t.day(n).Start().Add(10 * time.Hour) }

func (t *teller) user(login string) (auth.User, error) {
	u, ok := t.users[login]
	if !ok {
		return u, fmt.Errorf("demo story: no account %s", login)
	}
	return u, nil
}

// term is one story's request.
type term struct {
	borrower, person  string // account prefix (unit code, lower case) and person name
	lender            string // the lending unit's account prefix
	orgdept           string // the approving org dept's account prefix
	kind              secondment.Kind
	purpose           secondment.Purpose
	task, why         string
	programme         string // a formal exchange's programme (R9)
	start, end        int    // days from today
	created, previous int64
}

// step is one action on a request, by login, on a day from today.
type step struct {
	login  string
	action secondment.Action
	day    int
	in     approval.ActInput
}

// request creates the draft (on day created) and runs its steps.
func (t *teller) request(tm term, drafted int, steps ...step) (int64, error) {
	clerk, err := t.user(tm.borrower + ".borrower")
	if err != nil {
		return 0, err
	}
	kind, purpose := tm.kind, tm.purpose
	if kind == "" {
		kind = secondment.KindSecondment
	}
	if purpose == "" {
		purpose = secondment.PurposeKeyTask
	}
	t.at(drafted)
	r, err := t.svc.Create(t.ctx, clerk, approval.DraftInput{PersonID: t.people[tm.person], PreviousID: tm.previous,
		Kind: string(kind), Purpose: string(purpose), Task: tm.task, Justification: tm.why, Programme: tm.programme,
		Start: t.day(tm.start).String(), End: t.day(tm.end).String()}, "")
	if err != nil {
		return 0, fmt.Errorf("demo story: %s's request: %w", tm.person, err)
	}
	t.res.Requests++
	for _, s := range steps {
		u, err := t.user(s.login)
		if err != nil {
			return 0, err
		}
		in := s.in
		in.Action = s.action
		if in.Opinion == "" && secondment.NeedsOf(s.action, r.Secondment).Opinion {
			in.Opinion = opinions[s.action]
		}
		t.at(s.day)
		if r, err = t.svc.Act(t.ctx, u, r.ID, in); err != nil {
			return 0, fmt.Errorf("demo story: %s's request, %s by %s: %w", tm.person, s.action, s.login, err)
		}
	}
	return r.ID, nil
}

var opinions = map[secondment.Action]string{
	secondment.ActConsent:  "同意借出。经党委会研究，其本职工作由同科室人员代管。",
	secondment.ActApprove:  "同意，借调期满按时返回原单位。",
	secondment.ActDecline:  "本乡正值防汛关键期，人手紧张，不同意借出。",
	secondment.ActReject:   "该任务属日常工作，不予借调。",
	secondment.ActSendBack: "请补充任务的具体内容和急需理由。",
	secondment.ActWithdraw: "任务取消，撤回申请。",
	secondment.ActTransfer: "本人表现优秀，拟按程序调入。",
	secondment.ActRecall:   "清理规范，期满后返回。",
}

// chain is the steps from submission to the start: submit (day d),
// written consent (d+2), sign-off (d+4), start (the term's start).
func chain(borrower, lender, orgdept string, d, start int) []step {
	return []step{
		{borrower + ".borrower", secondment.ActSubmit, d, approval.ActInput{}},
		{lender + ".lender", secondment.ActConsent, d + 2, approval.ActInput{}},
		{orgdept + ".orgdept", secondment.ActApprove, d + 4, approval.ActInput{}},
		{borrower + ".borrower", secondment.ActStart, start, approval.ActInput{}},
	}
}

// Kashgar (S5, S7, S2's renewals under Kashgar's caps, S8's 阿克喀什乡):
// 喀什市纪委监委 borrows from 阿克喀什乡, a township, so each request is an
// exception with its justification (R4 since the No.1 document).
func (t *teller) kashgar() error {
	const jw, ak, org = "xj-ks-jw", "xj-ks-akks", "xj-ks-zzb"
	why := "重大案件查办急需熟悉基层情况的干部，经市纪委常委会研究提出。"
	k := func(person string, start, end int) term {
		return term{borrower: jw, person: person, lender: ak, orgdept: org, purpose: secondment.PurposeMajorProject,
			task: "协助查办重大案件", why: why, start: start, end: end}
	}
	full := func(start int) []step { return chain(jw, ak, org, start-12, start) }
	// Away from 阿克喀什乡 (six, S8): a term ending this week, one ending
	// next month, one overdue, a renewal running, a transfer-in pending,
	// one just started.
	if _, err := t.request(k("李传群", -83, 4), -100, full(-83)...); err != nil {
		return err
	}
	if _, err := t.request(k("阿依古丽·买买提", -59, 28), -75, full(-59)...); err != nil {
		return err
	}
	if _, err := t.request(k("艾克拜尔·吐尔逊", -107, -20), -125, full(-107)...); err != nil {
		return err
	}
	// S2 under Kashgar's caps: a first term, its renewal through the whole
	// chain again (R6), and a third term refused by the six-month cap (R7).
	first := k("热依汗古丽·艾则孜", -150, -63)
	id1, err := t.request(first, -165, full(-150)...)
	if err != nil {
		return err
	}
	second := k("热依汗古丽·艾则孜", -62, 25)
	second.previous = id1
	id2, err := t.request(second, -80, chain(jw, ak, org, -78, 0)[:3]...)
	if err != nil {
		return err
	}
	t.capped = k("热依汗古丽·艾则孜", 26, 100)
	t.capped.previous = id2
	if _, err := t.request(k("买买提江·阿不都", -67, 20), -85, append(full(-67),
		step{jw + ".borrower", secondment.ActTransfer, -5, approval.ActInput{TransferMethod: string(secondment.TransferOfPost)}})...); err != nil {
		return err
	}
	if _, err := t.request(k("古丽娜尔·吾斯曼", -3, 80), -18, full(-3)...); err != nil {
		return err
	}
	// Back home (S5 to its end): returned with a handover, confirmed.
	if _, err := t.request(k("帕提古丽·热合曼", -198, -111), -215, append(full(-198),
		step{jw + ".borrower", secondment.ActRecordReturn, -110, approval.ActInput{ReturnedOn: t.day(-111).String(), Handover: "案卷已移交专案组。",
			Evaluation: "借调期间服从安排，协助办理案件认真细致，能按时完成交办任务。"}},
		step{ak + ".lender", secondment.ActConfirmReturn, -108, approval.ActInput{}})...); err != nil {
		return err
	}
	// In flight at each step (S5): waiting for the township, waiting for
	// the sign-off (an exception), sent back, approved to start next week.
	if _, err := t.request(k("吐尔洪·买买提", 20, 100), -4, step{jw + ".borrower", secondment.ActSubmit, -2, approval.ActInput{}}); err != nil {
		return err
	}
	if _, err := t.request(k("努尔比亚·艾力", 15, 95), -9, chain(jw, ak, org, -7, 0)[:2]...); err != nil {
		return err
	}
	if _, err := t.request(k("阿卜杜拉·如孜", 25, 105), -8, append(chain(jw, ak, org, -6, 0)[:2],
		step{org + ".orgdept", secondment.ActSendBack, -1, approval.ActInput{}})...); err != nil {
		return err
	}
	if _, err := t.request(k("米热古丽·阿布都", 7, 90), -16, chain(jw, ak, org, -14, 0)[:3]...); err != nil {
		return err
	}
	// Refused: by the township, by the org dept; and one withdrawn.
	if _, err := t.request(k("依明·托合提", 30, 110), -20, step{jw + ".borrower", secondment.ActSubmit, -19, approval.ActInput{}},
		step{ak + ".lender", secondment.ActDecline, -17, approval.ActInput{}}); err != nil {
		return err
	}
	if _, err := t.request(k("阿力木·沙吾提", 30, 110), -25, append(chain(jw, ak, org, -24, 0)[:2],
		step{org + ".orgdept", secondment.ActReject, -20, approval.ActInput{}})...); err != nil {
		return err
	}
	if _, err := t.request(k("祖丽皮亚·买买提", 40, 120), -30, step{jw + ".borrower", secondment.ActSubmit, -29, approval.ActInput{}},
		step{jw + ".borrower", secondment.ActWithdraw, -27, approval.ActInput{}}); err != nil {
		return err
	}
	// S7 completed: a transfer-in from 浩罕乡, within the quotas; the
	// person now belongs to 喀什市纪委监委 and 浩罕乡 has a vacancy.
	hh := k("艾尼瓦尔·哈斯木", -148, -61)
	hh.lender = "xj-ks-hh"
	_, err = t.request(hh, -165, append(chain(jw, "xj-ks-hh", org, -160, -148),
		step{jw + ".borrower", secondment.ActTransfer, -90, approval.ActInput{TransferMethod: string(secondment.TransferPublicSelection)}},
		step{org + ".orgdept", secondment.ActApprove, -85, approval.ActInput{}})...)
	return err
}

// Weihai (S3's three don'ts as drafts the check refuses, a 挂职 that
// passes, and 胡瀚's years away registered as stock).
func (t *teller) weihai() error {
	const xc, yt, org = "sd-wh-hc-xc", "sd-wh-hc-yt", "sd-wh-hc-zzb"
	for _, d := range []term{
		{borrower: xc, person: "刘晓燕", purpose: secondment.PurposeRoutine, task: "办公室日常文稿和会务", start: 20, end: 80},
		{borrower: "sd-wh-zzb", person: "王志刚", task: "全市干部档案专项审核", start: 20, end: 80},
		{borrower: "sd-wh-fy", person: "孙丽", task: "执行积案清理专项工作", start: 20, end: 80},
	} {
		if _, err := t.request(d, -1); err != nil {
			return err
		}
	}
	// A 挂职 of a formal programme: exempt from R1–R7 (R9), signed off, away.
	if _, err := t.request(term{borrower: xc, person: "高明", kind: secondment.KindAttachment,
		task: "乡村振兴挂职锻炼", programme: "环翠区委组织部年度干部挂职计划", start: -30, end: 150},
		-45, chain(xc, yt, org, -42, -30)...); err != nil {
		return err
	}
	registrar, err := t.user(org + ".registrar")
	if err != nil {
		return err
	}
	t.at(-200)
	_, err = t.register(registrar, approval.RegisterInput{PersonID: t.people["胡瀚"], BorrowerID: t.units["SD-WH-HC-XC"],
		Kind: string(secondment.KindSecondment), Alias: string(secondment.AliasAssignment), Purpose: string(secondment.PurposeSpecialProject),
		Task: "乡村振兴工作专班（抽调），同时兼顾镇里原岗位工作", Start: t.day(-1700).String(), End: t.day(-1700 + 89).String(),
		Status: string(secondment.StockReturned), ReturnedOn: t.day(-260).String()})
	return err
}

// Baotou: S1's request refused before it reaches anyone (R4 forbidden),
// 芦长丽's and 武俞吉's past secondments (S1, S2) as stock, and the four
// people 科学路街道 still has away (S8), each irregular under the ban.
func (t *teller) baotou() error {
	if _, err := t.request(term{borrower: "nmg-bt-qs-rd", person: "芦长丽", task: "人大代表联络站建设专项工作",
		start: 14, end: 100}, -1, step{"nmg-bt-qs-rd.borrower", secondment.ActSubmit, 0, approval.ActInput{}}); err == nil {
		return fmt.Errorf("demo story S1: the township ban let 芦长丽's request through")
	} else if !errors.Is(err, secondment.ErrPolicyViolation) {
		return err
	}
	qs, err := t.user("nmg-bt-qs-zzb.registrar")
	if err != nil {
		return err
	}
	t.at(-120)
	rd := t.units["NMG-BT-QS-RD"]
	stock := []approval.RegisterInput{{PersonID: t.people["芦长丽"], BorrowerID: rd, Task: "人大机关综合文字工作",
		Start: t.day(-540).String(), End: t.day(-450).String(), Status: string(secondment.StockReturned), ReturnedOn: t.day(-240).String()}}
	for i, name := range []string{"赵婷", "钱伟", "孙海燕", "李军"} {
		stock = append(stock, approval.RegisterInput{PersonID: t.people[name], BorrowerID: rd, Task: "代表联络和信访接待",
			Start: t.day(-300 + 20*i).String(), End: t.day(40 + 10*i).String(), Status: string(secondment.StockRunning)})
	}
	for _, in := range stock {
		in.Kind, in.Purpose = string(secondment.KindSecondment), string(secondment.PurposeRoutine)
		if _, err := t.register(qs, in); err != nil {
			return err
		}
	}
	city, err := t.user("nmg-bt-zzb.registrar")
	if err != nil {
		return err
	}
	_, err = t.register(city, approval.RegisterInput{PersonID: t.people["武俞吉"], BorrowerID: t.units["NMG-BT-JY-ZZB"],
		Kind: string(secondment.KindSecondment), Purpose: string(secondment.PurposeSpecialProject),
		Task: "换届工作，之后又承担其他专项任务", Start: t.day(-700).String(), End: t.day(-609).String(),
		Status: string(secondment.StockReturned), ReturnedOn: t.day(-335).String(), ApprovalRef: "九组干〔2021〕3号",
		ApprovedOn: t.day(-705).String()})
	return err
}

// register registers in as u on the clock's day.
func (t *teller) register(u auth.User, in approval.RegisterInput) (approval.Registration, error) {
	r, err := t.svc.Register(t.ctx, u, in)
	if err != nil {
		return r, fmt.Errorf("demo stock registration: %w", err)
	}
	t.res.Registered++
	return r, nil
}

// kashgarStock is S6: the 165 township secondees Kashgar's clean-up found,
// registered sixty days ago: 131 since returned, 12 being transferred in,
// 22 on major projects who return when their term ends (R11). Then the
// third term of S2's renewal chain, which the six-month cap refuses.
func (t *teller) kashgarStock() error {
	registrar, err := t.user("xj-ks-zzb.registrar")
	if err != nil {
		return err
	}
	t.at(-60)
	borrowers := []string{"XJ-KS-ZF", "XJ-KS-JW"}
	c := StoryCounts
	for i := range c.KashgarStock {
		in := approval.RegisterInput{PersonID: t.people[stockName(i)], BorrowerID: t.units[borrowers[i%2]],
			Kind: string(secondment.KindSecondment), Purpose: string(secondment.PurposeSpecialProject), Task: "专项工作"}
		start := -500 + i
		switch {
		case i < c.StockReturned:
			in.Start, in.End = t.day(start).String(), t.day(start+180).String()
			in.Status, in.ReturnedOn = string(secondment.StockReturned), t.day(-80+i%15).String()
		case i < c.StockReturned+c.StockTransfer:
			in.Start, in.End = t.day(start).String(), t.day(start+365).String()
			in.Status, in.TransferMethod = string(secondment.StockTransferPending), string(secondment.TransferOfPost)
		default:
			in.Purpose, in.Task = string(secondment.PurposeMajorProject), "重点项目建设"
			in.Start, in.End = t.day(-200+i%20).String(), t.day(10+2*(i%30)).String()
			in.Status = string(secondment.StockRunning)
		}
		if _, err := t.register(registrar, in); err != nil {
			return err
		}
	}
	return nil
}

// storyTowns are the Kashgar townships the clean-up's stock comes from.
var storyTowns = []string{"XJ-KS-HH", "XJ-KS-SM", "XJ-KS-HD", "XJ-KS-XMLBG", "XJ-KS-DLTBG"}

var (
	givenNames  = []string{"阿不都", "艾力", "买买提", "吐尔逊", "热合曼", "库尔班", "努尔", "阿迪力", "依力哈木", "玉苏甫", "古丽", "米娜瓦尔", "阿依努尔"}
	fatherNames = []string{"艾买提", "托合提", "卡德尔", "阿布力孜", "吾守尔", "赛买提", "阿西木", "伊敏", "肉孜", "斯迪克", "巴拉提", "亚森", "热西提"}
)

// stock2022Names are given names for the 2022 clean-up's people, apart
// from S6's so that no name is of two people.
var stock2022Names = []string{"阿布都热依木", "艾合买提", "克然木", "麦麦提敏", "帕尔哈提", "热依木", "沙比尔", "吐逊",
	"乌斯曼", "亚库甫", "祖农", "阿米娜", "布海丽且姆"}

// stock2022Name is the invented name of the i-th secondee of Kashgar's
// 2022 clean-up.
func stock2022Name(i int) string {
	return stock2022Names[i%len(stock2022Names)] + "·" + fatherNames[(i/len(stock2022Names))%len(fatherNames)]
}

// stockName is the invented name of the i-th secondee of S6's stock.
func stockName(i int) string {
	return givenNames[i%len(givenNames)] + "·" + fatherNames[(i/len(givenNames))%len(fatherNames)]
}

// storyPeople are the invented people of the stories (the seed names only
// a few), each marked so in the note.
func storyPeople() []postgres.PersonImport {
	var out []postgres.PersonImport
	add := func(code, name, unit, post string) {
		out = append(out, postgres.PersonImport{HomeUnitCode: unit, Person: secondment.Person{Code: code, Name: name,
			Post: post, Rank: "一级科员"}})
	}
	for i, name := range []string{"阿依古丽·买买提", "艾克拜尔·吐尔逊", "热依汗古丽·艾则孜", "买买提江·阿不都", "古丽娜尔·吾斯曼",
		"帕提古丽·热合曼", "吐尔洪·买买提", "努尔比亚·艾力", "阿卜杜拉·如孜", "米热古丽·阿布都", "依明·托合提", "阿力木·沙吾提", "祖丽皮亚·买买提"} {
		add(fmt.Sprintf("DEMO-AKKS-%02d", i+1), name, "XJ-KS-AKKS", "科员")
	}
	add("DEMO-HH-01", "艾尼瓦尔·哈斯木", "XJ-KS-HH", "科员")
	add("DEMO-YT-01", "刘晓燕", "SD-WH-HC-YT", "科员")
	add("DEMO-YT-02", "王志刚", "SD-WH-HC-YT", "科员")
	add("DEMO-YT-03", "高明", "SD-WH-HC-YT", "副镇长")
	add("DEMO-HCZF-01", "孙丽", "SD-WH-HC-ZF", "科员")
	for i, name := range []string{"赵婷", "钱伟", "孙海燕", "李军"} {
		add(fmt.Sprintf("DEMO-KXL-%02d", i+1), name, "NMG-BT-QS-KXL", "科员")
	}
	for i := range StoryCounts.KashgarStock {
		add(fmt.Sprintf("DEMO-KS-%03d", i+1), stockName(i), storyTowns[i%len(storyTowns)], "科员")
	}
	// Those of 2022 who were transferred in belong to the borrowing unit
	// now; the others are back home.
	for i := range StoryCounts.Kashgar2022Returned + StoryCounts.Kashgar2022Transferred {
		home := storyTowns[i%len(storyTowns)]
		if i >= StoryCounts.Kashgar2022Returned {
			home = stock2022Borrowers[i%2]
		}
		add(fmt.Sprintf("DEMO-KS22-%03d", i+1), stock2022Name(i), home, "科员")
	}
	return out
}
