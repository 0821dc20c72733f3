//! NVD API 2.0 pages (real samples from the shared data) and CVE JSON 5
//! records. The mirror has no cvelistV5 record, so `testdata/cve5/` holds
//! three hand-made records written in the upstream CVE JSON 5.1 layout
//! (`cveMetadata`, `containers.cna`, `containers.adp[]`); likewise
//! `testdata/nvd/mixed-page.json` is a hand-made API page with a rejected,
//! a wrong-typed and an id-less entry.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use kensa_kb::feeds::nvd;
use kensa_kb::model::{Record, Vulnerability};

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

fn vulns(records: Vec<Record>) -> Vec<Vulnerability> {
    records
        .into_iter()
        .map(|r| match r {
            Record::Vulnerability(v) => v,
            other => panic!("not a vulnerability: {other:?}"),
        })
        .collect()
}

/// Independent count: one `"id": "CVE-` per `cve` object in these pages.
fn count_ids(text: &str) -> usize {
    text.matches("\"id\": \"CVE-").count()
}

#[test]
fn nvd_real_pages_counts_and_vectors() {
    let dir = kensa_testkit::data_path("samples/nvd-api-2.0");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    let mut total = 0;
    for file in &names {
        let text = std::fs::read_to_string(file).expect("read");
        let mut out = Vec::new();
        let t = Instant::now();
        let report = nvd::import(file, &mut out).expect("import");
        eprintln!(
            "nvd {}: {} records in {:?}",
            file.display(),
            report.records,
            t.elapsed()
        );
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert!(report.skipped.is_empty());
        let v = vulns(out);
        assert_eq!(v.len(), count_ids(&text), "{}", file.display());
        assert_eq!(report.records, v.len());
        // Every scorer's vector is kept: as many as `vectorString`s.
        let vectors: usize = v.iter().map(|x| x.cvss.len()).sum();
        assert_eq!(
            vectors,
            text.matches("\"vectorString\"").count(),
            "{}",
            file.display()
        );
        total += v.len();
    }
    assert_eq!(total, 7);

    // A whole directory at once gives the same total.
    let mut out = Vec::new();
    let report = nvd::import(&dir, &mut out).expect("import dir");
    assert_eq!(report.records, 7);
    assert!(report.errors.is_empty());
}

#[test]
fn nvd_spot_checks_against_raw_page() {
    let mut out = Vec::new();
    nvd::import(
        kensa_testkit::data_path("samples/nvd-api-2.0/respPageFull.json"),
        &mut out,
    )
    .expect("import");
    let v = vulns(out);
    let ids: Vec<_> = v.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, ["CVE-2020-8167", "CVE-2021-22903", "CVE-2021-3881"]);
    let rails = &v[0];
    assert_eq!(rails.published.as_deref(), Some("2020-06-19T18:15:11.163"));
    assert_eq!(rails.modified.as_deref(), Some("2021-10-21T14:35:21.047"));
    assert!(
        rails
            .description
            .as_deref()
            .unwrap()
            .starts_with("A CSRF vulnerability exists in rails")
    );
    assert_eq!(rails.cwes, ["CWE-352"]);
    let v31 = rails.cvss.iter().find(|c| c.version == "3.1").unwrap();
    assert_eq!(v31.vector, "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N");
    assert_eq!(v31.source, "nvd@nist.gov");
    assert_eq!(v31.kind.as_deref(), Some("Primary"));
    assert_eq!(v31.base_score, Some(6.5));
    let v2 = rails.cvss.iter().find(|c| c.version == "2.0").unwrap();
    assert_eq!(v2.vector, "AV:N/AC:M/Au:N/C:N/I:P/A:N");
    assert_eq!(v2.base_score, Some(4.3));
    assert!(!rails.references.is_empty());

    // CVSS 3.0 from a CNA (Secondary) next to NVD's own.
    let v30 = v
        .iter()
        .flat_map(|x| &x.cvss)
        .find(|c| c.version == "3.0")
        .unwrap();
    assert_eq!(v30.source, "security@huntr.dev");
    assert_eq!(v30.kind.as_deref(), Some("Secondary"));
    assert_eq!(v30.vector, "CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:L");

    // CVSS 4.0 on page 2.
    let mut out = Vec::new();
    nvd::import(
        kensa_testkit::data_path("samples/nvd-api-2.0/respPage2.json"),
        &mut out,
    )
    .expect("import");
    let v40 = vulns(out)
        .into_iter()
        .flat_map(|x| x.cvss)
        .find(|c| c.version == "4.0")
        .unwrap();
    assert_eq!(v40.source, "cna@vuldb.com");
    assert!(
        v40.vector
            .starts_with("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/")
    );
}

