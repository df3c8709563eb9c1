ALTER TABLE sweep_run DROP COLUMN policy_flagged;
DROP TABLE policy_sweep;
