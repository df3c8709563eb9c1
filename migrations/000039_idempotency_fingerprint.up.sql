-- Issue 13: a reused Idempotency-Key with a different body returned the
-- first draft silently. The key now remembers a fingerprint of what it
-- created (SHA-256 of the input); a different body under it is a 422, as
-- the IETF draft on the Idempotency-Key header says. Keys from before
-- have none and keep answering as they did.
ALTER TABLE idempotency_key ADD COLUMN fingerprint bytea;
