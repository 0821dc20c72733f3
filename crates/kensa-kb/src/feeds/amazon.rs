//! Amazon Linux Security Advisories (ALAS) from a repository's
//! `updateinfo.xml` (gzip-compressed or not), and the `repomd.xml` that
//! says where that file is.
//!
//! Decisions:
//!
//! - One [`Advisory`] per `<update>` (feed [`Feed::AmazonAlas`], id
//!   `ALAS2-2018-939`, `ALAS2023-2023-001`), aliases = the CVE ids of its
//!   `<references>` (`type="cve"`), references = every reference `href`,
//!   summary = the title, severity = `<severity>` as written (source
//!   `alas`), published/modified = the `issued`/`updated` dates as written
//!   (`2018-01-11 21:05`, UTC).
//! - The release comes from the id prefix: `ALAS-` is `amzn:1` (the old
//!   AMI, as `kensa-inventory` names it), `ALAS2-` `amzn:2` (and AL2's
//!   extras, `ALAS2KERNEL-5.10-…`, `ALAS2DOCKER-…`), `ALASnnnn-`
//!   `amzn:nnnn` (2022, 2023), else from the collection's `short` name
//!   (`amazon-linux-2023`). [`import_as`] forces a namespace for a
//!   repository whose ids say nothing (extras, Kernel Live Patching).
//! - One [`Affected`] per package name (the binary RPM name, as Amazon
//!   lists it) and fixed version, `Fixed` with
//!   `[introduced 0, fixed EVR]`; the architectures it is listed for are
//!   collected in `arches`. The fixed version is `epoch:version-release`
//!   with the epoch written only when it is not zero (the rpm comparator
//!   reads a missing epoch as 0, and rpm prints it that way), validated
//!   with the rpm comparator.
//! - A bad `<update>` (no id, a package without a version, an unknown
//!   release) is a per-record error naming the file and the id. A document
//!   that breaks off (truncated gzip, XML syntax error, missing end tags)
//!   keeps the updates read before the break and reports one error naming
//!   the file, the last id and the byte position.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use kensa_version::rpm;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event as XmlEvent};

use super::xml_text::{self, TextRun};

use crate::model::{
    Advisory, Affected, Event, Feed, FeedReport, FixStatus, Record, Severity, Sink,
};
use crate::{KbError, Result};

/// Imports an `updateinfo.xml(.gz)`, the release of each update taken from
/// its id (or its collection).
pub fn import(path: &Path, sink: &mut dyn Sink) -> Result<FeedReport> {
    import_inner(path, None, sink)
}

/// Imports an `updateinfo.xml(.gz)` whose updates all belong to
/// `namespace` (`amzn:2023`).
pub fn import_as(path: &Path, namespace: &str, sink: &mut dyn Sink) -> Result<FeedReport> {
    import_inner(path, Some(namespace), sink)
}

fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    let io = |e| KbError::Io {
        path: path.display().to_string(),
        source: e,
    };
    let mut file = BufReader::new(File::open(path).map_err(io)?);
    let gz = file.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
    Ok(if gz {
        Box::new(BufReader::new(MultiGzDecoder::new(file)))
    } else {
        Box::new(file)
    })
}

/// The namespace an ALAS id belongs to.
pub fn namespace_of(id: &str, collection: Option<&str>) -> Option<String> {
    let prefix = id.split('-').next().unwrap_or_default();
    if let Some(rest) = prefix.strip_prefix("ALAS") {
        if rest.is_empty() {
            return Some("amzn:1".to_owned());
        }
        // `ALAS2023`, and AL2's extras (`ALAS2KERNEL-5.10-…`,
        // `ALAS2DOCKER-…`): the leading digits, then letters or nothing.
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let (release, extra) = rest.split_at(digits);
        if !release.is_empty() && extra.bytes().all(|b| b.is_ascii_uppercase()) {
            return Some(format!("amzn:{release}"));
        }
    }
    let release = collection?.strip_prefix("amazon-linux-")?;
    (!release.is_empty() && release.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("amzn:{release}"))
}

#[derive(Default)]
struct Update {
    id: Option<String>,
    title: Option<String>,
    issued: Option<String>,
    updated: Option<String>,
    severity: Option<String>,
    aliases: Vec<String>,
    references: Vec<String>,
    collection: Option<String>,
    /// (name, evr, arch)
    packages: Vec<(String, String, String)>,
    problems: Vec<String>,
}

