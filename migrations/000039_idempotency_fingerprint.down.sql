ALTER TABLE idempotency_key DROP COLUMN fingerprint;
