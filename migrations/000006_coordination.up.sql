-- Working together on a request (issue 5): handing a pending step to a
-- colleague (转交), copying someone in read-only (抄送), urging a pending
-- step (催办).

-- Who handles a step: set when a step is handed to a colleague of the same
-- unit and role. Keyed by the state, so it lapses when the request moves on.
CREATE TABLE secondment_handler (
    secondment_id bigint NOT NULL REFERENCES secondment (id) ON DELETE RESTRICT,
    step          text NOT NULL,
    user_id       bigint NOT NULL REFERENCES app_user (id) ON DELETE RESTRICT,
    assigned_by   bigint NOT NULL REFERENCES app_user (id) ON DELETE RESTRICT,
    assigned_at   timestamptz NOT NULL,
    PRIMARY KEY (secondment_id, step)
);

CREATE TABLE secondment_cc (
    secondment_id bigint NOT NULL REFERENCES secondment (id) ON DELETE RESTRICT,
    user_id       bigint NOT NULL REFERENCES app_user (id) ON DELETE RESTRICT,
    added_by      bigint NOT NULL REFERENCES app_user (id) ON DELETE RESTRICT,
    added_at      timestamptz NOT NULL,
    PRIMARY KEY (secondment_id, user_id)
);

CREATE INDEX secondment_cc_user_idx ON secondment_cc (user_id);

CREATE TABLE secondment_urge (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    secondment_id bigint NOT NULL REFERENCES secondment (id) ON DELETE RESTRICT,
    user_id       bigint NOT NULL REFERENCES app_user (id) ON DELETE RESTRICT,
    step          text NOT NULL,
    at            timestamptz NOT NULL
);

CREATE INDEX secondment_urge_idx ON secondment_urge (secondment_id, user_id, at);

-- A notification may be for one user (a copy, a handed-over step).
ALTER TABLE notification_outbox ADD FOREIGN KEY (recipient_user_id) REFERENCES app_user (id) ON DELETE RESTRICT;
