DROP INDEX audit_event_at_brin;
CREATE INDEX audit_event_at_idx ON audit_event (at);
