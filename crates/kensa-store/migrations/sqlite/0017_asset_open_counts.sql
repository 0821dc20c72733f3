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
-- migrations/postgres/0017_asset_open_counts.sql.
CREATE TABLE asset_open_counts (
    asset_id        INTEGER PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    critical        INTEGER NOT NULL DEFAULT 0,
    high            INTEGER NOT NULL DEFAULT 0,
    medium          INTEGER NOT NULL DEFAULT 0,
    low             INTEGER NOT NULL DEFAULT 0,
    informational   INTEGER NOT NULL DEFAULT 0,
    untriaged       INTEGER NOT NULL DEFAULT 0,
    total           INTEGER NOT NULL DEFAULT 0,
    overdue         INTEGER NOT NULL DEFAULT 0,
    overdue_at      INTEGER NOT NULL DEFAULT 0,
    next_due        INTEGER NOT NULL DEFAULT 9223372036854775807
);
INSERT INTO asset_open_counts (asset_id) SELECT id FROM assets;
UPDATE asset_open_counts SET
    critical = (SELECT COUNT(*) FROM findings f WHERE f.asset_id = asset_open_counts.asset_id AND f.status = 'ACTIVE' AND f.severity_rank = 5),
    high = (SELECT COUNT(*) FROM findings f WHERE f.asset_id = asset_open_counts.asset_id AND f.status = 'ACTIVE' AND f.severity_rank = 4),
    medium = (SELECT COUNT(*) FROM findings f WHERE f.asset_id = asset_open_counts.asset_id AND f.status = 'ACTIVE' AND f.severity_rank = 3),
    low = (SELECT COUNT(*) FROM findings f WHERE f.asset_id = asset_open_counts.asset_id AND f.status = 'ACTIVE' AND f.severity_rank = 2),
    informational = (SELECT COUNT(*) FROM findings f WHERE f.asset_id = asset_open_counts.asset_id AND f.status = 'ACTIVE' AND f.severity_rank = 1),
    untriaged = (SELECT COUNT(*) FROM findings f WHERE f.asset_id = asset_open_counts.asset_id AND f.status = 'ACTIVE' AND f.severity_rank NOT IN (1, 2, 3, 4, 5)),
    total = (SELECT COUNT(*) FROM findings f WHERE f.asset_id = asset_open_counts.asset_id AND f.status = 'ACTIVE'),
    next_due = COALESCE((SELECT MIN(f.due_sort) FROM findings f WHERE f.asset_id = asset_open_counts.asset_id AND f.status = 'ACTIVE'), 9223372036854775807);
CREATE INDEX asset_open_counts_critical ON asset_open_counts (critical, high, asset_id);
CREATE INDEX asset_open_counts_total ON asset_open_counts (total, asset_id);
CREATE INDEX asset_open_counts_overdue ON asset_open_counts (overdue, asset_id);
CREATE INDEX asset_open_counts_next_due ON asset_open_counts (next_due);

CREATE TRIGGER asset_open_counts_asset AFTER INSERT ON assets
BEGIN
    INSERT OR IGNORE INTO asset_open_counts (asset_id) VALUES (new.id);
END;

CREATE TRIGGER asset_open_counts_insert AFTER INSERT ON findings WHEN new.status = 'ACTIVE'
BEGIN
    INSERT OR IGNORE INTO asset_open_counts (asset_id) VALUES (new.asset_id);
    UPDATE asset_open_counts SET
        critical = critical + (new.severity_rank = 5),
        high = high + (new.severity_rank = 4),
        medium = medium + (new.severity_rank = 3),
        low = low + (new.severity_rank = 2),
        informational = informational + (new.severity_rank = 1),
        untriaged = untriaged + (new.severity_rank NOT IN (1, 2, 3, 4, 5)),
        total = total + 1,
        overdue = overdue + (new.due_sort < overdue_at),
        next_due = CASE WHEN new.due_sort >= overdue_at AND new.due_sort < next_due THEN new.due_sort ELSE next_due END
    WHERE asset_id = new.asset_id;
END;

CREATE TRIGGER asset_open_counts_delete AFTER DELETE ON findings WHEN old.status = 'ACTIVE'
BEGIN
    UPDATE asset_open_counts SET
        critical = critical - (old.severity_rank = 5),
        high = high - (old.severity_rank = 4),
        medium = medium - (old.severity_rank = 3),
        low = low - (old.severity_rank = 2),
        informational = informational - (old.severity_rank = 1),
        untriaged = untriaged - (old.severity_rank NOT IN (1, 2, 3, 4, 5)),
        total = total - 1,
        overdue = overdue - (old.due_sort < overdue_at)
    WHERE asset_id = old.asset_id;
END;

-- An update is the old row leaving the counts and the new one entering.
CREATE TRIGGER asset_open_counts_update AFTER UPDATE OF status, severity_rank, due_sort, asset_id ON findings
WHEN (old.status = 'ACTIVE' OR new.status = 'ACTIVE')
    AND (old.status <> new.status OR old.severity_rank <> new.severity_rank
         OR old.due_sort <> new.due_sort OR old.asset_id <> new.asset_id)
BEGIN
    UPDATE asset_open_counts SET
        critical = critical - (old.severity_rank = 5),
        high = high - (old.severity_rank = 4),
        medium = medium - (old.severity_rank = 3),
        low = low - (old.severity_rank = 2),
        informational = informational - (old.severity_rank = 1),
        untriaged = untriaged - (old.severity_rank NOT IN (1, 2, 3, 4, 5)),
        total = total - 1,
        overdue = overdue - (old.due_sort < overdue_at)
    WHERE asset_id = old.asset_id AND old.status = 'ACTIVE';
    INSERT OR IGNORE INTO asset_open_counts (asset_id) SELECT new.asset_id WHERE new.status = 'ACTIVE';
    UPDATE asset_open_counts SET
        critical = critical + (new.severity_rank = 5),
        high = high + (new.severity_rank = 4),
        medium = medium + (new.severity_rank = 3),
        low = low + (new.severity_rank = 2),
        informational = informational + (new.severity_rank = 1),
        untriaged = untriaged + (new.severity_rank NOT IN (1, 2, 3, 4, 5)),
        total = total + 1,
        overdue = overdue + (new.due_sort < overdue_at),
        next_due = CASE WHEN new.due_sort >= overdue_at AND new.due_sort < next_due THEN new.due_sort ELSE next_due END
    WHERE asset_id = new.asset_id AND new.status = 'ACTIVE';
END;
