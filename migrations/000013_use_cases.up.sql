-- Issue 9: what the use-case layer reads on every step, made cheap.

-- Units and policies change rarely; every process caches them and checks
-- this one number (read in the same statement as the request a step loads)
-- to know when its copy is stale. A statement trigger bumps it on any
-- change, in the changing transaction: a reader that sees the new number
-- also sees the change.
CREATE TABLE catalog_version (
    id      integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    version bigint NOT NULL CHECK (version >= 1)
);
INSERT INTO catalog_version (id, version) VALUES (1, 1);

CREATE FUNCTION catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE catalog_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER unit_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON unit
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
CREATE TRIGGER policy_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON policy
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();

-- R14 counts the people of a lending unit away now: only the rows of people
-- away are in this index, so the count stays as small as the unit's load,
-- whatever its history. The states are secondment.State.Away (a test checks).
CREATE INDEX secondment_away_idx ON secondment (lender_id, person_id)
    WHERE state IN ('active', 'expired', 'overdue', 'transfer_pending');

-- Inboxes are pages in (created_at, id) order per party: each party's list
-- of each state is read from an index in that order, so a page reads its
-- 50 rows whatever the party's total (the list of all states is a union of
-- one bounded scan per state). Every index here costs every step a write:
-- the list of all requests newest first across parties is not needed, so
-- its index goes.
DROP INDEX secondment_borrower_state_idx;
DROP INDEX secondment_lender_state_idx;
DROP INDEX secondment_orgdept_state_idx;
DROP INDEX secondment_created_idx;
CREATE INDEX secondment_borrower_state_idx ON secondment (borrower_id, state, created_at DESC, id DESC);
CREATE INDEX secondment_lender_state_idx ON secondment (lender_id, state, created_at DESC, id DESC);
CREATE INDEX secondment_orgdept_state_idx ON secondment (org_dept_id, state, created_at DESC, id DESC);

-- A person's history (what R6 and R7 weigh, and the request page lists) is
-- read from the index alone: a person's twenty requests lie on twenty heap
-- pages, their index entries on one.
DROP INDEX secondment_person_idx;
CREATE INDEX secondment_person_idx ON secondment (person_id)
    INCLUDE (id, state, kind, borrower_id, lender_id, start_date, end_date, previous_id, returned_on, recalled_on,
             number, created_at);

-- Most requests renew nothing: only those that do are in the index of
-- renewals, and a step on any other writes no entry to it.
DROP INDEX secondment_previous_idx;
CREATE INDEX secondment_previous_idx ON secondment (previous_id) WHERE previous_id IS NOT NULL;

-- The header's unread count reads only unread rows.
CREATE INDEX notification_outbox_unread_idx ON notification_outbox (recipient_unit_id, recipient_role)
    WHERE read_at IS NULL;
