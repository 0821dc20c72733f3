//! Records dropped at import reach the scan (`kensa scan` as a user runs
//! it): Alpine's secdb for 3.4 lists `icu` fixes under the key `57-1-r2`,
//! which is not an apk version, so the import drops CVE-2016-7415 for
//! `icu` with an error in its log. A host with `icu-libs` from `icu`
//! installed must be told that a record about its package could not be
//! checked; before, the scan said nothing and the import log was the only
//! trace.

use crate::support;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use support::{kb, utf8};

fn scan(root: &Path, format: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kensa"))
        .args([
            "scan",
            "--store",
            utf8(kb()),
            "--root",
            utf8(root),
            "--format",
            format,
            "--today",
            "2024-01-01",
        ])
        .output()
        .expect("kensa runs")
}

fn dropped(doc: &Value) -> Vec<(String, String)> {
    doc["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter(|w| w["kind"] == "dropped-record")
        .map(|w| {
            (
                w["package"].as_str().unwrap_or_default().to_owned(),
                w["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_dropped_secdb_record_about_an_installed_package_is_a_warning() {
    // The raw file really has the key (the trap is real data, not made up
    // for the test).
    let secdb = std::fs::read_to_string(kensa_testkit::data_path("alpine-secdb/v3.4/main.json"))
        .expect("secdb");
    assert!(secdb.contains("\"57-1-r2\""), "the secdb key moved");

    let dir = tempfile::tempdir().expect("tempdir");
    let root = kensa_testkit::roots::AlpineRoot::new()
        .package("icu-libs", "57.1-r1", "icu")
        .write(&dir.path().join("root"));
    let o = scan(&root, "json");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let doc: Value = serde_json::from_slice(&o.stdout).expect("json report");
    let got = dropped(&doc);
    assert_eq!(got.len(), 1, "{got:?}");
    let (package, message) = &got[0];
    assert_eq!(package, "icu-libs");
    for part in [
        "icu-libs 57.1-r1",
        "icu in alpine:3.4",
        "v3.4/main.json",
        "57-1-r2",
        "CVE-2016-7415",
    ] {
        assert!(message.contains(part), "{part:?} not in {message}");
    }
    // The table says it too, under the warnings.
    let o = scan(&root, "table");
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("[dropped-record] icu-libs 57.1-r1"),
        "{table}"
    );

    // A root without the package: no such warning (irssi's dropped
    // `0.8.21.r2` record in the same file is about a package not installed).
    let plain = kensa_testkit::roots::AlpineRoot::new().write(&dir.path().join("plain"));
    let doc: Value = serde_json::from_slice(&scan(&plain, "json").stdout).expect("json");
    assert_eq!(dropped(&doc), Vec::new());
}
