-- Issue 14: a draft that was never submitted may be withdrawn (作废): the
-- transition allowed it, but the row then failed this check (no number,
-- jurisdiction or policy: nothing was judged yet), and the clerk got a 422
-- with no reason. Such a row stays on record, withdrawn, with its audit
-- event; nothing is deleted.
ALTER TABLE secondment DROP CONSTRAINT secondment_fixed_check;
ALTER TABLE secondment
    ADD CONSTRAINT secondment_fixed_check CHECK (state = 'draft'
        OR (state = 'withdrawn' AND submitted_on IS NULL AND registered_on IS NULL)
        OR (jurisdiction_id IS NOT NULL AND org_dept_id IS NOT NULL
            AND policy_id IS NOT NULL AND number IS NOT NULL AND (submitted_on IS NOT NULL OR registered_on IS NOT NULL)));
