//! Red Hat's CSAF VEX files
//! (`https://security.access.redhat.com/data/csaf/v2/vex/<year>/cve-YYYY-NNNN.json`):
//! one CSAF 2.0 document per CVE, saying for every product stream and
//! component whether the CVE is fixed (and by which RHSA), affected, not
//! affected or under investigation. [`import`] reads one file;
//! [`import_dir`] every `*.json` below a directory (recursively, in name
//! order), one file at a time.
//!
//! Decisions:
//! - **One [`Advisory`] per `vulnerabilities[]` entry** (Red Hat writes
//!   exactly one), id = its `cve`, feed [`Feed::RedHat`]. Aliases: the
//!   RHSA/RHBA/RHEA ids named by the `vendor_fix` remediation URLs
//!   (`.../errata/RHSA-2024:1234`), de-duplicated in order. Published and
//!   modified: `document.tracking.initial_release_date` and
//!   `current_release_date`. Summary: the vulnerability's `title`, else
//!   the document's. References: the vulnerability's `references[].url`.
//! - **Severity**: the first `threats[]` entry of category `impact`
//!   (`Low`, `Moderate`, `Important`, `Critical`), else
//!   `document.aggregate_severity.text`, lower-cased, source `redhat`.
//!   **CVSS**: `scores[].cvss_v3.vectorString` (and `cvss_v2`), as written,
//!   de-duplicated.
//! - **Products**: every id in `product_status` is a relationship's
//!   `full_product_name.product_id`, joining a component
//!   (`product_reference`) to a product stream
//!   (`relates_to_product_reference`). The stream's
//!   `product_identification_helper.cpe` gives the namespace: only
//!   `enterprise_linux` CPEs (`cpe:/a:redhat:enterprise_linux:9::appstream`,
//!   CPE 2.2 or 2.3) map, to `rhel:<major>`. Extended-support streams
//!   (`rhel_eus`, `rhel_aus`, `rhel_e4s`, `rhel_tus`, ... CPEs) are skipped
//!   and counted: a mainline host follows the mainline fix, and an EUS fix
//!   built for 9.2 would otherwise mark 9.4's older builds fixed. Other
//!   products (OpenShift, middleware) are skipped and counted too. A status
//!   id with no relationship (or whose component or stream is not in the
//!   product tree) is a per-record error naming it; the rest of the record
//!   is still imported.
//! - **Package and version**: from the component's purl
//!   (`pkg:rpm/redhat/openssl@3.0.7-27.el9?arch=src&epoch=1`), else from
//!   its product id (`openssl-1:3.0.7-27.el9.src`, NEVRA). The package is
//!   the RPM name as listed (source and binary RPMs each get an entry);
//!   the fixed version is `[epoch:]version-release` (the epoch as written,
//!   absent when the component has none), validated with the RPM ordering.
//!   Unfixed components are bare names (`openssl`, purl without version).
//! - **Module streams**: a component whose purl has `rpmmod=nodejs:18:...`,
//!   whose id starts with a module NSVC (`nodejs:18:8080020230606:63b34585:`),
//!   or an unfixed module component `nodejs:18/nodejs`
//!   (`pkg:rpmmod/redhat/nodejs:18/nodejs`) sets [`Affected::module`] to
//!   `name:stream`. A bare module component (`pkg:rpmmod/...@...` with no
//!   RPM in it) is not an installable package and is skipped and counted.
//! - **Status**: `fixed` → `Fixed` (`[introduced 0, fixed V]`);
//!   `known_affected` → per its remediation: `no_fix_planned` "Will not
//!   fix" → `WillNotFix`; `no_fix_planned` "Out of support scope" →
//!   `EndOfLife` (Red Hat uses it for releases and components past their
//!   support life, which is what `EndOfLife` means; any other
//!   `no_fix_planned` wording is `WillNotFix`); `none_available` "Fix
//!   deferred" → `FixDeferred`; anything else (`none_available`
//!   "Affected", no remediation) → `Affected`. `known_not_affected` →
//!   `NotAffected`; `under_investigation` → `UnderInvestigation`. The
//!   remediation's `details` becomes the note for statuses other than
//!   `Fixed` and `Affected`. Ranges: `[introduced 0, fixed V]` when
//!   fixed, none when not affected, `[introduced 0]` otherwise.
//! - **One entry per (namespace, package, module)**: when several streams
//!   of one major name the same package (BaseOS and AppStream, or
//!   `9.0.0.Z` and `9.2.0.Z`), a `Fixed` entry wins over any other status,
//!   and of two fixes the higher version is kept (the conservative choice
//!   for a mainline host); otherwise the first status seen is kept.
//! - A record that names no RHEL product at all is skipped and counted; a
//!   file that is not JSON, or a vulnerability without a `cve`, is an
//!   error naming the file (and the CVE when known).

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use kensa_version::Ecosystem;
use serde_json::Value;

