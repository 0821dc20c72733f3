//! Rust: `Cargo.lock` files and executables built with cargo-auditable.
//!
//! A `Cargo.lock` of any format (v1 with its `[metadata]` checksums, v2
//! without a version, `version = 3`, `version = 4`) lists one
//! `[[package]]` table per package with `name`, `version` and, for
//! packages not in the workspace, `source`. Every package is reported,
//! workspace members included, as `cargo metadata` lists them;
//! `[[patch.unused]]` tables are not packages. Cargo writes the file
//! itself in a fixed layout, so it is read line by line rather than with a
//! TOML parser: a table header on its own line, `key = "value"` lines.
//!
//! cargo-auditable puts the dependency tree in an ELF section `.dep-v0`:
//! zlib-compressed JSON, `{"packages": [{"name", "version", "source",
//! "kind", "dependencies", "root"}]}`. Every package is reported (build
//! dependencies too).

use serde::Deserialize;

use crate::Found;
use crate::error::InventoryError;
use crate::fs::Root;
use crate::model::{Package, PackageKind};
use crate::purl::purl;

use super::elf::Elf;

const LOCK_LIMIT: u64 = 64 * 1024 * 1024;
/// The largest `.dep-v0` section read, and the most it may inflate to.
const MAX_COMPRESSED: u64 = 8 * 1024 * 1024;
const MAX_JSON: u64 = 32 * 1024 * 1024;

pub fn collect_lock(root: &dyn Root, path: &str, found: &mut Found) {
    if let Some(text) = super::read_text(root, path, LOCK_LIMIT, found) {
        parse_lock(&text, path, found);
    }
}

/// Parse a `Cargo.lock`; a package table without a name or version is a
/// problem naming its line.
pub fn parse_lock(text: &str, path: &str, found: &mut Found) {
    struct Table {
        line: usize,
        name: Option<String>,
        version: Option<String>,
    }
    let mut current: Option<Table> = None;
    let finish = |t: Option<Table>, found: &mut Found| {
        let Some(t) = t else { return };
        match (t.name, t.version) {
            (Some(n), Some(v)) => found.packages.push(crate_package(&n, &v, path)),
            _ => found.problem(InventoryError::parse(
                path,
                format!("line {}: [[package]] without a name and a version", t.line),
            )),
        }
    };
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') {
            finish(current.take(), found);
            if line == "[[package]]" {
                current = Some(Table {
                    line: n + 1,
                    name: None,
                    version: None,
                });
            }
            continue;
        }
        let Some(t) = current.as_mut() else { continue };
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let slot = match key.trim() {
            "name" => &mut t.name,
            "version" => &mut t.version,
            _ => continue,
        };
        match toml_string(value.trim()) {
            Some(s) => *slot = Some(s),
            None => found.problem(InventoryError::parse(
                path,
                format!("line {}: {} is not a string", n + 1, key.trim()),
            )),
        }
    }
    finish(current.take(), found);
}

/// A TOML basic or literal string on one line (Cargo never needs escapes
/// in names and versions; the common ones are decoded anyway).
fn toml_string(v: &str) -> Option<String> {
    if let Some(inner) = v.strip_prefix('\'') {
        return inner.split_once('\'').map(|(s, _)| s.to_owned());
    }
    let inner = v.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                c => out.push(c),
            },
            c => out.push(c),
        }
    }
    None
}

fn crate_package(name: &str, version: &str, path: &str) -> Package {
    super::package(
        PackageKind::Cargo,
        name,
        version,
        purl("cargo", None, name, version, &[]),
        path,
    )
}

#[derive(Deserialize)]
struct Audit {
    packages: Vec<AuditPackage>,
}

#[derive(Deserialize)]
struct AuditPackage {
    name: String,
    version: String,
}

/// The crates of an ELF file built with cargo-auditable.
pub fn collect_elf(root: &dyn Root, path: &str, elf: &Elf, found: &mut Found) {
    let Some(section) = elf.section(".dep-v0") else {
        return;
    };
    let data = match elf.read_section(root, path, section, MAX_COMPRESSED) {
        Ok(d) => d,
        Err(e) => return found.problem(e),
    };
    match parse_auditable(&data) {
        Ok(list) => found
            .packages
            .extend(list.into_iter().map(|(n, v)| crate_package(&n, &v, path))),
        Err(m) => found.problem(InventoryError::parse(
            path,
            format!("cargo-auditable data (.dep-v0): {m}"),
        )),
    }
}

/// The `(name, version)` pairs of a `.dep-v0` section's content.
pub fn parse_auditable(compressed: &[u8]) -> Result<Vec<(String, String)>, String> {
    use std::io::Read;
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_JSON + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("zlib: {e}"))?;
    if json.len() as u64 > MAX_JSON {
        return Err(format!("inflates to more than {MAX_JSON} bytes"));
    }
    let audit: Audit = serde_json::from_slice(&json).map_err(|e| format!("JSON: {e}"))?;
    Ok(audit
        .packages
        .into_iter()
        .map(|p| (p.name, p.version))
        .collect())
}
