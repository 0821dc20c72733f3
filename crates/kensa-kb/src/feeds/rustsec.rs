//! RustSec advisory-db in its native format: `crates/<name>/RUSTSEC-*.md`,
//! each a Markdown file opening with a ```` ```toml ```` front-matter block
//! (`[advisory]` id, package, aliases, related, cvss, date, url,
//! references, withdrawn, informational; `[affected]` arch, os, functions;
//! `[versions]` patched, unaffected), then `# Title` and the description.
//!
//! Decisions:
//! - **Namespace** `crates.io`, package = `advisory.package`.
//! - **Toolchain advisories** (`rust/std`, `rust/cargo`, `rust/rustdoc`)
//!   are skipped and counted (`rust toolchain advisory`): they are about
//!   the compiler's release (1.x), not a crate (the `cargo` crate on
//!   crates.io has its own 0.x versions, so importing them under
//!   `crates.io` would flag every `cargo` crate user).
//! - **Withdrawn** advisories are skipped and counted.
//! - **Informational** advisories (`unmaintained`, `unsound`, `notice`)
//!   are imported like the others, with the note `informational: <kind>`
//!   on their affected entry, so that detection can show them as warnings
//!   (as `cargo audit` does) rather than as vulnerabilities.
//! - `[affected] arch` become [`Affected::arches`]; `os` goes into the
//!   note (`os: windows`).
//! - Summary is the Markdown title; published is `date`; references are
//!   `url` then `references`. RustSec carries no severity word, only
//!   `cvss`.
//!
//! # From requirements to events
//!
//! RustSec lists what is *not* affected: `patched` and `unaffected` are
//! Cargo requirements (`">= 1.2, < 1.4"`, `"^0.8.3"`, `"< 0.2"`); a version
//! is affected when it matches none of them. OSV events list what *is*
//! affected. The conversion:
//! 1. each requirement (a conjunction of comparators) becomes one interval
//!    of versions, the intersection of its comparators' intervals, with the
//!    `semver` crate's meaning of each operator and partial version
//!    (`>1.2` is `>=1.3.0`, `<=1.2` is `<1.3.0`, `^0.8.3` is
//!    `[0.8.3, 0.9.0)`, `~1.2` is `[1.2.0, 1.3.0)`, `1.*` is
//!    `[1.0.0, 2.0.0)`, a bare version is a caret);
//! 2. those intervals are sorted and merged where they overlap or touch;
//! 3. the gaps between them (and before the first, after the last) are the
//!    affected intervals: a gap opening at an exclusive bound `X` is
//!    `introduced: X`, at an inclusive `X` (after `<= X` or `= X`) it is
//!    `introduced` at the least version above `X` (`X.Y.(Z+1)-0`); a gap
//!    closing before an inclusive `X` is `fixed: X`, before an exclusive
//!    `X` (`> X`) it is `last_affected: X`; an unbounded start is
//!    `introduced: 0`;
//! 4. all gaps go into one range, ascending; no requirement at all is
//!    `introduced: 0` (every version affected).
//!
//! Pre-releases: Cargo's `VersionReq::matches` refuses a pre-release
//! version unless a comparator names the same `major.minor.patch` with a
//! pre-release, so `cargo audit` would call `1.0.0-alpha` affected by an
//! advisory patched in `>= 0.9.1`. The events order pre-releases by
//! SemVer precedence instead (`1.0.0-alpha` is after `0.9.1`: not
//! affected). Interval ends built from partial versions are release
//! versions (`^0.8.3` ends at `0.9.0`, so `0.9.0-rc.1` is inside it). The
//! differential test holds for release versions only, on purpose.
//!
//! # Source archives
//!
//! [`import`] also reads the repository as GitHub serves it, a zip of the
//! branch (`advisory-db-main/crates/<name>/RUSTSEC-*.md`): a path ending in
//! `.zip` is read entry by entry, without its single top-level folder, with
//! the same records and per-record errors as the checkout; errors name the
//! entry (`advisory-db.zip!/advisory-db-main/crates/...`). Entries over
//! [`MAX_ARCHIVE_ENTRY`] are refused. A zip whose central directory cannot
//! be read (a truncated download) is read from its local headers up to the
//! damage. `source_archive` does the same walk for the endoflife.date
//! importer.

use std::cmp::Ordering;
use std::io::Read;
use std::path::{Path, PathBuf};

