//! OSV (<https://ossf.github.io/osv-schema/>): an ecosystem's `all.zip` as
//! the OSV bucket serves it, or a directory of OSV JSON files (read
//! recursively, `*.json` only, in name order).
//!
//! The feed is streamed: one entry is read, parsed, converted and handed to
//! the sink before the next is read, so memory stays at one record whatever
//! the size of the feed. A bad entry (unreadable, not JSON, no `id`, a field
//! of the wrong type) becomes a [`crate::model::RecordError`] naming the
//! archive and entry (`.../all.zip!/PYSEC-1.json`) and the id when known;
//! the rest of the feed goes on. A zip whose central directory cannot be
//! read (a truncated download) is read again entry by entry from its local
//! headers, so the records before the damage are still imported.
//!
//! Decisions, where OSV leaves room:
//! - **Aliases**: `aliases` then `upstream`, CVE ids first, de-duplicated,
//!   without the record's own id. A vendor advisory that names no CVE in
//!   either (AlmaLinux and Rocky put the CVEs an errata fixes in `related`)
//!   also takes the CVE ids of `related` (RPM errata ids only: `ALSA-`,
//!   `ALBA-`, `ALEA-`, `RLSA-`, `RLBA-`, `RHSA-`, `RHBA-`); otherwise
//!   `related` is left out (it means "a different but related
//!   vulnerability").
//! - **Summary**: `summary`, else the first non-empty line of `details`.
//! - **Severity**: `database_specific.severity`, else the first
//!   `affected[].ecosystem_specific` / `database_specific` string among
//!   `severity`, `ubuntu_priority` (Ubuntu), `urgency` (Debian; not
//!   `not yet assigned`) or Ubuntu's `{"type": "Ubuntu", "score": "medium"}`
//!   of the entry's `severity[]`, else the same in the record's
//!   `severity[]`, else for RPM errata (`ALSA`, `RLSA`, ...) the word before the
//!   colon of a summary such as `Important: thunderbird security update`;
//!   lower-cased. Its source is `ghsa` for GHSA records, else the namespace's
//!   distribution (`almalinux`, `debian`) or the lower-cased ecosystem
//!   (`pypi`, `go`).
//! - **CVSS**: the `score` of `severity[]` entries typed `CVSS_V2`,
//!   `CVSS_V3` or `CVSS_V4`, as written.
//! - **Namespaces**: see [`namespace`]. Affected entries of ecosystems
//!   Kensa has no namespace for are dropped and counted
//!   (`affected: ecosystem not mapped`); a record left with no affected
//!   entry at all is skipped and counted.
//! - **PyPI names** are keyed PEP 503-normalised ([`pep503`]): pip
//!   treats `Jinja2`, `jinja2` and `jinja-2`... as spellings of one name.
//! - **Ranges**: `ECOSYSTEM` and `SEMVER` ranges become event lists; `GIT`
//!   ranges are dropped and counted (`GIT range`). Go's
//!   `ecosystem_specific.custom_ranges` are not read: the `SEMVER` range
//!   beside them is wider (usually `introduced 0` only), which errs towards
//!   reporting.
//! - **Go versions** are written without the `v` in OSV (`1.20.6`); Go's
//!   own ordering (and `kensa_version::golang`) needs it, so versions in
//!   namespace `Go` get a `v` (`v1.20.6`, `v1.20.0-0`); `introduced: 0`
//!   stays `0`.
//! - **Versions are validated** with `kensa_version` where the ecosystem
//!   has an ordering. A range holding an invalid version is dropped and the
//!   record reported as an error (naming the version), but the rest of the
//!   record is still imported: one bad range must not hide the others.
//! - **Status**: `Fixed` when any range has a `fixed` event, else
//!   `Affected`. `fixed` is the lowest `fixed` version by the ecosystem's
//!   ordering (the first one where Kensa has no ordering).
//! - **Module streams**: an RPM errata whose summary names exactly one
//!   `name:stream` (`Important: squid:4 security update`) sets
//!   [`Affected::module`] on its entries whose fixed version is a module
//!   build (`.module_el8...`); otherwise `module` stays empty.
//! - **Withdrawn** records (`withdrawn` set) are skipped and counted.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use kensa_version::Ecosystem;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{KbError, Result};
use crate::model::{
    Advisory, Affected, Event, Feed, FeedReport, FixStatus, Record, Severity, Sink,
};

