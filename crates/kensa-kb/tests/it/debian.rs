//! The Debian security tracker importer against the tracker's own source
//! files (real sample in the shared data) and hand-made files in the same
//! upstream formats for the cases the sample lacks.

use std::path::{Path, PathBuf};
use std::time::Instant;

use kensa_kb::feeds::debian;
use kensa_kb::model::FixStatus;

use crate::support::records;
use records::{advisories, aff, find};

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/debian")
        .join(rel)
}

/// Counts, by plain text, the entries of a tracker list: header lines
/// (column 0) with their body lines.
fn entries(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            if let Some(last) = out.last_mut() {
                last.1.push(line.trim().to_owned());
            }
        } else {
            out.push((line.to_owned(), Vec::new()));
        }
    }
    out
}

#[test]
fn debian_tracker_sample_counts_and_spot_checks() {
    let root = kensa_testkit::data_path("samples/debian-tracker-source");
    let mut records = Vec::new();
    let t = Instant::now();
    let report = debian::import(&root, &mut records).expect("import");
    eprintln!("debian tracker sample: {:?} {report:?}", t.elapsed());

    // Independent count: CVE entries with a package line and no
    // NOT-FOR-US/RESERVED/REJECTED; DSA/DLA headers of the documented form.
    let cve = std::fs::read_to_string(root.join("data/CVE/list")).expect("read");
    let cve_entries = entries(&cve);
    let marked = |b: &Vec<String>| {
        b.iter()
            .any(|l| l.starts_with("NOT-FOR-US") || l == "RESERVED" || l == "REJECTED")
    };
    let has_pkg = |b: &Vec<String>| b.iter().any(|l| l.starts_with("- ") || l.starts_with('['));
    let cve_expected = cve_entries
        .iter()
        .filter(|(_, b)| !marked(b) && has_pkg(b))
        .count();
    let cve_skipped = cve_entries.len() - cve_expected;
    let mut dsa_expected = 0;
    let mut dsa_bad = 0;
    for list in ["data/DSA/list", "data/DLA/list"] {
        let text = std::fs::read_to_string(root.join(list)).expect("read");
        for (header, _) in entries(&text) {
            let words: Vec<&str> = header.split_whitespace().collect();
            if words.len() > 4 && (words[3].starts_with("DSA-") || words[3].starts_with("DLA-")) {
                dsa_expected += 1;
            } else {
                dsa_bad += 1;
            }
        }
    }
    assert_eq!((cve_expected, dsa_expected, dsa_bad), (4, 2, 1));
    assert_eq!(report.records, cve_expected + dsa_expected);
    assert_eq!(records.len(), report.records);
    let total_skipped: usize = report.skipped.iter().map(|(_, n)| n).sum();
    assert_eq!(total_skipped, cve_skipped);
    assert_eq!(report.skipped_count("NOT-FOR-US"), 1);
    assert_eq!(report.skipped_count("TODO: check"), 1);
    assert_eq!(report.errors.len(), dsa_bad, "{:?}", report.errors);
    let e = &report.errors[0];
    assert!(e.file.ends_with("data/DLA/list"), "{e:?}");
    assert_eq!(e.record.as_deref(), Some("line 4"));
    assert!(e.message.contains("MALFORMED HEADER"), "{e:?}");

    let advs = advisories(records);
    // PuTTY: fixed in unstable, <no-dsa> in bullseye and buster, urgency low.
    let putty = find(&advs, "CVE-2021-36367");
    let sid = aff(putty, "debian:sid", "putty");
    assert_eq!(
        (sid.status, sid.fixed.as_deref()),
        (FixStatus::Fixed, Some("0.75-3"))
    );
    let buster = aff(putty, "debian:10", "putty");
    assert_eq!(buster.status, FixStatus::Affected);
    assert_eq!(buster.note.as_deref(), Some("no-dsa: Minor issue"));
    assert_eq!(aff(putty, "debian:11", "putty").status, FixStatus::Affected);
    let sev = putty.severity.as_ref().expect("severity");
    assert_eq!((sev.source.as_str(), sev.value.as_str()), ("debian", "low"));
    // Ant: unfixed, unimportant.
    let ant = find(&advs, "CVE-2021-36373");
    assert_eq!(aff(ant, "debian:sid", "ant").status, FixStatus::Affected);
    assert_eq!(
        ant.severity.as_ref().map(|s| s.value.as_str()),
        Some("unimportant")
    );
    // foot: a placeholder id, fixed in bookworm (codename from the built-in
    // table: the sample's distributions.json lists only stretch and buster).
    let foot = advs
        .iter()
        .find(|a| a.affected.iter().any(|x| x.package == "foot"))
        .expect("foot");
    assert!(foot.id.starts_with("TEMP-CVE-2023-XXXX-"), "{}", foot.id);
    let bookworm = aff(foot, "debian:12", "foot");
    assert_eq!(
        (bookworm.status, bookworm.fixed.as_deref()),
        (FixStatus::Fixed, Some("1.13.1-2+deb12u1"))
    );
    let wordpress = advs
        .iter()
        .find(|a| a.affected.iter().any(|x| x.package == "wordpress"))
        .expect("wordpress");
    assert_ne!(wordpress.id, foot.id, "placeholder ids must differ");
    // DSA: aliases and per-release fixed versions with epochs.
    let dsa = find(&advs, "DSA-4480-1");
    assert_eq!(dsa.aliases, ["CVE-2019-10192", "CVE-2019-10193"]);
    assert_eq!(dsa.published.as_deref(), Some("2019-07-11"));
    assert_eq!(
        aff(dsa, "debian:9", "redis").fixed.as_deref(),
        Some("3:3.2.6-3+deb9u3")
    );
    assert_eq!(
        aff(dsa, "debian:10", "redis").fixed.as_deref(),
        Some("5:5.0.3-4+deb10u1")
    );
    let dla = find(&advs, "DLA-2711-1");
    assert_eq!(dla.aliases.len(), 4);
    assert_eq!(
        aff(dla, "debian:9", "thunderbird").fixed.as_deref(),
        Some("1:78.12.0-1~deb9u1")
    );
}

