DROP TABLE notification_outbox;
DROP TABLE idempotency_key;
DROP INDEX secondment_created_idx;
ALTER TABLE secondment DROP COLUMN transfer_leadership;
ALTER TABLE secondment DROP COLUMN changed_since_sent_back;
DROP TABLE secondment_number_counter;
-- Fails when two jurisdictions share a number, as they may under 000004.
ALTER TABLE secondment DROP CONSTRAINT secondment_jurisdiction_number_key;
ALTER TABLE secondment ADD CONSTRAINT secondment_number_key UNIQUE (number);
