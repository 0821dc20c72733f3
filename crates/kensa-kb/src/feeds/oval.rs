//! OVAL: CBL-Mariner / Azure Linux here, SUSE and Oracle Linux in
//! `oval_vendor.rs` beside this file (the generator says whose a file is).
//!
//! CBL-Mariner / Azure Linux OVAL (`cbl-mariner-2.0-oval.xml`,
//! `azurelinux-3.0-oval.xml`) into [`Advisory`] records (feed `Oval`), one
//! per `<definition>`.
//!
//! The file is read twice with a streaming XML reader and never held whole:
//! the first pass keeps only the small `rpminfo_test` → object/state maps,
//! package names and `evr` states (they come after the definitions); the
//! second pass emits each definition as soon as its end tag is read.
//!
//! Mapping, checked against the published files:
//! - namespace: `mariner:<v>` / `azurelinux:<v>` from the file name
//!   (`cbl-mariner-2.0[-preview]-oval.xml`, `azurelinux-3.0-oval.xml`), the
//!   distribution cross-checked with the generator's `product_name`; when
//!   the name has no version, from the state's dist tag (`.cm2`, `.azl3`).
//! - `evr operation="less than"` with `patchable` true (or absent): status
//!   `Fixed`, `fixed` = the evr as published (`0:1.20.7-1.azl3`), range
//!   `[introduced 0, fixed evr]`.
//! - `patchable false` (the files pair it with `less than or equal`, "is
//!   installed with version X or earlier"): status `Affected`, no fix,
//!   range `[introduced 0, last_affected evr]` (`less than` gives `limit`).
//! - `greater than [or equal]` criteria are lower bounds; `0:0.0.0…` (every
//!   version) is dropped, others become `introduced`.
//! - id: the definition id; aliases: the `reference source="CVE"` ids;
//!   summary: the title; published: `advisory_date`; severity the vendor's.
//!
//! Malformed XML stops the file with an error naming the byte offset and,
//! in the second pass, the definition being read; a definition whose test,
//! object or state cannot be resolved is an error of that definition.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event as XmlEvent};

use super::oval_vendor;
use super::xml_text::{self, TextRun};

use crate::model::{
    Advisory, Affected, Event, Feed, FeedReport, FixStatus, Record, Severity, Sink,
};
use crate::{KbError, Result};

#[derive(Default)]
pub(super) struct Tables {
    product_name: Option<String>,
    /// The first definition's id, which names the vendor when a file has
    /// no generator (an extract of definitions alone).
    first_definition: Option<String>,
    /// test id → its object, state and comment
    pub(super) tests: HashMap<String, TestInfo>,
    /// object id → package name
    pub(super) objects: HashMap<String, String>,
    /// state id → what the state checks
    pub(super) states: HashMap<String, StateInfo>,
}

#[derive(Default)]
pub(super) struct TestInfo {
    pub(super) object: Option<String>,
    pub(super) state: Option<String>,
    pub(super) comment: Option<String>,
}

/// An `rpminfo_state`'s checks, each (operation, value). Mariner states
/// carry an `evr` only; SUSE's product states a `version` (`sles-release`
/// `== 15.1`), Oracle's an `arch`, a `version` pattern, a `release`
/// pattern (`ksplice`) or a `signature_keyid`.
#[derive(Default)]
pub(super) struct StateInfo {
    pub(super) evr: Option<(String, String)>,
    pub(super) version: Option<(String, String)>,
    pub(super) release: Option<(String, String)>,
    pub(super) arch: Option<(String, String)>,
    pub(super) signature: Option<String>,
}

#[derive(Default)]
pub(super) struct Definition {
    pub(super) id: String,
    pub(super) title: Option<String>,
    pub(super) cves: Vec<String>,
    pub(super) urls: Vec<String>,
    /// The vendor's own advisory id from a reference (`ELSA-2021-9151`).
    pub(super) vendor_id: Option<String>,
    patchable: Option<String>,
    pub(super) advisory_date: Option<String>,
    pub(super) severity: Option<String>,
    test_refs: Vec<String>,
    /// The criteria tree (SUSE and Oracle need its shape, Mariner's flat
    /// list of tests is enough for it).
    pub(super) criteria: Option<oval_vendor::Node>,
    open_criteria: Vec<oval_vendor::Node>,
}

/// Whose OVAL a file is: each vendor writes its own shape.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Vendor {
    Mariner,
    Suse,
    Oracle,
}

