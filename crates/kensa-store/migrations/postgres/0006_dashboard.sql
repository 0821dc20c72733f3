-- The dashboard's counts from indexes alone. Kept column for column equal
-- to migrations/sqlite/0006_dashboard.sql.

-- The band of the CVSS v3 base score the adjusted score starts from, as
-- severity_rank numbers it (0: no base score).
ALTER TABLE findings ADD COLUMN base_rank BIGINT NOT NULL DEFAULT 0;
UPDATE findings SET base_rank = CASE
    WHEN detail -> 'score' ->> 'base' IS NULL THEN 0
    WHEN CAST(detail -> 'score' ->> 'base' AS DOUBLE PRECISION) >= 9.0 THEN 5
    WHEN CAST(detail -> 'score' ->> 'base' AS DOUBLE PRECISION) >= 7.0 THEN 4
    WHEN CAST(detail -> 'score' ->> 'base' AS DOUBLE PRECISION) >= 4.0 THEN 3
    WHEN CAST(detail -> 'score' ->> 'base' AS DOUBLE PRECISION) > 0.0 THEN 2
    ELSE 1 END;

-- Covering: the counts of open findings by band, fixable and KEV, and the
-- open-findings trend, never read the (large) rows.
CREATE INDEX findings_dashboard ON findings (status, severity_rank, base_rank, fix_available, kev);
CREATE INDEX findings_history ON findings (first_observed, closed_at);
