//! The ingest entry point: an inventory stored from its canonical bytes,
//! with the asset's facts and its evaluation job in one transaction, and
//! read back checked by the hash of its bytes.

use crate::common;

use std::io::Write;

use common::TestDb;
use kensa_inventory::Inventory;
use kensa_inventory::model::{Os, Package, PackageKind, content_hash_of};
use kensa_store::{
    AssetKind, AssetUpsert, CanonicalInventory, InventoryChange, StoreError, Timestamp,
};

fn inventory(version: &str) -> Inventory {
    let mut inv = Inventory {
        os: Some(Os {
            id: "debian".into(),
            release: "12".into(),
            source_file: "etc/os-release".into(),
            ..Os::default()
        }),
        ..Inventory::default()
    };
    inv.host.hostname = Some("web".into());
    for (name, v) in [("openssl", version), ("libc6", "2.36-9+deb12u4")] {
        inv.packages.push(Package {
            kind: Some(PackageKind::Deb),
            name: name.into(),
            version: v.into(),
            purl: format!("pkg:deb/debian/{name}@{v}"),
            path: "var/lib/dpkg/status".into(),
            ..Package::default()
        });
    }
    inv.collection.started_at = "2026-11-30T07:00:00Z".into();
    inv.normalise();
    inv
}

fn facts(name: &str, at: Timestamp) -> AssetUpsert {
    AssetUpsert {
        kind: AssetKind::Host,
        name: name.into(),
        hostname: Some(name.into()),
        machine_id: Some("m-ingest".into()),
        image_id: None,
        os_id: Some("debian".into()),
        os_release: Some("12".into()),
        seen_at: at,
    }
}

fn canonical<'a>(bytes: &'a [u8], hash: &'a str, zlib: Option<&'a [u8]>) -> CanonicalInventory<'a> {
    CanonicalInventory {
        content: bytes,
        hash,
        schema_version: kensa_inventory::model::SCHEMA_VERSION,
        package_count: 2,
        zlib,
    }
}

fn ingest_stores_the_bytes_the_facts_and_the_job(t: &TestDb) {
    let db = t.open();
    let t1 = Timestamp::from_unix_ms(1_800_000_000_000);
    let t2 = Timestamp::from_unix_ms(1_800_000_060_000);
    let asset = db.upsert_asset(&facts("old-name", t1)).expect("asset");
    let inv = inventory("3.0.11-1~deb12u2");
    let bytes = inv.content_bytes();
    let hash = content_hash_of(&bytes);
    assert_eq!(hash, inv.content_hash());

    let change = db
        .ingest_inventory(
            asset,
            &facts("web", t1),
            &kensa_inventory::Inventory::default(),
            canonical(&bytes, &hash, None),
            Some("evaluate"),
        )
        .expect("ingest");
    assert_eq!(change, InventoryChange::Changed { hash: hash.clone() });
    let a = db.asset(asset).expect("read").expect("exists");
    assert_eq!(
        a.name,
        "web",
        "{}: the facts, in the same transaction",
        t.name()
    );
    assert_eq!(a.inventory_hash.as_deref(), Some(hash.as_str()));
    assert_eq!(a.inventory_at, Some(t1));
    let jobs = db.jobs(Some("evaluate")).expect("jobs");
    assert_eq!(jobs.len(), 1, "{}", t.name());
    assert_eq!(jobs[0].payload["inventory"], serde_json::json!(hash));

    // Unchanged: recorded as seen, nothing queued.
    let again = db
        .ingest_inventory(
            asset,
            &facts("web", t2),
            &kensa_inventory::Inventory::default(),
            canonical(&bytes, &hash, None),
            Some("evaluate"),
        )
        .expect("again");
    assert_eq!(again, InventoryChange::Unchanged);
    assert_eq!(db.jobs(Some("evaluate")).expect("jobs").len(), 1);
    let a = db.asset(asset).expect("read").expect("exists");
    assert_eq!(a.inventory_at, Some(t2));

    // Both readers give the document back; the bytes are the ones sent.
    let mut expected = inv.clone();
    expected.collection = Default::default();
    assert_eq!(
        db.inventory_bytes(&hash).expect("read"),
        Some(bytes.clone())
    );
    assert_eq!(
        db.load_inventory(&hash).expect("read"),
        Some(expected.clone())
    );
    assert_eq!(db.inventory(&hash).expect("read"), Some(expected));
    assert_eq!(db.load_inventory("sha256:0000").expect("read"), None);

    // A caller's own zlib stream is stored as given and reads back.
    let upgraded = inventory("3.0.13-1~deb12u1");
    let bytes2 = upgraded.content_bytes();
    let hash2 = content_hash_of(&bytes2);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&bytes2).expect("zlib");
    let zlib = z.finish().expect("zlib");
    db.ingest_inventory(
        asset,
        &facts("web", t2),
        &kensa_inventory::Inventory::default(),
        canonical(&bytes2, &hash2, Some(&zlib)),
        None,
    )
    .expect("ingest");
    assert_eq!(db.inventory_bytes(&hash2).expect("read"), Some(bytes2));
    assert_eq!(
        t.raw_count(&format!(
            "SELECT COUNT(*) FROM inventories WHERE hash = '{hash2}' AND length(content) = {}",
            zlib.len()
        )),
        1
    );
    assert_eq!(db.inventory_count().expect("count"), 2);

    // Bytes stored under a hash they do not have are refused on reading.
    let wrong = format!("sha256:{}", "0".repeat(64));
    db.ingest_inventory(
        asset,
        &facts("web", t2),
        &kensa_inventory::Inventory::default(),
        canonical(&bytes, &wrong, None),
        None,
    )
    .expect("ingest");
    match db.load_inventory(&wrong) {
        Err(StoreError::Corrupt(m)) => assert!(m.contains(&hash), "{m}"),
        other => panic!("{}: expected Corrupt, got {other:?}", t.name()),
    }
}

both!(ingest_stores_the_bytes_the_facts_and_the_job);
