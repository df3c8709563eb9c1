package demo_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"secondment/internal/auth"
	"secondment/internal/dbtest"
	"secondment/internal/demo"
	"secondment/internal/postgres"
	"secondment/internal/province"
	sm "secondment/internal/secondment"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// The demo tells the seed's stories: requests at every step of the chain,
// the stock of the clean-ups with S6's numbers, S8's load, an overdue term
// in the ledger; and loading it again adds nothing.
func TestStories(t *testing.T) {
	ctx := t.Context()
	s := dbtest.Store(t)
	now := time.Now()
	if _, err := demo.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.LoadUsers(ctx, s, auth.Hasher{Params: auth.CheapParams}, "Demo-Password-2026", now); err != nil {
		t.Fatal(err)
	}
	res, err := demo.LoadStories(ctx, s, now)
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped || res.Registered < demo.StoryCounts.KashgarStock {
		t.Fatalf("stories: %+v", res)
	}
	count := func(sql string, args ...any) int {
		t.Helper()
		var n int
		if err := s.Pool.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}
	// Every state a visitor should meet is there.
	for _, st := range []sm.State{sm.StateDraft, sm.StateAwaitingConsent, sm.StateAwaitingSignoff, sm.StateSentBack,
		sm.StateApproved, sm.StateActive, sm.StateOverdue, sm.StateReturned, sm.StateRenewed, sm.StateTransferPending,
		sm.StateTransferred, sm.StateDeclined, sm.StateRejected, sm.StateWithdrawn} {
		if n := count(`SELECT count(*) FROM secondment WHERE state = $1`, st); n == 0 {
			t.Errorf("no request %s", st)
		}
	}
	// S6: Kashgar's 165 registered township secondees.
	c := demo.StoryCounts
	kashgarStock := `SELECT count(*) FROM secondment s JOIN unit l ON l.id = s.lender_id
		WHERE s.registered_on IS NOT NULL AND l.code LIKE 'XJ-KS-%' AND l.level = 'township'`
	// With the 2022 clean-up's, all returned or transferred in.
	if n, want := count(kashgarStock), c.KashgarStock+c.Kashgar2022Returned+c.Kashgar2022Transferred; n != want {
		t.Errorf("Kashgar stock %d, want %d", n, want)
	}
	for st, want := range map[string]int{"returned": c.StockReturned + c.Kashgar2022Returned, "transfer_pending": c.StockTransfer,
		"transferred": c.Kashgar2022Transferred} {
		if n := count(kashgarStock+` AND s.state = $1`, st); n != want {
			t.Errorf("Kashgar stock %s: %d, want %d", st, n, want)
		}
	}
	if n := count(kashgarStock + ` AND s.state IN ('active', 'expired', 'overdue') AND s.purpose = 'major_project'`); n != c.StockAway {
		t.Errorf("Kashgar stock away on major projects: %d, want %d", n, c.StockAway)
	}
	// S8: the lending units' load.
	away := `SELECT count(*) FROM secondment s JOIN unit l ON l.id = s.lender_id
		WHERE l.code = $1 AND s.state IN ('active', 'expired', 'overdue', 'transfer_pending')`
	if n := count(away, "NMG-BT-QS-KXL"); n != c.KexueluAway {
		t.Errorf("科学路街道 away: %d, want %d", n, c.KexueluAway)
	}
	if n := count(away, "XJ-KS-AKKS"); n != c.AkekashiAway {
		t.Errorf("阿克喀什乡 away: %d, want %d", n, c.AkekashiAway)
	}
	// A term of this week and one of next month; an overdue one in the
	// ledger (R10) through the sweep.
	today := sm.DateOf(now)
	if n := count(`SELECT count(*) FROM secondment WHERE state = 'active' AND end_date BETWEEN $1 AND $2`,
		today.String(), today.AddDays(7).String()); n == 0 {
		t.Error("no term ends this week")
	}
	if n := count(`SELECT count(*) FROM ledger_entry le JOIN secondment s ON s.id = le.secondment_id
		WHERE le.rule = 'R10' AND s.registered_on IS NULL AND le.closed_on IS NULL`); n == 0 {
		t.Error("no overdue request in the ledger")
	}
	// S4: 科学路街道's four on the irregular ledger with deadlines, one
	// past and escalated to 包头市委组织部, three with a plan, one
	// transfer-in under way; five of Kashgar's held to term end.
	kxl := `SELECT count(*) FROM ledger_entry le JOIN secondment s ON s.id = le.secondment_id JOIN unit l ON l.id = s.lender_id
		WHERE l.code = 'NMG-BT-QS-KXL' AND le.rule = 'R4' AND le.closed_on IS NULL`
	for what, want := range map[string]int{
		"":                                    4,
		" AND le.deadline IS NOT NULL":        4,
		" AND le.target_task <> ''":           3,
		" AND le.status = 'transfer_pending'": 1,
		" AND le.deadline < current_date":     1,
		" AND le.escalated_to = (SELECT id FROM unit WHERE code = 'NMG-BT-ZZB')": 1,
	} {
		if n := count(kxl + what); n != want {
			t.Errorf("科学路街道's entries%s: %d, want %d", what, n, want)
		}
	}
	if n := count(`SELECT count(*) FROM ledger_entry WHERE status = 'term_end'`); n != 5 {
		t.Errorf("%d entries held to term end, want 5", n)
	}
	// S6: the clean-up's figures, as its page shows them.
	var campaign, campaign2022 int64
	if err := s.Pool.QueryRow(ctx, `SELECT c.id FROM campaign c JOIN unit u ON u.id = c.org_dept_id
		WHERE u.code = 'XJ-KS-ZZB' AND c.closed_on IS NULL`).Scan(&campaign); err != nil {
		t.Fatalf("the Kashgar campaign: %v", err)
	}
	// The end-2022 clean-up: 103 returned, 38 transferred in, closed.
	if err := s.Pool.QueryRow(ctx, `SELECT c.id FROM campaign c JOIN unit u ON u.id = c.org_dept_id
		WHERE u.code = 'XJ-KS-ZZB' AND c.closed_on IS NOT NULL`).Scan(&campaign2022); err != nil {
		t.Fatalf("the Kashgar campaign of 2022: %v", err)
	}
	if v, err := s.CampaignGet(ctx, campaign2022); err != nil || v.Counts.Found != c.Kashgar2022Returned+c.Kashgar2022Transferred ||
		v.Counts.Returned != c.Kashgar2022Returned || v.Counts.Transfer != c.Kashgar2022Transferred || v.Counts.Remaining() != 0 {
		t.Errorf("the Kashgar campaign of 2022's counts: %+v %v", v.Counts, err)
	}
	if v, err := s.CampaignGet(ctx, campaign); err != nil || v.Counts.Found != c.KashgarStock || v.Counts.Returned != c.StockReturned ||
		v.Counts.Transfer != c.StockTransfer || v.Counts.Remaining() != c.StockAway || v.Counts.Held != c.StockAway {
		t.Errorf("the Kashgar campaign's counts: %+v %v", v.Counts, err)
	}
	// S1 refused, S2's third term refused by the cap: both stay drafts.
	if n := count(`SELECT count(*) FROM secondment s JOIN person p ON p.id = s.person_id
		WHERE s.state = 'draft' AND p.name IN ('芦长丽', '热依汗古丽·艾则孜')`); n != 2 {
		t.Errorf("%d refused drafts of S1 and S2, want 2", n)
	}
	// The chain wrote its decisions; the stock none.
	if n := count(`SELECT count(*) FROM decision d JOIN secondment s ON s.id = d.secondment_id WHERE s.registered_on IS NOT NULL`); n != 0 {
		t.Errorf("%d decisions on registered stock", n)
	}

	// S7: the transfer moved the person and both headcounts, and loading
	// the demo's units again keeps the live figures.
	heads := `SELECT string_agg(code || '=' || headcount, ',' ORDER BY code) FROM unit WHERE code IN ('XJ-KS-HH', 'XJ-KS-JW')`
	var before string
	if err := s.Pool.QueryRow(ctx, heads).Scan(&before); err != nil || before != "XJ-KS-HH=34,XJ-KS-JW=58" {
		t.Errorf("headcounts after the transfer: %q, %v", before, err)
	}
	if res, err := demo.Load(ctx, s); err != nil || res.UnitsUpdated != 0 {
		t.Errorf("loading the units again: %+v, %v", res, err)
	}
	var after string
	if err := s.Pool.QueryRow(ctx, heads).Scan(&after); err != nil || after != before {
		t.Errorf("headcounts after loading again: %q, want %q", after, before)
	}

	total := count(`SELECT count(*) FROM secondment`)
	again, err := demo.LoadStories(ctx, s, now)
	if err != nil || !again.Skipped {
		t.Fatalf("again: %+v %v", again, err)
	}
	if n := count(`SELECT count(*) FROM secondment`); n != total {
		t.Errorf("loading again: %d requests, was %d", n, total)
	}
}