use kensa_version::Ecosystem;
use semver::{Comparator, Op, Prerelease, Version, VersionReq};
use serde::Deserialize;

use crate::error::{KbError, Result};
use crate::model::{Advisory, Affected, Event, Feed, FeedReport, FixStatus, Record, Sink};

/// Import the advisory-db checkout (or mirror) at `dir`: its `crates/`
/// and `rust/` folders.
pub fn import(dir: &Path, sink: &mut dyn Sink) -> Result<FeedReport> {
    let mut report = FeedReport::default();
    if is_zip(dir) {
        let mut found = false;
        source_archive(
            dir,
            &["crates", "rust"],
            &mut report,
            &mut |name, rel, read, report| {
                if !rel.ends_with(".md") {
                    return;
                }
                if rel.starts_with("rust/") {
                    report.skip("rust toolchain advisory");
                    return;
                }
                if !rel.starts_with("crates/") {
                    return;
                }
                found = true;
                match read().map(String::from_utf8) {
                    Ok(Ok(text)) => import_text(name, &text, sink, report),
                    Ok(Err(_)) => report.error(name, None, "stream did not contain valid UTF-8"),
                    Err(e) => report.error(name, None, e),
                }
            },
        )?;
        if !found && report.errors.is_empty() {
            return Err(KbError::Format {
                path: dir.display().to_string(),
                message: "no crates/ folder in the archive: not a RustSec advisory-db".to_owned(),
            });
        }
        return Ok(report);
    }
    let crates = dir.join("crates");
    if !crates.is_dir() {
        return Err(KbError::Format {
            path: dir.display().to_string(),
            message: "no crates/ folder: not a RustSec advisory-db".to_owned(),
        });
    }
    for file in md_files(&crates, &mut report)? {
        let name = file.display().to_string();
        match std::fs::read_to_string(&file) {
            Ok(text) => import_text(&name, &text, sink, &mut report),
            Err(e) => report.error(name, None, e.to_string()),
        }
    }
    let rust = dir.join("rust");
    if rust.is_dir() {
        for _ in md_files(&rust, &mut report)? {
            report.skip("rust toolchain advisory");
        }
    }
    Ok(report)
}

/// Largest entry read from a source archive (a decompression bomb, or not
/// an advisory or page: the real ones are a few kilobytes).
pub const MAX_ARCHIVE_ENTRY: u64 = 8 << 20;

/// Whether `path` names a zip archive (by its extension).
pub(crate) fn is_zip(path: &Path) -> bool {
    path.extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("zip"))
}

/// What [`source_archive`] hands over per file entry: its name for errors
/// (`archive.zip!/entry`), its path without the top-level folder, a reader
/// of its data (at most once; capped at [`MAX_ARCHIVE_ENTRY`]) and the
/// report.
pub(crate) type Visit<'v> = dyn FnMut(&str, &str, &mut dyn FnMut() -> std::result::Result<Vec<u8>, String>, &mut FeedReport)
    + 'v;

