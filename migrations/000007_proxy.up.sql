-- Out-of-office proxies (代理): while a user is away, a colleague of the
-- same unit acts in their roles; every step then reads "X for Y".
CREATE TABLE proxy (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    principal_id bigint NOT NULL REFERENCES app_user (id) ON DELETE RESTRICT,
    proxy_id     bigint NOT NULL REFERENCES app_user (id) ON DELETE RESTRICT,
    starts_on    date NOT NULL,
    ends_on      date NOT NULL,
    created_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    CHECK (principal_id <> proxy_id),
    CHECK (ends_on >= starts_on),
    CHECK (ends_on - starts_on <= 366)
);

CREATE INDEX proxy_proxy_idx ON proxy (proxy_id, starts_on, ends_on) WHERE revoked_at IS NULL;
CREATE INDEX proxy_principal_idx ON proxy (principal_id);
