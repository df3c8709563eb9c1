-- Issue 13, separation of duties: an account may be linked to the person
-- record of whoever uses it, so that nobody files or decides a request
-- about themselves. The link is optional (administrators, accounts of
-- people not on the register) and set by the system administrator.
ALTER TABLE app_user ADD COLUMN person_id bigint REFERENCES person (id) ON DELETE SET NULL;
CREATE INDEX app_user_person_idx ON app_user (person_id) WHERE person_id IS NOT NULL;
