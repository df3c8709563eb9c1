-- Going down drops the registered stock (migrate down needs --yes: it
-- drops data): those rows cannot satisfy the chain's checks restored
-- below. Whatever refers to them goes first, whichever table it is in.
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT c.conrelid::regclass AS tbl, a.attname AS col
             FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
             WHERE c.contype = 'f' AND c.confrelid = 'secondment'::regclass AND c.conrelid <> 'secondment'::regclass LOOP
        EXECUTE format('DELETE FROM %s WHERE %I IN (SELECT id FROM secondment WHERE registered_on IS NOT NULL)', r.tbl, r.col);
    END LOOP;
END $$;
UPDATE secondment SET previous_id = NULL WHERE previous_id IN (SELECT id FROM secondment WHERE registered_on IS NOT NULL);
UPDATE secondment SET renewal_id = NULL WHERE renewal_id IN (SELECT id FROM secondment WHERE registered_on IS NOT NULL);
DELETE FROM secondment WHERE registered_on IS NOT NULL;

ALTER TABLE secondment_number_counter DROP CONSTRAINT secondment_number_counter_pkey;
DELETE FROM secondment_number_counter WHERE series = 'register';
ALTER TABLE secondment_number_counter DROP COLUMN series, ADD PRIMARY KEY (jurisdiction_id, year);

DROP INDEX secondment_registered_key;
ALTER TABLE secondment
    DROP CONSTRAINT secondment_fixed_check,
    DROP CONSTRAINT secondment_signoff_check,
    DROP CONSTRAINT secondment_started_check;
ALTER TABLE secondment
    ADD CHECK (state = 'draft' OR (jurisdiction_id IS NOT NULL AND org_dept_id IS NOT NULL
                                   AND policy_id IS NOT NULL AND submitted_on IS NOT NULL AND number IS NOT NULL)),
    ADD CHECK (state NOT IN ('approved', 'active', 'expired', 'overdue', 'return_recorded', 'returned', 'renewed',
                             'transfer_pending', 'transferred')
               OR (approved_on IS NOT NULL AND signoff_decision_id IS NOT NULL)),
    ADD CHECK (started_on IS NULL OR (approved_on IS NOT NULL AND started_on >= approved_on));
ALTER TABLE secondment DROP COLUMN registered_on, DROP COLUMN registered_by, DROP COLUMN approval_ref;
