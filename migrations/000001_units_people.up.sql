-- Units (单位) and the people on record (人员): the first slice of the domain.

CREATE TABLE unit (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code           text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9][A-Z0-9-]{0,63}$'),
    name           text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    level          text NOT NULL CHECK (level IN ('province', 'city', 'county', 'township')),
    system         text NOT NULL CHECK (system IN ('general', 'discipline', 'court', 'procuratorate',
                                                   'publicsecurity', 'vertical', 'mass')),
    -- Sub-kind within the general party-government line; '' for a
    -- comprehensive unit (a city, a county, a township) and other systems.
    branch         text NOT NULL DEFAULT '' CHECK (branch IN ('', 'party', 'government', 'congress', 'cppcc')),
    parent_id      bigint REFERENCES unit (id) ON DELETE RESTRICT,
    -- NULL where a quota does not apply, e.g. a region that only contains units.
    staffing_quota integer CHECK (staffing_quota >= 0),
    post_quota     integer CHECK (post_quota >= 0),
    headcount      integer CHECK (headcount >= 0),
    note           text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (branch = '' OR system = 'general'),
    CHECK (parent_id IS NULL OR parent_id <> id)
);

CREATE INDEX unit_parent_id_idx ON unit (parent_id);

CREATE TABLE person (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code         text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9][A-Z0-9-]{0,63}$'),
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 50),
    home_unit_id bigint NOT NULL REFERENCES unit (id) ON DELETE RESTRICT,
    post         text NOT NULL DEFAULT '' CHECK (char_length(post) <= 50),
    rank         text NOT NULL DEFAULT '' CHECK (char_length(rank) <= 50),
    note         text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX person_home_unit_id_idx ON person (home_unit_id);
