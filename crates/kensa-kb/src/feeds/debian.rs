//! The Debian security tracker, from its own source files (a checkout of
//! the tracker: `data/CVE/list`, `data/DSA/list`, `data/DLA/list`,
//! `static/distributions.json`, and the apt `Sources` indices under
//! `source/<release>/<component>/Sources` and
//! `updates-source/<release>/<component>/Sources`), or from its JSON export
//! (`/tracker/data/json`, [`import_json`]).
//!
//! Decisions, all following the tracker's own reading of its files:
//!
//! - One [`Advisory`] per `data/CVE/list` entry, id = the CVE id, feed
//!   [`Feed::DebianTracker`], one [`Affected`] per (release, source
//!   package). The un-bracketed line `- pkg ...` is unstable
//!   (`debian:sid`); `[bookworm] - pkg ...` is that release, namespace
//!   `debian:<major>` from `distributions.json` (a built-in codename table
//!   fills codenames the file lacks; an unknown codename is a per-line
//!   error).
//! - A release listed in `distributions.json` without its own line for a
//!   package inherits the unstable line (the tracker's logic), but only
//!   when the package is in that release's `Sources` (a package that is not
//!   in the release gets no record): a fix in unstable at version `V`
//!   makes the release `Fixed` at `V` when the release's version (highest
//!   of `source/` and `updates-source/`) is `>= V`, and `Affected` (open,
//!   note says so) when it is older. Unfixed and other states are inherited
//!   as they are. A release without any `Sources` index inherits nothing.
//! - States: a version is `Fixed` (`[introduced 0, fixed V]`); `<unfixed>`
//!   is `Affected`; `<no-dsa>` is `Affected` with the note
//!   `no-dsa: <reason>` ("minor issue"); `<ignored>` is `WillNotFix`;
//!   `<postponed>` is `FixDeferred`; `<end-of-life>` is `EndOfLife`;
//!   `<not-affected>` is `NotAffected`; `<removed>` (package dropped from
//!   the release) is `WillNotFix` with a note, since a leftover installed
//!   copy stays vulnerable and no fix will come; `<undetermined>` is
//!   `UnderInvestigation`; `<itp>` (not yet packaged) is `NotAffected`.
//! - The urgency in parentheses (`(low; bug #1)`, `(unimportant)`) becomes
//!   the advisory's severity, source `debian`: the first one on an
//!   unstable line, else the first on any line.
//! - Entries marked `NOT-FOR-US`, `RESERVED` or `REJECTED`, and entries
//!   without package lines (`TODO: check`), are skipped and counted.
//! - Placeholder ids (`CVE-2023-XXXX [description]`) are not unique; they
//!   get the id `TEMP-CVE-2023-XXXX-<hash of the description>` (stable while
//!   the description is), like the tracker's own `TEMP-` ids.
//! - `DSA`/`DLA` lists: one advisory per header line, aliases are the ids
//!   in `{...}`, one [`Affected`] per `[release] - pkg version` line,
//!   `published` is the header date (`2019-07-11`).
//! - Fixed versions are validated with the dpkg comparator; an invalid one
//!   is a per-line error (file and line), the rest of the entry is kept.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use kensa_version::dpkg;
use serde_json::Value;

use crate::model::{
    Advisory, Affected, Event, Feed, FeedReport, FixStatus, Record, Severity, Sink,
};
use crate::{KbError, Result};

/// Codenames to major versions, for codenames `distributions.json` lacks
/// (it only lists the releases the tracker currently follows).
const CODENAMES: &[(&str, &str)] = &[
    ("buzz", "1.1"),
    ("rex", "1.2"),
    ("bo", "1.3"),
    ("hamm", "2.0"),
    ("slink", "2.1"),
    ("potato", "2.2"),
    ("woody", "3.0"),
    ("sarge", "3.1"),
    ("etch", "4"),
    ("lenny", "5"),
    ("squeeze", "6"),
    ("wheezy", "7"),
    ("jessie", "8"),
    ("stretch", "9"),
    ("buster", "10"),
    ("bullseye", "11"),
    ("bookworm", "12"),
    ("trixie", "13"),
    ("forky", "14"),
    ("duke", "15"),
];

