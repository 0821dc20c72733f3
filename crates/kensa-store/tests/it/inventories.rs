//! Inventories: stored once per content, whoever sends them; unchanged
//! content is recognised; what is stored reads back as it was sent.

use crate::common;

use common::TestDb;
use kensa_inventory::Inventory;
use kensa_inventory::model::{Host, Os, Package, PackageKind, Source, SourceKind};
use kensa_store::{AssetKind, AssetUpsert, InventoryChange, Timestamp};

fn inventory(hostname: &str) -> Inventory {
    let mut inv = Inventory {
        schema_version: kensa_inventory::model::SCHEMA_VERSION,
        source: Source {
            kind: SourceKind::Host,
            path: "/".into(),
            image: None,
        },
        host: Host {
            hostname: Some(hostname.into()),
            ..Host::default()
        },
        os: Some(Os {
            id: "debian".into(),
            release: "12".into(),
            version: Some("12.5".into()),
            codename: Some("bookworm".into()),
            pretty_name: None,
            variant: None,
            source_file: "etc/os-release".into(),
        }),
        ..Inventory::default()
    };
    for (name, version) in [("openssl", "3.0.11-1~deb12u2"), ("libc6", "2.36-9+deb12u4")] {
        inv.packages.push(Package {
            kind: Some(PackageKind::Deb),
            name: name.into(),
            version: version.into(),
            arch: Some("amd64".into()),
            purl: format!("pkg:deb/debian/{name}@{version}?arch=amd64"),
            path: "var/lib/dpkg/status".into(),
            ..Package::default()
        });
    }
    inv.collection.collector = "kensa".into();
    inv.collection.started_at = "2026-11-30T07:00:00Z".into();
    inv.normalise();
    inv
}

fn host(machine_id: &str, at: Timestamp) -> AssetUpsert {
    AssetUpsert {
        kind: AssetKind::Host,
        name: "web".into(),
        hostname: Some("web".into()),
        machine_id: Some(machine_id.into()),
        image_id: None,
        os_id: Some("debian".into()),
        os_release: Some("12".into()),
        seen_at: at,
    }
}

fn identical_inventories_are_stored_once(t: &TestDb) {
    let db = t.open();
    let t1 = Timestamp::from_unix_ms(1_700_000_000_000);
    let t2 = Timestamp::from_unix_ms(1_700_000_060_000);
    // Two servers built from one image: different machine ids, the same
    // packages (and, here, the same hostname).
    let a = db.upsert_asset(&host("aaaa", t1)).expect("asset a");
    let b = db.upsert_asset(&host("bbbb", t1)).expect("asset b");
    assert_ne!(a, b);
    assert_eq!(db.upsert_asset(&host("aaaa", t2)).expect("again"), a);

    let inv = inventory("web");
    let hash = inv.content_hash();
    assert_eq!(
        db.put_inventory(a, &inv, t1).expect("put"),
        InventoryChange::Changed { hash: hash.clone() }
    );
    // The next collection: only its `collection` block differs.
    let mut again = inv.clone();
    again.collection.started_at = "2026-11-30T08:00:00Z".into();
    again.collection.duration_ms = 1234;
    assert_eq!(
        db.put_inventory(a, &again, t2).expect("put again"),
        InventoryChange::Unchanged
    );
    assert_eq!(
        db.put_inventory(b, &again, t2).expect("put b"),
        InventoryChange::Changed { hash: hash.clone() }
    );
    assert_eq!(db.inventory_count().expect("count"), 1);

    let asset = db.asset(a).expect("read").expect("exists");
    assert_eq!(asset.inventory_hash.as_deref(), Some(hash.as_str()));
    assert_eq!(
        asset.inventory_at,
        Some(t2),
        "the time of the latest, unchanged, inventory"
    );
    assert_eq!(asset.created_at, t1);

    // What is stored reads back: the same content, the same hash.
    let stored = db.inventory(&hash).expect("read").expect("stored");
    assert_eq!(stored.content_hash(), hash);
    assert_eq!(stored.packages, inv.packages);
    assert_eq!(stored.os, inv.os);
    assert!(db.inventory("sha256:0000").expect("read").is_none());

    // An upgrade: new content, a second stored inventory.
    let mut upgraded = inv.clone();
    upgraded.packages[1].version = "3.0.13-1~deb12u1".into();
    let Ok(InventoryChange::Changed { hash: new_hash }) = db.put_inventory(a, &upgraded, t2) else {
        panic!("an upgraded inventory is a change");
    };
    assert_ne!(new_hash, hash);
    assert_eq!(db.inventory_count().expect("count"), 2);
    assert_eq!(
        t.raw_count("SELECT COUNT(*) FROM asset_inventories"),
        3,
        "a's two inventories and b's one"
    );
    // Stored compressed: smaller than the document.
    assert_eq!(
        t.raw_count("SELECT COUNT(*) FROM inventories WHERE length(content) < size"),
        2
    );
}

fn management_items_survive_upserts(t: &TestDb) {
    use kensa_store::{InternetExposure, Management};
    let db = t.open();
    let at = Timestamp::from_unix_ms(1_700_000_000_000);
    let a = db.upsert_asset(&host("cccc", at)).expect("asset");
    let m = Management {
        operation_start: Some("2024-01-15".into()),
        support_end: Some("2028-06-30".into()),
        owner: Some("alice".into()),
        team: Some("payments".into()),
        environment: Some("production".into()),
        tags: vec!["pci".into(), "web".into()],
        internet_exposure: Some(InternetExposure::Yes),
        exposed_ports: Vec::new(),
    };
    db.set_management(a, &m, at).expect("set");
    db.upsert_asset(&host("cccc", at))
        .expect("agent reports again");
    let asset = db.asset(a).expect("read").expect("exists");
    assert_eq!(asset.management, m);
    assert_eq!(asset.kind, AssetKind::Host);
    assert_eq!(asset.machine_id.as_deref(), Some("cccc"));
}

/// `put_inventory_queued` queues the evaluation job in the inventory's own
/// transaction: a new content queues exactly one job naming it, unchanged
/// content queues none.
fn a_changed_inventory_and_its_job_commit_together(t: &TestDb) {
    let db = t.open();
    let at = Timestamp::from_unix_ms(1_800_000_000_000);
    let asset = db.upsert_asset(&host("m1", at)).expect("asset");
    let inv = inventory("web");
    let change = db
        .put_inventory_queued(asset, &inv, at, "evaluate")
        .expect("put");
    let InventoryChange::Changed { hash } = change else {
        panic!("{}: first inventory must be a change", t.name());
    };
    let jobs = db.jobs(Some("evaluate")).expect("jobs");
    assert_eq!(jobs.len(), 1, "{}", t.name());
    assert_eq!(jobs[0].payload["inventory"], serde_json::json!(hash));
    assert_eq!(jobs[0].payload["asset"], serde_json::json!(asset.0));
    let again = db
        .put_inventory_queued(asset, &inv, at, "evaluate")
        .expect("put again");
    assert_eq!(again, InventoryChange::Unchanged);
    assert_eq!(
        db.jobs(Some("evaluate")).expect("jobs").len(),
        1,
        "{}",
        t.name()
    );
}

both!(
    identical_inventories_are_stored_once,
    a_changed_inventory_and_its_job_commit_together,
    management_items_survive_upserts
);
