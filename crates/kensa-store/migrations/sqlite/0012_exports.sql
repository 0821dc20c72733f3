-- Issue 13, exports and suppression rules. An export's file kept for
-- download is deleted after the retention period and its job marked
-- expired (`expired_at`); the sweep finds the finished exports still kept
-- by their finishing time. A suppression rule that the database refuses
-- while an evaluation runs is skipped, and what it answered is kept on the
-- rule for the admins (`last_error`, `last_error_at`). Kept statement for
-- statement equal between sqlite/ and postgres/.
ALTER TABLE jobs ADD COLUMN expired_at BIGINT;
CREATE INDEX jobs_exports_kept ON jobs (finished_at) WHERE kind = 'export' AND state = 'done' AND expired_at IS NULL;
ALTER TABLE suppression_rules ADD COLUMN last_error TEXT;
ALTER TABLE suppression_rules ADD COLUMN last_error_at BIGINT;
