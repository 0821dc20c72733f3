//! The register at 10,000 assets: server-side render time of the
//! console's `/assets` page (the store's queries and the HTML, what the
//! handler does after the session lookup), p50/p95 over 40 renders per
//! case, and the register export (CSV and XLSX) of every asset.
//!
//! ```text
//! cargo bench -p kensa-server --bench assets
//! KENSA_BENCH_PG=postgres://kensa@127.0.0.1:55447/kensa cargo bench -p kensa-server --bench assets
//! KENSA_BENCH_SQLITE=/var/tmp/other/assets.db cargo bench -p kensa-server --bench assets
//! ```
//!
//! The fleet is stored once through the real write paths (`upsert_asset`,
//! `set_management`, `apply_evaluation`): 10,000 hosts with register
//! management items (support ends from 2024 to 2030, owners, teams,
//! environments, tags, exposure with ports), 20 findings each (200,000 in
//! all), the SLA's due dates from first observations spread over two
//! years (so that many are overdue), and an end-of-life record per OS. It
//! is kept between runs (SQLite `/var/tmp/kensa-bench/assets-10000.db`,
//! PostgreSQL the database the URL names); delete it to rebuild.

use std::time::{Duration, Instant};

use kensa_detect::{Band, CvssScore, Detection, Finding, PackageRef, Status};
use kensa_server::asset_list::{RegisterFormat, write_register};
use kensa_server::auth::Role;
use kensa_server::console::{Lang, render_assets};
use kensa_store::{
    AssetKind, AssetSort, AssetUpsert, Backend, Db, ExposedPort, Filter, InternetExposure,
    Management, Timestamp,
};
use kensa_testkit::Lcg;

const ASSETS: usize = 10_000;
const PER_ASSET: usize = 20;

fn finding(rng: &mut Lcg) -> Finding {
    let pkg = rng.skewed(300);
    let cve = rng.skewed(20_000);
    let name = format!("pkg{pkg}");
    let bands = [
        Band::Critical,
        Band::High,
        Band::High,
        Band::Medium,
        Band::Medium,
        Band::Low,
        Band::Untriaged,
    ];
    let severity = bands[rng.below(bands.len() as u64) as usize];
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
        fixed_version: Some("1.2.3-5".into()),
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
                base_score: 7.5,
                temporal_score: None,
                environmental_score: None,
            })
            .into_iter()
            .collect(),
        score: None,
        epss: None,
        kev: None,
        references: vec![],
        remediation: None,
    }
}

fn populate(db: &Db) {
    let have = db.assets().map(|a| a.len()).unwrap_or(0);
    if have >= ASSETS {
        println!("  reusing {have} stored assets");
        return;
    }
    let start = Instant::now();
    let mut rng = Lcg(17);
    let teams = [
        "web", "data", "payments", "platform", "ml", "search", "mobile", "infra",
    ];
    let releases = [
        ("debian", "11"),
        ("debian", "12"),
        ("rhel", "8"),
        ("ubuntu", "22.04"),
    ];
    // Two years ago, spread over the fleet: old findings are overdue.
    let base = Timestamp::now().unix_ms() - 730 * 86_400_000;
    for i in 0..ASSETS {
        let (os, release) = releases[i % releases.len()];
        let id = db
            .upsert_asset(&AssetUpsert {
                kind: AssetKind::Host,
                name: format!("srv-{i:05}"),
                hostname: Some(format!("srv-{i:05}.corp.example")),
                machine_id: Some(format!("machine-{i:05}")),
                image_id: None,
                os_id: Some(os.into()),
                os_release: Some(release.into()),
                seen_at: Timestamp::from_unix_ms(base),
            })
            .expect("asset");
        let year = 2024 + (i % 7);
        let exposed = i % 6 == 0;
        db.set_management(
            id,
            &Management {
                operation_start: Some(format!("{}-04-01", year - 5)),
                support_end: Some(format!("{year}-{:02}-{:02}", 1 + i % 12, 1 + i % 28)),
                owner: Some(format!("owner{}@example.com", i % 300)),
                team: Some(teams[i % teams.len()].into()),
                environment: Some(if i % 4 == 0 { "production" } else { "staging" }.into()),
                tags: if i % 5 == 0 {
                    vec!["prod".into(), "pci".into()]
                } else {
                    vec!["dev".into()]
                },
                internet_exposure: Some(if exposed {
                    InternetExposure::Yes
                } else {
                    InternetExposure::No
                }),
                exposed_ports: if exposed {
                    vec![ExposedPort {
                        port: 443,
                        to_port: None,
                        protocol: "tcp".into(),
                        source: "register".into(),
                    }]
                } else {
                    Vec::new()
                },
            },
            Timestamp::from_unix_ms(base),
        )
        .expect("management");
        let eol = kensa_detect::OsEol {
            product: os.into(),
            cycle: release.into(),
            eol: Some(format!("{}-06-30", 2025 + i % 5)),
            eol_reached: false,
            extended_support: None,
            lts: None,
            extended: None,
            status: "supported".into(),
        };
        db.set_asset_eol(id, Some(&eol)).expect("eol");
        let mut fs: Vec<Finding> = Vec::with_capacity(PER_ASSET);
        let mut seen = std::collections::HashSet::new();
        while fs.len() < PER_ASSET {
            let f = finding(&mut rng);
            if seen.insert((f.vulnerability_id.clone(), f.package.name.clone())) {
                fs.push(f);
            }
        }
        let at = Timestamp::from_unix_ms(base + (i as i64) * 6_000_000);
        db.apply_evaluation(id, &fs, at).expect("evaluate");
        if i % 1000 == 999 {
            println!(
                "  {} assets stored, {:.0} s",
                i + 1,
                start.elapsed().as_secs_f64()
            );
        }
    }
    db.analyze().expect("analyze");
    println!(
        "  stored {ASSETS} assets, {} findings in {:.0} s",
        ASSETS * PER_ASSET,
        start.elapsed().as_secs_f64()
    );
}

