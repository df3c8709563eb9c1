-- People kept by the org dept (issue 10): who holds a leadership post
-- (领导职务; an org dept's own leaders are no clerk's candidates), and the
-- people list paged by code within units.
ALTER TABLE person ADD COLUMN leader boolean NOT NULL DEFAULT false;
CREATE INDEX person_unit_code_idx ON person (home_unit_id, code);
DROP INDEX person_home_unit_id_idx;
