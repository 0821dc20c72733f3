//! Notifications under a flood: a knowledge update that opens 100,000
//! findings over 10,000 assets. The fleet is evaluated once without
//! findings, then re-evaluated as a knowledge update would (every
//! evaluation with the update's cause, 10 new findings each, through the
//! real write path, which writes the outbox events in its transaction);
//! then the notification worker's store calls match the events against
//! two rules and claim the messages. Reported: the re-evaluation (its
//! events included: they cannot be written apart from it), and the
//! matching and digests, the work the events add after it.
//!
//! ```text
//! cargo bench -p kensa-store --bench notify                  # SQLite
//! KENSA_BENCH_PG=postgres://kensa@127.0.0.1:55441/kensa cargo bench -p kensa-store --bench notify
//! KENSA_BENCH_ASSETS=1000 …                                  # a smaller fleet
//! ```

use std::time::{Duration, Instant};

use kensa_model::{Band, Detection, Finding, PackageRef, Status};
use kensa_store::notify::FINDING_OPENED;
use kensa_store::{AssetKind, AssetUpsert, Backend, Db, NewRule, Pacing, Timestamp};
use kensa_testkit::Lcg;

const PER_ASSET: usize = 10;

fn finding(rng: &mut Lcg, i: usize) -> Finding {
    let bands = [Band::Critical, Band::High, Band::Medium, Band::Low];
    let name = format!("pkg{}", rng.skewed(400));
    Finding {
        vulnerability_id: format!("CVE-2026-{:05}", i),
        aliases: vec![],
        advisories: vec![],
        title: Some("a vulnerability with a title of realistic length for a list".into()),
        description: None,
        published: None,
        package: PackageRef {
            name: name.clone(),
            kind: "deb".into(),
            version: "1.2.3-4".into(),
            installed_version: "1.2.3-4".into(),
            arch: Some("amd64".into()),
            purl: format!("pkg:deb/debian/{name}@1.2.3-4?arch=amd64"),
            path: "var/lib/dpkg/status".into(),
            ..PackageRef::default()
        },
        fixed_version: Some("1.2.3-5".into()),
        status: Status::Fixed,
        detection: Detection {
            method: "source-package".into(),
            namespace: "debian:12".into(),
            confidence: "high".into(),
            notes: vec![],
        },
        severity: bands[rng.below(4) as usize],
        vendor_severity: None,
        cvss: vec![],
        score: None,
        epss: None,
        kev: None,
        references: vec![],
        remediation: None,
    }
}

fn run(backend: &Backend, assets: usize) {
    let db = Db::open(backend).expect("open");
    let t0 = Timestamp::from_unix_ms(1_800_000_000_000);
    let mut ids = Vec::with_capacity(assets);
    for i in 0..assets {
        let id = db
            .upsert_asset(&AssetUpsert {
                kind: AssetKind::Host,
                name: format!("host-{i:05}"),
                hostname: Some(format!("host-{i:05}")),
                machine_id: Some(format!("machine-{i:05}")),
                image_id: None,
                os_id: Some("debian".into()),
                os_release: Some("12".into()),
                seen_at: t0,
            })
            .expect("asset");
        db.apply_evaluation(id, &[], t0).expect("first evaluation");
        ids.push(id);
    }
    let channel = db
        .put_channel(
            None,
            "hook",
            "webhook",
            &serde_json::json!({ "url": "http://127.0.0.1:9/" }),
            Some("0123456789abcdef"),
            t0,
        )
        .expect("channel");
    for (name, filter, mode) in [("high", "severity>=HIGH", "each"), ("daily", "", "day")] {
        db.put_rule(
            None,
            &NewRule {
                name: name.into(),
                event_types: vec![FINDING_OPENED.into()],
                filter: filter.into(),
                channel_id: channel,
                mode: mode.into(),
                enabled: true,
            },
            "bench",
            t0,
        )
        .expect("rule");
    }
    let mut rng = Lcg(19);
    let batches: Vec<Vec<Finding>> = (0..assets)
        .map(|_| (0..PER_ASSET).map(|i| finding(&mut rng, i)).collect())
        .collect();
    let t1 = Timestamp::from_unix_ms(1_800_000_060_000);
    let start = Instant::now();
    for (id, fs) in ids.iter().zip(&batches) {
        db.apply_evaluation_caused(*id, fs, t1, "kb:bench")
            .expect("re-evaluation");
    }
    let reeval = start.elapsed();
    let events = db.outbox_backlog().expect("backlog").unmatched;

    let pacing = Pacing {
        window: Duration::ZERO,
        max_window: Duration::ZERO,
        ..Pacing::default()
    };
    let start = Instant::now();
    let mut matched = 0;
    loop {
        let n = db.match_events(&pacing, Timestamp::now()).expect("match");
        if n == 0 {
            break;
        }
        matched += n;
    }
    let matching = start.elapsed();
    // The daily digest is due at the end of its day: the each-mode digest
    // is claimed now, the daily one counted.
    let start = Instant::now();
    let mut messages = vec![];
    while let Some(d) = db
        .claim_delivery("bench", Duration::from_secs(60))
        .expect("claim")
    {
        db.delivery_sent(&d).expect("sent");
        messages.push((d.rule, d.event_count));
    }
    let claim = start.elapsed();
    let backlog = db.outbox_backlog().expect("backlog");

    println!(
        "{backend}: {assets} assets, {} findings opened, {events} events",
        assets * PER_ASSET
    );
    println!(
        "  re-evaluation with events: {:.2} s ({:.2} ms per asset)",
        reeval.as_secs_f64(),
        reeval.as_secs_f64() * 1000.0 / assets as f64
    );
    println!(
        "  matching {matched} events to 2 rules: {:.2} s; messages sent now: {messages:?} in {:.3} s; \
         still collecting (daily digest): {}",
        matching.as_secs_f64(),
        claim.as_secs_f64(),
        backlog.pending
    );
    println!(
        "  events to digests, extra on top of the re-evaluation: {:.2} s",
        (matching + claim).as_secs_f64()
    );
}

fn main() {
    let assets: usize = std::env::var("KENSA_BENCH_ASSETS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("temp dir");
    run(&Backend::Sqlite(dir.path().join("bench.db")), assets);
    if let Ok(url) = std::env::var("KENSA_BENCH_PG") {
        // A database of its own, dropped first so that runs compare.
        let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        for sql in [
            "DROP DATABASE IF EXISTS kensa_bench_notify WITH (FORCE)",
            "CREATE DATABASE kensa_bench_notify",
        ] {
            admin.batch_execute(sql).expect("the bench database");
        }
        let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
        run(
            &Backend::Postgres(format!("{base}/kensa_bench_notify")),
            assets,
        );
    }
}
