-- Issue 13: API tokens carry a scope (read: GET only; act: every call the
-- owner may make) and an expiry. Tokens made before had neither; they keep
-- acting and end 90 days after they were made.
ALTER TABLE api_token
    ADD COLUMN scope text NOT NULL DEFAULT 'act' CHECK (scope IN ('read', 'act')),
    ADD COLUMN expires_at timestamptz;
UPDATE api_token SET expires_at = created_at + interval '90 days';
ALTER TABLE api_token ALTER COLUMN expires_at SET NOT NULL,
    ADD CONSTRAINT api_token_expiry CHECK (expires_at > created_at);
