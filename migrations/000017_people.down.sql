CREATE INDEX person_home_unit_id_idx ON person (home_unit_id);
DROP INDEX person_unit_code_idx;
ALTER TABLE person DROP COLUMN leader;
