//! Node.js packages.
//!
//! - Installed: every `node_modules/<name>/package.json` and
//!   `node_modules/@scope/<name>/package.json`, at any depth (a package's
//!   own `node_modules` included), with both a `name` and a `version`;
//!   other `package.json` files inside a package (`lib/package.json`,
//!   `esm/package.json`) are not packages.
//! - Locked: `package-lock.json` and `npm-shrinkwrap.json` outside
//!   `node_modules` (the hidden `node_modules/.package-lock.json` repeats
//!   the installed packages), every format: v1 (`dependencies`, nested),
//!   v2 and v3 (`packages`, keyed by install path). Development
//!   dependencies (`"dev": true`) are left out, as `npm ci --omit=dev`
//!   installs without them; links and workspace members (paths outside
//!   `node_modules`) are the project's own code, not packages. Aliases
//!   (`"name": "real"` in v2/v3, `npm:real@1.0.0` in v1) are reported under
//!   the real package's name.
//! - `yarn.lock` outside `node_modules`, both Yarn classic (v1) and Berry
//!   (YAML, `__metadata`) formats: every entry, except Berry's
//!   `workspace:`, `link:` and `portal:` ones. Yarn does not mark
//!   development dependencies in its lockfile.
//!
//! Lockfiles and `node_modules` are both reported, each package under its
//! own path: a project checked out with its lockfile but not installed
//! still has its dependencies found.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::Found;
use crate::error::InventoryError;
use crate::fs::Root;
use crate::model::{Package, PackageKind};
use crate::purl::purl;

const PACKAGE_JSON_LIMIT: u64 = 16 * 1024 * 1024;
const LOCK_LIMIT: u64 = 64 * 1024 * 1024;

pub fn collect_package_json(root: &dyn Root, path: &str, found: &mut Found) {
    let Some(text) = super::read_text(root, path, PACKAGE_JSON_LIMIT, found) else {
        return;
    };
    let v: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return found.problem(InventoryError::parse(path, format!("package.json: {e}"))),
    };
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let version = v
        .get("version")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    if let (Some(name), Some(version)) = (name, version) {
        found.packages.push(package(name, version, path));
    }
}

pub fn collect_package_lock(root: &dyn Root, path: &str, found: &mut Found) {
    if let Some(text) = super::read_text(root, path, LOCK_LIMIT, found) {
        parse_package_lock(&text, path, found);
    }
}

/// Parse a `package-lock.json` or `npm-shrinkwrap.json` of any version.
pub fn parse_package_lock(text: &str, path: &str, found: &mut Found) {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return found.problem(InventoryError::parse(path, format!("npm lockfile: {e}"))),
    };
    let mut seen = BTreeSet::new();
    if let Some(packages) = v.get("packages").and_then(Value::as_object) {
        // v2 and v3: keyed by install path.
        for (key, p) in packages {
            let Some(at) = key.rfind("node_modules/") else {
                continue; // the root project ("") and workspace members
            };
            if flag(p, "dev") || flag(p, "link") {
                continue;
            }
            let name = p
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(&key[at + "node_modules/".len()..]);
            if let Some(version) = p.get("version").and_then(Value::as_str) {
                seen.insert((name.to_owned(), version.to_owned()));
            }
        }
    } else if let Some(deps) = v.get("dependencies").and_then(Value::as_object) {
        // v1: nested `dependencies`, bounded in depth against hostile input.
        let mut stack = vec![(deps, 0usize)];
        while let Some((deps, depth)) = stack.pop() {
            for (name, d) in deps {
                if let Some(nested) = d.get("dependencies").and_then(Value::as_object)
                    && depth < 64
                {
                    stack.push((nested, depth + 1));
                }
                if flag(d, "dev") {
                    continue;
                }
                let Some(version) = d.get("version").and_then(Value::as_str) else {
                    continue;
                };
                // An alias: `"version": "npm:real-name@1.2.3"`.
                let (name, version) = match version
                    .strip_prefix("npm:")
                    .and_then(|a| split_at_version(a))
                {
                    Some((n, v)) => (n, v),
                    None => (name.as_str(), version),
                };
                if is_registry_version(version) {
                    seen.insert((name.to_owned(), version.to_owned()));
                }
            }
        }
    } else if v.get("lockfileVersion").is_none() {
        return found.problem(InventoryError::parse(
            path,
            "npm lockfile without lockfileVersion",
        ));
    }
    for (name, version) in seen {
        found.packages.push(package(&name, &version, path));
    }
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// v1 lockfiles write the resolved URL or path as the version of git,
/// tarball and local dependencies; only registry versions are versions.
fn is_registry_version(v: &str) -> bool {
    v.starts_with(|c: char| c.is_ascii_digit())
}

