ALTER TABLE secondment DROP CONSTRAINT secondment_one_place;
-- btree_gist stays: dropping an extension another object may use is not
-- this migration's business.
