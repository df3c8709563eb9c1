-- The irregular ledger's rectification (issue 11, S4): each entry gets a
-- status, a responsible person, an escalation when its deadline passes,
-- the org dept's closing opinion (销号) and evidence. org_dept_id is the
-- secondment's, copied so that an org dept's entries are read from an
-- index of their own rather than through a million secondments.
ALTER TABLE ledger_entry
    ADD COLUMN org_dept_id        bigint REFERENCES unit (id) ON DELETE RESTRICT,
    ADD COLUMN manual             boolean NOT NULL DEFAULT false,
    ADD COLUMN status             text NOT NULL DEFAULT 'rectifying'
        CHECK (status IN ('rectifying', 'returned', 'transfer_pending', 'transferred', 'term_end', 'closed')),
    ADD COLUMN responsible_person text NOT NULL DEFAULT '',
    ADD COLUMN escalated_on       date,
    ADD COLUMN escalated_to       bigint REFERENCES unit (id) ON DELETE RESTRICT,
    ADD COLUMN close_opinion      text NOT NULL DEFAULT '',
    ADD COLUMN version            integer NOT NULL DEFAULT 1,
    ADD COLUMN updated_at         timestamptz;

UPDATE ledger_entry le SET org_dept_id = s.org_dept_id FROM secondment s WHERE s.id = le.secondment_id;
-- Entries closed before there were statuses were closed at registration,
-- the person being back already: nothing was left to rectify.
UPDATE ledger_entry SET status = 'closed' WHERE closed_on IS NOT NULL;

ALTER TABLE ledger_entry
    ALTER COLUMN org_dept_id SET NOT NULL,
    ADD CONSTRAINT ledger_entry_closed_status CHECK ((status = 'closed') = (closed_on IS NOT NULL));

-- An org dept's entries, newest first, all or of one status; those of a
-- responsible unit; those escalated to a supervising org dept; and the
-- open ones by deadline (past-deadline lists and the sweep's escalation).
CREATE INDEX ledger_entry_orgdept_idx ON ledger_entry (org_dept_id, opened_on DESC, id DESC);
CREATE INDEX ledger_entry_orgdept_status_idx ON ledger_entry (org_dept_id, status, opened_on DESC, id DESC);
CREATE INDEX ledger_entry_responsible_idx ON ledger_entry (responsible_unit_id, opened_on DESC, id DESC);
CREATE INDEX ledger_entry_escalated_idx ON ledger_entry (escalated_to, opened_on DESC, id DESC)
    WHERE escalated_to IS NOT NULL;
CREATE INDEX ledger_entry_deadline_idx ON ledger_entry (org_dept_id, deadline, id)
    WHERE closed_on IS NULL AND deadline IS NOT NULL;
CREATE INDEX ledger_entry_due_idx ON ledger_entry (deadline)
    WHERE closed_on IS NULL AND escalated_on IS NULL AND deadline IS NOT NULL;

-- Evidence of a rectification (整改佐证材料): files the responsible unit
-- or the org dept attach.
CREATE TABLE ledger_evidence (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entry_id     bigint NOT NULL REFERENCES ledger_entry (id) ON DELETE RESTRICT,
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
    content_type text NOT NULL,
    size         integer NOT NULL CHECK (size > 0),
    content      bytea NOT NULL,
    uploaded_by  bigint NOT NULL REFERENCES app_user (id) ON DELETE RESTRICT,
    uploaded_at  timestamptz NOT NULL
);
CREATE INDEX ledger_evidence_entry_idx ON ledger_evidence (entry_id, id);

-- A sweep's count of rectifications it flagged past their deadline.
ALTER TABLE sweep_run ADD COLUMN rect_escalated integer NOT NULL DEFAULT 0;
