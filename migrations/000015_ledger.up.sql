-- The ledger (台账, issue 10) lists a party's secondments newest start
-- first, 50 at a time by keyset: one index range per party column.
CREATE INDEX secondment_orgdept_start_idx ON secondment (org_dept_id, start_date DESC, id DESC);
CREATE INDEX secondment_borrower_start_idx ON secondment (borrower_id, start_date DESC, id DESC);
CREATE INDEX secondment_lender_start_idx ON secondment (lender_id, start_date DESC, id DESC);
