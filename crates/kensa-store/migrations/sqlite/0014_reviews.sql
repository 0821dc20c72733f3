-- Reviews and the auditor role (issue 17). Kept equal to
-- postgres/0014_reviews.sql in what it makes. SQLite cannot alter a
-- CHECK, so `users` and `api_tokens` are rebuilt with the same columns in
-- the same order. Foreign keys are on and migrations run in one
-- transaction, where they cannot be turned off: dropping `users` would
-- cascade to `sessions`, so the sessions are set aside and rebuilt too
-- (nothing else references either table).
CREATE TEMP TABLE sessions_keep AS SELECT * FROM sessions;
DROP TABLE sessions;

CREATE TABLE users_new (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    role            TEXT NOT NULL CHECK (role IN ('viewer', 'analyst', 'auditor', 'admin')),
    password_hash   TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    disabled_at     BIGINT
);
INSERT INTO users_new (id, name, role, password_hash, created_at, updated_at, disabled_at)
    SELECT id, name, role, password_hash, created_at, updated_at, disabled_at FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

CREATE TABLE sessions (
    digest          TEXT PRIMARY KEY,
    user_id         BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_digest     TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expires ON sessions(expires_at);
INSERT INTO sessions SELECT * FROM sessions_keep;
DROP TABLE sessions_keep;

CREATE TABLE api_tokens_new (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('viewer', 'analyst', 'auditor', 'admin')),
    digest      TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    revoked_at  BIGINT,
    owner       TEXT,
    last_used_at BIGINT
);
INSERT INTO api_tokens_new SELECT id, name, role, digest, created_at, expires_at, revoked_at, owner, last_used_at FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;

-- A review (issue 17): the quarterly check of the assets a filter
-- selects. `owner_sign` says whether an asset's owner may sign it off:
-- 'auditor' (only when the owner is an auditor), 'never', 'any'. Closing
-- stores the report once, as canonical JSON bytes with their SHA-256;
-- reading it again checks the digest.
CREATE TABLE reviews (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    scope       TEXT NOT NULL,
    owner_sign  TEXT NOT NULL CHECK (owner_sign IN ('auditor', 'never', 'any')),
    state       TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    opened_by   TEXT NOT NULL,
    opened_at   BIGINT NOT NULL,
    closed_by   TEXT,
    closed_at   BIGINT,
    report      TEXT,
    digest      TEXT
);

-- One asset of a review. No foreign key to assets: an asset removed
-- during the review stays in it, as removed, with what it was when the
-- review opened (`snapshot`, JSON).
CREATE TABLE review_assets (
    review_id   BIGINT NOT NULL REFERENCES reviews(id) ON DELETE CASCADE,
    asset_id    BIGINT NOT NULL,
    name        TEXT NOT NULL,
    snapshot    TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'answered', 'signed', 'sent_back')),
    answers     TEXT,
    answered_by TEXT,
    answered_at BIGINT,
    signed_by   TEXT,
    signed_at   BIGINT,
    comment     TEXT,
    removed_at  BIGINT,
    PRIMARY KEY (review_id, asset_id)
);
CREATE INDEX review_assets_asset ON review_assets(asset_id);

-- Everything that happened in a review, in order: opened, answered,
-- signed, sent back, management items changed, asset removed, closed.
CREATE TABLE review_events (
    id          INTEGER PRIMARY KEY,
    review_id   BIGINT NOT NULL REFERENCES reviews(id) ON DELETE CASCADE,
    asset_id    BIGINT,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX review_events_review ON review_events(review_id, id);
