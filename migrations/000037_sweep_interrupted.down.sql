DELETE FROM sweep_run WHERE finished_at IS NULL;
ALTER TABLE sweep_run ALTER COLUMN finished_at SET NOT NULL;
