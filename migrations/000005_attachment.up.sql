-- Scanned letters (the lending unit's written opinion) kept with their
-- request, in PostgreSQL like everything else.
CREATE TABLE attachment (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    secondment_id bigint NOT NULL REFERENCES secondment (id) ON DELETE RESTRICT,
    decision_id   bigint REFERENCES decision (id) ON DELETE RESTRICT,
    name          text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    content_type  text NOT NULL CHECK (content_type IN ('application/pdf', 'image/jpeg', 'image/png')),
    size          integer NOT NULL CHECK (size BETWEEN 1 AND 10485760),
    data          bytea NOT NULL,
    sha256        bytea NOT NULL CHECK (length(sha256) = 32),
    uploaded_by   bigint REFERENCES app_user (id) ON DELETE RESTRICT,
    uploaded_at   timestamptz NOT NULL,
    CHECK (length(data) = size)
);

CREATE INDEX attachment_secondment_idx ON attachment (secondment_id);