use crate::error::{KbError, Result};
use crate::model::{
    Advisory, Affected, Event, Feed, FeedReport, FixStatus, Record, Severity, Sink,
};

/// Files larger than this are refused: the largest real VEX files (kernel
/// CVEs) are a few megabytes.
const MAX_FILE: u64 = 64 << 20;

/// Import one CSAF VEX file.
pub fn import(path: &Path, sink: &mut dyn Sink) -> Result<FeedReport> {
    let mut report = FeedReport::default();
    let name = path.display().to_string();
    let mut text = String::new();
    File::open(path)
        .and_then(|f| f.take(MAX_FILE).read_to_string(&mut text))
        .map_err(|source| KbError::Io {
            path: name.clone(),
            source,
        })?;
    import_text(&name, &text, sink, &mut report);
    Ok(report)
}

/// Import every `*.json` below `dir` (the VEX tree's `<year>/` folders),
/// in name order; a file that cannot be read is a per-file error.
pub fn import_dir(dir: &Path, sink: &mut dyn Sink) -> Result<FeedReport> {
    let mut report = FeedReport::default();
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(source) if d == dir => {
                return Err(KbError::Io {
                    path: dir.display().to_string(),
                    source,
                });
            }
            Err(e) => {
                report.error(d.display().to_string(), None, e.to_string());
                continue;
            }
        };
        for entry in entries.flatten() {
            let p = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(t) if t.is_file() && p.extension().is_some_and(|x| x == "json") => files.push(p),
                _ => {}
            }
        }
    }
    files.sort();
    for f in files {
        match import(&f, sink) {
            Ok(r) => merge(&mut report, r),
            Err(e) => report.error(f.display().to_string(), None, e.to_string()),
        }
    }
    Ok(report)
}

fn merge(into: &mut FeedReport, from: FeedReport) {
    into.records += from.records;
    for (reason, n) in from.skipped {
        for _ in 0..n {
            into.skip(&reason);
        }
    }
    into.errors.extend(from.errors);
}

/// Import one document's text; `file` names it in errors.
pub fn import_text(file: &str, text: &str, sink: &mut dyn Sink, report: &mut FeedReport) {
    let doc: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            report.error(file, cve_from_name(file), format!("not JSON: {e}"));
            return;
        }
    };
    let tracking_id = doc
        .pointer("/document/tracking/id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| cve_from_name(file));
    let Some(vulns) = doc.get("vulnerabilities").and_then(Value::as_array) else {
        report.error(file, tracking_id, "no `vulnerabilities` array");
        return;
    };
    let (tree, tree_errors) = match Tree::read(&doc) {
        Ok(t) => t,
        Err(e) => {
            report.error(file, tracking_id, e);
            return;
        }
    };
    for (i, vuln) in vulns.iter().enumerate() {
        let Some(cve) = vuln.get("cve").and_then(Value::as_str) else {
            let record = tracking_id
                .clone()
                .unwrap_or_else(|| format!("vulnerabilities[{i}]"));
            report.error(file, Some(record), "vulnerability without a `cve` string");
            continue;
        };
        let mut errors = tree_errors.clone();
        match advisory(&doc, &tree, cve, vuln, &mut errors, report) {
            Some(a) if a.affected.is_empty() => report.skip("no RHEL product"),
            Some(a) => {
                report.records += 1;
                sink.record(Record::Advisory(a));
            }
            None => {}
        }
        for e in errors {
            report.error(file, Some(cve.to_owned()), e);
        }
    }
}

