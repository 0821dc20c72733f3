//! Python distributions installed in a `site-packages` or `dist-packages`
//! directory: the core metadata (`Name`, `Version`) of wheels
//! (`*.dist-info/METADATA`), of setuptools installs (`*.egg-info/PKG-INFO`,
//! or `*.egg-info` as a single file, as distutils and Debian write them)
//! and of eggs (`*.egg/EGG-INFO/PKG-INFO`). The name is kept as the
//! metadata writes it; the purl's is normalised (PEP 503: lower case, runs
//! of `-`, `_`, `.` as one `-`).

use crate::Found;
use crate::error::InventoryError;
use crate::fs::Root;
use crate::model::{Package, PackageKind};
use crate::purl::purl;

/// Only the headers are needed, and they come first.
const HEAD: u64 = 256 * 1024;

pub fn collect_file(root: &dyn Root, path: &str, found: &mut Found) {
    let Some(text) = super::read_head(root, path, HEAD, found) else {
        return;
    };
    match parse_metadata(&text) {
        Some((name, version)) => found.packages.push(package(&name, &version, path)),
        None => found.problem(InventoryError::parse(
            path,
            "Python metadata without a Name and a Version",
        )),
    }
}

/// `Name` and `Version` of core metadata (RFC 822 headers, up to the first
/// empty line).
pub fn parse_metadata(text: &str) -> Option<(String, String)> {
    let mut name = None;
    let mut version = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        if k.eq_ignore_ascii_case("name") && name.is_none() && !v.is_empty() {
            name = Some(v.to_owned());
        } else if k.eq_ignore_ascii_case("version") && version.is_none() && !v.is_empty() {
            version = Some(v.to_owned());
        }
        if name.is_some() && version.is_some() {
            break;
        }
    }
    Some((name?, version?))
}

/// PEP 503 normalised name (`kensa_version::pep503`).
pub fn normalise(name: &str) -> String {
    kensa_version::pep503::normalize(name)
}

fn package(name: &str, version: &str, path: &str) -> Package {
    let p = purl("pypi", None, &normalise(name), version, &[]);
    super::package(PackageKind::Python, name, version, p, path)
}
