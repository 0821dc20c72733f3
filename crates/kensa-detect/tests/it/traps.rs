//! Hand-checked golden cases for the traps of distribution detection.
//! Each test builds a real knowledge base (a store on disk, through the
//! same builder the feeds use) from a few advisories written as the vendor
//! writes them, scans a hand-made inventory, and snapshots the findings.
//! Every snapshot was read and checked against the vendor's rule it pins;
//! the comment above each test says what that rule is.

use kensa_detect::{Exposure, Options, Report, Status};
use kensa_inventory::model::{
    Inventory, Kernels, Listener, Os, Package, PackageKind, Source, SourceKind,
};
use kensa_kb::base::{KnowledgeBase, KnowledgeBaseBuilder};
use kensa_kb::model::{
    Advisory, Affected, CvssVector, EolRelease, Event, Feed, FixStatus, Kev, Record, Severity,
    Sink, Vulnerability,
};
use serde_json::{Value, json};

fn affected(ns: &str, pkg: &str, status: FixStatus, fixed: Option<&str>) -> Affected {
    let mut events = vec![Event::Introduced("0".into())];
    if let Some(f) = fixed {
        events.push(Event::Fixed(f.into()));
    }
    Affected {
        namespace: ns.into(),
        package: pkg.into(),
        status,
        ranges: vec![events],
        versions: Vec::new(),
        fixed: fixed.map(str::to_owned),
        note: None,
        module: None,
        arches: Vec::new(),
    }
}

fn advisory(id: &str, feed: Feed, aliases: &[&str], affected: Vec<Affected>) -> Advisory {
    Advisory {
        id: id.into(),
        feed,
        aliases: aliases.iter().map(|s| (*s).to_owned()).collect(),
        published: Some("2024-01-01".into()),
        modified: None,
        summary: Some(format!("{id} summary")),
        severity: None,
        cvss: Vec::new(),
        references: vec![format!("https://example.org/{id}")],
        affected,
    }
}

fn nvd(id: &str, vector: &str) -> Record {
    Record::Vulnerability(Vulnerability {
        id: id.into(),
        description: Some(format!("{id}: a flaw.")),
        published: Some("2024-01-01T00:00:00".into()),
        modified: None,
        cwes: Vec::new(),
        references: Vec::new(),
        cvss: vec![CvssVector {
            source: "nvd@nist.gov".into(),
            kind: Some("Primary".into()),
            version: "3.1".into(),
            vector: vector.into(),
            base_score: None,
        }],
    })
}

const CRITICAL: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
const HIGH_LOCAL: &str = "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H";

fn store(records: Vec<Record>) -> (tempfile::TempDir, KnowledgeBase) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = KnowledgeBaseBuilder::create(dir.path()).expect("builder");
    for r in records {
        b.record(r);
    }
    b.finish().expect("finish");
    let s = KnowledgeBase::open(dir.path()).expect("open");
    (dir, s)
}

fn os(id: &str, release: &str) -> Option<Os> {
    Some(Os {
        id: id.into(),
        release: release.into(),
        version: Some(release.into()),
        source_file: "etc/os-release".into(),
        ..Os::default()
    })
}

fn deb(name: &str, version: &str, source: Option<(&str, Option<&str>)>) -> Package {
    Package {
        kind: Some(PackageKind::Deb),
        name: name.into(),
        version: version.into(),
        arch: Some("amd64".into()),
        source_name: Some(source.map_or(name, |s| s.0).into()),
        source_version: source.and_then(|s| s.1.map(str::to_owned)),
        purl: format!("pkg:deb/debian/{name}@{version}?arch=amd64"),
        path: "var/lib/dpkg/status".into(),
        ..Package::default()
    }
}

fn rpm(name: &str, epoch: Option<u32>, version: &str, release: &str, vendor: &str) -> Package {
    Package {
        kind: Some(PackageKind::Rpm),
        name: name.into(),
        epoch,
        version: format!("{version}-{release}"),
        release: Some(release.into()),
        arch: Some("x86_64".into()),
        source_name: Some(name.into()),
        vendor: Some(vendor.into()),
        purl: format!("pkg:rpm/{name}@{version}-{release}"),
        path: "var/lib/rpm/rpmdb.sqlite".into(),
        ..Package::default()
    }
}

