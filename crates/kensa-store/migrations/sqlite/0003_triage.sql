-- Triage, suppression rules, the SLA policy and the indexes the query API
-- pages through. Kept column for column equal to the PostgreSQL file.

-- Severity as a number, so that "most severe first" is an index walk.
ALTER TABLE findings ADD COLUMN severity_rank INTEGER NOT NULL DEFAULT 0;
UPDATE findings SET severity_rank = CASE severity
    WHEN 'CRITICAL' THEN 5 WHEN 'HIGH' THEN 4 WHEN 'MEDIUM' THEN 3
    WHEN 'LOW' THEN 2 WHEN 'INFORMATIONAL' THEN 1 ELSE 0 END;

-- Who suppressed a SUPPRESSED finding: 'manual' or 'rule:<id>'.
ALTER TABLE findings ADD COLUMN suppressed_by TEXT;
ALTER TABLE findings ADD COLUMN suppress_reason TEXT;
-- A person made this finding active against the rules: rules leave it be.
ALTER TABLE findings ADD COLUMN suppress_exempt INTEGER NOT NULL DEFAULT 0 CHECK (suppress_exempt IN (0, 1));

-- The analysis, in CycloneDX VEX's vocabulary plus risk_accepted.
ALTER TABLE findings ADD COLUMN triage_state TEXT CHECK (triage_state IN
    ('in_triage', 'exploitable', 'not_affected', 'false_positive', 'resolved', 'risk_accepted'));
ALTER TABLE findings ADD COLUMN triage_justification TEXT;
ALTER TABLE findings ADD COLUMN triage_response TEXT;   -- JSON array of responses
ALTER TABLE findings ADD COLUMN triage_comment TEXT;
ALTER TABLE findings ADD COLUMN assignee TEXT;
ALTER TABLE findings ADD COLUMN risk_accepted_until TEXT;   -- YYYY-MM-DD
ALTER TABLE findings ADD COLUMN triaged_at INTEGER;
ALTER TABLE findings ADD COLUMN triage_rule_id INTEGER;
-- When it must be fixed: the SLA policy's, unless a person set it.
ALTER TABLE findings ADD COLUMN due_at INTEGER;
ALTER TABLE findings ADD COLUMN due_by_hand INTEGER NOT NULL DEFAULT 0 CHECK (due_by_hand IN (0, 1));

-- Sort keys that are never NULL (-1: no score; the largest integer: no
-- due date), so that keyset paging compares plain row values on both
-- backends.
ALTER TABLE findings ADD COLUMN score_sort REAL NOT NULL DEFAULT -1;
ALTER TABLE findings ADD COLUMN epss_sort REAL NOT NULL DEFAULT -1;
ALTER TABLE findings ADD COLUMN due_sort INTEGER NOT NULL DEFAULT 9223372036854775807;
UPDATE findings SET score_sort = COALESCE(score, -1), epss_sort = COALESCE(epss, -1);

-- Keyset paging walks (sort column, id): one index per sortable column.
DROP INDEX findings_last_observed;
DROP INDEX findings_first_observed;
DROP INDEX findings_score;
DROP INDEX findings_epss;
DROP INDEX findings_vulnerability;
DROP INDEX findings_package;
CREATE INDEX findings_last_observed ON findings (last_observed, id);
CREATE INDEX findings_first_observed ON findings (first_observed, id);
CREATE INDEX findings_score ON findings (score_sort, id);
CREATE INDEX findings_epss ON findings (epss_sort, id);
CREATE INDEX findings_vulnerability ON findings (vulnerability_id, id);
CREATE INDEX findings_package ON findings (package_name, id);
CREATE INDEX findings_severity_rank ON findings (severity_rank, score_sort, id);
CREATE INDEX findings_updated ON findings (updated_at, id);
CREATE INDEX findings_due ON findings (due_sort, id);
CREATE INDEX findings_asset_status ON findings (asset_id, status);
-- The console's default views are of open findings: status first, then
-- the sort, so that "ACTIVE, most severe first" is one index walk.
DROP INDEX findings_status_severity;
CREATE INDEX findings_status_rank ON findings (status, severity_rank, score_sort, id);
CREATE INDEX findings_status_score ON findings (status, score_sort, id);
CREATE INDEX findings_status_last_observed ON findings (status, last_observed, id);
CREATE INDEX findings_status_due ON findings (status, due_sort, id);
-- Known exploited findings are few (about 2%): small partial indexes give
-- the KEV views their sorts directly. The fix-available index of
-- migration 1 selects most rows and only misleads the planner.
DROP INDEX findings_kev;
DROP INDEX findings_fixable;
CREATE INDEX findings_kev_epss ON findings (epss_sort, id) WHERE kev = 1;
CREATE INDEX findings_kev_rank ON findings (severity_rank, score_sort, id) WHERE kev = 1;
CREATE INDEX findings_triage_state ON findings (triage_state) WHERE triage_state IS NOT NULL;
CREATE INDEX findings_assignee ON findings (assignee) WHERE assignee IS NOT NULL;

-- Every triage change: who, when, before and after.
CREATE TABLE triage_audit (
    id          INTEGER PRIMARY KEY,
    finding_id  BIGINT NOT NULL REFERENCES findings (id) ON DELETE CASCADE,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    via         TEXT NOT NULL,              -- 'finding', 'bulk', 'rule <id>', 'suppression rule <id>', 'expiry'
    before      TEXT NOT NULL,              -- JSON
    after       TEXT NOT NULL               -- JSON
);
CREATE INDEX triage_audit_finding ON triage_audit (finding_id, at);

-- A decision applied to one vulnerability in one package on every asset,
-- now and when it appears on more.
CREATE TABLE triage_rules (
    id                  INTEGER PRIMARY KEY,
    vulnerability_id    TEXT NOT NULL,
    package_name        TEXT NOT NULL,
    decision            TEXT NOT NULL,      -- JSON
    created_by          TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    revoked_at          BIGINT
);
CREATE INDEX triage_rules_key ON triage_rules (vulnerability_id, package_name) WHERE revoked_at IS NULL;

CREATE TABLE suppression_rules (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    filter      TEXT NOT NULL,              -- the filter language, canonical
    reason      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,              -- JSON
    updated_at  BIGINT NOT NULL
);
