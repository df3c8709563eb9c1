DROP INDEX secondment_import_idx;
ALTER TABLE secondment DROP COLUMN import_id;
