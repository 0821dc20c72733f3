//! Debian tracker lines the import cannot read reach the scan of a host
//! with that package as `dropped-record` warnings, as secdb's did: the
//! knowledge base's own hand-made tracker (`kensa-kb/testdata/debian/
//! tracker`, whose CVE-2024-0008 has a `curl` line with junk after the
//! version and a bookworm line with no version). Checked failing before:
//! the tracker's errors named no package, so the scan said nothing.

use kensa_detect::Options;
use kensa_inventory::model::{Inventory, Os, Package, PackageKind, Source, SourceKind};
use kensa_kb::base::{KnowledgeBase, KnowledgeBaseBuilder};

#[test]
fn an_unreadable_tracker_line_about_an_installed_package_is_a_warning() {
    let tracker = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kensa-kb/testdata/debian/tracker");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = KnowledgeBaseBuilder::create(dir.path()).expect("builder");
    let report = kensa_kb::feeds::debian::import(&tracker, &mut b).expect("import");
    assert!(!report.errors.is_empty());
    b.report("debian", report);
    b.finish().expect("finish");
    let store = KnowledgeBase::open(dir.path()).expect("open");

    let curl = Package {
        kind: Some(PackageKind::Deb),
        name: "curl".into(),
        version: "7.88.1-10+deb12u5".into(),
        source_name: Some("curl".into()),
        source_version: Some("7.88.1-10+deb12u5".into()),
        arch: Some("amd64".into()),
        purl: "pkg:deb/debian/curl@7.88.1-10+deb12u5".into(),
        path: "var/lib/dpkg/status".into(),
        ..Package::default()
    };
    let mut inv = Inventory {
        source: Source {
            kind: SourceKind::Root,
            path: "/scan".into(),
            image: None,
        },
        os: Some(Os {
            id: "debian".into(),
            release: "12".into(),
            version: Some("12".into()),
            source_file: "etc/os-release".into(),
            ..Os::default()
        }),
        packages: vec![curl],
        ..Inventory::default()
    };
    inv.normalise();
    let r = kensa_detect::scan(
        &inv,
        &store,
        &Options {
            today: Some("2026-11-30".into()),
            scanned_at: Some("2026-11-30T00:00:00Z".into()),
            ..Options::default()
        },
    )
    .expect("scan");
    let dropped: Vec<&str> = r
        .warnings
        .iter()
        .filter(|w| w.kind == "dropped-record" && w.package.as_deref() == Some("curl"))
        .map(|w| w.message.as_str())
        .collect();
    assert_eq!(dropped.len(), 2, "{:?}", r.warnings);
    assert!(
        dropped
            .iter()
            .all(|m| m.contains("curl in debian:12") && m.contains("CVE-2024-0008 line 2")),
        "{dropped:?}"
    );
}
