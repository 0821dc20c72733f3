-- Reviews and the auditor role (issue 17). Kept statement for statement
-- equal to sqlite/0014_reviews.sql, which rebuilds the two tables whose
-- role CHECK names the roles (SQLite cannot alter a CHECK).
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('viewer', 'analyst', 'auditor', 'admin'));
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('viewer', 'analyst', 'auditor', 'admin'));

-- A review (issue 17): the quarterly check of the assets a filter
-- selects. `owner_sign` says whether an asset's owner may sign it off:
-- 'auditor' (only when the owner is an auditor), 'never', 'any'. Closing
-- stores the report once, as canonical JSON bytes with their SHA-256;
-- reading it again checks the digest.
CREATE TABLE reviews (
    id          BIGSERIAL PRIMARY KEY,
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
    id          BIGSERIAL PRIMARY KEY,
    review_id   BIGINT NOT NULL REFERENCES reviews(id) ON DELETE CASCADE,
    asset_id    BIGINT,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX review_events_review ON review_events(review_id, id);
