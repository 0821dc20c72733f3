//! CISA's Known Exploited Vulnerabilities catalog
//! (`known_exploited_vulnerabilities.json`, or the CSV CISA publishes
//! beside it) into [`Kev`] records.
//!
//! The JSON's `vulnerabilities` array is streamed one entry at a time; an
//! entry with a missing or wrong-typed field is a record error naming its
//! `cveID` (or index). The catalog's own `count` is checked against the
//! entries read: a difference is reported as an error of the file.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::feeds::nvd::{json_position, stream_top_array};
use crate::model::{FeedReport, Kev, Record, Sink};
use crate::{KbError, Result};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    #[serde(rename = "cveID")]
    cve_id: String,
    vendor_project: String,
    product: String,
    vulnerability_name: String,
    date_added: String,
    due_date: String,
    known_ransomware_campaign_use: String,
    required_action: String,
}

impl Entry {
    fn into_model(self) -> Kev {
        Kev {
            ransomware: self.known_ransomware_campaign_use == "Known",
            cve: self.cve_id,
            vendor: self.vendor_project,
            product: self.product,
            name: self.vulnerability_name,
            date_added: self.date_added,
            due_date: self.due_date,
            required_action: self.required_action,
        }
    }
}

/// Imports the catalog: JSON, or CSV when the file name ends in `.csv`.
pub fn import(path: impl AsRef<Path>, sink: &mut dyn Sink) -> Result<FeedReport> {
    let path = path.as_ref();
    let f = File::open(path).map_err(|e| KbError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        Ok(import_csv(path, f, sink))
    } else {
        Ok(import_json(path, f, sink))
    }
}

fn import_json(path: &Path, f: File, sink: &mut dyn Sink) -> FeedReport {
    let name = path.display().to_string();
    let mut report = FeedReport::default();
    let mut seen = 0usize;
    let res = {
        let mut each = |i: usize, v: Value| {
            seen += 1;
            let label = v
                .get("cveID")
                .and_then(Value::as_str)
                .map_or_else(|| format!("vulnerabilities[{i}]"), str::to_owned);
            match serde_json::from_value::<Entry>(v) {
                Ok(e) => {
                    sink.record(Record::Kev(e.into_model()));
                    report.records += 1;
                }
                Err(e) => report.error(&name, Some(label), e.to_string()),
            }
        };
        stream_top_array(BufReader::new(f), "vulnerabilities", &mut each)
    };
    match res {
        Ok(scalars) => {
            let count = scalars
                .iter()
                .find(|(k, _)| k == "count")
                .and_then(|(_, v)| v.as_u64());
            match count {
                Some(n) if n as usize != seen => report.error(
                    &name,
                    None,
                    format!("`count` says {n} entries, the catalog has {seen}"),
                ),
                Some(_) => {}
                None => report.error(&name, None, "no numeric `count` field"),
            }
        }
        Err(e) => report.error(&name, Some(json_position(&e)), e.to_string()),
    }
    report
}

fn import_csv(path: &Path, f: File, sink: &mut dyn Sink) -> FeedReport {
    let name = path.display().to_string();
    let mut report = FeedReport::default();
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(BufReader::new(f));
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            report.error(&name, Some("line 1".to_owned()), e.to_string());
            return report;
        }
    };
    let col = |n: &str| headers.iter().position(|h| h == n);
    let wanted = [
        "cveID",
        "vendorProject",
        "product",
        "vulnerabilityName",
        "dateAdded",
        "dueDate",
        "knownRansomwareCampaignUse",
        "requiredAction",
    ];
    let mut idx = [0usize; 8];
    for (slot, w) in idx.iter_mut().zip(wanted) {
        match col(w) {
            Some(i) => *slot = i,
            None => {
                report.error(&name, Some("line 1".to_owned()), format!("no `{w}` column"));
                return report;
            }
        }
    }
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| format!("line {}", p.line()));
                report.error(&name, line, e.to_string());
                // An I/O or UTF-8 error of the stream: the csv reader
                // resynchronises at the next record.
                continue;
            }
        };
        let line = rec.position().map(|p| format!("line {}", p.line()));
        let get = |k: usize| rec.get(idx[k]).map(str::to_owned);
        match (
            get(0),
            get(1),
            get(2),
            get(3),
            get(4),
            get(5),
            get(6),
            get(7),
        ) {
            (
                Some(cve),
                Some(vendor),
                Some(product),
                Some(vname),
                Some(added),
                Some(due),
                Some(rw),
                Some(action),
            ) if cve.starts_with("CVE-") => {
                sink.record(Record::Kev(Kev {
                    cve,
                    vendor,
                    product,
                    name: vname,
                    date_added: added,
                    due_date: due,
                    ransomware: rw == "Known",
                    required_action: action,
                }));
                report.records += 1;
            }
            (Some(cve), ..) if !cve.starts_with("CVE-") => {
                report.error(&name, line, format!("`cveID` is not a CVE id: {cve:?}"))
            }
            _ => report.error(
                &name,
                line,
                format!("{} fields, the header has {}", rec.len(), headers.len()),
            ),
        }
    }
    report
}
