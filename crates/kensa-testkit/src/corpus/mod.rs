//! Real version strings harvested from the real feeds and package databases
//! in the data folder (and, where named, from this machine's own package
//! database), for differential tests and benchmarks.
//!
//! Each function returns versions in source order, where versions of one
//! package sit next to each other: neighbouring pairs are then the close
//! comparisons that matter most in detection.

pub mod apk;
pub mod dpkg;
pub mod maven;
pub mod pypi;
pub mod rpm;
pub mod rubygems;
pub mod semver;

use std::io::Read;

use serde_json::Value;

/// Versions named in an OSV `all.zip` (`osv/<dir>/all.zip`): each affected
/// entry's `versions` list and its range events (except the `0` sentinel),
/// for affected entries whose ecosystem starts with `ecosystem_prefix`.
pub fn osv_versions(dir: &str, ecosystem_prefix: &str) -> Vec<String> {
    let path = crate::data_path(&format!("osv/{dir}/all.zip"));
    let file = std::fs::File::open(&path).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut out = Vec::new();
    let mut buf = String::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        if !entry.name().ends_with(".json") {
            continue;
        }
        buf.clear();
        entry.read_to_string(&mut buf).unwrap();
        let Ok(record) = serde_json::from_str::<Value>(&buf) else {
            continue;
        };
        let affected = record["affected"].as_array().cloned().unwrap_or_default();
        for a in affected {
            let eco = a["package"]["ecosystem"].as_str().unwrap_or("");
            if !eco.starts_with(ecosystem_prefix) {
                continue;
            }
            for v in a["versions"].as_array().into_iter().flatten() {
                if let Some(v) = v.as_str() {
                    out.push(v.to_owned());
                }
            }
            for r in a["ranges"].as_array().into_iter().flatten() {
                for e in r["events"].as_array().into_iter().flatten() {
                    for key in ["introduced", "fixed", "last_affected", "limit"] {
                        if let Some(v) = e[key].as_str()
                            && v != "0"
                            && v != "*"
                        {
                            out.push(v.to_owned());
                        }
                    }
                }
            }
        }
    }
    out
}

/// The `version` of each package in a fixture's `expected-packages.json`.
pub fn expected_package_versions(rel: &str) -> Vec<String> {
    let text = std::fs::read_to_string(crate::data_path(rel)).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["version"].as_str().map(str::to_owned))
        .collect()
}

/// Values of `Field: value` lines (RFC 822 style control files).
pub fn control_field_values(text: &str, field: &str) -> Vec<String> {
    let prefix = format!("{field}:");
    text.lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

/// The real corpus for an ecosystem, by its short name (`dpkg`, `rpm`,
/// `apk`, `npm`, `cargo`, `pypi`, `maven`, `go`, `rubygems`, `nuget`).
/// npm, Cargo and NuGet share the semver corpus: no npm, crates.io or
/// NuGet feed is mirrored, and SemVer strings are valid in all three.
pub fn for_ecosystem(name: &str) -> Vec<String> {
    match name {
        "dpkg" => dpkg::versions(),
        "rpm" => rpm::versions(),
        "apk" => apk::versions(),
        "npm" | "cargo" | "nuget" => semver::versions(),
        "go" => semver::go_versions(),
        "pypi" => pypi::versions(),
        "maven" => maven::versions(),
        "rubygems" => rubygems::versions(),
        other => panic!("no corpus for ecosystem {other:?}"),
    }
}
