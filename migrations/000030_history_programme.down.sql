DROP INDEX secondment_person_idx;
CREATE INDEX secondment_person_idx ON secondment (person_id)
    INCLUDE (id, state, kind, borrower_id, lender_id, start_date, end_date, previous_id, returned_on, recalled_on,
             number, created_at);
