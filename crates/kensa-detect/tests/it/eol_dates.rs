//! An OS's support dates from the data folder's real endoflife.date pages
//! (`eol/products/`, imported as `kensa db import` does): a release whose
//! end has passed has reached it (`eol_reached`, which used to copy the
//! page's `eol: true` flag and so stayed `false` for every dated end), and
//! the regular end, the vendor's LTS/ESM and paid extended support are
//! told apart by the heading the page gives its `eoes` column.

use kensa_detect::os_eol;
use kensa_inventory::model::Os;
use kensa_kb::base::{KnowledgeBase, KnowledgeBaseBuilder};

fn store() -> (tempfile::TempDir, KnowledgeBase) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = KnowledgeBaseBuilder::create(dir.path()).expect("builder");
    let report = kensa_kb::feeds::eol::import(kensa_testkit::data_path("eol/products"), &mut b)
        .expect("import endoflife.date");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    b.finish().expect("finish");
    let s = KnowledgeBase::open(dir.path()).expect("open");
    (dir, s)
}

fn os(id: &str, release: &str) -> Os {
    Os {
        id: id.into(),
        release: release.into(),
        ..Os::default()
    }
}

/// The page's own line for a cycle, read raw, so that the expected dates
/// are the file's and not copied from the importer.
fn raw(product: &str, cycle: &str, field: &str) -> Option<String> {
    let text = std::fs::read_to_string(kensa_testkit::data_path(&format!(
        "eol/products/{product}.md"
    )))
    .expect("page");
    let start = text.find(&format!("releaseCycle: \"{cycle}\""))?;
    let block = text[start..].split("\n\n").next()?;
    block.lines().find_map(|l| {
        l.trim()
            .strip_prefix(&format!("{field}:"))
            .map(|v| v.trim().to_owned())
    })
}

#[test]
fn ended_releases_have_reached_their_end_and_lts_is_apart() {
    let (_dir, s) = store();
    let today = "2026-12-07";
    for (id, release, product, cycle) in [
        ("alpine", "3.4", "alpine-linux", "3.4"),
        ("centos", "8", "centos", "8"),
    ] {
        let e = os_eol(&os(id, release), &s, today)
            .expect("eol")
            .expect("a record");
        assert_eq!(e.eol, raw(product, cycle, "eol"), "{id} {release}");
        assert!(e.eol_reached, "{id} {release}: {e:?}");
        assert_eq!(e.status, "ended", "{e:?}");
        assert!(e.as_of(today).eol_reached);
    }

    // Debian 12: regular support to 2026-07-11, LTS ("Debian LTS") to
    // 2028-06-30, nothing beyond.
    let d = os_eol(&os("debian", "12"), &s, today)
        .expect("eol")
        .expect("debian 12");
    assert_eq!(d.eol, raw("debian", "12", "eol"));
    assert_eq!(d.lts, raw("debian", "12", "eoes"));
    assert_eq!(d.lts.as_deref(), Some("2028-06-30"));
    assert_eq!(d.extended, None);
    assert!(d.eol_reached);
    assert_eq!(d.status, "extended");
    // On a day before the regular end: supported, not reached.
    let early = os_eol(&os("debian", "12"), &s, "2025-01-01")
        .expect("eol")
        .expect("debian 12");
    assert!(!early.eol_reached);
    assert_eq!(early.status, "supported");

    // Ubuntu 22.04: the `eoes` column is Expanded Security Maintenance.
    let u = os_eol(&os("ubuntu", "22.04"), &s, today)
        .expect("eol")
        .expect("ubuntu 22.04");
    assert_eq!(u.lts, raw("ubuntu", "22.04", "eoes"));
    assert_eq!(u.extended, None);
    assert!(!u.eol_reached);

    // RHEL 8: `eoes` is Extended Life Cycle Support, paid: extended, not
    // LTS.
    let r = os_eol(&os("rhel", "8"), &s, today)
        .expect("eol")
        .expect("rhel 8");
    assert_eq!(r.lts, None);
    assert_eq!(r.extended, raw("rhel", "8", "eoes"));
}