/// Walk the file entries of a repository source archive (a GitHub
/// `archive/refs/heads/<branch>.zip`) one at a time, in path order, with
/// their single top-level folder stripped: the folder all entries share,
/// unless it is one of `roots` (an archive of the checkout's contents).
/// Entries outside that folder are ignored. A zip without a readable
/// central directory is read from its local headers in stored order (the
/// top-level folder being the first entry's), up to the first damaged
/// entry. Only an archive that cannot be opened is an `Err`.
pub(crate) fn source_archive(
    path: &Path,
    roots: &[&str],
    report: &mut FeedReport,
    visit: &mut Visit<'_>,
) -> Result<()> {
    let io = |source| KbError::Io {
        path: path.display().to_string(),
        source,
    };
    let prefix = path.display().to_string();
    let file = std::fs::File::open(path).map_err(io)?;
    let top = |name: &str| {
        name.split_once('/')
            .map(|(t, _)| t)
            .filter(|t| !roots.contains(t))
            .map(str::to_owned)
    };
    let strip = |top: &Option<String>, name: &str| -> Option<String> {
        match top {
            Some(t) => name
                .strip_prefix(t.as_str())
                .and_then(|r| r.strip_prefix('/'))
                .map(str::to_owned),
            None => Some(name.to_owned()),
        }
    };
    let read = |entry: &mut dyn Read, size: u64| -> std::result::Result<Vec<u8>, String> {
        if size > MAX_ARCHIVE_ENTRY {
            return Err(format!("entry of {size} bytes is too large"));
        }
        let mut data = Vec::new();
        entry
            .take(MAX_ARCHIVE_ENTRY + 1)
            .read_to_end(&mut data)
            .map_err(|e| format!("cannot read entry: {e}"))?;
        if data.len() as u64 > MAX_ARCHIVE_ENTRY {
            return Err(format!(
                "entry larger than {MAX_ARCHIVE_ENTRY} bytes is too large"
            ));
        }
        Ok(data)
    };
    let mut archive = match zip::ZipArchive::new(file) {
        Ok(a) => a,
        Err(e) => {
            report.error(
                prefix.clone(),
                None,
                format!(
                    "zip central directory unreadable ({e}): reading entries from local headers"
                ),
            );
            let file = std::fs::File::open(path).map_err(io)?;
            let mut reader = std::io::BufReader::new(file);
            let mut folder: Option<Option<String>> = None;
            loop {
                match zip::read::read_zipfile_from_stream(&mut reader) {
                    Ok(Some(mut entry)) => {
                        let folder = folder.get_or_insert_with(|| top(entry.name()));
                        let name = format!("{prefix}!/{}", entry.name());
                        let Some(rel) = strip(folder, entry.name()) else {
                            continue;
                        };
                        if entry.is_dir() {
                            continue;
                        }
                        let size = entry.size();
                        let mut failed = false;
                        visit(
                            &name,
                            &rel,
                            &mut || {
                                let r = read(&mut entry, size);
                                failed = r.is_err();
                                r
                            },
                            report,
                        );
                        if failed {
                            // The stream is out of step after a damaged entry.
                            return Ok(());
                        }
                    }
                    Ok(None) => return Ok(()),
                    Err(e) => {
                        report.error(prefix, None, format!("zip stream ends: {e}"));
                        return Ok(());
                    }
                }
            }
        }
    };
    let names: Vec<&str> = archive.file_names().collect();
    let folder = match names.first().and_then(|n| top(n)) {
        Some(t) if names.iter().all(|n| top(n).as_ref() == Some(&t)) => Some(t),
        _ => None,
    };
    let mut order: Vec<(String, usize)> = Vec::new();
    for i in 0..archive.len() {
        let Some(name) = archive.name_for_index(i) else {
            continue;
        };
        if let Some(rel) = strip(&folder, name)
            && !rel.is_empty()
            && !rel.ends_with('/')
        {
            order.push((rel, i));
        }
    }
    order.sort_by(|a, b| Path::new(&a.0).cmp(Path::new(&b.0)).then(a.1.cmp(&b.1)));
    for (rel, i) in order {
        let mut entry = match archive.by_index(i) {
            Ok(e) => e,
            Err(e) => {
                report.error(format!("{prefix}!/#{i}"), None, e.to_string());
                continue;
            }
        };
        if entry.is_dir() {
            continue;
        }
        let name = format!("{prefix}!/{}", entry.name());
        let size = entry.size();
        visit(&name, &rel, &mut || read(&mut entry, size), report);
    }
    Ok(())
}

/// `*.md` files under `root`, recursively, sorted by path.
fn md_files(root: &Path, report: &mut FeedReport) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let rd = match std::fs::read_dir(&d) {
            Ok(rd) => rd,
            Err(e) if d == root => {
                return Err(KbError::Io {
                    path: d.display().to_string(),
                    source: e,
                });
            }
            Err(e) => {
                report.error(d.display().to_string(), None, e.to_string());
                continue;
            }
        };
        for entry in rd.flatten() {
            let p = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(t) if t.is_file() && p.extension().is_some_and(|x| x == "md") => out.push(p),
                _ => {}
            }
        }
    }
    out.sort();
    Ok(out)
}

#[derive(Deserialize)]
struct Front {
    advisory: AdvisorySection,
    affected: Option<AffectedSection>,
    versions: Option<Versions>,
}

#[derive(Deserialize)]
struct AdvisorySection {
    id: String,
    package: String,
    aliases: Option<Vec<String>>,
    cvss: Option<String>,
    date: Option<toml::Value>,
    url: Option<String>,
    references: Option<Vec<String>>,
    withdrawn: Option<toml::Value>,
    informational: Option<String>,
}

