//! RPM EVRs: every version in the AlmaLinux OSV records (8, 9 and 10; range
//! events, which carry `epoch:version-release` with the epoch only when it
//! is not 0), then the packages of the real rpm databases as syft lists them
//! in each `fixtures/rpm/*/expected-packages.json`.

use serde_json::Value;

pub fn versions() -> Vec<String> {
    let mut out = super::osv_versions("AlmaLinux", "AlmaLinux");
    let fixtures = crate::data_path("fixtures/rpm");
    let mut dirs: Vec<_> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected-packages.json").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let text = std::fs::read_to_string(dir.join("expected-packages.json")).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        for p in doc["packages"].as_array().into_iter().flatten() {
            if let Some(evr) = package_evr(p) {
                out.push(evr);
            }
        }
    }
    out
}

/// A syft package's EVR. syft already writes `version` as the full
/// `[epoch:]version-release`; the separate `epoch` and `release` fields are
/// added only if a producer ever leaves them out of `version`.
fn package_evr(p: &Value) -> Option<String> {
    let mut evr = p["version"].as_str()?.to_owned();
    if let Some(release) = p["release"].as_str()
        && !evr.ends_with(&format!("-{release}"))
    {
        evr = format!("{evr}-{release}");
    }
    if let Some(epoch) = p["epoch"].as_u64()
        && !evr.contains(':')
    {
        evr = format!("{epoch}:{evr}");
    }
    Some(evr)
}
