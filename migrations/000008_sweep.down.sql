DROP TABLE ledger_entry;
DROP TABLE reminder_sent;
DROP TABLE sweep_run;
