package jobs_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"secondment/internal/approval"
	"secondment/internal/auth"
	"secondment/internal/dbtest"
	"secondment/internal/demo"
	"secondment/internal/jobs"
	"secondment/internal/postgres"
	sm "secondment/internal/secondment"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// at is 10:00 in Shanghai on day d.
func at(d sm.Date) time.Time { return d.Start().Add(10 * time.Hour) }

// running makes n Kashgar secondments of new people of 阿克喀什乡, each
// through the whole chain and started, all ending 31 October 2023.
func running(t *testing.T, s *postgres.Store, n int) {
	t.Helper()
	ctx := context.Background()
	if _, err := demo.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.LoadUsers(ctx, s, auth.Hasher{Params: auth.CheapParams}, "Demo-Password-2026", at(sm.D(2023, 7, 1))); err != nil {
		t.Fatal(err)
	}
	user := func(login string) auth.User {
		var id int64
		if err := s.Pool.QueryRow(ctx, `SELECT id FROM app_user WHERE login = $1`, login).Scan(&id); err != nil {
			t.Fatal(err)
		}
		u, err := s.UserGet(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	clerk, town, od := user("xj-ks-jw.borrower"), user("xj-ks-akks.lender"), user("xj-ks-zzb.orgdept")
	clock := &stepClock{}
	app := approval.New(s, clock)
	start, end := sm.D(2023, 8, 1), sm.D(2023, 10, 31)
	for i := range n {
		code := fmt.Sprintf("XJ-KS-AKKS-J%02d", i)
		if _, err := s.Import(ctx, postgres.Import{People: []postgres.PersonImport{{HomeUnitCode: "XJ-KS-AKKS",
			Person: sm.Person{Code: code, Name: fmt.Sprintf("人员%02d", i)}}}}); err != nil {
			t.Fatal(err)
		}
		var person int64
		if err := s.Pool.QueryRow(ctx, `SELECT id FROM person WHERE code = $1`, code).Scan(&person); err != nil {
			t.Fatal(err)
		}
		clock.t = at(sm.D(2023, 7, 10))
		d, err := app.Create(ctx, clerk, approval.DraftInput{Kind: string(sm.KindSecondment), Purpose: string(sm.PurposeKeyTask),
			Task: "专项工作", PersonID: person, Start: start.String(), End: end.String(), Justification: "专项工作急需"}, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range []struct {
			a  auth.User
			in approval.ActInput
			on sm.Date
		}{
			{clerk, approval.ActInput{Action: sm.ActSubmit}, sm.D(2023, 7, 10)},
			{town, approval.ActInput{Action: sm.ActConsent, Opinion: "同意"}, sm.D(2023, 7, 12)},
			{od, approval.ActInput{Action: sm.ActApprove, Opinion: "同意"}, sm.D(2023, 7, 15)},
			{clerk, approval.ActInput{Action: sm.ActStart}, start},
		} {
			clock.t = at(step.on)
			if _, err := app.Act(ctx, step.a, d.ID, step.in); err != nil {
				t.Fatalf("%s: %v", step.in.Action, err)
			}
		}
	}
}

// stepClock is the clock the setup moves from step to step.
type stepClock struct{ t time.Time }

func (c *stepClock) Now() time.Time { return c.t }

// sweepTwice runs two River clients (as two replicas would) against store
// with the clock at now, each given two more sweeps of now's day besides
// its periodic one, and waits for the four extra sweeps to finish.
func sweepTwice(t *testing.T, store *postgres.Store, now time.Time) {
	t.Helper()
	ctx := context.Background()
	clock := sm.FixedClock{T: now}
	day := sm.DateOf(now).String()
	var clients []interface {
		Start(context.Context) error
		Stop(context.Context) error
	}
	for range 2 {
		c, err := jobs.NewClient(store, jobs.Config{SweepInterval: time.Hour, Workers: 2, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		// Two sweeps for the day besides the periodic one, so the clients
		// have work at the same moment.
		for range 2 {
			if _, err := c.Insert(ctx, jobs.SweepArgs{Day: day}, nil); err != nil {
				t.Fatal(err)
			}
		}
		clients = append(clients, c)
	}
	for _, c := range clients {
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, c := range clients {
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_ = c.Stop(sctx)
			cancel()
		}
	}()
	completed := func() int {
		var x int
		if err := store.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'sweep' AND state = 'completed'`).Scan(&x); err != nil {
			t.Fatal(err)
		}
		return x
	}
	deadline := time.Now().Add(30 * time.Second)
	for completed() < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("sweeps did not finish: %d completed", completed())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func counter(t *testing.T, store *postgres.Store) func(q string) int {
	return func(q string) int {
		t.Helper()
		var x int
		if err := store.Pool.QueryRow(context.Background(), q).Scan(&x); err != nil {
			t.Fatal(err)
		}
		return x
	}
}

// Two workers (two River clients, as two replicas would run) sweep the same
// day at once: every expiry, overdue entry and notification happens
// exactly once.
func TestTwoWorkersSweepExactlyOnce(t *testing.T) {
	t.Parallel()
	store := dbtest.Store(t)
	const n = 12
	running(t, store, n)
	sweepTwice(t, store, at(sm.D(2023, 11, 1)))
	count := counter(t, store)
	for q, want := range map[string]int{
		`SELECT count(*) FROM audit_event WHERE action = 'secondment.expire'`:       n,
		`SELECT count(*) FROM audit_event WHERE action = 'secondment.mark_overdue'`: n,
		`SELECT count(*) FROM ledger_entry WHERE rule = 'R10'`:                      n,
		`SELECT count(*) FROM secondment WHERE state = 'overdue'`:                   n,
		`SELECT coalesce(sum((message_data->>'Count')::int), 0) FROM notification_outbox
			WHERE message_id = 'notify.digest.overdue' AND recipient_role = 'borrower'`: n,
	} {
		if got := count(q); got != want {
			t.Errorf("%s = %d, want %d", q, got, want)
		}
	}
	// Each person was named in the borrower's overdue digests once.
	if dup := count(`SELECT count(*) FROM (SELECT object_id FROM audit_event WHERE action = 'secondment.mark_overdue'
		GROUP BY object_id HAVING count(*) > 1) d`); dup != 0 {
		t.Errorf("requests marked overdue twice")
	}
	if runs := count(`SELECT count(*) FROM sweep_run`); runs < 4 {
		t.Errorf("%d sweeps recorded, want at least 4", runs)
	}
}

// Two workers sweeping on the day of the 15-day reminder at once: each
// term is reminded once, and the borrower's digests name each person once.
func TestTwoWorkersRemindExactlyOnce(t *testing.T) {
	t.Parallel()
	store := dbtest.Store(t)
	const n = 12
	running(t, store, n)
	sweepTwice(t, store, at(sm.D(2023, 10, 16))) // 15 days before 31 October
	count := counter(t, store)
	for q, want := range map[string]int{
		`SELECT count(*) FROM reminder_sent WHERE kind = 'before_15'`: n,
		`SELECT count(*) FROM reminder_sent`:                          n,
		`SELECT coalesce(sum(coalesce((message_data->>'Count')::int, 1)), 0) FROM notification_outbox
			WHERE message_id IN ('notify.digest.reminder.before', 'notify.reminder.before') AND recipient_role = 'borrower'`: n,
		`SELECT count(*) FROM secondment WHERE state = 'active'`: n,
	} {
		if got := count(q); got != want {
			t.Errorf("%s = %d, want %d", q, got, want)
		}
	}
}

// The audit verification job walks the chain and records what it found,
// for the auditor's page; a broken chain is recorded as broken.
func TestAuditVerifyJobRecordsTheChain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := dbtest.URL(t)
	store := &postgres.Store{Pool: dbtest.Pool(t, url)}
	running(t, store, 1)
	su := dbtest.Pool(t, dbtest.SuperURL(t, url))
	if _, err := su.Exec(ctx, `BEGIN; SET LOCAL session_replication_role = replica;
		UPDATE audit_event SET actor_name = '别人' WHERE id = (SELECT event_id FROM audit_chain WHERE seq = 2); COMMIT;`); err != nil {
		t.Fatal(err)
	}
	c, err := jobs.NewClient(store, jobs.Config{SweepInterval: time.Hour, Clock: sm.FixedClock{T: at(sm.D(2023, 8, 2))}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Insert(ctx, jobs.AuditVerifyArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_ = c.Stop(sctx)
		cancel()
	}()
	count := counter(t, store)
	deadline := time.Now().Add(30 * time.Second)
	for count(`SELECT count(*) FROM audit_verification`) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no verification recorded")
		}
		time.Sleep(50 * time.Millisecond)
	}
	list, err := store.AuditVerifications(ctx, 1)
	if err != nil || len(list) != 1 || list[0].OK || list[0].BrokenSeq != 2 || list[0].Problem != postgres.ChainHash ||
		!strings.HasPrefix(list[0].Origin, "job ") {
		t.Fatalf("verification: %+v, %v", list, err)
	}
}

// A sweep whose worker was killed midway leaves its job "running" and its
// run unfinished. River rescues the job after RescueAfter (here a second,
// in production SweepTimeout plus a minute, not River's hour) and the
// sweep runs again to the end; the killed run stays on record, unfinished.
func TestKilledSweepIsRescued(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := dbtest.Store(t)
	running(t, store, 2)
	now := at(sm.D(2023, 11, 2))
	// What a kill -9 midway leaves behind: the job running since an hour
	// ago, its run begun and never finished.
	if _, err := store.Pool.Exec(ctx, `INSERT INTO sweep_run (day, started_at, origin) VALUES ('2023-11-02', $1, 'job 999')`,
		now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Pool.Exec(ctx, `INSERT INTO river_job (state, attempt, max_attempts, attempted_at, created_at, scheduled_at,
		    kind, args, queue, priority, attempted_by)
		VALUES ('running', 1, 25, now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour',
		    'sweep', '{"day": "2023-11-02"}', 'default', 1, '{"killed-host"}')`); err != nil {
		t.Fatal(err)
	}
	c, err := jobs.NewClient(store, jobs.Config{SweepInterval: time.Hour, Clock: sm.FixedClock{T: now}, RescueAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_ = c.Stop(sctx)
		cancel()
	}()
	count := counter(t, store)
	deadline := time.Now().Add(45 * time.Second)
	// The client's own periodic sweep starts beside the rescued one (the
	// stuck job, written here by hand, has no unique key to stop it):
	// both are waited for, or the second is counted mid-run below.
	for count(`SELECT count(*) FROM river_job WHERE kind = 'sweep' AND args->>'day' = '2023-11-02' AND state = 'completed'`) == 0 ||
		count(`SELECT count(*) FROM river_job WHERE kind = 'sweep' AND state NOT IN ('completed', 'cancelled', 'discarded')`) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stuck sweep was not rescued and run again, or a sweep did not finish")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := count(`SELECT count(*) FROM secondment WHERE state = 'overdue'`); n != 2 {
		t.Fatalf("after the rescued sweep %d terms overdue; want 2", n)
	}
	if n := count(`SELECT count(*) FROM sweep_run WHERE finished_at IS NULL`); n != 1 {
		t.Fatalf("%d unfinished runs on record; want the killed one", n)
	}
	runs, err := store.SweepRuns(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var finished int
	for _, r := range runs {
		if r.FinishedAt != nil && r.Day == sm.D(2023, 11, 2) && r.Expired == 2 {
			finished++
		}
	}
	if finished != 1 {
		t.Fatalf("runs: %+v; want one finished run that expired the two terms", runs)
	}
}
