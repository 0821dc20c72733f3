//! The RustSec importer against the real advisory-db mirror, with counts
//! computed independently from the raw files, a differential test of the
//! requirement → event conversion against the `semver` crate's own
//! `VersionReq::matches`, and hand-made advisories for the bad cases.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use kensa_kb::feeds::rustsec;
use kensa_kb::model::{Event, FixStatus, Record};
use kensa_version::Ecosystem;
use kensa_version::range::is_affected;
use semver::{Version, VersionReq};

use crate::support::records;
use records::advisories;

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/rustsec")
        .join(rel)
}

fn md_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            md_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "md") {
            out.push(p);
        }
    }
}

/// The raw front matter of one advisory file, parsed with `toml` alone.
fn front_matter(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).expect("read");
    let start = text.find("```toml").expect("front matter") + "```toml".len();
    let len = text[start..].find("\n```").expect("end of front matter");
    toml::from_str(&text[start..start + len]).expect("valid TOML")
}

struct Raw {
    /// Advisories under crates/ without `withdrawn`.
    importable: usize,
    withdrawn: usize,
    informational: usize,
    toolchain: usize,
    /// id → (patched, unaffected) requirement strings.
    reqs: Vec<(String, Vec<String>)>,
}

fn raw_counts(root: &Path) -> Raw {
    let mut files = Vec::new();
    md_files(&root.join("crates"), &mut files);
    let mut raw = Raw {
        importable: 0,
        withdrawn: 0,
        informational: 0,
        toolchain: 0,
        reqs: Vec::new(),
    };
    for f in &files {
        let t = front_matter(f);
        let adv = t["advisory"].as_table().expect("[advisory]");
        if adv.contains_key("withdrawn") {
            raw.withdrawn += 1;
            continue;
        }
        raw.importable += 1;
        if adv.contains_key("informational") {
            raw.informational += 1;
        }
        let mut reqs = Vec::new();
        if let Some(v) = t.get("versions").and_then(|v| v.as_table()) {
            for key in ["patched", "unaffected"] {
                for r in v.get(key).and_then(|x| x.as_array()).into_iter().flatten() {
                    reqs.push(r.as_str().expect("string requirement").to_owned());
                }
            }
        }
        let id = adv["id"].as_str().expect("id").to_owned();
        raw.reqs.push((id, reqs));
    }
    let mut rust = Vec::new();
    md_files(&root.join("rust"), &mut rust);
    raw.toolchain = rust.len();
    raw
}

