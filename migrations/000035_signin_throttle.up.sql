-- Issue 13: failed sign-ins slow down the pair (login, address) they come
-- from, instead of locking the account for everyone: logins follow
-- <unit>.<role>, so anyone could lock any colleague out. Keyed on the login
-- as typed, known or not, so the answer never tells whether it exists.
ALTER TABLE sign_in_attempt
    ADD COLUMN login text NOT NULL DEFAULT '',
    -- Refused while delayed, without the password being checked; these do
    -- not lengthen the delay (a colleague behind the same address who
    -- tries again is not punished for the attacker).
    ADD COLUMN throttled boolean NOT NULL DEFAULT false;
CREATE INDEX sign_in_attempt_login_idx ON sign_in_attempt (login, address, at);
