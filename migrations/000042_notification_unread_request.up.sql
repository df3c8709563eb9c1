-- Issue 14: a step marks what its unit was told about the request as read
-- (migration-free logic in the step's statement); this index finds those
-- few unread rows by request, not by scanning a busy unit's unread ones.
-- CONCURRENTLY, alone in its file: the outbox takes every step's inserts.
-- If it fails half-way it leaves an invalid index, which IF NOT EXISTS
-- would keep: drop it by hand before retrying.
-- compat: additive
CREATE INDEX CONCURRENTLY IF NOT EXISTS notification_outbox_unread_request_idx
    ON notification_outbox (secondment_id) WHERE read_at IS NULL;
