-- Reusable enrolment tokens (issue 14): a name, a number of uses (earlier
-- tokens were single-use: max_uses 1, used once if used_at is set), a
-- revocation time, and defaults (team, environment, tags, owner; JSON)
-- applied to every asset enrolled with the token. Agents remember which
-- token enrolled them (its public id: the first 16 hex digits of the
-- token's digest). Kept statement for statement equal between sqlite/ and
-- postgres/.
ALTER TABLE enrollment_tokens ADD COLUMN name TEXT;
ALTER TABLE enrollment_tokens ADD COLUMN max_uses BIGINT NOT NULL DEFAULT 1;
ALTER TABLE enrollment_tokens ADD COLUMN uses BIGINT NOT NULL DEFAULT 0;
ALTER TABLE enrollment_tokens ADD COLUMN revoked_at BIGINT;
ALTER TABLE enrollment_tokens ADD COLUMN defaults TEXT;
UPDATE enrollment_tokens SET uses = 1 WHERE used_at IS NOT NULL;
ALTER TABLE agents ADD COLUMN enrollment_token TEXT;
