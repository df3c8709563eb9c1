-- Issue 12, R9: an exchange or attachment no programme arranged is judged
-- as a secondment, and its days count toward the person's later caps (R7).
-- A person's history is read from secondment_person_idx alone (an
-- index-only scan, migration 13): it now carries the programme too, nearly
-- always empty, so whether a term was formal is known without the heap.
DROP INDEX secondment_person_idx;
CREATE INDEX secondment_person_idx ON secondment (person_id)
    INCLUDE (id, state, kind, borrower_id, lender_id, start_date, end_date, previous_id, returned_on, recalled_on,
             number, created_at, programme);
