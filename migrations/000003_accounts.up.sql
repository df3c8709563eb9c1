-- Accounts (issue 4): users of a unit with roles, sign-in policy, sign-in
-- attempts for lockout and rate limiting, sessions (scs), API tokens.

CREATE TABLE app_user (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login                text NOT NULL UNIQUE CHECK (login ~ '^[a-z0-9][a-z0-9._-]{2,63}$'),
    name                 text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 50),
    unit_id              bigint NOT NULL REFERENCES unit (id) ON DELETE RESTRICT,
    password_hash        text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    password_changed_at  timestamptz NOT NULL,
    -- Set by an administrator's reset or a one-time password: the user
    -- must choose a new password before doing anything else.
    must_change_password boolean NOT NULL DEFAULT false,
    disabled_at          timestamptz,
    locked_until         timestamptz,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);

CREATE INDEX app_user_unit_idx ON app_user (unit_id);

CREATE TABLE user_role (
    user_id bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    role    text NOT NULL CHECK (role IN ('borrower', 'lender', 'orgdept', 'registrar', 'sysadmin', 'secadmin', 'auditor')),
    PRIMARY KEY (user_id, role)
);

-- Separation of duties (三权分立): an administrator role is held alone. The
-- user row is locked first, so two concurrent grants cannot both pass.
CREATE FUNCTION user_role_separation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM app_user WHERE id = NEW.user_id FOR UPDATE;
    IF EXISTS (SELECT 1 FROM user_role r
               WHERE r.user_id = NEW.user_id AND r.role <> NEW.role
                 AND (r.role IN ('sysadmin', 'secadmin', 'auditor')
                      OR NEW.role IN ('sysadmin', 'secadmin', 'auditor'))) THEN
        RAISE EXCEPTION 'an administrator role is held alone (separation of duties)'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER user_role_separation BEFORE INSERT OR UPDATE ON user_role
    FOR EACH ROW EXECUTE FUNCTION user_role_separation();

-- The sign-in policy, set by the security administrator. One row.
CREATE TABLE security_setting (
    id                      integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    lockout_threshold       integer NOT NULL DEFAULT 5 CHECK (lockout_threshold BETWEEN 3 AND 20),
    lockout_window_minutes  integer NOT NULL DEFAULT 15 CHECK (lockout_window_minutes BETWEEN 1 AND 1440),
    lockout_minutes         integer NOT NULL DEFAULT 15 CHECK (lockout_minutes BETWEEN 1 AND 1440),
    rate_limit_attempts     integer NOT NULL DEFAULT 20 CHECK (rate_limit_attempts BETWEEN 5 AND 1000),
    rate_limit_minutes      integer NOT NULL DEFAULT 5 CHECK (rate_limit_minutes BETWEEN 1 AND 1440),
    idle_timeout_minutes    integer NOT NULL DEFAULT 30 CHECK (idle_timeout_minutes BETWEEN 5 AND 480),
    absolute_timeout_hours  integer NOT NULL DEFAULT 12 CHECK (absolute_timeout_hours BETWEEN 1 AND 24),
    password_min_length     integer NOT NULL DEFAULT 10 CHECK (password_min_length BETWEEN 10 AND 64),
    password_composition    boolean NOT NULL DEFAULT false,
    password_max_age_days   integer NOT NULL DEFAULT 0 CHECK (password_max_age_days BETWEEN 0 AND 3650),
    updated_at              timestamptz NOT NULL DEFAULT now()
);

INSERT INTO security_setting (id) VALUES (1);

-- Every sign-in attempt: failures per account drive the lockout, attempts
-- per address the rate limit.
CREATE TABLE sign_in_attempt (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL,
    address text NOT NULL,
    user_id bigint REFERENCES app_user (id) ON DELETE CASCADE,
    success boolean NOT NULL
);

CREATE INDEX sign_in_attempt_user_idx ON sign_in_attempt (user_id, at) WHERE NOT success;
CREATE INDEX sign_in_attempt_address_idx ON sign_in_attempt (address, at);

-- Sessions of github.com/alexedwards/scs/pgxstore (its schema).
CREATE TABLE sessions (
    token  text PRIMARY KEY,
    data   bytea NOT NULL,
    expiry timestamptz NOT NULL
);

CREATE INDEX sessions_expiry_idx ON sessions (expiry);

-- Personal API tokens: only a hash is stored; the token is shown once.
CREATE TABLE api_token (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 50),
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE INDEX api_token_user_idx ON api_token (user_id);
