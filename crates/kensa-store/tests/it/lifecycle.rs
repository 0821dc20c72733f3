//! The finding lifecycle with real findings: an Alpine 3.4 root (the data
//! folder's apk database) scanned by `kensa_detect::scan` against a
//! knowledge base imported from the data folder, then upgraded, upgraded
//! further, downgraded again, with one finding suppressed.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use common::TestDb;
use kensa_inventory::Inventory;
use kensa_kb::base::{KnowledgeBase, KnowledgeBaseBuilder};
use kensa_model::Finding;
use kensa_store::{AssetUpsert, Db, Status, StoreError, StoredFinding, Timestamp};

pub(crate) struct World {
    _dir: tempfile::TempDir,
    pub(crate) kb: KnowledgeBase,
    pub(crate) inventory: Inventory,
}

pub(crate) fn world() -> World {
    let dir = kensa_testkit::process_tempdir();
    let kb_dir = dir.path().join("kb");
    let mut builder = KnowledgeBaseBuilder::create(&kb_dir).expect("kb builder");
    kensa_kb::mirror::import(&kensa_testkit::data_dir(), &mut builder).expect("import");
    builder.finish().expect("finish");
    let kb = KnowledgeBase::open(&kb_dir).expect("open kb");
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("lib/apk/db")).expect("mkdir");
    std::fs::create_dir_all(root.join("etc")).expect("mkdir");
    std::fs::copy(
        kensa_testkit::data_path("fixtures/apk/alpine/installed"),
        root.join("lib/apk/db/installed"),
    )
    .expect("copy the apk database");
    std::fs::write(root.join("etc/alpine-release"), "3.4.6\n").expect("write");
    let mut inventory =
        kensa_inventory::collect(&kensa_inventory::Target::Root(root)).expect("inventory");
    inventory.host.hostname = Some("alpine34".into());
    inventory.host.machine_id = Some("0123456789abcdef".into());
    World {
        _dir: dir,
        kb,
        inventory,
    }
}

impl World {
    pub(crate) fn scan(&self, inv: &Inventory) -> Vec<Finding> {
        let opts = kensa_detect::Options {
            today: Some("2026-11-30".into()),
            scanned_at: Some("2026-11-30T07:00:00Z".into()),
            ..Default::default()
        };
        kensa_detect::scan(inv, &self.kb, &opts)
            .expect("scan")
            .findings
    }

    /// The inventory with one package at another version.
    pub(crate) fn with_version(&self, package: &str, version: &str) -> Inventory {
        let mut inv = self.inventory.clone();
        for p in inv.packages.iter_mut().filter(|p| p.name == package) {
            p.version = version.into();
            if p.source_version.is_some() {
                p.source_version = Some(version.into());
            }
        }
        inv
    }
}

fn of(findings: &[StoredFinding], package: &str) -> BTreeMap<String, StoredFinding> {
    findings
        .iter()
        .filter(|f| f.package_name == package)
        .map(|f| (f.vulnerability_id.clone(), f.clone()))
        .collect()
}

/// A package with findings fixed at two versions or more: at one of its
/// fixed versions some of its findings remain (`partial`), at another
/// none does (`full`).
fn pick(w: &World, findings: &[Finding]) -> (String, String, String) {
    let mut fixes: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in findings {
        if f.package.kind == "apk"
            && let Some(v) = f.fixed_version.as_deref()
        {
            fixes.entry(&f.package.name).or_default().push(v);
        }
    }
    for (package, mut versions) in fixes {
        versions.sort_unstable();
        versions.dedup();
        if versions.len() < 2 {
            continue;
        }
        let before = findings
            .iter()
            .filter(|f| f.package.name == package)
            .count();
        let (mut partial, mut full) = (None, None);
        for v in versions {
            let left = w
                .scan(&w.with_version(package, v))
                .iter()
                .filter(|f| f.package.name == package)
                .count();
            if left == 0 {
                full.get_or_insert(v);
            } else if left < before {
                partial.get_or_insert(v);
            }
        }
        if let (Some(p), Some(f)) = (partial, full) {
            return (package.to_owned(), p.to_owned(), f.to_owned());
        }
    }
    panic!("no Alpine package in the data folder has findings fixed at two versions");
}

