//! The OSV importer against the real `all.zip` mirrors (AlmaLinux, Go,
//! PyPI), with record counts computed independently from the raw archives,
//! and against hand-made records and archives for what the mirror lacks
//! (bad JSON, wrong types, truncated archives, other namespaces).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use kensa_kb::feeds::osv;
use kensa_kb::model::{Advisory, Affected, Event, FeedReport, FixStatus, Record};
use kensa_version::Ecosystem;
use kensa_version::range::is_affected;

use crate::support::records;
use records::{advisories, aff, find};

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/osv")
        .join(rel)
}

fn events(a: &Affected) -> Vec<Vec<kensa_version::range::Event<'_>>> {
    a.ranges
        .iter()
        .map(|r| r.iter().map(Event::as_range_event).collect())
        .collect()
}

fn affected_by(eco: Ecosystem, a: &Affected, version: &str) -> bool {
    events(a)
        .iter()
        .any(|r| is_affected(eco, version, r).expect("valid versions"))
}

/// What the importer should import, counted from the raw archive with
/// `zip` and `serde_json` only: entries that are a JSON object with a
/// string `id`, without `withdrawn`. Returns (importable, withdrawn).
fn independent_count(zip_path: &Path) -> (usize, usize) {
    let file = std::fs::File::open(zip_path).expect("open zip");
    let mut archive = zip::ZipArchive::new(file).expect("valid zip");
    let (mut ok, mut withdrawn) = (0, 0);
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).expect("entry");
        let mut text = String::new();
        entry.read_to_string(&mut text).expect("read entry");
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        if !v.get("id").is_some_and(serde_json::Value::is_string) {
            continue;
        }
        if v.get("withdrawn").is_some_and(|w| !w.is_null()) {
            withdrawn += 1;
        } else {
            ok += 1;
        }
    }
    (ok, withdrawn)
}

/// The importer's errors on the real feeds are ranges dropped for a version
/// the ecosystem's ordering rejects (the record is still imported): these
/// are the (record, version) pairs, found by hand in the raw files.
fn expected_range_errors(eco: &str) -> Vec<(&'static str, &'static str)> {
    match eco {
        "PyPI" => vec![
            ("PYSEC-2019-125", "\"2019-09-12\""),
            ("PYSEC-2021-371", "\"0.2.0-n653\""),
        ],
        _ => Vec::new(),
    }
}

fn import_full(eco: &str) -> (FeedReport, Vec<Advisory>) {
    let path = kensa_testkit::data_path(&format!("osv/{eco}/all.zip"));
    let (expected, withdrawn) = independent_count(&path);
    let mut out: Vec<Record> = Vec::new();
    let t = Instant::now();
    let report = osv::import(&path, &mut out).expect("import");
    eprintln!(
        "osv {eco}: {} records imported in {:?} (independent count {expected}, withdrawn {withdrawn}); skipped {:?}",
        report.records,
        t.elapsed(),
        report.skipped
    );
    let want = expected_range_errors(eco);
    assert_eq!(report.errors.len(), want.len(), "{:#?}", report.errors);
    for (e, (id, version)) in report.errors.iter().zip(&want) {
        assert_eq!(e.record.as_deref(), Some(*id));
        assert!(e.file.ends_with(&format!("all.zip!/{id}.json")), "{e:?}");
        assert!(
            e.message.contains("range dropped") && e.message.contains(version),
            "{e:?}"
        );
    }
    assert_eq!(report.records, expected, "{eco}");
    assert_eq!(out.len(), expected, "{eco}");
    assert_eq!(report.skipped_count("withdrawn"), withdrawn, "{eco}");
    (report, advisories(out))
}