fn attr(e: &BytesStart<'_>, name: &[u8]) -> std::result::Result<Option<String>, String> {
    for a in e.attributes() {
        let a = a.map_err(|err| format!("bad attribute: {err}"))?;
        if a.key.local_name().as_ref() == name {
            let v =
                xml_text::attr_value(&a).map_err(|err| format!("bad attribute value: {err}"))?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

fn import_inner(path: &Path, forced: Option<&str>, sink: &mut dyn Sink) -> Result<FeedReport> {
    let file_name = path.display().to_string();
    let mut reader = Reader::from_reader(open(path)?);
    xml_text::configure(&mut reader);
    let mut report = FeedReport::default();
    let mut buf = Vec::new();
    let mut stack: Vec<Vec<u8>> = Vec::new();
    let mut update: Option<Update> = None;
    let mut last_id: Option<String> = None;
    let mut seen_root = false;
    let mut text = TextRun::default();
    loop {
        let event = reader.read_event_into(&mut buf);
        // The text of an `<id>`, `<title>` or `<severity>` comes in pieces
        // (references are events of their own); it is used at the next
        // markup, error or end of input.
        let wanted = |update: &Option<Update>, stack: &[Vec<u8>]| {
            update.is_some()
                && stack
                    .last()
                    .is_some_and(|top| matches!(top.as_slice(), b"id" | b"title" | b"severity"))
        };
        match &event {
            Ok(XmlEvent::Text(t)) => {
                if wanted(&update, &stack) {
                    text.push_text(t);
                }
                buf.clear();
                continue;
            }
            Ok(XmlEvent::GeneralRef(r)) => {
                if wanted(&update, &stack) {
                    text.push_ref(r);
                }
                buf.clear();
                continue;
            }
            _ => {
                if let (Some(t), Some(u), Some(top)) = (text.take(), update.as_mut(), stack.last())
                {
                    match t {
                        Ok(t) => {
                            let t = t.trim().to_owned();
                            match top.as_slice() {
                                b"id" => u.id = Some(t),
                                b"title" => u.title = Some(t),
                                _ => u.severity = Some(t),
                            }
                        }
                        Err(err) => u.problems.push(format!(
                            "bad text in <{}>: {err}",
                            String::from_utf8_lossy(top)
                        )),
                    }
                }
            }
        }
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                let at = update
                    .as_ref()
                    .and_then(|u| u.id.clone())
                    .or_else(|| last_id.clone().map(|l| format!("after {l}")));
                report.error(
                    file_name.clone(),
                    at,
                    format!(
                        "document breaks off at byte {}: {e}",
                        reader.buffer_position()
                    ),
                );
                return Ok(report);
            }
        };
        match event {
            XmlEvent::Start(ref e) | XmlEvent::Empty(ref e) if !seen_root => {
                if e.local_name().as_ref() != b"updates" {
                    return Err(KbError::Format {
                        path: file_name,
                        message: format!(
                            "not an updateinfo document: root element <{}>",
                            String::from_utf8_lossy(e.local_name().as_ref())
                        ),
                    });
                }
                seen_root = true;
                if matches!(event, XmlEvent::Start(_)) {
                    stack.push(b"updates".to_vec());
                }
            }
            XmlEvent::Start(e) => {
                let name = e.local_name().as_ref().to_vec();
                start_element(&name, &e, &mut update);
                stack.push(name);
            }
            XmlEvent::Empty(e) => {
                let name = e.local_name().as_ref().to_vec();
                start_element(&name, &e, &mut update);
            }
            XmlEvent::End(e) => {
                stack.pop();
                if e.local_name().as_ref() == b"update"
                    && let Some(u) = update.take()
                {
                    last_id = u.id.clone().or(last_id);
                    finish(u, forced, &file_name, sink, &mut report);
                }
            }
            XmlEvent::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !seen_root {
        return Err(KbError::Format {
            path: file_name,
            message: "not an updateinfo document: no <updates> element".to_owned(),
        });
    }
    if !stack.is_empty() {
        let at = update
            .as_ref()
            .and_then(|u| u.id.clone())
            .or_else(|| last_id.map(|l| format!("after {l}")));
        report.error(
            file_name,
            at,
            format!(
                "document breaks off inside <{}>",
                String::from_utf8_lossy(stack.last().map(Vec::as_slice).unwrap_or_default())
            ),
        );
    }
    Ok(report)
}

fn start_element(name: &[u8], e: &BytesStart<'_>, update: &mut Option<Update>) {
    if name == b"update" {
        *update = Some(Update::default());
        return;
    }
    let Some(u) = update.as_mut() else { return };
    let mut get = |key: &[u8]| match attr(e, key) {
        Ok(v) => v,
        Err(message) => {
            u.problems.push(message);
            None
        }
    };
    match name {
        b"issued" => {
            let v = get(b"date");
            u.issued = v;
        }
        b"updated" => {
            let v = get(b"date");
            u.updated = v;
        }
        b"reference" => {
            let href = get(b"href");
            let id = get(b"id");
            let kind = get(b"type");
            if let Some(h) = href.filter(|h| !h.is_empty()) {
                u.references.push(h);
            }
            if kind.as_deref() == Some("cve")
                && let Some(id) = id
                && !u.aliases.contains(&id)
            {
                u.aliases.push(id);
            }
        }
        b"collection" => {
            let v = get(b"short");
            u.collection = v;
        }
        b"package" => {
            let name = get(b"name");
            let epoch = get(b"epoch");
            let version = get(b"version");
            let release = get(b"release");
            let arch = get(b"arch").unwrap_or_default();
            match (name, version, release) {
                (Some(n), Some(v), Some(r)) if !n.is_empty() && !v.is_empty() && !r.is_empty() => {
                    let evr = match epoch.as_deref().map(str::trim) {
                        None | Some("" | "0") => format!("{v}-{r}"),
                        Some(e) => format!("{e}:{v}-{r}"),
                    };
                    u.packages.push((n, evr, arch));
                }
                (n, _, _) => u.problems.push(format!(
                    "package {} without name, version or release",
                    n.unwrap_or_default()
                )),
            }
        }
        _ => {}
    }
}

fn finish(
    u: Update,
    forced: Option<&str>,
    file_name: &str,
    sink: &mut dyn Sink,
    report: &mut FeedReport,
) {
    let Some(id) = u.id.filter(|i| !i.is_empty()) else {
        report.error(
            file_name.to_owned(),
            u.title.clone(),
            "<update> without an <id>",
        );
        return;
    };
    for p in &u.problems {
        report.error(file_name.to_owned(), Some(id.clone()), p.clone());
    }
    let namespace = match forced {
        Some(ns) => ns.to_owned(),
        None => match namespace_of(&id, u.collection.as_deref()) {
            Some(ns) => ns,
            None => {
                report.error(
                    file_name.to_owned(),
                    Some(id),
                    "cannot tell the Amazon Linux release from the id or the collection",
                );
                return;
            }
        },
    };
    let mut affected: Vec<Affected> = Vec::new();
    for (name, evr, arch) in u.packages {
        if let Err(e) = rpm::validate(&evr) {
            report.error(
                file_name.to_owned(),
                Some(id.clone()),
                format!("{name}: invalid version: {e}"),
            );
            continue;
        }
        match affected
            .iter_mut()
            .find(|a| a.package == name && a.fixed.as_deref() == Some(evr.as_str()))
        {
            Some(a) => {
                if !arch.is_empty() && !a.arches.contains(&arch) {
                    a.arches.push(arch);
                }
            }
            None => affected.push(Affected {
                namespace: namespace.clone(),
                package: name,
                status: FixStatus::Fixed,
                ranges: vec![vec![
                    Event::Introduced("0".to_owned()),
                    Event::Fixed(evr.clone()),
                ]],
                versions: Vec::new(),
                fixed: Some(evr),
                note: None,
                module: None,
                arches: if arch.is_empty() {
                    Vec::new()
                } else {
                    vec![arch]
                },
            }),
        }
    }
    for a in &mut affected {
        let set: BTreeSet<String> = a.arches.drain(..).collect();
        a.arches = set.into_iter().collect();
    }
    affected.sort_by(|a, b| a.package.cmp(&b.package));
    report.records += 1;
    sink.record(Record::Advisory(Advisory {
        id,
        feed: Feed::AmazonAlas,
        aliases: u.aliases,
        published: u.issued,
        modified: u.updated,
        summary: u.title,
        severity: u.severity.map(|value| Severity {
            source: "alas".to_owned(),
            value,
        }),
        cvss: Vec::new(),
        references: u.references,
        affected,
    }));
}

/// One `<data>` entry of a `repomd.xml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepomdData {
    /// `updateinfo`, `primary_db`, ...
    pub kind: String,
    /// `location href`, relative to the repository root
    /// (`repodata/updateinfo.xml.gz`).
    pub href: String,
    /// `(algorithm, hex)` of the file as stored.
    pub checksum: Option<(String, String)>,
    /// `(algorithm, hex)` of the file once decompressed.
    pub open_checksum: Option<(String, String)>,
    pub size: Option<u64>,
}

/// Where a repository's `updateinfo` file is, from its `repomd.xml`. An
/// error names the file when it is not a repomd document or has no
/// `updateinfo` entry.
pub fn updateinfo_location(path: &Path) -> Result<RepomdData> {
    let file_name = path.display().to_string();
    read_repomd(path)?
        .into_iter()
        .find(|d| d.kind == "updateinfo")
        .ok_or_else(|| KbError::Format {
            path: file_name,
            message: "repomd.xml has no <data type=\"updateinfo\"> with a location".to_owned(),
        })
}

/// Every `<data>` entry of a `repomd.xml`.
pub fn read_repomd(path: &Path) -> Result<Vec<RepomdData>> {
    let file_name = path.display().to_string();
    let fmt = |message: String| KbError::Format {
        path: file_name.clone(),
        message,
    };
    let mut text = String::new();
    open(path)?
        .read_to_string(&mut text)
        .map_err(|e| KbError::Io {
            path: file_name.clone(),
            source: e,
        })?;
    let mut reader = Reader::from_str(&text);
    xml_text::configure(&mut reader);
    let mut out = Vec::new();
    let mut current: Option<RepomdData> = None;
    let mut pending_checksum: Option<(bool, String)> = None;
    let mut in_size = false;
    let mut root_seen = false;
    let mut run = TextRun::default();
    loop {
        let event = reader.read_event();
        // Text comes in pieces (references are events of their own); it is
        // used at the next markup, error or end of input.
        match &event {
            Ok(XmlEvent::Text(t)) => {
                run.push_text(t);
                continue;
            }
            Ok(XmlEvent::GeneralRef(r)) => {
                run.push_ref(r);
                continue;
            }
            _ => {
                if let Some(text) = run.take() {
                    let text = text
                        .map_err(|e| fmt(format!("bad text: {e}")))?
                        .trim()
                        .to_owned();
                    if let Some(d) = current.as_mut() {
                        if let Some((open, algo)) = pending_checksum.take() {
                            if open {
                                d.open_checksum = Some((algo, text));
                            } else {
                                d.checksum = Some((algo, text));
                            }
                        } else if in_size {
                            d.size = text.parse().ok();
                        }
                    }
                }
            }
        }
        let event = event.map_err(|e| {
            fmt(format!(
                "XML error at byte {}: {e}",
                reader.buffer_position()
            ))
        })?;
        match event {
            XmlEvent::Start(e) | XmlEvent::Empty(e) => {
                let name = e.local_name().as_ref().to_vec();
                if !root_seen {
                    if name != b"repomd" {
                        return Err(fmt(format!(
                            "not a repomd document: root element <{}>",
                            String::from_utf8_lossy(&name)
                        )));
                    }
                    root_seen = true;
                    continue;
                }
                match name.as_slice() {
                    b"data" => {
                        current = Some(RepomdData {
                            kind: attr(&e, b"type").map_err(&fmt)?.unwrap_or_default(),
                            href: String::new(),
                            checksum: None,
                            open_checksum: None,
                            size: None,
                        });
                    }
                    b"location" => {
                        if let Some(d) = current.as_mut() {
                            d.href = attr(&e, b"href").map_err(&fmt)?.unwrap_or_default();
                        }
                    }
                    b"checksum" | b"open-checksum" => {
                        let algo = attr(&e, b"type").map_err(&fmt)?.unwrap_or_default();
                        pending_checksum = Some((name == b"open-checksum", algo));
                    }
                    b"size" => in_size = true,
                    _ => {}
                }
            }
            XmlEvent::End(e) => {
                match e.local_name().as_ref() {
                    b"data" => {
                        if let Some(d) = current.take().filter(|d| !d.href.is_empty()) {
                            out.push(d);
                        }
                    }
                    b"size" => in_size = false,
                    _ => {}
                }
                pending_checksum = None;
            }
            XmlEvent::Eof => break,
            _ => {}
        }
    }
    if !root_seen {
        return Err(fmt("not a repomd document: no <repomd> element".to_owned()));
    }
    Ok(out)
}
