-- The open irregular ledger entries, for the lists and figures of what is
-- still to do (issue 11): an org dept's open entries among all it ever had
-- were a sequential scan (108 ms for the benchmark's busiest org dept at
-- 1M secondments, 0.6 ms with this index), and the ledger's irregular
-- filter reads the org dept's open entries first (postgres/ledger.go).
CREATE INDEX ledger_entry_orgdept_open_idx ON ledger_entry (org_dept_id, opened_on DESC, id DESC) WHERE closed_on IS NULL;
CREATE INDEX ledger_entry_responsible_open_idx ON ledger_entry (responsible_unit_id, opened_on DESC, id DESC)
    WHERE closed_on IS NULL;
