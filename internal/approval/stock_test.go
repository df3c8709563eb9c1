package approval_test

import (
	"slices"
	"testing"

	"secondment/internal/approval"
	sm "secondment/internal/secondment"
)

// regInput is 李传群's secondment to the Kashgar discipline commission as
// the record of January 2024 shows it.
func (w *world) regInput(status sm.StockStatus, start, end sm.Date) approval.RegisterInput {
	return approval.RegisterInput{PersonID: w.person("李传群"), BorrowerID: w.unit("XJ-KS-JW"),
		Kind: string(sm.KindSecondment), Purpose: string(sm.PurposeMajorProject), Task: "协助查办重大案件",
		Start: start.String(), End: end.String(), Status: string(status)}
}

// An existing secondment with no approval on record, past its end and
// never returned, is registered overdue and irregular (R8, R10, and R4
// since a township is protected), with a ledger entry per rule, one audit
// event, no decision invented, and a number of the register series.
func TestRegisterOverdueStockIsIrregular(t *testing.T) {
	w := newWorld(t, 0)
	_, _, org := w.kashgar()
	w.on(sm.D(2024, 6, 1))
	got, err := w.svc.Register(w.ctx, org, w.regInput(sm.StockRunning, sm.D(2023, 8, 1), sm.D(2024, 1, 31)))
	if err != nil {
		t.Fatal(err)
	}
	if got.State != sm.StateOverdue || got.Number != "登记〔2024〕0001" || got.Already {
		t.Fatalf("registered %+v", got)
	}
	for _, r := range []sm.RuleID{sm.R4, sm.R5, sm.R8, sm.R10} {
		if !slices.Contains(got.Irregular, r) {
			t.Errorf("irregular %v lacks %s", got.Irregular, r)
		}
	}
	if n := w.count(`SELECT count(*) FROM ledger_entry WHERE secondment_id = $1 AND closed_on IS NULL`, got.ID); n != len(got.Irregular) {
		t.Errorf("%d open ledger entries, want %d", n, len(got.Irregular))
	}
	if n := w.count(`SELECT count(*) FROM decision WHERE secondment_id = $1`, got.ID); n != 0 {
		t.Errorf("%d decisions invented", n)
	}
	if n := w.count(`SELECT count(*) FROM audit_event WHERE object_id = $1 AND action = 'secondment.register'`, got.ID); n != 1 {
		t.Errorf("%d audit events", n)
	}
	rec := w.record(got.ID)
	if rec.RegisteredOn != sm.D(2024, 6, 1) || rec.StartedOn != sm.D(2023, 8, 1) || rec.OrgDeptID != org.UnitID {
		t.Errorf("record %+v", rec.Secondment)
	}

	// Again: nothing new, and it says so.
	again, err := w.svc.Register(w.ctx, org, w.regInput(sm.StockRunning, sm.D(2023, 8, 1), sm.D(2024, 1, 31)))
	if err != nil || !again.Already || again.ID != got.ID {
		t.Fatalf("again: %+v %v", again, err)
	}
	if n := w.count(`SELECT count(*) FROM secondment WHERE registered_on IS NOT NULL`); n != 1 {
		t.Errorf("%d registered rows", n)
	}
}

// With its approval on record, a running secondment within its term is
// active and breaks nothing but what the approval granted; a returned one
// is closed, and so is its ledger entry.
func TestRegisterApprovedAndReturned(t *testing.T) {
	w := newWorld(t, 0)
	_, _, org := w.kashgar()
	w.on(sm.D(2024, 6, 1))
	in := w.regInput(sm.StockRunning, sm.D(2024, 5, 1), sm.D(2024, 7, 31))
	in.ApprovalRef, in.ApprovedOn = "喀市组干字〔2024〕12号", "2024-04-25"
	got, err := w.svc.Register(w.ctx, org, in)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != sm.StateActive || len(got.Irregular) != 0 {
		t.Fatalf("approved stock: %+v", got)
	}
	ret := w.regInput(sm.StockReturned, sm.D(2023, 1, 1), sm.D(2023, 3, 31))
	ret.ReturnedOn = "2023-03-31"
	back, err := w.svc.Register(w.ctx, org, ret)
	if err != nil {
		t.Fatal(err)
	}
	if back.State != sm.StateReturned || !slices.Contains(back.Irregular, sm.R8) {
		t.Fatalf("returned stock: %+v", back)
	}
	if n := w.count(`SELECT count(*) FROM ledger_entry WHERE secondment_id = $1 AND closed_on IS NULL`, back.ID); n != 0 {
		t.Errorf("%d ledger entries left open for someone back home", n)
	}
	if n := w.count(`SELECT count(*) FROM secondment WHERE id = $1 AND closed_at IS NOT NULL AND return_confirmed_on = '2023-03-31'`, back.ID); n != 1 {
		t.Error("returned registration not closed")
	}
}