fn pct(mut v: Vec<Duration>, p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1000.0
}

fn main() {
    let backend = match std::env::var("KENSA_BENCH_PG") {
        Ok(url) => Backend::Postgres(url),
        // Another file for another schema (a branch with a newer
        // migration would otherwise migrate the shared one).
        Err(_) => {
            let path = std::env::var("KENSA_BENCH_SQLITE")
                .unwrap_or_else(|_| "/var/tmp/kensa-bench/assets-10000.db".into());
            if let Some(dir) = std::path::Path::new(&path).parent() {
                std::fs::create_dir_all(dir).expect("bench dir");
            }
            Backend::Sqlite(path.into())
        }
    };
    let db = Db::open(&backend).expect("open");
    println!("{backend}: the register at {ASSETS} assets");
    populate(&db);
    let cases: &[(&str, &str)] = &[
        ("default: by name, page 1", ""),
        ("by name, page 100", "page=99"),
        (
            "most critical first (counts every asset)",
            "sort=critical%3Adesc",
        ),
        ("most overdue first", "sort=overdue%3Adesc"),
        ("by support end", "sort=support_end%3Aasc"),
        ("team filter", "q=team%3Dpayments"),
        (
            "support ending within 90 days",
            "ending=support&sort=support_end%3Aasc",
        ),
        ("OS end of life within 90 days", "ending=os"),
        (
            "exposed, with an open critical",
            "exposure=yes&q=severity%3DCRITICAL",
        ),
        (
            "tag and environment",
            "q=tag%3Dpci+environment%3Dproduction",
        ),
    ];
    let runs = 40;
    let mut all = Vec::new();
    for (label, query) in cases {
        let mut times = Vec::with_capacity(runs);
        let mut bytes = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let html = render_assets(&db, "bench", Role::Analyst, Lang::En, query).expect("render");
            times.push(t.elapsed());
            bytes = html.len();
        }
        println!(
            "  {label:<44} p50 {:>7.2} ms  p95 {:>7.2} ms  ({} KB)",
            pct(times.clone(), 0.5),
            pct(times.clone(), 0.95),
            bytes / 1024
        );
        all.extend(times);
    }
    println!(
        "  {:<44} p50 {:>7.2} ms  p95 {:>7.2} ms  ({} renders)",
        "every case together",
        pct(all.clone(), 0.5),
        pct(all.clone(), 0.95),
        all.len()
    );
    // The export's reading alone (the store's queries, no writer), to
    // tell the two apart.
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let n = db
            .export_assets(&Filter::default(), AssetSort::default(), |_| Ok(()))
            .expect("read");
        times.push(t.elapsed());
        assert!(n as usize >= ASSETS, "{n} assets read");
    }
    println!(
        "  register export, reading only: best {:.2} s, worst {:.2} s",
        pct(times.clone(), 0.0) / 1000.0,
        pct(times, 1.0) / 1000.0
    );
    let dir = tempfile::tempdir_in("/var/tmp").expect("temp dir");
    for (format, ext) in [(RegisterFormat::Csv, "csv"), (RegisterFormat::Xlsx, "xlsx")] {
        let mut times = Vec::new();
        let mut n = 0;
        let mut size = 0;
        for _ in 0..3 {
            let path = dir.path().join(format!("register.{ext}"));
            let file = std::fs::File::create(&path).expect("file");
            let t = Instant::now();
            n = write_register(
                &db,
                &Filter::default(),
                AssetSort::default(),
                format,
                Lang::Ja,
                file,
            )
            .expect("export");
            times.push(t.elapsed());
            size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        }
        println!(
            "  register export {ext:<4} {n} assets: best {:.2} s, worst {:.2} s ({} KB)",
            pct(times.clone(), 0.0) / 1000.0,
            pct(times, 1.0) / 1000.0,
            size / 1024
        );
    }
}
