-- The dashboard's counts from indexes alone. Kept column for column equal
-- to migrations/postgres/0006_dashboard.sql.

-- The band of the CVSS v3 base score the adjusted score starts from, as
-- severity_rank numbers it (0: no base score).
ALTER TABLE findings ADD COLUMN base_rank INTEGER NOT NULL DEFAULT 0;
UPDATE findings SET base_rank = CASE
    WHEN json_extract(detail, '$.score.base') IS NULL THEN 0
    WHEN json_extract(detail, '$.score.base') >= 9.0 THEN 5
    WHEN json_extract(detail, '$.score.base') >= 7.0 THEN 4
    WHEN json_extract(detail, '$.score.base') >= 4.0 THEN 3
    WHEN json_extract(detail, '$.score.base') > 0.0 THEN 2
    ELSE 1 END;

-- Covering: the counts of open findings by band, fixable and KEV, and the
-- open-findings trend, never read the (large) rows.
CREATE INDEX findings_dashboard ON findings (status, severity_rank, base_rank, fix_available, kev);
CREATE INDEX findings_history ON findings (first_observed, closed_at);