/// `name@version` with a possibly scoped name (`@scope/name@1.0.0`).
fn split_at_version(s: &str) -> Option<(&str, &str)> {
    let at = s.get(1..)?.find('@')? + 1;
    Some((&s[..at], &s[at + 1..]))
}

pub fn collect_yarn_lock(root: &dyn Root, path: &str, found: &mut Found) {
    if let Some(text) = super::read_text(root, path, LOCK_LIMIT, found) {
        parse_yarn_lock(&text, path, found);
    }
}

/// Parse a `yarn.lock`, classic or Berry.
pub fn parse_yarn_lock(text: &str, path: &str, found: &mut Found) {
    struct Entry {
        line: usize,
        descriptor: String,
        version: Option<String>,
        resolution: Option<String>,
    }
    let mut entries: Vec<Entry> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            // `"a@^1", a@^1.1:` (classic) or `"a@npm:^1, a@npm:^1.1":` (Berry).
            let Some(key) = line.trim_end().strip_suffix(':') else {
                found.problem(InventoryError::parse(
                    path,
                    format!("line {}: not a yarn.lock entry", n + 1),
                ));
                continue;
            };
            let first = key
                .split(", ")
                .next()
                .unwrap_or(key)
                .trim()
                .trim_matches('"');
            entries.push(Entry {
                line: n + 1,
                descriptor: first.to_owned(),
                version: None,
                resolution: None,
            });
            continue;
        }
        // Fields are indented by exactly two spaces; deeper lines belong to
        // `dependencies` and the like.
        let Some(field) = line.strip_prefix("  ").filter(|f| !f.starts_with(' ')) else {
            continue;
        };
        let Some(e) = entries.last_mut() else {
            continue;
        };
        let (k, v) = match field.split_once(": ") {
            Some((k, v)) => (k, v),
            None => match field.split_once(' ') {
                Some((k, v)) => (k, v),
                None => continue,
            },
        };
        let v = v.trim().trim_matches('"').to_owned();
        match k.trim_matches('"') {
            "version" => e.version = Some(v),
            "resolution" => e.resolution = Some(v),
            _ => {}
        }
    }
    let mut seen = BTreeSet::new();
    for e in entries {
        if e.descriptor == "__metadata" {
            continue;
        }
        if let Some(r) = &e.resolution
            && ["@workspace:", "@link:", "@portal:"]
                .iter()
                .any(|p| r.contains(p))
        {
            continue;
        }
        let Some((name, range)) = split_at_version(&e.descriptor) else {
            found.problem(InventoryError::parse(
                path,
                format!("line {}: no package name in {}", e.line, e.descriptor),
            ));
            continue;
        };
        let Some(version) = e.version else {
            found.problem(InventoryError::parse(
                path,
                format!("line {}: {} has no version", e.line, e.descriptor),
            ));
            continue;
        };
        // Aliases: `alias@npm:real@^1.0.0`.
        let real = range
            .strip_prefix("npm:")
            .and_then(|r| {
                split_at_version(r)
                    .map(|(n, _)| n)
                    .filter(|n| !n.is_empty())
            })
            .unwrap_or(name);
        seen.insert((real.to_owned(), version));
    }
    for (name, version) in seen {
        found.packages.push(package(&name, &version, path));
    }
}

/// An npm package: the scope is the purl namespace.
fn package(name: &str, version: &str, path: &str) -> Package {
    let (ns, short) = match name.split_once('/') {
        Some((scope, n)) if scope.starts_with('@') => (Some(scope), n),
        _ => (None, name),
    };
    super::package(
        PackageKind::Npm,
        name,
        version,
        purl("npm", ns, short, version, &[]),
        path,
    )
}
