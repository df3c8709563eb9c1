package approval_test

import (
	"testing"

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