/// The release names of one import: codename to namespace.
struct Releases {
    /// From `distributions.json`: the releases that inherit unstable lines.
    tracked: BTreeMap<String, String>,
}

impl Releases {
    /// The namespaces a package line is about: its release's, or for an
    /// unstable line (no release) unstable's and every tracked release's,
    /// which inherit it.
    fn line_namespaces(&self, release: Option<&str>) -> Vec<String> {
        match release {
            Some(r) => self.namespace(r).into_iter().collect(),
            None => std::iter::once("debian:sid".to_owned())
                .chain(self.tracked.values().map(|m| format!("debian:{m}")))
                .collect(),
        }
    }

    fn namespace(&self, codename: &str) -> Option<String> {
        if matches!(codename, "sid" | "unstable") {
            return Some("debian:sid".to_owned());
        }
        if let Some(major) = self.tracked.get(codename) {
            return Some(format!("debian:{major}"));
        }
        CODENAMES
            .iter()
            .find(|(c, _)| *c == codename)
            .map(|(_, m)| format!("debian:{m}"))
    }
}

fn io_err(path: &Path, source: std::io::Error) -> KbError {
    KbError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Imports a tracker checkout rooted at `root` (the folder holding `data/`
/// and `static/`). `data/CVE/list` and `static/distributions.json` must
/// exist; `data/DSA/list`, `data/DLA/list` and the `Sources` indices are
/// read when present.
pub fn import(root: &Path, sink: &mut dyn Sink) -> Result<FeedReport> {
    let mut report = FeedReport::default();
    let releases = read_distributions(&root.join("static/distributions.json"))?;
    let mut sources: HashMap<String, HashMap<String, String>> = HashMap::new();
    for codename in releases.tracked.keys() {
        if let Some(index) = read_release_sources(root, codename, &mut report)? {
            sources.insert(codename.clone(), index);
        }
    }
    import_cve_list(
        &root.join("data/CVE/list"),
        &releases,
        &sources,
        sink,
        &mut report,
    )?;
    for list in ["data/DSA/list", "data/DLA/list"] {
        let path = root.join(list);
        if path.exists() {
            import_dsa_list(&path, &releases, sink, &mut report)?;
        }
    }
    Ok(report)
}

fn read_distributions(path: &Path) -> Result<Releases> {
    let text = std::fs::read_to_string(path).map_err(|e| io_err(path, e))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| KbError::Format {
        path: path.display().to_string(),
        message: format!("not JSON: {e}"),
    })?;
    let Some(map) = value.as_object() else {
        return Err(KbError::Format {
            path: path.display().to_string(),
            message: "expected an object of codenames".to_owned(),
        });
    };
    let mut tracked = BTreeMap::new();
    for (codename, info) in map {
        if matches!(codename.as_str(), "sid" | "unstable") {
            continue;
        }
        // A release without a major version (a future one) falls back on
        // the built-in table, else is not tracked.
        let major = match info.get("major-version") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => match CODENAMES.iter().find(|(c, _)| c == codename) {
                Some((_, m)) => (*m).to_owned(),
                None => continue,
            },
        };
        tracked.insert(codename.clone(), major);
    }
    Ok(Releases { tracked })
}

/// The highest version of each source package in a release's `Sources`
/// indices (`source/` and `updates-source/`, every component). `None` when
/// the release has no index at all.
fn read_release_sources(
    root: &Path,
    codename: &str,
    report: &mut FeedReport,
) -> Result<Option<HashMap<String, String>>> {
    let mut index: HashMap<String, String> = HashMap::new();
    let mut found = false;
    for top in ["source", "updates-source"] {
        let dir = root.join(top).join(codename);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut components: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        components.sort();
        for component in components {
            let path = component.join("Sources");
            if !path.is_file() {
                continue;
            }
            found = true;
            read_sources(&path, &mut index, report)?;
        }
    }
    Ok(found.then_some(index))
}