/// Entries larger than this are refused (a decompression bomb, or not an
/// OSV record): the biggest real records are a few hundred kilobytes.
const MAX_ENTRY: u64 = 64 << 20;

/// Import an OSV `all.zip` or a directory of OSV JSON files.
pub fn import(path: &Path, sink: &mut dyn Sink) -> Result<FeedReport> {
    let mut report = FeedReport::default();
    let meta = std::fs::metadata(path).map_err(|e| io_err(path, e))?;
    if meta.is_dir() {
        import_dir(path, sink, &mut report)?;
    } else {
        import_zip(path, sink, &mut report)?;
    }
    Ok(report)
}

fn io_err(path: &Path, source: std::io::Error) -> KbError {
    KbError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn import_dir(dir: &Path, sink: &mut dyn Sink, report: &mut FeedReport) -> Result<()> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if d == dir => return Err(io_err(dir, e)),
            Err(e) => {
                report.error(d.display().to_string(), None, e.to_string());
                continue;
            }
        };
        let mut files: Vec<PathBuf> = Vec::new();
        let mut dirs: Vec<PathBuf> = Vec::new();
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    report.error(d.display().to_string(), None, e.to_string());
                    continue;
                }
            };
            let p = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => dirs.push(p),
                Ok(t) if t.is_file() && p.extension().is_some_and(|x| x == "json") => files.push(p),
                _ => {}
            }
        }
        files.sort();
        dirs.sort();
        // Depth-first, in name order: push the subdirectories reversed.
        stack.extend(dirs.into_iter().rev());
        for f in files {
            let name = f.display().to_string();
            let mut text = String::new();
            let read = File::open(&f).and_then(|h| h.take(MAX_ENTRY).read_to_string(&mut text));
            match read {
                Ok(_) => import_text(&name, &text, sink, report),
                Err(e) => report.error(name, None, e.to_string()),
            }
        }
    }
    Ok(())
}

fn import_zip(path: &Path, sink: &mut dyn Sink, report: &mut FeedReport) -> Result<()> {
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let prefix = path.display().to_string();
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
            return import_zip_stream(path, &prefix, sink, report);
        }
    };
    for i in 0..archive.len() {
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
        if !entry.name().ends_with(".json") {
            continue;
        }
        if entry.size() > MAX_ENTRY {
            report.error(
                name,
                None,
                format!("entry of {} bytes is too large", entry.size()),
            );
            continue;
        }
        let mut text = String::new();
        match entry.read_to_string(&mut text) {
            Ok(_) => import_text(&name, &text, sink, report),
            Err(e) => report.error(name, None, format!("cannot read entry: {e}")),
        }
    }
    Ok(())
}

/// A zip without a readable central directory: walk its local headers
/// until the data ends.
fn import_zip_stream(
    path: &Path,
    prefix: &str,
    sink: &mut dyn Sink,
    report: &mut FeedReport,
) -> Result<()> {
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let mut reader = std::io::BufReader::new(file);
    loop {
        match zip::read::read_zipfile_from_stream(&mut reader) {
            Ok(Some(mut entry)) => {
                let name = format!("{prefix}!/{}", entry.name());
                if entry.is_dir() || !entry.name().ends_with(".json") {
                    continue;
                }
                let mut text = String::new();
                match (&mut entry).take(MAX_ENTRY).read_to_string(&mut text) {
                    Ok(_) => import_text(&name, &text, sink, report),
                    Err(e) => {
                        report.error(name, None, format!("cannot read entry: {e}"));
                        // The stream is out of step after a damaged entry.
                        return Ok(());
                    }
                }
            }
            Ok(None) => return Ok(()),
            Err(e) => {
                report.error(prefix.to_owned(), None, format!("zip stream ends: {e}"));
                return Ok(());
            }
        }
    }
}