/// `CVE-2024-1234` from a file named `.../cve-2024-1234.json`, to name
/// the record of a file that cannot be read.
fn cve_from_name(file: &str) -> Option<String> {
    let name = file.rsplit(['/', '\\']).next()?;
    let stem = name.strip_suffix(".json")?;
    let (prefix, id) = stem.split_once('-')?;
    if !prefix.eq_ignore_ascii_case("cve") {
        return None;
    }
    let (year, number) = id.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(year) && digits(number)).then(|| format!("CVE-{year}-{number}"))
}

/// A product in the tree: its CPE and purl, when given.
#[derive(Default)]
struct Product {
    cpe: Option<String>,
    purl: Option<String>,
}

/// The product tree, indexed.
struct Tree {
    products: HashMap<String, Product>,
    /// Relationship product id → (component id, stream id).
    relations: HashMap<String, (String, String)>,
}

impl Tree {
    /// The tree, and what could not be read in it (a product or a
    /// relationship without its ids is left out, and named).
    fn read(doc: &Value) -> std::result::Result<(Tree, Vec<String>), String> {
        let mut tree = Tree {
            products: HashMap::new(),
            relations: HashMap::new(),
        };
        let mut errors = Vec::new();
        let Some(pt) = doc.get("product_tree") else {
            return Err("no `product_tree`".into());
        };
        if !pt.is_object() {
            return Err("`product_tree` is not an object".into());
        }
        let mut stack: Vec<&Value> = Vec::new();
        match pt.get("branches") {
            None => {}
            Some(Value::Array(a)) => stack.extend(a),
            Some(_) => return Err("`product_tree.branches` is not an array".into()),
        }
        while let Some(b) = stack.pop() {
            if let Some(p) = b.get("product") {
                let Some(id) = p.get("product_id").and_then(Value::as_str) else {
                    errors.push(format!(
                        "product without a `product_id` string: {}",
                        brief(p)
                    ));
                    continue;
                };
                let helper = p.get("product_identification_helper");
                let field = |k: &str| {
                    helper
                        .and_then(|h| h.get(k))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                };
                tree.products.insert(
                    id.to_owned(),
                    Product {
                        cpe: field("cpe"),
                        purl: field("purl"),
                    },
                );
            }
            match b.get("branches") {
                None => {}
                Some(Value::Array(a)) => stack.extend(a),
                Some(other) => errors.push(format!("`branches` is not an array: {}", brief(other))),
            }
        }
        match pt.get("relationships") {
            None => {}
            Some(Value::Array(rels)) => {
                for r in rels {
                    let s = |k: &str| r.get(k).and_then(Value::as_str);
                    let id = r
                        .pointer("/full_product_name/product_id")
                        .and_then(Value::as_str);
                    match (
                        id,
                        s("product_reference"),
                        s("relates_to_product_reference"),
                    ) {
                        (Some(id), Some(c), Some(p)) => {
                            tree.relations
                                .insert(id.to_owned(), (c.to_owned(), p.to_owned()));
                        }
                        _ => errors.push(format!(
                            "relationship without its product ids: {}",
                            brief(r)
                        )),
                    }
                }
            }
            Some(_) => return Err("`product_tree.relationships` is not an array".into()),
        }
        Ok((tree, errors))
    }
}

/// A value, shortened for an error message.
fn brief(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(120) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}

/// The strings of an array of strings; an element of another type is an
/// error in `errors` and left out, a value that is not an array is `Err`.
fn strings<'a>(
    v: Option<&'a Value>,
    what: &str,
    errors: &mut Vec<String>,
) -> std::result::Result<Vec<&'a str>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => Ok(a
            .iter()
            .filter_map(|x| {
                let s = x.as_str();
                if s.is_none() {
                    errors.push(format!("{what}: not a string: {}", brief(x)));
                }
                s
            })
            .collect()),
        Some(other) => Err(format!("{what}: not an array: {}", brief(other))),
    }
}

/// How a `known_affected` product is remediated.
fn remediation_status(category: &str, details: &str) -> Option<FixStatus> {
    let d = details.trim().to_ascii_lowercase();
    match category {
        "no_fix_planned" if d.starts_with("out of support scope") => Some(FixStatus::EndOfLife),
        "no_fix_planned" => Some(FixStatus::WillNotFix),
        "none_available" if d.starts_with("fix deferred") => Some(FixStatus::FixDeferred),
        "none_available" => Some(FixStatus::Affected),
        _ => None,
    }
}

