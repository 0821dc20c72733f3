//! A review of 10,000 assets: opening it (every asset's facts copied in),
//! closing it (the report built from the assets as they are, with the
//! changes since the previous review, stored with its SHA-256), reading
//! the report back (digest checked) and rendering it as HTML, CSV and
//! XLSX. The target (issue 17) is the report of 10,000 assets in under
//! 10 s: closing plus the slowest rendering.
//!
//! ```text
//! cargo bench -p kensa-server --bench review
//! KENSA_BENCH_PG=postgres://kensa@127.0.0.1:55443/kensa cargo bench -p kensa-server --bench review
//! ```
//!
//! The fleet is stored once through the register import (10,000 servers
//! with every management item, eight teams, support ends from 2024 to
//! 2030), an end-of-life record per asset and 5 findings per asset
//! (50,000) through the real evaluation path; it is kept between runs
//! (SQLite `/var/tmp/kensa-bench/review-10000.db`, PostgreSQL the database
//! the URL names). Answering and signing every asset (20,000 store calls)
//! is setup, timed for information only.

use std::time::Instant;

use kensa_detect::{Band, Detection, Finding, PackageRef, Status};
use kensa_server::console::Lang;
use kensa_server::review_render::{ReportFormat, render};
use kensa_store::review::{EolAction, EolPlan, ManagementConfirmed};
use kensa_store::{
    Backend, Checklist, Db, Decision, ExposedPort, InternetExposure, ManagementPatch, OwnerSign,
    RegisterRecord, Timestamp,
};

const ASSETS: usize = 10_000;
const PER_ASSET: usize = 5;

