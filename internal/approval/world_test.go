package approval_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"secondment/internal/approval"
	"secondment/internal/auth"
	"secondment/internal/dbtest"
	"secondment/internal/demo"
	"secondment/internal/postgres"
	sm "secondment/internal/secondment"
)

// testClock is the use cases' "now", set by the test before each call.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// smAt is 10:00 in Shanghai on day d.
func smAt(d sm.Date) time.Time { return d.Start().Add(10 * time.Hour) }

// world is a fresh database with the demo units, people and policies, the
// use cases over it on a test clock, and the accounts the test acts as.
type world struct {
	t      *testing.T
	ctx    context.Context
	s      *postgres.Store
	svc    *approval.Service
	clock  *testClock
	units  map[string]int64 // by code
	people map[string]int64 // by name

	mu    sync.Mutex
	users map[string]auth.User // by unit code, role and name
}

// newWorld sets up a world whose pool holds up to conns connections (0:
// pgxpool's default), so that concurrency tests run on separate
// connections.
func newWorld(t *testing.T, conns int32) *world {
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
	store := &postgres.Store{Pool: pool}
	clock := &testClock{}
	w := &world{t: t, ctx: ctx, s: store, svc: approval.New(store, clock), clock: clock,
		units: map[string]int64{}, people: map[string]int64{}, users: map[string]auth.User{}}
	if _, err := demo.Load(ctx, w.s); err != nil {
		t.Fatal(err)
	}
	for table, m := range map[string]map[string]int64{`SELECT code, id FROM unit`: w.units, `SELECT name, id FROM person`: w.people} {
		rows, err := pool.Query(ctx, table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var key string
			var id int64
			if err := rows.Scan(&key, &id); err != nil {
				t.Fatal(err)
			}
			m[key] = id
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func (w *world) unit(code string) int64 {
	w.t.Helper()
	id, ok := w.units[code]
	if !ok {
		w.t.Fatalf("no unit %s", code)
	}
	return id
}

func (w *world) person(name string) int64 {
	w.t.Helper()
	id, ok := w.people[name]
	if !ok {
		w.t.Fatalf("no person %s", name)
	}
	return id
}

// actor is the account called name holding role in the unit with code,
// created the first time it is asked for and read back as a signed-in
// user (with its roles and unit name).
func (w *world) actor(code string, role sm.Role, name string) auth.User {
	w.t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	key := code + "/" + string(role) + "/" + name
	if u, ok := w.users[key]; ok {
		return u
	}
	login := fmt.Sprintf("%s.%s.%d", strings.ToLower(code), role, len(w.users)+1)
	id, err := w.s.UserCreate(w.ctx, postgres.Actor{Name: "test"}, postgres.NewUser{Login: login, Name: name,
		UnitID: w.unit(code), Roles: []auth.Role{auth.Role(role)}, PasswordHash: "$argon2id$test"}, time.Now())
	if err != nil {
		w.t.Fatalf("create user %s: %v", login, err)
	}
	u, err := w.s.UserGet(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	w.users[key] = u
	return u
}

// on sets the clock to 10:00 of day d.
func (w *world) on(d sm.Date) { w.clock.set(smAt(d)) }

// draft is the form of a secondment of person for a major project.
func (w *world) draft(person string, start, end sm.Date) approval.DraftInput {
	return approval.DraftInput{Kind: string(sm.KindSecondment), Purpose: string(sm.PurposeMajorProject),
		Task: "协助查办重大案件", PersonID: w.person(person), Start: start.String(), End: end.String()}
}

// inputOf is the form of a stored request, to edit it.
func inputOf(s sm.Secondment) approval.DraftInput {
	return approval.DraftInput{PersonID: s.PersonID, PreviousID: s.PreviousID, Kind: string(s.Kind), Alias: string(s.Alias),
		Purpose: string(s.Purpose), Task: s.Task, Start: s.Start.String(), End: s.End.String(), Justification: s.Justification}
}

func (w *world) create(u auth.User, in approval.DraftInput, on sm.Date) approval.Request {
	w.t.Helper()
	w.on(on)
	r, err := w.svc.Create(w.ctx, u, in, "")
	if err != nil {
		w.t.Fatalf("create: %v", err)
	}
	return r
}

func (w *world) act(id int64, u auth.User, in approval.ActInput, on sm.Date) approval.Request {
	w.t.Helper()
	w.on(on)
	r, err := w.svc.Act(w.ctx, u, id, in)
	if err != nil {
		w.t.Fatalf("%s by %s on %v: %v", in.Action, u.Name, on, err)
	}
	return r
}

func (w *world) count(sql string, args ...any) int {
	w.t.Helper()
	var n int
	if err := w.s.Pool.QueryRow(w.ctx, sql, args...).Scan(&n); err != nil {
		w.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// record is the request as stored, with its decisions.
func (w *world) record(id int64) postgres.SecondmentRecord {
	w.t.Helper()
	r, err := w.s.SecondmentGet(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

// The Kashgar actors of S5.
func (w *world) kashgar() (clerk, lender, orgdept auth.User) {
	return w.actor("XJ-KS-JW", sm.RoleBorrower, "纪委监委经办人"),
		w.actor("XJ-KS-AKKS", sm.RoleLender, "张鹏"),
		w.actor("XJ-KS-ZZB", sm.RoleOrgDept, "冯剑")
}

// s5Submitted creates and submits 李传群's request of S5 (start 11 March
// 2024, submitted 1 March under Kashgar v2, where a township secondment is
// an exception that needs a justification).
func (w *world) s5Submitted() approval.Request {
	w.t.Helper()
	clerk, _, _ := w.kashgar()
	d := w.draft("李传群", sm.D(2024, 3, 11), sm.D(2024, 6, 10))
	d.Justification = "重大案件查办急需熟悉基层情况的干部"
	s := w.create(clerk, d, sm.D(2024, 2, 28))
	return w.act(s.ID, clerk, approval.ActInput{Action: sm.ActSubmit}, sm.D(2024, 3, 1))
}

// s5Active runs S5 to the start.
func (w *world) s5Active() approval.Request {
	w.t.Helper()
	clerk, lender, org := w.kashgar()
	s := w.s5Submitted()
	w.act(s.ID, lender, approval.ActInput{Action: sm.ActConsent, Opinion: "同意借出"}, sm.D(2024, 3, 2))
	w.act(s.ID, org, approval.ActInput{Action: sm.ActApprove, Opinion: "同意,限期三个月"}, sm.D(2024, 3, 5))
	return w.act(s.ID, clerk, approval.ActInput{Action: sm.ActStart}, sm.D(2024, 3, 11))
}

// nothingWritten checks that a refused step left the request as it was.
func (w *world) nothingWritten(id int64, version, decisions, events, notifications int) {
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

// manyConns serialises the tests that open many connections at once, so
// that together they stay within the test server's max_connections (100).
// Call it before newWorld: the pool closes before the lock is released.
var manyConns sync.Mutex

func holdManyConns(t *testing.T) {
	manyConns.Lock()
	t.Cleanup(manyConns.Unlock)
}

// warm opens n connections of the pool at once, so that the goroutines of a
// race do not queue behind connection set-up.
func warm(t *testing.T, w *world, n int) {
	t.Helper()
	var conns []*pgxpool.Conn
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	for range n {
		c, err := w.s.Pool.Acquire(w.ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
}

// waitForLockWait polls until a backend of the test database waits for a
// lock.
func waitForLockWait(t *testing.T, w *world) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if w.count(`SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`) > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no backend ever waited for the lock")
}
