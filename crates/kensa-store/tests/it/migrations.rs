//! Migrations: an empty database gets the whole schema, opening again is a
//! no-op, and a database from a newer Kensa is refused.

use crate::common;

use common::TestDb;
use kensa_store::{Db, SCHEMA_VERSION, StoreError};

fn migrations_apply_once_and_newer_schemas_are_refused(t: &TestDb) {
    let db = t.open();
    assert_eq!(db.schema_version().expect("version"), SCHEMA_VERSION);
    // Every table of the schema is there and usable.
    for table in [
        "assets",
        "inventories",
        "asset_inventories",
        "findings",
        "finding_events",
        "jobs",
    ] {
        assert_eq!(
            t.raw_count(&format!("SELECT COUNT(*) FROM {table}")),
            0,
            "{table}"
        );
    }
    drop(db);

    // Re-opening changes nothing: same version, no new migration row.
    let rows = t.raw_count("SELECT COUNT(*) FROM schema_migrations");
    assert_eq!(rows, SCHEMA_VERSION);
    let db = t.open();
    assert_eq!(db.schema_version().expect("version"), SCHEMA_VERSION);
    assert_eq!(t.raw_count("SELECT COUNT(*) FROM schema_migrations"), rows);
    drop(db);

    // A newer Kensa migrated it: this one must not touch it.
    let newer = SCHEMA_VERSION + 1;
    t.raw(&format!(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES ({newer}, 'future', 0)"
    ));
    match Db::open(&t.backend) {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (newer, SCHEMA_VERSION));
        }
        Err(e) => panic!("{}: expected SchemaTooNew, got {e}", t.name()),
        Ok(_) => panic!("{}: a newer schema was accepted", t.name()),
    }
    let message = Db::open(&t.backend)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(message.contains("upgrade Kensa"), "{message}");
}

/// Servers starting at the same moment against one empty database: one
/// migrates, the others wait and find it current.
fn concurrent_opens_migrate_once(t: &TestDb) {
    let opened: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| Db::open(&t.backend))).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    for db in opened {
        assert_eq!(
            db.expect("open").schema_version().expect("version"),
            SCHEMA_VERSION
        );
    }
    assert_eq!(
        t.raw_count("SELECT COUNT(*) FROM schema_migrations"),
        SCHEMA_VERSION
    );
}

both!(
    migrations_apply_once_and_newer_schemas_are_refused,
    concurrent_opens_migrate_once
);
