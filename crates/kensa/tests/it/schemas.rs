//! Every structured output of `kensa scan`, validated against its official
//! schema by an independent validator (`scripts/validate-output`):
//! CycloneDX 1.5 with the CycloneDX project's own validator
//! (`cyclonedx-python-lib[json-validation]`, strict: formats such as
//! `date-time` are checked), SARIF 2.1.0 with OASIS's schema
//! (2.1.0-rtm.5, fetched by scripts/setup) and python-jsonschema. Both come
//! from `scripts/setup`.
//!
//! The targets: an Alpine 3.4 root (the data folder's real apk database:
//! dozens of secdb findings and an end-of-life finding, whose
//! `published` was a bare date, invalid CycloneDX, before), a Debian 10
//! root (three fix statuses and an end of life), and the cache's old
//! pinned Python packages (PyPI findings with CVSS vectors).
//!
//! Kensa's own JSON report and inventory are validated against their JSON
//! Schemas (docs/schemas/) in `reports.rs`; the Amazon Inspector CSV has
//! no schema (its golden files are in `reports.rs` too).

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{kb, utf8};

const DEBIAN10: &str = "PRETTY_NAME=\"Debian GNU/Linux 10 (buster)\"\nNAME=\"Debian GNU/Linux\"\n\
VERSION_ID=\"10\"\nVERSION=\"10 (buster)\"\nVERSION_CODENAME=buster\nID=debian\n";

const DEBIAN10_STATUS: &str = "\
Package: putty
Status: install ok installed
Architecture: amd64
Version: 0.70-6

Package: redis-server
Status: install ok installed
Architecture: amd64
Source: redis
Version: 5:5.0.3-4
";

fn python() -> PathBuf {
    let p = kensa_testkit::cache_dir().join("venv/bin/python");
    assert!(p.exists(), "{} is missing: run scripts/setup", p.display());
    p
}

fn sarif_schema() -> PathBuf {
    let p = kensa_testkit::cache_dir().join("schemas/sarif-schema-2.1.0.json");
    assert!(p.exists(), "{} is missing: run scripts/setup", p.display());
    p
}

fn validator() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/validate-output")
}

/// `kensa scan --format FORMAT` of `root` into `out`; its JSON.
fn scan(root: &Path, format: &str, out: &Path) -> serde_json::Value {
    let o = Command::new(env!("CARGO_BIN_EXE_kensa"))
        .args([
            "scan",
            "--store",
            utf8(kb()),
            "--root",
            utf8(root),
            "--format",
            format,
            "--output",
            utf8(out),
        ])
        .output()
        .expect("kensa runs");
    assert!(
        o.status.success(),
        "kensa scan --format {format}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&std::fs::read(out).expect("output")).expect("JSON")
}

/// Runs the validator; its error lines (empty: valid).
fn validate(args: &[&Path]) -> Vec<String> {
    let o = Command::new(python())
        .arg(validator())
        .args(args)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    match o.status.code() {
        Some(0) => Vec::new(),
        Some(1) => vec![stdout],
        _ => panic!(
            "validate-output {args:?} failed to run: {}\n{stdout}",
            String::from_utf8_lossy(&o.stderr)
        ),
    }
}

fn roots(dir: &Path) -> Vec<PathBuf> {
    let alpine = kensa_testkit::roots::AlpineRoot::new().write(&dir.join("alpine"));
    let debian = dir.join("debian10");
    std::fs::create_dir_all(debian.join("etc")).expect("mkdir");
    std::fs::create_dir_all(debian.join("var/lib/dpkg")).expect("mkdir");
    std::fs::write(debian.join("etc/os-release"), DEBIAN10).expect("write");
    std::fs::write(debian.join("var/lib/dpkg/status"), DEBIAN10_STATUS).expect("write");
    vec![alpine, debian, kensa_testkit::cache_dir().join("venv-old")]
}

#[test]
#[ignore = "needs cyclonedx-python-lib and the SARIF schema (scripts/setup); scripts/test runs it"]
fn cyclonedx_and_sarif_outputs_are_valid_against_the_official_schemas() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = sarif_schema();
    for root in roots(dir.path()) {
        let what = root.display().to_string();
        let bom_path = dir.path().join("bom.json");
        let bom = scan(&root, "cyclonedx", &bom_path);
        let vulns = bom["vulnerabilities"].as_array().map_or(0, Vec::len);
        assert!(vulns > 0, "{what}: nothing to validate");
        let errors = validate(&[Path::new("cyclonedx"), &bom_path]);
        assert!(errors.is_empty(), "{what}: CycloneDX 1.5: {errors:?}");

        let sarif_path = dir.path().join("report.sarif");
        let sarif = scan(&root, "sarif", &sarif_path);
        assert!(
            sarif["runs"][0]["results"]
                .as_array()
                .is_some_and(|r| !r.is_empty()),
            "{what}: no results"
        );
        let errors = validate(&[Path::new("sarif"), &schema, &sarif_path]);
        assert!(errors.is_empty(), "{what}: SARIF 2.1.0: {errors:?}");
    }
}

/// The validators find what they must: a CycloneDX document with a bare
/// date as `published` (what Kensa wrote before) and a SARIF log whose
/// level is not one of SARIF's.
#[test]
#[ignore = "needs cyclonedx-python-lib and the SARIF schema (scripts/setup); scripts/test runs it"]
fn the_validators_reject_what_the_schemas_forbid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = kensa_testkit::roots::AlpineRoot::new().write(&dir.path().join("alpine"));
    let bom_path = dir.path().join("bom.json");
    let mut bom = scan(&root, "cyclonedx", &bom_path);
    let eol = bom["vulnerabilities"]
        .as_array_mut()
        .and_then(|v| {
            v.iter_mut()
                .find(|x| x["id"].as_str().is_some_and(|id| id.starts_with("EOL-")))
        })
        .expect("the end-of-life vulnerability");
    let published = eol["published"].as_str().expect("published").to_owned();
    assert!(published.len() > 10, "a date-time: {published}");
    eol["published"] = serde_json::json!(published[..10]);
    std::fs::write(&bom_path, serde_json::to_vec(&bom).expect("json")).expect("write");
    let errors = validate(&[Path::new("cyclonedx"), &bom_path]);
    assert!(errors.iter().any(|e| e.contains("date-time")), "{errors:?}");

    let sarif_path = dir.path().join("report.sarif");
    let mut sarif = scan(&root, "sarif", &sarif_path);
    sarif["runs"][0]["results"][0]["level"] = serde_json::json!("critical");
    std::fs::write(&sarif_path, serde_json::to_vec(&sarif).expect("json")).expect("write");
    let errors = validate(&[Path::new("sarif"), &sarif_schema(), &sarif_path]);
    assert!(errors.iter().any(|e| e.contains("critical")), "{errors:?}");
}