// A scaled demo: a synthetic province loaded first, then the demo beside
// it, whose stories still load (the province's requests are not theirs)
// and only once.
func TestStoriesBesideAProvince(t *testing.T) {
	ctx := t.Context()
	_, owner := dbtest.URLs(t) // the loader drops and restores foreign keys: the owner's work
	s := &postgres.Store{Pool: dbtest.Pool(t, owner)}
	now := time.Now()
	cheap := auth.Hasher{Params: auth.CheapParams}
	hash, err := cheap.Hash("Demo-Password-2026")
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	if _, err := province.Load(ctx, s, province.Options{N: 3000, Consent: 50, Approve: 50, PasswordHash: hash,
		Now: now, Seed: 1, Log: &log}); err != nil {
		t.Fatal(err)
	}
	if err := province.History(ctx, s, &log); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.LoadUsers(ctx, s, cheap, "Demo-Password-2026", now); err != nil {
		t.Fatal(err)
	}
	res, err := demo.LoadStories(ctx, s, now)
	if err != nil || res.Skipped || res.Registered < demo.StoryCounts.KashgarStock {
		t.Fatalf("stories beside a province: %+v, %v", res, err)
	}
	var n, notes int
	if err := s.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM secondment), (SELECT count(*) FROM notification_outbox)`).Scan(&n, &notes); err != nil {
		t.Fatal(err)
	}
	if n < 3000+demo.StoryCounts.KashgarStock || notes == 0 {
		t.Errorf("%d requests and %d notifications", n, notes)
	}
	if again, err := demo.LoadStories(ctx, s, now); err != nil || !again.Skipped {
		t.Errorf("again: %+v %v", again, err)
	}
	// A province goes only into an empty database.
	if _, err := province.Load(ctx, s, province.Options{N: 3000, PasswordHash: hash, Now: now, Seed: 1, Log: &log}); err == nil ||
		!strings.Contains(err.Error(), "empty") {
		t.Errorf("a province over data: %v", err)
	}
}
