//! The findings query API with a million findings stored: p50/p95 of the
//! pages a console asks for (filtered, sorted, deep), on SQLite and, when
//! `KENSA_BENCH_PG` names a server, PostgreSQL.
//!
//! ```text
//! cargo bench -p kensa-store --bench query                  # SQLite
//! KENSA_BENCH_PG=postgres://kensa@127.0.0.1:55433/kensa cargo bench -p kensa-store --bench query
//! KENSA_BENCH_FINDINGS=200000 …                             # a smaller fleet
//! ```
//!
//! The fleet is stored once through the real write path
//! (`Db::apply_evaluation`, 100 findings per asset) and kept between runs
//! (SQLite under `/var/tmp/kensa-bench/`, PostgreSQL in the database
//! `kensa_bench_query`); delete them to rebuild.

use std::time::{Duration, Instant};

use kensa_model::{Band, CvssScore, Detection, EpssScore, Finding, KevEntry, PackageRef, Status};
use kensa_store::{
    AssetKind, AssetUpsert, Backend, Db, Filter, FindingQuery, Management, Timestamp,
};
use kensa_testkit::Lcg;

const PER_ASSET: usize = 100;

fn finding(rng: &mut Lcg) -> Finding {
    let pkg = rng.skewed(400);
    let cve = rng.skewed(20_000);
    let names = [
        "openssl", "libssl3", "curl", "zlib", "bash", "glibc", "nginx", "openssh",
    ];
    let name = if pkg < 8 {
        names[pkg as usize].to_owned()
    } else {
        format!("pkg{pkg}")
    };
    let bands = [
        Band::Critical,
        Band::High,
        Band::High,
        Band::Medium,
        Band::Medium,
        Band::Medium,
        Band::Low,
        Band::Untriaged,
    ];
    let severity = bands[rng.below(bands.len() as u64) as usize];
    let score = match severity {
        Band::Critical => 9.0 + rng.below(11) as f64 / 10.0,
        Band::High => 7.0 + rng.below(20) as f64 / 10.0,
        Band::Medium => 4.0 + rng.below(30) as f64 / 10.0,
        _ => 1.0 + rng.below(30) as f64 / 10.0,
    };
    Finding {
        vulnerability_id: format!("CVE-{}-{:05}", 2015 + cve % 12, cve),
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
        fixed_version: (rng.below(4) > 0).then(|| "1.2.3-5".into()),
        status: Status::Fixed,
        detection: Detection {
            method: "source-package".into(),
            namespace: "debian:12".into(),
            confidence: "high".into(),
            notes: vec![],
        },
        severity,
        vendor_severity: None,
        cvss: (severity != Band::Untriaged)
            .then(|| CvssScore {
                source: "nvd@nist.gov".into(),
                version: "3.1".into(),
                vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into(),
                base_score: score,
                temporal_score: None,
                environmental_score: None,
            })
            .into_iter()
            .collect(),
        score: None,
        epss: (rng.below(3) > 0).then(|| EpssScore {
            score: rng.below(10_000) as f64 / 10_000.0,
            percentile: 0.5,
            date: "2026-11-29".into(),
        }),
        kev: (rng.below(50) == 0).then(|| KevEntry {
            date_added: "2026-01-01".into(),
            due_date: "2026-01-21".into(),
            ransomware: false,
            required_action: "Apply updates per vendor instructions.".into(),
        }),
        references: vec![format!(
            "https://security-tracker.debian.org/tracker/CVE-{cve}"
        )],
        remediation: Some(format!("apt-get install --only-upgrade {name}")),
    }
}

