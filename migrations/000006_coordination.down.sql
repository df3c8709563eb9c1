ALTER TABLE notification_outbox DROP CONSTRAINT notification_outbox_recipient_user_id_fkey;
DROP TABLE secondment_urge;
DROP TABLE secondment_cc;
DROP TABLE secondment_handler;
