-- Issue 11: a clean-up campaign over an import. Each registered secondment
-- remembers the import file it came from, so the ledger can list one
-- import's rows and the org dept can open a campaign over them. The index
-- holds registered rows of imports only, in the ledger's order.
ALTER TABLE secondment ADD COLUMN import_id bigint REFERENCES stock_import (id) ON DELETE SET NULL;
CREATE INDEX secondment_import_idx ON secondment (import_id, start_date DESC, id DESC) WHERE import_id IS NOT NULL;