/// One OSV record as it may be written; fields Kensa does not read are
/// ignored, fields it reads must have the right type.
#[derive(Deserialize)]
struct OsvRecord {
    id: String,
    aliases: Option<Vec<String>>,
    upstream: Option<Vec<String>>,
    related: Option<Vec<String>>,
    published: Option<String>,
    modified: Option<String>,
    withdrawn: Option<String>,
    summary: Option<String>,
    details: Option<String>,
    severity: Option<Vec<OsvSeverity>>,
    references: Option<Vec<OsvReference>>,
    affected: Option<Vec<OsvAffected>>,
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct OsvSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct OsvReference {
    url: String,
}

#[derive(Deserialize)]
struct OsvAffected {
    package: Option<OsvPackage>,
    ranges: Option<Vec<OsvRange>>,
    versions: Option<Vec<String>>,
    ecosystem_specific: Option<Value>,
    database_specific: Option<Value>,
    /// Ubuntu writes its priority per package here too.
    severity: Option<Vec<OsvSeverity>>,
}

#[derive(Deserialize)]
struct OsvPackage {
    ecosystem: String,
    name: String,
}

#[derive(Deserialize)]
struct OsvRange {
    #[serde(rename = "type")]
    kind: String,
    events: Vec<serde_json::Map<String, Value>>,
}

fn import_text(file: &str, text: &str, sink: &mut dyn Sink, report: &mut FeedReport) {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            report.error(file, None, format!("not JSON: {e}"));
            return;
        }
    };
    let id = match value.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => {
            report.error(file, None, "`id` is not a non-empty string");
            return;
        }
        None => {
            report.error(file, None, "no `id`");
            return;
        }
    };
    let rec: OsvRecord = match serde_json::from_value(value) {
        Ok(r) => r,
        Err(e) => {
            report.error(file, Some(id), format!("not an OSV record: {e}"));
            return;
        }
    };
    if rec.withdrawn.is_some() {
        report.skip("withdrawn");
        return;
    }
    if let Some(adv) = convert(file, rec, report) {
        report.records += 1;
        sink.record(Record::Advisory(adv));
    }
}

