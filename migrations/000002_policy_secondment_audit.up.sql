-- The domain's schema (issue 3): policy versions per jurisdiction, secondment
-- requests and terms, the decisions taken on them, and the audit trail.
-- CHECK constraints make impossible states unrepresentable; the lists of
-- states, actions and roles mirror internal/secondment (a test compares them).

-- A jurisdiction is a region unit (包头市, 威海市, 喀什市 …) whose subtree is
-- judged by its policy. Each change is a new version with an effective date,
-- so a request keeps the version in force on its submission day.
CREATE TABLE policy (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    jurisdiction_id bigint NOT NULL REFERENCES unit (id) ON DELETE RESTRICT,
    version         integer NOT NULL CHECK (version >= 1),
    preset          text NOT NULL DEFAULT '' CHECK (preset IN ('', 'national', 'baotou', 'weihai', 'kashgar')),
    effective_from  date NOT NULL,
    -- The rule parameters (internal/secondment.Policy without the columns above).
    rules           jsonb NOT NULL CHECK (jsonb_typeof(rules) = 'object'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (jurisdiction_id, version)
);

CREATE TABLE secondment (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- 借调〔2026〕0001: given at submission, unique per jurisdiction and year.
    number              text UNIQUE,
    state               text NOT NULL CHECK (state IN ('draft', 'awaiting_consent', 'awaiting_signoff', 'sent_back',
                            'approved', 'active', 'expired', 'overdue', 'return_recorded', 'returned', 'renewed',
                            'transfer_pending', 'transferred', 'declined', 'rejected', 'withdrawn')),
    kind                text NOT NULL CHECK (kind IN ('secondment', 'exchange', 'attachment')),
    alias               text NOT NULL DEFAULT '' CHECK (alias IN ('', 'borrowing', 'assignment', 'shadowing')),
    purpose             text NOT NULL CHECK (purpose IN ('key_task', 'special_project', 'major_project', 'routine', 'other')),
    task                text NOT NULL CHECK (char_length(task) BETWEEN 1 AND 500),
    person_id           bigint NOT NULL REFERENCES person (id) ON DELETE RESTRICT,
    borrower_id         bigint NOT NULL REFERENCES unit (id) ON DELETE RESTRICT,
    lender_id           bigint NOT NULL REFERENCES unit (id) ON DELETE RESTRICT,
    start_date          date NOT NULL,
    end_date            date NOT NULL,
    previous_id         bigint,
    justification       text NOT NULL DEFAULT '' CHECK (char_length(justification) <= 2000),

    -- Fixed at submission: where the request is judged, and by which version.
    jurisdiction_id     bigint REFERENCES unit (id) ON DELETE RESTRICT,
    org_dept_id         bigint REFERENCES unit (id) ON DELETE RESTRICT,
    policy_id           bigint REFERENCES policy (id) ON DELETE RESTRICT,
    submitted_on        date,
    submitted_by        bigint,

    consented_on        date,
    approved_on         date,
    signoff_decision_id bigint,
    -- Always 'approve': lets the foreign key below require that the sign-off
    -- decision is an approval of this very request.
    signoff_action      text GENERATED ALWAYS AS ('approve') STORED,
    exception_rules     text[] NOT NULL DEFAULT '{}',
    exception_approver  text NOT NULL DEFAULT '',
    started_on          date,
    filed_by_borrower   date,
    filed_by_lender     date,
    recalled_on         date,
    returned_on         date,
    handover            text NOT NULL DEFAULT '' CHECK (char_length(handover) <= 2000),
    return_confirmed_on date,
    renewal_id          bigint REFERENCES secondment (id) ON DELETE RESTRICT,
    transfer_method     text CHECK (transfer_method IN ('public_selection', 'transfer_of_post')),
    -- When a terminal state was reached.
    closed_at           timestamptz,
    -- Optimistic concurrency: every change increments it (If-Match).
    version             integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),

    UNIQUE (id, person_id),
    CHECK (borrower_id <> lender_id),
    CHECK (end_date >= start_date),
    CHECK (alias = '' OR kind = 'secondment'),
    -- A renewal continues a term of the same person.
    FOREIGN KEY (previous_id, person_id) REFERENCES secondment (id, person_id) ON DELETE RESTRICT,
    CHECK (previous_id <> id),
    CHECK (renewal_id <> id),
    -- Past the draft, the jurisdiction, org dept, policy and submission are fixed.
    CHECK (state = 'draft' OR (jurisdiction_id IS NOT NULL AND org_dept_id IS NOT NULL
                               AND policy_id IS NOT NULL AND submitted_on IS NOT NULL AND number IS NOT NULL)),
    -- Approved (and everything after it) has its sign-off decision and date.
    CHECK (state NOT IN ('approved', 'active', 'expired', 'overdue', 'return_recorded', 'returned', 'renewed',
                         'transfer_pending', 'transferred')
           OR (approved_on IS NOT NULL AND signoff_decision_id IS NOT NULL)),
    -- R8: nothing starts before the sign-off.
    CHECK (state NOT IN ('active', 'expired', 'overdue', 'return_recorded', 'returned', 'renewed',
                         'transfer_pending', 'transferred')
           OR started_on IS NOT NULL),
    CHECK (started_on IS NULL OR (approved_on IS NOT NULL AND started_on >= approved_on)),
    -- An exception is never silent: it names its approver.
    CHECK (cardinality(exception_rules) = 0 OR exception_approver <> ''),
    CHECK (state NOT IN ('return_recorded', 'returned') OR returned_on IS NOT NULL),
    CHECK (state <> 'returned' OR return_confirmed_on IS NOT NULL),
    CHECK (state <> 'renewed' OR renewal_id IS NOT NULL),
    CHECK (state NOT IN ('transfer_pending', 'transferred') OR transfer_method IS NOT NULL),
    -- A terminal state, and only a terminal state, has its time.
    CHECK ((state IN ('returned', 'renewed', 'transferred', 'declined', 'rejected', 'withdrawn')) = (closed_at IS NOT NULL))
);

