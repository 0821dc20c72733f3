-- Issue 15: agentless targets scanned over SSH by the server. A
-- credential is a private key sealed with AES-256-GCM under the server's
-- key-encryption key (`sealed`: hex of nonce and ciphertext; `kek_id`
-- names the key that sealed it); only its name, public key and
-- fingerprint are ever read back by the API. A target is an asset's SSH
-- address, user and credential name, its schedule and the outcome of its
-- last scan. Host keys are pinned here, not in a file, so that several
-- server processes share them: a key first offered is `pending` until an
-- admin confirms it. Kept statement for statement equal between sqlite/
-- and postgres/.
CREATE TABLE ssh_credentials (
    name            TEXT NOT NULL PRIMARY KEY,
    fingerprint     TEXT NOT NULL,
    public_key      TEXT NOT NULL,
    sealed          TEXT NOT NULL,
    kek_id          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    created_by      TEXT NOT NULL
);

CREATE TABLE agentless_targets (
    asset_id            BIGINT NOT NULL PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,
    host                TEXT NOT NULL,
    port                BIGINT NOT NULL,
    ssh_user            TEXT NOT NULL,
    credential          TEXT NOT NULL,
    next_scan_at        BIGINT NOT NULL,
    last_attempt_at     BIGINT,
    last_success_at     BIGINT,
    last_error          TEXT,
    last_error_detail   TEXT,
    offered_fingerprint TEXT
);
CREATE INDEX agentless_targets_due ON agentless_targets(next_scan_at);

CREATE TABLE ssh_host_keys (
    host            TEXT NOT NULL,
    port            BIGINT NOT NULL,
    key_type        TEXT NOT NULL,
    key_blob        TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'confirmed')),
    first_seen_at   BIGINT NOT NULL,
    confirmed_at    BIGINT,
    confirmed_by    TEXT,
    PRIMARY KEY (host, port, fingerprint)
);
