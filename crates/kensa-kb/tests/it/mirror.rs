//! The mirror layout: feeds found at their documented paths.

use kensa_kb::model::Record;

/// The Debian tracker's JSON export at `debian-tracker.json` (a hand-made
/// file in the upstream format: the mirror holds no real export).
#[test]
fn debian_tracker_json_export_is_read_from_its_mirror_path() {
    let mirror = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/debian/tracker-export.json"),
        mirror.path().join("debian-tracker.json"),
    )
    .expect("copy fixture");
    let mut records: Vec<Record> = Vec::new();
    let imported = kensa_kb::mirror::import(mirror.path(), &mut records).expect("import");
    assert_eq!(imported.len(), 1);
    assert_eq!(imported[0].feed, "debian-json");
    // The fixture holds two bad entries on purpose (an unknown release, a
    // version with spaces): reported with the file, the rest imported.
    let errors = &imported[0].report.errors;
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors
            .iter()
            .all(|e| e.file.ends_with("debian-tracker.json"))
    );
    assert!(imported[0].report.records > 0);
    assert_eq!(imported[0].report.records, records.len());
    assert!(records.iter().all(|r| matches!(r, Record::Advisory(a) if a.affected.iter().all(|x| x.namespace.starts_with("debian:")))));
}
