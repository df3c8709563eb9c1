-- Issue 12, R9: only a formal exchange or attachment is exempt from the
-- secondment rules, and it is formal when an org dept's programme or
-- document arranged it: recorded here. A constant default adds the column
-- without rewriting the table.
ALTER TABLE secondment ADD COLUMN programme text NOT NULL DEFAULT ''
    CONSTRAINT secondment_programme_length CHECK (char_length(programme) <= 100);
