-- The assets page and the register export (issue 17): the OS's regular
-- end of support as a plain column, so that assets filter and sort on it
-- (`os_eol<=+90d`) with one expression on both backends, and an index
-- from which the open findings of an asset are counted per band, and its
-- overdue ones found, without reading the rows. Kept statement for
-- statement equal to migrations/postgres/0010_asset_list.sql.
ALTER TABLE assets ADD COLUMN os_eol TEXT;          -- YYYY-MM-DD, the eol JSON's "eol"
UPDATE assets SET os_eol = json_extract(eol, '$.eol') WHERE eol IS NOT NULL;
DROP INDEX findings_asset_status;
CREATE INDEX findings_asset_open ON findings (asset_id, status, severity_rank, due_sort);
