-- What the latest evaluation could not check about an asset's packages
-- (issue 16): the knowledge base's records dropped at import that concern
-- an installed package (`dropped-record` warnings), so that the asset's
-- API answer says so instead of the import log alone. Kept statement for
-- statement equal to migrations/sqlite/0016_scan_warnings.sql.
ALTER TABLE assets ADD COLUMN scan_warnings JSONB;  -- array of {kind, package, message}
