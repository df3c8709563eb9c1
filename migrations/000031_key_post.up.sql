-- Issue 12, R16: the borrowing unit declares whether the post a secondee is
-- borrowed for is a key or classified post (关键岗位、涉密岗位); a policy
-- may exclude such posts, save by an approved exception.
ALTER TABLE secondment ADD COLUMN key_post boolean NOT NULL DEFAULT false;
