CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
DROP TABLE audit_verification;
DROP TRIGGER audit_event_chain ON audit_event;
DROP FUNCTION audit_chain_link();
DROP FUNCTION audit_chain_content(bigint, smallint, bigint, audit_event, timestamptz);
DROP TABLE audit_chain_head;
DROP TABLE audit_chain;
DROP SEQUENCE audit_chain_seq;
