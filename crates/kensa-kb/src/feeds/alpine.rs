//! Alpine secdb (`secdb.alpinelinux.org/v3.N/{main,community}.{yaml,json}`
//! and `edge/`): `{distroversion, reponame, archs, urlprefix, apkurl,
//! packages: [{pkg: {name, secfixes: {"<fixed apk version>": [ids]}}}]}`.
//!
//! Decisions:
//!
//! - Secdb has no advisory ids of its own. One [`Advisory`] per
//!   (file, vulnerability id), keyed by the id as the Debian tracker is
//!   (feed [`Feed::AlpineSecdb`]), with one [`Affected`] per (package,
//!   fixed version) of that file naming it; namespace `alpine:3.11` from
//!   `distroversion` (`v3.11`; `edge` is `alpine:edge`), package = the
//!   secdb name (the aports origin, i.e. the source package). The same CVE
//!   in another release or repository file is another record with the same
//!   id: a store merges them by id.
//! - A secfixes key is the apk version that fixes the ids listed under it
//!   (`Fixed`, `[introduced 0, fixed V]`), validated with the apk
//!   comparator; an invalid key (`2.7.16-33`) is a per-entry error and its
//!   ids are not imported. The key `"0"` is `NotAffected`: in secdb
//!   semantics a CVE "fixed in 0" never affected Alpine's package (the
//!   secdb mirror's description; Alpine's security team describes
//!   attributing a fix to version 0 as the way maintainers reject a CVE
//!   that is irrelevant to their package).
//! - Each list entry holds one or more ids, optionally followed by a
//!   comment in parentheses: `CVE-2017-8904 XSA-214`, `CVE-2018-14462
//!   (ICMP)`. Every CVE id of the entry is an advisory id and the other
//!   ids (`XSA-214`) its aliases; an entry without a CVE id has its first
//!   id as the advisory id. An id is a letter-led word of
//!   letters, digits and hyphens containing a hyphen (`CVE-2017-1`,
//!   `XSA-207`, `TALOS-2017-0499`, `wnpa-sec-2017-21`); a CVE id with a
//!   sub-issue suffix (`CVE-2017-17434-1`) is the CVE id. Anything else
//!   (`CVE_2019-2426`, `CVE-2017-8073.patch`, `CVE 2018-16859`) is garbage:
//!   a per-entry error naming the file, package, key and (YAML) line. Two
//!   leniencies, both seen in the real files: a placeholder
//!   `CVE-????-?????` next to a real id (`XSA-295`) is dropped, and a plain
//!   word after the ids (`XSA-254 XPTI`) is a comment.
//! - The YAML is parsed by hand (the secdb layout only: top-level scalars,
//!   `archs`, `packages` of `- pkg:` with `name` and `secfixes`), so that
//!   an error names its line and a bad entry never loses the file. JSON is
//!   read with serde_json; `"packages": {}` and an empty `{}` in place of a
//!   list, both seen in the served files, are read as empty.
//! - Wolfi's and Chainguard's secdb files are the same format without a
//!   `distroversion` (rolling distributions): namespace `wolfi:rolling` or
//!   `chainguard:rolling` (as their OSV records), told by the `urlprefix`
//!   (`https://packages.wolfi.dev`, `https://libraries.cgr.dev`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use kensa_version::apk;
use serde_json::Value;

use crate::model::{Advisory, Affected, Event, Feed, FeedReport, FixStatus, Record, Sink};
use crate::{KbError, Result};

/// One secdb file, as read.
#[derive(Debug, Default)]
struct SecDb {
    distroversion: Option<String>,
    reponame: Option<String>,
    urlprefix: Option<String>,
    packages: Vec<Package>,
}

#[derive(Debug, Default)]
struct Package {
    name: Option<String>,
    line: Option<usize>,
    fixes: Vec<Fix>,
}

#[derive(Debug)]
struct Fix {
    key: String,
    line: Option<usize>,
    ids: Vec<(String, Option<usize>)>,
}

/// Imports one secdb file, YAML (`.yaml`, `.yml`) or JSON (anything else).
pub fn import(path: &Path, sink: &mut dyn Sink) -> Result<FeedReport> {
    let mut report = FeedReport::default();
    import_file(path, sink, &mut report)?;
    Ok(report)
}

