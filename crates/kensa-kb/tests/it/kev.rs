//! CISA KEV: the real catalog (JSON and the CSV published beside it) from
//! the shared data.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use kensa_kb::feeds::kev;
use kensa_kb::model::{Kev, Record};

fn kevs(records: Vec<Record>) -> Vec<Kev> {
    records
        .into_iter()
        .map(|r| match r {
            Record::Kev(k) => k,
            other => panic!("not a KEV entry: {other:?}"),
        })
        .collect()
}

/// A small RFC 4180 reader written for the test, independent of the
/// importer: quoted fields, doubled quotes, newlines inside quotes.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
        } else {
            match c {
                '"' => quoted = true,
                ',' => row.push(std::mem::take(&mut field)),
                '\r' => {}
                '\n' => {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                _ => field.push(c),
            }
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[test]
fn kev_json_count_and_spot_checks() {
    let path = kensa_testkit::data_path("kev/known_exploited_vulnerabilities.json");
    let raw = std::fs::read_to_string(&path).expect("read");
    let mut out = Vec::new();
    let t = Instant::now();
    let report = kev::import(&path, &mut out).expect("import");
    eprintln!("kev json: {} records in {:?}", report.records, t.elapsed());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let k = kevs(out);

    // Independent counts from the raw text.
    let count_field: usize = raw
        .split("\"count\":")
        .nth(1)
        .and_then(|s| s.trim_start().split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert_eq!(count_field, 1404);
    assert_eq!(k.len(), count_field);
    assert_eq!(k.len(), raw.matches("\"cveID\":").count());
    assert_eq!(
        k.iter().filter(|x| x.ransomware).count(),
        raw.matches("\"knownRansomwareCampaignUse\": \"Known\"")
            .count()
    );

    let git = k.iter().find(|x| x.cve == "CVE-2025-48384").unwrap();
    assert_eq!(git.vendor, "Git");
    assert_eq!(git.product, "Git");
    assert_eq!(git.name, "Git Link Following Vulnerability");
    assert_eq!(git.date_added, "2025-08-25");
    assert_eq!(git.due_date, "2025-09-15");
    assert!(!git.ransomware);
    assert!(
        git.required_action
            .starts_with("Apply mitigations per vendor instructions")
    );
}

#[test]
fn kev_json_and_csv_agree_record_by_record() {
    let json = kensa_testkit::data_path("kev/known_exploited_vulnerabilities.json");
    let csv = kensa_testkit::data_path("kev/known_exploited_vulnerabilities.csv");
    let mut out = Vec::new();
    kev::import(&json, &mut out).expect("import");
    let from_json = kevs(out);

    let rows = parse_csv(&std::fs::read_to_string(&csv).expect("read"));
    let header = &rows[0];
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let (c_cve, c_vendor, c_product, c_name, c_added, c_due, c_rw, c_action) = (
        col("cveID"),
        col("vendorProject"),
        col("product"),
        col("vulnerabilityName"),
        col("dateAdded"),
        col("dueDate"),
        col("knownRansomwareCampaignUse"),
        col("requiredAction"),
    );
    let body: Vec<_> = rows[1..].iter().filter(|r| r.len() > 1).collect();
    assert_eq!(body.len(), from_json.len());
    for (row, k) in body.iter().zip(&from_json) {
        assert_eq!(row.len(), header.len(), "{}", row[0]);
        assert_eq!(row[c_cve], k.cve);
        assert_eq!(row[c_vendor], k.vendor, "{}", k.cve);
        assert_eq!(row[c_product], k.product, "{}", k.cve);
        assert_eq!(row[c_name], k.name, "{}", k.cve);
        assert_eq!(row[c_added], k.date_added, "{}", k.cve);
        assert_eq!(row[c_due], k.due_date, "{}", k.cve);
        assert_eq!(row[c_rw] == "Known", k.ransomware, "{}", k.cve);
        assert_eq!(row[c_action], k.required_action, "{}", k.cve);
    }

    // The importer's own CSV path gives the same records.
    let mut out = Vec::new();
    let t = Instant::now();
    let report = kev::import(&csv, &mut out).expect("import csv");
    eprintln!("kev csv: {} records in {:?}", report.records, t.elapsed());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(kevs(out), from_json);
}

#[test]
fn kev_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = r#"{"cveID": "CVE-2026-0001", "vendorProject": "V", "product": "P",
        "vulnerabilityName": "N", "dateAdded": "2026-01-01", "shortDescription": "",
        "requiredAction": "Patch.", "dueDate": "2026-01-22",
        "knownRansomwareCampaignUse": "Known", "notes": "", "cwes": []}"#;
    let no_due = good
        .replace("CVE-2026-0001", "CVE-2026-0002")
        .replace("\"dueDate\": \"2026-01-22\",", "");
    let num_id = good.replace("\"CVE-2026-0001\"", "20260003");
    let body = format!(
        r#"{{"title": "t", "catalogVersion": "x", "dateReleased": "x", "count": 4,
            "vulnerabilities": [{good}, {no_due}, {num_id}]}}"#
    );
    let p = dir.path().join("kev.json");
    std::fs::write(&p, &body).expect("write");
    let mut out = Vec::new();
    let report = kev::import(&p, &mut out).expect("import");
    let k = kevs(out);
    assert_eq!(k.len(), 1);
    assert!(k[0].ransomware);
    let recs: Vec<_> = report.errors.iter().map(|e| e.record.clone()).collect();
    assert_eq!(
        recs,
        [
            Some("CVE-2026-0002".to_owned()),
            Some("vulnerabilities[2]".to_owned()),
            None // count 4 vs 3 entries
        ],
        "{:?}",
        report.errors
    );
    assert!(report.errors[0].message.contains("dueDate"));
    assert!(report.errors[2].message.contains("count"));
    assert!(report.errors.iter().all(|e| e.file.ends_with("kev.json")));

    // Truncated JSON: the entries before the cut are kept.
    let p = dir.path().join("truncated.json");
    let cut = body.find(&no_due).unwrap() + 20;
    std::fs::write(&p, &body[..cut]).expect("write");
    let mut out = Vec::new();
    let report = kev::import(&p, &mut out).expect("import");
    assert_eq!(out.len(), 1);
    assert_eq!(report.errors.len(), 1);
    assert!(
        report.errors[0]
            .record
            .as_deref()
            .unwrap()
            .starts_with("line ")
    );

    // CSV with a short row, a bad id, and a good row.
    let p = dir.path().join("kev.csv");
    std::fs::write(
        &p,
        "cveID,vendorProject,product,vulnerabilityName,dateAdded,shortDescription,requiredAction,dueDate,knownRansomwareCampaignUse,notes,cwes\n\
         CVE-2026-0001,V,P,\"N, with comma\",2026-01-01,d,Patch.,2026-01-22,Unknown,,\n\
         CVE-2026-0002,V,P\n\
         bogus,V,P,N,2026-01-01,d,Patch.,2026-01-22,Unknown,,\n",
    )
    .expect("write");
    let mut out = Vec::new();
    let report = kev::import(&p, &mut out).expect("import");
    let k = kevs(out);
    assert_eq!(k.len(), 1);
    assert_eq!(k[0].name, "N, with comma");
    let lines: Vec<_> = report.errors.iter().map(|e| e.record.clone()).collect();
    assert_eq!(
        lines,
        [Some("line 3".to_owned()), Some("line 4".to_owned())]
    );
}
