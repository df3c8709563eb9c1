-- Issue 12: working days follow the State Council's yearly holiday schedule
-- with its make-up working days (调休), not Monday to Friday alone. A year
-- is entered whole (calendar_year, with the notice it comes from) and its
-- days set apart from their weekday are in calendar_day; a year with no
-- schedule counts Monday to Friday, and the system administrator enters
-- the next year's when the State Council publishes it (/admin/calendar).
-- The schedules from 2023 (the seed's stories start there) to 2026 are
-- loaded below from the notices named; 2027's had not been entered when
-- this was written.
CREATE TABLE calendar_year (
    year       integer PRIMARY KEY CHECK (year BETWEEN 2000 AND 2100),
    source     text NOT NULL CHECK (char_length(source) BETWEEN 1 AND 200),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE calendar_day (
    day     date PRIMARY KEY,
    year    integer NOT NULL REFERENCES calendar_year (year) ON DELETE CASCADE,
    working boolean NOT NULL, -- true: a make-up working day on a weekend; false: a holiday
    name    text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 20)
);
CREATE INDEX calendar_day_year_idx ON calendar_day (year);

-- Cached with the units and policies: a change bumps the catalog version.
CREATE TRIGGER calendar_year_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON calendar_year
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
CREATE TRIGGER calendar_day_catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON calendar_day
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();


INSERT INTO calendar_year (year, source) VALUES (2023, '国务院办公厅关于2023年部分节假日安排的通知（2022年12月8日）');
INSERT INTO calendar_day (day, year, working, name) VALUES
    ('2022-12-31', 2023, false, '元旦'),
    ('2023-01-01', 2023, false, '元旦'),
    ('2023-01-02', 2023, false, '元旦'),
    ('2023-01-21', 2023, false, '春节'),
    ('2023-01-22', 2023, false, '春节'),
    ('2023-01-23', 2023, false, '春节'),
    ('2023-01-24', 2023, false, '春节'),
    ('2023-01-25', 2023, false, '春节'),
    ('2023-01-26', 2023, false, '春节'),
    ('2023-01-27', 2023, false, '春节'),
    ('2023-04-05', 2023, false, '清明节'),
    ('2023-04-29', 2023, false, '劳动节'),
    ('2023-04-30', 2023, false, '劳动节'),
    ('2023-05-01', 2023, false, '劳动节'),
    ('2023-05-02', 2023, false, '劳动节'),
    ('2023-05-03', 2023, false, '劳动节'),
    ('2023-06-22', 2023, false, '端午节'),
    ('2023-06-23', 2023, false, '端午节'),
    ('2023-06-24', 2023, false, '端午节'),
    ('2023-09-29', 2023, false, '中秋节、国庆节'),
    ('2023-09-30', 2023, false, '中秋节、国庆节'),
    ('2023-10-01', 2023, false, '中秋节、国庆节'),
    ('2023-10-02', 2023, false, '中秋节、国庆节'),
    ('2023-10-03', 2023, false, '中秋节、国庆节'),
    ('2023-10-04', 2023, false, '中秋节、国庆节'),
    ('2023-10-05', 2023, false, '中秋节、国庆节'),
    ('2023-10-06', 2023, false, '中秋节、国庆节'),
    ('2023-01-28', 2023, true, '春节'),
    ('2023-01-29', 2023, true, '春节'),
    ('2023-04-23', 2023, true, '劳动节'),
    ('2023-05-06', 2023, true, '劳动节'),
    ('2023-06-25', 2023, true, '端午节'),
    ('2023-10-07', 2023, true, '中秋节、国庆节'),
    ('2023-10-08', 2023, true, '中秋节、国庆节');

INSERT INTO calendar_year (year, source) VALUES (2024, '国务院办公厅关于2024年部分节假日安排的通知（2023年10月25日）');
INSERT INTO calendar_day (day, year, working, name) VALUES
    ('2024-01-01', 2024, false, '元旦'),
    ('2024-02-10', 2024, false, '春节'),
    ('2024-02-11', 2024, false, '春节'),
    ('2024-02-12', 2024, false, '春节'),
    ('2024-02-13', 2024, false, '春节'),
    ('2024-02-14', 2024, false, '春节'),
    ('2024-02-15', 2024, false, '春节'),
    ('2024-02-16', 2024, false, '春节'),
    ('2024-02-17', 2024, false, '春节'),
    ('2024-04-04', 2024, false, '清明节'),
    ('2024-04-05', 2024, false, '清明节'),
    ('2024-04-06', 2024, false, '清明节'),
    ('2024-05-01', 2024, false, '劳动节'),
    ('2024-05-02', 2024, false, '劳动节'),
    ('2024-05-03', 2024, false, '劳动节'),
    ('2024-05-04', 2024, false, '劳动节'),
    ('2024-05-05', 2024, false, '劳动节'),
    ('2024-06-10', 2024, false, '端午节'),
    ('2024-09-15', 2024, false, '中秋节'),
    ('2024-09-16', 2024, false, '中秋节'),
    ('2024-09-17', 2024, false, '中秋节'),
    ('2024-10-01', 2024, false, '国庆节'),
    ('2024-10-02', 2024, false, '国庆节'),
    ('2024-10-03', 2024, false, '国庆节'),
    ('2024-10-04', 2024, false, '国庆节'),
    ('2024-10-05', 2024, false, '国庆节'),
    ('2024-10-06', 2024, false, '国庆节'),
    ('2024-10-07', 2024, false, '国庆节'),
    ('2024-02-04', 2024, true, '春节'),
    ('2024-02-18', 2024, true, '春节'),
    ('2024-04-07', 2024, true, '清明节'),
    ('2024-04-28', 2024, true, '劳动节'),
    ('2024-05-11', 2024, true, '劳动节'),
    ('2024-09-14', 2024, true, '中秋节'),
    ('2024-09-29', 2024, true, '国庆节'),
    ('2024-10-12', 2024, true, '国庆节');

INSERT INTO calendar_year (year, source) VALUES (2025, '国务院办公厅关于2025年部分节假日安排的通知（2024年11月12日）');
INSERT INTO calendar_day (day, year, working, name) VALUES
    ('2025-01-01', 2025, false, '元旦'),
    ('2025-01-28', 2025, false, '春节'),
    ('2025-01-29', 2025, false, '春节'),
    ('2025-01-30', 2025, false, '春节'),
    ('2025-01-31', 2025, false, '春节'),
    ('2025-02-01', 2025, false, '春节'),
    ('2025-02-02', 2025, false, '春节'),
    ('2025-02-03', 2025, false, '春节'),
    ('2025-02-04', 2025, false, '春节'),
    ('2025-04-04', 2025, false, '清明节'),
    ('2025-04-05', 2025, false, '清明节'),
    ('2025-04-06', 2025, false, '清明节'),
    ('2025-05-01', 2025, false, '劳动节'),
    ('2025-05-02', 2025, false, '劳动节'),
    ('2025-05-03', 2025, false, '劳动节'),
    ('2025-05-04', 2025, false, '劳动节'),
    ('2025-05-05', 2025, false, '劳动节'),
    ('2025-05-31', 2025, false, '端午节'),
    ('2025-06-01', 2025, false, '端午节'),
    ('2025-06-02', 2025, false, '端午节'),
    ('2025-10-01', 2025, false, '国庆节、中秋节'),
    ('2025-10-02', 2025, false, '国庆节、中秋节'),
    ('2025-10-03', 2025, false, '国庆节、中秋节'),
    ('2025-10-04', 2025, false, '国庆节、中秋节'),
    ('2025-10-05', 2025, false, '国庆节、中秋节'),
    ('2025-10-06', 2025, false, '国庆节、中秋节'),
    ('2025-10-07', 2025, false, '国庆节、中秋节'),
    ('2025-10-08', 2025, false, '国庆节、中秋节'),
    ('2025-01-26', 2025, true, '春节'),
    ('2025-02-08', 2025, true, '春节'),
    ('2025-04-27', 2025, true, '劳动节'),
    ('2025-09-28', 2025, true, '国庆节、中秋节'),
    ('2025-10-11', 2025, true, '国庆节、中秋节');

INSERT INTO calendar_year (year, source) VALUES (2026, '国务院办公厅关于2026年部分节假日安排的通知（2025年11月4日）');
INSERT INTO calendar_day (day, year, working, name) VALUES
    ('2026-01-01', 2026, false, '元旦'),
    ('2026-01-02', 2026, false, '元旦'),
    ('2026-01-03', 2026, false, '元旦'),
    ('2026-02-15', 2026, false, '春节'),
    ('2026-02-16', 2026, false, '春节'),
    ('2026-02-17', 2026, false, '春节'),
    ('2026-02-18', 2026, false, '春节'),
    ('2026-02-19', 2026, false, '春节'),
    ('2026-02-20', 2026, false, '春节'),
    ('2026-02-21', 2026, false, '春节'),
    ('2026-02-22', 2026, false, '春节'),
    ('2026-02-23', 2026, false, '春节'),
    ('2026-04-04', 2026, false, '清明节'),
    ('2026-04-05', 2026, false, '清明节'),
    ('2026-04-06', 2026, false, '清明节'),
    ('2026-05-01', 2026, false, '劳动节'),
    ('2026-05-02', 2026, false, '劳动节'),
    ('2026-05-03', 2026, false, '劳动节'),
    ('2026-05-04', 2026, false, '劳动节'),
    ('2026-05-05', 2026, false, '劳动节'),
    ('2026-06-19', 2026, false, '端午节'),
    ('2026-06-20', 2026, false, '端午节'),
    ('2026-06-21', 2026, false, '端午节'),
    ('2026-09-25', 2026, false, '中秋节'),
    ('2026-09-26', 2026, false, '中秋节'),
    ('2026-09-27', 2026, false, '中秋节'),
    ('2026-10-01', 2026, false, '国庆节'),
    ('2026-10-02', 2026, false, '国庆节'),
    ('2026-10-03', 2026, false, '国庆节'),
    ('2026-10-04', 2026, false, '国庆节'),
    ('2026-10-05', 2026, false, '国庆节'),
    ('2026-10-06', 2026, false, '国庆节'),
    ('2026-10-07', 2026, false, '国庆节'),
    ('2026-01-04', 2026, true, '元旦'),
    ('2026-02-14', 2026, true, '春节'),
    ('2026-02-28', 2026, true, '春节'),
    ('2026-05-09', 2026, true, '劳动节'),
    ('2026-09-20', 2026, true, '国庆节'),
    ('2026-10-10', 2026, true, '国庆节');