/// Imports a secdb tree: every `<release>/<repo>.json` under `dir`, and
/// `<release>/<repo>.yaml` where no JSON twin exists (the twins hold the
/// same content). A file that cannot be read at all is a per-file error.
pub fn import_dir(dir: &Path, sink: &mut dyn Sink) -> Result<FeedReport> {
    let mut report = FeedReport::default();
    let io = |e| KbError::Io {
        path: dir.display().to_string(),
        source: e,
    };
    let mut releases: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    releases.sort();
    for release in releases {
        let Ok(entries) = std::fs::read_dir(&release) else {
            continue;
        };
        let mut files: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for file in &files {
            let ext = file
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default();
            let take = match ext {
                "json" => true,
                "yaml" | "yml" => !file.with_extension("json").exists(),
                _ => false,
            };
            if take && let Err(e) = import_file(file, sink, &mut report) {
                report.error(file.display().to_string(), None, e.to_string());
            }
        }
    }
    Ok(report)
}

fn import_file(path: &Path, sink: &mut dyn Sink, report: &mut FeedReport) -> Result<()> {
    let file_name = path.display().to_string();
    let yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    let db = if yaml {
        read_yaml(path, report)?
    } else {
        read_json(path, report)?
    };
    let format_err = |message: String| KbError::Format {
        path: file_name.clone(),
        message,
    };
    // Wolfi's and Chainguard's secdb (`packages.wolfi.dev/os/security.json`,
    // `libraries.cgr.dev/chainguard/security.json`) are the same format
    // for a rolling distribution: no `distroversion`; the repository's
    // address says whose it is.
    let rolling = match db.urlprefix.as_deref() {
        _ if db.distroversion.is_some() => None,
        Some(u) if u.contains("wolfi.dev") => Some("wolfi:rolling"),
        Some(u) if u.contains("cgr.dev") || u.contains("chainguard") => Some("chainguard:rolling"),
        _ => None,
    };
    let release = match (db.distroversion.as_deref(), rolling) {
        (Some(r), _) => r,
        (None, Some(ns)) => ns,
        (None, None) => {
            return Err(format_err(
                "no distroversion, and the urlprefix is neither Wolfi's nor Chainguard's"
                    .to_owned(),
            ));
        }
    };
    let namespace = match release.strip_prefix('v').unwrap_or(release) {
        ns if rolling == Some(ns) => ns.to_owned(),
        "edge" => "alpine:edge".to_owned(),
        r if r.split('.').count() == 2
            && r.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) =>
        {
            format!("alpine:{r}")
        }
        _ => return Err(format_err(format!("unknown distroversion {release:?}"))),
    };
    let _ = &db.reponame;
    let mut advisories: BTreeMap<String, Advisory> = BTreeMap::new();
    for pkg in &db.packages {
        let Some(name) = pkg.name.as_deref().filter(|n| !n.is_empty()) else {
            report.error(
                file_name.clone(),
                pkg.line.map(|l| format!("line {l}")),
                "package without a name",
            );
            continue;
        };
        for fix in &pkg.fixes {
            let at = |line: Option<usize>| match line {
                Some(l) => format!("{name} {} line {l}", fix.key),
                None => format!("{name} {}", fix.key),
            };
            let status = if fix.key == "0" {
                FixStatus::NotAffected
            } else if let Err(e) = apk::validate(&fix.key) {
                let ids: Vec<&str> = fix.ids.iter().map(|(id, _)| id.as_str()).collect();
                report.dropped(
                    file_name.clone(),
                    Some(at(fix.line)),
                    &namespace,
                    name,
                    format!(
                        "invalid fixed version: {e}; not imported: {}",
                        ids.join(", ")
                    ),
                );
                continue;
            } else {
                FixStatus::Fixed
            };
            for (entry, line) in &fix.ids {
                let (ids, aliases) = match parse_ids(entry) {
                    Ok(parsed) => parsed,
                    Err(message) => {
                        report.dropped(
                            file_name.clone(),
                            Some(at(line.or(fix.line))),
                            &namespace,
                            name,
                            message,
                        );
                        continue;
                    }
                };
                for id in &ids {
                    let adv = advisories.entry(id.clone()).or_insert_with(|| Advisory {
                        id: id.clone(),
                        feed: Feed::AlpineSecdb,
                        aliases: Vec::new(),
                        published: None,
                        modified: None,
                        summary: None,
                        severity: None,
                        cvss: Vec::new(),
                        references: Vec::new(),
                        affected: Vec::new(),
                    });
                    for a in &aliases {
                        if !adv.aliases.contains(a) {
                            adv.aliases.push(a.clone());
                        }
                    }
                    let duplicate = adv
                        .affected
                        .iter()
                        .any(|a| a.package == name && a.fixed.as_deref() == Some(fix.key.as_str()));
                    if duplicate {
                        continue;
                    }
                    let (ranges, fixed, note) = match status {
                        FixStatus::Fixed => (
                            vec![vec![
                                Event::Introduced("0".to_owned()),
                                Event::Fixed(fix.key.clone()),
                            ]],
                            Some(fix.key.clone()),
                            None,
                        ),
                        _ => (
                            Vec::new(),
                            None,
                            Some("secfixes \"0\": never affected the Alpine package".to_owned()),
                        ),
                    };
                    adv.affected.push(Affected {
                        namespace: namespace.clone(),
                        package: name.to_owned(),
                        status,
                        ranges,
                        versions: Vec::new(),
                        fixed,
                        note,
                        module: None,
                        arches: Vec::new(),
                    });
                }
            }
        }
    }
    for (_, mut adv) in advisories {
        adv.aliases.sort_by_key(|a| !a.starts_with("CVE-"));
        // JSON objects come in key order, YAML in file order: one order.
        adv.affected.sort_by(|x, y| {
            x.package
                .cmp(&y.package)
                .then_with(|| match (&x.fixed, &y.fixed) {
                    (Some(a), Some(b)) => apk::compare(a, b).unwrap_or_else(|_| a.cmp(b)),
                    (a, b) => a.cmp(b),
                })
        });
        report.records += 1;
        sink.record(Record::Advisory(adv));
    }
    Ok(())
}

