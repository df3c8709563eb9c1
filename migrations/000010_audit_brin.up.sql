-- The audit trail is append-only and written in time order, so a BRIN
-- index serves date filters at a fraction of a B-tree's upkeep on every
-- insert (the sweep writes one event per changed request); listing runs
-- in insertion order on the primary key.
DROP INDEX audit_event_at_idx;
CREATE INDEX audit_event_at_brin ON audit_event USING brin (at);
