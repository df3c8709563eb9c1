-- Issue 15: rolling back a release without restoring a backup. A binary
-- used to run only on exactly its own schema version, so the previous
-- image refused the schema the next release had migrated. This row says
-- which binaries still work on the schema as it stands: those built with
-- at least oldest_binary migrations. Every later migration says which
-- kind it is: an additive one (a new table, column with a default, index,
-- constraint the old code satisfies) carries a line "-- compat: additive"
-- and leaves the row; one that drops, renames or retypes what an older
-- binary reads sets oldest_binary to its own version
-- (TestMigrationsDeclareWhatTheyBreak). So the previous release keeps
-- serving after a forward migration, and rolling back is redeploying the
-- previous image.
CREATE TABLE schema_compat (
    only_row      boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    oldest_binary integer NOT NULL CHECK (oldest_binary > 0)
);
-- Binaries before this one do not read the row: they want their own
-- version exactly. The guarantee starts with the binaries that do.
INSERT INTO schema_compat (oldest_binary) VALUES (41);
