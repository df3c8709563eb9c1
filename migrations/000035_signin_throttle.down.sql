DROP INDEX sign_in_attempt_login_idx;
ALTER TABLE sign_in_attempt DROP COLUMN login, DROP COLUMN throttled;
