-- Review steps left untouched are flagged to the supervising org dept
-- (issue 6): once per request and step.
CREATE TABLE escalation (
    secondment_id bigint NOT NULL REFERENCES secondment (id) ON DELETE RESTRICT,
    step          text NOT NULL,
    flagged_on    date NOT NULL,
    supervisor_id bigint REFERENCES unit (id) ON DELETE RESTRICT,  -- NULL: nobody above
    waited_days   integer NOT NULL CHECK (waited_days >= 0),
    PRIMARY KEY (secondment_id, step)
);

CREATE INDEX escalation_supervisor_idx ON escalation (supervisor_id);

ALTER TABLE sweep_run ADD COLUMN escalated integer NOT NULL DEFAULT 0;
