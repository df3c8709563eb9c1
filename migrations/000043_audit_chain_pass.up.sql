-- A transaction's audit events are linked in one pass. Until now each
-- event's commit-time trigger took its lane's head, linked that one event
-- and rewrote the head: a transaction of n events rewrote one row n times,
-- and since those row versions are all its own and cannot be pruned, each
-- lookup walked all the earlier ones, so the cost grew with n² (a sweep of a
-- busy day, an import or a province's history: 1,300 events a second in
-- batches of 50,000, and 4.6 million in one transaction did not finish in
-- twenty minutes).
--
-- Now the first firing links every event of its transaction not linked
-- yet, in id order, from its own id on, and writes the head once; the
-- firings after it find their event linked and return. An event knows its
-- transaction by `xact`, the top-level transaction's ID even when a
-- savepoint wrote it (an import adds each new person in one), which xmin
-- is not. Each link is made as before (the same lane, content and hash, so
-- the verifier is unchanged), though a transaction's events are now linked
-- in id order rather than in the order their firings were queued; the
-- head is still taken at commit, after every other lock.
-- compat: additive

-- No rewrite of the trail: the column is added empty, and only new events
-- get the default. Events written before are all linked already.
ALTER TABLE audit_event ADD COLUMN xact xid8;
ALTER TABLE audit_event ALTER COLUMN xact SET DEFAULT pg_current_xact_id();

CREATE OR REPLACE FUNCTION audit_chain_link() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp AS $$
DECLARE
    l  smallint := (txid_current() % 8)::smallint;
    me xid8 := pg_current_xact_id();
    h  audit_chain_head;
    e  audit_event;
    s  bigint;
    p  bigint;
    hs bytea;
    at timestamptz;
BEGIN
    IF EXISTS (SELECT 1 FROM audit_chain WHERE event_id = NEW.id) THEN
        RETURN NULL; -- linked by an earlier firing's pass
    END IF;
    SELECT * INTO h FROM audit_chain_head WHERE lane = l FOR UPDATE;
    p := h.seq;
    hs := h.hash;
    -- Under the lane's lock, so seq and recorded_at grow along the lane.
    -- Another transaction's events in this range are either invisible
    -- (not committed) or linked at their own commit; xact leaves them out
    -- before the probe. NEW is linked whatever its xact says.
    FOR e IN SELECT a.* FROM audit_event a
             WHERE a.id >= NEW.id AND (a.id = NEW.id OR a.xact = me)
               AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.event_id = a.id)
             ORDER BY a.id LOOP
        s := nextval('audit_chain_seq');
        at := clock_timestamp();
        hs := sha256(hs || audit_chain_content(s, l, p, e, at));
        INSERT INTO audit_chain (seq, lane, prev_seq, event_id, recorded_at, hash) VALUES (s, l, p, e.id, at, hs);
        p := s;
    END LOOP;
    UPDATE audit_chain_head SET seq = p, hash = hs WHERE lane = l;
    RETURN NULL;
END;
$$;
