DROP INDEX idempotency_key_created_idx;
DROP INDEX sign_in_attempt_at_idx;
