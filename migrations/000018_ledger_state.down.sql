DROP INDEX secondment_orgdept_state_start_idx;
DROP INDEX secondment_borrower_state_start_idx;
DROP INDEX secondment_lender_state_start_idx;
CREATE INDEX secondment_orgdept_start_idx ON secondment (org_dept_id, start_date DESC, id DESC);
CREATE INDEX secondment_borrower_start_idx ON secondment (borrower_id, start_date DESC, id DESC);
CREATE INDEX secondment_lender_start_idx ON secondment (lender_id, start_date DESC, id DESC);
