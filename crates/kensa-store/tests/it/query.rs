//! The query API against an independent answer: findings (real ones from
//! the data folder's Alpine root, and generated ones with every severity,
//! score, EPSS and KEV mix) are stored, then every filter and sort is
//! compared, page by page through the cursors, with the same selection
//! and order computed here in plain Rust over `Db::findings`.

use crate::common;

use std::collections::BTreeMap;

use common::TestDb;
use kensa_model::{Band, EpssScore, Finding, KevEntry};
use kensa_store::{
    AssetId, AssetKind, AssetUpsert, Db, Filter, FindingQuery, GroupBy, Management, Sort,
    StoredFinding, Timestamp,
};
use kensa_testkit::Lcg;

fn real_findings() -> Vec<Finding> {
    static F: std::sync::OnceLock<Vec<Finding>> = std::sync::OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let kb_dir = dir.path().join("kb");
        let mut b = kensa_kb::base::KnowledgeBaseBuilder::create(&kb_dir).expect("kb builder");
        kensa_kb::mirror::import(&kensa_testkit::data_dir(), &mut b).expect("import");
        b.finish().expect("finish");
        let kb = kensa_kb::base::KnowledgeBase::open(&kb_dir).expect("open kb");
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("lib/apk/db")).expect("mkdir");
        std::fs::create_dir_all(root.join("etc")).expect("mkdir");
        std::fs::copy(
            kensa_testkit::data_path("fixtures/apk/alpine/installed"),
            root.join("lib/apk/db/installed"),
        )
        .expect("copy the apk database");
        std::fs::write(root.join("etc/alpine-release"), "3.4.6\n").expect("write");
        let inv = kensa_inventory::collect(&kensa_inventory::Target::Root(root)).expect("inv");
        let opts = kensa_detect::Options {
            today: Some("2026-11-30".into()),
            ..Default::default()
        };
        kensa_detect::scan(&inv, &kb, &opts).expect("scan").findings
    })
    .clone()
}

fn generated(rng: &mut Lcg, n: usize) -> Vec<Finding> {
    let bands = [
        Band::Critical,
        Band::High,
        Band::Medium,
        Band::Low,
        Band::Informational,
        Band::Untriaged,
    ];
    let packages = [
        "openssl",
        "openssl-libs",
        "openssh",
        "curl",
        "zlib",
        "bash",
        "nginx",
    ];
    (0..n)
        .map(|i| {
            let pkg = packages[rng.below(packages.len() as u64) as usize];
            let mut f = common::finding(&format!("CVE-2026-{:05}", i), pkg, "1.0-1");
            f.severity = bands[rng.below(6) as usize];
            if rng.below(5) > 0 {
                // Scores with ties, so that the id breaks them.
                let s = rng.below(21) as f64 / 2.0;
                f.cvss.push(kensa_model::CvssScore {
                    source: "nvd@nist.gov".into(),
                    version: "3.1".into(),
                    vector: String::new(),
                    base_score: s,
                    temporal_score: None,
                    environmental_score: None,
                });
            }
            if rng.below(3) > 0 {
                f.epss = Some(EpssScore {
                    score: rng.below(100) as f64 / 100.0,
                    percentile: 0.5,
                    date: "2026-11-29".into(),
                });
            }
            if rng.below(10) == 0 {
                f.kev = Some(KevEntry {
                    date_added: "2026-01-01".into(),
                    due_date: "2026-01-21".into(),
                    ransomware: false,
                    required_action: "patch".into(),
                });
            }
            if rng.below(4) == 0 {
                f.fixed_version = None;
            }
            f
        })
        .collect()
}

fn port(port: u16, to_port: Option<u16>, protocol: &str) -> kensa_store::ExposedPort {
    kensa_store::ExposedPort {
        port,
        to_port,
        protocol: protocol.into(),
        source: "test".into(),
    }
}

