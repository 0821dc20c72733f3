//! PHP packages installed by Composer.
//!
//! - `composer.lock`: `packages` and `packages-dev`, each with `name`
//!   (`vendor/package`) and `version`.
//! - `vendor/composer/installed.json`: what is really installed, an array
//!   of packages (Composer 1) or `{"packages": [...]}` (Composer 2),
//!   development packages included when they were installed.
//!
//! The purl's namespace is the vendor: `pkg:composer/vendor/name@version`.

use serde_json::Value;

use crate::Found;
use crate::error::InventoryError;
use crate::fs::Root;
use crate::model::{Package, PackageKind};
use crate::purl::purl;

const LIMIT: u64 = 64 * 1024 * 1024;

pub fn collect_lock(root: &dyn Root, path: &str, found: &mut Found) {
    if let Some(text) = super::read_text(root, path, LIMIT, found) {
        parse_lock(&text, path, found);
    }
}

pub fn collect_installed(root: &dyn Root, path: &str, found: &mut Found) {
    if let Some(text) = super::read_text(root, path, LIMIT, found) {
        parse_installed(&text, path, found);
    }
}

/// Parse a `composer.lock`.
pub fn parse_lock(text: &str, path: &str, found: &mut Found) {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return found.problem(InventoryError::parse(path, format!("composer.lock: {e}"))),
    };
    let lists: Vec<&Value> = ["packages", "packages-dev"]
        .iter()
        .filter_map(|k| v.get(*k))
        .collect();
    if lists.is_empty() {
        return found.problem(InventoryError::parse(
            path,
            "composer.lock without packages",
        ));
    }
    for list in lists {
        packages(list, path, found);
    }
}

/// Parse a `vendor/composer/installed.json` of Composer 1 or 2.
pub fn parse_installed(text: &str, path: &str, found: &mut Found) {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return found.problem(InventoryError::parse(path, format!("installed.json: {e}")));
        }
    };
    let list = if v.is_array() {
        Some(&v)
    } else {
        v.get("packages")
    };
    match list {
        Some(list) => packages(list, path, found),
        None => found.problem(InventoryError::parse(
            path,
            "installed.json without packages",
        )),
    }
}

fn packages(list: &Value, path: &str, found: &mut Found) {
    let Some(items) = list.as_array() else {
        return found.problem(InventoryError::parse(
            path,
            "the package list is not an array",
        ));
    };
    for (i, p) in items.iter().enumerate() {
        let name = p
            .get("name")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let version = p
            .get("version")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        match (name, version) {
            (Some(n), Some(v)) => found.packages.push(package(n, v, path)),
            _ => found.problem(InventoryError::parse(
                path,
                format!("package {i} has no name and version"),
            )),
        }
    }
}

fn package(name: &str, version: &str, path: &str) -> Package {
    let (vendor, short) = match name.split_once('/') {
        Some((v, n)) => (Some(v), n),
        None => (None, name),
    };
    super::package(
        PackageKind::Composer,
        name,
        version,
        purl("composer", vendor, short, version, &[]),
        path,
    )
}