#[test]
fn full_advisory_db() {
    let root = kensa_testkit::data_path("rustsec");
    let raw = raw_counts(&root);
    let mut out: Vec<Record> = Vec::new();
    let t = Instant::now();
    let report = rustsec::import(&root, &mut out).expect("import");
    eprintln!(
        "rustsec: {} advisories imported in {:?} (independent count {}; withdrawn {}, toolchain {}, informational {})",
        report.records,
        t.elapsed(),
        raw.importable,
        raw.withdrawn,
        raw.toolchain,
        raw.informational
    );
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(report.records, raw.importable);
    assert_eq!(out.len(), raw.importable);
    assert_eq!(report.skipped_count("withdrawn"), raw.withdrawn);
    assert_eq!(
        report.skipped_count("rust toolchain advisory"),
        raw.toolchain
    );
    let advs = advisories(out);
    let informational = advs
        .iter()
        .filter(|a| {
            a.affected[0]
                .note
                .as_deref()
                .is_some_and(|n| n.starts_with("informational: "))
        })
        .count();
    assert_eq!(informational, raw.informational);
    for a in &advs {
        assert_eq!(a.affected.len(), 1);
        assert_eq!(a.affected[0].namespace, "crates.io");
    }

    // Spot check: RUSTSEC-2020-0105, abi_stable, patched >= 0.9.1.
    let a = advs
        .iter()
        .find(|a| a.id == "RUSTSEC-2020-0105")
        .expect("RUSTSEC-2020-0105");
    assert_eq!(
        a.aliases,
        [
            "CVE-2020-36212",
            "CVE-2020-36213",
            "GHSA-vq23-5h4f-vwpv",
            "GHSA-wqxc-qrq4-w5v4"
        ]
    );
    assert_eq!(a.published.as_deref(), Some("2020-12-21"));
    assert_eq!(
        a.summary.as_deref(),
        Some("Update unsound DrainFilter and RString::retain")
    );
    assert_eq!(a.cvss, ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"]);
    let x = &a.affected[0];
    assert_eq!(x.package, "abi_stable");
    assert_eq!(x.status, FixStatus::Fixed);
    assert_eq!(x.fixed.as_deref(), Some("0.9.1"));
    assert_eq!(
        x.ranges,
        [vec![
            Event::Introduced("0".into()),
            Event::Fixed("0.9.1".into())
        ]]
    );
    // Pre-releases, the documented divergence: `VersionReq` refuses
    // `1.0.0-alpha.1` for `>= 0.9.1` (so `cargo audit` calls it affected);
    // the events order it by SemVer precedence, after 0.9.1: not affected.
    let range: Vec<_> = x.ranges[0].iter().map(Event::as_range_event).collect();
    let pre = Version::parse("1.0.0-alpha.1").expect("version");
    assert!(!VersionReq::parse(">= 0.9.1").expect("req").matches(&pre));
    assert!(!is_affected(Ecosystem::Cargo, "1.0.0-alpha.1", &range).expect("valid"));
    assert!(is_affected(Ecosystem::Cargo, "0.9.1-rc.1", &range).expect("valid"));
}

/// Release versions to test every advisory against: every version named
/// in the RustSec requirements, and its neighbours.
fn grid() -> Vec<Version> {
    let mut set = BTreeSet::new();
    for s in kensa_testkit::corpus::semver::rustsec_versions() {
        let Ok(v) = Version::parse(&s) else { continue };
        let (ma, mi, pa) = (v.major, v.minor, v.patch);
        for (a, b, c) in [
            (ma, mi, pa),
            (ma, mi, pa + 1),
            (ma, mi, pa.saturating_sub(1)),
            (ma, mi + 1, 0),
            (ma, mi.saturating_sub(1), 0),
            (ma + 1, 0, 0),
            (ma.saturating_sub(1), 0, 0),
        ] {
            set.insert(Version::new(a, b, c));
        }
    }
    set.insert(Version::new(0, 0, 0));
    set.into_iter().collect()
}

/// For every advisory and every version of the grid: "matches a patched or
/// unaffected requirement" (the `semver` crate) is "not affected" (the
/// events, evaluated by `kensa_version`).
#[test]
fn events_agree_with_semver_version_req() {
    let root = kensa_testkit::data_path("rustsec");
    let raw = raw_counts(&root);
    let mut out: Vec<Record> = Vec::new();
    rustsec::import(&root, &mut out).expect("import");
    let advs = advisories(out);
    let grid = grid();
    assert!(grid.len() > 1000, "{}", grid.len());
    let strings: Vec<String> = grid.iter().map(Version::to_string).collect();
    let mut checked = 0usize;
    let mut with_reqs = 0usize;
    for (id, reqs) in &raw.reqs {
        let a = advs.iter().find(|a| &a.id == id).expect("imported");
        let reqs: Vec<VersionReq> = reqs
            .iter()
            .map(|r| VersionReq::parse(r).expect("valid requirement"))
            .collect();
        if !reqs.is_empty() {
            with_reqs += 1;
        }
        let ranges: Vec<Vec<kensa_version::range::Event<'_>>> = a.affected[0]
            .ranges
            .iter()
            .map(|r| r.iter().map(Event::as_range_event).collect())
            .collect();
        for (v, s) in grid.iter().zip(&strings) {
            let unaffected = reqs.iter().any(|r| r.matches(v));
            let affected = ranges
                .iter()
                .any(|r| is_affected(Ecosystem::Cargo, s, r).expect("valid"));
            assert_eq!(
                affected, !unaffected,
                "{id} version {s}: reqs {reqs:?}, events {:?}",
                a.affected[0].ranges
            );
            checked += 1;
        }
    }
    eprintln!(
        "rustsec differential: {checked} (advisory, version) pairs, {} versions, {with_reqs} advisories with requirements",
        grid.len()
    );
}

#[test]
fn hand_made_advisories() {
    let mut out: Vec<Record> = Vec::new();
    let report = rustsec::import(&testdata(""), &mut out).expect("import");
    let advs = advisories(out);
    assert_eq!(report.records, 1, "{report:#?}");
    assert_eq!(report.skipped_count("withdrawn"), 1);
    assert_eq!(report.skipped_count("rust toolchain advisory"), 1);
    let a = &advs[0];
    assert_eq!(a.id, "RUSTSEC-2099-0001");
    assert_eq!(a.aliases, ["CVE-2099-1000", "GHSA-aaaa-bbbb-cccc"]);
    assert_eq!(
        a.references,
        [
            "https://example.org/foo/issues/1",
            "https://example.org/foo/pull/2"
        ]
    );
    assert_eq!(
        a.summary.as_deref(),
        Some("Hand-made advisory for the importer tests")
    );
    let x = &a.affected[0];
    assert_eq!(x.arches, ["x86"]);
    assert_eq!(
        x.note.as_deref(),
        Some("informational: unsound; os: windows")
    );
    // unaffected < 0.5.0 and (0.6.0, 0.6.1]; patched [1.1.9, 1.2.0),
    // [1.2.7, 1.3.0), >= 1.4.2.
    let ev = |v: &str| Event::Introduced(v.to_owned());
    let fx = |v: &str| Event::Fixed(v.to_owned());
    assert_eq!(
        x.ranges,
        [vec![
            ev("0.5.0"),
            Event::LastAffected("0.6.0".to_owned()),
            ev("0.6.2-0"),
            fx("1.1.9"),
            ev("1.2.0"),
            fx("1.2.7"),
            ev("1.3.0"),
            fx("1.4.2"),
        ]]
    );
    assert_eq!(x.fixed.as_deref(), Some("1.1.9"));
    assert_eq!(x.status, FixStatus::Fixed);
    // The same events against `VersionReq::matches` on every release
    // version up to 2.3.3.
    let reqs: Vec<VersionReq> = [
        ">= 1.4.2",
        "^1.2.7, < 1.3",
        "~1.1.9",
        "< 0.5",
        "<= 0.6.1, > 0.6.0",
    ]
    .iter()
    .map(|r| VersionReq::parse(r).expect("valid"))
    .collect();
    let range: Vec<_> = x.ranges[0].iter().map(Event::as_range_event).collect();
    for (ma, mi, pa) in small_grid() {
        let v = Version::new(ma, mi, pa);
        let s = v.to_string();
        let unaffected = reqs.iter().any(|r| r.matches(&v));
        let affected = is_affected(Ecosystem::Cargo, &s, &range).expect("valid");
        assert_eq!(affected, !unaffected, "{s}");
    }

    assert_eq!(report.errors.len(), 3, "{:#?}", report.errors);
    let err = |file_end: &str| {
        report
            .errors
            .iter()
            .find(|e| e.file.ends_with(file_end))
            .unwrap_or_else(|| panic!("no error for {file_end}: {:#?}", report.errors))
    };
    let e = err("baz/RUSTSEC-2099-0003.md");
    assert_eq!(e.record.as_deref(), Some("RUSTSEC-2099-0003"));
    assert!(e.message.contains("=> 1.0"), "{e:?}");
    let e = err("baz/RUSTSEC-2099-0005.md");
    assert_eq!(e.record.as_deref(), Some("RUSTSEC-2099-0005"));
    let e = err("qux/RUSTSEC-2099-0004.md");
    assert_eq!(e.record, None);

    assert!(rustsec::import(&testdata("crates"), &mut Vec::new()).is_err());
}

fn small_grid() -> impl Iterator<Item = (u64, u64, u64)> {
    (0..3).flat_map(|a| (0..10).flat_map(move |b| (0..12).map(move |c| (a, b, c))))
}