fn open(path: &Path) -> Result<Reader<BufReader<File>>> {
    let f = File::open(path).map_err(|e| KbError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    let mut r = Reader::from_reader(BufReader::new(f));
    xml_text::configure(&mut r);
    Ok(r)
}

fn attr(e: &BytesStart, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| xml_text::attr_value(&a).ok().map(|v| v.into_owned()))
}

pub fn import(path: impl AsRef<Path>, sink: &mut dyn Sink) -> Result<FeedReport> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let mut report = FeedReport::default();
    let tables = match read_tables(path)? {
        Ok(t) => t,
        Err((at, msg)) => {
            report.error(&name, Some(at), msg);
            return Ok(report);
        }
    };
    let (distro, version) = namespace_from_file_name(path);
    let vendor = vendor_of(&tables);
    if vendor == Vendor::Mariner
        && let (Some(d), Some(p)) = (distro, tables.product_name.as_deref())
    {
        let expected = if d == "azurelinux" {
            "Azure Linux"
        } else {
            "CBL-Mariner"
        };
        if !p.contains(expected) {
            report.error(
                &name,
                None,
                format!("file name says {d}, the generator is {p:?}; the file name wins"),
            );
        }
    }
    let distro = distro.or_else(|| match tables.product_name.as_deref() {
        Some(p) if p.contains("Azure Linux") => Some("azurelinux"),
        Some(p) if p.contains("Mariner") => Some("mariner"),
        _ => None,
    });
    let severity_source = distro.unwrap_or("mariner");

    let mut r = open(path)?;
    let mut buf = Vec::new();
    let mut stack: Vec<Vec<u8>> = Vec::new();
    let mut def: Option<Definition> = None;
    let mut run = TextRun::default();
    loop {
        buf.clear();
        let ev = r.read_event_into(&mut buf);
        // A definition's texts come in pieces (references are events of
        // their own); each is used at the next markup, error or end of input.
        let wanted = def.is_some()
            && matches!(
                stack.last().map(Vec::as_slice),
                Some(b"title" | b"patchable" | b"advisory_date" | b"severity")
            );
        match &ev {
            Ok(XmlEvent::Text(t)) => {
                if wanted {
                    run.push_text(t);
                }
                continue;
            }
            Ok(XmlEvent::GeneralRef(g)) => {
                if wanted {
                    run.push_ref(g);
                }
                continue;
            }
            _ => {
                if let (Some(Ok(text)), Some(d)) = (run.take(), def.as_mut()) {
                    match stack.last().map(Vec::as_slice) {
                        Some(b"title") => d.title = Some(text),
                        Some(b"patchable") => d.patchable = Some(text),
                        Some(b"advisory_date") => d.advisory_date = Some(text),
                        Some(b"severity") => d.severity = Some(text),
                        _ => {}
                    }
                }
            }
        }
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                let at = match &def {
                    Some(d) => format!("{} (byte {})", d.id, r.error_position()),
                    None => format!("byte {}", r.error_position()),
                };
                report.error(&name, Some(at), format!("malformed XML: {e}"));
                return Ok(report);
            }
        };
        let (start, empty) = match &ev {
            XmlEvent::Start(e) => (Some(e), false),
            XmlEvent::Empty(e) => (Some(e), true),
            _ => (None, false),
        };
        if let Some(e) = start {
            let local = e.local_name().as_ref().to_vec();
            match local.as_slice() {
                b"definition" => {
                    def = Some(Definition {
                        id: attr(e, b"id").unwrap_or_default(),
                        ..Definition::default()
                    })
                }
                b"issued" => {
                    if let Some(d) = def.as_mut()
                        && d.advisory_date.is_none()
                    {
                        d.advisory_date = attr(e, b"date");
                    }
                }
                b"criteria" => {
                    if let Some(d) = def.as_mut() {
                        let node = oval_vendor::Node::criteria(
                            attr(e, b"operator").as_deref(),
                            attr(e, b"negate").as_deref(),
                        );
                        if empty {
                            oval_vendor::close(&mut d.open_criteria, &mut d.criteria, node);
                        } else {
                            d.open_criteria.push(node);
                        }
                    }
                }
                b"extend_definition" => {
                    if let Some(d) = def.as_mut() {
                        let leaf = oval_vendor::Node::unsupported("extend_definition");
                        oval_vendor::push_leaf(&mut d.open_criteria, &mut d.criteria, leaf);
                    }
                }
                b"reference" => {
                    if let Some(d) = def.as_mut() {
                        if d.vendor_id.is_none()
                            && attr(e, b"source").is_some_and(|s| s.eq_ignore_ascii_case("elsa"))
                        {
                            d.vendor_id = attr(e, b"ref_id");
                        }
                        if let Some(id) = attr(e, b"ref_id")
                            && attr(e, b"source").as_deref() == Some("CVE")
                            && !d.cves.contains(&id)
                        {
                            d.cves.push(id);
                        }
                        if let Some(u) = attr(e, b"ref_url")
                            && !d.urls.contains(&u)
                        {
                            d.urls.push(u);
                        }
                    }
                }
                b"criterion" => {
                    if let (Some(d), Some(t)) = (def.as_mut(), attr(e, b"test_ref")) {
                        let leaf = oval_vendor::Node::criterion(
                            &t,
                            attr(e, b"comment"),
                            attr(e, b"negate").as_deref(),
                        );
                        oval_vendor::push_leaf(&mut d.open_criteria, &mut d.criteria, leaf);
                        d.test_refs.push(t);
                    }
                }
                _ => {}
            }
            if empty {
                continue;
            }
            stack.push(local);
            continue;
        }
        match ev {
            XmlEvent::End(_) => match stack.pop().as_deref() {
                Some(b"criteria") => {
                    if let Some(d) = def.as_mut()
                        && let Some(node) = d.open_criteria.pop()
                    {
                        oval_vendor::close(&mut d.open_criteria, &mut d.criteria, node);
                    }
                }
                Some(b"definition") => {
                    if let Some(d) = def.take() {
                        match vendor {
                            Vendor::Mariner => emit(
                                d,
                                &tables,
                                &name,
                                distro,
                                version.as_deref(),
                                severity_source,
                                sink,
                                &mut report,
                            ),
                            Vendor::Suse => {
                                oval_vendor::emit_suse(d, &tables, &name, sink, &mut report)
                            }
                            Vendor::Oracle => {
                                oval_vendor::emit_oracle(d, &tables, &name, sink, &mut report)
                            }
                        }
                    }
                }
                _ => {}
            },
            XmlEvent::Eof => break,
            _ => {}
        }
    }
    Ok(report)
}

