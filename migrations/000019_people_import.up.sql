-- The register of people is imported too (issue 10), through the same
-- kept upload: kind says which template a file follows, so that an upload
-- of one is never previewed or committed as the other.
ALTER TABLE stock_import
    ADD COLUMN kind text NOT NULL DEFAULT 'stock' CHECK (kind IN ('stock', 'people'));
