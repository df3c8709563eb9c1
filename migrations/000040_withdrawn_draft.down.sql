ALTER TABLE secondment DROP CONSTRAINT secondment_fixed_check;
ALTER TABLE secondment
    ADD CONSTRAINT secondment_fixed_check CHECK (state = 'draft' OR (jurisdiction_id IS NOT NULL AND org_dept_id IS NOT NULL
        AND policy_id IS NOT NULL AND number IS NOT NULL AND (submitted_on IS NOT NULL OR registered_on IS NOT NULL))) NOT VALID;
