package approval_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"secondment/internal/approval"
	"secondment/internal/auth"
	"secondment/internal/postgres"
	sm "secondment/internal/secondment"
)

// Fifty lending-unit clerks decide one request at the same moment, on
// separate connections: exactly one decision is taken, the other 49 are
// refused, and only the winner's rows exist. The clerks carry the version
// their form showed (the HTTP layer's If-Match), or none.
func TestSecondmentActFiftyConcurrentDecisions(t *testing.T) {
	t.Parallel()
	for _, ifVersion := range []int{2, 0} {
		t.Run(fmt.Sprintf("ifVersion=%d", ifVersion), func(t *testing.T) {
			holdManyConns(t)
			raceFifty(t, ifVersion)
		})
	}
}

func raceFifty(t *testing.T, ifVersion int) {
	const n = 50
	w := newWorld(t, n+4)
	s := w.s5Submitted() // awaiting consent, version 2
	actions := []sm.Action{sm.ActConsent, sm.ActDecline, sm.ActSendBack}
	// Who is told of each outcome (besides the lending unit, told of the
	// submission): the org dept and the borrower of a consent, the
	// borrower of a refusal or a send-back.
	told := map[sm.Action]int{sm.ActConsent: 2, sm.ActDecline: 1, sm.ActSendBack: 1}
	clerks := make([]auth.User, n)
	for i := range clerks {
		clerks[i] = w.actor("XJ-KS-AKKS", sm.RoleLender, fmt.Sprintf("借出单位经办人%02d", i))
	}
	warm(t, w, n)

	type outcome struct {
		user    auth.User
		in      approval.ActInput
		res     approval.Request
		err     error
		winning bool
	}
	out := make([]outcome, n)
	w.on(sm.D(2024, 3, 2))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		u := clerks[i]
		in := approval.ActInput{Action: actions[i%len(actions)], IfVersion: ifVersion, Opinion: fmt.Sprintf("意见%02d", i)}
		wg.Go(func() {
			<-start
			res, err := w.svc.Act(w.ctx, u, s.ID, in)
			out[i] = outcome{user: u, in: in, res: res, err: err}
		})
	}
	close(start)
	wg.Wait()

	var winner *outcome
	for i := range out {
		if out[i].err == nil {
			if winner != nil {
				t.Fatalf("two winners: %s and %s", winner.in.Action, out[i].in.Action)
			}
			winner = &out[i]
		}
	}
	if winner == nil {
		t.Fatal("no winner")
	}
	tally := map[string]int{}
	for i, o := range out {
		switch code := sm.ErrorCodeOf(o.err); {
		case o.err == nil:
		case code == sm.EStale && errors.Is(o.err, approval.ErrStale):
			tally["stale"]++ // ifVersion: read the old version and lost at the write, or read the new one
		case code != sm.EConflict:
			// Every other loser is told someone else acted first, even a
			// send-back read after the consent won (the domain answers a
			// step the request moved past with a conflict).
			t.Errorf("loser %d (%s): %v; want a conflict", i, o.in.Action, o.err)
		case errors.Is(o.err, approval.ErrConcurrentUpdate):
			tally["lost at the guarded update"]++
		case errors.Is(o.err, sm.ErrInvalidTransition):
			tally["action gone when read"]++
		default:
			t.Errorf("loser %d: unexpected conflict %v", i, o.err)
		}
	}
	t.Logf("winner %s; losers %v", winner.in.Action, tally)
	if ifVersion != 0 && tally["stale"] != n-1 {
		t.Errorf("with If-Match every loser must be stale: %v", tally)
	}
	if ifVersion == 0 && tally["stale"] != 0 {
		t.Errorf("without If-Match no loser may be stale: %v", tally)
	}

	r := w.record(s.ID)
	if r.Version != 3 || winner.res.Version != 3 || r.State != winner.res.State {
		t.Errorf("stored version %d state %s; winner v%d %s", r.Version, r.State, winner.res.Version, winner.res.State)
	}
	if len(r.Decisions) != 2 || r.Decisions[1].Step != sm.StateAwaitingConsent || r.Decisions[1].Action != winner.in.Action ||
		r.Decisions[1].ActorID != winner.user.ID || r.Decisions[1].Opinion != winner.in.Opinion {
		t.Errorf("decisions %+v; winner %s by %s", r.Decisions, winner.in.Action, winner.user.Name)
	}
	if n := w.count(`SELECT count(*) FROM decision WHERE secondment_id = $1 AND step = 'awaiting_consent'`, s.ID); n != 1 {
		t.Errorf("%d decisions for the step, want 1", n)
	}
	if n := w.count(`SELECT count(*) FROM audit_event WHERE object_id = $1
		AND action IN ('secondment.consent', 'secondment.decline', 'secondment.send_back')`, s.ID); n != 1 {
		t.Errorf("%d audit events for the step, want 1", n)
	}
	if n := w.count(`SELECT count(*) FROM notification_outbox WHERE secondment_id = $1`, s.ID); n != 1+told[winner.in.Action] {
		t.Errorf("%d notifications, want 1 + %d", n, told[winner.in.Action])
	}
	if n := w.count(`SELECT count(*) FROM notification_outbox WHERE secondment_id = $1 AND message_id = $2`,
		s.ID, "notify."+string(r.State)); n != told[winner.in.Action] {
		t.Errorf("%d notifications of the winner's step, want %d", n, told[winner.in.Action])
	}
}

