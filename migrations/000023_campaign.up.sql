-- Clean-up campaigns (清理整治, issue 11, S6): an org dept's campaign over
-- a filter of its ledger, and each secondee it found with the org dept's
-- decision (held to term end under R11, or exempt). Returned and
-- transferred-in come from the secondment's own state, not from here.
CREATE TABLE campaign (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_dept_id bigint NOT NULL REFERENCES unit (id) ON DELETE RESTRICT,
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    basis       text NOT NULL DEFAULT '',
    filter      text NOT NULL DEFAULT '',
    opened_on   date NOT NULL,
    closed_on   date,
    created_by  bigint REFERENCES app_user (id) ON DELETE RESTRICT,
    created_at  timestamptz NOT NULL,
    version     integer NOT NULL DEFAULT 1,
    CHECK (closed_on IS NULL OR closed_on >= opened_on)
);
CREATE INDEX campaign_orgdept_idx ON campaign (org_dept_id, opened_on DESC, id DESC);

CREATE TABLE campaign_member (
    campaign_id   bigint NOT NULL REFERENCES campaign (id) ON DELETE RESTRICT,
    secondment_id bigint NOT NULL REFERENCES secondment (id) ON DELETE RESTRICT,
    decision      text NOT NULL DEFAULT 'pending' CHECK (decision IN ('pending', 'held', 'exempt')),
    reason        text NOT NULL DEFAULT '',
    held_until    date,
    decided_by    bigint REFERENCES app_user (id) ON DELETE RESTRICT,
    decided_on    date,
    version       integer NOT NULL DEFAULT 1,
    PRIMARY KEY (campaign_id, secondment_id),
    CHECK ((decision = 'held') = (held_until IS NOT NULL))
);
CREATE INDEX campaign_member_secondment_idx ON campaign_member (secondment_id);
