//! Ruby gems.
//!
//! - `Gemfile.lock` (and `gems.locked`): the `specs:` of every source
//!   section (`GEM`, `GIT`, `PATH`, `PLUGIN SOURCE`), one `name (version)`
//!   line per gem, indented by four spaces (their own dependencies, by six,
//!   are requirements, not gems). A gem built for a platform is written
//!   `name (1.13.10-x86_64-linux)`; as Bundler does, the version ends at
//!   the first `-`.
//! - Installed gems: `specifications/*.gemspec` and
//!   `specifications/default/*.gemspec` (default gems that come with Ruby),
//!   wherever RubyGems keeps them (`usr/lib/ruby/gems/3.1.0`,
//!   `var/lib/gems/*`, `usr/share/rubygems-integration/all`,
//!   `usr/local/bundle`, a project's `vendor/bundle/ruby/*`). The name and
//!   version are read from the spec's `s.name = "..."` and
//!   `s.version = "..."` lines as RubyGems writes them, else from the file
//!   name (`name-version[-platform].gemspec`).

use crate::Found;
use crate::error::InventoryError;
use crate::fs::Root;
use crate::model::{Package, PackageKind};
use crate::purl::purl;

const LOCK_LIMIT: u64 = 64 * 1024 * 1024;
const GEMSPEC_LIMIT: u64 = 1024 * 1024;

pub fn collect_lock(root: &dyn Root, path: &str, found: &mut Found) {
    if let Some(text) = super::read_text(root, path, LOCK_LIMIT, found) {
        parse_lock(&text, path, found);
    }
}

/// Parse a `Gemfile.lock`.
pub fn parse_lock(text: &str, path: &str, found: &mut Found) {
    let mut source_section = false;
    let mut in_specs = false;
    let mut seen = std::collections::BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            source_section = matches!(line, "GEM" | "GIT" | "PATH" | "PLUGIN SOURCE");
            in_specs = false;
            continue;
        }
        if !source_section {
            continue;
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        if indent == 2 {
            in_specs = line.trim_end() == "  specs:";
            continue;
        }
        if !in_specs || indent != 4 {
            continue;
        }
        let spec = line.trim();
        let parsed = spec.split_once(" (").and_then(|(name, rest)| {
            let full = rest.strip_suffix(')')?;
            let version = full.split('-').next().unwrap_or(full);
            (!name.is_empty() && !version.is_empty()).then_some((name, version))
        });
        match parsed {
            Some((name, version)) => {
                seen.insert((name.to_owned(), version.to_owned()));
            }
            None => found.problem(InventoryError::parse(
                path,
                format!("line {}: not a `name (version)` spec: {spec}", n + 1),
            )),
        }
    }
    for (name, version) in seen {
        found.packages.push(package(&name, &version, path));
    }
}

pub fn collect_gemspec(root: &dyn Root, path: &str, found: &mut Found) {
    let Some(text) = super::read_text(root, path, GEMSPEC_LIMIT, found) else {
        return;
    };
    let file_name = path.rsplit('/').next().unwrap_or(path);
    match parse_gemspec(&text, file_name) {
        Some((name, version)) => found.packages.push(package(&name, &version, path)),
        None => found.problem(InventoryError::parse(
            path,
            "gemspec without a name and a version",
        )),
    }
}

/// `(name, version)` of a gemspec, from its content, else its file name.
pub fn parse_gemspec(text: &str, file_name: &str) -> Option<(String, String)> {
    let mut name = None;
    let mut version = None;
    for line in text.lines() {
        let line = line.trim();
        let Some((lhs, rhs)) = line.split_once('=') else {
            continue;
        };
        let attr = lhs.trim().rsplit_once('.').map(|(_, a)| a);
        let slot = match attr {
            Some("name") if name.is_none() => &mut name,
            Some("version") if version.is_none() => &mut version,
            _ => continue,
        };
        *slot = first_string(rhs);
        if name.is_some() && version.is_some() {
            break;
        }
    }
    if let (Some(n), Some(v)) = (name, version) {
        return Some((n, v));
    }
    // name-version[-platform].gemspec: the version starts at the first `-`
    // followed by a digit and ends at the platform's `-`.
    let stem = file_name.strip_suffix(".gemspec")?;
    let at = stem
        .char_indices()
        .filter(|&(i, c)| c == '-' && stem[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
        .map(|(i, _)| i)
        .next()?;
    let version = stem[at + 1..].split('-').next()?;
    (at > 0 && !version.is_empty()).then(|| (stem[..at].to_owned(), version.to_owned()))
}

/// The first quoted string of a Ruby expression (`"x".freeze`,
/// `Gem::Version.new("1.0")`).
fn first_string(expr: &str) -> Option<String> {
    let start = expr.find(['"', '\''])?;
    let quote = expr[start..].chars().next()?;
    let rest = &expr[start + 1..];
    let end = rest.find(quote)?;
    Some(rest[..end].to_owned()).filter(|s| !s.is_empty())
}

fn package(name: &str, version: &str, path: &str) -> Package {
    super::package(
        PackageKind::Gem,
        name,
        version,
        purl("gem", None, name, version, &[]),
        path,
    )
}