#[test]
fn nvd_rejected_wrong_types_and_no_metrics() {
    let file = testdata("nvd/mixed-page.json");
    let mut out = Vec::new();
    let report = nvd::import(&file, &mut out).expect("import");
    let v = vulns(out);
    let ids: Vec<_> = v.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, ["CVE-2026-90001", "CVE-2026-90005"]);
    assert_eq!(report.records, 2);
    assert_eq!(report.skipped, [("rejected".to_owned(), 1)]);
    assert_eq!(report.errors.len(), 2, "{:?}", report.errors);
    assert!(
        report
            .errors
            .iter()
            .all(|e| e.file.ends_with("mixed-page.json"))
    );
    assert_eq!(report.errors[0].record.as_deref(), Some("CVE-2026-90003"));
    assert_eq!(
        report.errors[1].record.as_deref(),
        Some("vulnerabilities[3]")
    );
    // A record with an id is remembered by it (a scan warns on a finding
    // of that CVE, scored without it); one without an id cannot be.
    let named: Vec<_> = report
        .errors
        .iter()
        .map(|e| (e.namespace.as_deref(), e.package.as_deref()))
        .collect();
    assert_eq!(
        named,
        [
            (Some(nvd::DROPPED_NAMESPACE), Some("CVE-2026-90003")),
            (None, None)
        ]
    );

    let first = &v[0];
    assert_eq!(
        first.description.as_deref(),
        Some("Hand-made test record: a heap overflow in examplelib.")
    );
    assert_eq!(first.cwes, ["CWE-787"], "deduplicated, NVD-CWE-* dropped");
    assert_eq!(first.references, ["https://example.org/advisory/1"]);
    assert_eq!(first.cvss.len(), 2);
    assert_eq!(first.cvss[1].source, "secalert@example.org");
    assert_eq!(first.cvss[1].kind.as_deref(), Some("Secondary"));
    assert!(v[1].cvss.is_empty());
}

#[test]
fn nvd_truncated_and_malformed_json() {
    let text = std::fs::read_to_string(kensa_testkit::data_path(
        "samples/nvd-api-2.0/respPageFull.json",
    ))
    .expect("read");
    let dir = tempfile::tempdir().expect("tempdir");

    // Cut inside the third vulnerability: the first two are kept.
    let cut = text.find("CVE-2021-3881").unwrap() + 40;
    let trunc = dir.path().join("truncated.json");
    std::fs::write(&trunc, &text[..cut]).expect("write");
    let mut out = Vec::new();
    let report = nvd::import(&trunc, &mut out).expect("import");
    assert_eq!(report.records, 2);
    assert_eq!(report.errors.len(), 1);
    assert!(report.errors[0].file.ends_with("truncated.json"));
    assert!(
        report.errors[0]
            .record
            .as_deref()
            .unwrap()
            .starts_with("line ")
    );

    for (name, body) in [
        ("garbage.json", "this is not json"),
        ("array.json", "[1, 2, 3]"),
        ("vulns-not-array.json", r#"{"vulnerabilities": {"cve": 1}}"#),
        ("empty.json", ""),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, body).expect("write");
        let mut out = Vec::new();
        let report = nvd::import(&p, &mut out).expect("import");
        assert_eq!(report.records, 0, "{name}");
        assert_eq!(report.errors.len(), 1, "{name}: {:?}", report.errors);
        assert!(report.errors[0].file.ends_with(name));
    }

    assert!(nvd::import(dir.path().join("missing.json"), &mut Vec::new()).is_err());
}

