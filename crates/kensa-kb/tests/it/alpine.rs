//! The Alpine secdb importer against the real secdb (v3.3 … v3.11, YAML
//! with JSON twins), the secdb JSON as served today, and hand-made files
//! in the same upstream formats for the odd cases (`testdata/alpine`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kensa_kb::feeds::alpine;
use kensa_kb::model::{Advisory, FeedReport, FixStatus, Record};
use serde_json::Value;

use crate::support::records;
use records::find;

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/alpine")
        .join(rel)
}

fn run(path: &Path) -> (FeedReport, Vec<Advisory>) {
    let mut records = Vec::new();
    let report = alpine::import(path, &mut records).expect("import");
    assert_eq!(records.len(), report.records);
    let advs = records
        .into_iter()
        .map(|r| match r {
            Record::Advisory(a) => a,
            other => panic!("unexpected record {other:?}"),
        })
        .collect();
    (report, advs)
}

/// An independent count over the raw JSON: distinct advisory ids (CVE ids
/// of each entry, else its first word) and bad entries.
fn count_json(path: &Path) -> (usize, usize) {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
    let mut ids = BTreeSet::new();
    let mut bad = 0;
    let Some(packages) = v["packages"].as_array() else {
        return (0, 0);
    };
    for p in packages {
        if p["pkg"]["name"].as_str().is_none() {
            bad += 1;
            continue;
        }
        let Some(secfixes) = p["pkg"]["secfixes"].as_object() else {
            continue;
        };
        for (key, list) in secfixes {
            if key != "0" && kensa_version::apk::validate(key).is_err() {
                bad += 1;
                continue;
            }
            for entry in list.as_array().into_iter().flatten() {
                let text = entry.as_str().unwrap_or_default();
                // Placeholders (`CVE-????-?????`) and plain comment words
                // after the first word (`XPTI`) do not count.
                let words: Vec<&str> = text
                    .split('(')
                    .next()
                    .unwrap_or_default()
                    .split_whitespace()
                    .filter(|w| !w.starts_with("CVE-?"))
                    .enumerate()
                    .filter(|(i, w)| *i == 0 || w.contains('-'))
                    .map(|(_, w)| w)
                    .collect();
                let word_ok = |w: &&str| {
                    w.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                        && w.contains('-')
                        && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                };
                if words.is_empty() || !words.iter().all(word_ok) {
                    bad += 1;
                    continue;
                }
                let cves: Vec<String> = words
                    .iter()
                    .filter(|w| w.starts_with("CVE-"))
                    .map(|w| w.split('-').take(3).collect::<Vec<_>>().join("-"))
                    .collect();
                if cves.is_empty() {
                    ids.insert(words[0].to_owned());
                } else {
                    ids.extend(cves);
                }
            }
        }
    }
    (ids.len(), bad)
}

/// The first difference between two imports, short.
fn assert_same(a: &[Advisory], b: &[Advisory], what: &Path) {
    let ids = |x: &[Advisory]| x.iter().map(|a| a.id.clone()).collect::<BTreeSet<_>>();
    let (ia, ib) = (ids(a), ids(b));
    assert!(
        ia == ib,
        "{}: only in JSON {:?}, only in YAML {:?}",
        what.display(),
        ia.difference(&ib).collect::<Vec<_>>(),
        ib.difference(&ia).collect::<Vec<_>>()
    );
    for (x, y) in a.iter().zip(b) {
        assert!(x == y, "{}: {x:?} != {y:?}", what.display());
    }
}

#[test]
fn alpine_secdb_real_counts_and_yaml_json_twins_agree() {
    let root = kensa_testkit::data_path("alpine-secdb");
    let mut releases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    releases.sort();
    let (mut total, mut total_errors) = (0, 0);
    let (mut t_yaml, mut t_json) = (Duration::ZERO, Duration::ZERO);
    for release in &releases {
        for repo in ["main", "community"] {
            let json = release.join(format!("{repo}.json"));
            let yaml = release.join(format!("{repo}.yaml"));
            let t = Instant::now();
            let (jr, ja) = run(&json);
            t_json += t.elapsed();
            let t = Instant::now();
            let (yr, ya) = run(&yaml);
            t_yaml += t.elapsed();
            let (expected, bad) = count_json(&json);
            assert_eq!(jr.records, expected, "{}", json.display());
            assert_eq!(jr.errors.len(), bad, "{}: {:?}", json.display(), jr.errors);
            // Two parsers, one content.
            assert_same(&ja, &ya, &yaml);
            assert_eq!(yr.errors.len(), jr.errors.len(), "{:?}", yr.errors);
            total += jr.records;
            total_errors += jr.errors.len();
        }
    }
    eprintln!(
        "alpine secdb: {total} records, {total_errors} errors; yaml {t_yaml:?}, json {t_json:?}"
    );
    assert!(total > 5000, "{total}");

    // The whole tree at once reads each JSON twin, not the YAML.
    let mut records = Vec::new();
    let report = alpine::import_dir(&root, &mut records).expect("import_dir");
    assert_eq!(report.records, total);
    assert_eq!(report.errors.len(), total_errors);

    // Spot checks.
    let (_, advs) = run(&root.join("v3.11/main.yaml"));
    let a = find(&advs, "CVE-2019-10081");
    let apache = a
        .affected
        .iter()
        .find(|x| x.package == "apache2")
        .expect("apache2");
    assert_eq!(apache.namespace, "alpine:3.11");
    assert_eq!(
        (apache.status, apache.fixed.as_deref()),
        (FixStatus::Fixed, Some("2.4.41-r0"))
    );
    // `CVE-2017-8904 XSA-214`: the XSA id is an alias.
    let xen = find(&advs, "CVE-2017-8904");
    assert_eq!(xen.aliases, ["XSA-214"]);
    assert_eq!(xen.affected[0].package, "xen");
    // A version key that is not an apk version: an error naming its line.
    let (report, _) = run(&root.join("v3.11/main.yaml"));
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.file.ends_with("v3.11/main.yaml")
                && e.record.as_deref() == Some("python2 2.7.16-33 line 1512")),
        "{:?}",
        report.errors
    );
    // `CVE_2019-2426` is garbage.
    let (report, _) = run(&root.join("v3.11/community.yaml"));
    assert!(
        report.errors.iter().any(|e| e.record.as_deref()
            == Some("openjdk7 7.211.2.6.17-r0 line 674")
            && e.message.contains("CVE_2019-2426")),
        "{:?}",
        report.errors
    );
    // The "0" key: never affected.
    let (_, advs) = run(&root.join("v3.8/main.yaml"));
    let db = find(&advs, "CVE-2016-0682");
    assert_eq!(db.affected[0].package, "db");
    assert_eq!(db.affected[0].status, FixStatus::NotAffected);
    assert!(db.affected[0].ranges.is_empty());
}