/// Pass 1: the tests, objects and states, and the generator's product.
/// The inner error is malformed XML: (position, message).
fn read_tables(path: &Path) -> Result<std::result::Result<Tables, (String, String)>> {
    let mut tables = Tables::default();
    let mut r = open(path)?;
    let mut buf = Vec::new();
    let mut stack: Vec<Vec<u8>> = Vec::new();
    let mut cur_test: Option<String> = None;
    let mut cur_object: Option<String> = None;
    let mut cur_state: Option<String> = None;
    let mut cur_op = String::new();
    let mut run = TextRun::default();
    loop {
        buf.clear();
        let ev = r.read_event_into(&mut buf);
        // Texts come in pieces (references are events of their own); each
        // is used at the next markup, error or end of input.
        let wanted = matches!(
            stack.last().map(Vec::as_slice),
            Some(
                b"product_name"
                    | b"name"
                    | b"evr"
                    | b"version"
                    | b"release"
                    | b"arch"
                    | b"signature_keyid"
            )
        );
        match &ev {
            Ok(XmlEvent::Text(t)) => {
                if wanted {
                    run.push_text(t);
                }
                continue;
            }
            Ok(XmlEvent::GeneralRef(g)) => {
                if wanted {
                    run.push_ref(g);
                }
                continue;
            }
            _ => {
                if let Some(Ok(text)) = run.take() {
                    match stack.last().map(Vec::as_slice) {
                        Some(b"product_name") => tables.product_name = Some(text),
                        Some(b"name") => {
                            if let Some(o) = &cur_object {
                                tables.objects.insert(o.clone(), text);
                            }
                        }
                        Some(field @ (b"evr" | b"version" | b"release" | b"arch")) => {
                            if let Some(s) = &cur_state {
                                let st = tables.states.entry(s.clone()).or_default();
                                let value = Some((cur_op.clone(), text));
                                match field {
                                    b"evr" => st.evr = value,
                                    b"version" => st.version = value,
                                    b"release" => st.release = value,
                                    _ => st.arch = value,
                                }
                            }
                        }
                        Some(b"signature_keyid") => {
                            if let Some(s) = &cur_state {
                                tables.states.entry(s.clone()).or_default().signature = Some(text);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                return Ok(Err((
                    format!("byte {}", r.error_position()),
                    format!("malformed XML: {e}"),
                )));
            }
        };
        let (start, empty) = match &ev {
            XmlEvent::Start(e) => (Some(e), false),
            XmlEvent::Empty(e) => (Some(e), true),
            _ => (None, false),
        };
        if let Some(e) = start {
            let local = e.local_name().as_ref().to_vec();
            match local.as_slice() {
                b"rpminfo_test" => {
                    let id = attr(e, b"id").unwrap_or_default();
                    tables.tests.entry(id.clone()).or_default().comment = attr(e, b"comment");
                    cur_test = Some(id);
                }
                b"object" => {
                    if let Some(t) = cur_test.as_ref().and_then(|t| tables.tests.get_mut(t)) {
                        t.object = attr(e, b"object_ref");
                    }
                }
                b"state" => {
                    if let Some(t) = cur_test.as_ref().and_then(|t| tables.tests.get_mut(t)) {
                        t.state = attr(e, b"state_ref");
                    }
                }
                b"rpminfo_object" => cur_object = attr(e, b"id"),
                b"definition" if tables.first_definition.is_none() => {
                    tables.first_definition = attr(e, b"id")
                }
                b"rpminfo_state" => {
                    let id = attr(e, b"id");
                    if let Some(id) = &id {
                        tables.states.entry(id.clone()).or_default();
                    }
                    cur_state = id;
                }
                b"evr" | b"version" | b"release" | b"arch" | b"signature_keyid" => {
                    cur_op = attr(e, b"operation").unwrap_or_else(|| "equals".to_owned())
                }
                _ => {}
            }
            if !empty {
                stack.push(local);
            }
            continue;
        }
        match ev {
            XmlEvent::End(_) => match stack.pop().as_deref() {
                Some(b"rpminfo_test") => cur_test = None,
                Some(b"rpminfo_object") => cur_object = None,
                Some(b"rpminfo_state") => cur_state = None,
                _ => {}
            },
            XmlEvent::Eof => {
                if let Some(open) = stack.last() {
                    return Ok(Err((
                        format!("byte {}", r.buffer_position()),
                        format!(
                            "truncated XML: <{}> is not closed",
                            String::from_utf8_lossy(open)
                        ),
                    )));
                }
                break;
            }
            _ => {}
        }
    }
    Ok(Ok(tables))
}

/// SUSE's and Oracle's generators name themselves; anything else is read
/// as Mariner / Azure Linux, the shape Kensa read first.
fn vendor_of(tables: &Tables) -> Vendor {
    let product = tables.product_name.as_deref().unwrap_or_default();
    let any_id = |prefix: &str| {
        tables
            .first_definition
            .iter()
            .chain(tables.tests.keys())
            .any(|t| t.starts_with(prefix))
    };
    if product.contains("Oracle") || any_id("oval:com.oracle.elsa:") {
        Vendor::Oracle
    } else if product.contains("Marcus")
        || product.contains("SUSE")
        || any_id("oval:org.opensuse.security:")
    {
        Vendor::Suse
    } else {
        Vendor::Mariner
    }
}

/// `("mariner", Some("2.0"))` from `cbl-mariner-2.0-preview-oval.xml`,
/// `("azurelinux", Some("3.0"))` from `azurelinux-3.0-oval.xml`.
fn namespace_from_file_name(path: &Path) -> (Option<&'static str>, Option<String>) {
    let n = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let (distro, rest) = if let Some(r) = n.strip_prefix("cbl-mariner-") {
        (Some("mariner"), r)
    } else if let Some(r) = n.strip_prefix("azurelinux-") {
        (Some("azurelinux"), r)
    } else {
        return (None, None);
    };
    let v: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let v = v.trim_end_matches('.').to_owned();
    (distro, (!v.is_empty()).then_some(v))
}

/// The namespace from an evr's dist tag: `.cm2` → `mariner:2.0`.
fn namespace_from_evr(evr: &str) -> Option<String> {
    let tag = evr.rsplit('.').next()?;
    let (d, n) = if let Some(n) = tag.strip_prefix("cm") {
        ("mariner", n)
    } else if let Some(n) = tag.strip_prefix("azl") {
        ("azurelinux", n)
    } else {
        return None;
    };
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then(|| format!("{d}:{n}.0"))
}

/// `0:0.0.0` and `0:0.0.0.azl3`: the lower bound of every version.
fn is_zero(evr: &str) -> bool {
    let v = evr.split_once(':').map_or(evr, |(_, v)| v);
    v.split(['.', '-'])
        .take_while(|p| p.bytes().all(|b| b.is_ascii_digit()))
        .all(|p| p.bytes().all(|b| b == b'0'))
        && v.starts_with('0')
}

/// A package, its lower bounds and its upper bound (operation, evr).
type PackageBounds = (String, Vec<Event>, Option<(String, String)>);

#[allow(clippy::too_many_arguments)]
fn emit(
    d: Definition,
    tables: &Tables,
    file: &str,
    distro: Option<&str>,
    version: Option<&str>,
    severity_source: &str,
    sink: &mut dyn Sink,
    report: &mut FeedReport,
) {
    let patchable = d.patchable.as_deref().map(str::trim) != Some("false");
    // Package → (lower bounds, upper bound).
    let mut per_package: Vec<PackageBounds> = Vec::new();
    let mut namespace: Option<String> = match (distro, version) {
        (Some(d), Some(v)) => Some(format!("{d}:{v}")),
        _ => None,
    };
    for t in &d.test_refs {
        let Some(TestInfo {
            object: Some(obj),
            state: Some(ste),
            ..
        }) = tables.tests.get(t)
        else {
            report.error(
                file,
                Some(d.id.clone()),
                format!("test {t} is missing or has no object/state"),
            );
            return;
        };
        let Some(pkg) = tables.objects.get(obj) else {
            report.error(
                file,
                Some(d.id.clone()),
                format!("object {obj} of test {t} is missing"),
            );
            return;
        };
        let Some((op, evr)) = tables.states.get(ste).and_then(|s| s.evr.as_ref()) else {
            report.error(
                file,
                Some(d.id.clone()),
                format!("state {ste} of test {t} is missing or has no evr"),
            );
            return;
        };
        if namespace.is_none() {
            namespace = namespace_from_evr(evr);
        }
        let i = match per_package.iter().position(|p| &p.0 == pkg) {
            Some(i) => i,
            None => {
                per_package.push((pkg.clone(), Vec::new(), None));
                per_package.len() - 1
            }
        };
        let entry = &mut per_package[i];
        match op.as_str() {
            "less than" | "less than or equal" => {
                if entry.2.is_some() {
                    report.error(
                        file,
                        Some(d.id.clone()),
                        format!("two upper bounds for {pkg}"),
                    );
                    return;
                }
                entry.2 = Some((op.clone(), evr.clone()));
            }
            "greater than" | "greater than or equal" => {
                if !is_zero(evr) {
                    entry.1.push(Event::Introduced(evr.clone()));
                }
            }
            other => {
                report.error(
                    file,
                    Some(d.id.clone()),
                    format!("unsupported evr operation {other:?} for {pkg}"),
                );
                return;
            }
        }
    }
    if per_package.is_empty() {
        report.error(file, Some(d.id.clone()), "no package criterion");
        return;
    }
    let Some(namespace) = namespace else {
        report.error(
            file,
            Some(d.id.clone()),
            "no namespace: neither the file name nor the evr names the release",
        );
        return;
    };
    let mut affected = Vec::new();
    for (pkg, lower, upper) in per_package {
        let mut events = if lower.is_empty() {
            vec![Event::Introduced("0".to_owned())]
        } else {
            lower
        };
        let (status, fixed) = match upper {
            Some((op, evr)) if op == "less than" && patchable => {
                events.push(Event::Fixed(evr.clone()));
                (FixStatus::Fixed, Some(evr))
            }
            Some((op, evr)) if op == "less than" => {
                events.push(Event::Limit(evr));
                (FixStatus::Affected, None)
            }
            Some((_, evr)) => {
                events.push(Event::LastAffected(evr));
                (FixStatus::Affected, None)
            }
            None => (FixStatus::Affected, None),
        };
        affected.push(Affected {
            namespace: namespace.clone(),
            package: pkg,
            status,
            ranges: vec![events],
            versions: Vec::new(),
            fixed,
            note: None,
            module: None,
            arches: Vec::new(),
        });
    }
    sink.record(Record::Advisory(Advisory {
        id: d.id,
        feed: Feed::Oval,
        aliases: d.cves,
        published: d.advisory_date,
        modified: None,
        summary: d.title,
        severity: d.severity.map(|value| Severity {
            source: severity_source.to_owned(),
            value,
        }),
        cvss: Vec::new(),
        references: d.urls,
        affected,
    }));
    report.records += 1;
}
