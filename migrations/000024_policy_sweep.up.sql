-- A new policy version reaches the running secondments (issue 11, DOMAIN's
-- policy paragraph): the sweep judges a jurisdiction's running
-- secondments once by each version that comes into force, and puts those
-- it forbids on the irregular ledger. This row says it has.
CREATE TABLE policy_sweep (
    jurisdiction_id bigint NOT NULL REFERENCES unit (id) ON DELETE RESTRICT,
    version         integer NOT NULL,
    swept_on        date NOT NULL,
    judged          integer NOT NULL,
    flagged         integer NOT NULL,
    PRIMARY KEY (jurisdiction_id, version)
);

-- A sweep's count of running secondments a new policy version flagged.
ALTER TABLE sweep_run ADD COLUMN policy_flagged integer NOT NULL DEFAULT 0;
