//! Traps from SUSE's and Oracle's real OVAL records (the data folder's
//! upstream extracts, see its SOURCE.md): a package at the vendor's fixed
//! version is not vulnerable, one below is, a fix respun per architecture
//! is judged with the package's architecture, a fix for Oracle's Ksplice
//! userspace builds is never applied to an ordinary build (nor an
//! ordinary fix to a Ksplice build), and SUSE's "not affected" is no
//! finding. The records each test relies on are checked first, so that a
//! change of the data cannot make a test pass on nothing.

use std::path::PathBuf;
use std::sync::OnceLock;

use kensa_detect::{Options, Report};
use kensa_inventory::model::{Inventory, Os, Package, PackageKind, Source, SourceKind};
use kensa_kb::base::{KnowledgeBase, KnowledgeBaseBuilder};
use kensa_kb::model::Record;

struct Kb {
    _dir: tempfile::TempDir,
    store: KnowledgeBase,
}

fn extract(rel: &str) -> PathBuf {
    kensa_testkit::data_path("samples/upstream-extracts").join(rel)
}

fn kb() -> &'static Kb {
    static KB: OnceLock<Kb> = OnceLock::new();
    KB.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut b = KnowledgeBaseBuilder::create(dir.path()).expect("builder");
        for rel in [
            "sles/suse_truncated.xml",
            "oracle/mock_data",
            "oracle/mock_per_arch_data",
            "oracle/mock_ksplice_data",
        ] {
            let report = kensa_kb::feeds::oval::import(extract(rel), &mut b).expect(rel);
            assert!(report.errors.is_empty(), "{rel}: {:?}", report.errors);
            assert!(report.records > 0, "{rel}: {report:?}");
            b.report("oval", report);
        }
        b.finish().expect("finish");
        let store = KnowledgeBase::open(dir.path()).expect("open");
        Kb { _dir: dir, store }
    })
}

/// (fixed version, arches, stream) of `package` in `namespace` by `id`.
fn rows(id: &str, namespace: &str, package: &str) -> Vec<(String, Vec<String>, Option<String>)> {
    let mut out = Vec::new();
    for r in kb().store.get(id).expect("get") {
        if let Record::Advisory(a) = r
            && a.id == id
        {
            for x in a
                .affected
                .iter()
                .filter(|x| x.namespace == namespace && x.package == package)
            {
                out.push((
                    x.fixed.clone().unwrap_or_default(),
                    x.arches.clone(),
                    x.module.clone(),
                ));
            }
        }
    }
    out
}

/// An rpm as the inventory reads it: `version` is `version-release`.
fn rpm(vendor: &str, name: &str, epoch: Option<u32>, vr: &str, arch: &str) -> Package {
    let release = vr.split_once('-').map(|(_, r)| r.to_owned());
    Package {
        kind: Some(PackageKind::Rpm),
        name: name.into(),
        epoch,
        version: vr.into(),
        release,
        arch: Some(arch.into()),
        source_name: Some(name.into()),
        vendor: Some(vendor.into()),
        purl: format!("pkg:rpm/{name}@{vr}"),
        path: "var/lib/rpm/rpmdb.sqlite".into(),
        ..Package::default()
    }
}

fn oracle(name: &str, epoch: Option<u32>, vr: &str, arch: &str) -> Package {
    rpm("Oracle America", name, epoch, vr, arch)
}

fn suse(name: &str, vr: &str, arch: &str) -> Package {
    rpm("SUSE LLC <https://www.suse.com/>", name, None, vr, arch)
}