#[derive(Deserialize)]
struct AffectedSection {
    arch: Option<Vec<String>>,
    os: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Versions {
    patched: Option<Vec<String>>,
    unaffected: Option<Vec<String>>,
}

/// The TOML front matter and the Markdown after it.
fn split_front(text: &str) -> Option<(&str, &str)> {
    let rest = text.trim_start().strip_prefix("```toml")?;
    let end = rest.find("\n```")?;
    Some((&rest[..end], &rest[end + 4..]))
}

fn import_text(file: &str, text: &str, sink: &mut dyn Sink, report: &mut FeedReport) {
    let Some((front, body)) = split_front(text) else {
        report.error(file, None, "no ```toml front matter");
        return;
    };
    let front: Front = match toml::from_str(front) {
        Ok(f) => f,
        Err(e) => {
            let id = toml::from_str::<toml::Table>(front)
                .ok()
                .and_then(|t| t.get("advisory")?.get("id")?.as_str().map(str::to_owned));
            report.error(file, id, format!("front matter: {}", e.message()));
            return;
        }
    };
    let adv = front.advisory;
    if adv.withdrawn.is_some() {
        report.skip("withdrawn");
        return;
    }
    let versions = front.versions.unwrap_or(Versions {
        patched: None,
        unaffected: None,
    });
    let mut reqs = Vec::new();
    for r in versions
        .patched
        .unwrap_or_default()
        .iter()
        .chain(versions.unaffected.unwrap_or_default().iter())
    {
        match VersionReq::parse(r) {
            Ok(req) => reqs.push(req),
            Err(e) => {
                report.error(file, Some(adv.id), format!("requirement {r:?}: {e}"));
                return;
            }
        }
    }
    let events = match events_from_unaffected(&reqs) {
        Ok(ev) => ev,
        Err(e) => {
            report.error(file, Some(adv.id), e);
            return;
        }
    };
    let ranges = vec![events];
    let fixed = super::osv::lowest_fixed(Some(Ecosystem::Cargo), &ranges);
    let status = if fixed.is_some() {
        FixStatus::Fixed
    } else {
        FixStatus::Affected
    };
    let (arches, os) = match front.affected {
        Some(a) => (a.arch.unwrap_or_default(), a.os.unwrap_or_default()),
        None => (Vec::new(), Vec::new()),
    };
    let mut notes = Vec::new();
    if let Some(kind) = &adv.informational {
        notes.push(format!("informational: {kind}"));
    }
    if !os.is_empty() {
        notes.push(format!("os: {}", os.join(", ")));
    }
    let summary = body
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| l.trim_start_matches('#').trim().to_owned())
        .filter(|l| !l.is_empty());
    let mut aliases: Vec<String> = Vec::new();
    for a in adv.aliases.unwrap_or_default() {
        if a != adv.id && !aliases.contains(&a) {
            aliases.push(a);
        }
    }
    aliases.sort_by_key(|a| !a.starts_with("CVE-"));
    let references = adv
        .url
        .into_iter()
        .chain(adv.references.unwrap_or_default())
        .collect();
    let published = adv.date.map(|d| match d {
        toml::Value::String(s) => s,
        other => other.to_string(),
    });
    report.records += 1;
    sink.record(Record::Advisory(Advisory {
        id: adv.id,
        feed: Feed::Rustsec,
        aliases,
        published,
        modified: None,
        summary,
        severity: None,
        cvss: adv.cvss.into_iter().collect(),
        references,
        affected: vec![Affected {
            namespace: "crates.io".to_owned(),
            package: adv.package,
            status,
            ranges,
            versions: Vec::new(),
            fixed,
            note: (!notes.is_empty()).then(|| notes.join("; ")),
            module: None,
            arches,
        }],
    }));
}

/// A bound of an interval: a version and whether it is included.
type Bound = Option<(Version, bool)>;

/// An interval of versions; `lo: None` is unbounded below, `hi: None`
/// unbounded above.
#[derive(Clone, Debug)]
struct Interval {
    lo: Bound,
    hi: Bound,
}

fn ver(major: u64, minor: u64, patch: u64) -> Version {
    Version::new(major, minor, patch)
}

fn bump(n: u64) -> std::result::Result<u64, String> {
    n.checked_add(1)
        .ok_or_else(|| "version number overflows".to_owned())
}

