//! `apply_evaluation` is one transaction: an evaluation that fails midway
//! leaves the asset's findings exactly as they were.

use crate::common;

use common::{TestDb, finding};
use kensa_store::{AssetKind, AssetUpsert, Status, Timestamp};

fn a_failed_evaluation_changes_nothing(t: &TestDb) {
    let db = t.open();
    let t1 = Timestamp::from_unix_ms(1_700_000_000_000);
    let t2 = Timestamp::from_unix_ms(1_700_000_100_000);
    let asset = db
        .upsert_asset(&AssetUpsert {
            kind: AssetKind::Host,
            name: "db1".into(),
            hostname: Some("db1".into()),
            machine_id: Some("m-db1".into()),
            image_id: None,
            os_id: Some("debian".into()),
            os_release: Some("12".into()),
            seen_at: t1,
        })
        .expect("asset");
    let first = [
        finding("CVE-2024-0001", "openssl", "3.0.11"),
        finding("CVE-2024-0002", "openssl", "3.0.11"),
        finding("CVE-2024-0003", "libc6", "2.36"),
    ];
    let counts = db
        .apply_evaluation(asset, &first, t1)
        .expect("first evaluation");
    assert_eq!(counts.new, 3);
    let before = db.findings(Some(asset), None).expect("findings");
    let events = t.raw_count("SELECT COUNT(*) FROM finding_events");

    // A new version of one finding, a new finding, one left out (it would
    // close), and last (by identity order: `~` sorts after every CVE id) a
    // finding the schema refuses: an empty package name.
    let mut bad = finding("~BAD-0001", "x", "1");
    bad.package.name = String::new();
    let second = [
        finding("CVE-2024-0001", "openssl", "3.0.12"),
        finding("CVE-2024-0004", "zlib1g", "1.2.13"),
        finding("CVE-2024-0003", "libc6", "2.36"),
        bad,
    ];
    let err = db
        .apply_evaluation(asset, &second, t2)
        .expect_err("the schema refuses an empty package name");
    eprintln!("{}: {err}", t.name());
    assert!(err.to_string().contains("apply evaluation"), "{err}");

    assert_eq!(db.findings(Some(asset), None).expect("findings"), before);
    assert_eq!(t.raw_count("SELECT COUNT(*) FROM finding_events"), events);
    let a = db.asset(asset).expect("read").expect("exists");
    assert_eq!(a.evaluated_at, Some(t1));

    // The connection is fine afterwards, and the same evaluation without
    // the bad finding applies.
    let counts = db.apply_evaluation(asset, &second[..3], t2).expect("retry");
    assert_eq!((counts.new, counts.still_active, counts.closed), (1, 2, 1));
    let open = db
        .findings(Some(asset), Some(Status::Active))
        .expect("findings");
    assert_eq!(open.len(), 3);
}

both!(a_failed_evaluation_changes_nothing);