/// Whether the asset is reachable on a port in `lo..=hi`, computed here.
fn reachable(m: &Management, lo: u16, hi: u16) -> bool {
    m.exposed_ports
        .iter()
        .any(|p| p.protocol == "all" || (p.port <= hi && p.to_port.unwrap_or(p.port) >= lo))
}

struct Fleet {
    assets: Vec<(AssetId, (Management, String))>,
}

fn fleet(db: &Db) -> Fleet {
    let mut rng = Lcg(42);
    let mut assets = Vec::new();
    let teams = ["web", "data", "web ops"];
    for i in 0..8 {
        let id = db
            .upsert_asset(&AssetUpsert {
                kind: AssetKind::Host,
                name: format!("host-{i}"),
                hostname: Some(format!("host-{i}")),
                machine_id: Some(format!("machine-{i}")),
                image_id: None,
                os_id: Some(if i % 2 == 0 { "alpine" } else { "debian" }.into()),
                os_release: Some(if i % 2 == 0 { "3.4" } else { "12" }.into()),
                seen_at: Timestamp::from_unix_ms(1_000),
            })
            .expect("asset");
        let m = Management {
            team: Some(teams[i % 3].into()),
            tags: if i % 3 == 0 {
                vec!["prod".into(), "pci".into()]
            } else {
                vec!["dev".into()]
            },
            exposed_ports: match i % 4 {
                0 => vec![port(22, None, "tcp")],
                1 => vec![port(8000, Some(8100), "tcp"), port(53, None, "udp")],
                2 => vec![],
                _ => vec![port(0, None, "all")],
            },
            ..Management::default()
        };
        db.set_management(id, &m, Timestamp::from_unix_ms(1_000))
            .expect("management");
        let mut findings = if i < 2 { real_findings() } else { Vec::new() };
        findings.extend(generated(&mut rng, 150));
        db.apply_evaluation(
            id,
            &findings,
            Timestamp::from_unix_ms(10_000 + i as i64 * 1000),
        )
        .expect("evaluate");
        let os = if i % 2 == 0 { "alpine" } else { "debian" };
        assets.push((id, (m, os.to_owned())));
    }
    Fleet { assets }
}

