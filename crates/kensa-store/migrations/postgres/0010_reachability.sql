-- Issue 18: network reachability. The network documents (the AWS CLI's
-- JSON, rules files) as uploaded, what the reachability model computed
-- per asset, an admin's override of an asset's exposure (who and why),
-- and whether a finding is about something the internet reaches. Kept
-- column for column equal to migrations/sqlite/0011_reachability.sql.

CREATE TABLE network_documents (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('aws', 'rules')),
    name            TEXT NOT NULL,
    content         BYTEA NOT NULL,             -- the upload, as sent
    uploaded_by     TEXT NOT NULL,
    uploaded_at     BIGINT NOT NULL,
    UNIQUE (kind, name)
);

-- JSON: the model's per-port rows, the exposure derived from them and the
-- reachable port ranges the scorer reads (kensa_store::Reachability).
ALTER TABLE assets ADD COLUMN reachability JSONB;
-- JSON: {exposure, by, reason, at}: an admin's word, above the model's.
ALTER TABLE assets ADD COLUMN exposure_override JSONB;

-- A package whose own process listens on a port the internet reaches, or
-- a reachability finding of a port with a listener.
ALTER TABLE findings ADD COLUMN internet_reachable BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX findings_internet_reachable ON findings (internet_reachable, status, severity_rank)
    WHERE internet_reachable;
