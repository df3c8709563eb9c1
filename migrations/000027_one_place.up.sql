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

-- A database that already holds two terms of one person over the same
-- days (stock imported before this check) cannot take the constraint:
-- the upgrade stops here, naming them, and changes nothing. Resolve them
-- first (record the return of the one that ended) and run it again.
DO $$
DECLARE
    clash text;
BEGIN
    SELECT string_agg(format('%s / %s (person %s)', coalesce(a.number, a.id::text), coalesce(b.number, b.id::text), a.person_id), '; ')
    INTO clash
    FROM (SELECT * FROM secondment a
          WHERE state IN ('approved', 'active', 'expired', 'overdue', 'transfer_pending')) a
    JOIN secondment b ON b.person_id = a.person_id AND b.id > a.id
        AND b.state IN ('approved', 'active', 'expired', 'overdue', 'transfer_pending')
        AND daterange(a.start_date, CASE WHEN a.state IN ('approved', 'active') OR a.returned_on IS NOT NULL
                THEN GREATEST(a.start_date, LEAST(a.end_date, a.recalled_on, a.returned_on)) END, '[]')
         && daterange(b.start_date, CASE WHEN b.state IN ('approved', 'active') OR b.returned_on IS NOT NULL
                THEN GREATEST(b.start_date, LEAST(b.end_date, b.recalled_on, b.returned_on)) END, '[]');
    IF clash IS NOT NULL THEN
        RAISE EXCEPTION 'one person, two places: these terms overlap and must be resolved before this upgrade: %', clash
            USING HINT = 'Record the return of the term that ended (or withdraw the one never taken up), then migrate again.';
    END IF;
END
$$;

ALTER TABLE secondment ADD CONSTRAINT secondment_one_place EXCLUDE USING gist (
    person_id WITH =,
    daterange(start_date,
        CASE WHEN state IN ('approved', 'active') OR returned_on IS NOT NULL
             THEN GREATEST(start_date, LEAST(end_date, recalled_on, returned_on)) END, '[]') WITH &&)
    WHERE (state IN ('approved', 'active', 'expired', 'overdue', 'transfer_pending'));
