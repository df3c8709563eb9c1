-- An uploaded import file (issue 10) is kept between its preview and its
-- commit, in the database like every other state, so that any replica can
-- take the commit. Only its uploader sees it.
CREATE TABLE stock_import (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
    content      bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    committed_at timestamptz
);

CREATE INDEX stock_import_user_idx ON stock_import (user_id, created_at DESC);