fn finding(i: usize, j: usize) -> Finding {
    let name = format!("pkg{}", (i * 7 + j * 13) % 300);
    let bands = [
        Band::Critical,
        Band::High,
        Band::Medium,
        Band::Low,
        Band::Untriaged,
    ];
    Finding {
        vulnerability_id: format!("CVE-2024-{:05}", (i * 31 + j) % 20_000),
        aliases: vec![],
        advisories: vec![],
        title: None,
        description: None,
        published: None,
        package: PackageRef {
            name: name.clone(),
            kind: "deb".into(),
            version: "1.0-1".into(),
            installed_version: "1.0-1".into(),
            arch: Some("amd64".into()),
            purl: format!("pkg:deb/debian/{name}@1.0-1?arch=amd64"),
            path: "var/lib/dpkg/status".into(),
            ..PackageRef::default()
        },
        fixed_version: Some("1.0-2".into()),
        status: Status::Fixed,
        detection: Detection {
            method: "source-package".into(),
            namespace: "debian:12".into(),
            confidence: "high".into(),
            notes: vec![],
        },
        severity: bands[(i + j) % bands.len()],
        vendor_severity: None,
        cvss: vec![],
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
    let teams = [
        "web", "data", "payments", "platform", "ml", "search", "mobile", "infra",
    ];
    let records: Vec<RegisterRecord> = (0..ASSETS)
        .map(|i| {
            let year = 2024 + (i % 7);
            let exposed = i % 6 == 0;
            RegisterRecord {
                line: i + 2,
                name: format!("srv-{i:05}"),
                hostname: Some(format!("srv-{i:05}.corp.example")),
                os_id: Some("debian".into()),
                os_release: Some(if i % 2 == 0 { "11" } else { "12" }.into()),
                management: ManagementPatch {
                    operation_start: Some(Some(format!("{}-04-01", year - 5))),
                    support_end: Some(Some(format!("{year}-{:02}-15", 1 + i % 12))),
                    owner: Some(Some(format!("owner{}@example.com", i % 300))),
                    team: Some(Some(teams[i % teams.len()].into())),
                    environment: Some(Some(
                        if i % 4 == 0 { "production" } else { "staging" }.into(),
                    )),
                    tags: Some(vec!["pci".into()]),
                    internet_exposure: Some(Some(if exposed {
                        InternetExposure::Yes
                    } else {
                        InternetExposure::No
                    })),
                    exposed_ports: Some(if exposed {
                        vec![ExposedPort {
                            port: 443,
                            to_port: None,
                            protocol: "tcp".into(),
                            source: "register".into(),
                        }]
                    } else {
                        vec![]
                    }),
                },
                ..RegisterRecord::default()
            }
        })
        .collect();
    let counts = db
        .import_register(&records, Timestamp::now())
        .expect("import")
        .expect("a valid register");
    let base = Timestamp::now().unix_ms() - 400 * 86_400_000;
    for (i, (_, id, _)) in counts.assets.iter().enumerate() {
        let eol = kensa_detect::OsEol {
            product: "debian".into(),
            cycle: "12".into(),
            eol: Some(format!("{}-06-30", 2024 + i % 5)),
            eol_reached: false,
            extended_support: None,
            lts: None,
            extended: None,
            status: "supported".into(),
        };
        db.set_asset_eol(*id, Some(&eol)).expect("eol");
        let fs: Vec<Finding> = (0..PER_ASSET).map(|j| finding(i, j)).collect();
        db.apply_evaluation(*id, &fs, Timestamp::from_unix_ms(base + i as i64 * 1000))
            .expect("evaluate");
    }
    db.analyze().expect("analyze");
    println!(
        "  stored {ASSETS} assets, {} findings in {:.0} s",
        ASSETS * PER_ASSET,
        start.elapsed().as_secs_f64()
    );
}

fn checklist() -> Checklist {
    Checklist {
        management: ManagementConfirmed {
            operation_start: true,
            support_end: true,
            owner: true,
            team: true,
            environment: true,
            tags: true,
            internet_exposure: true,
            exposed_ports: true,
        },
        eol_plan: Some(EolPlan {
            action: EolAction::Upgrade,
            until: Some("2027-06-30".into()),
            note: None,
        }),
        exposure_confirmed: true,
        findings_acknowledged: true,
        acceptances_valid: true,
        comment: None,
    }
}

fn main() {
    let backend = match std::env::var("KENSA_BENCH_PG") {
        Ok(url) => Backend::Postgres(url),
        Err(_) => {
            std::fs::create_dir_all("/var/tmp/kensa-bench").expect("bench dir");
            Backend::Sqlite("/var/tmp/kensa-bench/review-10000.db".into())
        }
    };
    let db = Db::open(&backend).expect("open");
    println!("{backend}: a review of {ASSETS} assets");
    populate(&db);
    let run = std::process::id();
    // Two reviews: the second has a previous one to compare with.
    for round in 0..2 {
        let t = Instant::now();
        let id = db
            .open_review(
                &format!("bench {run}-{round}"),
                "",
                OwnerSign::Any,
                "admin",
                Timestamp::now(),
            )
            .expect("open");
        let open = t.elapsed();
        let assets = db.review_assets(id).expect("assets");
        let t = Instant::now();
        let c = checklist();
        for a in &assets {
            db.answer_review(id, a.asset_id, &c, "owner", Timestamp::now())
                .expect("answer");
            db.decide_review(
                id,
                a.asset_id,
                &Decision::Sign { comment: None },
                "auditor",
                Timestamp::now(),
            )
            .expect("sign");
        }
        let setup = t.elapsed();
        let t = Instant::now();
        db.close_review(id, "admin", Timestamp::now())
            .expect("close");
        let close = t.elapsed();
        let t = Instant::now();
        let report = db.review_report(id).expect("verified");
        let read = t.elapsed();
        println!(
            "  round {round}: {} assets; open {:.2} s; answer+sign all {:.1} s (setup); \
             close (build, digest, store) {:.2} s; read+verify {:.3} s ({} KB JSON)",
            assets.len(),
            open.as_secs_f64(),
            setup.as_secs_f64(),
            close.as_secs_f64(),
            read.as_secs_f64(),
            report.bytes.len() / 1024
        );
        let mut slowest = 0.0f64;
        for format in [ReportFormat::Html, ReportFormat::Csv, ReportFormat::Xlsx] {
            let t = Instant::now();
            let out = render(&report, format, Lang::Ja).expect("render");
            let s = t.elapsed().as_secs_f64();
            slowest = slowest.max(s);
            println!("    render {format:?}: {s:.2} s ({} KB)", out.len() / 1024);
        }
        println!(
            "    report of {} assets: close + read + slowest render = {:.2} s (target < 10 s)",
            assets.len(),
            close.as_secs_f64() + read.as_secs_f64() + slowest
        );
    }
}
