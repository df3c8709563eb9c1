package approval_test

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"secondment/internal/approval"
	sm "secondment/internal/secondment"
)

// A create with an idempotency key happens once per user and key.
func TestSecondmentCreateIdempotent(t *testing.T) {
	t.Parallel()
	holdManyConns(t)
	w := newWorld(t, 16)
	clerk, _, _ := w.kashgar()
	other := w.actor("XJ-KS-JW", sm.RoleBorrower, "另一位经办人")
	d := w.draft("李传群", sm.D(2024, 3, 11), sm.D(2024, 6, 10))
	now := smAt(sm.D(2024, 2, 28))

	w.clock.set(now)
	a, err := w.svc.Create(w.ctx, clerk, d, "form-1")
	if err != nil {
		t.Fatal(err)
	}
	w.clock.set(now.Add(time.Second))
	b, err := w.svc.Create(w.ctx, clerk, d, "form-1")
	if err != nil || b.ID != a.ID {
		t.Fatalf("repeated create: %d, %v; want the same draft %d", b.ID, err, a.ID)
	}
	w.clock.set(now)
	c, err := w.svc.Create(w.ctx, clerk, d, "form-2")
	if err != nil || c.ID == a.ID {
		t.Fatalf("another key: %d, %v; want a new draft", c.ID, err)
	}
	o, err := w.svc.Create(w.ctx, other, d, "form-1")
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
	warm(t, w, clicks)
	ids := make([]int64, clicks)
	errs := make([]error, clicks)
	start := make(chan struct{})
	done := make(chan int)
	for i := range clicks {
		go func() {
			<-start
			s, err := w.svc.Create(w.ctx, clerk, d, "form-3")
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
	w := newWorld(t, 0)
	clerk, lender, _ := w.kashgar()
	w.on(sm.D(2024, 2, 28))
	d := w.draft("李传群", sm.D(2024, 3, 11), sm.D(2024, 6, 10))

	// Only a borrowing clerk drafts requests.
	_, err := w.svc.Create(w.ctx, lender, d, "")
	codeOf(t, err, sm.EForbidden)

	fields := func(_ approval.Request, err error) []string {
		t.Helper()
		var out []string
		for _, f := range codeOf(t, err, sm.EInvalid).Fields {
			out = append(out, f.Field)
		}
		slices.Sort(out)
		return out
	}
	// A clerk drafts for their own unit only: another jurisdiction's
	// person is unknown to a clerk of 青山区人大 (nothing is told of them).
	elsewhere := w.actor("NMG-BT-QS-RD", sm.RoleBorrower, "人大经办人")
	if got := fields(w.svc.Create(w.ctx, elsewhere, d, "")); !slices.Equal(got, []string{"person"}) {
		t.Errorf("a person of another jurisdiction: fields %v", got)
	}

	bad := d
	bad.Task, bad.End = "", sm.D(2024, 3, 1).String()
	if got := fields(w.svc.Create(w.ctx, clerk, bad, "k")); !slices.Equal(got, []string{"end", "task"}) {
		t.Errorf("fields %v", got)
	}
	bad = d
	bad.PersonID = 999_999
	_, err = w.svc.Create(w.ctx, clerk, bad, "")
	if e := codeOf(t, err, sm.EInvalid); len(e.Fields) != 1 || e.Fields[0].Field != "person" ||
		e.Fields[0].Message.ID != "secondment.error.person" {
		t.Errorf("unknown person: %v", err)
	}
	bad = d
	bad.PersonID = w.person("冯剑") // of the org dept, not of a lending unit
	bad.PreviousID = 999_999
	if got := fields(w.svc.Create(w.ctx, clerk, bad, "")); !slices.Equal(got, []string{"previous_id"}) {
		t.Errorf("unknown previous term: fields %v", got)
	}
	// Borrowing one's own person: the person is not one the clerk may
	// nominate.
	self := w.draft("张鹏", sm.D(2024, 3, 11), sm.D(2024, 6, 10))
	akksClerk := w.actor("XJ-KS-AKKS", sm.RoleBorrower, "乡经办人")
	if got := fields(w.svc.Create(w.ctx, akksClerk, self, "")); !slices.Equal(got, []string{"person"}) {
		t.Errorf("borrowing one's own person: fields %v", got)
	}
	// Every problem at once: no person, a start already past, no task.
	bad = d
	bad.PersonID, bad.Start, bad.Task = 0, sm.D(2024, 2, 27).String(), " "
	_, err = w.svc.Create(w.ctx, clerk, bad, "")
	e := codeOf(t, err, sm.EInvalid)
	var got []string
	for _, f := range e.Fields {
		got = append(got, f.Field)
		if f.Field == "start" && f.Message.ID != "secondment.error.past" {
			t.Errorf("a start in the past: %v", f.Message)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"person", "start", "task"}) {
		t.Errorf("every problem at once: fields %v", got)
	}
	// An idempotency key has a bounded length.
	if got := fields(w.svc.Create(w.ctx, clerk, d, strings.Repeat("k", 201))); !slices.Equal(got, []string{"idempotency_key"}) {
		t.Errorf("a long key: fields %v", got)
	}

	if n := w.count(`SELECT count(*) FROM secondment`) + w.count(`SELECT count(*) FROM idempotency_key`) +
		w.count(`SELECT count(*) FROM audit_event WHERE object_type = 'secondment'`); n != 0 {
		t.Errorf("refused creates wrote %d rows", n)
	}
}

// A version the caller read and someone changed since is refused with
// EStale (ErrStale), distinct from other conflicts, and changes nothing.
func TestSecondmentStaleVersion(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	clerk, _, _ := w.kashgar()
	d := w.draft("李传群", sm.D(2024, 3, 11), sm.D(2024, 6, 10))
	d.Justification = "急需"
	s := w.create(clerk, d, sm.D(2024, 2, 28))

	w.on(sm.D(2024, 2, 29))
	d.Task = "第一次修改"
	if r, err := w.svc.Update(w.ctx, clerk, s.ID, 1, d); err != nil || r.Version != 2 {
		t.Fatalf("update: v%d %v", r.Version, err)
	}
	d.Task = "基于旧版本的修改"
	_, err := w.svc.Update(w.ctx, clerk, s.ID, 1, d)
	e := codeOf(t, err, sm.EStale)
	if !errors.Is(err, approval.ErrStale) || errors.Is(err, approval.ErrConcurrentUpdate) || e.Message.ID != "error.conflict" {
		t.Fatalf("stale update: %v", err)
	}
	w.on(sm.D(2024, 3, 1))
	_, err = w.svc.Act(w.ctx, clerk, s.ID, approval.ActInput{Action: sm.ActSubmit, IfVersion: 1})
	codeOf(t, err, sm.EStale)
	if !errors.Is(err, approval.ErrStale) || errors.Is(err, approval.ErrConcurrentUpdate) {
		t.Fatalf("stale submit: %v", err)
	}
	r := w.record(s.ID)
	if r.Task != "第一次修改" || r.State != sm.StateDraft || r.Number != "" {
		t.Errorf("after stale writes: %+v", r)
	}
	w.nothingWritten(s.ID, 2, 0, 2, 0)

	// A save that changes nothing writes nothing.
	w.on(sm.D(2024, 2, 29))
	d.Task = "第一次修改"
	if r, err := w.svc.Update(w.ctx, clerk, s.ID, 2, d); err != nil || r.Version != 2 {
		t.Fatalf("no-op update: v%d %v", r.Version, err)
	}
	w.nothingWritten(s.ID, 2, 0, 2, 0)
	w.on(sm.D(2024, 3, 1))
	if _, err := w.svc.Act(w.ctx, clerk, s.ID, approval.ActInput{Action: sm.ActSubmit, IfVersion: 2}); err != nil {
		t.Fatalf("submit at the current version: %v", err)
	}
	// A submitted request is no longer a draft to edit.
	_, err = w.svc.Update(w.ctx, clerk, s.ID, 0, d)
	if codeOf(t, err, sm.EConflict); !errors.Is(err, sm.ErrInvalidTransition) {
		t.Fatalf("editing a submitted request: %v", err)
	}
}

// A draft keeps at most MaxDraftLetters of the borrowing unit's letters:
// each edit may bring one, none is ever deleted. The one past the cap is
// refused beside the letter field, and the edit it came with changes
// nothing.
func TestDraftLettersAreCapped(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	clerk, _, _ := w.kashgar()
	w.clock.set(smAt(sm.D(2024, 2, 28)))
	letter := func(i int) *approval.File {
		return &approval.File{Name: fmt.Sprintf("借调函%d.pdf", i), ContentType: "application/pdf",
			Data: fmt.Appendf(nil, "%%PDF-1.4 借调函 %d", i)}
	}
	in := w.draft("李传群", sm.D(2024, 3, 11), sm.D(2024, 6, 10))
	in.Letter = letter(1)
	r, err := w.svc.Create(w.ctx, clerk, in, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= approval.MaxDraftLetters; i++ {
		in.Letter = letter(i)
		if r, err = w.svc.Update(w.ctx, clerk, r.ID, r.Version, in); err != nil {
			t.Fatalf("letter %d: %v", i, err)
		}
	}
	in.Letter, in.Task = letter(approval.MaxDraftLetters+1), "协助查办重大案件（补充）"
	_, err = w.svc.Update(w.ctx, clerk, r.ID, r.Version, in)
	if e := codeOf(t, err, sm.EInvalid); len(e.Fields) != 1 || e.Fields[0].Field != "letter" ||
		e.Fields[0].Message.ID != "upload.error.too_many" {
		t.Fatalf("letter %d: %v", approval.MaxDraftLetters+1, err)
	}
	cur := w.record(r.ID)
	if n := w.count(`SELECT count(*) FROM attachment WHERE secondment_id = ` + strconv.FormatInt(r.ID, 10)); n != approval.MaxDraftLetters ||
		cur.Version != r.Version || cur.Task != "协助查办重大案件" {
		t.Fatalf("after the refused letter: %d letters, version %d (was %d), task %q", n, cur.Version, r.Version, cur.Task)
	}
	// Without a letter the same edit goes through.
	in.Letter = nil
	if _, err := w.svc.Update(w.ctx, clerk, r.ID, r.Version, in); err != nil {
		t.Fatalf("the edit without a letter: %v", err)
	}
}
