-- Kensa fleet database, schema 1 (SQLite). Kept column for column equal
-- to migrations/postgres/0001_init.sql: the Rust code reads both the same
-- way. Times are integer milliseconds since the Unix epoch, UTC.

CREATE TABLE inventories (
    hash            TEXT PRIMARY KEY,           -- Inventory::content_hash(): sha256:<hex>
    schema_version  INTEGER NOT NULL,
    content         BLOB NOT NULL,              -- zlib of Inventory::content_bytes()
    size            INTEGER NOT NULL,           -- uncompressed bytes
    package_count   INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);

CREATE TABLE assets (
    id                  INTEGER PRIMARY KEY,
    natural_key         TEXT NOT NULL UNIQUE,
    kind                TEXT NOT NULL CHECK (kind IN ('host', 'image')),
    name                TEXT NOT NULL,
    hostname            TEXT,
    machine_id          TEXT,
    image_id            TEXT,
    os_id               TEXT,
    os_release          TEXT,
    inventory_hash      TEXT REFERENCES inventories (hash),
    inventory_at        INTEGER,
    evaluated_at        INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    operation_start     TEXT,                   -- YYYY-MM-DD
    support_end         TEXT,                   -- YYYY-MM-DD
    owner               TEXT,
    team                TEXT,
    environment         TEXT,
    tags                TEXT,                   -- JSON array of strings
    internet_exposure   TEXT CHECK (internet_exposure IN ('yes', 'no', 'unknown'))
);

CREATE TABLE asset_inventories (
    asset_id        INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    hash            TEXT NOT NULL REFERENCES inventories (hash),
    received_at     INTEGER NOT NULL,
    PRIMARY KEY (asset_id, received_at, hash)
);
CREATE INDEX asset_inventories_hash ON asset_inventories (hash);

CREATE TABLE findings (
    id                  INTEGER PRIMARY KEY,
    asset_id            INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    vulnerability_id    TEXT NOT NULL CHECK (length(vulnerability_id) > 0),
    package_name        TEXT NOT NULL CHECK (length(package_name) > 0),
    package_arch        TEXT NOT NULL,          -- '' when the package has none
    status              TEXT NOT NULL CHECK (status IN ('ACTIVE', 'SUPPRESSED', 'CLOSED')),
    severity            TEXT NOT NULL CHECK (severity IN ('CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNTRIAGED')),
    package_kind        TEXT NOT NULL,
    installed_version   TEXT NOT NULL,
    fixed_version       TEXT,
    fix_available       INTEGER NOT NULL CHECK (fix_available IN (0, 1)),
    vendor_status       TEXT NOT NULL,
    kev                 INTEGER NOT NULL CHECK (kev IN (0, 1)),
    epss                REAL,
    score               REAL,
    occurrences         INTEGER NOT NULL,
    first_observed      INTEGER NOT NULL,
    last_observed       INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    closed_at           INTEGER,
    reopen_count        INTEGER NOT NULL DEFAULT 0,
    detail              TEXT NOT NULL,          -- the kensa_detect::Finding, JSON
    UNIQUE (asset_id, vulnerability_id, package_name, package_arch)
);
CREATE INDEX findings_status_severity ON findings (status, severity);
CREATE INDEX findings_vulnerability ON findings (vulnerability_id);
CREATE INDEX findings_package ON findings (package_name);
CREATE INDEX findings_last_observed ON findings (last_observed);
CREATE INDEX findings_first_observed ON findings (first_observed);
CREATE INDEX findings_score ON findings (score);
CREATE INDEX findings_epss ON findings (epss);
CREATE INDEX findings_kev ON findings (kev) WHERE kev = 1;
CREATE INDEX findings_fixable ON findings (fix_available, status);

CREATE TABLE finding_events (
    id              INTEGER PRIMARY KEY,
    finding_id      INTEGER NOT NULL REFERENCES findings (id) ON DELETE CASCADE,
    at              INTEGER NOT NULL,
    event           TEXT NOT NULL CHECK (event IN ('opened', 'closed', 'reopened', 'suppressed', 'unsuppressed')),
    installed_version TEXT
);
CREATE INDEX finding_events_finding ON finding_events (finding_id, at);

CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,              -- JSON
    dedupe_key      TEXT,
    state           TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL,
    run_at          INTEGER NOT NULL,
    locked_by       TEXT,
    lease_until     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    finished_at     INTEGER
);
CREATE UNIQUE INDEX jobs_dedupe ON jobs (kind, dedupe_key) WHERE state = 'queued' AND dedupe_key IS NOT NULL;
CREATE INDEX jobs_queued ON jobs (run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_running ON jobs (lease_until) WHERE state = 'running';
