-- Issue 13: an API token has an owner, the user whose authority it
-- carries (a token works only while its owner is enabled, and never above
-- the owner's role), and remembers when it was last used. Tokens made
-- before owners existed could only be made by admins, and the first one
-- is the first admin's: they go to the user `admin`. Security events
-- (failed logins, tokens made and revoked, role changes, enrolments) go to
-- an audit table. Kept statement for statement equal between sqlite/
-- and postgres/.
ALTER TABLE api_tokens ADD COLUMN owner TEXT;
ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT;
UPDATE api_tokens SET owner = 'admin' WHERE owner IS NULL;

CREATE TABLE security_audit (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX security_audit_at ON security_audit(at);
