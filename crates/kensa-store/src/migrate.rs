//! Schema migrations: one numbered list, each step written once per
//! dialect, embedded in the binary.

use crate::error::{Result, StoreError};
use crate::sql::{Dialect, Sql, p};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

impl Migration {
    fn sql(&self, dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::Sqlite => self.sqlite,
            Dialect::Postgres => self.postgres,
        }
    }
}

/// Append only: a released migration is never edited, because databases
/// that already ran it would not run it again.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "auth",
        sqlite: include_str!("../migrations/sqlite/0002_auth.sql"),
        postgres: include_str!("../migrations/postgres/0002_auth.sql"),
    },
    Migration {
        version: 3,
        name: "triage",
        sqlite: include_str!("../migrations/sqlite/0003_triage.sql"),
        postgres: include_str!("../migrations/postgres/0003_triage.sql"),
    },
    Migration {
        version: 4,
        name: "users",
        sqlite: include_str!("../migrations/sqlite/0004_users.sql"),
        postgres: include_str!("../migrations/postgres/0004_users.sql"),
    },
    Migration {
        version: 5,
        name: "asset register",
        sqlite: include_str!("../migrations/sqlite/0005_asset_register.sql"),
        postgres: include_str!("../migrations/postgres/0005_asset_register.sql"),
    },
    Migration {
        version: 6,
        name: "dashboard",
        sqlite: include_str!("../migrations/sqlite/0006_dashboard.sql"),
        postgres: include_str!("../migrations/postgres/0006_dashboard.sql"),
    },
    Migration {
        version: 7,
        name: "enrolment",
        sqlite: include_str!("../migrations/sqlite/0007_enrolment.sql"),
        postgres: include_str!("../migrations/postgres/0007_enrolment.sql"),
    },
    Migration {
        version: 8,
        name: "security",
        sqlite: include_str!("../migrations/sqlite/0008_security.sql"),
        postgres: include_str!("../migrations/postgres/0008_security.sql"),
    },
    Migration {
        version: 9,
        name: "inventory failure",
        sqlite: include_str!("../migrations/sqlite/0009_inventory_failure.sql"),
        postgres: include_str!("../migrations/postgres/0009_inventory_failure.sql"),
    },
    Migration {
        version: 10,
        name: "reachability",
        sqlite: include_str!("../migrations/sqlite/0010_reachability.sql"),
        postgres: include_str!("../migrations/postgres/0010_reachability.sql"),
    },
    Migration {
        version: 11,
        name: "agentless",
        sqlite: include_str!("../migrations/sqlite/0011_agentless.sql"),
        postgres: include_str!("../migrations/postgres/0011_agentless.sql"),
    },
    Migration {
        version: 12,
        name: "exports",
        sqlite: include_str!("../migrations/sqlite/0012_exports.sql"),
        postgres: include_str!("../migrations/postgres/0012_exports.sql"),
    },
    Migration {
        version: 13,
        name: "asset list",
        sqlite: include_str!("../migrations/sqlite/0013_asset_list.sql"),
        postgres: include_str!("../migrations/postgres/0013_asset_list.sql"),
    },
    Migration {
        version: 14,
        name: "reviews",
        sqlite: include_str!("../migrations/sqlite/0014_reviews.sql"),
        postgres: include_str!("../migrations/postgres/0014_reviews.sql"),
    },
    Migration {
        version: 15,
        name: "agentless jump",
        sqlite: include_str!("../migrations/sqlite/0015_agentless_jump.sql"),
        postgres: include_str!("../migrations/postgres/0015_agentless_jump.sql"),
    },
    Migration {
        version: 16,
        name: "scan warnings",
        sqlite: include_str!("../migrations/sqlite/0016_scan_warnings.sql"),
        postgres: include_str!("../migrations/postgres/0016_scan_warnings.sql"),
    },
    Migration {
        version: 17,
        name: "asset open counts",
        sqlite: include_str!("../migrations/sqlite/0017_asset_open_counts.sql"),
        postgres: include_str!("../migrations/postgres/0017_asset_open_counts.sql"),
    },
    Migration {
        version: 18,
        name: "notifications",
        sqlite: include_str!("../migrations/sqlite/0018_notifications.sql"),
        postgres: include_str!("../migrations/postgres/0018_notifications.sql"),
    },
    Migration {
        version: 19,
        name: "schedules",
        sqlite: include_str!("../migrations/sqlite/0019_schedules.sql"),
        postgres: include_str!("../migrations/postgres/0019_schedules.sql"),
    },
];

/// The newest schema this build knows.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// An arbitrary constant: the advisory lock key that serialises processes
/// migrating one PostgreSQL database at the same moment.
const PG_MIGRATION_LOCK: i64 = 0x6b65_6e73_615f_6d67;

/// Brings the schema up to [`SCHEMA_VERSION`] inside the caller's
/// transaction: all pending steps apply, or none. Returns the versions
/// applied (none when the database was current).
pub(crate) fn migrate(tx: &mut dyn Sql) -> Result<Vec<i64>> {
    if tx.dialect() == Dialect::Postgres {
        // Before the CREATE TABLE: two processes creating it at once would
        // otherwise collide on the catalog's unique index.
        tx.exec("SELECT pg_advisory_xact_lock(?)", p![PG_MIGRATION_LOCK])?;
    }
    tx.batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version     BIGINT PRIMARY KEY,
            name        TEXT NOT NULL,
            applied_at  BIGINT NOT NULL
        )",
    )?;
    let current = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )?
        .i64(0)?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    let mut applied = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        let dialect = tx.dialect();
        tx.batch(m.sql(dialect))
            .and_then(|()| {
                tx.exec(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, NOW_MS)",
                    p![m.version, m.name],
                )
            })
            .map_err(|e| StoreError::Migration {
                version: m.version,
                name: m.name,
                source: Box::new(e),
            })?;
        applied.push(m.version);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list and the files agree: versions 1, 2, 3... with no gap, and
    /// each has a file of the same number and name for both dialects.
    #[test]
    fn migrations_are_numbered_without_gaps_for_both_dialects() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i64::try_from(i + 1).expect("small"));
            let file = format!("{:04}_{}.sql", m.version, m.name.replace(' ', "_"));
            for (dialect, text) in [("sqlite", m.sqlite), ("postgres", m.postgres)] {
                let on_disk = std::fs::read_to_string(dir.join(dialect).join(&file))
                    .unwrap_or_else(|e| panic!("{dialect}/{file}: {e}"));
                assert_eq!(on_disk, text);
            }
        }
        for dialect in ["sqlite", "postgres"] {
            let n = std::fs::read_dir(dir.join(dialect)).expect("dir").count();
            assert_eq!(n, MIGRATIONS.len(), "{dialect}: a file not in MIGRATIONS");
        }
    }
}