/// Reads the `Package:` and `Version:` of each stanza of an apt `Sources`
/// index, keeping the highest version per package.
pub fn read_sources(
    path: &Path,
    index: &mut HashMap<String, String>,
    report: &mut FeedReport,
) -> Result<()> {
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let file_name = path.display().to_string();
    let mut package: Option<String> = None;
    let mut version: Option<(String, usize)> = None;
    let mut flush = |package: &mut Option<String>,
                     version: &mut Option<(String, usize)>,
                     report: &mut FeedReport| {
        if let (Some(p), Some((v, line))) = (package.take(), version.take()) {
            if let Err(e) = dpkg::validate(&v) {
                report.error(
                    file_name.clone(),
                    Some(format!("line {line}")),
                    format!("{p}: invalid version {v:?}: {e}"),
                );
                return;
            }
            match index.get(&p) {
                Some(old) if dpkg::compare(old, &v).is_ok_and(|o| o.is_ge()) => {}
                _ => {
                    index.insert(p, v);
                }
            }
        }
        *package = None;
        *version = None;
    };
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| io_err(path, e))?;
        if line.trim().is_empty() {
            flush(&mut package, &mut version, report);
        } else if let Some(p) = line.strip_prefix("Package:") {
            package = Some(p.trim().to_owned());
        } else if let Some(v) = line.strip_prefix("Version:") {
            version = Some((v.trim().to_owned(), n + 1));
        }
    }
    flush(&mut package, &mut version, report);
    Ok(())
}

/// One package line: `- pkg rest` or `[release] - pkg rest`.
struct PackageLine {
    /// The line number in its file (set by the caller).
    line: usize,
    release: Option<String>,
    package: String,
    status: FixStatus,
    fixed: Option<String>,
    note: Option<String>,
    urgency: Option<String>,
}

const URGENCIES: &[&str] = &[
    "unimportant",
    "low",
    "medium",
    "high",
    "critical",
    "end-of-life",
];

/// Parses what follows `- ` on a package line.
fn parse_package_line(
    release: Option<&str>,
    body: &str,
) -> std::result::Result<PackageLine, String> {
    let body = body.trim();
    let (package, rest) = body
        .split_once(char::is_whitespace)
        .map(|(p, r)| (p, r.trim()))
        .unwrap_or((body, ""));
    if package.is_empty() || package.contains(['<', '(', '[', '{']) {
        return Err(format!("no package name in {body:?}"));
    }
    let (state, paren) = match rest.find('(') {
        Some(i) => {
            let inner = rest[i + 1..].trim_end();
            let Some(inner) = inner.strip_suffix(')') else {
                return Err(format!("unclosed parenthesis in {body:?}"));
            };
            (rest[..i].trim(), Some(inner.trim()))
        }
        None => (rest, None),
    };
    let mut line = PackageLine {
        line: 0,
        release: release.map(str::to_owned),
        package: package.to_owned(),
        status: FixStatus::Affected,
        fixed: None,
        note: None,
        urgency: None,
    };
    let reason_note = |prefix: &str| match paren {
        Some(p) if !p.is_empty() => Some(format!("{prefix}: {p}")),
        _ => Some(prefix.to_owned()),
    };
    let mut urgency_paren = true;
    match state {
        "" => return Err(format!("no version or state in {body:?}")),
        "<unfixed>" => {}
        "<no-dsa>" => {
            line.note = reason_note("no-dsa");
            urgency_paren = false;
        }
        "<ignored>" => {
            line.status = FixStatus::WillNotFix;
            line.note = reason_note("ignored");
            urgency_paren = false;
        }
        "<postponed>" => {
            line.status = FixStatus::FixDeferred;
            line.note = reason_note("postponed");
            urgency_paren = false;
        }
        "<end-of-life>" => {
            line.status = FixStatus::EndOfLife;
            line.note = reason_note("end-of-life");
            urgency_paren = false;
        }
        "<not-affected>" => {
            line.status = FixStatus::NotAffected;
            line.note = reason_note("not-affected");
            urgency_paren = false;
        }
        "<removed>" => {
            line.status = FixStatus::WillNotFix;
            line.note = Some("removed: the package was removed from the release".to_owned());
        }
        "<undetermined>" => line.status = FixStatus::UnderInvestigation,
        "<itp>" => {
            line.status = FixStatus::NotAffected;
            line.note = Some("itp: not yet packaged in Debian".to_owned());
        }
        s if s.starts_with('<') => return Err(format!("unknown state {s}")),
        version => {
            if version.contains(char::is_whitespace) {
                return Err(format!("unexpected text after the version in {body:?}"));
            }
            check_version(version)?;
            line.status = FixStatus::Fixed;
            line.fixed = Some(version.to_owned());
        }
    }
    if urgency_paren && let Some(p) = paren {
        for item in p.split(';').map(str::trim) {
            if URGENCIES.contains(&item) {
                line.urgency = Some(item.to_owned());
            }
        }
    }
    Ok(line)
}

