//! Red Hat CSAF VEX. There is no Red Hat sample in the shared data, so the
//! files under `testdata/redhat/` are handmade: they follow the exact layout
//! of Red Hat's published VEX files
//! (`security.access.redhat.com/data/csaf/v2/vex/<year>/cve-*.json`:
//! `document.tracking`, `product_tree` branches and `default_component_of`
//! relationships, `vulnerabilities[]` with `product_status`, `remediations`,
//! `scores`, `threats`), with made-up but realistic products and versions.
//! `cve-2024-0001.json`, `cve-2024-0002.json` (truncated) and
//! `cve-2024-0003.json` are malformed on purpose.

use std::path::{Path, PathBuf};

use kensa_kb::feeds::redhat;
use kensa_kb::model::{Advisory, Affected, Event, Feed, FeedReport, FixStatus, Record};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/redhat")
        .join(name)
}

fn import(path: &Path) -> (Vec<Advisory>, FeedReport) {
    let mut out = Vec::new();
    let report = redhat::import(path, &mut out).expect("import");
    let advisories = out
        .into_iter()
        .map(|r| match r {
            Record::Advisory(a) => a,
            other => panic!("not an advisory: {other:?}"),
        })
        .collect();
    (advisories, report)
}

fn one(name: &str) -> (Advisory, FeedReport) {
    let (mut a, report) = import(&fixture(name));
    assert_eq!(a.len(), 1, "{name}: {a:?}");
    (a.remove(0), report)
}

fn find<'a>(a: &'a Advisory, ns: &str, pkg: &str, module: Option<&str>) -> &'a Affected {
    a.affected
        .iter()
        .find(|x| x.namespace == ns && x.package == pkg && x.module.as_deref() == module)
        .unwrap_or_else(|| panic!("no {ns} {pkg} {module:?} in {:#?}", a.affected))
}

#[test]
fn fixed_epochs_majors_and_end_of_life() {
    let (a, report) = one("cve-2023-0286.json");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.records, 1);
    assert_eq!(a.id, "CVE-2023-0286");
    assert_eq!(a.feed, Feed::RedHat);
    assert_eq!(
        a.aliases,
        [
            "RHSA-2023:0946",
            "RHSA-2023:0833",
            "RHSA-2023:1405",
            "RHSA-2023:1335"
        ]
    );
    assert_eq!(a.published.as_deref(), Some("2023-02-07T00:00:00+00:00"));
    assert_eq!(a.modified.as_deref(), Some("2024-11-22T01:49:55+00:00"));
    assert_eq!(
        a.summary.as_deref(),
        Some("openssl: X.400 address type confusion in X.509 GeneralName")
    );
    let sev = a.severity.as_ref().expect("severity");
    assert_eq!(
        (sev.source.as_str(), sev.value.as_str()),
        ("redhat", "important")
    );
    assert_eq!(a.cvss, ["CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:H"]);
    assert!(
        a.references
            .contains(&"https://access.redhat.com/security/cve/CVE-2023-0286".to_owned())
    );

    // RHEL 9: two mainline streams fix the source package; the higher fix
    // is kept. The binary RPM is its own entry. Epoch from the purl.
    let src9 = find(&a, "rhel:9", "openssl", None);
    assert_eq!(src9.status, FixStatus::Fixed);
    assert_eq!(src9.fixed.as_deref(), Some("1:3.0.7-27.el9"));
    assert_eq!(
        src9.ranges,
        [vec![
            Event::Introduced("0".into()),
            Event::Fixed("1:3.0.7-27.el9".into())
        ]]
    );
    let libs9 = find(&a, "rhel:9", "openssl-libs", None);
    assert_eq!(libs9.fixed.as_deref(), Some("1:3.0.7-27.el9"));
    // RHEL 8: no purl, read from the NEVRA product id; the EUS stream
    // (rhel_eus CPE) is skipped.
    let src8 = find(&a, "rhel:8", "openssl", None);
    assert_eq!(src8.fixed.as_deref(), Some("1:1.1.1k-9.el8_7"));
    assert_eq!(report.skipped_count("extended-support stream"), 1);
    // RHEL 7: out of support scope.
    let r7 = find(&a, "rhel:7", "openssl", None);
    assert_eq!(r7.status, FixStatus::EndOfLife);
    assert_eq!(r7.note.as_deref(), Some("Out of support scope"));
    assert_eq!(r7.fixed, None);
    assert_eq!(r7.ranges, [vec![Event::Introduced("0".into())]]);
    // RHEL 6: not affected; OpenShift is not a RHEL product.
    let r6 = find(&a, "rhel:6", "openssl", None);
    assert_eq!(r6.status, FixStatus::NotAffected);
    assert!(r6.ranges.is_empty());
    assert_eq!(report.skipped_count("not a RHEL product"), 1);
    assert_eq!(a.affected.len(), 5, "{:#?}", a.affected);
}

