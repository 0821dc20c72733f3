-- Issue 16: an inventory whose OS package database could not be read is
-- not the asset's inventory (its empty package list would close every
-- finding); the asset keeps its previous inventory and findings, and
-- remembers the failure (why, and when) for its coverage reason
-- INVENTORY_FAILED until an inventory is read again. Kept statement for
-- statement equal between sqlite/ and postgres/.
ALTER TABLE assets ADD COLUMN inventory_failure TEXT;
ALTER TABLE assets ADD COLUMN inventory_failed_at BIGINT;