fn advisory(
    doc: &Value,
    tree: &Tree,
    cve: &str,
    vuln: &Value,
    errors: &mut Vec<String>,
    report: &mut FeedReport,
) -> Option<Advisory> {
    if !vuln.is_object() {
        errors.push("vulnerability is not an object".into());
        return None;
    }
    let str_at = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_owned);

    // Remediations: aliases, and the status of known_affected products.
    let mut aliases: Vec<String> = Vec::new();
    let mut remediated: HashMap<&str, (FixStatus, String)> = HashMap::new();
    let empty = Vec::new();
    let remediations = match vuln.get("remediations") {
        None | Some(Value::Null) => &empty,
        Some(Value::Array(a)) => a,
        Some(_) => {
            errors.push("`remediations` is not an array".into());
            &empty
        }
    };
    for r in remediations {
        let category = r
            .get("category")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let details = r.get("details").and_then(Value::as_str).unwrap_or_default();
        let ids = match strings(r.get("product_ids"), "remediation product_ids", errors) {
            Ok(ids) => ids,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if r.get("product_ids").is_none() && category != "vendor_fix" {
            errors.push(format!("{category} remediation without `product_ids`"));
            continue;
        }
        if category == "vendor_fix" {
            if let Some(url) = r.get("url").and_then(Value::as_str) {
                let last = url
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or_default();
                let last = last.split(['?', '#']).next().unwrap_or_default();
                if ["RHSA-", "RHBA-", "RHEA-"]
                    .iter()
                    .any(|p| last.starts_with(p))
                    && !aliases.iter().any(|a| a == last)
                {
                    aliases.push(last.to_owned());
                }
            }
            continue;
        }
        if let Some(status) = remediation_status(category, details) {
            for id in ids {
                remediated
                    .entry(id)
                    .or_insert((status, details.trim().to_owned()));
            }
        }
    }

    // Severity and CVSS.
    let mut severity = None;
    if let Some(threats) = vuln.get("threats").and_then(Value::as_array) {
        severity = threats
            .iter()
            .find(|t| t.get("category").and_then(Value::as_str) == Some("impact"))
            .and_then(|t| t.get("details").and_then(Value::as_str))
            .map(str::to_owned);
    }
    let severity = severity
        .or_else(|| str_at(doc, "/document/aggregate_severity/text"))
        .filter(|s| !s.trim().is_empty())
        .map(|s| Severity {
            source: "redhat".into(),
            value: s.trim().to_ascii_lowercase(),
        });
    let mut cvss: Vec<String> = Vec::new();
    if let Some(scores) = vuln.get("scores").and_then(Value::as_array) {
        for s in scores {
            for k in ["cvss_v3", "cvss_v2"] {
                if let Some(v) = s
                    .get(k)
                    .and_then(|c| c.get("vectorString"))
                    .and_then(Value::as_str)
                    && !cvss.iter().any(|c| c == v)
                {
                    cvss.push(v.to_owned());
                }
            }
        }
    }
    let references = vuln
        .get("references")
        .and_then(Value::as_array)
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r.get("url").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();

    // Product status.
    let mut affected: Vec<Affected> = Vec::new();
    let status = match vuln.get("product_status") {
        None | Some(Value::Null) => None,
        Some(v) if v.is_object() => Some(v),
        Some(_) => {
            errors.push("`product_status` is not an object".into());
            None
        }
    };
    if let Some(status) = status {
        for (key, base) in [
            ("fixed", FixStatus::Fixed),
            ("known_affected", FixStatus::Affected),
            ("known_not_affected", FixStatus::NotAffected),
            ("under_investigation", FixStatus::UnderInvestigation),
        ] {
            let ids = match strings(status.get(key), &format!("product_status.{key}"), errors) {
                Ok(ids) => ids,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            for id in ids {
                let (status, note) = match (base, remediated.get(id)) {
                    (FixStatus::Affected, Some((s, d))) => {
                        (*s, (*s != FixStatus::Affected).then(|| d.clone()))
                    }
                    (s, _) => (s, None),
                };
                match entry(tree, id, status) {
                    Ok(Some(mut a)) => {
                        a.note = note.filter(|n| !n.is_empty());
                        add(&mut affected, a);
                    }
                    Ok(None) => {}
                    Err(Skip::Reason(r)) => report.skip(r),
                    Err(Skip::Error(e)) => errors.push(e),
                }
            }
        }
    }

    Some(Advisory {
        id: cve.to_owned(),
        feed: Feed::RedHat,
        aliases,
        published: str_at(doc, "/document/tracking/initial_release_date"),
        modified: str_at(doc, "/document/tracking/current_release_date"),
        summary: vuln
            .get("title")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| str_at(doc, "/document/title")),
        severity,
        cvss,
        references,
        affected,
    })
}

