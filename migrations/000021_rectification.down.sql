-- Indexes on columns older than this migration go with it explicitly.
DROP INDEX IF EXISTS ledger_entry_responsible_idx;
ALTER TABLE sweep_run DROP COLUMN rect_escalated;
DROP TABLE ledger_evidence;
ALTER TABLE ledger_entry
    DROP CONSTRAINT ledger_entry_closed_status,
    DROP COLUMN org_dept_id,
    DROP COLUMN manual,
    DROP COLUMN status,
    DROP COLUMN responsible_person,
    DROP COLUMN escalated_on,
    DROP COLUMN escalated_to,
    DROP COLUMN close_opinion,
    DROP COLUMN version,
    DROP COLUMN updated_at;