#[test]
fn cve5_hand_made_records() {
    let mut out = Vec::new();
    let t = Instant::now();
    let report = nvd::import_cve5(testdata("cve5"), &mut out).expect("import");
    eprintln!("cve5: {} records in {:?}", report.records, t.elapsed());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.skipped, [("rejected".to_owned(), 1)]);
    let v = vulns(out);
    assert_eq!(v.len(), 2);

    let a = &v[0];
    assert_eq!(a.id, "CVE-2026-91001");
    assert_eq!(a.published.as_deref(), Some("2026-11-10T12:00:00.000Z"));
    assert_eq!(a.modified.as_deref(), Some("2026-11-20T09:30:00.000Z"));
    assert!(
        a.description
            .as_deref()
            .unwrap()
            .contains("path traversal in exampled")
    );
    assert_eq!(a.cwes, ["CWE-22", "CWE-23"], "CNA's then ADP's");
    assert_eq!(
        a.references,
        ["https://example.org/exampled/security/2026-1"]
    );
    assert_eq!(a.cvss.len(), 2);
    assert_eq!(a.cvss[0].source, "ExampleCNA");
    assert_eq!(
        a.cvss[0].vector,
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"
    );
    assert_eq!(a.cvss[0].base_score, Some(7.5));
    assert_eq!(a.cvss[1].source, "CISA-ADP");
    assert_eq!(a.cvss[1].base_score, Some(5.3));

    let b = &v[1];
    assert_eq!(b.id, "CVE-2026-91002");
    assert!(
        b.description.as_deref().unwrap().contains("use after free"),
        "en-US accepted"
    );
    let versions: Vec<_> = b.cvss.iter().map(|c| c.version.as_str()).collect();
    assert_eq!(versions, ["4.0", "3.1"]);

    // One file at a time works too.
    let mut out = Vec::new();
    let report = nvd::import_cve5(testdata("cve5/CVE-2026-91003.json"), &mut out).expect("import");
    assert_eq!((report.records, out.len()), (0, 0));
    assert_eq!(report.skipped, [("rejected".to_owned(), 1)]);
}

#[test]
fn cve5_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = std::fs::read_to_string(testdata("cve5/CVE-2026-91002.json")).expect("read");
    std::fs::write(
        dir.path().join("CVE-2026-0001.json"),
        &good[..good.len() / 2],
    )
    .expect("write");
    std::fs::write(
        dir.path().join("CVE-2026-0002.json"),
        good.replace("\"baseScore\": 9.3", "\"baseScore\": \"9.3\""),
    )
    .expect("write");
    std::fs::write(dir.path().join("CVE-2026-0003.json"), &good).expect("write");
    std::fs::write(dir.path().join("delta.json"), "{}").expect("write");
    let mut out = Vec::new();
    let report = nvd::import_cve5(dir.path(), &mut out).expect("import");
    assert_eq!(report.records, 1);
    assert_eq!(report.errors.len(), 2, "{:?}", report.errors);
    assert!(report.errors[0].file.ends_with("CVE-2026-0001.json"));
    assert!(
        report.errors[0]
            .record
            .as_deref()
            .unwrap()
            .starts_with("line ")
    );
    assert!(report.errors[1].file.ends_with("CVE-2026-0002.json"));
    assert_eq!(report.errors[1].record.as_deref(), Some("CVE-2026-91002"));
}

/// A full-size API page (2,000 CVEs, the API's maximum) built from the real
/// sample's first entry with new ids: streamed, counted, timed.
#[test]
fn nvd_full_size_page() {
    let text = std::fs::read_to_string(kensa_testkit::data_path(
        "samples/nvd-api-2.0/respPage1.json",
    ))
    .expect("read");
    let page: serde_json::Value = serde_json::from_str(&text).expect("json");
    let first = page["vulnerabilities"][0].to_string();
    let items: Vec<String> = (0..2000)
        .map(|i| first.replace("CVE-2020-8167", &format!("CVE-2026-{:05}", 10000 + i)))
        .collect();
    let body = format!(
        "{{\"resultsPerPage\": 2000, \"startIndex\": 0, \"totalResults\": 2000, \"vulnerabilities\": [{}]}}",
        items.join(",\n")
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("page.json");
    std::fs::write(&p, &body).expect("write");
    let mut out = Vec::new();
    let t = Instant::now();
    let report = nvd::import(&p, &mut out).expect("import");
    eprintln!(
        "nvd full page: {} records from {} KB in {:?}",
        report.records,
        body.len() / 1000,
        t.elapsed()
    );
    assert!(report.errors.is_empty());
    assert_eq!(out.len(), 2000);
}