/// The ids of one secfixes entry: the advisory ids (every CVE id, else the
/// first id) and the aliases (the other ids). See the module docs.
fn parse_ids(entry: &str) -> std::result::Result<(Vec<String>, Vec<String>), String> {
    let text = entry.split('(').next().unwrap_or_default().trim();
    if text.is_empty() {
        return Err(format!("no id in {entry:?}"));
    }
    let mut ids = Vec::new();
    for token in text.split_whitespace() {
        if token
            .strip_prefix("CVE-")
            .is_some_and(|r| r.chars().all(|c| c == '?' || c == '-'))
        {
            // `CVE-????-?????`: a CVE id not assigned yet.
            continue;
        }
        if !ids.is_empty()
            && !token.contains('-')
            && token.chars().all(|c| c.is_ascii_alphanumeric())
        {
            // A plain word after the ids (`XSA-254 XPTI`): a comment.
            continue;
        }
        let valid = token.starts_with(|c: char| c.is_ascii_alphabetic())
            && token.contains('-')
            && !token.ends_with('-')
            && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid {
            return Err(format!("not a vulnerability id: {token:?} in {entry:?}"));
        }
        let id = if token.starts_with("CVE-") {
            let parts: Vec<&str> = token.splitn(4, '-').collect();
            let ok = parts.len() >= 3
                && parts[1].len() == 4
                && parts[1].bytes().all(|b| b.is_ascii_digit())
                && parts[2].len() >= 4
                && parts[2].bytes().all(|b| b.is_ascii_digit());
            if !ok {
                return Err(format!("not a CVE id: {token:?} in {entry:?}"));
            }
            format!("CVE-{}-{}", parts[1], parts[2])
        } else {
            token.to_owned()
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err(format!("no id in {entry:?}"));
    }
    let (mut cves, others): (Vec<String>, Vec<String>) =
        ids.into_iter().partition(|i| i.starts_with("CVE-"));
    if cves.is_empty() {
        let mut others = others.into_iter();
        cves.extend(others.next());
        return Ok((cves, others.collect()));
    }
    Ok((cves, others))
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    let inner = s
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')));
    inner.unwrap_or(s).to_owned()
}

/// Reads the secdb YAML layout by hand, line by line.
fn read_yaml(path: &Path, report: &mut FeedReport) -> Result<SecDb> {
    let file = File::open(path).map_err(|e| KbError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    let file_name = path.display().to_string();
    let mut db = SecDb::default();
    let mut in_packages = false;
    let mut in_secfixes = false;
    let mut pkg: Option<Package> = None;
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let n = n + 1;
        let line = line.map_err(|e| KbError::Format {
            path: file_name.clone(),
            message: format!("line {n}: {e}"),
        })?;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed == "---" || trimmed == "..." {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if indent == 0 && !trimmed.starts_with('-') {
            let Some((key, value)) = trimmed.split_once(':') else {
                report.error(
                    file_name.clone(),
                    Some(format!("line {n}")),
                    format!("unexpected line {trimmed:?}"),
                );
                continue;
            };
            if let Some(p) = pkg.take() {
                db.packages.push(p);
            }
            in_packages = key == "packages";
            in_secfixes = false;
            match key {
                "distroversion" => db.distroversion = Some(unquote(value)),
                "reponame" => db.reponame = Some(unquote(value)),
                "urlprefix" => db.urlprefix = Some(unquote(value)),
                _ => {}
            }
            continue;
        }
        if !in_packages {
            // archs items and other top-level values.
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('-') {
            let item = rest.trim();
            if item == "pkg:" {
                if let Some(p) = pkg.take() {
                    db.packages.push(p);
                }
                pkg = Some(Package {
                    line: Some(n),
                    ..Package::default()
                });
                in_secfixes = false;
                continue;
            }
            let fix = pkg
                .as_mut()
                .filter(|_| in_secfixes)
                .and_then(|p| p.fixes.last_mut());
            match fix {
                Some(fix) => fix.ids.push((unquote(item), Some(n))),
                None => report.error(
                    file_name.clone(),
                    Some(format!("line {n}")),
                    format!("list item outside a secfixes version: {trimmed:?}"),
                ),
            }
            continue;
        }
        let Some(p) = pkg.as_mut() else {
            report.error(
                file_name.clone(),
                Some(format!("line {n}")),
                format!("unexpected line {trimmed:?}"),
            );
            continue;
        };
        let split = match trimmed.strip_prefix('"') {
            Some(rest) => rest
                .split_once('"')
                .and_then(|(k, r)| r.trim_start().strip_prefix(':').map(|v| (k, v))),
            None => trimmed.split_once(':'),
        };
        let Some((key, value)) = split else {
            report.error(
                file_name.clone(),
                Some(format!("line {n}")),
                format!("unexpected line {trimmed:?}"),
            );
            continue;
        };
        let key_plain = unquote(key);
        match (key_plain.as_str(), in_secfixes) {
            ("name", false) => p.name = Some(unquote(value)),
            ("secfixes", false) => in_secfixes = true,
            (_, true) if value.trim().is_empty() || value.trim() == "{}" => p.fixes.push(Fix {
                key: key_plain,
                line: Some(n),
                ids: Vec::new(),
            }),
            // A flow sequence: `1.2-r0: [CVE-1, CVE-2]`.
            (_, true) if value.trim().starts_with('[') && value.trim().ends_with(']') => {
                let inner = &value.trim()[1..value.trim().len() - 1];
                p.fixes.push(Fix {
                    key: key_plain,
                    line: Some(n),
                    ids: inner
                        .split(',')
                        .map(unquote)
                        .filter(|s| !s.is_empty())
                        .map(|s| (s, Some(n)))
                        .collect(),
                });
            }
            _ => report.error(
                file_name.clone(),
                Some(format!("line {n}")),
                format!("unexpected line {trimmed:?}"),
            ),
        }
    }
    if let Some(p) = pkg.take() {
        db.packages.push(p);
    }
    Ok(db)
}

fn read_json(path: &Path, report: &mut FeedReport) -> Result<SecDb> {
    let file = File::open(path).map_err(|e| KbError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    let file_name = path.display().to_string();
    let value: Value =
        serde_json::from_reader(BufReader::new(file)).map_err(|e| KbError::Format {
            path: file_name.clone(),
            message: format!("not JSON: {e}"),
        })?;
    let text = |k: &str| value.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut db = SecDb {
        distroversion: text("distroversion"),
        reponame: text("reponame"),
        urlprefix: text("urlprefix"),
        packages: Vec::new(),
    };
    let packages = match value.get("packages") {
        Some(Value::Array(a)) => a.as_slice(),
        Some(Value::Object(o)) if o.is_empty() => &[],
        Some(Value::Null) | None => &[],
        Some(_) => {
            return Err(KbError::Format {
                path: file_name,
                message: "packages is not a list".to_owned(),
            });
        }
    };
    for (i, item) in packages.iter().enumerate() {
        let Some(pkg) = item.get("pkg") else {
            report.error(
                file_name.clone(),
                Some(format!("packages[{i}]")),
                "no pkg object",
            );
            continue;
        };
        let name = pkg.get("name").and_then(Value::as_str).map(str::to_owned);
        let mut fixes = Vec::new();
        match pkg.get("secfixes") {
            Some(Value::Object(map)) => {
                for (key, ids) in map {
                    let ids = match ids {
                        Value::Array(list) => list
                            .iter()
                            .map(|v| match v {
                                Value::String(s) => (s.clone(), None),
                                other => (other.to_string(), None),
                            })
                            .collect(),
                        Value::Object(o) if o.is_empty() => Vec::new(),
                        Value::Null => Vec::new(),
                        other => {
                            report.error(
                                file_name.clone(),
                                Some(format!("{} {key}", name.as_deref().unwrap_or("?"))),
                                format!("secfixes entry is not a list: {other}"),
                            );
                            continue;
                        }
                    };
                    fixes.push(Fix {
                        key: key.clone(),
                        line: None,
                        ids,
                    });
                }
            }
            None | Some(Value::Null) => {}
            Some(other) => report.error(
                file_name.clone(),
                Some(name.clone().unwrap_or_else(|| format!("packages[{i}]"))),
                format!("secfixes is not a map: {other}"),
            ),
        }
        db.packages.push(Package {
            name,
            line: None,
            fixes,
        });
    }
    Ok(db)
}
