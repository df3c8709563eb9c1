DROP TABLE audit_event;
DROP FUNCTION audit_event_append_only();
ALTER TABLE secondment DROP COLUMN signoff_decision_id;
DROP TABLE decision;
DROP TABLE secondment;
DROP TABLE policy;
