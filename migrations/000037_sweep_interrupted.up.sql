-- Issue 13: a sweep is on record from its start, so one killed midway
-- shows (finished_at stays empty) on the administrator's jobs page, beside
-- the run that finished its work after River rescued the job.
ALTER TABLE sweep_run ALTER COLUMN finished_at DROP NOT NULL;