fn inventory(os: Option<Os>, packages: Vec<Package>) -> Inventory {
    let mut inv = Inventory {
        source: Source {
            kind: SourceKind::Root,
            path: "/scan".into(),
            image: None,
        },
        os,
        packages,
        ..Inventory::default()
    };
    inv.normalise();
    inv
}

fn scan(inv: &Inventory, store: &KnowledgeBase, exposure: Exposure) -> Report {
    kensa_detect::scan(
        inv,
        store,
        &Options {
            exposure,
            today: Some("2026-11-30".into()),
            scanned_at: Some("2026-11-30T00:00:00Z".into()),
            reachable: None,
        },
    )
    .expect("scan")
}

/// The fields a reader checks, one line per finding, in report order.
fn brief(r: &Report) -> Value {
    let findings: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            json!({
                "id": f.vulnerability_id,
                "package": format!("{} {}", f.package.name, f.package.installed_version),
                "source": f.package.source_name,
                "fixed": f.fixed_version,
                "status": f.status,
                "severity": f.severity,
                "score": f.score.as_ref().map(|s| json!({"base": s.base, "adjusted": s.adjusted, "vector": s.vector, "adjustments": s.adjustments.iter().map(|a| format!("{}:{} {}", a.metric, a.value, a.reason)).collect::<Vec<_>>()})),
                "notes": f.detection.notes,
                "advisories": f.advisories.iter().map(|a| a.id.clone()).collect::<Vec<_>>(),
                "remediation": f.remediation,
            })
        })
        .collect();
    json!({ "findings": findings, "warnings": r.warnings.iter().map(|w| format!("[{}] {}", w.kind, w.message)).collect::<Vec<_>>() })
}

/// Debian keys advisories by source package: the binary `libssl3` is
/// affected through its source `openssl`, compared with the source version
/// (a binNMU `+b1` binary version must not decide). A `~deb12u1` stable
/// update sorts below the unstable fix `-1` it backports from, so only
/// the tracker's per-release version is right. Epochs count: `1:2.0-1` is
/// above `2.5-1`.
#[test]
fn debian_source_packages_tilde_and_epochs() {
    let ns = "debian:12";
    let (_d, s) = store(vec![
        Record::Advisory(advisory(
            "CVE-2024-0001",
            Feed::DebianTracker,
            &[],
            vec![affected(
                ns,
                "openssl",
                FixStatus::Fixed,
                Some("3.0.13-1~deb12u1"),
            )],
        )),
        // Keyed by the binary name: Debian never does this, so it must
        // not match `libssl3` by accident either.
        Record::Advisory(advisory(
            "CVE-2024-0002",
            Feed::DebianTracker,
            &[],
            vec![affected(ns, "libssl3", FixStatus::Fixed, Some("9.9-1"))],
        )),
        Record::Advisory(advisory(
            "CVE-2024-0003",
            Feed::DebianTracker,
            &[],
            vec![affected(ns, "foo", FixStatus::Fixed, Some("2.0-1"))],
        )),
        Record::Advisory(advisory(
            "CVE-2024-0004",
            Feed::DebianTracker,
            &[],
            vec![affected(ns, "bar", FixStatus::Fixed, Some("2.5-1"))],
        )),
        Record::Advisory(advisory(
            "CVE-2024-0005",
            Feed::DebianTracker,
            &[],
            vec![affected(ns, "rc", FixStatus::Fixed, Some("1.0-1"))],
        )),
        nvd("CVE-2024-0001", CRITICAL),
    ]);
    let inv = inventory(
        os("debian", "12"),
        vec![
            deb("libssl3", "3.0.11-1~deb12u2", Some(("openssl", None))),
            deb("openssl", "3.0.11-1~deb12u2", None),
            // binNMU: binary 2.0-1+b1 from source foo 2.0-1 = the fix.
            deb("libfoo1", "2.0-1+b1", Some(("foo", Some("2.0-1")))),
            deb("bar", "1:2.0-1", None),
            deb("rc", "1.0~rc1-1", None),
        ],
    );
    let r = scan(&inv, &s, Exposure::Unknown);
    insta::assert_json_snapshot!(brief(&r));
    // One finding per binary package built from the vulnerable source.
    let names: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.vulnerability_id == "CVE-2024-0001")
        .map(|f| f.package.name.as_str())
        .collect();
    assert_eq!(names, ["libssl3", "openssl"]);
    assert!(
        !r.findings
            .iter()
            .any(|f| f.vulnerability_id == "CVE-2024-0002")
    );
    assert!(!r.findings.iter().any(|f| f.package.name == "libfoo1"));
    assert!(!r.findings.iter().any(|f| f.package.name == "bar"));
    assert!(r.findings.iter().any(|f| f.package.name == "rc"));
}

