-- Issue 19, notifications. Events are written to `outbox_events` in the
-- transaction of the change that causes them, so that a crash loses none;
-- `matched_at` is NULL until the delivery worker has matched the event
-- against the rules (claimed with FOR UPDATE SKIP LOCKED, so that several
-- servers match each event once). A sweep's event names what it is about
-- in `dedupe_key`, so that the next sweep does not emit it again.
-- A delivery is one message of one rule: the events of one cause (each
-- mode) or of one hour or day (digest modes) collect in one row until its
-- `run_at`, so that a flood is one message. Kept statement for statement
-- equal between sqlite/ and postgres/.
CREATE TABLE outbox_events (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    at              INTEGER NOT NULL,
    cause           TEXT NOT NULL,
    asset_id        INTEGER,
    finding_id      INTEGER,
    payload         TEXT NOT NULL,               -- JSON
    dedupe_key      TEXT,
    matched_at      INTEGER
);
CREATE INDEX outbox_events_pending ON outbox_events (id) WHERE matched_at IS NULL;
CREATE UNIQUE INDEX outbox_events_dedupe ON outbox_events (dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE TABLE notification_channels (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('webhook', 'slack', 'teams', 'smtp', 'syslog')),
    config          TEXT NOT NULL,               -- JSON
    secret          TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE TABLE notification_rules (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    event_types     TEXT NOT NULL,               -- JSON
    filter          TEXT NOT NULL,
    channel_id      INTEGER NOT NULL REFERENCES notification_channels (id),
    mode            TEXT NOT NULL CHECK (mode IN ('each', 'hour', 'day')),
    enabled         INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE TABLE notification_deliveries (
    id              INTEGER PRIMARY KEY,
    rule_id         INTEGER NOT NULL REFERENCES notification_rules (id) ON DELETE CASCADE,
    group_key       TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('collecting', 'retry', 'sending', 'sent', 'dead')),
    event_count     INTEGER NOT NULL,
    message_id      TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    run_at          INTEGER NOT NULL,
    locked_by       TEXT,
    lease_until     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE UNIQUE INDEX notification_deliveries_collecting ON notification_deliveries (rule_id, group_key) WHERE state = 'collecting';
CREATE INDEX notification_deliveries_due ON notification_deliveries (run_at) WHERE state IN ('collecting', 'retry');
CREATE INDEX notification_deliveries_sending ON notification_deliveries (lease_until) WHERE state = 'sending';
CREATE INDEX notification_deliveries_dead ON notification_deliveries (updated_at) WHERE state = 'dead';
CREATE TABLE notification_delivery_events (
    delivery_id     INTEGER NOT NULL REFERENCES notification_deliveries (id) ON DELETE CASCADE,
    event_id        INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, event_id)
);
