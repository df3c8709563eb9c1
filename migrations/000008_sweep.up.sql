-- Terms over time (issue 6): the periodic sweep's record, the reminders it
-- sent (each once), and the irregular ledger (台账) it opens for overdue
-- secondments (R10). River's own tables are created by its migrator at
-- start (internal/jobs), not here.

CREATE TABLE sweep_run (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    day         date NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    renewed     integer NOT NULL DEFAULT 0,
    expired     integer NOT NULL DEFAULT 0,
    overdue     integer NOT NULL DEFAULT 0,
    reminders   integer NOT NULL DEFAULT 0,
    origin      text NOT NULL DEFAULT '',  -- job ID or "command line"
    CHECK (finished_at >= started_at)
);

CREATE INDEX sweep_run_started_idx ON sweep_run (started_at DESC);

-- A reminder of a kind for a term's end date is sent once: the key makes a
-- second sweep on the same day, or a second worker, send nothing.
CREATE TABLE reminder_sent (
    secondment_id bigint NOT NULL REFERENCES secondment (id) ON DELETE RESTRICT,
    kind          text NOT NULL CHECK (kind ~ '^(before_[0-9]+|apply_by)$'),
    end_date      date NOT NULL,
    sent_at       timestamptz NOT NULL,
    PRIMARY KEY (secondment_id, kind, end_date)
);

-- The irregular ledger: one entry per request and broken rule, opened by
-- the sweep (R10 overdue) or by a clean-up, with its rectification.
CREATE TABLE ledger_entry (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    secondment_id       bigint NOT NULL REFERENCES secondment (id) ON DELETE RESTRICT,
    rule                text NOT NULL CHECK (rule ~ '^R[0-9]+$'),
    opened_on           date NOT NULL,
    detail              text NOT NULL DEFAULT '',
    target_task         text NOT NULL DEFAULT '',
    measures            text NOT NULL DEFAULT '',
    responsible_unit_id bigint REFERENCES unit (id) ON DELETE RESTRICT,
    deadline            date,
    closed_on           date,
    created_at          timestamptz NOT NULL,
    UNIQUE (secondment_id, rule),
    CHECK (closed_on IS NULL OR closed_on >= opened_on)
);
