-- The store of secondment requests (issue 5): what the use cases need beyond
-- the domain's schema of 000002.

-- 借调〔YYYY〕NNNN counts per jurisdiction and year, so every jurisdiction
-- starts at 0001: the number is unique within its jurisdiction, not globally
-- as 000002 had it.
ALTER TABLE secondment DROP CONSTRAINT secondment_number_key;
ALTER TABLE secondment ADD CONSTRAINT secondment_jurisdiction_number_key UNIQUE (jurisdiction_id, number);

-- The last number given per jurisdiction and year of the submission day.
-- Submission takes it with INSERT … ON CONFLICT DO UPDATE … RETURNING, whose
-- row lock makes concurrent submissions wait for each other; a submission
-- that rolls back gives its number back, so the numbers have no gaps.
CREATE TABLE secondment_number_counter (
    jurisdiction_id bigint NOT NULL REFERENCES unit (id) ON DELETE RESTRICT,
    year            integer NOT NULL CHECK (year BETWEEN 1900 AND 9999),
    last_value      integer NOT NULL CHECK (last_value >= 1),
    PRIMARY KEY (jurisdiction_id, year)
);

ALTER TABLE secondment
    -- Edited after it was sent back: a resubmission asks the lender again
    -- (Input.Changed). Cleared by every transition.
    ADD COLUMN changed_since_sent_back boolean NOT NULL DEFAULT false,
    -- The transfer-in applied for fills a leadership post (R12 post quota).
    ADD COLUMN transfer_leadership boolean NOT NULL DEFAULT false,
    ADD CHECK (NOT changed_since_sent_back OR state = 'sent_back');

CREATE INDEX secondment_created_idx ON secondment (created_at DESC, id DESC);

-- A create is idempotent per user and key: a double-clicked form submits
-- the same key twice and gets the same draft.
CREATE TABLE idempotency_key (
    user_id       bigint NOT NULL,
    key           text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 200),
    secondment_id bigint NOT NULL REFERENCES secondment (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- Notifications are written in the transaction of the step that causes them
-- (a transactional outbox) and delivered by a worker; a failed delivery is
-- retried at next_attempt_at, never dropped. read_at is the in-app badge.
CREATE TABLE notification_outbox (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient_role    text NOT NULL CHECK (recipient_role IN ('borrower', 'lender', 'orgdept', 'registrar')),
    recipient_unit_id bigint NOT NULL REFERENCES unit (id) ON DELETE RESTRICT,
    recipient_user_id bigint,  -- NULL: every holder of the role in the unit
    secondment_id     bigint REFERENCES secondment (id) ON DELETE RESTRICT,
    message_id        text NOT NULL CHECK (message_id <> ''),
    message_data      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(message_data) = 'object'),
    created_at        timestamptz NOT NULL,
    delivered_at      timestamptz,
    read_at           timestamptz,
    attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at   timestamptz NOT NULL,
    last_error        text NOT NULL DEFAULT ''
);

CREATE INDEX notification_outbox_due_idx ON notification_outbox (next_attempt_at, id) WHERE delivered_at IS NULL;
CREATE INDEX notification_outbox_recipient_idx ON notification_outbox (recipient_unit_id, recipient_role, created_at DESC);