// The guarded UPDATE itself detects a change made between the step's read
// and its write: here another transaction holds the row, changed, while
// the step is under way, and commits after the step read the old version.
func TestSecondmentActLosesRaceAtGuardedUpdate(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 8)
	_, lender, _ := w.kashgar()
	for _, c := range []struct {
		name      string
		ifVersion int
		code      sm.ErrorCode
		want      error
	}{
		{"unchecked", 0, sm.EConflict, approval.ErrConcurrentUpdate},
		{"if-match", 2, sm.EStale, approval.ErrStale},
	} {
		s := w.s5Submitted() // version 2
		other, err := w.s.Pool.Begin(w.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.Exec(w.ctx, `UPDATE secondment SET version = version + 1 WHERE id = $1`, s.ID); err != nil {
			t.Fatal(err)
		}
		w.on(sm.D(2024, 3, 2))
		errc := make(chan error, 1)
		go func() {
			_, err := w.svc.Act(w.ctx, lender, s.ID, approval.ActInput{Action: sm.ActConsent, IfVersion: c.ifVersion, Opinion: "同意"})
			errc <- err
		}()
		waitForLockWait(t, w) // the step read version 2 and now waits at its UPDATE
		if err := other.Commit(w.ctx); err != nil {
			t.Fatal(err)
		}
		err = <-errc
		if sm.ErrorCodeOf(err) != c.code || !errors.Is(err, c.want) {
			t.Fatalf("%s: %v; want %s wrapping %v", c.name, err, c.code, c.want)
		}
		w.nothingWritten(s.ID, 3, 1, 2, 1) // the other transaction's version; the submission's rows only
	}
}

