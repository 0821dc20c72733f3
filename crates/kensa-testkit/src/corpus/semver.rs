//! Semantic versions: Go module versions from the Go vulnerability database
//! (OSV), the version requirements of the RustSec advisories, the PyPI OSV
//! records and endoflife.date's `latest` releases.
//!
//! No npm, crates.io or NuGet feed is mirrored in the data folder, so the
//! SemVer corpus gathers every string there that has SemVer's shape.

use std::path::{Path, PathBuf};

/// Strings shaped `MAJOR.MINOR.PATCH[-…][+…]` (Go versions without their
/// `v`). Only the shape is checked: strings that npm or Cargo reject (leading
/// zeros, bad identifiers) are kept, because the differential tests must see
/// the rejections agree too.
pub fn versions() -> Vec<String> {
    let mut out = Vec::new();
    for v in super::osv_versions("Go", "Go") {
        let v = v.strip_prefix('v').unwrap_or(&v);
        if semver_shaped(v) {
            out.push(v.to_owned());
        }
    }
    out.extend(rustsec_versions());
    out.extend(
        super::osv_versions("PyPI", "PyPI")
            .into_iter()
            .filter(|v| semver_shaped(v)),
    );
    out.extend(eol_latest_versions());
    out
}

/// Go module versions as Go's tools write them (`v1.2.3`,
/// `v0.0.0-20210101000000-abcdef123456`, `v2.0.0+incompatible`): every
/// version in the Go OSV records, unfiltered. OSV's Go ecosystem drops the
/// leading `v` that `golang.org/x/mod/semver` requires; this adds it back.
pub fn go_versions() -> Vec<String> {
    super::osv_versions("Go", "Go")
        .into_iter()
        .map(|v| {
            if v.starts_with('v') {
                v
            } else {
                format!("v{v}")
            }
        })
        .collect()
}

/// The versions named in RustSec's `[versions]` and `[affected]` tables
/// (`patched = [">= 1.2.3, < 2.0.0"]`, function-level requirements), with
/// the requirement operators removed.
pub fn rustsec_versions() -> Vec<String> {
    let root = crate::data_path("rustsec");
    let mut out = Vec::new();
    for dir in ["crates", "rust"] {
        for file in markdown_files(&root.join(dir)) {
            let text = std::fs::read_to_string(&file).unwrap();
            collect_front_matter(&text, &mut out);
        }
    }
    out
}

fn collect_front_matter(text: &str, out: &mut Vec<String>) {
    let mut in_toml = false;
    let mut section = "";
    for line in text.lines() {
        let trimmed = line.trim();
        if !in_toml {
            in_toml = trimmed == "```toml";
            continue;
        }
        if trimmed.starts_with("```") {
            break;
        }
        if trimmed.starts_with('[') && !trimmed.contains('=') {
            section = trimmed;
            continue;
        }
        // [advisory] holds ids, dates and URLs, never version requirements.
        if section == "[advisory]" {
            continue;
        }
        // Quoted strings sit at the odd positions of a split on quotes.
        for quoted in trimmed.split('"').skip(1).step_by(2) {
            for comparator in quoted.split(',') {
                let v = comparator
                    .trim()
                    .trim_start_matches(['<', '>', '=', '^', '~', ' '])
                    .trim();
                if semver_shaped(v) {
                    out.push(v.to_owned());
                }
            }
        }
    }
}

/// `latest: "1.2.3"` values of the endoflife.date product pages.
fn eol_latest_versions() -> Vec<String> {
    let mut out = Vec::new();
    for file in markdown_files(&crate::data_path("eol/products")) {
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines() {
            if let Some(v) = line.trim().strip_prefix("latest:") {
                let v = v.trim().trim_matches(['"', '\'']);
                if semver_shaped(v) {
                    out.push(v.to_owned());
                }
            }
        }
    }
    out
}

/// Three dot-separated digit runs, then the end, `-` or `+`.
fn semver_shaped(v: &str) -> bool {
    let mut rest = v;
    for i in 0..3 {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        if i < 2 {
            match rest.strip_prefix('.') {
                Some(r) => rest = r,
                None => return false,
            }
        }
    }
    rest.is_empty() || rest.starts_with(['-', '+'])
}

/// `*.md` files under `dir`, sorted so that the corpus order is stable.
fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        // Reversed onto the stack, so directories are visited in order.
        for p in entries.into_iter().rev() {
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "md") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_needs_three_numbers_then_a_suffix_or_the_end() {
        assert!(semver_shaped("1.2.3"));
        assert!(semver_shaped("01.2.3-rc.1+b"));
        assert!(!semver_shaped("1.2"));
        assert!(!semver_shaped("1.2.3.4"));
        assert!(!semver_shaped("1.2.3rc1"));
        assert!(!semver_shaped("v1.2.3"));
    }

    #[test]
    fn front_matter_requirements_lose_their_operators() {
        let text = "```toml\n[advisory]\nid = \"RUSTSEC-2020-0001\"\nurl = \"https://x/1.2.3\"\n\
                    [versions]\npatched = [\">= 1.2.3, < 2.0.0-rc.1\", \"^ 0.4.1\"]\nunaffected = [\n    \"= 0.1.0\",\n]\n\
                    [affected.functions]\n\"a::b\" = [\"<= 3.1.2\"]\n```\n# Title 9.9.9\n\"9.9.9\"\n";
        let mut out = Vec::new();
        collect_front_matter(text, &mut out);
        assert_eq!(out, ["1.2.3", "2.0.0-rc.1", "0.4.1", "0.1.0", "3.1.2"]);
    }
}