fn populate(db: &Db, findings: usize) {
    let assets = findings / PER_ASSET;
    let have = db.count_findings(&Filter::default()).unwrap_or(0);
    if have as usize >= findings {
        println!("  reusing {have} stored findings");
        return;
    }
    let start = Instant::now();
    let mut rng = Lcg(7);
    let teams = [
        "web", "data", "payments", "platform", "ml", "search", "mobile", "infra",
    ];
    for i in 0..assets {
        let id = db
            .upsert_asset(&AssetUpsert {
                kind: AssetKind::Host,
                name: format!("host-{i:05}"),
                hostname: Some(format!("host-{i:05}")),
                machine_id: Some(format!("machine-{i:05}")),
                image_id: None,
                os_id: Some("debian".into()),
                os_release: Some(["11", "12", "13"][i % 3].into()),
                seen_at: Timestamp::from_unix_ms(1_700_000_000_000),
            })
            .expect("asset");
        db.set_management(
            id,
            &Management {
                team: Some(teams[i % teams.len()].into()),
                environment: Some(if i % 4 == 0 { "production" } else { "staging" }.into()),
                tags: if i % 5 == 0 {
                    vec!["prod".into(), "pci".into()]
                } else {
                    vec!["dev".into()]
                },
                ..Management::default()
            },
            Timestamp::from_unix_ms(1_700_000_000_000),
        )
        .expect("management");
        let mut fs: Vec<Finding> = Vec::with_capacity(PER_ASSET);
        let mut seen = std::collections::HashSet::new();
        while fs.len() < PER_ASSET {
            let f = finding(&mut rng);
            if seen.insert((f.vulnerability_id.clone(), f.package.name.clone())) {
                fs.push(f);
            }
        }
        let at = Timestamp::from_unix_ms(1_700_000_000_000 + (i as i64) * 60_000);
        db.apply_evaluation(id, &fs, at).expect("evaluate");
        if i % 1000 == 999 {
            println!(
                "  {} assets, {} findings stored, {:.0} s",
                i + 1,
                (i + 1) * PER_ASSET,
                start.elapsed().as_secs_f64()
            );
        }
    }
    db.analyze().expect("analyze");
    println!(
        "  stored {} findings in {:.0} s",
        assets * PER_ASSET,
        start.elapsed().as_secs_f64()
    );
}

fn pct(mut v: Vec<Duration>, p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1000.0
}

fn measure(db: &Db, label: &str, filter: &str, sort: &str, depth: usize) {
    let runs = 40;
    let mut times = Vec::with_capacity(runs);
    let mut rows = 0;
    for _ in 0..runs {
        let mut q = FindingQuery {
            filter: Filter::parse(filter).expect("filter"),
            sort: sort.parse().expect("sort"),
            limit: Some(50),
            cursor: None,
        };
        // Walk to the page at `depth`; time that page alone.
        for _ in 0..depth {
            let p = db.query_findings(&q).expect("page");
            q.cursor = p.next_cursor;
        }
        let t = Instant::now();
        let page = db.query_findings(&q).expect("page");
        times.push(t.elapsed());
        rows = page.findings.len();
    }
    println!(
        "  {label:<44} p50 {:>7.2} ms  p95 {:>7.2} ms  ({rows} rows)",
        pct(times.clone(), 0.5),
        pct(times, 0.95)
    );
}

fn run(backend: &Backend, findings: usize) {
    println!("{backend}: {findings} findings");
    let db = Db::open(backend).expect("open");
    populate(&db, findings);
    let cases: &[(&str, &str, &str, usize)] = &[
        (
            "open findings, most severe first",
            "status=ACTIVE",
            "severity:desc",
            0,
        ),
        ("the same, page 20", "status=ACTIVE", "severity:desc", 19),
        ("critical by score", "severity=CRITICAL", "score:desc", 0),
        (
            "package prefix, newest first",
            "package^=openssl",
            "last_observed:desc",
            0,
        ),
        (
            "KEV and fixable by EPSS",
            "kev=true fix_available=true",
            "epss:desc",
            0,
        ),
        (
            "team and tag (asset join), by severity",
            "team=payments tag=pci status=ACTIVE",
            "severity:desc",
            0,
        ),
        (
            "one CVE on every asset",
            "vulnerability_id=CVE-2016-00001",
            "severity:desc",
            0,
        ),
        (
            "high scores by due date",
            "status=ACTIVE score>=7",
            "due:asc",
            0,
        ),
        (
            "not-equals and range, by asset",
            "severity!=LOW,UNTRIAGED epss=0.5..1",
            "asset_id:asc",
            0,
        ),
        (
            "rare: nothing matches",
            "package=does-not-exist",
            "score:desc",
            0,
        ),
    ];
    for (label, filter, sort, depth) in cases {
        measure(&db, label, filter, sort, *depth);
    }
}

fn main() {
    let findings: usize = std::env::var("KENSA_BENCH_FINDINGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    if let Ok(pg) = std::env::var("KENSA_BENCH_PG") {
        let name = "kensa_bench_query";
        let mut admin = postgres::Client::connect(&pg, postgres::NoTls).expect("connect");
        let exists = admin
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .expect("query")
            .is_some();
        if !exists {
            admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("create database");
        }
        let base = pg.rsplit_once('/').map_or(pg.as_str(), |(b, _)| b);
        run(&Backend::Postgres(format!("{base}/{name}")), findings);
    } else {
        let dir = std::path::Path::new("/var/tmp/kensa-bench");
        std::fs::create_dir_all(dir).expect("bench dir");
        run(
            &Backend::Sqlite(dir.join(format!("findings-{findings}.db"))),
            findings,
        );
    }
}