CREATE INDEX secondment_person_idx ON secondment (person_id);
CREATE INDEX secondment_borrower_state_idx ON secondment (borrower_id, state);
CREATE INDEX secondment_lender_state_idx ON secondment (lender_id, state);
CREATE INDEX secondment_orgdept_state_idx ON secondment (org_dept_id, state);
CREATE INDEX secondment_state_end_idx ON secondment (state, end_date);
CREATE INDEX secondment_previous_idx ON secondment (previous_id);

-- One step taken on a request, as the approval form prints it.
CREATE TABLE decision (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    secondment_id bigint NOT NULL REFERENCES secondment (id) ON DELETE RESTRICT,
    step          text NOT NULL,  -- the state the step was taken in
    action        text NOT NULL CHECK (action IN ('submit', 'resubmit', 'withdraw', 'consent', 'decline', 'send_back',
                      'approve', 'reject', 'start', 'file', 'record_return', 'confirm_return', 'expire',
                      'mark_overdue', 'succeed', 'recall', 'transfer')),
    role          text NOT NULL CHECK (role IN ('borrower', 'lender', 'orgdept', 'registrar', 'system')),
    actor_user_id bigint,         -- NULL for the system
    actor_name    text NOT NULL CHECK (char_length(actor_name) BETWEEN 1 AND 100),
    on_behalf_of  text NOT NULL DEFAULT '',  -- a proxy acts "X for Y"
    opinion       text NOT NULL DEFAULT '' CHECK (char_length(opinion) <= 2000),
    at            timestamptz NOT NULL,
    UNIQUE (id, secondment_id, action)
);

CREATE INDEX decision_secondment_idx ON decision (secondment_id, at);

ALTER TABLE secondment ADD FOREIGN KEY (signoff_decision_id, id, signoff_action)
    REFERENCES decision (id, secondment_id, action) ON DELETE RESTRICT;

-- The audit trail: who did what to which object, append-only.
CREATE TABLE audit_event (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            timestamptz NOT NULL,
    actor_user_id bigint,          -- NULL for the system or an anonymous caller
    actor_name    text NOT NULL,
    action        text NOT NULL,   -- e.g. secondment.submit, user.sign_in_failed
    object_type   text NOT NULL,
    object_id     bigint,
    unit_id       bigint REFERENCES unit (id) ON DELETE RESTRICT,
    detail        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object'),
    request_id    text NOT NULL DEFAULT ''
);

CREATE INDEX audit_event_object_idx ON audit_event (object_type, object_id, at);
CREATE INDEX audit_event_at_idx ON audit_event (at);

CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
