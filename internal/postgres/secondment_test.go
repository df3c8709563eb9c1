package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"secondment/internal/dbtest"
	"secondment/internal/demo"
	"secondment/internal/postgres"
	sm "secondment/internal/secondment"
)

// smWorld is a fresh database with the demo units, people and policies.
type smWorld struct {
	t      *testing.T
	ctx    context.Context
	s      *postgres.Store
	units  map[string]int64 // by code
	people map[string]int64 // by name
}

// newSMWorld sets up a world whose pool holds up to conns connections (0:
// pgxpool's default), so that concurrency tests run on separate
// connections.
func newSMWorld(t *testing.T, conns int32) smWorld {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	if conns > 0 {
		cfg.MaxConns = conns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	w := smWorld{t: t, ctx: ctx, s: &postgres.Store{Pool: pool}, units: map[string]int64{}, people: map[string]int64{}}
	if _, err := demo.Load(ctx, w.s); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT code, id FROM unit`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var code string
		var id int64
		if err := rows.Scan(&code, &id); err != nil {
			t.Fatal(err)
		}
		w.units[code] = id
	}
	rows, err = pool.Query(ctx, `SELECT name, id FROM person`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		var id int64
		if err := rows.Scan(&name, &id); err != nil {
			t.Fatal(err)
		}
		w.people[name] = id
	}
	return w
}

func (w smWorld) unit(code string) int64 {
	w.t.Helper()
	id, ok := w.units[code]
	if !ok {
		w.t.Fatalf("no unit %s", code)
	}
	return id
}

func (w smWorld) person(name string) int64 {
	w.t.Helper()
	id, ok := w.people[name]
	if !ok {
		w.t.Fatalf("no person %s", name)
	}
	return id
}

// actor is a user holding role in the unit with code; there is no user
// table to point at, so the ID is made up from the unit and the role.
func (w smWorld) actor(code string, role sm.Role, name string) sm.Actor {
	u := w.unit(code)
	return sm.Actor{UserID: u*10 + int64(slices.Index(sm.AllRoles, role)) + 1, Name: name, Role: role, UnitID: u}
}

// smAt is 10:00 in Shanghai on day d.
func smAt(d sm.Date) time.Time { return d.Start().Add(10 * time.Hour) }

func (w smWorld) draft(person, borrower string, start, end sm.Date) sm.Secondment {
	return sm.Secondment{Kind: sm.KindSecondment, Purpose: sm.PurposeMajorProject, Task: "协助查办重大案件",
		PersonID: w.person(person), BorrowerID: w.unit(borrower), Start: start, End: end}
}

func (w smWorld) create(a sm.Actor, d sm.Secondment, on sm.Date) sm.Secondment {
	w.t.Helper()
	s, err := w.s.SecondmentCreate(w.ctx, a, d, "", smAt(on))
	if err != nil {
		w.t.Fatalf("create: %v", err)
	}
	return s
}

func (w smWorld) act(id int64, a sm.Actor, in sm.Input, on sm.Date) sm.Result {
	w.t.Helper()
	res, err := w.s.SecondmentAct(w.ctx, id, 0, a, in, smAt(on))
	if err != nil {
		w.t.Fatalf("%s by %s on %v: %v", in.Action, a.Name, on, err)
	}
	return res
}

func (w smWorld) count(sql string, args ...any) int {
	w.t.Helper()
	var n int
	if err := w.s.Pool.QueryRow(w.ctx, sql, args...).Scan(&n); err != nil {
		w.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func (w smWorld) record(id int64) postgres.SecondmentRecord {
	w.t.Helper()
	r, err := w.s.SecondmentGetRecord(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

// The Kashgar actors of S5.
func (w smWorld) kashgar() (clerk, lender, orgdept sm.Actor) {
	return w.actor("XJ-KS-JW", sm.RoleBorrower, "纪委监委经办人"),
		w.actor("XJ-KS-AKKS", sm.RoleLender, "张鹏"),
		w.actor("XJ-KS-ZZB", sm.RoleOrgDept, "冯剑")
}

// s5Submitted creates and submits 李传群's request of S5 (start 11 March
// 2024, submitted 1 March under Kashgar v2, where a township secondment is
// an exception that needs a justification).
func (w smWorld) s5Submitted() sm.Secondment {
	w.t.Helper()
	clerk, _, _ := w.kashgar()
	d := w.draft("李传群", "XJ-KS-JW", sm.D(2024, 3, 11), sm.D(2024, 6, 10))
	d.Justification = "重大案件查办急需熟悉基层情况的干部"
	s := w.create(clerk, d, sm.D(2024, 2, 28))
	return w.act(s.ID, clerk, sm.Input{Action: sm.ActSubmit}, sm.D(2024, 3, 1)).Secondment
}

// s5Active runs S5 to the start.
func (w smWorld) s5Active() sm.Secondment {
	w.t.Helper()
	clerk, lender, org := w.kashgar()
	s := w.s5Submitted()
	w.act(s.ID, lender, sm.Input{Action: sm.ActConsent, Opinion: "同意借出"}, sm.D(2024, 3, 2))
	w.act(s.ID, org, sm.Input{Action: sm.ActApprove, Opinion: "同意,限期三个月"}, sm.D(2024, 3, 5))
	return w.act(s.ID, clerk, sm.Input{Action: sm.ActStart}, sm.D(2024, 3, 11)).Secondment
}

// nothingWritten checks that a refused step left the request as it was.
func (w smWorld) nothingWritten(id int64, version, decisions, events, notifications int) {
	w.t.Helper()
	r := w.record(id)
	if r.Version != version {
		w.t.Errorf("version %d, want %d", r.Version, version)
	}
	if n := w.count(`SELECT count(*) FROM decision WHERE secondment_id = $1`, id); n != decisions {
		w.t.Errorf("%d decisions, want %d", n, decisions)
	}
	if n := w.count(`SELECT count(*) FROM audit_event WHERE object_type = 'secondment' AND object_id = $1`, id); n != events {
		w.t.Errorf("%d audit events, want %d", n, events)
	}
	if n := w.count(`SELECT count(*) FROM notification_outbox WHERE secondment_id = $1`, id); n != notifications {
		w.t.Errorf("%d notifications, want %d", n, notifications)
	}
}

func codeOf(t *testing.T, err error, want sm.ErrorCode) *sm.Error {
	t.Helper()
	var e *sm.Error
	if !errors.As(err, &e) || e.Code != want {
		t.Fatalf("error %v; want code %s", err, want)
	}
	return e
}

// S5: 喀什市纪委监委 borrows 李传群 of 阿克喀什乡 through the whole chain (R8):
// nomination, approval form, the lending unit's written opinion, the org
// dept's sign-off, then the start.
func TestSecondmentS5KashgarChain(t *testing.T) {
	t.Parallel()
	w := newSMWorld(t, 0)
	clerk, lender, org := w.kashgar()

	d := w.draft("李传群", "XJ-KS-JW", sm.D(2024, 3, 11), sm.D(2024, 6, 10))
	d.LenderID = w.unit("XJ-KS-ZZB") // ignored: the lender is the person's home unit
	s := w.create(clerk, d, sm.D(2024, 2, 28))
	if s.State != sm.StateDraft || s.LenderID != w.unit("XJ-KS-AKKS") || s.PersonName != "李传群" ||
		s.BorrowerName != "喀什市纪委监委" || s.LenderName != "阿克喀什乡" {
		t.Fatalf("draft %+v", s)
	}

	// Under Kashgar v2 a township secondment is an exception: refused
	// without a justification, and nothing is written.
	_, err := w.s.SecondmentAct(w.ctx, s.ID, 1, clerk, sm.Input{Action: sm.ActSubmit}, smAt(sm.D(2024, 3, 1)))
	e := codeOf(t, err, sm.EInvalid)
	if len(e.Fields) != 1 || e.Fields[0].Field != "justification" || !slices.Equal(e.Rules(), []sm.RuleID{sm.R4}) {
		t.Fatalf("submit without justification: %v (rules %v)", err, e.Rules())
	}
	w.nothingWritten(s.ID, 1, 0, 1, 0)
	if n := w.count(`SELECT count(*) FROM secondment_number_counter`); n != 0 {
		t.Errorf("a refused submission took a number (%d counters)", n)
	}

	d.Justification = "重大案件查办急需熟悉基层情况的干部"
	s, v, err := w.s.SecondmentUpdateDraft(w.ctx, clerk, s.ID, 1, d, smAt(sm.D(2024, 2, 29)))
	if err != nil || v != 2 || s.Justification == "" {
		t.Fatalf("update: v%d %v", v, err)
	}

	res, err := w.s.SecondmentAct(w.ctx, s.ID, 2, clerk, sm.Input{Action: sm.ActSubmit}, smAt(sm.D(2024, 3, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Secondment.State != sm.StateAwaitingConsent || len(res.Violations) != 1 ||
		res.Violations[0].Rule != sm.R4 || res.Violations[0].Severity != sm.SeverityException {
		t.Fatalf("submitted: %s, violations %+v", res.Secondment.State, res.Violations)
	}
	w.act(s.ID, lender, sm.Input{Action: sm.ActConsent, Opinion: "同意借出,工作由他人代管"}, sm.D(2024, 3, 2))
	res = w.act(s.ID, org, sm.Input{Action: sm.ActApprove, Opinion: "同意,限期三个月"}, sm.D(2024, 3, 5))
	if got := res.Secondment; got.State != sm.StateApproved || got.ExceptionApprover != "冯剑" ||
		!slices.Equal(got.ExceptionRules, []sm.RuleID{sm.R4}) {
		t.Fatalf("approved: %+v", got)
	}
	res = w.act(s.ID, clerk, sm.Input{Action: sm.ActStart}, sm.D(2024, 3, 11))
	if res.Secondment.State != sm.StateActive {
		t.Fatalf("started: %s", res.Secondment.State)
	}

	// The request as stored.
	r := w.record(s.ID)
	if r.Number != "借调〔2024〕0001" || r.Version != 6 || r.State != sm.StateActive || r.PolicyVersion != 2 ||
		r.JurisdictionID != w.unit("XJ-KS") || r.OrgDeptID != w.unit("XJ-KS-ZZB") ||
		r.SubmittedOn != sm.D(2024, 3, 1) || r.SubmittedBy != clerk.UserID || r.ConsentedOn != sm.D(2024, 3, 2) ||
		r.ApprovedOn != sm.D(2024, 3, 5) || r.StartedOn != sm.D(2024, 3, 11) || r.ExceptionApprover != "冯剑" ||
		!slices.Equal(r.ExceptionRules, []sm.RuleID{sm.R4}) || !r.ClosedAt.IsZero() {
		t.Errorf("stored %+v", r)
	}
	type step struct {
		step   sm.State
		action sm.Action
		role   sm.Role
		name   string
		on     sm.Date
	}
	want := []step{
		{sm.StateDraft, sm.ActSubmit, sm.RoleBorrower, "纪委监委经办人", sm.D(2024, 3, 1)},
		{sm.StateAwaitingConsent, sm.ActConsent, sm.RoleLender, "张鹏", sm.D(2024, 3, 2)},
		{sm.StateAwaitingSignoff, sm.ActApprove, sm.RoleOrgDept, "冯剑", sm.D(2024, 3, 5)},
		{sm.StateApproved, sm.ActStart, sm.RoleBorrower, "纪委监委经办人", sm.D(2024, 3, 11)},
	}
	if len(r.Decisions) != len(want) {
		t.Fatalf("decisions %+v", r.Decisions)
	}
	for i, d := range r.Decisions {
		if w := want[i]; d.Step != w.step || d.Action != w.action || d.Role != w.role || d.ActorName != w.name ||
			!d.At.Equal(smAt(w.on)) {
			t.Errorf("decision %d = %+v, want %+v", i, d, w)
		}
	}
	if r.Decisions[1].Opinion != "同意借出,工作由他人代管" || r.Decisions[2].Opinion != "同意,限期三个月" {
		t.Errorf("opinions %q %q", r.Decisions[1].Opinion, r.Decisions[2].Opinion)
	}
	// The sign-off is the approve decision of this request.
	var signoff, approveID int64
	if err := w.s.Pool.QueryRow(w.ctx, `SELECT signoff_decision_id FROM secondment WHERE id = $1`, s.ID).Scan(&signoff); err != nil {
		t.Fatal(err)
	}
	if err := w.s.Pool.QueryRow(w.ctx, `SELECT id FROM decision WHERE secondment_id = $1 AND action = 'approve'`, s.ID).Scan(&approveID); err != nil {
		t.Fatal(err)
	}
	if signoff != approveID {
		t.Errorf("signoff_decision_id %d, want the approval %d", signoff, approveID)
	}

	// The audit trail, one event per step, each with its states and rules.
	rows, err := w.s.Pool.Query(w.ctx, `
		SELECT action, coalesce(actor_user_id, 0), actor_name, unit_id, coalesce(detail->>'from', ''),
		       coalesce(detail->>'to', ''), coalesce(detail->'rules', '[]'), coalesce(detail->>'number', '')
		FROM audit_event WHERE object_type = 'secondment' AND object_id = $1 ORDER BY id`, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	type event struct {
		action     string
		actor      int64
		name       string
		unit       int64
		from, to   string
		rules      []string
		number     string
		wantRules  []string
		wantNumber string
	}
	var events []event
	for rows.Next() {
		var e event
		if err := rows.Scan(&e.action, &e.actor, &e.name, &e.unit, &e.from, &e.to, &e.rules, &e.number); err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	wantEvents := []struct{ action, from, to string }{
		{"secondment.create", "", ""}, {"secondment.update", "", ""},
		{"secondment.submit", "draft", "awaiting_consent"}, {"secondment.consent", "awaiting_consent", "awaiting_signoff"},
		{"secondment.approve", "awaiting_signoff", "approved"}, {"secondment.start", "approved", "active"},
	}
	if len(events) != len(wantEvents) {
		t.Fatalf("audit events %+v", events)
	}
	for i, e := range events {
		we := wantEvents[i]
		if e.action != we.action || e.from != we.from || e.to != we.to || e.unit != w.unit("XJ-KS-JW") || e.name == "" || e.actor == 0 {
			t.Errorf("audit event %d = %+v, want %+v", i, e, we)
		}
	}
	if !slices.Equal(events[2].rules, []string{"R4"}) || events[2].number != "借调〔2024〕0001" ||
		!slices.Equal(events[4].rules, []string{"R4"}) {
		t.Errorf("submit/approve audit details: %+v / %+v", events[2], events[4])
	}

	// One notification per recipient of each step, in the outbox.
	ns, err := w.s.Pool.Query(w.ctx, `
		SELECT recipient_role, recipient_unit_id, message_id, message_data->>'Person'
		FROM notification_outbox WHERE secondment_id = $1 ORDER BY id`, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	type note struct {
		role   string
		unit   int64
		msg    string
		person string
	}
	var got []note
	for ns.Next() {
		var n note
		if err := ns.Scan(&n.role, &n.unit, &n.msg, &n.person); err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
	}
	jw, akks, zzb := w.unit("XJ-KS-JW"), w.unit("XJ-KS-AKKS"), w.unit("XJ-KS-ZZB")
	wantNotes := []note{
		{"lender", akks, "notify.awaiting_consent", "李传群"},
		{"orgdept", zzb, "notify.awaiting_signoff", "李传群"},
		{"borrower", jw, "notify.awaiting_signoff", "李传群"},
		{"borrower", jw, "notify.approved", "李传群"},
		{"lender", akks, "notify.approved", "李传群"},
		{"lender", akks, "notify.active", "李传群"},
	}
	if !slices.Equal(got, wantNotes) {
		t.Errorf("notifications\n got %v\nwant %v", got, wantNotes)
	}
	if n, err := w.s.NotificationCountFor(w.ctx, sm.RoleLender, akks, 0); err != nil || n != 3 {
		t.Errorf("lender badge %d, %v; want 3", n, err)
	}

	// SecondmentGet agrees.
	g, v, err := w.s.SecondmentGet(w.ctx, s.ID)
	if err != nil || v != 6 || len(g.Decisions) != 4 || g.LenderName != "阿克喀什乡" {
		t.Errorf("get: v%d %+v %v", v, g, err)
	}
	if _, _, err := w.s.SecondmentGet(w.ctx, s.ID+1000); sm.ErrorCodeOf(err) != sm.ENotFound {
		t.Errorf("get of a missing request: %v", err)
	}
}

// A create with an idempotency key happens once per user and key.
func TestSecondmentCreateIdempotent(t *testing.T) {
	t.Parallel()
	holdManyConns(t)
	w := newSMWorld(t, 16)
	clerk, _, _ := w.kashgar()
	other := clerk
	other.UserID, other.Name = clerk.UserID+1000, "另一位经办人"
	d := w.draft("李传群", "XJ-KS-JW", sm.D(2024, 3, 11), sm.D(2024, 6, 10))
	now := smAt(sm.D(2024, 2, 28))

	a, err := w.s.SecondmentCreate(w.ctx, clerk, d, "form-1", now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.s.SecondmentCreate(w.ctx, clerk, d, "form-1", now.Add(time.Second))
	if err != nil || b.ID != a.ID {
		t.Fatalf("repeated create: %d, %v; want the same draft %d", b.ID, err, a.ID)
	}
	c, err := w.s.SecondmentCreate(w.ctx, clerk, d, "form-2", now)
	if err != nil || c.ID == a.ID {
		t.Fatalf("another key: %d, %v; want a new draft", c.ID, err)
	}
	o, err := w.s.SecondmentCreate(w.ctx, other, d, "form-1", now)
	if err != nil || o.ID == a.ID || o.ID == c.ID {
		t.Fatalf("the same key of another user: %d, %v; want a new draft", o.ID, err)
	}
	if n := w.count(`SELECT count(*) FROM secondment`); n != 3 {
		t.Errorf("%d drafts, want 3", n)
	}
	if n := w.count(`SELECT count(*) FROM audit_event WHERE action = 'secondment.create'`); n != 3 {
		t.Errorf("%d create events, want 3", n)
	}

	// A double click: concurrent creates with one key make one draft.
	const clicks = 10
	ids := make([]int64, clicks)
	errs := make([]error, clicks)
	start := make(chan struct{})
	done := make(chan int)
	for i := range clicks {
		go func() {
			<-start
			s, err := w.s.SecondmentCreate(w.ctx, clerk, d, "form-3", now)
			ids[i], errs[i] = s.ID, err
			done <- i
		}()
	}
	close(start)
	for range clicks {
		<-done
	}
	for i := range clicks {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("click %d: %d, %v; first %d", i, ids[i], errs[i], ids[0])
		}
	}
	if n := w.count(`SELECT count(*) FROM secondment`); n != 4 {
		t.Errorf("%d drafts after the double click, want 4", n)
	}
	if n := w.count(`SELECT count(*) FROM audit_event WHERE action = 'secondment.create'`); n != 4 {
		t.Errorf("%d create events after the double click, want 4", n)
	}
}

func TestSecondmentCreateRefusals(t *testing.T) {
	t.Parallel()
	w := newSMWorld(t, 0)
	clerk, lender, _ := w.kashgar()
	now := smAt(sm.D(2024, 2, 28))
	d := w.draft("李传群", "XJ-KS-JW", sm.D(2024, 3, 11), sm.D(2024, 6, 10))

	// Only a clerk of the borrowing unit drafts its requests.
	_, err := w.s.SecondmentCreate(w.ctx, lender, d, "", now)
	codeOf(t, err, sm.EForbidden)
	elsewhere := w.actor("NMG-BT-QS-RD", sm.RoleBorrower, "人大经办人")
	_, err = w.s.SecondmentCreate(w.ctx, elsewhere, d, "", now)
	codeOf(t, err, sm.EForbidden)

	fields := func(_ sm.Secondment, err error) []string {
		t.Helper()
		var out []string
		for _, f := range codeOf(t, err, sm.EInvalid).Fields {
			out = append(out, f.Field)
		}
		slices.Sort(out)
		return out
	}
	bad := d
	bad.Task, bad.End = "", sm.D(2024, 3, 1)
	if got := fields(w.s.SecondmentCreate(w.ctx, clerk, bad, "k", now)); !slices.Equal(got, []string{"end", "task"}) {
		t.Errorf("fields %v", got)
	}
	bad = d
	bad.PersonID = 999_999
	if got := fields(w.s.SecondmentCreate(w.ctx, clerk, bad, "", now)); !slices.Equal(got, []string{"person"}) {
		t.Errorf("unknown person: fields %v", got)
	}
	bad = d
	bad.PersonID = w.person("冯剑") // of the org dept, not of a lending unit
	bad.PreviousID = 999_999
	if got := fields(w.s.SecondmentCreate(w.ctx, clerk, bad, "", now)); !slices.Equal(got, []string{"previous"}) {
		t.Errorf("unknown previous term: fields %v", got)
	}
	self := w.draft("张鹏", "XJ-KS-AKKS", sm.D(2024, 3, 11), sm.D(2024, 6, 10))
	akksClerk := w.actor("XJ-KS-AKKS", sm.RoleBorrower, "乡经办人")
	if got := fields(w.s.SecondmentCreate(w.ctx, akksClerk, self, "", now)); !slices.Equal(got, []string{"lender"}) {
		t.Errorf("borrowing one's own person: fields %v", got)
	}
	if n := w.count(`SELECT count(*) FROM secondment`) + w.count(`SELECT count(*) FROM idempotency_key`) +
		w.count(`SELECT count(*) FROM audit_event`); n != 0 {
		t.Errorf("refused creates wrote %d rows", n)
	}
}

// A version the caller read and someone changed since is refused with
// ErrStale, distinct from other conflicts, and changes nothing.
func TestSecondmentStaleVersion(t *testing.T) {
	t.Parallel()
	w := newSMWorld(t, 0)
	clerk, _, _ := w.kashgar()
	d := w.draft("李传群", "XJ-KS-JW", sm.D(2024, 3, 11), sm.D(2024, 6, 10))
	d.Justification = "急需"
	s := w.create(clerk, d, sm.D(2024, 2, 28))

	d.Task = "第一次修改"
	if _, v, err := w.s.SecondmentUpdateDraft(w.ctx, clerk, s.ID, 1, d, smAt(sm.D(2024, 2, 29))); err != nil || v != 2 {
		t.Fatalf("update: v%d %v", v, err)
	}
	d.Task = "基于旧版本的修改"
	_, _, err := w.s.SecondmentUpdateDraft(w.ctx, clerk, s.ID, 1, d, smAt(sm.D(2024, 2, 29)))
	e := codeOf(t, err, sm.EConflict)
	if !errors.Is(err, postgres.ErrStale) || e.Message.ID != "error.conflict" {
		t.Fatalf("stale update: %v", err)
	}
	_, err = w.s.SecondmentAct(w.ctx, s.ID, 1, clerk, sm.Input{Action: sm.ActSubmit}, smAt(sm.D(2024, 3, 1)))
	codeOf(t, err, sm.EConflict)
	if !errors.Is(err, postgres.ErrStale) || errors.Is(err, postgres.ErrConcurrentUpdate) {
		t.Fatalf("stale submit: %v", err)
	}
	r := w.record(s.ID)
	if r.Task != "第一次修改" || r.State != sm.StateDraft || r.Number != "" {
		t.Errorf("after stale writes: %+v", r)
	}
	w.nothingWritten(s.ID, 2, 0, 2, 0)

	// A save that changes nothing writes nothing.
	d.Task = "第一次修改"
	if _, v, err := w.s.SecondmentUpdateDraft(w.ctx, clerk, s.ID, 2, d, smAt(sm.D(2024, 2, 29))); err != nil || v != 2 {
		t.Fatalf("no-op update: v%d %v", v, err)
	}
	if _, err := w.s.SecondmentAct(w.ctx, s.ID, 2, clerk, sm.Input{Action: sm.ActSubmit}, smAt(sm.D(2024, 3, 1))); err != nil {
		t.Fatalf("submit at the current version: %v", err)
	}
	// A submitted request is no longer a draft to edit.
	_, _, err = w.s.SecondmentUpdateDraft(w.ctx, clerk, s.ID, 0, d, smAt(sm.D(2024, 3, 1)))
	codeOf(t, err, sm.EConflict)
}

// A step the domain refuses (a rule, a forbidden actor) writes nothing.
func TestSecondmentRefusedStepChangesNothing(t *testing.T) {
	t.Parallel()
	w := newSMWorld(t, 0)
	// S1: 青山区人大常委会机关 asks for 芦长丽 of 科学路街道办事处 after Baotou's
	// April 2024 notice (v3: townships forbidden).
	clerk := w.actor("NMG-BT-QS-RD", sm.RoleBorrower, "人大经办人")
	d := w.draft("芦长丽", "NMG-BT-QS-RD", sm.D(2024, 6, 1), sm.D(2024, 8, 31))
	d.Purpose, d.Justification = sm.PurposeKeyTask, "人大换届"
	s := w.create(clerk, d, sm.D(2024, 5, 9))

	_, err := w.s.SecondmentAct(w.ctx, s.ID, 0, clerk, sm.Input{Action: sm.ActSubmit}, smAt(sm.D(2024, 5, 10)))
	e := codeOf(t, err, sm.EInvalid)
	if !errors.Is(err, sm.ErrPolicyViolation) || !slices.Contains(e.Rules(), sm.R4) || !e.Violations.Blocked() {
		t.Fatalf("S1 submit: %v", err)
	}
	w.nothingWritten(s.ID, 1, 0, 1, 0)

	// The lending unit cannot submit the borrower's request.
	lender := w.actor("NMG-BT-QS-KXL", sm.RoleLender, "张斌")
	_, err = w.s.SecondmentAct(w.ctx, s.ID, 0, lender, sm.Input{Action: sm.ActSubmit}, smAt(sm.D(2024, 3, 1)))
	codeOf(t, err, sm.EForbidden)
	// Nor consent to a draft: no such step from the draft.
	_, err = w.s.SecondmentAct(w.ctx, s.ID, 0, lender, sm.Input{Action: sm.ActConsent, Opinion: "同意"}, smAt(sm.D(2024, 3, 1)))
	if codeOf(t, err, sm.EConflict); !errors.Is(err, sm.ErrInvalidTransition) {
		t.Fatalf("consent to a draft: %v", err)
	}
	w.nothingWritten(s.ID, 1, 0, 1, 0)
	r := w.record(s.ID)
	if r.State != sm.StateDraft || r.Number != "" || r.JurisdictionID != 0 || !r.SubmittedOn.IsZero() {
		t.Errorf("after refusals: %+v", r)
	}
	if n := w.count(`SELECT count(*) FROM secondment_number_counter`); n != 0 {
		t.Errorf("a refused submission took a number")
	}

	// Before the notice (v2: exception) the same request passes.
	if _, err := w.s.SecondmentAct(w.ctx, s.ID, 0, clerk, sm.Input{Action: sm.ActSubmit}, smAt(sm.D(2024, 3, 20))); err != nil {
		t.Fatalf("submit under v2: %v", err)
	}
	if r := w.record(s.ID); r.PolicyVersion != 2 || r.OrgDeptID != w.unit("NMG-BT-QS-ZZB") || r.Number != "借调〔2024〕0001" {
		t.Errorf("submitted under v2: %+v", r)
	}
}

// Sent back by the lender, edited, resubmitted: the lending unit is asked
// again. Sent back by the org dept and resubmitted unchanged: straight
// back to the org dept.
func TestSecondmentResubmit(t *testing.T) {
	t.Parallel()
	w := newSMWorld(t, 0)
	clerk, lender, org := w.kashgar()
	s := w.s5Submitted()

	w.act(s.ID, lender, sm.Input{Action: sm.ActSendBack, Opinion: "请写明工作交接安排"}, sm.D(2024, 3, 2))
	cur, v, err := w.s.SecondmentGet(w.ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	cur.Justification += ";原岗位工作由张鹏代管"
	if _, v, err = w.s.SecondmentUpdateDraft(w.ctx, clerk, s.ID, v, cur, smAt(sm.D(2024, 3, 3))); err != nil {
		t.Fatal(err)
	}
	if r := w.record(s.ID); !r.ChangedSinceSentBack || r.Version != v {
		t.Fatalf("edited after send-back: %+v", r)
	}
	// The person cannot change after submission.
	other := cur
	other.PersonID = w.person("张鹏")
	_, _, err = w.s.SecondmentUpdateDraft(w.ctx, clerk, s.ID, v, other, smAt(sm.D(2024, 3, 3)))
	codeOf(t, err, sm.EInvalid)

	res := w.act(s.ID, clerk, sm.Input{Action: sm.ActResubmit}, sm.D(2024, 3, 4))
	if res.Secondment.State != sm.StateAwaitingConsent {
		t.Fatalf("changed resubmission went to %s", res.Secondment.State)
	}
	if r := w.record(s.ID); r.ChangedSinceSentBack || r.Number != "借调〔2024〕0001" || r.SubmittedOn != sm.D(2024, 3, 1) {
		t.Errorf("after resubmission: %+v", r)
	}

	w.act(s.ID, lender, sm.Input{Action: sm.ActConsent, Opinion: "同意"}, sm.D(2024, 3, 5))
	w.act(s.ID, org, sm.Input{Action: sm.ActSendBack, Opinion: "请补充案件说明"}, sm.D(2024, 3, 6))
	res = w.act(s.ID, clerk, sm.Input{Action: sm.ActResubmit, Changed: true /* ignored: the store knows */}, sm.D(2024, 3, 7))
	if res.Secondment.State != sm.StateAwaitingSignoff {
		t.Fatalf("unchanged resubmission went to %s", res.Secondment.State)
	}
	if n := w.count(`SELECT count(*) FROM secondment_number_counter WHERE last_value = 1`); n != 1 {
		t.Errorf("resubmission took a new number")
	}
}

// S7: a transfer-in completed moves the person's home unit and both
// headcounts; without room in the staffing quota it is refused (R12).
func TestSecondmentTransferIn(t *testing.T) {
	t.Parallel()
	w := newSMWorld(t, 0)
	clerk, _, org := w.kashgar()
	s := w.s5Active()
	jw, akks := w.unit("XJ-KS-JW"), w.unit("XJ-KS-AKKS")
	headcount := func(unit int64) int {
		return w.count(`SELECT headcount FROM unit WHERE id = $1`, unit)
	}

	// 喀什市纪委监委 full (60 of 60): refused, nothing written.
	if _, err := w.s.Pool.Exec(w.ctx, `UPDATE unit SET headcount = 60 WHERE id = $1`, jw); err != nil {
		t.Fatal(err)
	}
	before := w.record(s.ID)
	in := sm.Input{Action: sm.ActTransfer, TransferMethod: sm.TransferOfPost}
	_, err := w.s.SecondmentAct(w.ctx, s.ID, 0, clerk, in, smAt(sm.D(2024, 4, 10)))
	if e := codeOf(t, err, sm.EInvalid); !slices.Equal(e.Rules(), []sm.RuleID{sm.R12}) {
		t.Fatalf("transfer into a full unit: %v", err)
	}
	w.nothingWritten(s.ID, before.Version, 4, 5, 6)

	if _, err := w.s.Pool.Exec(w.ctx, `UPDATE unit SET headcount = 57 WHERE id = $1`, jw); err != nil {
		t.Fatal(err)
	}
	res := w.act(s.ID, clerk, in, sm.D(2024, 4, 10))
	if res.Secondment.State != sm.StateTransferPending {
		t.Fatalf("transfer: %s", res.Secondment.State)
	}
	res = w.act(s.ID, org, sm.Input{Action: sm.ActApprove, Opinion: "同意转任"}, sm.D(2024, 4, 20))
	if res.Secondment.State != sm.StateTransferred || res.NewHomeUnit != jw {
		t.Fatalf("approve transfer: %s, home %d", res.Secondment.State, res.NewHomeUnit)
	}
	if got := w.count(`SELECT home_unit_id FROM person WHERE id = $1`, w.person("李传群")); int64(got) != jw {
		t.Errorf("home unit %d, want %d", got, jw)
	}
	if hb, hl := headcount(jw), headcount(akks); hb != 58 || hl != 43 {
		t.Errorf("headcounts %d / %d, want 58 / 43", hb, hl)
	}
	r := w.record(s.ID)
	if r.ClosedAt.IsZero() || !r.ClosedAt.Equal(smAt(sm.D(2024, 4, 20))) || r.TransferMethod != sm.TransferOfPost {
		t.Errorf("transferred: %+v", r)
	}
	if n := w.count(`SELECT count(*) FROM audit_event WHERE object_id = $1 AND action = 'secondment.approve'
		AND (detail->>'new_home_unit')::bigint = $2`, s.ID, jw); n != 1 {
		t.Errorf("transfer audit events with the new home unit: %d", n)
	}
}

func TestSecondmentList(t *testing.T) {
	t.Parallel()
	w := newSMWorld(t, 0)
	clerk, _, _ := w.kashgar()
	submitted := w.s5Submitted() // created 28 Feb
	later := w.create(clerk, w.draft("李传群", "XJ-KS-JW", sm.D(2024, 7, 1), sm.D(2024, 9, 30)), sm.D(2024, 3, 15))
	bt := w.actor("NMG-BT-JY-ZZB", sm.RoleBorrower, "九原区委组织部经办人")
	baotou := w.create(bt, w.draft("武俞吉", "NMG-BT-JY-ZZB", sm.D(2024, 3, 11), sm.D(2024, 6, 10)), sm.D(2024, 3, 1))

	ids := func(f postgres.SecondmentFilter) []int64 {
		t.Helper()
		rs, err := w.s.SecondmentList(w.ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, r := range rs {
			if r.PersonName == "" || r.BorrowerName == "" || r.LenderName == "" {
				t.Errorf("names not filled: %+v", r)
			}
			out = append(out, r.ID)
		}
		return out
	}
	for _, c := range []struct {
		name string
		f    postgres.SecondmentFilter
		want []int64
	}{
		{"all, newest first", postgres.SecondmentFilter{}, []int64{later.ID, baotou.ID, submitted.ID}},
		{"borrower", postgres.SecondmentFilter{BorrowerID: w.unit("XJ-KS-JW")}, []int64{later.ID, submitted.ID}},
		{"lender", postgres.SecondmentFilter{LenderID: w.unit("NMG-BT-JY-MC")}, []int64{baotou.ID}},
		{"org dept", postgres.SecondmentFilter{OrgDeptID: w.unit("XJ-KS-ZZB")}, []int64{submitted.ID}},
		{"states", postgres.SecondmentFilter{States: []sm.State{sm.StateAwaitingConsent, sm.StateApproved}}, []int64{submitted.ID}},
		{"person and state", postgres.SecondmentFilter{PersonID: w.person("李传群"), States: []sm.State{sm.StateDraft}}, []int64{later.ID}},
		{"limit", postgres.SecondmentFilter{Limit: 1}, []int64{later.ID}},
		{"nothing", postgres.SecondmentFilter{LenderID: w.unit("SD-WH-HC-YT")}, nil},
	} {
		if got := ids(c.f); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	rs, err := w.s.SecondmentList(w.ctx, postgres.SecondmentFilter{States: []sm.State{sm.StateAwaitingConsent}})
	if err != nil || len(rs) != 1 || rs[0].Number != "借调〔2024〕0001" || rs[0].Version != 2 || rs[0].PolicyVersion != 2 {
		t.Errorf("awaiting consent: %+v, %v", rs, err)
	}
}

func ExampleFormatNumber() {
	fmt.Println(postgres.FormatNumber(2024, 1))
	// Output: 借调〔2024〕0001
}
