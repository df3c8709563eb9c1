-- Issue 13: a trail nobody can rewrite unseen. Each audit event gets a link
-- in audit_chain: its place (seq), when the database recorded it, and a
-- SHA-256 over the previous link's hash and the event's canonical content.
-- Editing, deleting or back-dating an event, or inserting one behind the
-- trigger's back, breaks the chain where `secondment audit verify` and the
-- auditor's page look.
--
-- The link is written by a deferred constraint trigger, so at commit: the
-- head row is locked only from then until the commit ends, after every
-- other lock the transaction takes, which keeps concurrent steps from
-- deadlocking on it and keeps the serialised stretch short.

-- Eight lanes, not one chain: a link is written under its lane's head lock,
-- which is held until the commit has reached the disk, so one chain let
-- one audited transaction commit at a time (the approval step fell from
-- 538 to 305 a second). A transaction's events go into one lane (chosen by
-- its transaction ID), each link names the link before it in its lane,
-- and seq, from a sequence, is unique across lanes and grows within each.
-- Every event is still linked at its commit; the verifier walks each lane.

-- No event may commit unlinked between the backfill below and the
-- trigger's creation (an older replica during a rolling deploy).
LOCK TABLE audit_event IN SHARE ROW EXCLUSIVE MODE;

CREATE SEQUENCE audit_chain_seq;

CREATE TABLE audit_chain (
    seq         bigint PRIMARY KEY,
    lane        smallint NOT NULL CHECK (lane BETWEEN 0 AND 7),
    prev_seq    bigint NOT NULL,          -- the lane's link before this one; 0 for its first
    event_id    bigint NOT NULL UNIQUE,   -- no foreign key: a purge of old events keeps working links
    recorded_at timestamptz NOT NULL,     -- the database's clock, not the caller's
    hash        bytea NOT NULL CHECK (length(hash) = 32)
);
CREATE INDEX audit_chain_lane_idx ON audit_chain (lane, seq);

-- Each lane's newest link; and its anchor, the last link before the first
-- kept one (seq 0 and 32 zero bytes until a purge moves it).
CREATE TABLE audit_chain_head (
    lane smallint PRIMARY KEY CHECK (lane BETWEEN 0 AND 7),
    seq  bigint NOT NULL,
    hash bytea NOT NULL CHECK (length(hash) = 32),
    anchor_seq  bigint NOT NULL DEFAULT 0,
    anchor_hash bytea NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000'
);
INSERT INTO audit_chain_head (lane, seq, hash)
SELECT l, 0, '\x0000000000000000000000000000000000000000000000000000000000000000' FROM generate_series(0, 7) l;

-- The canonical content of a link. The verifier in internal/postgres
-- (auditchain.go) writes the same expression itself rather than calling
-- this function, so replacing the function cannot fool it. Timestamps are
-- whole microseconds since the epoch, independent of the session's zone.
CREATE FUNCTION audit_chain_content(seq bigint, lane smallint, prev_seq bigint, e audit_event, recorded_at timestamptz)
    RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT convert_to(jsonb_build_array(seq, lane, prev_seq, e.id, (extract(epoch FROM e.at) * 1000000)::bigint,
        e.actor_user_id, e.actor_name, e.action, e.object_type, e.object_id, e.unit_id, e.detail,
        e.request_id, (extract(epoch FROM recorded_at) * 1000000)::bigint)::text, 'UTF8')
$$;

-- SECURITY DEFINER: the application's role may not write the chain itself,
-- only through this trigger.
CREATE FUNCTION audit_chain_link() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp AS $$
DECLARE
    l  smallint := (txid_current() % 8)::smallint;
    h  audit_chain_head;
    s  bigint;
    at timestamptz;
    hs bytea;
BEGIN
    SELECT * INTO h FROM audit_chain_head WHERE lane = l FOR UPDATE;
    -- Under the lane's lock, so seq and recorded_at grow along the lane.
    s := nextval('audit_chain_seq');
    at := clock_timestamp();
    hs := sha256(h.hash || audit_chain_content(s, l, h.seq, NEW, at));
    INSERT INTO audit_chain (seq, lane, prev_seq, event_id, recorded_at, hash) VALUES (s, l, h.seq, NEW.id, at, hs);
    UPDATE audit_chain_head SET seq = s, hash = hs WHERE lane = l;
    RETURN NULL;
END;
$$;

-- Link the events already written, oldest first, in lane 0, as the trigger
-- would have.
DO $$
DECLARE
    e  audit_event;
    s  bigint;
    p  bigint := 0;
    hs bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
    at timestamptz;
BEGIN
    FOR e IN SELECT * FROM audit_event ORDER BY id LOOP
        s := nextval('audit_chain_seq');
        at := clock_timestamp();
        hs := sha256(hs || audit_chain_content(s, 0::smallint, p, e, at));
        INSERT INTO audit_chain (seq, lane, prev_seq, event_id, recorded_at, hash) VALUES (s, 0, p, e.id, at, hs);
        p := s;
    END LOOP;
    UPDATE audit_chain_head SET seq = p, hash = hs WHERE lane = 0;
END;
$$;

CREATE CONSTRAINT TRIGGER audit_event_chain AFTER INSERT ON audit_event
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_chain_link();

-- The chain is append-only like the trail (a purge, by the owner, lifts this
-- for its own transaction; see `secondment audit purge`).
CREATE TRIGGER audit_chain_no_update BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();

-- A retention purge (`secondment audit purge`, connected as the tables'
-- owner) deletes the oldest events with their links in one transaction
-- and moves the anchor; everything else stays refused. The application's
-- role is no owner and has no DELETE on these tables at all.
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('secondment.audit_purge', true) = 'on'
       AND pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE') THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- What the periodic verification found, for the auditor's page.
CREATE TABLE audit_verification (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    origin      text NOT NULL,            -- "job 12", "command line", a user's name
    checked     bigint NOT NULL,          -- links checked
    head_seq    bigint NOT NULL,          -- the newest link of all
    head_hash   bytea NOT NULL,
    heads       jsonb NOT NULL DEFAULT '[]', -- every lane's head: [{"seq": …, "hash": "hex"}]
    ok          boolean NOT NULL,
    broken_seq  bigint,                   -- the first broken link
    problem     text NOT NULL DEFAULT ''  -- a code: hash, gap, missing_event, unlinked_event, head, expected
);
CREATE INDEX audit_verification_started_idx ON audit_verification (started_at DESC);
