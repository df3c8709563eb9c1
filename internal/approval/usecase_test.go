package approval_test

import (
	"fmt"
	"testing"

	"secondment/internal/approval"
	"secondment/internal/auth"
	sm "secondment/internal/secondment"
)

// An inbox is read a page at a time: 50 requests newest first, a cursor
// to the next page, each request once across pages, and a to-do count
// that does not depend on the page.
func TestInboxPages(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	clerk, _, _ := w.kashgar()
	const n = approval.PageSize + 7
	for i := range n {
		in := w.draft("李传群", sm.D(2024, 3, 11), sm.D(2024, 6, 10))
		in.Task = fmt.Sprintf("专项任务%02d", i)
		w.create(clerk, in, sm.D(2024, 2, 28).AddDays(i%2)) // drafts: on the clerk's to-do list
	}
	seen := map[int64]bool{}
	first, err := w.svc.Inbox(w.ctx, clerk, approval.TabAll, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Rows) != approval.PageSize || first.Next == "" || first.TodoCount != n {
		t.Fatalf("first page: %d rows, next %q, to do %d", len(first.Rows), first.Next, first.TodoCount)
	}
	second, err := w.svc.Inbox(w.ctx, clerk, approval.TabAll, first.Next)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Rows) != n-approval.PageSize || second.Next != "" {
		t.Fatalf("second page: %d rows, next %q", len(second.Rows), second.Next)
	}
	var prev approval.Request
	for i, r := range append(first.Rows, second.Rows...) {
		if seen[r.ID] {
			t.Fatalf("request %d listed twice", r.ID)
		}
		seen[r.ID] = true
		if i > 0 && (r.CreatedAt.After(prev.CreatedAt) || (r.CreatedAt.Equal(prev.CreatedAt) && r.ID > prev.ID)) {
			t.Fatalf("row %d is newer than the one before it", i)
		}
		prev = r
	}
	if _, err := w.svc.Inbox(w.ctx, clerk, approval.TabAll, "not-a-cursor"); sm.ErrorCodeOf(err) != sm.EInvalid {
		t.Fatalf("a made-up cursor: %v", err)
	}
}

// Whom a clerk may nominate and how the rules would judge a form are the
// borrowing clerk's to see: the use cases refuse anyone else, whatever
// route calls them.
func TestFormUseCasesAreTheBorrowersOwn(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	clerk, lender, orgdept := w.kashgar()
	w.on(sm.D(2024, 2, 28))
	in := w.draft("李传群", sm.D(2024, 3, 11), sm.D(2024, 6, 10))
	for _, u := range []auth.User{lender, orgdept} {
		if _, err := w.svc.Check(w.ctx, u, in); sm.ErrorCodeOf(err) != sm.EForbidden {
			t.Errorf("check by %s: %v", u.Name, err)
		}
		if _, err := w.svc.Nominees(w.ctx, u, ""); sm.ErrorCodeOf(err) != sm.EForbidden {
			t.Errorf("nominees for %s: %v", u.Name, err)
		}
	}
	if people, err := w.svc.Nominees(w.ctx, clerk, "李传"); err != nil || len(people) != 1 || people[0].Name != "李传群" {
		t.Fatalf("the clerk's search: %v %v", people, err)
	}
}

// A command begins its transaction in the round trip that loads the
// request; when there is no request (or none the user may see) the
// transaction ends there and the connection goes back to the pool.
func TestRefusedLoadReleasesItsConnection(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2)
	_, lender, _ := w.kashgar()
	draft := w.create(w.actor("XJ-KS-JW", sm.RoleBorrower, "纪委监委经办人"), w.draft("李传群", sm.D(2024, 3, 11), sm.D(2024, 6, 10)), sm.D(2024, 2, 28))
	for range 5 { // more than the pool holds
		for _, id := range []int64{draft.ID + 1000, draft.ID} { // missing; a draft the lender may not see
			if _, err := w.svc.Act(w.ctx, lender, id, approval.ActInput{Action: sm.ActConsent, Opinion: "同意"}); sm.ErrorCodeOf(err) != sm.ENotFound {
				t.Fatalf("consent to %d: %v", id, err)
			}
		}
	}
	if n := w.s.Pool.Stat().AcquiredConns(); n != 0 {
		t.Fatalf("%d connections still acquired", n)
	}
}
