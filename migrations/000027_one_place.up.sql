-- Issue 12: one person is never in two places at once. The domain refuses
-- an overlap at submission and sign-off (secondment.Overlapping); this
-- constraint makes the database guarantee it for the terms that hold a
-- person, whatever path wrote them (a stock import, a race the locks did
-- not foresee, a hand-edited row).
--
-- The range is the one secondment.Overlapping uses: a signed-off or running
-- term up to its end, or an earlier return or recall on record; a term
-- expired, overdue or in transfer-in with no return on record still holds
-- the person, with no end. A renewal starts the day after its predecessor
-- ends and the predecessor is handed over (renewed) before the renewal
-- starts, so a chain never conflicts with itself.
--
-- btree_gist is a trusted extension (PostgreSQL 13+): the database owner
-- may create it without being superuser.
CREATE EXTENSION IF NOT EXISTS btree_gist;

ALTER TABLE secondment ADD CONSTRAINT secondment_one_place EXCLUDE USING gist (
    person_id WITH =,
    daterange(start_date,
        CASE WHEN state IN ('approved', 'active') OR returned_on IS NOT NULL
             THEN GREATEST(start_date, LEAST(end_date, recalled_on, returned_on)) END, '[]') WITH &&)
    WHERE (state IN ('approved', 'active', 'expired', 'overdue', 'transfer_pending'));
