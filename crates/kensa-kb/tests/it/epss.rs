//! EPSS daily scores. The shared data has no EPSS file, so each test writes
//! a small `epss_scores-YYYY-MM-DD.csv.gz` in the exact layout FIRST
//! publishes (gzip; `#model_version:...,score_date:...` comment line; the
//! `cve,epss,percentile` header; one line per CVE), including bad lines.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use flate2::Compression;
use flate2::write::GzEncoder;
use kensa_kb::feeds::epss;
use kensa_kb::model::{Epss, Record};

fn gzip(text: &str) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(text.as_bytes()).expect("gzip");
    enc.finish().expect("gzip")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

fn scores(records: Vec<Record>) -> Vec<Epss> {
    records
        .into_iter()
        .map(|r| match r {
            Record::Epss(e) => e,
            other => panic!("not an EPSS score: {other:?}"),
        })
        .collect()
}

const GOOD: &str = "#model_version:v2023.03.01,score_date:2026-11-29T00:00:00+0000\n\
cve,epss,percentile\n\
CVE-1999-0001,0.01154,0.77777\n\
CVE-2021-44228,0.94358,0.99982\n\
CVE-2024-3094,0.83001,0.98420\n\
CVE-2026-0001,0.00043,0.09000\n";

#[test]
fn epss_gzip_as_published() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(dir.path(), "epss_scores-2026-11-29.csv.gz", &gzip(GOOD));
    let mut out = Vec::new();
    let t = Instant::now();
    let report = epss::import(&p, &mut out).expect("import");
    eprintln!("epss: {} records in {:?}", report.records, t.elapsed());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let s = scores(out);
    // Independent count: the lines starting with `CVE-`.
    assert_eq!(
        s.len(),
        GOOD.lines().filter(|l| l.starts_with("CVE-")).count()
    );
    assert_eq!(s.len(), 4);
    let log4j = s.iter().find(|e| e.cve == "CVE-2021-44228").unwrap();
    assert_eq!(log4j.score, 0.94358);
    assert_eq!(log4j.percentile, 0.99982);
    assert_eq!(log4j.date, "2026-11-29");
    assert!(s.iter().all(|e| e.date == "2026-11-29"));

    // The comment line's date wins over the file name's.
    let p = write(dir.path(), "epss_scores-2026-01-01.csv.gz", &gzip(GOOD));
    let mut out = Vec::new();
    epss::import(&p, &mut out).expect("import");
    assert!(scores(out).iter().all(|e| e.date == "2026-11-29"));

    // Uncompressed text is read too.
    let p = write(dir.path(), "plain.csv", GOOD.as_bytes());
    let mut out = Vec::new();
    let report = epss::import(&p, &mut out).expect("import");
    assert_eq!((report.records, report.errors.len()), (4, 0));
}

#[test]
fn epss_old_layout_takes_the_date_from_the_file_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = "cve,epss,percentile\nCVE-2021-44228,0.97565,0.99996\n";
    let p = write(dir.path(), "epss_scores-2022-05-01.csv.gz", &gzip(text));
    let mut out = Vec::new();
    let report = epss::import(&p, &mut out).expect("import");
    assert!(report.errors.is_empty());
    assert_eq!(scores(out)[0].date, "2022-05-01");

    // No date anywhere: an error of the file, no records.
    let p = write(dir.path(), "scores.csv.gz", &gzip(text));
    let mut out = Vec::new();
    let report = epss::import(&p, &mut out).expect("import");
    assert!(out.is_empty());
    assert_eq!(report.errors.len(), 1);
}

#[test]
fn epss_bad_lines_are_errors_with_their_line() {
    let text = format!(
        "{GOOD}CVE-2026-0002,abc,0.5\n\
         CVE-2026-0003,1.5,0.2\n\
         notacve,0.1,0.1\n\
         CVE-2026-0004,0.1\n\
         \n\
         CVE-2026-0005,0.2,0.3,extra\n\
         CVE-2026-0006,0.00100,0.20000\n"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(dir.path(), "epss_scores-2026-11-29.csv.gz", &gzip(&text));
    let mut out = Vec::new();
    let report = epss::import(&p, &mut out).expect("import");
    let s = scores(out);
    assert_eq!(s.len(), 5);
    assert_eq!(s[4].cve, "CVE-2026-0006");
    let recs: Vec<_> = report
        .errors
        .iter()
        .map(|e| e.record.clone().unwrap())
        .collect();
    assert_eq!(
        recs,
        [
            "line 7 (CVE-2026-0002)",
            "line 8 (CVE-2026-0003)",
            "line 9",
            "line 10 (CVE-2026-0004)",
            "line 12 (CVE-2026-0005)",
        ]
    );
    assert!(
        report
            .errors
            .iter()
            .all(|e| e.file.ends_with("epss_scores-2026-11-29.csv.gz"))
    );

    // A wrong header stops the file.
    let p = write(
        dir.path(),
        "epss_scores-2026-11-28.csv.gz",
        &gzip("a,b,c\nCVE-1,0.1,0.1\n"),
    );
    let mut out = Vec::new();
    let report = epss::import(&p, &mut out).expect("import");
    assert!(out.is_empty());
    assert_eq!(report.errors[0].record.as_deref(), Some("line 1"));
}

#[test]
fn epss_truncated_gzip_keeps_what_was_read() {
    // Enough lines that the cut falls well after the first ones.
    let mut text = String::from(GOOD);
    for i in 0..5000 {
        text.push_str(&format!(
            "CVE-2025-{:05},0.{:05},0.{:05}\n",
            10000 + i,
            i,
            i
        ));
    }
    let gz = gzip(&text);
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(
        dir.path(),
        "epss_scores-2026-11-29.csv.gz",
        &gz[..gz.len() / 2],
    );
    let mut out = Vec::new();
    let report = epss::import(&p, &mut out).expect("import");
    assert!(!out.is_empty() && out.len() < 5004, "{}", out.len());
    assert_eq!(report.records, out.len());
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(report.errors[0].message.contains("read error"));
    assert!(
        report.errors[0]
            .record
            .as_deref()
            .unwrap()
            .starts_with("line ")
    );

    // Not gzip at all, only binary noise: errors, no panic.
    let p = write(
        dir.path(),
        "noise.csv.gz",
        &[0x1f, 0x8b, 0, 1, 2, 3, 255, 254],
    );
    let mut out = Vec::new();
    let report = epss::import(&p, &mut out).expect("import");
    assert!(out.is_empty());
    assert!(!report.errors.is_empty());
}

/// A full-day-sized file (FIRST's have about 300,000 lines): timing.
#[test]
fn epss_full_day_size() {
    let mut text = String::from(GOOD);
    for i in 0..300_000u32 {
        text.push_str(&format!(
            "CVE-2020-{:06},0.{:05},0.{:05}\n",
            i,
            i % 99_999,
            (i * 7) % 99_999
        ));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(dir.path(), "epss_scores-2026-11-29.csv.gz", &gzip(&text));
    let mut out = Vec::new();
    let t = Instant::now();
    let report = epss::import(&p, &mut out).expect("import");
    eprintln!(
        "epss full day: {} records in {:?}",
        report.records,
        t.elapsed()
    );
    assert!(report.errors.is_empty());
    assert_eq!(out.len(), 300_004);
}
