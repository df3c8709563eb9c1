package province

import (
	"math/rand/v2"
	"time"

	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// srow is one secondment row as COPY writes it; zero values are NULL.
type srow struct {
	id, person, borrower, lender, previous, renewal int64
	jurisdiction, orgDept, policy, submittedBy      int64
	signoff                                         int64
	number, state, kind, alias, purpose, task       string
	handover, transferMethod                        string
	start, end, submitted, consented, approved      secondment.Date
	started, returned, returnConfirmed              secondment.Date
	closedAt, createdAt, updatedAt                  time.Time
	version                                         int
}

// drow is one decision row.
type drow struct {
	id, secondment, actor int64
	step, action, role    string
	actorName, opinion    string
	at                    time.Time
}

// personRef is a person and their home unit, the lending unit.
type personRef struct{ id, unit int64 }

// borrowerRef is a borrowing unit with where its requests are judged.
type borrowerRef struct{ id, jurisdiction, orgDept, policy int64 }

// account is a user who acts for a unit in one role.
type account struct {
	id   int64
	name string
}

type accountKey struct {
	unit int64
	role string
}

type numberKey struct {
	jurisdiction int64
	year         int
}

// generator makes secondments and their decisions. It is deterministic for
// a given seed, plan and province.
type generator struct {
	rng       *rand.Rand
	today     secondment.Date
	people    []personRef
	pool      []personRef               // reserved for the requests to consent to and sign off
	poolNext  int                       // the next reserved person to take one
	poolFree  map[int64]secondment.Date // a reserved person's first free day
	free      []personRef               // people holding no term yet, shuffled; nil: not made yet
	freeMade  bool
	borrowers map[int64][]borrowerRef // by lending unit
	accounts  map[accountKey]account
	numbers   map[numberKey]int
	nextS     int64
	nextD     int64

	rows      []srow
	decisions []drow
	consent   []srow // pool requests made so far
	approve   []srow
}

var (
	tasks = []string{"乡村振兴专项工作", "重点项目推进", "巡视巡察工作", "文明城市创建", "信访维稳工作",
		"第五次全国经济普查", "营商环境专项整治", "防汛抗旱指挥部工作", "招商引资专班", "干部档案专项审核"}
	purposes = []string{"key_task", "key_task", "key_task", "special_project", "special_project",
		"special_project", "major_project", "major_project", "other", "routine"}
)

// generate makes one plan entry: one row, or two for a renewed pair.
func (g *generator) generate(k kind) {
	switch k {
	case kReturned:
		s := g.past(g.newRow())
		g.returnAt(s, g.earlyReturn(s), g.today)
	case kRenewedPair:
		p, ok := g.takeFree()
		if !ok {
			g.generate(kReturned) // two rows, as the pair would have been
			g.generate(kReturned)
			return
		}
		g.renewedPair(p)
	case kTransferred:
		s := g.past(g.newRow())
		g.transfer(s, true)
	case kDeclined:
		s := g.submitted(g.newRow(), g.historicDay(400))
		g.decide(s, "awaiting_consent", "decline", "lender", "本单位工作任务重，不同意借调", s.submitted.AddDays(1+g.rng.IntN(5)))
		g.closeAs(s, "declined")
	case kRejected:
		s := g.consented(g.submitted(g.newRow(), g.historicDay(400)))
		g.decide(s, "awaiting_signoff", "reject", "orgdept", "不符合借调条件", s.consented.AddDays(1+g.rng.IntN(10)))
		g.closeAs(s, "rejected")
	case kWithdrawn:
		s := g.submitted(g.newRow(), g.historicDay(400))
		g.decide(s, "awaiting_consent", "withdraw", "borrower", "", s.submitted.AddDays(1+g.rng.IntN(5)))
		g.closeAs(s, "withdrawn")
	case kActive, kTransferPending, kExpired, kOverdue, kApproved:
		g.held(k)
	case kReturnRecorded:
		s := g.endingOn(g.newRow(), g.today.AddDays(-20+g.rng.IntN(80)))
		g.recordReturn(s, earlier(s.end, g.today.AddDays(-1-g.rng.IntN(5))))
	case kSentBack:
		s := g.submitted(g.newRow(), g.today.AddDays(-60+g.rng.IntN(55)))
		g.decide(s, "awaiting_consent", "send_back", "lender", "请补充借调事由", s.submitted.AddDays(1+g.rng.IntN(4)))
		s.state = "sent_back"
	case kDraft:
		s := g.newRow()
		s.state = "draft" // the jurisdiction is fixed only by the submission
		s.jurisdiction, s.orgDept, s.policy = 0, 0, 0
		s.createdAt = g.at(g.today.AddDays(-g.rng.IntN(30)))
		s.updatedAt = s.createdAt
		g.term(s, g.today.AddDays(10+g.rng.IntN(50)))
	case kAwaitingConsent:
		s := g.submitted(g.newPoolRow(), g.today.AddDays(-20+g.rng.IntN(20)))
		g.poolTerm(s, g.today.AddDays(10+g.rng.IntN(50)))
		g.consent = append(g.consent, *s)
	case kAwaitingSignoff:
		s := g.submitted(g.newPoolRow(), g.today.AddDays(-20+g.rng.IntN(19)))
		g.consentOn(s, s.submitted.AddDays(1+g.rng.IntN(s.submitted.DaysUntil(g.today))))
		g.poolTerm(s, g.today.AddDays(10+g.rng.IntN(50)))
		g.approve = append(g.approve, *s)
	}
}

// held makes a request of kind k that holds its person (signed off, on post,
// away past its end or in transfer-in), for a person who holds no other:
// one person is never in two places at once (secondment_one_place). When
// every person already holds one, it is a past, returned term instead: a
// province's running terms are as many as its people at most.
func (g *generator) held(k kind) {
	p, ok := g.takeFree()
	if !ok {
		g.generate(kReturned)
		return
	}
	switch k {
	case kActive, kTransferPending:
		s := g.running(g.newRowFor(p), g.today.AddDays(-3-g.rng.IntN(300)))
		if s.end.Before(g.today.AddDays(1)) {
			s.end = g.today.AddDays(10 + g.rng.IntN(170))
		}
		if k == kTransferPending {
			g.transfer(s, false)
		}
	case kExpired, kOverdue:
		end := g.today.AddDays(-1 - g.rng.IntN(30))
		if k == kOverdue {
			end = g.today.AddDays(-31 - g.rng.IntN(170))
		}
		s := g.endingOn(g.newRowFor(p), end)
		s.state = map[kind]string{kExpired: "expired", kOverdue: "overdue"}[k]
	case kApproved:
		s := g.approvedOn(g.consented(g.submitted(g.newRowFor(p), g.today.AddDays(-40+g.rng.IntN(21)))))
		s.state = "approved"
		g.term(s, g.today.AddDays(1+g.rng.IntN(60)))
	}
}

// takeFree takes a person who holds no term yet (at random: the list is
// shuffled once).
func (g *generator) takeFree() (personRef, bool) {
	if !g.freeMade {
		g.free, g.freeMade = append([]personRef(nil), g.people...), true
		g.rng.Shuffle(len(g.free), func(i, j int) { g.free[i], g.free[j] = g.free[j], g.free[i] })
	}
	if len(g.free) == 0 {
		return personRef{}, false
	}
	p := g.free[len(g.free)-1]
	g.free = g.free[:len(g.free)-1]
	return p, true
}

// reservePool sets aside people, spread over the province, for the n
// requests the benchmark consents to and signs off: no other secondment is
// theirs, and each one's requests follow one another (poolTerm), so no
// sign-off meets a term of the same person that the random plan made
// overlap (one person is never in two places at once). A third of the
// people at most; with more requests than that, each reserved person has
// several, one after another.
func (g *generator) reservePool(n int) {
	k := min(n, len(g.people)/3)
	if k <= 0 {
		return
	}
	every := len(g.people) / k
	rest := make([]personRef, 0, len(g.people)-k)
	for i, p := range g.people {
		if i%every == 0 && len(g.pool) < k {
			g.pool = append(g.pool, p)
		} else {
			rest = append(rest, p)
		}
	}
	g.people, g.poolFree = rest, map[int64]secondment.Date{}
}

// newPoolRow starts a draft for the next reserved person, in turn.
func (g *generator) newPoolRow() *srow {
	if len(g.pool) == 0 {
		return g.newRow()
	}
	p := g.pool[g.poolNext%len(g.pool)]
	g.poolNext++
	return g.newRowFor(p)
}

// poolTerm sets a reserved person's request's term from start, or after
// their previous one with a day between (no chain): their requests never
// overlap.
func (g *generator) poolTerm(s *srow, start secondment.Date) {
	if free, ok := g.poolFree[s.person]; ok && start.Before(free) {
		start = free
	}
	g.term(s, start)
	if g.poolFree != nil {
		g.poolFree[s.person] = s.end.AddDays(2)
	}
}

// newRow starts a draft for a random person, borrowed by an organ one
// level above the person's unit or beside it.
func (g *generator) newRow() *srow { return g.newRowFor(g.people[g.rng.IntN(len(g.people))]) }

func (g *generator) newRowFor(p personRef) *srow {
	bs := g.borrowers[p.unit]
	b := bs[g.rng.IntN(len(bs))]
	g.nextS++
	g.rows = append(g.rows, srow{id: g.nextS, person: p.id, lender: p.unit, borrower: b.id,
		jurisdiction: b.jurisdiction, orgDept: b.orgDept, policy: b.policy,
		kind: "secondment", purpose: purposes[g.rng.IntN(len(purposes))], task: tasks[g.rng.IntN(len(tasks))], version: 1})
	s := &g.rows[len(g.rows)-1]
	switch r := g.rng.IntN(100); {
	case r < 3:
		s.kind = "exchange"
	case r < 5:
		s.kind = "attachment"
	case r < 8:
		s.alias = "borrowing"
	}
	return s
}

// historicDay is a day between 2016 and daysBack days ago.
func (g *generator) historicDay(daysBack int) secondment.Date {
	first := secondment.D(2016, time.January, 1)
	span := first.DaysUntil(g.today.AddDays(-daysBack))
	return first.AddDays(g.rng.IntN(span))
}

// submitted sends a draft to the lending unit on day d: the jurisdiction
// was fixed when the row was made; the number is the next of its year.
func (g *generator) submitted(s *srow, d secondment.Date) *srow {
	k := numberKey{s.jurisdiction, d.Year}
	g.numbers[k]++
	s.number = postgres.FormatNumber(d.Year, g.numbers[k])
	s.submitted = d
	s.submittedBy = g.accounts[accountKey{s.borrower, "borrower"}].id
	s.createdAt = g.at(d.AddDays(-1 - g.rng.IntN(3)))
	s.state = "awaiting_consent"
	g.term(s, d.AddDays(10+g.rng.IntN(50))) // later steps may move it
	g.decide(s, "draft", "submit", "borrower", "", d)
	return s
}

func (g *generator) consented(s *srow) *srow {
	g.consentOn(s, s.submitted.AddDays(1+g.rng.IntN(5)))
	return s
}

func (g *generator) consentOn(s *srow, d secondment.Date) {
	g.decide(s, "awaiting_consent", "consent", "lender", "同意借调", d)
	s.consented, s.state = d, "awaiting_signoff"
}

// approvedOn signs the request off; the approval is its sign-off decision.
func (g *generator) approvedOn(s *srow) *srow {
	d := s.consented.AddDays(1 + g.rng.IntN(10))
	s.signoff = g.decide(s, "awaiting_signoff", "approve", "orgdept", "同意", d)
	s.approved, s.state = d, "approved"
	return s
}

// term sets the requested term: from start, three to twelve months.
func (g *generator) term(s *srow, start secondment.Date) {
	s.start = start
	s.end = start.AddMonths(3 + g.rng.IntN(10)).AddDays(-1)
}

// started has the secondee report on the first day of the term.
func (g *generator) started(s *srow) *srow {
	g.decide(s, "approved", "start", "borrower", "", s.start)
	s.started, s.state = s.start, "active"
	return s
}

// past is a term that was approved, started and ended before today.
func (g *generator) past(s *srow) *srow {
	g.approvedOn(g.consented(g.submitted(s, g.historicDay(420))))
	g.term(s, s.approved.AddDays(1+g.rng.IntN(20)))
	return g.started(s)
}

// running is a term started on day start, still running today.
func (g *generator) running(s *srow, start secondment.Date) *srow {
	g.approvedOn(g.consented(g.submitted(s, start.AddDays(-20-g.rng.IntN(20)))))
	g.term(s, start)
	return g.started(s)
}

// endingOn is a started term whose last day is end.
func (g *generator) endingOn(s *srow, end secondment.Date) *srow {
	g.running(s, end.AddMonths(-3-g.rng.IntN(10)).AddDays(1))
	s.end = end
	return s
}

// earlyReturn is the day a past term ended: mostly its last day.
func (g *generator) earlyReturn(s *srow) secondment.Date {
	if g.rng.IntN(5) == 0 {
		return later(s.start.AddDays(1), s.end.AddDays(-g.rng.IntN(30)))
	}
	return s.end
}

func (g *generator) recordReturn(s *srow, on secondment.Date) {
	step := "active"
	if on.After(s.end) {
		step = "expired"
	}
	g.decide(s, step, "record_return", "borrower", "", on)
	s.returned, s.handover, s.state = on, "已完成工作交接", "return_recorded"
}

// returnAt records the return on day on and has the lender confirm it
// a few days later (never after limit).
func (g *generator) returnAt(s *srow, on, limit secondment.Date) {
	g.recordReturn(s, on)
	confirm := earlier(on.AddDays(1+g.rng.IntN(3)), limit)
	s.returnConfirmed = confirm
	g.decide(s, "return_recorded", "confirm_return", "lender", "已返回原单位", confirm)
	g.closeAs(s, "returned")
}

// transfer applies to transfer the secondee in and, when done, has the
// org dept approve it.
func (g *generator) transfer(s *srow, done bool) {
	last := earlier(s.end, g.today.AddDays(-2))
	on := s.start.AddDays(1 + g.rng.IntN(max(1, s.start.DaysUntil(last))))
	s.transferMethod = []string{"public_selection", "transfer_of_post"}[g.rng.IntN(2)]
	g.decide(s, "active", "transfer", "borrower", "", on)
	s.state = "transfer_pending"
	if done {
		g.decide(s, "transfer_pending", "approve", "orgdept", "同意调入", on.AddDays(1))
		g.closeAs(s, "transferred")
	}
}

// renewedPair makes a term of person p that ended and was taken over by
// its approved renewal (same person and units, from the day after), which
// runs its own chain and may still be running.
func (g *generator) renewedPair(p personRef) {
	x := g.past(g.newRowFor(p))
	xid, xend := x.id, x.end
	y := g.newRow()
	*y = srow{id: y.id, person: x.person, borrower: x.borrower, lender: x.lender, previous: xid,
		jurisdiction: x.jurisdiction, orgDept: x.orgDept, policy: x.policy, kind: x.kind, alias: x.alias,
		purpose: x.purpose, task: x.task, version: 1}
	g.approvedOn(g.consented(g.submitted(y, xend.AddDays(-30-g.rng.IntN(30)))))
	g.term(y, xend.AddDays(1))
	y.started, y.state = y.start, "active" // a renewal starts by itself (the system: no decision)
	if y.end.Before(g.today.AddDays(-5)) {
		g.returnAt(y, y.end, g.today)
		g.free = append(g.free, p) // back, holding nothing
	}
	yid := y.id
	x = &g.rows[len(g.rows)-2] // y's append may have moved the slice
	x.renewal, x.state = yid, "renewed"
	succeeded := xend.AddDays(1).Start().Add(30 * time.Minute) // the sweep's hand-over, past midnight
	x.closedAt, x.updatedAt = succeeded, succeeded
}

// decide records a step and returns its decision ID.
func (g *generator) decide(s *srow, step, action, role, opinion string, on secondment.Date) int64 {
	g.nextD++
	who := g.accounts[accountKey{g.unitOf(s, role), role}]
	at := g.at(on)
	g.decisions = append(g.decisions, drow{id: g.nextD, secondment: s.id, actor: who.id, step: step, action: action,
		role: role, actorName: who.name, opinion: opinion, at: at})
	s.version++
	s.updatedAt = at
	return g.nextD
}

func (g *generator) unitOf(s *srow, role string) int64 {
	switch role {
	case "borrower":
		return s.borrower
	case "lender":
		return s.lender
	}
	return s.orgDept
}

// closeAs ends a request in a terminal state at the time of its last step.
func (g *generator) closeAs(s *srow, state string) {
	s.state, s.closedAt = state, s.updatedAt
}

// at is a moment in office hours on day d; every step of a request is on
// a later day than the one before, so decisions sort in order.
func (g *generator) at(d secondment.Date) time.Time {
	return d.Start().Add(time.Duration(8*60+30+g.rng.IntN(9*60)) * time.Minute)
}

func earlier(a, b secondment.Date) secondment.Date {
	if b.Before(a) {
		return b
	}
	return a
}

func later(a, b secondment.Date) secondment.Date {
	if b.After(a) {
		return b
	}
	return a
}
