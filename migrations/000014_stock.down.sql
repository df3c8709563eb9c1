ALTER TABLE secondment_number_counter DROP CONSTRAINT secondment_number_counter_pkey;
DELETE FROM secondment_number_counter WHERE series = 'register';
ALTER TABLE secondment_number_counter DROP COLUMN series, ADD PRIMARY KEY (jurisdiction_id, year);

DROP INDEX secondment_registered_key;
ALTER TABLE secondment
    DROP CONSTRAINT secondment_fixed_check,
    DROP CONSTRAINT secondment_signoff_check,
    DROP CONSTRAINT secondment_started_check;
-- Registered rows cannot satisfy the chain's checks: going down refuses
-- (the checks below fail) rather than deleting records.
ALTER TABLE secondment
    ADD CHECK (state = 'draft' OR (jurisdiction_id IS NOT NULL AND org_dept_id IS NOT NULL
                                   AND policy_id IS NOT NULL AND submitted_on IS NOT NULL AND number IS NOT NULL)),
    ADD CHECK (state NOT IN ('approved', 'active', 'expired', 'overdue', 'return_recorded', 'returned', 'renewed',
                             'transfer_pending', 'transferred')
               OR (approved_on IS NOT NULL AND signoff_decision_id IS NOT NULL)),
    ADD CHECK (started_on IS NULL OR (approved_on IS NOT NULL AND started_on >= approved_on));
ALTER TABLE secondment DROP COLUMN registered_on, DROP COLUMN registered_by, DROP COLUMN approval_ref;
