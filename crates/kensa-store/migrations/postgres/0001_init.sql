-- Kensa fleet database, schema 1 (PostgreSQL). Kept column for column equal
-- to migrations/sqlite/0001_init.sql: the Rust code reads both the same
-- way. Times are integer milliseconds since the Unix epoch, UTC.

CREATE TABLE inventories (
    hash            TEXT PRIMARY KEY,           -- Inventory::content_hash(): sha256:<hex>
    schema_version  BIGINT NOT NULL,
    content         BYTEA NOT NULL,             -- zlib of Inventory::content_bytes()
    size            BIGINT NOT NULL,            -- uncompressed bytes
    package_count   BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);

CREATE TABLE assets (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    natural_key         TEXT NOT NULL UNIQUE,
    kind                TEXT NOT NULL CHECK (kind IN ('host', 'image')),
    name                TEXT NOT NULL,
    hostname            TEXT,
    machine_id          TEXT,
    image_id            TEXT,
    os_id               TEXT,
    os_release          TEXT,
    inventory_hash      TEXT REFERENCES inventories (hash),
    inventory_at        BIGINT,
    evaluated_at        BIGINT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    operation_start     TEXT,                   -- YYYY-MM-DD
    support_end         TEXT,                   -- YYYY-MM-DD
    owner               TEXT,
    team                TEXT,
    environment         TEXT,
    tags                JSONB,                  -- array of strings
    internet_exposure   TEXT CHECK (internet_exposure IN ('yes', 'no', 'unknown'))
);

CREATE TABLE asset_inventories (
    asset_id        BIGINT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    hash            TEXT NOT NULL REFERENCES inventories (hash),
    received_at     BIGINT NOT NULL,
    PRIMARY KEY (asset_id, received_at, hash)
);
CREATE INDEX asset_inventories_hash ON asset_inventories (hash);

CREATE TABLE findings (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    asset_id            BIGINT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    vulnerability_id    TEXT NOT NULL CHECK (length(vulnerability_id) > 0),
    package_name        TEXT NOT NULL CHECK (length(package_name) > 0),
    package_arch        TEXT NOT NULL,          -- '' when the package has none
    status              TEXT NOT NULL CHECK (status IN ('ACTIVE', 'SUPPRESSED', 'CLOSED')),
    severity            TEXT NOT NULL CHECK (severity IN ('CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNTRIAGED')),
    package_kind        TEXT NOT NULL,
    installed_version   TEXT NOT NULL,
    fixed_version       TEXT,
    fix_available       BOOLEAN NOT NULL,
    vendor_status       TEXT NOT NULL,
    kev                 BOOLEAN NOT NULL,
    epss                DOUBLE PRECISION,
    score               DOUBLE PRECISION,
    occurrences         BIGINT NOT NULL,
    first_observed      BIGINT NOT NULL,
    last_observed       BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    closed_at           BIGINT,
    reopen_count        BIGINT NOT NULL DEFAULT 0,
    detail              JSONB NOT NULL,         -- the kensa_detect::Finding
    UNIQUE (asset_id, vulnerability_id, package_name, package_arch)
);
CREATE INDEX findings_status_severity ON findings (status, severity);
CREATE INDEX findings_vulnerability ON findings (vulnerability_id);
CREATE INDEX findings_package ON findings (package_name);
CREATE INDEX findings_last_observed ON findings (last_observed);
CREATE INDEX findings_first_observed ON findings (first_observed);
CREATE INDEX findings_score ON findings (score);
CREATE INDEX findings_epss ON findings (epss);
CREATE INDEX findings_kev ON findings (kev) WHERE kev;
CREATE INDEX findings_fixable ON findings (fix_available, status);

CREATE TABLE finding_events (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    finding_id      BIGINT NOT NULL REFERENCES findings (id) ON DELETE CASCADE,
    at              BIGINT NOT NULL,
    event           TEXT NOT NULL CHECK (event IN ('opened', 'closed', 'reopened', 'suppressed', 'unsuppressed')),
    installed_version TEXT
);
CREATE INDEX finding_events_finding ON finding_events (finding_id, at);

CREATE TABLE jobs (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            TEXT NOT NULL,
    payload         JSONB NOT NULL,
    dedupe_key      TEXT,
    state           TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    max_attempts    BIGINT NOT NULL,
    run_at          BIGINT NOT NULL,
    locked_by       TEXT,
    lease_until     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    finished_at     BIGINT
);
CREATE UNIQUE INDEX jobs_dedupe ON jobs (kind, dedupe_key) WHERE state = 'queued' AND dedupe_key IS NOT NULL;
CREATE INDEX jobs_queued ON jobs (run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_running ON jobs (lease_until) WHERE state = 'running';