/// Hand-made tracker checkout (`testdata/debian/tracker`, same formats as
/// upstream) for what the sample lacks: a release inheriting the unstable
/// line through its `Sources` version, every bracketed state, bad lines.
#[test]
fn debian_tracker_handmade_states_inheritance_and_errors() {
    let mut records = Vec::new();
    let report = debian::import(&testdata("tracker"), &mut records).expect("import");
    eprintln!("{report:#?}");
    assert_eq!(report.records, 8);
    for reason in ["RESERVED", "NOT-FOR-US", "REJECTED", "TODO: check"] {
        assert_eq!(report.skipped_count(reason), 1, "{reason}");
    }
    let mut lines: Vec<(&str, Option<&str>)> = report
        .errors
        .iter()
        .map(|e| {
            (
                e.file.rsplit("tracker/").next().unwrap_or_default(),
                e.record.as_deref(),
            )
        })
        .collect();
    // An unreadable unstable line is dropped for unstable and for each
    // release that inherits it: one error per namespace, named below.
    lines.dedup();
    let dropped: Vec<(Option<&str>, Option<&str>, Option<&str>)> = report
        .errors
        .iter()
        .filter(|e| e.package.is_some())
        .map(|e| {
            (
                e.record.as_deref(),
                e.namespace.as_deref(),
                e.package.as_deref(),
            )
        })
        .collect();
    let l24 = Some("CVE-2024-0008 line 24");
    assert_eq!(
        dropped,
        [
            (l24, Some("debian:sid"), Some("curl")),
            (l24, Some("debian:12"), Some("curl")),
            (l24, Some("debian:11"), Some("curl")),
            (
                Some("CVE-2024-0008 line 25"),
                Some("debian:12"),
                Some("curl")
            ),
        ]
    );
    assert_eq!(
        lines,
        [
            ("source/bullseye/main/Sources", Some("line 11")),
            ("data/CVE/list", Some("CVE-2024-0008 line 24")),
            ("data/CVE/list", Some("CVE-2024-0008 line 25")),
            ("data/CVE/list", Some("CVE-2024-0008 line 27")),
            ("data/CVE/list", Some("line 28")),
            ("data/CVE/list", Some("CVE-2024-0012 line 33")),
            ("data/DSA/list", Some("line 5")),
        ]
    );
    let advs = advisories(records);

    // Fixed in unstable at 3.0.12-1; bookworm has 3.0.13-1~deb12u1 in
    // updates-source (3.0.11-1~deb12u2 in source): inherits Fixed.
    let a = find(&advs, "CVE-2024-0001");
    let bookworm = aff(a, "debian:12", "openssl");
    assert_eq!(
        (bookworm.status, bookworm.fixed.as_deref()),
        (FixStatus::Fixed, Some("3.0.12-1"))
    );
    assert_eq!(aff(a, "debian:11", "openssl").status, FixStatus::Affected);
    assert_eq!(a.affected.len(), 3);
    // Fixed in unstable at 8.5.0-2, releases older: open.
    let a = find(&advs, "CVE-2024-0002");
    let bookworm = aff(a, "debian:12", "curl");
    assert_eq!(
        (bookworm.status, bookworm.fixed.as_deref()),
        (FixStatus::Affected, None)
    );
    assert!(
        bookworm
            .note
            .as_deref()
            .is_some_and(|n| n.contains("8.5.0-2"))
    );
    assert_eq!(aff(a, "debian:11", "curl").status, FixStatus::Affected);
    assert_eq!(
        a.severity.as_ref().map(|s| s.value.as_str()),
        Some("medium")
    );
    // Unfixed in unstable: every release with the package inherits it.
    let a = find(&advs, "CVE-2024-0003");
    assert_eq!(a.affected.len(), 3);
    assert!(a.affected.iter().all(|x| x.status == FixStatus::Affected));
    // Every state.
    let a = find(&advs, "CVE-2024-0004");
    let st = |ns, p| aff(a, ns, p).status;
    assert_eq!(st("debian:sid", "openssl"), FixStatus::NotAffected);
    assert_eq!(st("debian:12", "openssl"), FixStatus::NotAffected);
    assert_eq!(st("debian:12", "curl"), FixStatus::WillNotFix);
    assert_eq!(st("debian:11", "curl"), FixStatus::FixDeferred);
    assert_eq!(st("debian:10", "curl"), FixStatus::EndOfLife);
    assert_eq!(st("debian:sid", "curl"), FixStatus::Fixed);
    assert_eq!(st("debian:12", "vim"), FixStatus::WillNotFix);
    assert_eq!(st("debian:11", "vim"), FixStatus::UnderInvestigation);
    assert_eq!(a.affected.len(), 9);
    assert_eq!(
        aff(a, "debian:11", "curl").note.as_deref(),
        Some("postponed: Revisit when fixed upstream")
    );
    // The good line of an entry with bad lines is kept.
    let a = find(&advs, "CVE-2024-0008");
    assert_eq!(a.affected.len(), 1);
    // An unknown release name: that line is an error, the rest is kept.
    // (The unstable fix 1.0-1 is older than bookworm's and bullseye's
    // curl: both inherit it as fixed.)
    let a = find(&advs, "CVE-2024-0012");
    assert_eq!(a.affected.len(), 3);
    assert_eq!(aff(a, "debian:sid", "curl").status, FixStatus::Fixed);
    assert_eq!(aff(a, "debian:11", "curl").fixed.as_deref(), Some("1.0-1"));
    // DSA with a <not-affected> line.
    let a = find(&advs, "DSA-5601-1");
    assert_eq!(aff(a, "debian:11", "curl").status, FixStatus::NotAffected);
    assert_eq!(
        aff(a, "debian:12", "curl").fixed.as_deref(),
        Some("7.88.1-10+deb12u6")
    );
}

