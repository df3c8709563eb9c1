ALTER TABLE secondment DROP COLUMN key_post;