/// The tracker's states: `<no-dsa>` is affected with the vendor's reason,
/// `<unfixed>` affected, `<ignored>` will not fix, `<postponed>` deferred,
/// `<not-affected>` no finding at all. The release is past its regular
/// support (2026-07-11) but in LTS: an end-of-life finding, MEDIUM, and a
/// note on every OS package finding.
#[test]
fn debian_statuses_and_end_of_life() {
    let ns = "debian:12";
    let mut nodsa = affected(ns, "minor", FixStatus::Affected, None);
    nodsa.note = Some("no-dsa: Minor issue".into());
    let (_d, s) = store(vec![
        Record::Advisory(advisory(
            "CVE-2024-1001",
            Feed::DebianTracker,
            &[],
            vec![nodsa],
        )),
        Record::Advisory(advisory(
            "CVE-2024-1002",
            Feed::DebianTracker,
            &[],
            vec![affected(ns, "open", FixStatus::Affected, None)],
        )),
        Record::Advisory(advisory(
            "CVE-2024-1003",
            Feed::DebianTracker,
            &[],
            vec![affected(ns, "ignored", FixStatus::WillNotFix, None)],
        )),
        Record::Advisory(advisory(
            "CVE-2024-1004",
            Feed::DebianTracker,
            &[],
            vec![affected(ns, "later", FixStatus::FixDeferred, None)],
        )),
        Record::Advisory(advisory(
            "CVE-2024-1005",
            Feed::DebianTracker,
            &[],
            vec![affected(ns, "fine", FixStatus::NotAffected, None)],
        )),
        Record::Eol(EolRelease {
            lts: None,
            product: "debian".into(),
            cycle: "12".into(),
            codename: Some("Bookworm".into()),
            release_date: Some("2023-06-10".into()),
            eol: Some("2026-07-11".into()),
            eol_reached: false,
            extended_support: Some("2028-06-30".into()),
            latest: Some("12.15".into()),
        }),
        Record::Eol(EolRelease {
            lts: None,
            product: "debian".into(),
            cycle: "13".into(),
            codename: Some("Trixie".into()),
            release_date: Some("2025-08-09".into()),
            eol: Some("2028-08-09".into()),
            eol_reached: false,
            extended_support: Some("2030-06-30".into()),
            latest: Some("13.6".into()),
        }),
    ]);
    let inv = inventory(
        os("debian", "12"),
        ["minor", "open", "ignored", "later", "fine"]
            .into_iter()
            .map(|n| deb(n, "1.0-1", None))
            .collect(),
    );
    let r = scan(&inv, &s, Exposure::Unknown);
    insta::assert_json_snapshot!(brief(&r));
    let status = |p: &str| {
        r.findings
            .iter()
            .find(|f| f.package.name == p)
            .map(|f| f.status)
    };
    assert_eq!(status("minor"), Some(Status::Affected));
    assert_eq!(status("ignored"), Some(Status::WillNotFix));
    assert_eq!(status("later"), Some(Status::FixDeferred));
    assert_eq!(status("fine"), None);
    assert_eq!(status("debian"), Some(Status::EndOfLife));
}

