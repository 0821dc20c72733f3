//! NVD CVE API 2.0 response pages (`{"vulnerabilities": [{"cve": ...}]}`)
//! and CVE JSON 5 records (the cvelistV5 repository, one `CVE-*.json` per
//! CVE) into [`Vulnerability`] records, keeping every scorer's CVSS vector.
//!
//! An API page is streamed: its `vulnerabilities` array is read one element
//! at a time, each element typed on its own, so a wrong-typed entry becomes
//! a [`crate::model::RecordError`] naming the CVE (or its index) and the
//! rest of the page goes on. A JSON syntax error cannot be resynchronised:
//! it is reported with its line, and the records before it are kept.
//! `vulnStatus: Rejected` (NVD) and `state: REJECTED` (CVE JSON 5) are
//! counted as skipped.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::model::{CvssVector, FeedReport, Record, Sink, Vulnerability};
use crate::{KbError, Result};

/// Imports one NVD API 2.0 page, or every `*.json` page in a directory
/// (files without a `vulnerabilities` array add nothing).
pub fn import(path: impl AsRef<Path>, sink: &mut dyn Sink) -> Result<FeedReport> {
    let mut report = FeedReport::default();
    for file in json_files(path.as_ref(), false)? {
        import_page(&file, sink, &mut report)?;
    }
    Ok(report)
}

/// Imports one CVE JSON 5 record, or every `CVE-*.json` under a directory
/// (recursively, as the cvelistV5 tree lays them out).
pub fn import_cve5(path: impl AsRef<Path>, sink: &mut dyn Sink) -> Result<FeedReport> {
    let mut report = FeedReport::default();
    let path = path.as_ref();
    let files = if path.is_dir() {
        json_files(path, true)?
            .into_iter()
            .filter(|f| {
                f.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("CVE-"))
            })
            .collect()
    } else {
        vec![path.to_path_buf()]
    };
    for file in files {
        import_cve5_file(&file, sink, &mut report)?;
    }
    Ok(report)
}

/// The namespace under which a dropped CVE record is remembered, with the
/// CVE id as its "package": CVE records name no package Kensa matches
/// (NVD's CPEs are never matched with installed packages), but a finding
/// of that CVE is scored without the record's vectors, and the scan says
/// so (see `kensa_detect`'s `dropped-record` warnings).
pub const DROPPED_NAMESPACE: &str = "nvd";

/// A CVE record that could not be read: remembered by its CVE id when the
/// record has one, else an error of its place in the file.
fn drop_record(report: &mut FeedReport, file: &str, label: String, message: String) {
    if label.starts_with("CVE-") {
        report.dropped(
            file,
            Some(label.clone()),
            DROPPED_NAMESPACE,
            &label,
            message,
        );
    } else {
        report.error(file, Some(label), message);
    }
}

fn io_err(path: &Path, source: std::io::Error) -> KbError {
    KbError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The file itself, or the `*.json` files of a directory, sorted.
fn json_files(path: &Path, recursive: bool) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        // Opening happens later; a missing file is reported there.
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut dirs = vec![path.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| io_err(&dir, e))? {
            let p = entry.map_err(|e| io_err(&dir, e))?.path();
            if p.is_dir() {
                if recursive {
                    dirs.push(p);
                }
            } else if p.extension().is_some_and(|e| e == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Streams the elements of the array under `key` of a top-level JSON
/// object to `each(index, element)`; every other top-level member is
/// returned if it is a scalar (so `count`-like fields can be checked) and
/// skipped otherwise. Shared with the KEV importer.
pub(crate) fn stream_top_array(
    reader: impl Read,
    key: &str,
    each: &mut dyn FnMut(usize, Value),
) -> std::result::Result<Vec<(String, Value)>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut scalars = Vec::new();
    TopMap {
        key,
        each,
        scalars: &mut scalars,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(scalars)
}

struct TopMap<'a> {
    key: &'a str,
    each: &'a mut dyn FnMut(usize, Value),
    scalars: &'a mut Vec<(String, Value)>,
}

impl<'de> DeserializeSeed<'de> for TopMap<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopMap<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "a JSON object with a `{}` array", self.key)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(k) = map.next_key::<String>()? {
            if k == self.key {
                map.next_value_seed(Elements {
                    each: &mut *self.each,
                })?;
            } else {
                if let Scalar(Some(v)) = map.next_value::<Scalar>()? {
                    self.scalars.push((k, v));
                }
            }
        }
        Ok(())
    }
}

