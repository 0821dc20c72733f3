//! Alpine versions: the fixed versions (secfixes keys) of every package in
//! the Alpine secdb, releases v3.3 to v3.11 as mirrored in `alpine-secdb/`
//! plus the secdb JSON samples served today (v3.11, v3.12, edge, and the
//! single-package golden files), then the `V:` versions of the real
//! installed-package database `fixtures/apk/alpine/installed`.
//!
//! Each secdb file has a `.yaml` twin with the same content; the JSON is
//! read. Keys come back in sorted text order within a package (serde_json's
//! map), which keeps one package's versions together.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// One package's secfixes in one secdb file.
#[derive(Clone, Debug)]
pub struct Secfixes {
    /// The file, relative to the data folder (`alpine-secdb/v3.8/main.json`).
    pub source: String,
    pub package: String,
    /// The fixed versions, `"0"` (never affected) included.
    pub versions: Vec<String>,
}

/// Every package's secfixes in every secdb file, in file order.
pub fn secfixes() -> Vec<Secfixes> {
    let mut out = Vec::new();
    for rel in secdb_files() {
        let text = std::fs::read_to_string(crate::data_path(&rel)).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        // A whole release file lists {"pkg": {...}} entries; a golden file
        // is one package object.
        let packages: Vec<&Value> = match doc["packages"].as_array() {
            Some(list) => list.iter().map(|p| &p["pkg"]).collect(),
            None => vec![&doc],
        };
        for pkg in packages {
            let Some(fixes) = pkg["secfixes"].as_object() else {
                continue;
            };
            out.push(Secfixes {
                source: rel.clone(),
                package: pkg["name"].as_str().unwrap_or("").to_owned(),
                versions: fixes.keys().cloned().collect(),
            });
        }
    }
    out
}

/// The `V:` (version) fields of the installed-package database fixture.
pub fn installed_versions() -> Vec<String> {
    let text = std::fs::read_to_string(crate::data_path("fixtures/apk/alpine/installed")).unwrap();
    super::control_field_values(&text, "V")
}

/// Every secfixes version except the `"0"` sentinel, then the installed
/// versions.
pub fn versions() -> Vec<String> {
    let mut out: Vec<String> = secfixes()
        .into_iter()
        .flat_map(|s| s.versions)
        .filter(|v| v != "0")
        .collect();
    out.extend(installed_versions());
    out
}

/// The secdb JSON files, relative to the data folder, in sorted order.
fn secdb_files() -> Vec<String> {
    let data = crate::data_dir();
    let mut dirs = sorted_dirs(&crate::data_path("alpine-secdb"));
    let samples = crate::data_path("samples/alpine-secdb-json");
    dirs.push(samples.clone());
    dirs.push(samples.join("golden"));
    let mut out = Vec::new();
    for dir in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for f in files {
            out.push(
                f.strip_prefix(&data)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    out
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}