#[test]
fn almalinux_full_feed() {
    let (_, advs) = import_full("AlmaLinux");
    for a in &advs {
        assert!(!a.affected.is_empty(), "{}", a.id);
        for x in &a.affected {
            assert!(x.namespace.starts_with("almalinux:"), "{}", x.namespace);
        }
    }
    let a = find(&advs, "ALSA-2024:0001");
    assert_eq!(
        a.summary.as_deref(),
        Some("Important: thunderbird security update")
    );
    assert_eq!(a.published.as_deref(), Some("2024-01-02T00:00:00Z"));
    let sev = a.severity.as_ref().expect("severity from the summary");
    assert_eq!(
        (sev.source.as_str(), sev.value.as_str()),
        ("almalinux", "important")
    );
    // The CVEs of `related` tie the errata to its CVEs.
    assert!(a.aliases.contains(&"CVE-2023-6856".to_owned()));
    assert!(a.aliases.iter().all(|x| x.starts_with("CVE-")));
    assert!(
        a.references
            .contains(&"https://access.redhat.com/errata/RHSA-2024:0001".to_owned())
    );
    let t = aff(a, "almalinux:9", "thunderbird");
    assert_eq!(t.status, FixStatus::Fixed);
    assert_eq!(t.fixed.as_deref(), Some("115.6.0-1.el9_3.alma"));
    assert!(affected_by(Ecosystem::Rpm, t, "115.5.0-1.el9_2.alma"));
    assert!(!affected_by(Ecosystem::Rpm, t, "115.6.0-1.el9_3.alma"));

    // An epoch in the fixed version.
    let a = find(&advs, "ALSA-2024:0046");
    let s = aff(a, "almalinux:8", "squid");
    assert_eq!(
        s.fixed.as_deref(),
        Some("7:4.15-7.module_el8.9.0+3708+6acaac63.5")
    );
    // Without the epoch, a much newer upstream version is still older.
    assert!(affected_by(Ecosystem::Rpm, s, "6.0-1.el8"));
    assert!(affected_by(
        Ecosystem::Rpm,
        s,
        "7:4.15-7.module_el8.9.0+3708+6acaac63.4"
    ));
    assert!(!affected_by(Ecosystem::Rpm, s, "7:4.15-8.el8"));
    assert_eq!(s.module.as_deref(), Some("squid:4"));
    assert!(
        find(&advs, "ALSA-2024:0001")
            .affected
            .iter()
            .all(|x| x.module.is_none())
    );
}

#[test]
fn go_full_feed() {
    let (_, advs) = import_full("Go");
    for a in &advs {
        for x in &a.affected {
            assert_eq!(x.namespace, "Go");
            for ev in x.ranges.iter().flatten() {
                let v = match ev {
                    Event::Introduced(v)
                    | Event::Fixed(v)
                    | Event::LastAffected(v)
                    | Event::Limit(v) => v,
                };
                assert!(v == "0" || v.starts_with('v'), "{} {v}", a.id);
            }
        }
    }
    let a = find(&advs, "GO-2023-1878");
    assert_eq!(a.aliases, ["CVE-2023-29406"]);
    assert_eq!(
        a.summary.as_deref(),
        Some("Insufficient sanitization of Host header in net/http")
    );
    let s = aff(a, "Go", "stdlib");
    assert_eq!(
        s.ranges,
        [vec![
            Event::Introduced("0".into()),
            Event::Fixed("v1.19.11".into()),
            Event::Introduced("v1.20.0-0".into()),
            Event::Fixed("v1.20.6".into()),
        ]]
    );
    assert_eq!(s.fixed.as_deref(), Some("v1.19.11"));
    assert_eq!(s.status, FixStatus::Fixed);
    assert!(affected_by(Ecosystem::Go, s, "v1.19.10"));
    assert!(!affected_by(Ecosystem::Go, s, "v1.19.11"));
    assert!(affected_by(Ecosystem::Go, s, "v1.20.0-rc.1"));
    assert!(affected_by(Ecosystem::Go, s, "v1.20.5"));
    assert!(!affected_by(Ecosystem::Go, s, "v1.20.6"));
}

#[test]
fn pypi_full_feed() {
    let (report, advs) = import_full("PyPI");
    assert!(report.skipped_count("GIT range") > 0);
    let a = find(&advs, "PYSEC-2022-236");
    assert_eq!(a.aliases, ["CVE-2022-33891", "GHSA-4x9r-j582-cgr8"]);
    assert!(
        a.summary
            .as_deref()
            .is_some_and(|s| s.starts_with("The Apache Spark UI offers"))
    );
    let p = aff(a, "PyPI", "pyspark");
    // The lowest fixed version by PEP 440, not the first written.
    assert_eq!(p.fixed.as_deref(), Some("3.1.1"));
    assert_eq!(p.versions.len(), 29);
    for (v, want) in [
        ("3.0.3", true),
        ("3.1.1", true),
        ("3.1.2", true),
        ("3.1.3", false),
        ("3.2.1", true),
        ("3.2.2", false),
    ] {
        assert_eq!(affected_by(Ecosystem::Pypi, p, v), want, "{v}");
    }
    // CVSS vectors from `severity[]`.
    let a = find(&advs, "PYSEC-2017-105");
    assert_eq!(a.cvss, ["CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"]);
    assert_eq!(aff(a, "PyPI", "apache-atlas").status, FixStatus::Affected);
    assert_eq!(aff(a, "PyPI", "apache-atlas").fixed, None);
}