// Concurrent submissions in one jurisdiction get distinct consecutive
// numbers; each jurisdiction and each year counts from 0001.
func TestSecondmentNumbersConcurrentSubmits(t *testing.T) {
	t.Parallel()
	const n = 12
	holdManyConns(t)
	w := newWorld(t, n+4)
	clerk, _, _ := w.kashgar()
	ids := make([]int64, n)
	for i := range ids {
		d := w.draft("李传群", sm.D(2024, 3, 11), sm.D(2024, 6, 10))
		d.Task, d.Justification = fmt.Sprintf("专项任务%02d", i), "急需"
		ids[i] = w.create(clerk, d, sm.D(2024, 2, 28)).ID
	}
	warm(t, w, n)
	errs := make([]error, n)
	w.on(sm.D(2024, 3, 1))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			<-start
			_, errs[i] = w.svc.Act(w.ctx, clerk, id, approval.ActInput{Action: sm.ActSubmit})
		})
	}
	close(start)
	wg.Wait()
	var numbers []string
	for i, id := range ids {
		if errs[i] != nil {
			t.Fatalf("submit %d: %v", i, errs[i])
		}
		numbers = append(numbers, w.record(id).Number)
	}
	slices.Sort(numbers)
	for i, got := range numbers {
		if want := postgres.FormatNumber(2024, i+1); got != want {
			t.Fatalf("numbers %v; want 0001 … %04d without gaps or repeats", numbers, n)
		}
	}

	// Another jurisdiction starts at 0001 too: the number is unique per
	// jurisdiction (000004), not globally.
	bt := w.actor("NMG-BT-JY-ZZB", sm.RoleBorrower, "九原区委组织部经办人")
	d := w.draft("武俞吉", sm.D(2024, 3, 11), sm.D(2024, 6, 10))
	d.Purpose, d.Justification = string(sm.PurposeSpecialProject), "换届考察急需"
	b := w.create(bt, d, sm.D(2024, 2, 28))
	w.act(b.ID, bt, approval.ActInput{Action: sm.ActSubmit}, sm.D(2024, 3, 1))
	if r := w.record(b.ID); r.Number != "借调〔2024〕0001" || r.JurisdictionID != w.unit("NMG-BT") ||
		r.OrgDeptID != w.unit("NMG-BT-ZZB") {
		t.Errorf("Baotou's first request: %+v", r)
	}
	// A new year counts from 0001.
	d = w.draft("李传群", sm.D(2025, 1, 10), sm.D(2025, 4, 9))
	d.Justification = "急需"
	c := w.create(clerk, d, sm.D(2025, 1, 2))
	w.act(c.ID, clerk, approval.ActInput{Action: sm.ActSubmit}, sm.D(2025, 1, 3))
	if r := w.record(c.ID); r.Number != "借调〔2025〕0001" {
		t.Errorf("first number of 2025: %s", r.Number)
	}
	// Within one jurisdiction a number stays unique.
	_, err := w.s.Pool.Exec(w.ctx, `UPDATE secondment SET number = '借调〔2024〕0001' WHERE id = $1`, c.ID)
	if err == nil {
		t.Error("two requests of one jurisdiction share a number")
	}
}

// Two sign-offs for one person's overlapping terms at different units, at
// once (issue #12): each locks the person with the facts it reads, so the
// second waits for the first and sees its term. The test holds the
// person's row, lets both sign-offs queue behind it, then lets go: one is
// approved, the other refused naming it.
func TestTwoSignOffsForOnePerson(t *testing.T) {
	w := newWorld(t, 8)
	_, _, org := w.kashgar()
	_, pending := w.s5AndAnother() // 张鹏 at 纪委监委, April to June, awaiting sign-off
	other := w.zhangPengAtGov()
	w.on(sm.D(2024, 3, 14))
	warm(t, w, 3)

	hold, err := w.s.Pool.Begin(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hold.Rollback(w.ctx) }) // before the pool closes, should the test stop early
	if _, err := hold.Exec(w.ctx, `SELECT 1 FROM person WHERE id = $1 FOR UPDATE`, w.person("张鹏")); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	for _, id := range []int64{pending.ID, other.ID} {
		go func() {
			_, err := w.svc.Act(w.ctx, org, id, approval.ActInput{Action: sm.ActApprove, Opinion: "同意"})
			errs <- err
		}()
	}
	waitForLockWait(t, w)
	time.Sleep(50 * time.Millisecond) // the second, too
	if err := hold.Rollback(w.ctx); err != nil {
		t.Fatal(err)
	}
	var won, refused int
	for range 2 {
		switch err := <-errs; {
		case err == nil:
			won++
		case sm.ErrorCodeOf(err) == sm.EInvalid:
			refused++
		default:
			t.Errorf("a sign-off: %v", err)
		}
	}
	if won != 1 || refused != 1 {
		t.Fatalf("%d approved, %d refused; want one each", won, refused)
	}
	if n := w.count(`SELECT count(*) FROM secondment WHERE person_id = $1 AND state = 'approved'`, w.person("张鹏")); n != 1 {
		t.Errorf("张鹏 has %d approved terms", n)
	}
}