fn convert(file: &str, rec: OsvRecord, report: &mut FeedReport) -> Option<Advisory> {
    let id = rec.id;
    let mut affected = Vec::new();
    let had_affected = rec.affected.as_ref().is_some_and(|a| !a.is_empty());
    let mut first_ns_source: Option<String> = None;
    let mut entry_severity: Option<String> = None;
    for a in rec.affected.unwrap_or_default() {
        let Some(pkg) = a.package else {
            report.skip("affected: no package");
            continue;
        };
        let Some((ns, note)) = namespace(&pkg.ecosystem) else {
            report.skip("affected: ecosystem not mapped");
            continue;
        };
        if first_ns_source.is_none() {
            first_ns_source = Some(ns.split(':').next().unwrap_or(&ns).to_ascii_lowercase());
        }
        if entry_severity.is_none() {
            entry_severity = [&a.ecosystem_specific, &a.database_specific]
                .into_iter()
                .flatten()
                .find_map(|v| {
                    ["severity", "ubuntu_priority", "urgency"]
                        .iter()
                        .filter_map(|k| v.get(k).and_then(Value::as_str))
                        .find(|w| !w.is_empty() && *w != "not yet assigned")
                        .map(str::to_owned)
                })
                .or_else(|| a.severity.as_deref().and_then(vendor_word));
        }
        let eco = Ecosystem::from_osv(&pkg.ecosystem);
        let is_go = ns == "Go";
        let norm = |v: &str| normalise(is_go, v);
        let mut ranges = Vec::new();
        for r in a.ranges.unwrap_or_default() {
            if r.kind != "ECOSYSTEM" && r.kind != "SEMVER" {
                report.skip(&format!("{} range", r.kind));
                continue;
            }
            match range_events(&r.events, eco, &norm) {
                Ok(events) if events.is_empty() => {}
                Ok(events) => ranges.push(events),
                Err(msg) => report.dropped(
                    file,
                    Some(id.clone()),
                    &ns,
                    &if ns == "PyPI" {
                        pep503(&pkg.name)
                    } else {
                        pkg.name.clone()
                    },
                    format!("{} {}: range dropped: {msg}", pkg.ecosystem, pkg.name),
                ),
            }
        }
        let versions: Vec<String> = a
            .versions
            .unwrap_or_default()
            .iter()
            .map(|v| norm(v))
            .collect();
        let fixed = lowest_fixed(eco, &ranges);
        let status = if fixed.is_some() {
            FixStatus::Fixed
        } else {
            FixStatus::Affected
        };
        let package = if ns == "PyPI" {
            pep503(&pkg.name)
        } else {
            pkg.name
        };
        affected.push(Affected {
            namespace: ns,
            package,
            status,
            ranges,
            versions,
            fixed,
            note,
            module: None,
            arches: Vec::new(),
        });
    }
    if is_rpm_errata(&id)
        && let Some(module) = rec.summary.as_deref().and_then(errata_module)
    {
        for a in &mut affected {
            if a.fixed.as_deref().is_some_and(|f| f.contains(".module_")) {
                a.module = Some(module.clone());
            }
        }
    }
    if had_affected && affected.is_empty() {
        report.skip("no affected package in a known namespace");
        return None;
    }

    let mut severity_value = rec
        .database_specific
        .as_ref()
        .and_then(|v| v.get("severity"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or(entry_severity)
        .or_else(|| rec.severity.as_deref().and_then(vendor_word));
    if severity_value.is_none() && is_rpm_errata(&id) {
        severity_value = rec.summary.as_deref().and_then(errata_severity);
    }
    let severity = severity_value.map(|value| Severity {
        source: if id.starts_with("GHSA-") {
            "ghsa".to_owned()
        } else {
            first_ns_source.clone().unwrap_or_else(|| "osv".to_owned())
        },
        value: value.to_ascii_lowercase(),
    });

    let summary = rec.summary.filter(|s| !s.trim().is_empty()).or_else(|| {
        rec.details.as_deref().and_then(|d| {
            d.lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(str::to_owned)
        })
    });
    let cvss = rec
        .severity
        .unwrap_or_default()
        .into_iter()
        .filter(|s| matches!(s.kind.as_str(), "CVSS_V2" | "CVSS_V3" | "CVSS_V4"))
        .map(|s| s.score)
        .collect();
    let references = rec
        .references
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.url)
        .collect();
    let aliases = aliases(&id, rec.aliases, rec.upstream, rec.related);
    Some(Advisory {
        id,
        feed: Feed::Osv,
        aliases,
        published: rec.published,
        modified: rec.modified,
        summary,
        severity,
        cvss,
        references,
        affected,
    })
}

fn normalise(is_go: bool, v: &str) -> String {
    if is_go && v != "0" && !v.starts_with('v') {
        format!("v{v}")
    } else {
        v.to_owned()
    }
}

fn range_events(
    events: &[serde_json::Map<String, Value>],
    eco: Option<Ecosystem>,
    norm: &dyn Fn(&str) -> String,
) -> std::result::Result<Vec<Event>, String> {
    let mut out = Vec::with_capacity(events.len());
    for ev in events {
        for (key, val) in ev {
            let Some(v) = val.as_str() else {
                return Err(format!("event `{key}` is not a string"));
            };
            let v = norm(v);
            let event = match key.as_str() {
                "introduced" => Event::Introduced(v),
                "fixed" => Event::Fixed(v),
                "last_affected" => Event::LastAffected(v),
                "limit" => Event::Limit(v),
                other => return Err(format!("unknown event `{other}`")),
            };
            if let Some(eco) = eco {
                let special = matches!(&event, Event::Introduced(x) if x == "0")
                    || matches!(&event, Event::Limit(x) if x == "*");
                if !special {
                    let ver = match &event {
                        Event::Introduced(x)
                        | Event::Fixed(x)
                        | Event::LastAffected(x)
                        | Event::Limit(x) => x,
                    };
                    eco.validate(ver).map_err(|e| e.to_string())?;
                }
            }
            out.push(event);
        }
    }
    Ok(out)
}

/// The lowest `fixed` version of the ranges by the ecosystem's ordering
/// (versions were validated, so a comparison error cannot happen; were it
/// to, the earlier version is kept).
pub(crate) fn lowest_fixed(eco: Option<Ecosystem>, ranges: &[Vec<Event>]) -> Option<String> {
    let mut best: Option<&str> = None;
    for ev in ranges.iter().flatten() {
        let Event::Fixed(v) = ev else { continue };
        best = match (best, eco) {
            (None, _) => Some(v),
            (Some(b), Some(eco)) => match eco.compare(v, b) {
                Ok(std::cmp::Ordering::Less) => Some(v),
                _ => Some(b),
            },
            (Some(b), None) => Some(b),
        };
    }
    best.map(str::to_owned)
}

fn is_cve(s: &str) -> bool {
    s.starts_with("CVE-")
}

fn aliases(
    id: &str,
    aliases: Option<Vec<String>>,
    upstream: Option<Vec<String>>,
    related: Option<Vec<String>>,
) -> Vec<String> {
    let mut all: Vec<String> = aliases
        .unwrap_or_default()
        .into_iter()
        .chain(upstream.unwrap_or_default())
        .collect();
    if is_rpm_errata(id) && !all.iter().any(|a| is_cve(a)) {
        all.extend(
            related
                .unwrap_or_default()
                .into_iter()
                .filter(|r| is_cve(r)),
        );
    }
    let mut out: Vec<String> = Vec::with_capacity(all.len());
    for a in all {
        if a != id && !out.contains(&a) {
            out.push(a);
        }
    }
    // Stable: CVE ids first, each group in the feed's order.
    out.sort_by_key(|a| !is_cve(a));
    out
}

fn is_rpm_errata(id: &str) -> bool {
    [
        "ALSA-", "ALBA-", "ALEA-", "RLSA-", "RLBA-", "RHSA-", "RHBA-",
    ]
    .iter()
    .any(|p| id.starts_with(p))
}

/// `Important: thunderbird security update` → `Important`.
/// A vendor's own rating among OSV `severity[]` entries: Ubuntu writes its
/// priority as `{"type": "Ubuntu", "score": "medium"}` beside the CVSS
/// vectors (OSV's schema allows a distribution's name as the type).
fn vendor_word(entries: &[OsvSeverity]) -> Option<String> {
    entries
        .iter()
        .find(|s| s.kind == "Ubuntu" && !s.score.trim().is_empty())
        .map(|s| s.score.trim().to_owned())
}

fn errata_severity(summary: &str) -> Option<String> {
    let (word, _) = summary.split_once(':')?;
    matches!(word, "Low" | "Moderate" | "Important" | "Critical").then(|| word.to_owned())
}

/// The module stream an RPM errata is for, from its summary
/// (`Important: squid:4 security update` → `squid:4`,
/// `Moderate: httpd:2.4/httpd security update` → `httpd:2.4`), when the
/// summary names exactly one `name:stream`.
fn errata_module(summary: &str) -> Option<String> {
    let text = match summary.split_once(": ") {
        Some((word, rest)) if errata_severity(summary).is_some() && !word.contains(' ') => rest,
        _ => summary,
    };
    let mut found: Option<&str> = None;
    for word in text.split_whitespace() {
        let word = word.split('/').next().unwrap_or(word);
        let Some((name, stream)) = word.split_once(':') else {
            continue;
        };
        let ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'))
        };
        if !ok(name) || !ok(stream) {
            continue;
        }
        match found {
            Some(f) if f != word => return None,
            _ => found = Some(word),
        }
    }
    found.map(str::to_owned)
}

