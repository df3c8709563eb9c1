ALTER TABLE app_user DROP COLUMN person_id;
