ALTER TABLE decision DROP COLUMN on_behalf_of_user_id;