fn scan(os: &str, release: &str, packages: Vec<Package>) -> Report {
    let mut inv = Inventory {
        source: Source {
            kind: SourceKind::Root,
            path: "/scan".into(),
            image: None,
        },
        os: Some(Os {
            id: os.into(),
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

/// ELSA-2022-4803 (CVE-2022-24903, rsyslog, Oracle Linux 7) was respun at
/// 57.0.1 for x86_64 and 57.0.4 for aarch64. Before Oracle OVAL was read
/// there was no `ol:7` data at all (the file was not imported).
#[test]
fn oracle_fixes_per_architecture() {
    let cve = "CVE-2022-24903";
    assert_eq!(
        rows("ELSA-2022-4803", "ol:7", "rsyslog"),
        [
            (
                "0:8.24.0-57.0.1.el7_9.3".to_owned(),
                vec!["i686".to_owned(), "x86_64".to_owned()],
                None
            ),
            (
                "0:8.24.0-57.0.4.el7_9.3".to_owned(),
                vec!["aarch64".to_owned()],
                None
            ),
        ]
    );
    let fixed = scan(
        "ol",
        "7",
        vec![oracle("rsyslog", None, "8.24.0-57.0.1.el7_9.3", "x86_64")],
    );
    assert!(
        finding(&fixed, cve, "rsyslog").is_none(),
        "{:?}",
        fixed.findings
    );
    let below = scan(
        "ol",
        "7",
        vec![oracle("rsyslog", None, "8.24.0-57.el7_9.3", "x86_64")],
    );
    let f = finding(&below, cve, "rsyslog").expect("below the x86_64 fix");
    assert_eq!(f.fixed_version.as_deref(), Some("0:8.24.0-57.0.1.el7_9.3"));
    // The same build on aarch64 is below that architecture's fix.
    let arm = scan(
        "ol",
        "7",
        vec![oracle("rsyslog", None, "8.24.0-57.0.1.el7_9.3", "aarch64")],
    );
    let f = finding(&arm, cve, "rsyslog").expect("below the aarch64 fix");
    assert_eq!(f.fixed_version.as_deref(), Some("0:8.24.0-57.0.4.el7_9.3"));
}

/// ELSA-2021-9151 (CVE-2021-3449, CVE-2021-3450) fixes openssl's Ksplice
/// userspace builds at `2:1.1.1g-15.ksplice1.el8_3`. An ordinary build
/// (epoch 1) would always compare below it: applied to it, every ordinary
/// openssl would be "vulnerable" forever. Checked failing: with the
/// importer's Ksplice gate left out (rows without the `ksplice` stream)
/// the test fails, and with detection's `ksplice_stream` returning `None`
/// the Ksplice build below the fix got no finding.
#[test]
fn oracle_ksplice_fixes_apply_to_ksplice_builds_only() {
    let cve = "CVE-2021-3449";
    let r = rows("ELSA-2021-9151", "ol:8", "openssl-libs");
    assert!(!r.is_empty());
    assert!(
        r.iter()
            .all(|(f, _, m)| f == "2:1.1.1g-15.ksplice1.el8_3" && m.as_deref() == Some("ksplice")),
        "{r:?}"
    );
    let ordinary = scan(
        "ol",
        "8",
        vec![oracle("openssl-libs", Some(1), "1.1.1g-12.el8_3", "x86_64")],
    );
    assert!(
        finding(&ordinary, cve, "openssl-libs").is_none(),
        "{:?}",
        finding(&ordinary, cve, "openssl-libs")
    );
    let ksplice = scan(
        "ol",
        "8",
        vec![oracle(
            "openssl-libs",
            Some(2),
            "1.1.1g-14.ksplice1.el8_3",
            "x86_64",
        )],
    );
    let f = finding(&ksplice, cve, "openssl-libs").expect("a Ksplice build below the fix");
    assert_eq!(
        f.fixed_version.as_deref(),
        Some("2:1.1.1g-15.ksplice1.el8_3")
    );
    let fixed = scan(
        "ol",
        "8",
        vec![oracle(
            "openssl-libs",
            Some(2),
            "1.1.1g-15.ksplice1.el8_3",
            "x86_64",
        )],
    );
    assert!(finding(&fixed, cve, "openssl-libs").is_none());
}

/// CVE-2021-29154 (kernel-default): SLES 15 SP1 (`sles:15.1`) is fixed in
/// 4.12.14-197.89.2, SLES 15 (LTSS) in 4.12.14-150.72.1. Before this
/// change the file was an import error ("state … has no evr") and SLES had
/// no data at all.
#[test]
fn suse_fixed_below_and_per_service_pack() {
    let cve = "CVE-2021-29154";
    assert_eq!(
        rows(cve, "sles:15.1", "kernel-default"),
        [(
            "0:4.12.14-197.89.2".to_owned(),
            ["aarch64", "ppc64le", "s390x", "x86_64"]
                .map(str::to_owned)
                .to_vec(),
            None
        )]
    );
    let fixed = scan(
        "sles",
        "15.1",
        vec![suse("kernel-default", "4.12.14-197.89.2", "x86_64")],
    );
    assert!(finding(&fixed, cve, "kernel-default").is_none());
    let below = scan(
        "sles",
        "15.1",
        vec![suse("kernel-default", "4.12.14-197.86.1", "x86_64")],
    );
    let f = finding(&below, cve, "kernel-default").expect("below the SP1 fix");
    assert_eq!(f.fixed_version.as_deref(), Some("0:4.12.14-197.89.2"));
    // SLES 15 GA's own (LTSS) fix is lower: the SP1 fix is not its yardstick.
    let ga = scan(
        "sles",
        "15",
        vec![suse("kernel-default", "4.12.14-150.72.1", "x86_64")],
    );
    assert!(finding(&ga, cve, "kernel-default").is_none());
}

/// CVE-2010-1323 (krb5) through the state vunnel's extract writes with
/// `operation="6"`, read as "less than" because its test says `is <`; and
/// CVE-2026-34073, which SUSE marks "python3-cryptography is not affected",
/// is no finding.
#[test]
fn suse_krb5_and_not_affected() {
    assert_eq!(
        rows("CVE-2010-1323", "sles:15", "krb5")[0].0,
        "0:1.15.2-4.25"
    );
    let r = scan(
        "sles",
        "15",
        vec![
            suse("krb5", "1.15.2-4.24", "x86_64"),
            suse("python3-cryptography", "2.1.4-1.1", "x86_64"),
        ],
    );
    let f = finding(&r, "CVE-2010-1323", "krb5").expect("krb5 below the fix");
    assert_eq!(f.fixed_version.as_deref(), Some("0:1.15.2-4.25"));
    assert!(finding(&r, "CVE-2026-34073", "python3-cryptography").is_none());
    let fixed = scan("sles", "15", vec![suse("krb5", "1.15.2-4.25", "x86_64")]);
    assert!(finding(&fixed, "CVE-2010-1323", "krb5").is_none());
}