/// Add `a`, keeping one entry per (namespace, package, module): a fix wins
/// over any other status, the higher of two fixes wins, else the first.
fn add(affected: &mut Vec<Affected>, a: Affected) {
    let Some(old) = affected
        .iter_mut()
        .find(|o| o.namespace == a.namespace && o.package == a.package && o.module == a.module)
    else {
        affected.push(a);
        return;
    };
    let replace = match (&old.fixed, &a.fixed) {
        (None, Some(_)) => true,
        (Some(o), Some(n)) => Ecosystem::Rpm
            .compare(n, o)
            .is_ok_and(|c| c == std::cmp::Ordering::Greater),
        _ => false,
    };
    if replace {
        *old = a;
    }
}

enum Skip {
    /// Skipped on purpose, counted.
    Reason(&'static str),
    /// A per-record error.
    Error(String),
}

/// The [`Affected`] for one product status id, or why there is none.
fn entry(tree: &Tree, id: &str, status: FixStatus) -> std::result::Result<Option<Affected>, Skip> {
    let Some((component, stream)) = tree.relations.get(id) else {
        return Err(Skip::Error(format!(
            "product id {id:?} has no relationship in the product tree"
        )));
    };
    // A component may be related to another relationship (an RPM to a
    // module that is itself a component of a stream): follow the chain,
    // keeping the module stream it names.
    let mut stream = stream;
    let mut outer_module = None;
    let mut hops = 0;
    let stream_product = loop {
        if let Some(p) = tree.products.get(stream) {
            break p;
        }
        match tree.relations.get(stream) {
            Some((inner, next)) if hops < 8 => {
                let inner_purl = tree.products.get(inner).and_then(|p| p.purl.as_deref());
                outer_module = outer_module.or_else(|| module_of(inner, inner_purl));
                stream = next;
                hops += 1;
            }
            _ => {
                return Err(Skip::Error(format!(
                    "product id {id:?}: product stream {stream:?} is not in the product tree"
                )));
            }
        }
    };
    let Some(cpe) = stream_product.cpe.as_deref() else {
        return Err(Skip::Reason("product stream without a CPE"));
    };
    let namespace = match namespace(cpe) {
        Cpe::Rhel(ns) => ns,
        Cpe::Extended => return Err(Skip::Reason("extended-support stream")),
        Cpe::Other => return Err(Skip::Reason("not a RHEL product")),
    };
    let purl = tree.products.get(component).and_then(|p| p.purl.as_deref());
    let parsed = match purl {
        Some(p) => parse_purl(p),
        None => parse_id(component),
    };
    let parsed = parsed.map(|mut c| {
        c.module = c.module.or(outer_module);
        c
    });
    let Some(c) = parsed else {
        if purl.is_some_and(|p| p.starts_with("pkg:rpmmod/")) {
            return Err(Skip::Reason("module without an RPM"));
        }
        if purl.is_some_and(|p| !p.starts_with("pkg:rpm/")) {
            return Err(Skip::Reason("not an RPM component"));
        }
        return Err(Skip::Error(format!(
            "product id {id:?}: cannot read component {component:?}"
        )));
    };
    let mut fixed = None;
    let mut ranges = vec![vec![Event::Introduced("0".into())]];
    if status == FixStatus::Fixed {
        let Some(v) = c.version else {
            return Err(Skip::Error(format!(
                "product id {id:?} is fixed but its component {component:?} has no version"
            )));
        };
        if let Err(e) = Ecosystem::Rpm.validate(&v) {
            return Err(Skip::Error(format!("product id {id:?}: {e}")));
        }
        ranges = vec![vec![Event::Introduced("0".into()), Event::Fixed(v.clone())]];
        fixed = Some(v);
    } else if status == FixStatus::NotAffected {
        ranges = Vec::new();
    }
    Ok(Some(Affected {
        namespace,
        package: c.name,
        status,
        ranges,
        versions: Vec::new(),
        fixed,
        note: None,
        module: c.module,
        arches: Vec::new(),
    }))
}

enum Cpe {
    Rhel(String),
    Extended,
    Other,
}

/// `cpe:/a:redhat:enterprise_linux:9::appstream` or
/// `cpe:2.3:o:redhat:enterprise_linux:9:*:*:...` → `rhel:9`.
fn namespace(cpe: &str) -> Cpe {
    let fields: Vec<&str> = if let Some(rest) = cpe.strip_prefix("cpe:2.3:") {
        rest.split(':').collect()
    } else if let Some(rest) = cpe.strip_prefix("cpe:/") {
        rest.split(':').collect()
    } else {
        return Cpe::Other;
    };
    let (Some(vendor), Some(product)) = (fields.get(1), fields.get(2)) else {
        return Cpe::Other;
    };
    if *vendor != "redhat" {
        return Cpe::Other;
    }
    let version = fields.get(3).copied().unwrap_or_default();
    let major: String = version.chars().take_while(char::is_ascii_digit).collect();
    match *product {
        "enterprise_linux" if !major.is_empty() => Cpe::Rhel(format!("rhel:{major}")),
        p if p.starts_with("rhel_") && !major.is_empty() => Cpe::Extended,
        _ => Cpe::Other,
    }
}

/// A component read from its purl or id.
#[derive(Debug, PartialEq)]
struct Component {
    name: String,
    /// `[epoch:]version-release`.
    version: Option<String>,
    /// `name:stream`.
    module: Option<String>,
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The module stream a module component names: `pkg:rpmmod/redhat/nodejs@18:...`
/// or an NSVC id `nodejs:18:8080020230802092216:63b34585`.
fn module_of(id: &str, purl: Option<&str>) -> Option<String> {
    if let Some(rest) = purl.and_then(|p| p.strip_prefix("pkg:rpmmod/")) {
        let body = rest.split(['?', '#']).next()?;
        let name_version = body.rsplit('/').next()?;
        let (name, version) = name_version.split_once('@')?;
        let stream = version.split(':').next()?;
        return module_stream(&format!(
            "{}:{}",
            percent_decode(name),
            percent_decode(stream)
        ));
    }
    let parts: Vec<&str> = id.split(':').collect();
    match parts.as_slice() {
        [n, s, v, _c] if v.bytes().all(|b| b.is_ascii_digit()) => {
            module_stream(&format!("{n}:{s}"))
        }
        _ => None,
    }
}

/// `name:stream` of a module NSVC or `name:stream` string.
fn module_stream(s: &str) -> Option<String> {
    let mut parts = s.split(':');
    let (name, stream) = (parts.next()?, parts.next()?);
    (!name.is_empty() && !stream.is_empty()).then(|| format!("{name}:{stream}"))
}

/// `pkg:rpm/redhat/openssl@3.0.7-27.el9?arch=src&epoch=1`,
/// `pkg:rpm/redhat/openssl?arch=src`, `pkg:rpmmod/redhat/nodejs:18/nodejs`.
fn parse_purl(purl: &str) -> Option<Component> {
    let (body, query) = match purl.split_once('?') {
        Some((b, q)) => (b, q.split('#').next().unwrap_or_default()),
        None => (purl.split('#').next().unwrap_or_default(), ""),
    };
    let qualifier = |k: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(key, _)| *key == k)
            .map(|(_, v)| percent_decode(v))
    };
    if let Some(rest) = body.strip_prefix("pkg:rpmmod/") {
        // `redhat/nodejs:18/nodejs`: a module stream and an RPM in it.
        let mut parts = rest.splitn(3, '/');
        let (_ns, module, rpm) = (parts.next()?, parts.next()?, parts.next()?);
        let module = module_stream(&percent_decode(module.split('@').next()?))?;
        let (name, version) = match rpm.split_once('@') {
            Some((n, v)) => (n, Some(v)),
            None => (rpm, None),
        };
        return Some(Component {
            name: non_empty(percent_decode(name))?,
            version: version.map(percent_decode).filter(|v| !v.is_empty()),
            module: Some(module),
        });
    }
    let rest = body.strip_prefix("pkg:rpm/")?;
    let name_version = rest.rsplit('/').next()?;
    let (name, version) = match name_version.split_once('@') {
        Some((n, v)) => (n, Some(percent_decode(v)).filter(|v| !v.is_empty())),
        None => (name_version, None),
    };
    let version = version.map(|v| match qualifier("epoch") {
        Some(e) if !e.is_empty() => format!("{e}:{v}"),
        _ => v,
    });
    Some(Component {
        name: non_empty(percent_decode(name))?,
        version,
        module: qualifier("rpmmod").and_then(|m| module_stream(&m)),
    })
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Architectures seen as the last part of RPM component ids.
const ARCHES: &[&str] = &[
    "src", "noarch", "x86_64", "i686", "i386", "aarch64", "ppc64le", "ppc64", "s390x", "s390",
];

/// A component id: `openssl-1:3.0.7-27.el9.src` (NEVRA),
/// `nodejs:18:8080020230606131445:63b34585:nodejs-1:18.16.1-1.module+el8.src`
/// (module NSVC, then NEVRA), `openssl` (a bare name), `nodejs:18/nodejs`.
fn parse_id(id: &str) -> Option<Component> {
    if let Some((module, name)) = id.split_once('/') {
        return Some(Component {
            name: non_empty(name.to_owned())?,
            version: None,
            module: Some(module_stream(module)?),
        });
    }
    // A module NSVC prefix: name:stream:version(digits):context:rest.
    let parts: Vec<&str> = id.splitn(5, ':').collect();
    let (module, nevra) = match parts.as_slice() {
        [n, s, v, _c, rest]
            if !n.is_empty()
                && !s.is_empty()
                && !v.is_empty()
                && v.bytes().all(|b| b.is_ascii_digit())
                && !n.contains('-') =>
        {
            (Some(format!("{n}:{s}")), *rest)
        }
        _ => (None, id),
    };
    let Some((without_arch, arch)) = nevra.rsplit_once('.') else {
        return plain(nevra, module);
    };
    if !ARCHES.contains(&arch) {
        return plain(nevra, module);
    }
    let (nev, release) = without_arch.rsplit_once('-')?;
    let (name, ev) = nev.rsplit_once('-')?;
    if name.is_empty() || ev.is_empty() || release.is_empty() {
        return None;
    }
    Some(Component {
        name: name.to_owned(),
        version: Some(format!("{ev}-{release}")),
        module,
    })
}

/// A bare package name (unfixed components), refusing anything shaped like
/// a version.
fn plain(name: &str, module: Option<String>) -> Option<Component> {
    if name.is_empty() || name.contains(':') || name.contains(char::is_whitespace) {
        return None;
    }
    Some(Component {
        name: name.to_owned(),
        version: None,
        module,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_purls() {
        let c = parse_id("openssl-1:3.0.7-27.el9.src").expect("nevra");
        assert_eq!(c.name, "openssl");
        assert_eq!(c.version.as_deref(), Some("1:3.0.7-27.el9"));
        let c = parse_id("nodejs:18:8080020230606131445:63b34585:nodejs-1:18.16.1-1.module+el8.8.0+19117+0ba6d0e8.x86_64")
            .expect("modular");
        assert_eq!(c.name, "nodejs");
        assert_eq!(c.module.as_deref(), Some("nodejs:18"));
        assert_eq!(
            c.version.as_deref(),
            Some("1:18.16.1-1.module+el8.8.0+19117+0ba6d0e8")
        );
        let c = parse_purl("pkg:rpm/redhat/openssl@3.0.7-27.el9?arch=src&epoch=1").expect("purl");
        assert_eq!(c.version.as_deref(), Some("1:3.0.7-27.el9"));
        let c = parse_purl("pkg:rpmmod/redhat/nodejs:18/nodejs").expect("rpmmod");
        assert_eq!(
            (c.name.as_str(), c.module.as_deref()),
            ("nodejs", Some("nodejs:18"))
        );
        assert!(parse_purl("pkg:rpmmod/redhat/nodejs@18:8080020230606131445:63b34585").is_none());
        assert!(
            matches!(namespace("cpe:/a:redhat:enterprise_linux:9::appstream"), Cpe::Rhel(n) if n == "rhel:9")
        );
        assert!(matches!(
            namespace("cpe:/a:redhat:rhel_eus:9.2::appstream"),
            Cpe::Extended
        ));
        assert!(matches!(
            namespace("cpe:/a:redhat:openshift:4.14::el9"),
            Cpe::Other
        ));
    }
}