/// The tracker's JSON export: no sample of it in the shared data, so
/// `testdata/debian/tracker-export.json` is hand-made in that exact
/// upstream format (`{package: {CVE: {description, scope, releases:
/// {codename: {status, repositories, fixed_version, urgency, nodsa,
/// nodsa_reason}}}}}`).
#[test]
fn debian_tracker_json_export() {
    let mut records = Vec::new();
    let t = Instant::now();
    let report =
        debian::import_json(&testdata("tracker-export.json"), &mut records).expect("import");
    eprintln!("debian tracker json: {:?}", t.elapsed());
    assert_eq!(report.records, 3, "{report:?}");
    let errs: Vec<_> = report.errors.iter().map(|e| e.record.as_deref()).collect();
    assert_eq!(
        errs,
        [
            Some("openssl/CVE-2024-0002 hamm2"),
            Some("openssl/CVE-2024-0002 sid")
        ]
    );
    // The release Kensa knows names the package that lost the record.
    let named: Vec<_> = report
        .errors
        .iter()
        .map(|e| (e.namespace.as_deref(), e.package.as_deref()))
        .collect();
    assert_eq!(named, [(None, None), (Some("debian:sid"), Some("openssl"))]);
    assert!(
        report
            .errors
            .iter()
            .all(|e| e.file.ends_with("tracker-export.json"))
    );
    let advs = advisories(records);
    let a = find(&advs, "CVE-2024-0002");
    assert_eq!(a.affected.len(), 5);
    assert_eq!(
        aff(a, "debian:12", "curl").fixed.as_deref(),
        Some("7.88.1-10+deb12u6")
    );
    assert_eq!(aff(a, "debian:13", "curl").status, FixStatus::Fixed);
    let bullseye = aff(a, "debian:11", "curl");
    assert_eq!(bullseye.status, FixStatus::Affected);
    assert_eq!(bullseye.note.as_deref(), Some("no-dsa: Minor issue"));
    assert_eq!(
        aff(a, "debian:12", "openssl").status,
        FixStatus::NotAffected
    );
    let a = find(&advs, "CVE-2024-0011");
    assert_eq!(aff(a, "debian:12", "curl").status, FixStatus::FixDeferred);
    assert_eq!(aff(a, "debian:11", "curl").status, FixStatus::WillNotFix);
    assert_eq!(aff(a, "debian:10", "curl").status, FixStatus::EndOfLife);
    assert_eq!(
        aff(a, "debian:sid", "curl").status,
        FixStatus::UnderInvestigation
    );
    assert_eq!(a.severity.as_ref().map(|s| s.value.as_str()), Some("low"));
    assert!(advs.iter().any(|a| a.id == "TEMP-0000000-5E8D43"));
}

#[test]
fn debian_tracker_missing_files_are_feed_errors() {
    let mut records = Vec::new();
    let err = debian::import(&testdata("no-such-dir"), &mut records).expect_err("must fail");
    assert!(err.to_string().contains("distributions.json"), "{err}");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("export.json");
    std::fs::write(&path, "{\"curl\": {\"CVE-1\": ").expect("write");
    let err = debian::import_json(&path, &mut records).expect_err("must fail");
    assert!(err.to_string().contains("export.json"), "{err}");
}
