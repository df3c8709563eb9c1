package approval_test

import (
	"context"
	"testing"
	"time"

	"secondment/internal/approval"

	sm "secondment/internal/secondment"
)

// The service caches units and policies, and a change to either reaches
// it at its next use: here the lending unit is renamed and its headcount
// changed behind the service's back (as another replica or the
// administrator would), and the live check names and weighs it anew.
func TestCatalogChangeReachesTheCache(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	clerk, _, _ := w.kashgar()
	w.on(sm.D(2024, 2, 28))
	in := w.draft("李传群", sm.D(2024, 3, 11), sm.D(2024, 6, 10))
	before, err := w.svc.Check(w.ctx, clerk, in)
	if err != nil {
		t.Fatal(err)
	}
	if before.LenderName != "阿克喀什乡" {
		t.Fatalf("lender %q", before.LenderName)
	}
	if _, err := w.s.Pool.Exec(w.ctx, `UPDATE unit SET name = '阿克喀什乡人民政府', headcount = 9 WHERE code = 'XJ-KS-AKKS'`); err != nil {
		t.Fatal(err)
	}
	after, err := w.svc.Check(w.ctx, clerk, in)
	if err != nil {
		t.Fatal(err)
	}
	if after.LenderName != "阿克喀什乡人民政府" || after.Burden.Headcount != 9 {
		t.Fatalf("after the change the check still says %q with headcount %d", after.LenderName, after.Burden.Headcount)
	}
}

// A use case that finds the cached catalog stale reloads it on the
// connection it already holds. Here every connection of a two-connection
// pool is held by a step when the catalog changes: a reload that waited
// for a third connection would wait forever (and did, under load).
func TestStaleCatalogReloadNeedsNoSecondConnection(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2)
	_, lender, _ := w.kashgar()
	var ids []int64
	for range 8 {
		ids = append(ids, w.s5Submitted().ID)
	}
	if _, err := w.s.Pool.Exec(w.ctx, `UPDATE unit SET note = note || ' ' WHERE code = 'XJ-KS-AKKS'`); err != nil {
		t.Fatal(err)
	}
	w.on(sm.D(2024, 3, 2))
	ctx, cancel := context.WithTimeout(w.ctx, 30*time.Second)
	defer cancel()
	errs := make(chan error, 2*len(ids))
	start := make(chan struct{})
	for _, id := range ids {
		go func() {
			<-start
			_, err := w.svc.Act(ctx, lender, id, approval.ActInput{Action: sm.ActConsent, Opinion: "同意"})
			errs <- err
		}()
	}
	// Pages read the catalog through the pool at the same time: a reload
	// that held a lock while waiting for a connection would stop them all.
	clerk, _, _ := w.kashgar()
	in := w.draft("李传群", sm.D(2024, 3, 11), sm.D(2024, 6, 10))
	for range ids {
		go func() {
			<-start
			_, err := w.svc.Check(ctx, clerk, in)
			if sm.ErrorCodeOf(err) == sm.EInvalid { // the form's dates may be past by now: judged, not stuck
				err = nil
			}
			errs <- err
		}()
	}
	close(start)
	for range 2 * len(ids) {
		if err := <-errs; err != nil {
			t.Fatalf("a step or a check under a stale catalog: %v", err)
		}
	}
}
