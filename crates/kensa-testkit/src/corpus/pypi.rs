//! PyPI versions: every version named in the PyPA advisory database's OSV
//! records (`osv/PyPI/all.zip`: `affected[].versions` and range events).
//! Some are not PEP 440 at all (legacy versions such as `0.3m1` or
//! `0.7.10p1`, and commit hashes from `GIT` ranges), which keeps the
//! rejection path under test.

pub fn versions() -> Vec<String> {
    super::osv_versions("PyPI", "PyPI")
        .into_iter()
        .filter(|v| !v.contains(['\t', '\n']))
        .collect()
}

/// Every PyPI project name the PyPA advisory database's OSV records name
/// (`affected[].package.name`), as spelled there, sorted and deduplicated.
pub fn names() -> Vec<String> {
    use std::io::Read;
    let path = crate::data_path("osv/PyPI/all.zip");
    let file = std::fs::File::open(&path).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut out = std::collections::BTreeSet::new();
    let mut buf = String::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        if !entry.name().ends_with(".json") {
            continue;
        }
        buf.clear();
        entry.read_to_string(&mut buf).unwrap();
        let Ok(record) = serde_json::from_str::<serde_json::Value>(&buf) else {
            continue;
        };
        for a in record["affected"].as_array().into_iter().flatten() {
            if let Some(n) = a["package"]["name"].as_str() {
                out.insert(n.to_owned());
            }
        }
    }
    out.into_iter().collect()
}
