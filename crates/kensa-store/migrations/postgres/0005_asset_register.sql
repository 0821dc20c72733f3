-- Assets known from an asset register (CSV, EC2), and the facts derived
-- from their inventories. Kept column for column equal to
-- migrations/sqlite/0005_asset_register.sql.

-- How the asset became known: an agent's enrolment, a register import, a scan.
ALTER TABLE assets ADD COLUMN source TEXT NOT NULL DEFAULT 'agent'
    CHECK (source IN ('agent', 'register', 'scan'));
-- The cloud's instance id (EC2 i-…): the identity of a registered instance.
ALTER TABLE assets ADD COLUMN instance_id TEXT;
ALTER TABLE assets ADD COLUMN ip_addresses JSONB;   -- array of strings
ALTER TABLE assets ADD COLUMN exposed_ports JSONB;  -- array of {port, protocol, source}
ALTER TABLE assets ADD COLUMN os_pretty TEXT;       -- os-release PRETTY_NAME
ALTER TABLE assets ADD COLUMN middleware JSONB;     -- array of {name, version, package}
ALTER TABLE assets ADD COLUMN eol JSONB;            -- kensa_detect::OsEol
CREATE INDEX assets_instance_id ON assets (instance_id);
CREATE INDEX assets_hostname_ci ON assets (lower(hostname));
CREATE INDEX assets_name_ci ON assets (lower(name));
