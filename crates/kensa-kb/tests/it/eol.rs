//! endoflife.date product pages from the shared data.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Instant;

use kensa_kb::feeds::eol;
use kensa_kb::model::{EolRelease, Record};

fn releases(records: Vec<Record>) -> Vec<EolRelease> {
    records
        .into_iter()
        .map(|r| match r {
            Record::Eol(e) => e,
            other => panic!("not an EOL release: {other:?}"),
        })
        .collect()
}

/// Independent count: `- releaseCycle:` list items between the page's two
/// `---` lines (the `auto:` section's `releaseCycle: "Version"` field
/// mappings are not list items).
fn count_cycles(text: &str) -> usize {
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return 0;
    }
    lines
        .take_while(|l| l.trim_end() != "---")
        .filter(|l| {
            l.trim_start()
                .strip_prefix('-')
                .is_some_and(|rest| rest.trim_start().starts_with("releaseCycle:"))
        })
        .count()
}

fn find<'a>(r: &'a [EolRelease], product: &str, cycle: &str) -> &'a EolRelease {
    r.iter()
        .find(|e| e.product == product && e.cycle == cycle)
        .unwrap_or_else(|| panic!("{product} {cycle} missing"))
}

#[test]
fn eol_all_products_exact_count() {
    let dir = kensa_testkit::data_path("eol/products");
    let mut expected = 0;
    let mut pages = 0;
    for e in std::fs::read_dir(&dir).expect("read dir") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "md") {
            expected += count_cycles(&std::fs::read_to_string(&p).expect("read"));
            pages += 1;
        }
    }
    let mut out = Vec::new();
    let t = Instant::now();
    let report = eol::import(&dir, &mut out).expect("import");
    eprintln!(
        "eol: {} releases of {pages} pages in {:?} (skipped {:?})",
        report.records,
        t.elapsed(),
        report.skipped
    );
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let r = releases(out);
    assert_eq!(r.len(), report.records);
    assert_eq!(r.len(), expected);

    // One record per (product, cycle).
    let mut keys: Vec<_> = r.iter().map(|e| (&e.product, &e.cycle)).collect();
    keys.sort();
    let n = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), n, "a (product, cycle) pair repeats");
}

#[test]
fn eol_spot_checks_against_raw_pages() {
    let dir = kensa_testkit::data_path("eol/products");
    let mut out = Vec::new();
    for p in ["debian", "amazon-linux", "centos", "ubuntu"] {
        let report = eol::import(dir.join(format!("{p}.md")), &mut out).expect("import");
        assert!(report.errors.is_empty(), "{p}: {:?}", report.errors);
    }
    let r = releases(out);

    let buster = find(&r, "debian", "10");
    assert_eq!(buster.codename.as_deref(), Some("Buster"));
    assert_eq!(buster.release_date.as_deref(), Some("2019-07-06"));
    assert_eq!(buster.eol.as_deref(), Some("2022-09-10"));
    assert!(!buster.eol_reached);
    assert_eq!(buster.extended_support.as_deref(), Some("2024-06-30"));
    assert_eq!(buster.latest.as_deref(), Some("10.13"));

    let al2 = find(&r, "amazon-linux", "2");
    assert_eq!(al2.release_date.as_deref(), Some("2018-06-26"));
    assert_eq!(al2.eol.as_deref(), Some("2026-06-30"));
    assert_eq!(al2.latest.as_deref(), Some("2.0.20260817.0"));
    assert_eq!(al2.codename, None);

    let c7 = find(&r, "centos", "7");
    assert_eq!(c7.release_date.as_deref(), Some("2014-07-07"));
    assert_eq!(c7.eol.as_deref(), Some("2024-06-30"));
    assert_eq!(c7.latest.as_deref(), Some("7 (2009)"));

    // Every Ubuntu cycle keeps its quoted form (`22.04`, never 22.4).
    assert!(
        r.iter()
            .filter(|e| e.product == "ubuntu")
            .all(|e| e.cycle.contains('.'))
    );
}

fn import_text(
    dir: &Path,
    name: &str,
    text: &str,
) -> (Vec<EolRelease>, kensa_kb::model::FeedReport) {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    let mut out = Vec::new();
    let report = eol::import(&p, &mut out).expect("import");
    (releases(out), report)
}

#[test]
fn eol_booleans_numbers_and_bad_pages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (r, report) = import_text(
        dir.path(),
        "demo.md",
        "---\ntitle: Demo\nreleases:\n\
         -   releaseCycle: 3.10\n    eol: true\n    lts: true\n    latest: 3.10.4\n\n\
         -   releaseCycle: 2\n    eol: false # still supported\n    extendedSupport: 2030-01-01\n\n\
         -   releaseCycle: \"1\"\n    eol: \"not a date\"\n\n\
         -   codename: NoCycle\n    eol: 2020-01-01\n\n\
         -   releaseCycle: \"0\"\n    eol: 2019-01-01\n    eoes: true\n\
         ---\n\n# Demo\n\n> text\n",
    );
    let cycles: Vec<_> = r.iter().map(|e| e.cycle.as_str()).collect();
    assert_eq!(cycles, ["3.10", "2", "0"]);
    assert!(r[0].eol_reached && r[0].eol.is_none());
    assert_eq!(r[0].latest.as_deref(), Some("3.10.4"));
    assert!(!r[1].eol_reached && r[1].eol.is_none());
    assert_eq!(r[1].extended_support.as_deref(), Some("2030-01-01"));
    assert_eq!(r[2].eol.as_deref(), Some("2019-01-01"));
    assert_eq!(r[2].extended_support, None);
    let recs: Vec<_> = report.errors.iter().map(|e| e.record.clone()).collect();
    assert_eq!(
        recs,
        [
            Some("demo 1".to_owned()),
            Some("demo releases[3]".to_owned())
        ]
    );

    let (r, report) = import_text(
        dir.path(),
        "broken.md",
        "---\nreleases: [\n  - a: : b\n---\n",
    );
    assert!(r.is_empty());
    assert_eq!(report.errors.len(), 1);
    assert!(report.errors[0].file.ends_with("broken.md"));

    let (r, report) = import_text(dir.path(), "nofm.md", "# just markdown\n");
    assert!(r.is_empty());
    assert_eq!(report.errors.len(), 1);

    let (r, report) = import_text(dir.path(), "list.md", "---\nreleases: 3\n---\n");
    assert!(r.is_empty());
    assert_eq!(report.errors.len(), 1);
}
