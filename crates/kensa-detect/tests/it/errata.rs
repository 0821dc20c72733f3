//! Traps from AlmaLinux's real OSV data (the whole `osv/AlmaLinux/all.zip`
//! of the data folder, imported as `kensa db import` does): bug-fix and
//! enhancement errata are not vulnerabilities, and a build the vendor
//! fixed stays fixed when a later erratum for a later minor release names
//! the same CVE again with a higher version.
//!
//! The records each test relies on are checked first, so that a change of
//! the data cannot make a test pass on nothing.

use std::sync::OnceLock;

use kensa_detect::{Options, Report};
use kensa_inventory::model::{Inventory, Os, Package, PackageKind, Source, SourceKind};
use kensa_kb::base::{KnowledgeBase, KnowledgeBaseBuilder};
use kensa_kb::model::{Event, Record};

struct Kb {
    _dir: tempfile::TempDir,
    store: KnowledgeBase,
}

fn kb() -> &'static Kb {
    static KB: OnceLock<Kb> = OnceLock::new();
    KB.get_or_init(|| {
        let zip = kensa_testkit::data_path("osv/AlmaLinux/all.zip");
        let dir = tempfile::tempdir().expect("tempdir");
        let mut b = KnowledgeBaseBuilder::create(dir.path()).expect("builder");
        let report = kensa_kb::feeds::osv::import(&zip, &mut b).expect("import AlmaLinux OSV");
        assert!(report.records > 5000, "{report:?}");
        b.report("osv", report);
        b.finish().expect("finish");
        let store = KnowledgeBase::open(dir.path()).expect("open");
        Kb { _dir: dir, store }
    })
}

/// The fixed versions `id` gives `package` in `namespace`, read from the
/// store's record of the advisory.
fn fixes(id: &str, namespace: &str, package: &str) -> Vec<String> {
    let mut out = Vec::new();
    for r in kb().store.get(id).expect("get") {
        if let Record::Advisory(a) = r
            && a.id == id
        {
            for af in a
                .affected
                .iter()
                .filter(|af| af.namespace == namespace && af.package == package)
            {
                for e in af.ranges.iter().flatten() {
                    if let Event::Fixed(f) = e {
                        out.push(f.clone());
                    }
                }
            }
        }
    }
    out
}

fn rpm(name: &str, epoch: Option<u32>, version: &str, release: &str) -> Package {
    Package {
        kind: Some(PackageKind::Rpm),
        name: name.into(),
        epoch,
        version: format!("{version}-{release}"),
        release: Some(release.into()),
        arch: Some("x86_64".into()),
        source_name: Some(name.into()),
        vendor: Some("AlmaLinux".into()),
        purl: format!("pkg:rpm/almalinux/{name}@{version}-{release}"),
        path: "var/lib/rpm/rpmdb.sqlite".into(),
        ..Package::default()
    }
}

fn scan(release: &str, packages: Vec<Package>) -> Report {
    let mut inv = Inventory {
        source: Source {
            kind: SourceKind::Root,
            path: "/scan".into(),
            image: None,
        },
        os: Some(Os {
            id: "almalinux".into(),
            release: release.into(),
            version: Some(release.into()),
            source_file: "etc/os-release".into(),
            ..Os::default()
        }),
        packages,
        ..Inventory::default()
    };
    inv.normalise();
    kensa_detect::scan(
        &inv,
        &kb().store,
        &Options {
            today: Some("2026-11-30".into()),
            scanned_at: Some("2026-11-30T00:00:00Z".into()),
            ..Options::default()
        },
    )
    .expect("scan")
}

fn finding<'r>(r: &'r Report, id: &str, package: &str) -> Option<&'r kensa_detect::Finding> {
    r.findings
        .iter()
        .find(|f| f.vulnerability_id == id && f.package.name == package)
}

/// ALBA-2021:4378 ("krb5 bug fix and enhancement update") fixes nothing
/// that has a CVE: a krb5 build below its version is out of date, not
/// vulnerable. Before the fix it was a finding (UNTRIAGED, "fixed").
#[test]
fn bug_fix_errata_are_not_findings() {
    assert_eq!(
        fixes("ALBA-2021:4378", "almalinux:8", "krb5-libs"),
        ["1.18.2-14.el8"]
    );
    let r = scan("8", vec![rpm("krb5-libs", None, "1.18.2", "13.el8")]);
    let from_errata: Vec<_> = r
        .findings
        .iter()
        .filter(|f| {
            f.advisories
                .iter()
                .any(|a| kensa_kb::model::is_non_security_erratum(&a.id))
        })
        .map(|f| (&f.vulnerability_id, &f.advisories))
        .collect();
    assert!(from_errata.is_empty(), "{from_errata:?}");
    assert!(finding(&r, "ALBA-2021:4378", "krb5-libs").is_none());
    // The security errata of the same package still make findings.
    assert!(
        r.findings
            .iter()
            .any(|f| f.advisories.iter().any(|a| a.id.starts_with("ALSA-"))),
        "{:?}",
        r.findings
            .iter()
            .map(|f| &f.vulnerability_id)
            .collect::<Vec<_>>()
    );
}