/// A top-level member kept only when it is a scalar.
struct Scalar(Option<Value>);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> std::result::Result<Scalar, E> {
                Ok(Scalar(Some(Value::Bool(v))))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<Scalar, E> {
                Ok(Scalar(Some(Value::from(v))))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<Scalar, E> {
                Ok(Scalar(Some(Value::from(v))))
            }
            fn visit_f64<E>(self, v: f64) -> std::result::Result<Scalar, E> {
                Ok(Scalar(Some(Value::from(v))))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Scalar, E> {
                Ok(Scalar(Some(Value::from(v))))
            }
            fn visit_unit<E>(self) -> std::result::Result<Scalar, E> {
                Ok(Scalar(Some(Value::Null)))
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> std::result::Result<Scalar, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar(None))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<Scalar, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar(None))
            }
        }
        d.deserialize_any(V)
    }
}

struct Elements<'a> {
    each: &'a mut dyn FnMut(usize, Value),
}

impl<'de> DeserializeSeed<'de> for Elements<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Elements<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        let mut i = 0;
        while let Some(v) = seq.next_element::<Value>()? {
            (self.each)(i, v);
            i += 1;
        }
        Ok(())
    }
}

/// `line L column C: message` for a stream-level JSON error.
pub(crate) fn json_position(e: &serde_json::Error) -> String {
    format!("line {}", e.line())
}

fn import_page(file: &Path, sink: &mut dyn Sink, report: &mut FeedReport) -> Result<()> {
    let name = file.display().to_string();
    let f = File::open(file).map_err(|e| io_err(file, e))?;
    let res = {
        let mut each = |i: usize, v: Value| {
            let label = v
                .pointer("/cve/id")
                .and_then(Value::as_str)
                .map_or_else(|| format!("vulnerabilities[{i}]"), str::to_owned);
            match serde_json::from_value::<NvdItem>(v) {
                Ok(item) => {
                    if item.cve.vuln_status.as_deref() == Some("Rejected") {
                        report.skip("rejected");
                    } else {
                        sink.record(Record::Vulnerability(item.cve.into_model()));
                        report.records += 1;
                    }
                }
                Err(e) => drop_record(report, &name, label, e.to_string()),
            }
        };
        stream_top_array(BufReader::new(f), "vulnerabilities", &mut each)
    };
    if let Err(e) = res {
        report.error(&name, Some(json_position(&e)), e.to_string());
    }
    Ok(())
}

#[derive(Deserialize)]
struct NvdItem {
    cve: NvdCve,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NvdCve {
    id: String,
    published: Option<String>,
    last_modified: Option<String>,
    vuln_status: Option<String>,
    #[serde(default)]
    descriptions: Vec<LangString>,
    #[serde(default)]
    weaknesses: Vec<Weakness>,
    #[serde(default)]
    references: Vec<Reference>,
    #[serde(default)]
    metrics: NvdMetrics,
}

#[derive(Deserialize)]
struct LangString {
    lang: String,
    value: String,
}

#[derive(Deserialize)]
struct Weakness {
    #[serde(default)]
    description: Vec<LangString>,
}

#[derive(Deserialize)]
struct Reference {
    url: String,
}

#[derive(Default, Deserialize)]
struct NvdMetrics {
    #[serde(default, rename = "cvssMetricV2")]
    v2: Vec<NvdMetric>,
    #[serde(default, rename = "cvssMetricV30")]
    v30: Vec<NvdMetric>,
    #[serde(default, rename = "cvssMetricV31")]
    v31: Vec<NvdMetric>,
    #[serde(default, rename = "cvssMetricV40")]
    v40: Vec<NvdMetric>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NvdMetric {
    source: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    cvss_data: CvssData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CvssData {
    version: Option<String>,
    vector_string: String,
    base_score: Option<f64>,
}

/// The first English text (`en`, `en-US`, ...).
fn english(texts: &[LangString]) -> Option<String> {
    texts
        .iter()
        .find(|d| d.lang == "en" || d.lang.starts_with("en-") || d.lang.starts_with("en_"))
        .or_else(|| texts.first())
        .map(|d| d.value.clone())
}

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_owned());
    }
}

impl NvdCve {
    fn into_model(self) -> Vulnerability {
        let mut cwes = Vec::new();
        for w in &self.weaknesses {
            for d in &w.description {
                // `NVD-CWE-Other` / `NVD-CWE-noinfo` are not CWE ids.
                if d.value.starts_with("CWE-") {
                    push_unique(&mut cwes, &d.value);
                }
            }
        }
        let mut references = Vec::new();
        for r in &self.references {
            push_unique(&mut references, &r.url);
        }
        let mut cvss = Vec::new();
        for (default_version, list) in [
            ("4.0", self.metrics.v40),
            ("3.1", self.metrics.v31),
            ("3.0", self.metrics.v30),
            ("2.0", self.metrics.v2),
        ] {
            for m in list {
                cvss.push(CvssVector {
                    source: m.source.unwrap_or_default(),
                    kind: m.kind,
                    version: m
                        .cvss_data
                        .version
                        .unwrap_or_else(|| default_version.to_owned()),
                    vector: m.cvss_data.vector_string,
                    base_score: m.cvss_data.base_score,
                });
            }
        }
        Vulnerability {
            id: self.id,
            description: english(&self.descriptions),
            published: self.published,
            modified: self.last_modified,
            cwes,
            references,
            cvss,
        }
    }
}

