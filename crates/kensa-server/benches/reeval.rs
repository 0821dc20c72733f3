//! Re-evaluation of a fleet after a knowledge base update: the real server
//! (SQLite unless `KENSA_BENCH_PG` names a PostgreSQL database, its own two
//! evaluation workers) over a fleet of N assets (default 10,000) made from
//! a few dozen distinct real inventories, as servers built from a few
//! images are: the data folder's Alpine package database under every
//! Alpine release its security database covers, each in several patch
//! levels, and Debian 12 and 11 minimal roots (`scripts/setup`'s
//! debootstraps) when present.
//!
//! The fleet is stored through the store's ingest entry point (what the
//! API does for each report) and evaluated once by the server. Then a new
//! knowledge base generation adds advisories for packages every Alpine
//! asset holds (musl, busybox, zlib); the time measured runs from the
//! switch to the new generation until every Alpine asset has an
//! evaluation applied after it. The Debian assets hold none of the changed
//! packages and must not be evaluated again.
//!
//! `cargo bench -p kensa-server --bench reeval`
//! (`KENSA_BENCH_ASSETS`, `KENSA_BENCH_PATCH_LEVELS`, `KENSA_BENCH_WORKERS`.)

use std::path::Path;
use std::time::{Duration, Instant};

use kensa_inventory::{Inventory, Target};
use kensa_kb::model::{Advisory, Affected, Event, Feed, FixStatus, Record};
use kensa_store::{AssetKind, AssetUpsert, CanonicalInventory, Db, Timestamp};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Alpine releases the data folder's secdb covers.
const ALPINE: [&str; 9] = [
    "3.3", "3.4", "3.5", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11",
];
/// Packages every Alpine variant holds: the update's advisories.
const CHANGED: [&str; 3] = ["musl", "busybox", "zlib"];

fn build_kb(dir: &Path, extra: Vec<Record>) -> Duration {
    use kensa_kb::model::Sink;
    let t = Instant::now();
    let mut b = kensa_kb::base::KnowledgeBaseBuilder::create(dir).expect("builder");
    kensa_kb::mirror::import(&kensa_testkit::data_dir(), &mut b).expect("import");
    for r in extra {
        b.record(r);
    }
    b.finish().expect("finish");
    t.elapsed()
}

/// One new advisory per changed package and Alpine release, fixed in a
/// version above any installed one.
fn update_records() -> Vec<Record> {
    let mut out = Vec::new();
    for (i, (release, package)) in ALPINE
        .iter()
        .flat_map(|r| CHANGED.iter().map(move |p| (r, p)))
        .enumerate()
    {
        out.push(Record::Advisory(Advisory {
            id: format!("CVE-2099-{:04}", i + 1),
            feed: Feed::AlpineSecdb,
            aliases: Vec::new(),
            published: None,
            modified: None,
            summary: Some(format!("a flaw in {package} added by the update")),
            severity: None,
            cvss: Vec::new(),
            references: Vec::new(),
            affected: vec![Affected {
                namespace: format!("alpine:{release}"),
                package: (*package).into(),
                status: FixStatus::Fixed,
                ranges: vec![vec![
                    Event::Introduced("0".into()),
                    Event::Fixed("99.0-r0".into()),
                ]],
                versions: Vec::new(),
                fixed: Some("99.0-r0".into()),
                note: None,
                module: None,
                arches: Vec::new(),
            }],
        }));
    }
    out
}

/// `inv` at patch level `level`: some packages' `-rN` revision raised (a
/// `+bN` rebuild suffix for dpkg), so
/// that each level is a distinct inventory with the same packages.
fn patch(inv: &Inventory, level: usize) -> Inventory {
    let mut out = inv.clone();
    let n = out.packages.len().max(1);
    for k in 0..level {
        if let Some(p) = out.packages.get_mut((k * 7 + level) % n) {
            p.version = match p.version.rsplit_once("-r") {
                Some((base, rev)) if rev.parse::<u32>().is_ok() => {
                    format!("{base}-r{}", rev.parse::<u32>().unwrap_or(0) + 1)
                }
                // dpkg: a binary rebuild.
                _ => format!("{}+b{level}", p.version),
            };
        }
    }
    out.normalise();
    out
}