#[test]
fn modules_and_unfixed_statuses() {
    let (a, report) = one("cve-2023-32002.json");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(a.aliases, ["RHSA-2023:5362"]);
    assert_eq!(
        a.severity.as_ref().map(|s| s.value.as_str()),
        Some("moderate")
    );
    // The module itself is not an RPM.
    assert_eq!(report.skipped_count("module without an RPM"), 1);
    let node = find(&a, "rhel:8", "nodejs", Some("nodejs:18"));
    assert_eq!(node.status, FixStatus::Fixed);
    assert_eq!(
        node.fixed.as_deref(),
        Some("1:18.17.1-1.module+el8.8.0+19757+8ca87034")
    );
    // Without a purl: the module NSVC and NEVRA read from the id.
    let npm = find(&a, "rhel:8", "npm", Some("nodejs:18"));
    assert_eq!(
        npm.fixed.as_deref(),
        Some("1:9.6.7-1.18.17.1.1.module+el8.8.0+19757+8ca87034")
    );
    // Related to the module's relationship, not to the stream directly:
    // the module stream comes from the chain.
    let docs = find(&a, "rhel:8", "nodejs-docs", Some("nodejs:18"));
    assert_eq!(
        docs.fixed.as_deref(),
        Some("1:18.17.1-1.module+el8.8.0+19757+8ca87034")
    );
    let n16 = find(&a, "rhel:8", "nodejs", Some("nodejs:16"));
    assert_eq!(n16.status, FixStatus::WillNotFix);
    assert_eq!(n16.note.as_deref(), Some("Will not fix"));
    let n20 = find(&a, "rhel:8", "nodejs", Some("nodejs:20"));
    assert_eq!(n20.status, FixStatus::Affected);
    assert_eq!(n20.note, None);
    // RHEL 9 stream with a CPE 2.3 name.
    let n9 = find(&a, "rhel:9", "nodejs", None);
    assert_eq!(n9.status, FixStatus::FixDeferred);
    assert_eq!(n9.note.as_deref(), Some("Fix deferred"));
    let nodemon = find(&a, "rhel:9", "nodejs-nodemon", None);
    assert_eq!(nodemon.status, FixStatus::UnderInvestigation);
    assert_eq!(a.affected.len(), 7, "{:#?}", a.affected);
}

#[test]
fn malformed_records_are_errors_naming_file_and_cve() {
    // Wrong types, a product without an id, a relationship without its
    // component, a status id with no relationship, a remediation without
    // product ids: each an error, and the good fix is still imported.
    let path = fixture("cve-2024-0001.json");
    let (a, report) = import(&path);
    assert_eq!(a.len(), 1);
    assert_eq!(report.records, 1);
    let curl = find(&a[0], "rhel:9", "curl", None);
    assert_eq!(curl.fixed.as_deref(), Some("0:7.76.1-29.el9_4"));
    assert_eq!(a[0].affected.len(), 1);
    let file = path.display().to_string();
    for e in &report.errors {
        assert_eq!(e.file, file);
        assert_eq!(e.record.as_deref(), Some("CVE-2024-0001"), "{e:?}");
    }
    let messages: Vec<&str> = report.errors.iter().map(|e| e.message.as_str()).collect();
    let has = |needle: &str| messages.iter().any(|m| m.contains(needle));
    assert!(has("product without a `product_id`"), "{messages:#?}");
    assert!(has("relationship without its product ids"), "{messages:#?}");
    assert!(
        has("product_status.fixed: not a string: 42"),
        "{messages:#?}"
    );
    assert!(
        has("product_status.known_affected: not an array"),
        "{messages:#?}"
    );
    assert!(
        has("ghost-0:1.0-1.el9.src\" has no relationship"),
        "{messages:#?}"
    );
    assert!(
        has("none_available remediation without `product_ids`"),
        "{messages:#?}"
    );
    assert!(has("vulnerability without a `cve` string"), "{messages:#?}");
    assert_eq!(report.errors.len(), 7, "{messages:#?}");

    // Truncated: one error, named by the file's CVE.
    let path = fixture("cve-2024-0002.json");
    let (a, report) = import(&path);
    assert!(a.is_empty());
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].file, path.display().to_string());
    assert_eq!(report.errors[0].record.as_deref(), Some("CVE-2024-0002"));
    assert!(report.errors[0].message.starts_with("not JSON"));

    // A product tree of the wrong type.
    let (a, report) = import(&fixture("cve-2024-0003.json"));
    assert!(a.is_empty());
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].record.as_deref(), Some("CVE-2024-0003"));
}

#[test]
fn directory_import_goes_on_past_bad_files() {
    let (a, report) = {
        let mut out = Vec::new();
        let report = redhat::import_dir(&fixture(""), &mut out).expect("import_dir");
        (out, report)
    };
    assert_eq!(report.records, 3);
    assert_eq!(a.len(), 3);
    assert_eq!(report.errors.len(), 9);
    let missing = redhat::import(&fixture("no-such-file.json"), &mut Vec::new());
    assert!(missing.is_err());
}

#[test]
fn mirror_imports_the_redhat_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let feed = dir.path().join("redhat");
    std::fs::create_dir(&feed).expect("mkdir");
    for name in ["cve-2023-0286.json", "cve-2024-0002.json"] {
        std::fs::copy(fixture(name), feed.join(name)).expect("copy");
    }
    let mut out = Vec::new();
    let imported = kensa_kb::mirror::import(dir.path(), &mut out).expect("mirror");
    let rh = imported
        .iter()
        .find(|i| i.feed == "redhat")
        .expect("redhat feed");
    assert_eq!(rh.report.records, 1);
    assert_eq!(rh.report.errors.len(), 1);
    assert_eq!(out.len(), 1);
}