#[test]
fn alpine_secdb_json_as_served() {
    let dir = kensa_testkit::data_path("samples/alpine-secdb-json");
    let (r, advs) = run(&dir.join("311-main.json"));
    assert_eq!((r.records, r.errors.len()), (2, 0));
    assert_eq!(
        find(&advs, "CVE-2018-1333").affected[0].fixed.as_deref(),
        Some("2.4.34-r0")
    );
    // `"2.8.0-r0": {}`: an empty entry, read as empty.
    let (r, advs) = run(&dir.join("312-main.json"));
    assert_eq!((r.records, r.errors.len()), (1, 0));
    assert_eq!(advs[0].affected[0].namespace, "alpine:3.12");
    // `"packages": {}`.
    let (r, _) = run(&dir.join("edge-community.json"));
    assert_eq!((r.records, r.errors.len()), (0, 0));
    let (r, advs) = run(&dir.join("edge-main.json"));
    assert_eq!(r.records, 2);
    let a = find(&advs, "CVE-2021-36159");
    assert_eq!(
        (
            a.affected[0].namespace.as_str(),
            a.affected[0].fixed.as_deref()
        ),
        ("alpine:edge", Some("2.12.6-r0"))
    );
}

/// Hand-made files in the secdb YAML and JSON formats with the odd cases
/// the real files only hint at: garbage ids, a bad version key, a package
/// without a name, several CVE ids in one entry, sub-issue suffixes, a
/// flow sequence, a string where a list belongs (JSON).
#[test]
fn alpine_secdb_handmade_bad_entries() {
    let (yr, ya) = run(&testdata("bad.yaml"));
    let (jr, ja) = run(&testdata("bad.json"));
    assert_eq!(ya, ja);
    assert_eq!(yr.records, 9);
    let lines: Vec<_> = yr.errors.iter().map(|e| e.record.as_deref()).collect();
    assert_eq!(
        lines,
        [
            Some("openssl 3.1.4-r1 line 15"),
            Some("openssl not a version line 18"),
            Some("line 30"),
        ]
    );
    assert!(yr.errors.iter().all(|e| e.file.ends_with("bad.yaml")));
    assert_eq!(jr.errors.len(), 4, "{:?}", jr.errors);
    assert!(
        jr.errors
            .iter()
            .any(|e| e.record.as_deref() == Some("busybox 1.36.1-r2")),
        "{:?}",
        jr.errors
    );
    for id in ["CVE-2022-1343", "CVE-2022-1434"] {
        assert_eq!(find(&ya, id).affected[0].status, FixStatus::NotAffected);
    }
    let a = find(&ya, "CVE-2023-5363");
    assert_eq!(a.affected[0].fixed.as_deref(), Some("3.1.4-r0"));
    assert_eq!(find(&ya, "CVE-2023-34322").aliases, ["XSA-438"]);
    assert_eq!(find(&ya, "XSA-439").affected[0].package, "xen");
    assert_eq!(find(&ya, "CVE-2023-20588").affected.len(), 1);
    // A YAML flow sequence and an empty `{}` entry.
    assert_eq!(
        find(&ya, "CVE-2023-42363").affected[0].fixed.as_deref(),
        Some("1.36.1-r2")
    );

    let mut records = Vec::new();
    let err = alpine::import(&testdata("truncated.json"), &mut records).expect_err("truncated");
    assert!(err.to_string().contains("truncated.json"), "{err}");
    let err = alpine::import(&testdata("no-release.yaml"), &mut records).expect_err("no release");
    assert!(
        err.to_string().contains("no-release.yaml") && err.to_string().contains("distroversion"),
        "{err}"
    );
    assert!(records.is_empty());
}