/// The versions one comparator matches, as an interval, with the `semver`
/// crate's reading of operators and partial versions.
fn comparator_interval(c: &Comparator) -> std::result::Result<Interval, String> {
    let (ma, mi, pa) = (c.major, c.minor, c.patch);
    let full = || {
        let mut v = ver(ma, mi.unwrap_or(0), pa.unwrap_or(0));
        v.pre = c.pre.clone();
        v
    };
    let incl = |v: Version| Some((v, true));
    let excl = |v: Version| Some((v, false));
    // The next minor / major after the comparator's version.
    let next_minor =
        || -> std::result::Result<Version, String> { Ok(ver(ma, bump(mi.unwrap_or(0))?, 0)) };
    let next_major = || -> std::result::Result<Version, String> { Ok(ver(bump(ma)?, 0, 0)) };
    let iv = |lo, hi| Interval { lo, hi };
    Ok(match c.op {
        Op::Exact => match (mi, pa) {
            (Some(_), Some(_)) => iv(incl(full()), incl(full())),
            (Some(_), None) => iv(incl(full()), excl(next_minor()?)),
            _ => iv(incl(full()), excl(next_major()?)),
        },
        Op::Greater => match (mi, pa) {
            (Some(_), Some(_)) => iv(excl(full()), None),
            (Some(_), None) => iv(incl(next_minor()?), None),
            _ => iv(incl(next_major()?), None),
        },
        Op::GreaterEq => iv(incl(full()), None),
        Op::Less => iv(None, excl(full())),
        Op::LessEq => match (mi, pa) {
            (Some(_), Some(_)) => iv(None, incl(full())),
            (Some(_), None) => iv(None, excl(next_minor()?)),
            _ => iv(None, excl(next_major()?)),
        },
        Op::Tilde => match mi {
            Some(_) => iv(incl(full()), excl(next_minor()?)),
            None => iv(incl(full()), excl(next_major()?)),
        },
        Op::Caret => match (mi, pa) {
            _ if ma > 0 => iv(incl(full()), excl(next_major()?)),
            (Some(0), Some(p)) => iv(incl(full()), excl(ver(0, 0, bump(p)?))),
            (Some(_), _) => iv(incl(full()), excl(next_minor()?)),
            (None, _) => iv(incl(full()), excl(next_major()?)),
        },
        Op::Wildcard => match mi {
            Some(_) => iv(incl(full()), excl(next_minor()?)),
            None => iv(incl(full()), excl(next_major()?)),
        },
        _ => return Err(format!("unsupported requirement operator in {c}")),
    })
}

/// Compare two lower bounds: `None` (unbounded) first; at one version an
/// inclusive bound starts before an exclusive one.
fn cmp_lo(a: &Bound, b: &Bound) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, _) => Ordering::Less,
        (_, None) => Ordering::Greater,
        (Some((va, ia)), Some((vb, ib))) => va.cmp(vb).then(ib.cmp(ia)),
    }
}

/// Compare two upper bounds: `None` (unbounded) last; at one version an
/// inclusive bound ends after an exclusive one.
fn cmp_hi(a: &Bound, b: &Bound) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, _) => Ordering::Greater,
        (_, None) => Ordering::Less,
        (Some((va, ia)), Some((vb, ib))) => va.cmp(vb).then(ia.cmp(ib)),
    }
}

fn is_empty(i: &Interval) -> bool {
    match (&i.lo, &i.hi) {
        (Some((l, li)), Some((h, hi))) => match l.cmp(h) {
            Ordering::Greater => true,
            Ordering::Equal => !(*li && *hi),
            Ordering::Less => false,
        },
        _ => false,
    }
}

/// The interval of a requirement: the intersection of its comparators'.
fn req_interval(req: &VersionReq) -> std::result::Result<Interval, String> {
    let mut acc = Interval { lo: None, hi: None };
    for c in &req.comparators {
        let i = comparator_interval(c)?;
        if cmp_lo(&i.lo, &acc.lo) == Ordering::Greater {
            acc.lo = i.lo;
        }
        if cmp_hi(&i.hi, &acc.hi) == Ordering::Less {
            acc.hi = i.hi;
        }
    }
    Ok(acc)
}

/// Whether an interval ending at `hi` and one starting at `lo` (not
/// before it) overlap or touch, so that no version lies between them.
fn joins(hi: &Bound, lo: &Bound) -> bool {
    match (hi, lo) {
        (None, _) | (_, None) => true,
        (Some((h, hi_in)), Some((l, lo_in))) => match l.cmp(h) {
            Ordering::Less => true,
            Ordering::Equal => *hi_in || *lo_in,
            Ordering::Greater => false,
        },
    }
}

