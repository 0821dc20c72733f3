-- Issue 19: scheduled exports. A schedule is a saved export (findings or
-- the asset register, a filter, a format, a destination) run on a cron
-- expression in a time zone, as its owner. `schedule_runs` holds one row
-- per schedule and due time: its primary key is the claim, so that
-- servers sharing the database run each due time once. Kept statement for
-- statement equal between sqlite/ and postgres/.
CREATE TABLE schedules (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    owner           TEXT NOT NULL,
    cron            TEXT NOT NULL,
    timezone        TEXT NOT NULL,
    spec            TEXT NOT NULL,              -- JSON: what to export, where
    enabled         INTEGER NOT NULL,
    next_due        BIGINT NOT NULL,
    last_due        BIGINT,
    last_job        BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX schedules_due ON schedules(next_due) WHERE enabled = 1;

CREATE TABLE schedule_runs (
    schedule_id     BIGINT NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
    due_at          BIGINT NOT NULL,
    job_id          BIGINT,
    claimed_by      TEXT NOT NULL,
    claimed_at      BIGINT NOT NULL,
    PRIMARY KEY (schedule_id, due_at)
);