fn alpine_inventory(dir: &Path) -> Inventory {
    let root = dir.join("alpine");
    std::fs::create_dir_all(root.join("lib/apk/db")).expect("mkdir");
    std::fs::create_dir_all(root.join("etc")).expect("mkdir");
    std::fs::copy(
        kensa_testkit::data_path("fixtures/apk/alpine/installed"),
        root.join("lib/apk/db/installed"),
    )
    .expect("copy");
    std::fs::write(root.join("etc/alpine-release"), "3.4.6\n").expect("write");
    kensa_inventory::collect(&Target::Root(root)).expect("inventory")
}

fn main() {
    let assets = env_usize("KENSA_BENCH_ASSETS", 10_000);
    let levels = env_usize("KENSA_BENCH_PATCH_LEVELS", 4);
    let workers = env_usize("KENSA_BENCH_WORKERS", 2);
    let tmp = tempfile::tempdir().expect("temp dir");

    // The images: Alpine under each release, Debian when present.
    let alpine = alpine_inventory(tmp.path());
    let mut images: Vec<(bool, Inventory)> = ALPINE
        .iter()
        .map(|release| {
            let mut inv = alpine.clone();
            if let Some(os) = &mut inv.os {
                os.release = (*release).into();
                os.version = Some(format!("{release}.0"));
            }
            (true, inv)
        })
        .collect();
    for suite in ["bookworm", "bullseye"] {
        let root = kensa_testkit::debian_root(suite);
        if root.join("var/lib/dpkg/status").exists() {
            images.push((
                false,
                kensa_inventory::collect(&Target::Root(root)).expect("inventory"),
            ));
        }
    }
    // Each image in several patch levels: the distinct inventories.
    let variants: Vec<(bool, Vec<u8>, String, Inventory)> = images
        .iter()
        .flat_map(|(is_alpine, inv)| {
            (0..levels).map(move |l| {
                let v = patch(inv, l);
                let bytes = v.content_bytes();
                let hash = kensa_inventory::model::content_hash_of(&bytes);
                (*is_alpine, bytes, hash, v)
            })
        })
        .collect();
    let mut distinct: Vec<&str> = variants.iter().map(|v| v.2.as_str()).collect();
    distinct.sort_unstable();
    distinct.dedup();

    let kb = tmp.path().join("kb");
    let kb_build = build_kb(&kb, Vec::new());

    // The fleet, stored as the API stores reports, each with its
    // evaluation queued.
    let data = tmp.path().join("server");
    std::fs::create_dir_all(&data).expect("mkdir");
    let database = std::env::var("KENSA_BENCH_PG").ok();
    let backend = match &database {
        Some(url) => kensa_store::Backend::Postgres(url.clone()),
        None => kensa_store::Backend::Sqlite(data.join("kensa.db")),
    };
    let db = Db::open(&backend).expect("database");
    let t = Instant::now();
    let mut alpine_assets = std::collections::HashSet::new();
    let mut other_assets = std::collections::HashSet::new();
    for i in 0..assets {
        let (is_alpine, bytes, hash, inv) = &variants[i % variants.len()];
        let now = Timestamp::now();
        let mut facts = AssetUpsert::from_inventory(inv, now);
        facts.kind = AssetKind::Host;
        facts.name = format!("host-{i:05}");
        facts.hostname = Some(facts.name.clone());
        facts.machine_id = Some(format!("{i:032x}"));
        let id = db.upsert_asset(&facts).expect("asset");
        db.ingest_inventory(
            id,
            &facts,
            &kensa_inventory::Inventory::default(),
            CanonicalInventory {
                content: bytes,
                hash,
                schema_version: inv.schema_version,
                package_count: inv.packages.len(),
                zlib: None,
            },
            Some(kensa_server::worker::EVALUATE),
        )
        .expect("ingest");
        if *is_alpine {
            alpine_assets.insert(id);
        } else {
            other_assets.insert(id);
        }
    }
    let stored = t.elapsed();
    eprintln!(
        "fleet: {assets} assets ({} Alpine, {} Debian) from {} distinct inventories \
         ({} images x {levels} patch levels), stored in {:.1} s; knowledge base built in {:.1} s",
        alpine_assets.len(),
        other_assets.len(),
        distinct.len(),
        images.len(),
        stored.as_secs_f64(),
        kb_build.as_secs_f64()
    );

    let server = kensa_server::start(kensa_server::Config {
        data_dir: data.clone(),
        listen: "127.0.0.1:0".parse().expect("addr"),
        database,
        kb_dir: kb.clone(),
        tls_names: vec!["127.0.0.1".into()],
        workers,
        exports: Default::default(),
        agentless: Default::default(),
        capacity: Default::default(),
        agent_dist: None,
        notify: Default::default(),
        observe: Default::default(),
        clock: Default::default(),
    })
    .expect("server");
    let t = Instant::now();
    let since = Timestamp::from_unix_ms(0);
    wait_evaluated(&db, assets, since, Duration::from_secs(3600));
    let first = t.elapsed();
    let findings = db.findings(None, None).map(|f| f.len()).unwrap_or(0);
    println!(
        "first evaluation: {assets} assets in {:.1} s = {:.0} assets/s ({findings} findings)",
        first.as_secs_f64(),
        assets as f64 / first.as_secs_f64()
    );

    // The update. Evaluations applied after `switched` are re-evaluations.
    let build = build_kb(&kb, update_records());
    let switched = Timestamp::now();
    let t = Instant::now();
    let deadline = Duration::from_secs(3600);
    let mut queued_at = None;
    loop {
        let list = db.assets().expect("assets");
        let done = list
            .iter()
            .filter(|a| {
                alpine_assets.contains(&a.id) && a.evaluated_at.is_some_and(|e| e >= switched)
            })
            .count();
        if queued_at.is_none()
            && db
                .jobs(Some(kensa_server::worker::KB_UPDATED))
                .expect("jobs")
                .iter()
                .any(|j| j.state == kensa_store::JobState::Done)
        {
            queued_at = Some(t.elapsed());
        }
        if done == alpine_assets.len() {
            break;
        }
        assert!(
            t.elapsed() < deadline,
            "{done} of {} re-evaluated",
            alpine_assets.len()
        );
        // Reading 10,000 assets costs CPU the workers would use: not too often.
        std::thread::sleep(Duration::from_millis(500));
    }
    let reeval = t.elapsed();
    let again = db
        .assets()
        .expect("assets")
        .iter()
        .filter(|a| other_assets.contains(&a.id) && a.evaluated_at.is_some_and(|e| e >= switched))
        .count();
    let new: usize = db
        .findings(None, None)
        .map(|f| {
            f.iter()
                .filter(|f| f.vulnerability_id.starts_with("CVE-2099-"))
                .count()
        })
        .unwrap_or(0);
    println!(
        "re-evaluation after a knowledge update: {} assets in {:.1} s = {:.0} assets/s \
         (affected set queued after {:.1} s; new generation built in {:.1} s, not counted); \
         {new} new findings; {again} of {} unaffected assets evaluated again",
        alpine_assets.len(),
        reeval.as_secs_f64(),
        alpine_assets.len() as f64 / reeval.as_secs_f64(),
        queued_at.unwrap_or_default().as_secs_f64(),
        build.as_secs_f64(),
        other_assets.len()
    );
    server.stop();
}

/// Wait until `n` assets have an evaluation applied at or after `since`.
fn wait_evaluated(db: &Db, n: usize, since: Timestamp, limit: Duration) {
    let t = Instant::now();
    loop {
        let done = db
            .assets()
            .expect("assets")
            .iter()
            .filter(|a| a.evaluated_at.is_some_and(|e| e >= since))
            .count();
        if done >= n {
            return;
        }
        assert!(t.elapsed() < limit, "{done} of {n} evaluated");
        std::thread::sleep(Duration::from_millis(500));
    }
}