/// A version dpkg accepts whose upstream part starts with a digit (dpkg
/// only warns about that; the tracker's versions always do).
fn check_version(v: &str) -> std::result::Result<(), String> {
    dpkg::validate(v).map_err(|e| format!("invalid version {v:?}: {e}"))?;
    let upstream = v.split_once(':').map_or(v, |(_, u)| u);
    if !upstream.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!(
            "invalid version {v:?}: does not start with a digit"
        ));
    }
    Ok(())
}

fn ranges_for(status: FixStatus, fixed: Option<&str>) -> Vec<Vec<Event>> {
    match (status, fixed) {
        (FixStatus::Fixed, Some(v)) => vec![vec![
            Event::Introduced("0".to_owned()),
            Event::Fixed(v.to_owned()),
        ]],
        (FixStatus::NotAffected, _) => Vec::new(),
        _ => vec![vec![Event::Introduced("0".to_owned())]],
    }
}

fn affected(
    namespace: String,
    package: &str,
    status: FixStatus,
    fixed: Option<&str>,
    note: Option<String>,
) -> Affected {
    Affected {
        namespace,
        package: package.to_owned(),
        status,
        ranges: ranges_for(status, fixed),
        versions: Vec::new(),
        fixed: fixed.map(str::to_owned),
        note,
        module: None,
        arches: Vec::new(),
    }
}

/// Splits `[release] - pkg ...` / `- pkg ...` into release and body.
/// A package line that could not be read: when its release and package
/// name are readable, the store remembers that package lost a record, so
/// that a scan of a host with it says so (`dropped-record`).
fn drop_line(
    report: &mut FeedReport,
    file: &str,
    record: String,
    namespaces: Vec<String>,
    body: &str,
    message: String,
) {
    let package = body
        .split_whitespace()
        .next()
        .filter(|p| !p.contains(['<', '(', '[', '{']));
    match package {
        Some(pkg) if !namespaces.is_empty() => {
            for ns in namespaces {
                report.dropped(file, Some(record.clone()), &ns, pkg, message.clone());
            }
        }
        _ => report.error(file, Some(record), message),
    }
}

fn split_package_line(line: &str) -> Option<(Option<&str>, &str)> {
    if let Some(rest) = line.strip_prefix('[') {
        let (release, rest) = rest.split_once(']')?;
        let body = rest.trim_start().strip_prefix('-')?;
        Some((Some(release.trim()), body))
    } else {
        line.strip_prefix("- ").map(|b| (None, b))
    }
}