// ---- CVE JSON 5 -------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cve5 {
    cve_metadata: Cve5Meta,
    #[serde(default)]
    containers: Cve5Containers,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cve5Meta {
    cve_id: String,
    state: String,
    date_published: Option<String>,
    date_updated: Option<String>,
}

#[derive(Default, Deserialize)]
struct Cve5Containers {
    cna: Option<Cve5Container>,
    #[serde(default)]
    adp: Vec<Cve5Container>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cve5Container {
    provider_metadata: Option<Cve5Provider>,
    #[serde(default)]
    descriptions: Vec<LangString>,
    #[serde(default)]
    problem_types: Vec<Cve5ProblemType>,
    #[serde(default)]
    references: Vec<Reference>,
    #[serde(default)]
    metrics: Vec<Cve5Metric>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cve5Provider {
    org_id: Option<String>,
    short_name: Option<String>,
}

#[derive(Deserialize)]
struct Cve5ProblemType {
    #[serde(default)]
    descriptions: Vec<Cve5ProblemDescription>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cve5ProblemDescription {
    cwe_id: Option<String>,
}

#[derive(Deserialize)]
struct Cve5Metric {
    #[serde(rename = "cvssV4_0")]
    v40: Option<Cve5Cvss>,
    #[serde(rename = "cvssV3_1")]
    v31: Option<Cve5Cvss>,
    #[serde(rename = "cvssV3_0")]
    v30: Option<Cve5Cvss>,
    #[serde(rename = "cvssV2_0")]
    v20: Option<Cve5Cvss>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cve5Cvss {
    version: Option<String>,
    vector_string: String,
    base_score: Option<f64>,
}

fn import_cve5_file(file: &Path, sink: &mut dyn Sink, report: &mut FeedReport) -> Result<()> {
    let name = file.display().to_string();
    let f = File::open(file).map_err(|e| io_err(file, e))?;
    let value: Value = match serde_json::from_reader(BufReader::new(f)) {
        Ok(v) => v,
        Err(e) => {
            report.error(&name, Some(json_position(&e)), e.to_string());
            return Ok(());
        }
    };
    let label = value
        .pointer("/cveMetadata/cveId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let rec: Cve5 = match serde_json::from_value(value) {
        Ok(r) => r,
        Err(e) => {
            match label {
                Some(id) => drop_record(report, &name, id, e.to_string()),
                None => report.error(&name, None, e.to_string()),
            }
            return Ok(());
        }
    };
    if rec.cve_metadata.state.eq_ignore_ascii_case("REJECTED") {
        report.skip("rejected");
        return Ok(());
    }
    sink.record(Record::Vulnerability(rec.into_model()));
    report.records += 1;
    Ok(())
}

impl Cve5 {
    fn into_model(self) -> Vulnerability {
        let mut cwes = Vec::new();
        let mut references = Vec::new();
        let mut cvss = Vec::new();
        let description = self
            .containers
            .cna
            .as_ref()
            .and_then(|c| english(&c.descriptions));
        let containers = self.containers.cna.into_iter().chain(self.containers.adp);
        for c in containers {
            let source = c
                .provider_metadata
                .and_then(|p| p.short_name.or(p.org_id))
                .unwrap_or_default();
            for pt in &c.problem_types {
                for d in &pt.descriptions {
                    if let Some(id) = d.cwe_id.as_deref().filter(|id| id.starts_with("CWE-")) {
                        push_unique(&mut cwes, id);
                    }
                }
            }
            for r in &c.references {
                push_unique(&mut references, &r.url);
            }
            for m in c.metrics {
                for (default_version, v) in [
                    ("4.0", m.v40),
                    ("3.1", m.v31),
                    ("3.0", m.v30),
                    ("2.0", m.v20),
                ] {
                    if let Some(v) = v {
                        cvss.push(CvssVector {
                            source: source.clone(),
                            kind: None,
                            version: v.version.unwrap_or_else(|| default_version.to_owned()),
                            vector: v.vector_string,
                            base_score: v.base_score,
                        });
                    }
                }
            }
        }
        Vulnerability {
            id: self.cve_metadata.cve_id,
            description,
            published: self.cve_metadata.date_published,
            modified: self.cve_metadata.date_updated,
            cwes,
            references,
            cvss,
        }
    }
}