#[test]
fn directory_of_hand_made_records() {
    let mut out: Vec<Record> = Vec::new();
    let report = osv::import(&testdata("dir"), &mut out).expect("import");
    let advs = advisories(out);
    assert_eq!(report.records, 3, "{report:#?}");
    assert_eq!(report.skipped_count("withdrawn"), 1);
    assert_eq!(report.skipped_count("GIT range"), 1);
    assert_eq!(report.skipped_count("affected: ecosystem not mapped"), 1);

    let a = find(&advs, "KENSA-TEST-0001");
    assert_eq!(a.aliases, ["CVE-2099-0001", "GHSA-aaaa-bbbb-cccc"]);
    assert_eq!(
        a.summary.as_deref(),
        Some("Hand-made record for the OSV importer tests.")
    );
    let sev = a.severity.as_ref().expect("severity");
    assert_eq!(
        (sev.source.as_str(), sev.value.as_str()),
        ("debian", "high")
    );
    assert_eq!(a.cvss.len(), 2);
    assert_eq!(a.affected.len(), 2);
    let d = aff(a, "debian:12", "openssl");
    assert_eq!(d.fixed.as_deref(), Some("3.0.11-1~deb12u2"));
    assert!(d.note.is_none());
    let u = aff(a, "ubuntu:18.04", "openssl");
    assert!(u.note.as_deref().is_some_and(|n| n.contains("Ubuntu Pro")));

    let a = find(&advs, "UBUNTU-CVE-2099-0006");
    assert_eq!(a.aliases, ["CVE-2099-0006"]);
    assert_eq!(
        a.severity
            .as_ref()
            .map(|s| (s.source.as_str(), s.value.as_str())),
        Some(("ubuntu", "medium"))
    );
    let c = aff(a, "ubuntu:22.04", "curl");
    assert_eq!(c.fixed.as_deref(), Some("7.81.0-1ubuntu1.16"));
    assert!(affected_by(Ecosystem::Dpkg, c, "7.81.0-1ubuntu1.15"));
    assert!(!affected_by(Ecosystem::Dpkg, c, "7.81.0-1ubuntu1.16"));

    let a = find(&advs, "KENSA-TEST-0003");
    // The range with `1..2` is dropped (and reported), the other kept.
    let c = aff(a, "crates.io", "kensa-test");
    assert_eq!(c.ranges.len(), 1);
    assert_eq!(c.fixed.as_deref(), Some("2.1.0"));
    let al = aff(a, "alpine:3.19", "busybox");
    assert_eq!(al.fixed.as_deref(), Some("1.36.1-r16"));
    assert!(affected_by(Ecosystem::Apk, al, "1.36.1-r15"));
    assert!(!affected_by(Ecosystem::Apk, al, "1.36.1-r16"));
    assert!(affected_by(Ecosystem::Apk, al, "1.36.1-r20"));
    assert_eq!(
        a.severity
            .as_ref()
            .map(|s| (s.source.as_str(), s.value.as_str())),
        Some(("crates.io", "medium"))
    );
    let w = aff(a, "wolfi:rolling", "busybox");
    assert_eq!(w.status, FixStatus::Affected);

    // Errors: the bad range (record still imported), wrong types, bad JSON.
    assert_eq!(report.errors.len(), 3, "{:#?}", report.errors);
    let err = |id: Option<&str>, file_end: &str| {
        report
            .errors
            .iter()
            .find(|e| e.record.as_deref() == id && e.file.ends_with(file_end))
            .unwrap_or_else(|| panic!("no error for {id:?} {file_end}: {:#?}", report.errors))
    };
    assert!(
        err(Some("KENSA-TEST-0003"), "KENSA-TEST-0003.json")
            .message
            .contains("1..2")
    );
    let e = err(Some("KENSA-TEST-0004"), "deeper/KENSA-TEST-0004.json");
    assert!(e.message.contains("invalid type"), "{e:?}");
    assert!(
        err(None, "deeper/KENSA-TEST-0005.json")
            .message
            .contains("not JSON")
    );
}

fn record_json(id: &str, fixed: &str) -> String {
    serde_json::json!({
        "id": id,
        "modified": "2026-01-01T00:00:00Z",
        "affected": [{
            "package": {"ecosystem": "PyPI", "name": "pkg"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]
        }]
    })
    .to_string()
}

