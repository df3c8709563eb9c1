ALTER TABLE sweep_run DROP COLUMN escalated;
DROP TABLE escalation;
