-- Issue 14: the inbox's 已办 (steps the user took), 我发起的 (requests the
-- user submitted) and 抄送我 (requests copied to the user), each one
-- bounded keyset scan, newest first.
CREATE INDEX decision_actor_idx ON decision (actor_user_id, at DESC, id DESC) WHERE actor_user_id IS NOT NULL;
CREATE INDEX secondment_submitted_by_idx ON secondment (submitted_by, created_at DESC, id DESC) WHERE submitted_by IS NOT NULL;
CREATE INDEX secondment_cc_user_at_idx ON secondment_cc (user_id, added_at DESC, secondment_id DESC);
DROP INDEX secondment_cc_user_idx;