/// A zip of 50 good records with bad ones among them.
fn build_zip(path: &Path) -> usize {
    let file = std::fs::File::create(path).expect("create zip");
    let mut w = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut good = 0;
    for i in 0..50 {
        w.start_file(format!("PYSEC-T-{i}.json"), opts)
            .expect("start");
        w.write_all(record_json(&format!("PYSEC-T-{i}"), &format!("1.{i}")).as_bytes())
            .expect("write");
        good += 1;
        match i {
            10 => {
                w.start_file("BROKEN-1.json", opts).expect("start");
                w.write_all(b"{\"id\": \"BROKEN-1\", \"affected\": [")
                    .expect("write");
            }
            20 => {
                w.start_file("BROKEN-2.json", opts).expect("start");
                w.write_all(br#"{"id": "BROKEN-2", "affected": [{"package": {"ecosystem": "PyPI", "name": 7}}]}"#)
                    .expect("write");
            }
            30 => {
                w.start_file("BROKEN-3.json", opts).expect("start");
                w.write_all(br#"{"summary": "no id"}"#).expect("write");
            }
            40 => {
                w.start_file("BROKEN-4.json", opts).expect("start");
                w.write_all(br#"{"id": "BROKEN-4", "published": 2024}"#)
                    .expect("write");
            }
            _ => {}
        }
    }
    w.finish().expect("finish");
    good
}

#[test]
fn malformed_entries_among_good_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("all.zip");
    let good = build_zip(&path);
    let mut out: Vec<Record> = Vec::new();
    let report = osv::import(&path, &mut out).expect("import");
    assert_eq!(report.records, good);
    assert_eq!(out.len(), good);
    assert_eq!(report.errors.len(), 4, "{:#?}", report.errors);
    let prefix = format!("{}!/", path.display());
    for (entry, id) in [
        ("BROKEN-1.json", None),
        ("BROKEN-2.json", Some("BROKEN-2")),
        ("BROKEN-3.json", None),
        ("BROKEN-4.json", Some("BROKEN-4")),
    ] {
        let e = report
            .errors
            .iter()
            .find(|e| e.file == format!("{prefix}{entry}"))
            .unwrap_or_else(|| panic!("no error for {entry}: {:#?}", report.errors));
        assert_eq!(e.record.as_deref(), id, "{e:?}");
    }
}

#[test]
fn truncated_zip_keeps_the_records_before_the_damage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("all.zip");
    build_zip(&path);
    let bytes = std::fs::read(&path).expect("read");
    let cut = dir.path().join("cut.zip");
    std::fs::write(&cut, &bytes[..bytes.len() * 6 / 10]).expect("write");
    let mut out: Vec<Record> = Vec::new();
    let report = osv::import(&cut, &mut out).expect("a damaged archive is not fatal");
    assert_eq!(report.records, out.len());
    assert!(
        report.records >= 25,
        "{} records: {report:#?}",
        report.records
    );
    assert!(report.records < 50);
    // The central directory is gone: the importer says so, reads the local
    // headers, and names the entry the cut went through.
    let prefix = cut.display().to_string();
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.file == prefix && e.message.contains("central directory")),
        "{:#?}",
        report.errors
    );
    let last = report.errors.last().expect("an error for the cut entry");
    assert!(
        last.file.starts_with(&format!("{prefix}!/PYSEC-T-")),
        "{last:?}"
    );
    // The malformed entries before the cut are reported as in a whole zip.
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.record.as_deref() == Some("BROKEN-2"))
    );
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.file.starts_with(&cut.display().to_string())),
        "{:#?}",
        report.errors
    );

    // Not a zip at all, and a missing path: errors, not panics.
    let junk = dir.path().join("junk.zip");
    std::fs::write(&junk, b"not a zip").expect("write");
    let report = osv::import(&junk, &mut Vec::new()).expect("junk");
    assert_eq!(report.records, 0);
    assert!(!report.errors.is_empty());
    assert!(osv::import(&dir.path().join("missing.zip"), &mut Vec::new()).is_err());
}

/// The same feed as a directory (the zip unpacked into nested folders in a
/// temporary directory) imports to the same advisories.
#[test]
fn directory_import_matches_zip_import() {
    let path = kensa_testkit::data_path("osv/PyPI/all.zip");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&path).expect("open")).expect("zip");
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).expect("entry");
        let name = entry.name().to_owned();
        // Spread the files over folders by the id's year: PYSEC-2021-1.json
        // goes to 2021/.
        let sub = name.split('-').nth(1).unwrap_or("other").to_owned();
        std::fs::create_dir_all(dir.path().join(&sub)).expect("mkdir");
        let mut out = std::fs::File::create(dir.path().join(&sub).join(&name)).expect("create");
        std::io::copy(&mut entry, &mut out).expect("copy");
    }
    let mut from_zip: Vec<Record> = Vec::new();
    let zr = osv::import(&path, &mut from_zip).expect("zip import");
    let mut from_dir: Vec<Record> = Vec::new();
    let dr = osv::import(dir.path(), &mut from_dir).expect("dir import");
    assert_eq!(zr.records, dr.records);
    assert_eq!(zr.skipped.len(), dr.skipped.len());
    assert_eq!(zr.errors.len(), dr.errors.len());
    let mut a = advisories(from_zip);
    let mut b = advisories(from_dir);
    a.sort_by(|x, y| x.id.cmp(&y.id));
    b.sort_by(|x, y| x.id.cmp(&y.id));
    assert!(a == b, "directory and zip imports differ");
}
