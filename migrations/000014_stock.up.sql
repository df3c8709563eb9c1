-- The stock (issue 10): secondments that began before the service are
-- registered (登记存量) as they stand, not pushed through a chain that never
-- happened. A registered row has no submission and no sign-off decision;
-- it says when and by whom it was registered and which approval document,
-- if any, the record shows. Its broken rules go into the ledger.

ALTER TABLE secondment
    ADD COLUMN registered_on date,
    ADD COLUMN registered_by bigint,
    -- 审批文号 of the approval the record shows; '' when there is none.
    ADD COLUMN approval_ref text NOT NULL DEFAULT '' CHECK (char_length(approval_ref) <= 100),
    ADD CHECK ((registered_on IS NULL) = (registered_by IS NULL)),
    -- A registered secondment is one that has begun: it is away, or back.
    ADD CHECK (registered_on IS NULL OR state IN ('active', 'expired', 'overdue', 'return_recorded', 'returned',
                                                 'transfer_pending', 'transferred'));

-- The checks that assume every request went through the chain now hold for
-- requests born in the service only. 000002 left them unnamed, so they are
-- found by what they say.
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
             WHERE conrelid = 'secondment'::regclass AND contype = 'c' LOOP
        IF c.def LIKE '%policy_id IS NOT NULL%submitted_on IS NOT NULL%'
           OR c.def LIKE '%signoff_decision_id IS NOT NULL%'
           OR c.def LIKE '%started_on >= approved_on%' THEN
            EXECUTE format('ALTER TABLE secondment DROP CONSTRAINT %I', c.conname);
        END IF;
    END LOOP;
END $$;

ALTER TABLE secondment
    ADD CONSTRAINT secondment_fixed_check CHECK (state = 'draft' OR (jurisdiction_id IS NOT NULL AND org_dept_id IS NOT NULL
        AND policy_id IS NOT NULL AND number IS NOT NULL AND (submitted_on IS NOT NULL OR registered_on IS NOT NULL))),
    ADD CONSTRAINT secondment_signoff_check CHECK (registered_on IS NOT NULL
        OR state NOT IN ('approved', 'active', 'expired', 'overdue', 'return_recorded', 'returned', 'renewed',
                         'transfer_pending', 'transferred')
        OR (approved_on IS NOT NULL AND signoff_decision_id IS NOT NULL)),
    ADD CONSTRAINT secondment_started_check CHECK (started_on IS NULL OR registered_on IS NOT NULL
        OR (approved_on IS NOT NULL AND started_on >= approved_on));

-- Registration is idempotent: the same person registered at the same
-- borrowing unit from the same day is the same secondment, so importing a
-- file again adds nothing.
CREATE UNIQUE INDEX secondment_registered_key ON secondment (person_id, borrower_id, start_date)
    WHERE registered_on IS NOT NULL;

-- Registered secondments are numbered 登记〔2026〕0001 in a series of their
-- own, so the request numbers keep having no gaps.
ALTER TABLE secondment_number_counter
    ADD COLUMN series text NOT NULL DEFAULT 'request' CHECK (series IN ('request', 'register')),
    DROP CONSTRAINT secondment_number_counter_pkey,
    ADD PRIMARY KEY (jurisdiction_id, series, year);
