-- Issue 13, housekeeping: sign-in attempts and idempotency keys are deleted
-- once old (the hourly prune job); these indexes let it find them without
-- reading the tables whole. Sessions have theirs (sessions_expiry_idx).
CREATE INDEX sign_in_attempt_at_idx ON sign_in_attempt (at);
CREATE INDEX idempotency_key_created_idx ON idempotency_key (created_at);