/// Every page of a query, following the cursors.
fn all_pages(db: &Db, filter: &str, sort: &str, limit: u32) -> Vec<i64> {
    let mut q = FindingQuery {
        filter: Filter::parse(filter).expect("filter"),
        sort: sort.parse().expect("sort"),
        limit: Some(limit),
        cursor: None,
    };
    let mut out = Vec::new();
    loop {
        let page = db.query_findings(&q).expect("page");
        assert!(page.findings.len() <= limit as usize);
        out.extend(page.findings.iter().map(|f| f.id.0));
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    out
}

fn rank(s: Band) -> i64 {
    match s {
        Band::Critical => 5,
        Band::High => 4,
        Band::Medium => 3,
        Band::Low => 2,
        Band::Informational => 1,
        Band::Untriaged => 0,
    }
}

type Pred = Box<dyn Fn(&StoredFinding, &(Management, String)) -> bool>;

fn query_agrees_with_rust(t: &TestDb) {
    let db = t.open();
    let fleet = fleet(&db);
    let all = db.findings(None, None).expect("all");
    assert!(all.len() > 1200, "{} findings", all.len());
    let mgmt: BTreeMap<AssetId, (Management, String)> = fleet.assets.iter().cloned().collect();
    let cases: Vec<(&str, Pred)> = vec![
        ("", Box::new(|_, _| true)),
        (
            "severity=critical,HIGH",
            Box::new(|f, _| matches!(f.severity, Band::Critical | Band::High)),
        ),
        (
            "package^=openssl severity!=LOW",
            Box::new(|f, _| f.package_name.starts_with("openssl") && f.severity != Band::Low),
        ),
        (
            "score>=7 kev=true",
            Box::new(|f, _| f.score.is_some_and(|s| s >= 7.0) && f.kev),
        ),
        (
            "score=2..5.5 epss<0.5",
            Box::new(|f, _| {
                f.score.is_some_and(|s| (2.0..=5.5).contains(&s)) && f.epss.is_some_and(|e| e < 0.5)
            }),
        ),
        (
            "fix_available=no team=\"web ops\",data",
            Box::new(|f, m| {
                f.fixed_version.is_none()
                    && matches!(m.0.team.as_deref(), Some("web ops") | Some("data"))
            }),
        ),
        (
            "tag=pci package=curl,zlib",
            Box::new(|f, m| {
                m.0.tags.iter().any(|t| t == "pci")
                    && ["curl", "zlib"].contains(&f.package_name.as_str())
            }),
        ),
        (
            "tag!=prod vulnerability_id^=CVE-2026-000",
            Box::new(|f, m| {
                !m.0.tags.iter().any(|t| t == "prod")
                    && f.vulnerability_id.starts_with("CVE-2026-000")
            }),
        ),
        ("port=8080", Box::new(|_, m| reachable(&m.0, 8080, 8080))),
        (
            "port=1..100 severity>=HIGH",
            Box::new(|f, m| {
                reachable(&m.0, 1, 100) && matches!(f.severity, Band::Critical | Band::High)
            }),
        ),
        ("port>8100", Box::new(|_, m| reachable(&m.0, 8101, 65535))),
        (
            "os=alpine status=active",
            Box::new(|f, m| f.status == kensa_store::Status::Active && m.1 == "alpine"),
        ),
    ];
    let sorts: &[&str] = &[
        "severity:desc",
        "score:desc",
        "score:asc",
        "epss:desc",
        "vulnerability_id",
        "package:desc",
        "first_observed:desc",
        "asset_id",
        "due",
    ];
    for (filter, pred) in &cases {
        let want: Vec<&StoredFinding> = all.iter().filter(|f| pred(f, &mgmt[&f.asset])).collect();
        assert!(!want.is_empty(), "{filter}: selects nothing, a weak case");
        for sort in sorts {
            let s: Sort = sort.parse().expect("sort");
            let mut expected = want.clone();
            let score = |f: &StoredFinding| f.score.unwrap_or(-1.0);
            let epss = |f: &StoredFinding| f.epss.unwrap_or(-1.0);
            expected.sort_by(|a, b| {
                let o = match s.key {
                    kensa_store::SortKey::Severity => rank(a.severity)
                        .cmp(&rank(b.severity))
                        .then(score(a).total_cmp(&score(b))),
                    kensa_store::SortKey::Score => score(a).total_cmp(&score(b)),
                    kensa_store::SortKey::Epss => epss(a).total_cmp(&epss(b)),
                    kensa_store::SortKey::VulnerabilityId => {
                        a.vulnerability_id.cmp(&b.vulnerability_id)
                    }
                    kensa_store::SortKey::Package => a.package_name.cmp(&b.package_name),
                    kensa_store::SortKey::FirstObserved => a.first_observed.cmp(&b.first_observed),
                    kensa_store::SortKey::AssetId => a.asset.cmp(&b.asset),
                    // Every finding here is due by the default SLA from its
                    // first observation, or never (INFORMATIONAL, UNTRIAGED).
                    kensa_store::SortKey::Due => {
                        let due = |f: &StoredFinding| {
                            kensa_store::SlaPolicy::default()
                                .days(f.severity.as_str())
                                .map_or(i64::MAX, |d| {
                                    f.first_observed.unix_ms() + i64::from(d) * 86_400_000
                                })
                        };
                        due(a).cmp(&due(b))
                    }
                    _ => unreachable!(),
                }
                .then(a.id.cmp(&b.id));
                if s.descending { o.reverse() } else { o }
            });
            let expected: Vec<i64> = expected.iter().map(|f| f.id.0).collect();
            // Text keys sort by the database's collation on PostgreSQL;
            // the generated values are ASCII without case differences, so
            // byte order and collation agree.
            let got = all_pages(&db, filter, sort, 37);
            assert_eq!(got, expected, "{}: filter {filter:?} sort {sort}", t.name());
        }
        assert_eq!(
            db.count_findings(&Filter::parse(filter).expect("filter"))
                .expect("count"),
            want.len() as u64,
            "{filter}"
        );
    }

    // Aggregations agree with grouping here.
    let filter = Filter::parse("status=ACTIVE").expect("filter");
    let groups = db
        .aggregate_findings(&filter, GroupBy::Package, 1000, 0)
        .expect("aggregate");
    let mut want: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    for f in all
        .iter()
        .filter(|f| f.status == kensa_store::Status::Active)
    {
        let e = want.entry(f.package_name.as_str()).or_default();
        e.0 += 1;
        e.1 += u64::from(f.severity == Band::Critical);
        e.2 += u64::from(f.kev);
    }
    assert_eq!(groups.len(), want.len());
    for g in &groups {
        assert_eq!(
            (g.total, g.critical, g.kev),
            want[g.key.as_str()],
            "group {}",
            g.key
        );
    }
    // Most critical first.
    assert!(groups.windows(2).all(|w| w[0].critical >= w[1].critical));
    // Any column, either way; the same groups with the same counts.
    for (sort, key) in [
        (
            "total:asc",
            (|g: &kensa_store::Aggregate| g.total) as fn(&_) -> u64,
        ),
        ("-total", |g| g.total),
        ("-assets", |g| g.assets),
        ("kev:asc", |g| g.kev),
    ] {
        let sorted = db
            .aggregate_findings_sorted(
                &filter,
                GroupBy::Package,
                sort.parse().expect("sort"),
                1000,
                0,
            )
            .expect("sorted");
        let v: Vec<u64> = sorted.iter().map(key).collect();
        let ordered = if sort.ends_with(":asc") {
            v.windows(2).all(|w| w[0] <= w[1])
        } else {
            v.windows(2).all(|w| w[0] >= w[1])
        };
        assert!(ordered, "{sort}: {v:?}");
        let mut a: Vec<_> = sorted.iter().map(|g| (g.key.clone(), g.total)).collect();
        let mut b: Vec<_> = groups.iter().map(|g| (g.key.clone(), g.total)).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b, "{sort}");
    }
    let by_key = db
        .aggregate_findings_sorted(
            &filter,
            GroupBy::Package,
            "key:desc".parse().expect("s"),
            1000,
            0,
        )
        .expect("by key");
    assert!(by_key.windows(2).all(|w| w[0].key >= w[1].key));
    assert!("colour".parse::<kensa_store::GroupSort>().is_err());
    let by_asset = db
        .aggregate_findings(&Filter::default(), GroupBy::Asset, 3, 0)
        .expect("by asset");
    assert_eq!(by_asset.len(), 3);
    assert!(
        by_asset
            .iter()
            .all(|g| g.name.as_deref().is_some_and(|n| n.starts_with("host-")))
    );
    let by_team = db
        .aggregate_findings(&Filter::default(), GroupBy::Team, 10, 0)
        .expect("by team");
    let mut teams: Vec<&str> = by_team.iter().map(|g| g.key.as_str()).collect();
    teams.sort_unstable();
    assert_eq!(teams, ["data", "web", "web ops"]);
    assert_eq!(
        by_team.iter().map(|g| g.total).sum::<u64>(),
        all.len() as u64
    );

    // A cursor from another sort is refused, not misread.
    let page = db
        .query_findings(&FindingQuery {
            sort: "score:desc".parse().expect("sort"),
            limit: Some(5),
            ..FindingQuery::default()
        })
        .expect("page");
    let err = db
        .query_findings(&FindingQuery {
            sort: "epss:desc".parse().expect("sort"),
            cursor: page.next_cursor,
            ..FindingQuery::default()
        })
        .expect_err("another sort's cursor");
    assert!(err.to_string().contains("another sort order"), "{err}");
    assert!(
        db.query_findings(&FindingQuery {
            cursor: Some("zz".into()),
            ..FindingQuery::default()
        })
        .is_err()
    );
}

both!(query_agrees_with_rust);
