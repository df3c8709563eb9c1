-- The ledger reads each state of a party as its own bounded scan (as the
-- inboxes do), so its index leads with the state: (party, state, start,
-- id). The indexes of 000015 without the state had to filter the states
-- out row by row (2,308 rows read for a page of 51 active ones at 1M).
DROP INDEX secondment_orgdept_start_idx;
DROP INDEX secondment_borrower_start_idx;
DROP INDEX secondment_lender_start_idx;
CREATE INDEX secondment_orgdept_state_start_idx ON secondment (org_dept_id, state, start_date DESC, id DESC);
CREATE INDEX secondment_borrower_state_start_idx ON secondment (borrower_id, state, start_date DESC, id DESC);
CREATE INDEX secondment_lender_state_start_idx ON secondment (lender_id, state, start_date DESC, id DESC);