/// The least version above `v`: `1.2.3` → `1.2.4-0`, `1.2.3-rc.1` →
/// `1.2.3-rc.1.0`.
fn successor(v: &Version) -> std::result::Result<Version, String> {
    let (pre, patch) = if v.pre.is_empty() {
        ("0".to_owned(), bump(v.patch)?)
    } else {
        (format!("{}.0", v.pre), v.patch)
    };
    let mut s = ver(v.major, v.minor, patch);
    s.pre = Prerelease::new(&pre).map_err(|e| e.to_string())?;
    Ok(s)
}

/// OSV events for the versions that match none of `reqs` (the `patched`
/// and `unaffected` requirements of an advisory). See the module
/// documentation for the algorithm.
pub fn events_from_unaffected(reqs: &[VersionReq]) -> std::result::Result<Vec<Event>, String> {
    let mut ivs: Vec<Interval> = Vec::with_capacity(reqs.len());
    for r in reqs {
        let i = req_interval(r)?;
        if !is_empty(&i) {
            ivs.push(i);
        }
    }
    ivs.sort_by(|a, b| cmp_lo(&a.lo, &b.lo));
    let mut merged: Vec<Interval> = Vec::with_capacity(ivs.len());
    for i in ivs {
        match merged.last_mut() {
            Some(cur) if joins(&cur.hi, &i.lo) => {
                if cmp_hi(&i.hi, &cur.hi) == Ordering::Greater {
                    cur.hi = i.hi;
                }
            }
            _ => merged.push(i),
        }
    }
    let mut events = Vec::new();
    // Where the current gap (affected interval) opens: None = from the
    // bottom; Some(bound) = the upper bound of the unaffected interval
    // before it.
    let mut open: Option<Bound> = Some(None);
    for i in &merged {
        if let Some(start) = open.take() {
            // A gap exists unless the unaffected interval is unbounded below.
            if let Some(lo) = &i.lo {
                push_open(&mut events, &start)?;
                let (v, inclusive) = lo;
                events.push(if *inclusive {
                    Event::Fixed(v.to_string())
                } else {
                    Event::LastAffected(v.to_string())
                });
            }
        }
        open = i.hi.clone().map(Some);
    }
    if let Some(start) = open {
        push_open(&mut events, &start)?;
    }
    Ok(events)
}

fn push_open(events: &mut Vec<Event>, start: &Bound) -> std::result::Result<(), String> {
    events.push(match start {
        None => Event::Introduced("0".to_owned()),
        // After an unaffected interval ending before X: X is affected.
        Some((v, false)) => Event::Introduced(v.to_string()),
        Some((v, true)) => Event::Introduced(successor(v)?.to_string()),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(reqs: &[&str]) -> Vec<Event> {
        let reqs: Vec<VersionReq> = reqs
            .iter()
            .map(|r| VersionReq::parse(r).expect("valid requirement"))
            .collect();
        events_from_unaffected(&reqs).expect("convertible")
    }

    fn i(v: &str) -> Event {
        Event::Introduced(v.to_owned())
    }
    fn f(v: &str) -> Event {
        Event::Fixed(v.to_owned())
    }

    #[test]
    fn conversions() {
        assert_eq!(ev(&[]), [i("0")]);
        assert_eq!(ev(&[">= 0.9.1"]), [i("0"), f("0.9.1")]);
        assert_eq!(ev(&[">= 0.9.1", "< 0.2"]), [i("0.2.0"), f("0.9.1")]);
        assert_eq!(
            ev(&["^0.8.3", ">= 0.9.1"]),
            [i("0"), f("0.8.3"), i("0.9.0"), f("0.9.1")]
        );
        assert_eq!(ev(&[">= 1.2, < 1.4"]), [i("0"), f("1.2.0"), i("1.4.0")]);
        assert_eq!(ev(&["<= 0.3.1"]), [i("0.3.2-0")]);
        assert_eq!(
            ev(&["> 2.0.0", "< 1.0.0"]),
            [i("1.0.0"), Event::LastAffected("2.0.0".to_owned())]
        );
        assert_eq!(ev(&["*"]), []);
        // Only the pre-releases of 1.0.1 lie between `= 1.0.0` and `>= 1.0.1`.
        assert_eq!(
            ev(&["= 1.0.0", ">= 1.0.1"]),
            [i("0"), f("1.0.0"), i("1.0.1-0"), f("1.0.1")]
        );
    }
}