/// RPM: advisories by binary name and `[epoch:]version-release`, a
/// missing epoch is 0 on either side; module streams only match their own
/// stream; a package from another vendor is never matched with the
/// distribution's advisories, and the report says so.
#[test]
fn rpm_epochs_modules_and_third_party() {
    let ns = "almalinux:9";
    let mut m18 = affected(
        ns,
        "nodejs",
        FixStatus::Fixed,
        Some("1:18.19.0-1.module_el9.3.0+5+aaaa"),
    );
    m18.module = Some("nodejs:18".into());
    let mut m20 = affected(
        ns,
        "nodejs",
        FixStatus::Fixed,
        Some("1:20.11.0-1.module_el9.3.0+6+bbbb"),
    );
    m20.module = Some("nodejs:20".into());
    let (_d, s) = store(vec![
        // The fix has an epoch, the installed package none: 0:1.1 < 1:1.0.
        Record::Advisory(advisory(
            "ALSA-2024:0001",
            Feed::Osv,
            &["CVE-2024-2001"],
            vec![affected(ns, "tool", FixStatus::Fixed, Some("1:1.0-1.el9"))],
        )),
        // The installed package has the epoch, the fix none: 2:1.0 > 0:3.0.
        Record::Advisory(advisory(
            "ALSA-2024:0002",
            Feed::Osv,
            &["CVE-2024-2002"],
            vec![affected(
                ns,
                "vim-minimal",
                FixStatus::Fixed,
                Some("3.0-1.el9"),
            )],
        )),
        Record::Advisory(advisory(
            "ALSA-2024:0003",
            Feed::Osv,
            &["CVE-2024-2003"],
            vec![m18],
        )),
        Record::Advisory(advisory(
            "ALSA-2024:0004",
            Feed::Osv,
            &["CVE-2024-2004"],
            vec![m20],
        )),
        // Not modular: a modular nodejs must not take this fix.
        Record::Advisory(advisory(
            "ALSA-2024:0005",
            Feed::Osv,
            &["CVE-2024-2005"],
            vec![affected(
                ns,
                "nodejs",
                FixStatus::Fixed,
                Some("1:16.20.2-1.el9"),
            )],
        )),
        Record::Advisory(advisory(
            "ALSA-2024:0006",
            Feed::Osv,
            &["CVE-2024-2006"],
            vec![affected(
                ns,
                "curl",
                FixStatus::Fixed,
                Some("7.76.1-26.el9"),
            )],
        )),
    ]);
    let mut node = rpm(
        "nodejs",
        Some(1),
        "18.14.2",
        "3.module_el9.1.0+12+cccc",
        "AlmaLinux",
    );
    node.modularity_label = Some("nodejs:18:9010020230111:rhel9".into());
    let inv = inventory(
        os("almalinux", "9"),
        vec![
            rpm("tool", None, "1.1", "1.el9", "AlmaLinux"),
            rpm("vim-minimal", Some(2), "1.0", "1.el9", "AlmaLinux"),
            node,
            // Same name as the distribution's curl, built by someone else.
            rpm("curl", None, "7.0.0", "1", "Example Corp"),
        ],
    );
    let r = scan(&inv, &s, Exposure::Unknown);
    insta::assert_json_snapshot!(brief(&r));
    let ids: Vec<_> = r
        .findings
        .iter()
        .map(|f| f.vulnerability_id.as_str())
        .collect();
    assert!(ids.contains(&"CVE-2024-2001"));
    assert!(!ids.contains(&"CVE-2024-2002"));
    assert!(ids.contains(&"CVE-2024-2003"));
    assert!(!ids.contains(&"CVE-2024-2004"));
    assert!(!ids.contains(&"CVE-2024-2005"));
    assert!(!ids.contains(&"CVE-2024-2006"));
    assert!(
        r.warnings
            .iter()
            .any(|w| w.kind == "third-party-package" && w.package.as_deref() == Some("curl"))
    );
}

/// Amazon Linux is checked with ALAS only: a Red Hat advisory for the same
/// package name and an older version must not produce a finding.
#[test]
fn amazon_linux_never_uses_red_hat_data() {
    let (_d, s) = store(vec![
        Record::Advisory(advisory(
            "CVE-2024-3001",
            Feed::RedHat,
            &["RHSA-2024:1"],
            vec![affected(
                "rhel:9",
                "openssl",
                FixStatus::Fixed,
                Some("1:3.0.7-99.el9"),
            )],
        )),
        Record::Advisory(advisory(
            "ALAS2023-2024-001",
            Feed::AmazonAlas,
            &["CVE-2024-3002"],
            vec![affected(
                "amzn:2023",
                "openssl",
                FixStatus::Fixed,
                Some("1:3.0.8-1.amzn2023.0.5"),
            )],
        )),
    ]);
    let inv = inventory(
        os("amzn", "2023"),
        vec![rpm(
            "openssl",
            Some(1),
            "3.0.8",
            "1.amzn2023.0.4",
            "Amazon Linux",
        )],
    );
    let r = scan(&inv, &s, Exposure::Unknown);
    insta::assert_json_snapshot!(brief(&r));
    let ids: Vec<_> = r
        .findings
        .iter()
        .map(|f| f.vulnerability_id.as_str())
        .collect();
    assert_eq!(ids, ["CVE-2024-3002"]);
}

