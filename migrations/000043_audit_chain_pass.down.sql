-- Back to one link per firing (migration 34's trigger).
CREATE OR REPLACE FUNCTION audit_chain_link() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp AS $$
DECLARE
    l  smallint := (txid_current() % 8)::smallint;
    h  audit_chain_head;
    s  bigint;
    at timestamptz;
    hs bytea;
BEGIN
    SELECT * INTO h FROM audit_chain_head WHERE lane = l FOR UPDATE;
    s := nextval('audit_chain_seq');
    at := clock_timestamp();
    hs := sha256(h.hash || audit_chain_content(s, l, h.seq, NEW, at));
    INSERT INTO audit_chain (seq, lane, prev_seq, event_id, recorded_at, hash) VALUES (s, l, h.seq, NEW.id, at, hs);
    UPDATE audit_chain_head SET seq = s, hash = hs WHERE lane = l;
    RETURN NULL;
END;
$$;

ALTER TABLE audit_event DROP COLUMN xact;
