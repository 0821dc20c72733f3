-- Open-finding counts per asset (issue 17): the assets page sorts the
-- whole fleet by critical, open or overdue findings, and counting 200,000
-- findings for every page took seconds. Triggers keep the counts in the
-- same transaction as every change of a finding's status, severity or
-- due date, whatever code path makes it (evaluations, triage, rules,
-- SLA changes, deletions).
--
-- Overdue depends on the clock, so it is kept relative to `overdue_at`:
-- `overdue` counts the ACTIVE findings due before `overdue_at`, and
-- `next_due` is at most the earliest due date at or after it. While
-- `next_due` is in the future, `overdue` is exact now; once it passes,
-- the reader recounts that asset (and `Db::refresh_overdue` moves
-- `overdue_at` forward). Kept statement for statement equal to
-- migrations/sqlite/0017_asset_open_counts.sql.
CREATE TABLE asset_open_counts (
    asset_id        BIGINT PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    critical        BIGINT NOT NULL DEFAULT 0,
    high            BIGINT NOT NULL DEFAULT 0,
    medium          BIGINT NOT NULL DEFAULT 0,
    low             BIGINT NOT NULL DEFAULT 0,
    informational   BIGINT NOT NULL DEFAULT 0,
    untriaged       BIGINT NOT NULL DEFAULT 0,
    total           BIGINT NOT NULL DEFAULT 0,
    overdue         BIGINT NOT NULL DEFAULT 0,
    overdue_at      BIGINT NOT NULL DEFAULT 0,
    next_due        BIGINT NOT NULL DEFAULT 9223372036854775807
);
INSERT INTO asset_open_counts (asset_id) SELECT id FROM assets;
UPDATE asset_open_counts c SET
    critical = s.critical, high = s.high, medium = s.medium, low = s.low,
    informational = s.informational, untriaged = s.untriaged, total = s.total,
    next_due = s.next_due
FROM (SELECT asset_id,
        COUNT(*) FILTER (WHERE severity_rank = 5) AS critical,
        COUNT(*) FILTER (WHERE severity_rank = 4) AS high,
        COUNT(*) FILTER (WHERE severity_rank = 3) AS medium,
        COUNT(*) FILTER (WHERE severity_rank = 2) AS low,
        COUNT(*) FILTER (WHERE severity_rank = 1) AS informational,
        COUNT(*) FILTER (WHERE severity_rank NOT IN (1, 2, 3, 4, 5)) AS untriaged,
        COUNT(*) AS total,
        MIN(due_sort) AS next_due
      FROM findings WHERE status = 'ACTIVE' GROUP BY asset_id) s
WHERE c.asset_id = s.asset_id;
CREATE INDEX asset_open_counts_critical ON asset_open_counts (critical, high, asset_id);
CREATE INDEX asset_open_counts_total ON asset_open_counts (total, asset_id);
CREATE INDEX asset_open_counts_overdue ON asset_open_counts (overdue, asset_id);
CREATE INDEX asset_open_counts_next_due ON asset_open_counts (next_due);

CREATE FUNCTION asset_open_counts_asset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO asset_open_counts (asset_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER asset_open_counts_asset AFTER INSERT ON assets
    FOR EACH ROW EXECUTE FUNCTION asset_open_counts_asset();

-- An update is the old row leaving the counts and the new one entering.
CREATE FUNCTION asset_open_counts_finding() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'ACTIVE' THEN
        UPDATE asset_open_counts SET
            critical = critical - (OLD.severity_rank = 5)::int,
            high = high - (OLD.severity_rank = 4)::int,
            medium = medium - (OLD.severity_rank = 3)::int,
            low = low - (OLD.severity_rank = 2)::int,
            informational = informational - (OLD.severity_rank = 1)::int,
            untriaged = untriaged - (OLD.severity_rank NOT IN (1, 2, 3, 4, 5))::int,
            total = total - 1,
            overdue = overdue - (OLD.due_sort < overdue_at)::int
        WHERE asset_id = OLD.asset_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status = 'ACTIVE' THEN
        INSERT INTO asset_open_counts (asset_id) VALUES (NEW.asset_id) ON CONFLICT DO NOTHING;
        UPDATE asset_open_counts SET
            critical = critical + (NEW.severity_rank = 5)::int,
            high = high + (NEW.severity_rank = 4)::int,
            medium = medium + (NEW.severity_rank = 3)::int,
            low = low + (NEW.severity_rank = 2)::int,
            informational = informational + (NEW.severity_rank = 1)::int,
            untriaged = untriaged + (NEW.severity_rank NOT IN (1, 2, 3, 4, 5))::int,
            total = total + 1,
            overdue = overdue + (NEW.due_sort < overdue_at)::int,
            next_due = CASE WHEN NEW.due_sort >= overdue_at AND NEW.due_sort < next_due
                            THEN NEW.due_sort ELSE next_due END
        WHERE asset_id = NEW.asset_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER asset_open_counts_insert AFTER INSERT ON findings
    FOR EACH ROW WHEN (NEW.status = 'ACTIVE') EXECUTE FUNCTION asset_open_counts_finding();
CREATE TRIGGER asset_open_counts_delete AFTER DELETE ON findings
    FOR EACH ROW WHEN (OLD.status = 'ACTIVE') EXECUTE FUNCTION asset_open_counts_finding();
CREATE TRIGGER asset_open_counts_update AFTER UPDATE OF status, severity_rank, due_sort, asset_id ON findings
    FOR EACH ROW WHEN ((OLD.status = 'ACTIVE' OR NEW.status = 'ACTIVE')
        AND (OLD.status <> NEW.status OR OLD.severity_rank <> NEW.severity_rank
             OR OLD.due_sort <> NEW.due_sort OR OLD.asset_id <> NEW.asset_id))
    EXECUTE FUNCTION asset_open_counts_finding();
