//! RubyGems versions: the gems installed on this machine (Ruby's bundled and
//! default gems and Debian's `rubygems-integration` gems: each gemspec's
//! version, the RubyGems versions it names and the versions in its
//! requirements), the endoflife.date pages of Ruby, JRuby and Rails, then
//! the PyPI and Go OSV records and every other endoflife.date page, kept
//! where `Gem::Version.correct?` would accept them.
//!
//! [`candidates`] is the same harvest before that filter, for testing
//! validity itself against RubyGems.

use std::path::{Path, PathBuf};

const RUBY_PRODUCTS: &[&str] = &["ruby", "jruby", "ruby-on-rails"];

const GEMSPEC_DIRS: &[&str] = &[
    "/usr/lib/ruby/gems",
    "/usr/share/rubygems-integration",
    "/var/lib/gems",
];

pub fn versions() -> Vec<String> {
    candidates()
        .into_iter()
        .filter(|v| gem_correct(v))
        .collect()
}

/// Every harvested string, valid RubyGems version or not.
pub fn candidates() -> Vec<String> {
    let mut out = Vec::new();
    for dir in GEMSPEC_DIRS {
        out.extend(gemspec_versions(Path::new(dir)));
    }
    out.extend(super::maven::eol_versions(|p| RUBY_PRODUCTS.contains(&p)));
    out.extend(super::osv_versions("PyPI", "PyPI"));
    out.extend(super::osv_versions("Go", "Go"));
    out.extend(super::maven::eol_versions(|p| !RUBY_PRODUCTS.contains(&p)));
    out.retain(|v| !v.contains(['\t', '\n']));
    out
}

/// `Gem::Version::ANCHORED_VERSION_PATTERN` (RubyGems 3.3):
/// `\A\s*([0-9]+(?>\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?\s*\z`,
/// where Ruby's `\s` is ASCII whitespace including `\v`. The differential
/// test checks this filter against Ruby on [`candidates`].
pub fn gem_correct(v: &str) -> bool {
    let v = v.trim_matches([' ', '\t', '\n', '\u{b}', '\u{c}', '\r']);
    if v.is_empty() {
        return true;
    }
    let (release, pre) = match v.split_once('-') {
        Some((r, p)) => (r, Some(p)),
        None => (v, None),
    };
    let mut parts = release.split('.');
    let first_ok = parts
        .next()
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let rest_ok = parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    let pre_ok = pre.is_none_or(|p| {
        p.split('.')
            .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    });
    first_ok && rest_ok && pre_ok
}

fn gemspec_versions(root: &Path) -> Vec<String> {
    let mut specs = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for p in entries.map(|e| e.unwrap().path()) {
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "gemspec") {
                specs.push(p);
            }
        }
    }
    specs.sort();
    let mut out = Vec::new();
    for spec in specs {
        collect_gemspec(&spec, &mut out);
    }
    out
}

/// `s.version = "1.2.3"`, `s.rubygems_version = "3.3.7".freeze`, and the
/// operands of requirements such as `Gem::Requirement.new(">= 2.6")` or
/// `[">= 0", "< 2"]`.
fn collect_gemspec(path: &PathBuf, out: &mut Vec<String>) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    for line in text.lines() {
        let line = line.trim();
        let quoted = line.split('"').skip(1).step_by(2);
        if line.starts_with("s.version")
            || line.starts_with("s.rubygems_version")
            || line.starts_with("s.installed_by_version")
        {
            out.extend(quoted.take(1).map(str::to_owned));
        } else if line.contains("Requirement") || line.contains("dependency") {
            for q in quoted {
                let v = q.trim_start_matches(['>', '<', '=', '~', '!', ' ']);
                if v.len() < q.len() && !v.is_empty() {
                    out.push(v.to_owned());
                }
            }
        }
    }
}