fn lifecycle_walk(t: &TestDb, w: &World) {
    let db: Db = t.open();
    let at = |minutes: i64| Timestamp::from_unix_ms(1_800_000_000_000 + minutes * 60_000);
    let asset = db
        .upsert_asset(&AssetUpsert::from_inventory(&w.inventory, at(0)))
        .expect("asset");
    db.put_inventory(asset, &w.inventory, at(0))
        .expect("inventory");

    // 1. First evaluation: everything new and active.
    let original = w.scan(&w.inventory);
    assert!(
        original.len() > 20,
        "the Alpine 3.4 root has dozens of findings"
    );
    let counts = db
        .apply_evaluation(asset, &original, at(0))
        .expect("evaluate");
    let all = db.findings(Some(asset), None).expect("findings");
    assert_eq!(counts.new as usize, all.len());
    assert_eq!(
        (counts.reopened, counts.still_active, counts.closed),
        (0, 0, 0)
    );
    assert!(all.iter().all(|f| f.status == Status::Active
        && f.first_observed == at(0)
        && f.last_observed == at(0)));
    // The full record and the indexed columns agree.
    for f in &all {
        assert_eq!(f.severity, f.finding.severity);
        assert_eq!(f.fixed_version, f.finding.fixed_version);
        assert_eq!(f.score, f.finding.effective_score());
        assert_eq!(f.kev, f.finding.kev.is_some());
    }
    // Applying the same evaluation again changes nothing but the times seen.
    let counts = db.apply_evaluation(asset, &original, at(1)).expect("again");
    assert_eq!((counts.new, counts.still_active), (0, all.len() as u32));
    let again = db.findings(Some(asset), None).expect("findings");
    assert!(
        again
            .iter()
            .all(|f| f.updated_at == at(0) && f.last_observed == at(1))
    );

    let (package, partial, full) = pick(w, &original);
    eprintln!(
        "{}: {package}: partly fixed at {partial}, fully at {full}",
        t.name()
    );
    let start = of(&all, &package);

    // 2. Upgraded to a version that fixes some: those close, the others
    // stay the same findings (identity has no version) at the new version.
    let upgraded = w.scan(&w.with_version(&package, &partial));
    let counts = db
        .apply_evaluation(asset, &upgraded, at(2))
        .expect("upgrade");
    let now = of(&db.findings(Some(asset), None).expect("findings"), &package);
    let (closed, open): (Vec<_>, Vec<_>) = now.values().partition(|f| f.status == Status::Closed);
    assert!(!closed.is_empty() && !open.is_empty());
    assert_eq!(counts.closed as usize, closed.len());
    for f in &open {
        let was = &start[&f.vulnerability_id];
        assert_eq!(f.id, was.id);
        assert_eq!(f.first_observed, at(0));
        assert_eq!(f.last_observed, at(2));
        assert_eq!(f.installed_version, partial);
        assert_ne!(f.installed_version, was.installed_version);
        assert_eq!(
            f.updated_at,
            at(2),
            "the record changed: the installed version"
        );
    }
    for f in &closed {
        assert_eq!(f.closed_at, Some(at(2)));
        assert_eq!(f.last_observed, at(1));
    }

    // 3. Upgraded to a version that fixes all: every finding of the
    // package closed, kept as history.
    let counts = db
        .apply_evaluation(asset, &w.scan(&w.with_version(&package, &full)), at(3))
        .expect("full upgrade");
    assert_eq!(counts.closed as usize, open.len());
    let history = of(
        &db.findings(Some(asset), Some(Status::Closed))
            .expect("closed"),
        &package,
    );
    assert_eq!(history.len(), start.len());

    // 4. Downgraded to the original: every one reopens, first observation
    // kept, the reopen counted and recorded.
    let counts = db
        .apply_evaluation(asset, &original, at(4))
        .expect("downgrade");
    assert_eq!(counts.reopened as usize, start.len());
    assert_eq!(counts.new, 0);
    let now = of(&db.findings(Some(asset), None).expect("findings"), &package);
    for (id, f) in &now {
        assert_eq!(f.id, start[id].id);
        assert_eq!(f.status, Status::Active);
        assert_eq!(f.first_observed, at(0));
        assert_eq!(f.last_observed, at(4));
        assert_eq!(f.closed_at, None);
        assert_eq!(f.reopen_count, 1);
        let events: Vec<String> = db
            .finding_events(f.id)
            .expect("events")
            .into_iter()
            .map(|e| e.event)
            .collect();
        assert_eq!(events, ["opened", "closed", "reopened"], "{id}");
    }

    // 5. Suppressed stays suppressed when seen again, observed all the
    // same; it closes like any other when it goes away.
    let other = all
        .iter()
        .find(|f| f.package_name != package)
        .expect("a finding of another package");
    db.set_status(other.id, Status::Suppressed, at(5))
        .expect("suppress");
    let counts = db
        .apply_evaluation(asset, &original, at(6))
        .expect("seen again");
    assert_eq!(counts.still_suppressed, 1);
    let f = db.finding(other.id).expect("read").expect("exists");
    assert_eq!(f.status, Status::Suppressed);
    assert_eq!(f.last_observed, at(6));
    assert_eq!(
        db.findings(Some(asset), Some(Status::Suppressed))
            .expect("list")
            .len(),
        1
    );
    assert!(db.set_status(other.id, Status::Closed, at(6)).is_err());
    let without: Vec<Finding> = original
        .iter()
        .filter(|f| {
            (f.vulnerability_id.as_str(), f.package.name.as_str())
                != (other.vulnerability_id.as_str(), other.package_name.as_str())
        })
        .cloned()
        .collect();
    let counts = db.apply_evaluation(asset, &without, at(7)).expect("gone");
    assert_eq!((counts.closed, counts.still_suppressed), (1, 0));
    let f = db.finding(other.id).expect("read").expect("exists");
    assert_eq!((f.status, f.closed_at), (Status::Closed, Some(at(7))));

    // 6. An older evaluation arriving late is refused.
    match db.apply_evaluation(asset, &upgraded, at(5)) {
        Err(StoreError::StaleEvaluation { .. }) => {}
        other => panic!("a stale evaluation: {other:?}"),
    }
    let a = db.asset(asset).expect("read").expect("exists");
    assert_eq!(a.evaluated_at, Some(at(7)));
}

fn lifecycle(t: &TestDb) {
    static WORLD: std::sync::OnceLock<World> = std::sync::OnceLock::new();
    let w = WORLD.get_or_init(world);
    assert!(Path::new(&kensa_testkit::data_dir()).exists());
    lifecycle_walk(t, w);
}

both!(lifecycle);