/// Kernels: Debian's signed images come from `linux-signed-amd64` but
/// advisories name `linux`; the image's own version is the kernel's. On a
/// live host only the running kernel is exposed: the other installed one
/// says so. The score is adjusted: the host is internal (AV:N → MAV:A) and
/// the flaw is in CISA KEV (E:H, CR/IR/AR:H).
#[test]
fn kernels_exposure_and_kev() {
    let ns = "debian:12";
    let (_d, s) = store(vec![
        Record::Advisory(advisory(
            "CVE-2024-4001",
            Feed::DebianTracker,
            &[],
            vec![affected(ns, "linux", FixStatus::Fixed, Some("6.1.76-1"))],
        )),
        nvd("CVE-2024-4001", HIGH_LOCAL),
        Record::Advisory(advisory(
            "CVE-2024-4002",
            Feed::DebianTracker,
            &[],
            vec![affected(
                ns,
                "nginx",
                FixStatus::Fixed,
                Some("1.22.1-9+deb12u9"),
            )],
        )),
        nvd("CVE-2024-4002", CRITICAL),
        Record::Kev(Kev {
            cve: "CVE-2024-4002".into(),
            vendor: "F5".into(),
            product: "nginx".into(),
            name: "nginx flaw".into(),
            date_added: "2024-05-01".into(),
            due_date: "2024-05-22".into(),
            ransomware: false,
            required_action: "Apply updates".into(),
        }),
    ]);
    let mut inv = inventory(
        os("debian", "12"),
        vec![
            deb(
                "linux-image-6.1.0-13-amd64",
                "6.1.55-1",
                Some(("linux-signed-amd64", Some("6.1.55+1"))),
            ),
            deb(
                "linux-image-6.1.0-18-amd64",
                "6.1.76-1",
                Some(("linux-signed-amd64", Some("6.1.76+1"))),
            ),
            deb("nginx", "1.22.1-9", None),
        ],
    );
    inv.source.kind = SourceKind::Host;
    inv.kernels = Kernels {
        installed: vec!["6.1.0-13-amd64".into(), "6.1.0-18-amd64".into()],
        running: Some("6.1.0-18-amd64".into()),
    };
    inv.listeners = vec![Listener {
        protocol: "tcp".into(),
        address: "0.0.0.0".into(),
        port: 443,
        all_interfaces: true,
        loopback: false,
        process: Some("nginx".into()),
        pid: Some(1),
    }];
    let r = scan(&inv, &s, Exposure::Internal);
    insta::assert_json_snapshot!(brief(&r));
    let kernel = r
        .findings
        .iter()
        .find(|f| f.package.name == "linux-image-6.1.0-13-amd64")
        .expect("old kernel finding");
    assert_eq!(kernel.detection.confidence, "medium");
    assert!(
        !r.findings
            .iter()
            .any(|f| f.package.name == "linux-image-6.1.0-18-amd64")
    );
    let nginx = r
        .findings
        .iter()
        .find(|f| f.package.name == "nginx")
        .expect("nginx");
    let score = nginx.score.as_ref().expect("score");
    assert!(score.vector.contains("MAV:A") && score.vector.contains("E:H"));
}