// A transfer-in on record moves the person to the borrowing unit, with
// both units' headcounts, in the registration's transaction.
func TestRegisterCompletedTransferMovesThePerson(t *testing.T) {
	w := newWorld(t, 0)
	_, _, org := w.kashgar()
	w.on(sm.D(2024, 6, 1))
	headcounts := func() string {
		var s string
		if err := w.s.Pool.QueryRow(w.ctx, `SELECT string_agg(code || '=' || headcount, ' ' ORDER BY code) FROM unit
			WHERE code IN ('XJ-KS-JW', 'XJ-KS-AKKS')`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := headcounts()
	in := w.regInput(sm.StockTransferred, sm.D(2023, 8, 1), sm.D(2023, 10, 31))
	in.TransferMethod = string(sm.TransferOfPost)
	in.ApprovalRef, in.ApprovedOn = "喀市组干字〔2023〕12号", "2023-07-25"
	got, err := w.svc.Register(w.ctx, org, in)
	if err != nil || got.State != sm.StateTransferred {
		t.Fatalf("transferred stock: %+v, %v", got, err)
	}
	if n := w.count(`SELECT count(*) FROM person WHERE id = $1 AND home_unit_id = $2`, w.person("李传群"), w.unit("XJ-KS-JW")); n != 1 {
		t.Error("the person was not moved to the borrowing unit")
	}
	if after := headcounts(); after != "XJ-KS-AKKS=43 XJ-KS-JW=58" || before != "XJ-KS-AKKS=44 XJ-KS-JW=57" {
		t.Errorf("headcounts %s, then %s", before, after)
	}
}

// Bad input is refused field by field and writes nothing; a borrowing
// unit outside the org dept's approval, a borrower's clerk, and a person
// of another jurisdiction are refused too.
func TestRegisterRefusals(t *testing.T) {
	w := newWorld(t, 0)
	clerk, _, org := w.kashgar()
	w.on(sm.D(2024, 6, 1))
	cases := []struct {
		name   string
		edit   func(*approval.RegisterInput)
		fields []string
	}{
		{"future start", func(in *approval.RegisterInput) { in.Start, in.End = "2024-07-01", "2024-08-01" }, []string{"start"}},
		{"bad date", func(in *approval.RegisterInput) { in.End = "2024/13/40" }, []string{"end"}},
		{"no status", func(in *approval.RegisterInput) { in.Status = "" }, []string{"status"}},
		{"returned without day", func(in *approval.RegisterInput) { in.Status = string(sm.StockReturned) }, []string{"returned_on"}},
		{"transfer without method", func(in *approval.RegisterInput) { in.Status = string(sm.StockTransferPending) }, []string{"transfer_method"}},
		{"other jurisdiction's borrower", func(in *approval.RegisterInput) { in.BorrowerID = w.unit("NMG-BT-QS-RD") }, []string{"borrower"}},
		{"other jurisdiction's person", func(in *approval.RegisterInput) { in.PersonID = w.person("芦长丽") }, []string{"person"}},
		{"approval date without number", func(in *approval.RegisterInput) { in.ApprovedOn = "2024-01-01" }, []string{"approval_ref"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := w.regInput(sm.StockRunning, sm.D(2024, 1, 1), sm.D(2024, 3, 31))
			c.edit(&in)
			_, err := w.svc.Register(w.ctx, org, in)
			e := codeOf(t, err, sm.EInvalid)
			for _, f := range c.fields {
				if !slices.ContainsFunc(e.Fields, func(fe sm.FieldError) bool { return fe.Field == f }) {
					t.Errorf("fields %v lack %s", e.Fields, f)
				}
			}
		})
	}
	_, err := w.svc.Register(w.ctx, clerk, w.regInput(sm.StockRunning, sm.D(2024, 1, 1), sm.D(2024, 3, 31)))
	codeOf(t, err, sm.EForbidden)
	if n := w.count(`SELECT count(*) FROM secondment`); n != 0 {
		t.Errorf("%d rows written by refused registrations", n)
	}
	if n := w.count(`SELECT count(*) FROM audit_event WHERE action = 'secondment.register'`); n != 0 {
		t.Errorf("%d audit events of refused registrations", n)
	}
}