/// The Kensa namespace of an OSV ecosystem, and a note for the affected
/// entry when the mapping narrows it. `None`: no namespace (the entry is
/// dropped and counted).
///
/// | OSV ecosystem | namespace |
/// |---|---|
/// | `AlmaLinux:9` | `almalinux:9` |
/// | `Rocky Linux:8` | `rocky:8` |
/// | `Debian:12` | `debian:12` |
/// | `Ubuntu:22.04:LTS`, `Ubuntu:24.10` | `ubuntu:22.04`, `ubuntu:24.10` |
/// | `Ubuntu:Pro:18.04:LTS` (and `Pro:FIPS...`) | `ubuntu:18.04`, note `Ubuntu Pro: ...`: the fix needs an Ubuntu Pro subscription |
/// | `Alpine:v3.19` | `alpine:3.19` |
/// | `Red Hat:enterprise_linux:9::appstream` | `rhel:9` (other Red Hat products: not mapped) |
/// | `SUSE:Linux Enterprise Server 15 SP5` | `sles:15.5` (`Desktop`: `sled`; other SUSE products: not mapped) |
/// | `openSUSE:Leap 15.5`, `openSUSE:Tumbleweed` | `opensuse-leap:15.5`, `opensuse-tumbleweed:rolling` |
/// | `Photon OS:5.0` | `photon:5.0` |
/// | `CBL-Mariner:2.0`, `Azure Linux:3` | `mariner:2.0`, `azurelinux:3.0` |
/// | `Wolfi`, `Chainguard` | `wolfi:rolling`, `chainguard:rolling` |
/// | `PyPI`, `Go`, `crates.io`, `npm`, `Maven`, `RubyGems`, `NuGet`, `Packagist` | unchanged |
pub fn namespace(ecosystem: &str) -> Option<(String, Option<String>)> {
    let (base, rest) = match ecosystem.split_once(':') {
        Some((b, r)) => (b, Some(r)),
        None => (ecosystem, None),
    };
    let plain = |dist: &str, rel: &str| Some((format!("{dist}:{rel}"), None));
    match (base, rest) {
        (
            "PyPI" | "Go" | "crates.io" | "npm" | "Maven" | "RubyGems" | "NuGet" | "Packagist",
            None,
        ) => Some((base.to_owned(), None)),
        ("AlmaLinux", Some(r)) if is_release(r) => plain("almalinux", r),
        ("Rocky Linux", Some(r)) if is_release(r) => plain("rocky", r),
        ("Debian", Some(r)) if is_release(r) => plain("debian", r),
        ("Photon OS", Some(r)) if is_release(r) => plain("photon", r),
        ("CBL-Mariner", Some(r)) if is_release(r) => plain("mariner", r),
        ("Azure Linux", Some(r)) if is_release(r) => {
            let r = if r.contains('.') {
                r.to_owned()
            } else {
                format!("{r}.0")
            };
            plain("azurelinux", &r)
        }
        ("Alpine", Some(r)) => {
            let r = r.strip_prefix('v').unwrap_or(r);
            is_release(r).then(|| (format!("alpine:{r}"), None))
        }
        ("Wolfi", None) => plain("wolfi", "rolling"),
        ("Chainguard", None) => plain("chainguard", "rolling"),
        ("Ubuntu", Some(r)) => {
            let parts: Vec<&str> = r.split(':').collect();
            let rel = parts.iter().find(|p| is_release(p))?;
            let note = (parts.first() == Some(&"Pro"))
                .then(|| format!("Ubuntu Pro: {ecosystem} (the fix needs Ubuntu Pro)"));
            Some((format!("ubuntu:{rel}"), note))
        }
        ("Red Hat", Some(r)) => {
            let mut parts = r.split(':');
            (parts.next() == Some("enterprise_linux")).then_some(())?;
            let ver = parts.next()?;
            let major = ver.split('.').next()?;
            is_release(major).then(|| (format!("rhel:{major}"), None))
        }
        ("SUSE", Some(r)) => {
            let (dist, tail) = if let Some(t) = r.strip_prefix("Linux Enterprise Server ") {
                ("sles", t)
            } else if let Some(t) = r.strip_prefix("Linux Enterprise Desktop ") {
                ("sled", t)
            } else {
                return None;
            };
            let mut words = tail.split(' ');
            let major = words.next()?;
            is_release(major).then_some(())?;
            let rel = match words.next().and_then(|sp| sp.strip_prefix("SP")) {
                Some(sp) if is_release(sp) => format!("{major}.{sp}"),
                Some(_) => return None,
                None => major.to_owned(),
            };
            Some((format!("{dist}:{rel}"), None))
        }
        ("openSUSE", Some("Tumbleweed")) => plain("opensuse-tumbleweed", "rolling"),
        ("openSUSE", Some(r)) => {
            let v = r.strip_prefix("Leap ")?;
            is_release(v).then(|| (format!("opensuse-leap:{v}"), None))
        }
        _ => None,
    }
}

