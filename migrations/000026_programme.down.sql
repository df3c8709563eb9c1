ALTER TABLE secondment DROP COLUMN programme;
