CREATE INDEX secondment_cc_user_idx ON secondment_cc (user_id);
DROP INDEX secondment_cc_user_at_idx;
DROP INDEX secondment_submitted_by_idx;
DROP INDEX decision_actor_idx;