/// A PyPI project name as PEP 503 normalises it: the rule lives in
/// `kensa_version::pep503`, kept here under its old name.
pub use kensa_version::pep503::normalize as pep503;

/// `9`, `22.04`, `3.19`: digits and dots, starting with a digit.
fn is_release(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_digit()) && s.chars().all(|c| c.is_ascii_digit() || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces() {
        let ns = |e: &str| namespace(e).map(|(n, _)| n);
        assert_eq!(ns("AlmaLinux:9").as_deref(), Some("almalinux:9"));
        assert_eq!(ns("Rocky Linux:8").as_deref(), Some("rocky:8"));
        assert_eq!(ns("Debian:12").as_deref(), Some("debian:12"));
        assert_eq!(ns("Ubuntu:22.04:LTS").as_deref(), Some("ubuntu:22.04"));
        assert_eq!(ns("Ubuntu:24.10").as_deref(), Some("ubuntu:24.10"));
        assert_eq!(ns("Ubuntu:Pro:18.04:LTS").as_deref(), Some("ubuntu:18.04"));
        assert!(
            namespace("Ubuntu:Pro:18.04:LTS")
                .and_then(|x| x.1)
                .is_some()
        );
        assert_eq!(ns("Alpine:v3.19").as_deref(), Some("alpine:3.19"));
        assert_eq!(
            ns("Red Hat:enterprise_linux:9::appstream").as_deref(),
            Some("rhel:9")
        );
        assert_eq!(ns("Red Hat:rhel_aus:8.4::appstream"), None);
        assert_eq!(
            ns("SUSE:Linux Enterprise Server 15 SP5").as_deref(),
            Some("sles:15.5")
        );
        assert_eq!(
            ns("SUSE:Linux Enterprise Module for Basesystem 15 SP5"),
            None
        );
        assert_eq!(
            ns("openSUSE:Leap 15.5").as_deref(),
            Some("opensuse-leap:15.5")
        );
        assert_eq!(ns("Photon OS:5.0").as_deref(), Some("photon:5.0"));
        assert_eq!(ns("Wolfi").as_deref(), Some("wolfi:rolling"));
        assert_eq!(ns("Chainguard").as_deref(), Some("chainguard:rolling"));
        assert_eq!(ns("CBL-Mariner:2.0").as_deref(), Some("mariner:2.0"));
        assert_eq!(ns("Azure Linux:3").as_deref(), Some("azurelinux:3.0"));
        for e in [
            "PyPI",
            "Go",
            "crates.io",
            "npm",
            "Maven",
            "RubyGems",
            "NuGet",
            "Packagist",
        ] {
            assert_eq!(ns(e).as_deref(), Some(e));
        }
        assert_eq!(ns("GitHub Actions"), None);
        assert_eq!(ns("Debian"), None);
    }

    #[test]
    fn aliases_cve_first_and_related_only_for_errata() {
        let a = aliases(
            "PYSEC-1",
            Some(vec!["GHSA-x".into(), "CVE-1".into(), "PYSEC-1".into()]),
            None,
            Some(vec!["CVE-9".into()]),
        );
        assert_eq!(a, ["CVE-1", "GHSA-x"]);
        let a = aliases(
            "GO-1",
            Some(vec!["GHSA-x".into()]),
            None,
            Some(vec!["CVE-9".into()]),
        );
        assert_eq!(a, ["GHSA-x"]);
        let a = aliases(
            "ALSA-1",
            None,
            None,
            Some(vec!["CVE-2".into(), "CVE-1".into(), "RHSA-1".into()]),
        );
        assert_eq!(a, ["CVE-2", "CVE-1"]);
    }

    #[test]
    fn errata_module_stream() {
        let m = |s: &str| errata_module(s);
        assert_eq!(
            m("Important: squid:4 security update").as_deref(),
            Some("squid:4")
        );
        assert_eq!(
            m("Moderate: httpd:2.4/httpd security update").as_deref(),
            Some("httpd:2.4")
        );
        assert_eq!(m("Important: thunderbird security update"), None);
        assert_eq!(m("Moderate: nodejs:18 and nodejs:20 security update"), None);
        assert_eq!(
            m("container-tools:4.0 bug fix update").as_deref(),
            Some("container-tools:4.0")
        );
    }

    #[test]
    fn errata_severity_word() {
        assert_eq!(
            errata_severity("Important: thunderbird security update").as_deref(),
            Some("Important")
        );
        assert_eq!(errata_severity("thunderbird: update"), None);
    }
}