/// Language packages: a GHSA and a PYSEC record for one CVE make one
/// finding; with two fixed versions the higher one is reported (the one
/// that fixes it by every source). An informational RustSec advisory is a
/// warning, not a finding.
#[test]
fn language_advisories_merge_by_cve() {
    let mut ghsa = affected("PyPI", "jinja2", FixStatus::Fixed, Some("2.11.3"));
    ghsa.ranges = vec![vec![
        Event::Introduced("0".into()),
        Event::Fixed("2.11.3".into()),
    ]];
    let pysec = affected("PyPI", "jinja2", FixStatus::Fixed, Some("2.11.2"));
    let mut unmaintained = affected("crates.io", "old-crate", FixStatus::Affected, None);
    unmaintained.note = Some("informational: unmaintained".into());
    let (_d, s) = store(vec![
        Record::Advisory(advisory(
            "GHSA-aaaa-bbbb-cccc",
            Feed::Osv,
            &["CVE-2020-28493", "PYSEC-2021-66"],
            vec![ghsa],
        )),
        Record::Advisory(advisory(
            "PYSEC-2021-66",
            Feed::Osv,
            &["CVE-2020-28493", "GHSA-aaaa-bbbb-cccc"],
            vec![pysec],
        )),
        Record::Advisory(advisory(
            "RUSTSEC-2020-0001",
            Feed::Rustsec,
            &[],
            vec![unmaintained],
        )),
    ]);
    let inv = inventory(
        None,
        vec![
            Package {
                kind: Some(PackageKind::Python),
                name: "Jinja2".into(),
                version: "2.10".into(),
                purl: "pkg:pypi/jinja2@2.10".into(),
                path: "usr/lib/python3/dist-packages/Jinja2-2.10.dist-info/METADATA".into(),
                ..Package::default()
            },
            Package {
                kind: Some(PackageKind::Cargo),
                name: "old-crate".into(),
                version: "0.1.0".into(),
                purl: "pkg:cargo/old-crate@0.1.0".into(),
                path: "app/Cargo.lock".into(),
                ..Package::default()
            },
        ],
    );
    let r = scan(&inv, &s, Exposure::Unknown);
    insta::assert_json_snapshot!(brief(&r));
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].fixed_version.as_deref(), Some("2.11.3"));
    assert!(
        r.warnings
            .iter()
            .any(|w| w.kind == "informational-advisory")
    );
}

/// A vendor severity word is kept, and decides the band when there is no
/// CVSS vector.
#[test]
fn vendor_severity_without_cvss() {
    let mut a = advisory(
        "CVE-2024-5001",
        Feed::DebianTracker,
        &[],
        vec![affected(
            "debian:12",
            "pkg",
            FixStatus::Fixed,
            Some("2.0-1"),
        )],
    );
    a.severity = Some(Severity {
        source: "debian".into(),
        value: "high".into(),
    });
    let (_d, s) = store(vec![Record::Advisory(a)]);
    let inv = inventory(os("debian", "12"), vec![deb("pkg", "1.0-1", None)]);
    let r = scan(&inv, &s, Exposure::Unknown);
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].severity, kensa_detect::Band::High);
    assert_eq!(
        r.findings[0]
            .vendor_severity
            .as_ref()
            .map(|v| v.value.as_str()),
        Some("high")
    );
    assert!(r.findings[0].score.is_none());
}

/// Red Hat files a fixed CVE under every binary RPM (and the source RPM),
/// but an unfixed one only under the source package's name: the binary
/// `openssl-libs` (source `openssl`) gets both, and a CVE listed under
/// both names is still one finding.
#[test]
fn red_hat_unfixed_cves_under_the_source_name() {
    let ns = "rhel:9";
    let (_d, s) = store(vec![
        Record::Advisory(advisory(
            "CVE-2024-6001",
            Feed::RedHat,
            &["RHSA-2024:1"],
            vec![
                affected(ns, "openssl-libs", FixStatus::Fixed, Some("1:3.0.7-27.el9")),
                affected(ns, "openssl", FixStatus::Fixed, Some("1:3.0.7-27.el9")),
            ],
        )),
        Record::Advisory(advisory(
            "CVE-2024-6002",
            Feed::RedHat,
            &[],
            vec![affected(ns, "openssl", FixStatus::WillNotFix, None)],
        )),
    ]);
    let mut libs = rpm("openssl-libs", Some(1), "3.0.7", "24.el9", "Red Hat, Inc.");
    libs.source_name = Some("openssl".into());
    let inv = inventory(os("rhel", "9"), vec![libs]);
    let r = scan(&inv, &s, Exposure::Unknown);
    insta::assert_json_snapshot!(brief(&r));
    let got: Vec<_> = r
        .findings
        .iter()
        .map(|f| {
            (
                f.vulnerability_id.as_str(),
                f.package.name.as_str(),
                f.status,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("CVE-2024-6001", "openssl-libs", Status::Fixed),
            ("CVE-2024-6002", "openssl-libs", Status::WillNotFix)
        ]
    );
}