/// CVE-2021-41133 (flatpak): ALSA-2021:4042 fixes it in 1.8.5-4.el8_4; the
/// enhancement erratum ALEA-2021:4539 names it again with 1.8.5-5.el8_5.
/// The host has the security fix: nothing to report. Before the fix the
/// enhancement erratum made a finding "fixed in 1.8.5-5.el8_5".
#[test]
fn an_enhancement_erratum_naming_a_fixed_cve_is_not_a_finding() {
    assert_eq!(
        fixes("ALSA-2021:4042", "almalinux:8", "flatpak"),
        ["1.8.5-4.el8_4"]
    );
    assert_eq!(
        fixes("ALEA-2021:4539", "almalinux:8", "flatpak"),
        ["1.8.5-5.el8_5"]
    );
    let r = scan("8", vec![rpm("flatpak", None, "1.8.5", "4.el8_4")]);
    assert!(
        finding(&r, "CVE-2021-41133", "flatpak").is_none(),
        "{:?}",
        finding(&r, "CVE-2021-41133", "flatpak")
    );
    // One build earlier is vulnerable, fixed by the security erratum.
    let r = scan("8", vec![rpm("flatpak", None, "1.8.5", "3.el8_4")]);
    let f = finding(&r, "CVE-2021-41133", "flatpak").expect("finding");
    assert_eq!(f.fixed_version.as_deref(), Some("1.8.5-4.el8_4"));
    assert!(f.advisories.iter().all(|a| a.id == "ALSA-2021:4042"));
}

/// CVE-2022-30594 (kernel): ALSA-2022:7318 fixes it for AlmaLinux 9.0 in
/// 5.14.0-70.30.1.el9_0, ALSA-2023:0334 names it again for 9.1 with
/// 5.14.0-162.12.1.el9_1. The 9.0 fixed build is not vulnerable (before
/// the fix: a finding "fixed in 5.14.0-162.12.1.el9_1"); a 9.0 build
/// below the 9.0 fix is; and a 9.1 build below the 9.1 fix is too, though
/// its version is above the 9.0 fix (the other side of the rule: a fix of
/// an earlier stream does not cover a later stream's build).
#[test]
fn a_fixed_build_stays_fixed_when_a_later_stream_is_fixed_again() {
    let cve = "CVE-2022-30594";
    assert_eq!(
        fixes("ALSA-2022:7318", "almalinux:9", "kernel"),
        ["5.14.0-70.30.1.el9_0"]
    );
    assert_eq!(
        fixes("ALSA-2023:0334", "almalinux:9", "kernel"),
        ["5.14.0-162.12.1.el9_1"]
    );
    let fixed = scan("9", vec![rpm("kernel", None, "5.14.0", "70.30.1.el9_0")]);
    assert!(
        finding(&fixed, cve, "kernel").is_none(),
        "{:?}",
        finding(&fixed, cve, "kernel")
    );
    let old = scan("9", vec![rpm("kernel", None, "5.14.0", "70.26.1.el9_0")]);
    assert!(finding(&old, cve, "kernel").is_some());
    let later_stream = scan("9", vec![rpm("kernel", None, "5.14.0", "162.6.1.el9_1")]);
    let f = finding(&later_stream, cve, "kernel").expect("9.1 build below the 9.1 fix");
    assert_eq!(f.fixed_version.as_deref(), Some("5.14.0-162.12.1.el9_1"));
    let fixed_later = scan("9", vec![rpm("kernel", None, "5.14.0", "162.12.1.el9_1")]);
    assert!(finding(&fixed_later, cve, "kernel").is_none());
}

/// The same with an epoch: nodejs `1:16.17.1-1.el9_0` (ALSA-2022:6963)
/// fixes CVE-2022-35256; ALSA-2023:0321 names it again for 9.1.
#[test]
fn a_fixed_build_with_an_epoch_stays_fixed() {
    assert_eq!(
        fixes("ALSA-2022:6963", "almalinux:9", "nodejs"),
        ["1:16.17.1-1.el9_0"]
    );
    assert_eq!(
        fixes("ALSA-2023:0321", "almalinux:9", "nodejs"),
        ["1:16.18.1-3.el9_1"]
    );
    let r = scan("9", vec![rpm("nodejs", Some(1), "16.17.1", "1.el9_0")]);
    assert!(finding(&r, "CVE-2022-35256", "nodejs").is_none());
    let r = scan("9", vec![rpm("nodejs", Some(1), "16.14.0", "5.el9_0")]);
    assert!(finding(&r, "CVE-2022-35256", "nodejs").is_some());
}
