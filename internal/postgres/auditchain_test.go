package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"secondment/internal/dbtest"
	"secondment/internal/postgres"
)

// chainStore is a store with n audit events written through the service's
// own path, the last ten by ten concurrent transactions.
func chainStore(t *testing.T, n int) (*postgres.Store, string) {
	t.Helper()
	url, _ := dbtest.URLs(t)
	return chainStoreAt(t, url, n), url
}

func chainStoreAt(t *testing.T, url string, n int) *postgres.Store {
	t.Helper()
	s := &postgres.Store{Pool: dbtest.Pool(t, url)}
	ctx := context.Background()
	write := func(i int) error {
		return s.InTx(ctx, func(tx *postgres.Tx) error {
			return tx.Audit(ctx, postgres.AuditEvent{At: time.Date(2024, 5, 1, 9, 0, i, 0, time.UTC), ActorName: "测试",
				Action: "test.event", ObjectType: "secondment", ObjectID: int64(i + 1), Detail: map[string]any{"n": i, "note": "借调"}})
		})
	}
	for i := range n - 10 {
		if err := write(i); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := n - 10; i < n; i++ {
		wg.Go(func() { errs <- write(i) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func verify(t *testing.T, s *postgres.Store, expect ...postgres.ChainPoint) postgres.ChainReport {
	t.Helper()
	r, err := s.AuditVerify(context.Background(), time.Now, "test", expect...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAuditChainVerifiesAnHonestTrail(t *testing.T) {
	t.Parallel()
	s, _ := chainStore(t, 30)
	r := verify(t, s)
	if !r.OK || r.Checked != 30 || r.HeadSeq != 30 || len(r.HeadHash) != 32 {
		t.Fatalf("honest trail: %+v; want OK with 30 links", r)
	}
	// A link noted earlier verifies; a wrong one is reported.
	if r2 := verify(t, s, postgres.ChainPoint{Seq: r.HeadSeq, Hash: r.HeadHash}); !r2.OK {
		t.Fatalf("with the head noted: %+v", r2)
	}
	wrong := append([]byte{}, r.HeadHash...)
	wrong[0] ^= 1
	if r3 := verify(t, s, postgres.ChainPoint{Seq: 7, Hash: wrong}); r3.OK || r3.Problem != postgres.ChainExpected || r3.BrokenSeq != 7 {
		t.Fatalf("with a wrong noted link: %+v; want expected at 7", r3)
	}
}

// TestAuditChainCatchesTampering plays someone holding the superuser
// login, who can lift every trigger, and checks each kind of edit is
// reported at the link it broke.
func TestAuditChainCatchesTampering(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		sql     string
		problem string
		at      func(ev int64) int64 // the broken link, from the tampered event's ID
	}{
		{"edit", `UPDATE audit_event SET detail = '{"n": 0, "note": "改过"}' WHERE id = %d`, postgres.ChainHash, nil},
		{"back-date", `UPDATE audit_event SET at = at - interval '1 year' WHERE id = %d`, postgres.ChainHash, nil},
		{"delete", `DELETE FROM audit_event WHERE id = %d`, postgres.ChainMissing, nil},
		{"delete with its link", `DELETE FROM audit_chain WHERE event_id = %[1]d; DELETE FROM audit_event WHERE id = %[1]d`, postgres.ChainGap, nil},
		{"insert behind the trigger", `INSERT INTO audit_event (at, actor_name, action, object_type) VALUES ('2024-01-01', '某人', 'x.y', 'secondment') -- %d`,
			postgres.ChainUnlinked, func(int64) int64 { return 0 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, url := chainStore(t, 20)
			ctx := context.Background()
			var ev, seq int64
			if err := s.Pool.QueryRow(ctx, `SELECT event_id, seq FROM audit_chain WHERE seq = 12`).Scan(&ev, &seq); err != nil {
				t.Fatal(err)
			}
			su := dbtest.Pool(t, dbtest.SuperURL(t, url))
			tx, err := su.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, fmt.Sprintf(c.sql, ev)); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			r := verify(t, s)
			want := seq
			if c.at != nil {
				if err := s.Pool.QueryRow(ctx, `SELECT max(id) FROM audit_event`).Scan(&want); err != nil {
					t.Fatal(err)
				}
			}
			problem := r.Problem
			if c.problem == postgres.ChainGap && problem == postgres.ChainHead {
				// The link deleted was its lane's last: the head names it.
				problem = postgres.ChainGap
			}
			if r.OK || problem != c.problem || r.BrokenSeq != want {
				t.Fatalf("after %s: %+v; want %s at %d", c.name, r, c.problem, want)
			}
		})
	}
}

// TestAuditChainCatchesARewrite: whoever rewrites every link from an edit
// onwards makes a chain that is whole again; the head recorded by the last
// clean verification, and a head noted outside, still show it.
func TestAuditChainCatchesARewrite(t *testing.T) {
	t.Parallel()
	s, url := chainStore(t, 20)
	ctx := context.Background()
	clean := verify(t, s)
	if err := s.AuditRecordVerification(ctx, &clean); err != nil {
		t.Fatal(err)
	}
	su := dbtest.Pool(t, dbtest.SuperURL(t, url))
	_, err := su.Exec(ctx, `
		BEGIN;
		SET LOCAL session_replication_role = replica;
		UPDATE audit_event SET actor_name = '别人' WHERE id = (SELECT event_id FROM audit_chain WHERE seq = 5);
		DO $$
		DECLARE c audit_chain; e audit_event; prev bytea; l smallint;
		BEGIN
			SELECT lane INTO l FROM audit_chain WHERE seq = 5;
			SELECT hash INTO prev FROM audit_chain WHERE seq = (SELECT prev_seq FROM audit_chain WHERE seq = 5);
			IF prev IS NULL THEN prev := '\x0000000000000000000000000000000000000000000000000000000000000000'; END IF;
			FOR c IN SELECT * FROM audit_chain WHERE lane = l AND seq >= 5 ORDER BY seq LOOP
				SELECT * INTO e FROM audit_event WHERE id = c.event_id;
				prev := sha256(prev || audit_chain_content(c.seq, c.lane, c.prev_seq, e, c.recorded_at));
				UPDATE audit_chain SET hash = prev WHERE seq = c.seq;
			END LOOP;
			UPDATE audit_chain_head SET hash = prev WHERE lane = l;
		END $$;
		COMMIT;`)
	if err != nil {
		t.Fatal(err)
	}
	if r := verify(t, s); r.OK || r.Problem != postgres.ChainExpected || !slices.ContainsFunc(clean.Heads, func(p postgres.ChainPoint) bool { return p.Seq == r.BrokenSeq }) {
		t.Fatalf("rewritten chain: %+v; want a recorded head reported", r)
	}
	// With the verification records wiped too, a head noted outside the
	// database still shows it.
	if _, err := su.Exec(ctx, `DELETE FROM audit_verification`); err != nil {
		t.Fatal(err)
	}
	if r := verify(t, s); !r.OK {
		t.Fatalf("a wholesale rewrite is invisible from inside: %+v", r)
	}
	if r := verify(t, s, clean.Heads...); r.OK || r.Problem != postgres.ChainExpected {
		t.Fatalf("rewritten chain against the noted head: %+v", r)
	}
}

// TestAuditChainIgnoresAReplacedFunction: the verifier computes the content
// itself, so a function swapped to make forged links look right does not
// fool it.
func TestAuditChainIgnoresAReplacedFunction(t *testing.T) {
	t.Parallel()
	s, url := chainStore(t, 12)
	ctx := context.Background()
	su := dbtest.Pool(t, dbtest.SuperURL(t, url))
	if _, err := su.Exec(ctx, `CREATE OR REPLACE FUNCTION audit_chain_content(seq bigint, lane smallint, prev_seq bigint, e audit_event, recorded_at timestamptz)
		RETURNS bytea LANGUAGE sql IMMUTABLE AS $$ SELECT '\x00'::bytea $$`); err != nil {
		t.Fatal(err)
	}
	if err := s.InTx(ctx, func(tx *postgres.Tx) error {
		return tx.Audit(ctx, postgres.AuditEvent{At: time.Now(), ActorName: "测试", Action: "test.event", ObjectType: "secondment"})
	}); err != nil {
		t.Fatal(err)
	}
	if r := verify(t, s); r.OK || r.Problem != postgres.ChainHash || r.BrokenSeq != 13 {
		t.Fatalf("after replacing the content function: %+v; want hash at 13", r)
	}
}

func TestAuditVerificationIsRecorded(t *testing.T) {
	t.Parallel()
	s, url := chainStore(t, 12)
	ctx := context.Background()
	su := dbtest.Pool(t, dbtest.SuperURL(t, url))
	if _, err := su.Exec(ctx, `BEGIN; SET LOCAL session_replication_role = replica;
		UPDATE audit_event SET action = 'x.y' WHERE id = (SELECT event_id FROM audit_chain WHERE seq = 3); COMMIT;`); err != nil {
		t.Fatal(err)
	}
	r := verify(t, s)
	if err := s.AuditRecordVerification(ctx, &r); err != nil {
		t.Fatal(err)
	}
	list, err := s.AuditVerifications(ctx, 5)
	if err != nil || len(list) != 1 || list[0].OK || list[0].BrokenSeq != 3 || list[0].Problem != postgres.ChainHash ||
		list[0].HeadSeq != 12 {
		t.Fatalf("recorded: %+v, %v", list, err)
	}
}

// A retention purge removes the oldest events with their links; the rest
// of the chain still verifies from the moved anchor, and nothing within
// the months kept is touched.
func TestAuditPurgeKeepsTheChainWhole(t *testing.T) {
	t.Parallel()
	appURL, ownerURL := dbtest.URLs(t)
	app := chainStoreAt(t, appURL, 12)
	ctx := context.Background()
	// The service's own login may not purge at all.
	if _, err := app.AuditPurge(ctx, time.Now(), time.Now().AddDate(1, 0, 0), 6, "tester"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("a purge as the application role: %v", err)
	}
	s := &postgres.Store{Pool: dbtest.Pool(t, ownerURL)}
	time.Sleep(10 * time.Millisecond)
	cut := time.Now()
	for i := range 5 {
		if err := s.InTx(ctx, func(tx *postgres.Tx) error {
			return tx.Audit(ctx, postgres.AuditEvent{At: time.Now(), ActorName: "测试", Action: "test.later", ObjectType: "secondment", ObjectID: int64(i + 1)})
		}); err != nil {
			t.Fatal(err)
		}
	}
	later := cut.AddDate(0, 7, 0)
	if _, err := s.AuditPurge(ctx, cut, later, 5, "tester"); err == nil {
		t.Fatal("a purge keeping 5 months was accepted")
	}
	if _, err := s.AuditPurge(ctx, cut, later, 8, "tester"); err == nil {
		t.Fatal("a purge of events within the 8 months kept was accepted")
	}
	p, err := s.AuditPurge(ctx, cut, later, 6, "tester")
	if err != nil {
		t.Fatal(err)
	}
	if p.Events != 12 || p.ThroughSeq != 12 {
		t.Fatalf("purged %+v; want the 12 events recorded before the cut", p)
	}
	var left int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_event WHERE action IN ('test.event')`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d old events left (%v)", left, err)
	}
	r := verify(t, s)
	if !r.OK || r.AnchorSeq != 12 || r.Checked != 6 || r.HeadSeq != 18 {
		t.Fatalf("after the purge: %+v; want 6 links (5 later events and the purge's own) from anchor 12", r)
	}
	// A second purge up to the same cut has nothing left to do.
	if p2, err := s.AuditPurge(ctx, cut, later, 6, "tester"); err != nil || p2.Events != 0 {
		t.Fatalf("second purge: %+v, %v", p2, err)
	}
	// Deleting outside a purge stays refused, even for the owner.
	if _, err := s.Pool.Exec(ctx, `DELETE FROM audit_event`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("a delete outside a purge: %v", err)
	}
}

// TestAuditChainLinksATransactionInOnePass: a transaction's events are
// linked by one pass that writes its lane's head once, not once per event
// (which made a bulk write's cost grow with the square of its size), those
// written in savepoints (an import adds each new person in one) included;
// and the chain verifies.
func TestAuditChainLinksATransactionInOnePass(t *testing.T) {
	t.Parallel()
	s, _ := chainStore(t, 12)
	ctx := context.Background()
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	insert := func(q interface {
		Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
	}, n int) {
		t.Helper()
		if _, err := q.Exec(ctx, `INSERT INTO audit_event (at, actor_name, action, object_type, object_id, detail)
			SELECT now(), '批量', 'test.bulk', 'secondment', i, jsonb_build_object('i', i) FROM generate_series(1, $1) i`, n); err != nil {
			t.Fatal(err)
		}
	}
	insert(tx, 5000)
	for range 200 {
		sp, err := tx.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		insert(sp, 1)
		if err := sp.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// One rolled back: its event is gone, and nothing links it.
	sp, err := tx.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	insert(sp, 3)
	if err := sp.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	insert(tx, 100)
	// The counter may still hold this connection's earlier transactions
	// (PostgreSQL flushes them to shared statistics now and then).
	var before int64
	if err := tx.QueryRow(ctx, `SELECT pg_stat_get_xact_tuples_updated('audit_chain_head'::regclass)`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	// Fire the commit-time trigger now, to count its writes in this
	// transaction's statistics.
	if _, err := tx.Exec(ctx, `SET CONSTRAINTS audit_event_chain IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	var links, headWrites int64
	if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM audit_chain c JOIN audit_event e ON e.id = c.event_id
		WHERE e.action = 'test.bulk'), pg_stat_get_xact_tuples_updated('audit_chain_head'::regclass)`).Scan(&links, &headWrites); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if headWrites -= before; links != 5300 || headWrites != 1 {
		t.Fatalf("5,300 events: %d linked with %d writes of the head; want all with 1", links, headWrites)
	}
	if r := verify(t, s); !r.OK || r.Checked != 12+5300 {
		t.Fatalf("after the bulk write: %+v; want OK with %d links", r, 12+5300)
	}
}