/// A stable 32-bit FNV-1a hash, for placeholder ids.
fn fnv(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

struct CveEntry {
    id: String,
    summary: Option<String>,
    aliases: Vec<String>,
    lines: Vec<PackageLine>,
    skip: Option<&'static str>,
    todo_check: bool,
}

fn import_cve_list(
    path: &Path,
    releases: &Releases,
    sources: &HashMap<String, HashMap<String, String>>,
    sink: &mut dyn Sink,
    report: &mut FeedReport,
) -> Result<()> {
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let file_name = path.display().to_string();
    let mut entry: Option<CveEntry> = None;
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let n = n + 1;
        let line = line.map_err(|e| io_err(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(char::is_whitespace) {
            if let Some(e) = entry.take() {
                finish_cve(e, &file_name, releases, sources, sink, report);
            }
            match parse_cve_header(&line) {
                Ok((id, summary)) => {
                    entry = Some(CveEntry {
                        id,
                        summary,
                        aliases: Vec::new(),
                        lines: Vec::new(),
                        skip: None,
                        todo_check: false,
                    });
                }
                Err(message) => report.error(file_name.clone(), Some(format!("line {n}")), message),
            }
            continue;
        }
        let Some(e) = entry.as_mut() else {
            // Body lines of a header that failed: already reported.
            continue;
        };
        let body = line.trim();
        if body.starts_with("NOT-FOR-US") {
            e.skip = Some("NOT-FOR-US");
        } else if body == "RESERVED" {
            e.skip = e.skip.or(Some("RESERVED"));
        } else if body == "REJECTED" {
            e.skip = Some("REJECTED");
        } else if body.starts_with("TODO: check") {
            e.todo_check = true;
        } else if let Some(ids) = body.strip_prefix('{').and_then(|b| b.strip_suffix('}')) {
            e.aliases.extend(ids.split_whitespace().map(str::to_owned));
        } else if let Some((release, rest)) = split_package_line(body) {
            match parse_package_line(release, rest) {
                Ok(p) => e.lines.push(PackageLine { line: n, ..p }),
                Err(message) => drop_line(
                    report,
                    &file_name,
                    format!("{} line {n}", e.id),
                    releases.line_namespaces(release),
                    rest,
                    message,
                ),
            }
        } else if body.split_once(':').is_some_and(|(tag, _)| {
            !tag.is_empty() && tag.chars().all(|c| c.is_ascii_uppercase() || c == '-')
        }) {
            // NOTE:, TODO:, HELD: and the like: comments for the team.
        } else {
            report.error(
                file_name.clone(),
                Some(format!("{} line {n}", e.id)),
                format!("unrecognised line {body:?}"),
            );
        }
    }
    if let Some(e) = entry.take() {
        finish_cve(e, &file_name, releases, sources, sink, report);
    }
    Ok(())
}

/// `CVE-2021-1 (description ...)`, `CVE-2023-XXXX [description]` or a bare id.
fn parse_cve_header(line: &str) -> std::result::Result<(String, Option<String>), String> {
    let (id, rest) = line
        .split_once(char::is_whitespace)
        .map(|(i, r)| (i, r.trim()))
        .unwrap_or((line.trim(), ""));
    let valid = id.strip_prefix("CVE-").is_some_and(|r| {
        r.split_once('-').is_some_and(|(year, num)| {
            year.len() == 4
                && year.bytes().all(|b| b.is_ascii_digit())
                && (num == "XXXX" || (num.len() >= 4 && num.bytes().all(|b| b.is_ascii_digit())))
        })
    }) || id.starts_with("TEMP-");
    if !valid {
        return Err(format!("not a CVE entry header: {line:?}"));
    }
    let summary = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .or_else(|| rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let id = if id.ends_with("-XXXX") {
        format!(
            "TEMP-{id}-{:08x}",
            fnv(summary.as_deref().unwrap_or_default())
        )
    } else {
        id.to_owned()
    };
    Ok((id, summary))
}

fn finish_cve(
    e: CveEntry,
    file_name: &str,
    releases: &Releases,
    sources: &HashMap<String, HashMap<String, String>>,
    sink: &mut dyn Sink,
    report: &mut FeedReport,
) {
    if let Some(reason) = e.skip {
        report.skip(reason);
        return;
    }
    if e.lines.is_empty() {
        report.skip(if e.todo_check {
            "TODO: check"
        } else {
            "no package lines"
        });
        return;
    }
    let mut affected_list = Vec::new();
    let severity = e
        .lines
        .iter()
        .filter(|l| l.release.is_none())
        .chain(e.lines.iter())
        .find_map(|l| l.urgency.clone())
        .map(|value| Severity {
            source: "debian".to_owned(),
            value,
        });
    for l in &e.lines {
        let codename = l.release.as_deref().unwrap_or("sid");
        let Some(namespace) = releases.namespace(codename) else {
            report.error(
                file_name.to_owned(),
                Some(format!("{} line {}", e.id, l.line)),
                format!("unknown release {codename:?}"),
            );
            continue;
        };
        affected_list.push(affected(
            namespace,
            &l.package,
            l.status,
            l.fixed.as_deref(),
            l.note.clone(),
        ));
    }
    // Releases without their own line inherit the unstable line.
    for sid in e.lines.iter().filter(|l| l.release.is_none()) {
        for (codename, major) in &releases.tracked {
            if e.lines
                .iter()
                .any(|l| l.release.as_deref() == Some(codename) && l.package == sid.package)
            {
                continue;
            }
            let Some(current) = sources.get(codename).and_then(|s| s.get(&sid.package)) else {
                continue;
            };
            let namespace = format!("debian:{major}");
            let a = match (sid.status, sid.fixed.as_deref()) {
                (FixStatus::Fixed, Some(v)) => {
                    if dpkg::compare(current, v).is_ok_and(|o| o.is_ge()) {
                        affected(namespace, &sid.package, FixStatus::Fixed, Some(v), None)
                    } else {
                        affected(
                            namespace,
                            &sid.package,
                            FixStatus::Affected,
                            None,
                            Some(format!(
                                "fixed in unstable in {v}; {codename} has {current}"
                            )),
                        )
                    }
                }
                (status, fixed) => {
                    affected(namespace, &sid.package, status, fixed, sid.note.clone())
                }
            };
            affected_list.push(a);
        }
    }
    report.records += 1;
    sink.record(Record::Advisory(Advisory {
        id: e.id,
        feed: Feed::DebianTracker,
        aliases: e.aliases,
        published: None,
        modified: None,
        summary: e.summary,
        severity,
        cvss: Vec::new(),
        references: Vec::new(),
        affected: affected_list,
    }));
}

/// `[11 Jul 2019] DSA-4480-1 redis - security update` into
/// (date, id, package, summary).
fn parse_dsa_header(line: &str) -> Option<(String, String, String, String)> {
    let rest = line.strip_prefix('[')?;
    let (date, rest) = rest.split_once(']')?;
    let mut parts = date.split_whitespace();
    let day: u32 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=31).contains(&day) {
        return None;
    }
    let rest = rest.trim();
    let (id, rest) = rest.split_once(char::is_whitespace)?;
    let kind = id.split('-').next()?;
    if !matches!(kind, "DSA" | "DLA" | "DTSA")
        || !id[kind.len()..]
            .trim_start_matches('-')
            .split('-')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let rest = rest.trim();
    let (package, summary) = rest
        .split_once(" - ")
        .map(|(p, s)| (p.trim(), s.trim()))
        .unwrap_or((rest, ""));
    if package.is_empty() || package.contains(char::is_whitespace) {
        return None;
    }
    Some((
        format!("{year:04}-{month:02}-{day:02}"),
        id.to_owned(),
        package.to_owned(),
        summary.to_owned(),
    ))
}

fn import_dsa_list(
    path: &Path,
    releases: &Releases,
    sink: &mut dyn Sink,
    report: &mut FeedReport,
) -> Result<()> {
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let file_name = path.display().to_string();
    let mut current: Option<Advisory> = None;
    let emit = |a: Option<Advisory>, sink: &mut dyn Sink, report: &mut FeedReport| {
        if let Some(a) = a {
            report.records += 1;
            sink.record(Record::Advisory(a));
        }
    };
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let n = n + 1;
        let line = line.map_err(|e| io_err(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(char::is_whitespace) {
            emit(current.take(), sink, report);
            match parse_dsa_header(&line) {
                Some((date, id, _package, summary)) => {
                    current = Some(Advisory {
                        id,
                        feed: Feed::DebianTracker,
                        aliases: Vec::new(),
                        published: Some(date),
                        modified: None,
                        summary: (!summary.is_empty()).then_some(summary),
                        severity: None,
                        cvss: Vec::new(),
                        references: Vec::new(),
                        affected: Vec::new(),
                    });
                }
                None => report.error(
                    file_name.clone(),
                    Some(format!("line {n}")),
                    format!("not an advisory header: {line:?}"),
                ),
            }
            continue;
        }
        let Some(a) = current.as_mut() else { continue };
        let body = line.trim();
        if let Some(ids) = body.strip_prefix('{').and_then(|b| b.strip_suffix('}')) {
            let mut ids: Vec<String> = ids.split_whitespace().map(str::to_owned).collect();
            ids.sort_by_key(|i| !i.starts_with("CVE-"));
            a.aliases.extend(ids);
        } else if let Some((Some(release), rest)) = split_package_line(body) {
            let parsed = parse_package_line(Some(release), rest).and_then(|p| {
                releases
                    .namespace(release)
                    .map(|ns| (ns, p))
                    .ok_or_else(|| format!("unknown release {release:?}"))
            });
            match parsed {
                Ok((ns, p)) => a.affected.push(affected(
                    ns,
                    &p.package,
                    p.status,
                    p.fixed.as_deref(),
                    p.note,
                )),
                Err(message) => drop_line(
                    report,
                    &file_name,
                    format!("{} line {n}", a.id),
                    releases.namespace(release).into_iter().collect(),
                    rest,
                    message,
                ),
            }
        }
        // NOTE: lines and anything else are comments.
    }
    emit(current.take(), sink, report);
    Ok(())
}

/// Imports the tracker's JSON export
/// (`{package: {CVE: {description, scope, debianbug, releases: {codename:
/// {status, fixed_version, urgency, nodsa, nodsa_reason, repositories}}}}}`).
/// It is keyed by package, so the advisories (one per CVE, as for the
/// source files) are gathered in memory and sent at the end, sorted by id.
/// `status` `resolved` with `fixed_version` `0` is `NotAffected`, with a
/// version `Fixed`; `open` is `Affected` (or `WillNotFix`/`FixDeferred`
/// when `nodsa_reason` is `ignored`/`postponed`, and `EndOfLife` when the
/// urgency is `end-of-life`); `undetermined` is `UnderInvestigation`.
pub fn import_json(path: &Path, sink: &mut dyn Sink) -> Result<FeedReport> {
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let file_name = path.display().to_string();
    let value: Value =
        serde_json::from_reader(BufReader::new(file)).map_err(|e| KbError::Format {
            path: file_name.clone(),
            message: format!("not JSON: {e}"),
        })?;
    let Some(packages) = value.as_object() else {
        return Err(KbError::Format {
            path: file_name,
            message: "expected an object keyed by source package".to_owned(),
        });
    };
    let releases = Releases {
        tracked: BTreeMap::new(),
    };
    let mut report = FeedReport::default();
    let mut advisories: BTreeMap<String, Advisory> = BTreeMap::new();
    for (package, cves) in packages {
        let Some(cves) = cves.as_object() else {
            report.error(
                file_name.clone(),
                Some(package.clone()),
                "expected an object of CVE ids",
            );
            continue;
        };
        for (id, info) in cves {
            let record = format!("{package}/{id}");
            let Some(rels) = info.get("releases").and_then(Value::as_object) else {
                report.error(file_name.clone(), Some(record), "no releases object");
                continue;
            };
            let adv = advisories.entry(id.clone()).or_insert_with(|| Advisory {
                id: id.clone(),
                feed: Feed::DebianTracker,
                aliases: Vec::new(),
                published: None,
                modified: None,
                summary: info
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .filter(|s| !s.is_empty()),
                severity: None,
                cvss: Vec::new(),
                references: Vec::new(),
                affected: Vec::new(),
            });
            for (codename, rel) in rels {
                match json_release(package, codename, rel, &releases) {
                    Ok((a, urgency)) => {
                        if adv.severity.is_none()
                            && let Some(u) = urgency
                        {
                            adv.severity = Some(Severity {
                                source: "debian".to_owned(),
                                value: u,
                            });
                        }
                        adv.affected.push(a);
                    }
                    Err(message) => match releases.namespace(codename) {
                        Some(ns) => report.dropped(
                            file_name.clone(),
                            Some(format!("{record} {codename}")),
                            &ns,
                            package,
                            message,
                        ),
                        None => report.error(
                            file_name.clone(),
                            Some(format!("{record} {codename}")),
                            message,
                        ),
                    },
                }
            }
        }
    }
    for (_, adv) in advisories {
        report.records += 1;
        sink.record(Record::Advisory(adv));
    }
    Ok(report)
}

fn json_release(
    package: &str,
    codename: &str,
    rel: &Value,
    releases: &Releases,
) -> std::result::Result<(Affected, Option<String>), String> {
    let namespace = releases
        .namespace(codename)
        .ok_or_else(|| format!("unknown release {codename:?}"))?;
    let status = rel
        .get("status")
        .and_then(Value::as_str)
        .ok_or("no status")?;
    let urgency = rel
        .get("urgency")
        .and_then(Value::as_str)
        .filter(|u| URGENCIES.contains(u))
        .map(str::to_owned);
    let nodsa = rel.get("nodsa").and_then(Value::as_str);
    let nodsa_reason = rel.get("nodsa_reason").and_then(Value::as_str);
    let fixed = rel.get("fixed_version").and_then(Value::as_str);
    let a = match status {
        "resolved" => match fixed {
            Some("0") => affected(namespace, package, FixStatus::NotAffected, None, None),
            Some(v) => {
                check_version(v)?;
                affected(namespace, package, FixStatus::Fixed, Some(v), None)
            }
            None => return Err("resolved without fixed_version".to_owned()),
        },
        "open" => {
            let (status, prefix) = match (nodsa_reason, urgency.as_deref()) {
                (Some("ignored"), _) => (FixStatus::WillNotFix, Some("ignored")),
                (Some("postponed"), _) => (FixStatus::FixDeferred, Some("postponed")),
                (_, Some("end-of-life")) => (FixStatus::EndOfLife, Some("end-of-life")),
                _ if nodsa.is_some() => (FixStatus::Affected, Some("no-dsa")),
                _ => (FixStatus::Affected, None),
            };
            let note = prefix.map(|p| match nodsa.filter(|s| !s.is_empty()) {
                Some(reason) => format!("{p}: {reason}"),
                None => p.to_owned(),
            });
            affected(namespace, package, status, None, note)
        }
        "undetermined" => affected(
            namespace,
            package,
            FixStatus::UnderInvestigation,
            None,
            None,
        ),
        other => return Err(format!("unknown status {other:?}")),
    };
    Ok((a, urgency))
}
