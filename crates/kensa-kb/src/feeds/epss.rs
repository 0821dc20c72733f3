//! FIRST's daily EPSS scores (`epss_scores-YYYY-MM-DD.csv.gz`) into
//! [`Epss`] records.
//!
//! The file as FIRST publishes it: gzip (plain text also accepted), a first
//! comment line `#model_version:v2023.03.01,score_date:2026-11-29T00:00:00+0000`,
//! then the header `cve,epss,percentile` and one line per CVE. The score
//! date comes from the comment line; files from before that line existed
//! fall back to the date in the file name. Read line by line: a bad line is
//! a record error naming its line number; a read error (a truncated gzip
//! stream) ends the file with an error and keeps the lines before it.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::model::{Epss, FeedReport, Record, Sink};
use crate::{KbError, Result};

pub fn import(path: impl AsRef<Path>, sink: &mut dyn Sink) -> Result<FeedReport> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let io = |e| KbError::Io {
        path: name.clone(),
        source: e,
    };
    let mut f = BufReader::new(File::open(path).map_err(io)?);
    let gz = f.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn BufRead> = if gz {
        Box::new(BufReader::new(MultiGzDecoder::new(f)))
    } else {
        Box::new(f)
    };
    Ok(read(reader, &name, date_from_file_name(path), sink))
}

/// `2026-11-29` from `epss_scores-2026-11-29.csv.gz`.
fn date_from_file_name(path: &Path) -> Option<String> {
    let n = path.file_name()?.to_str()?;
    let rest = n.strip_prefix("epss_scores-")?;
    let d = rest.get(..10)?;
    is_date(d).then(|| d.to_owned())
}

fn is_date(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// The score date of `#model_version:...,score_date:2026-11-29T00:00:00+0000`.
fn date_from_comment(line: &str) -> Option<String> {
    line.trim_start_matches('#')
        .split(',')
        .filter_map(|kv| kv.split_once(':'))
        .find(|(k, _)| k.trim() == "score_date")
        .and_then(|(_, v)| v.trim().get(..10))
        .filter(|d| is_date(d))
        .map(str::to_owned)
}

fn read(
    mut r: impl BufRead,
    name: &str,
    file_date: Option<String>,
    sink: &mut dyn Sink,
) -> FeedReport {
    let mut report = FeedReport::default();
    let mut date = file_date;
    let mut columns: Option<[usize; 3]> = None;
    let mut buf = Vec::new();
    let mut lineno = 0usize;
    loop {
        buf.clear();
        match r.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                report.error(
                    name,
                    Some(format!("line {}", lineno + 1)),
                    format!("read error: {e}"),
                );
                break;
            }
        }
        lineno += 1;
        let at = || Some(format!("line {lineno}"));
        let Ok(line) = std::str::from_utf8(&buf) else {
            report.error(name, at(), "not UTF-8");
            continue;
        };
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if columns.is_none() {
                match date_from_comment(comment) {
                    Some(d) => date = Some(d),
                    None => report.error(name, at(), "comment line without a `score_date`"),
                }
            }
            continue;
        }
        let Some(cols) = columns else {
            let h: Vec<&str> = line.split(',').map(str::trim).collect();
            let find = |n: &str| h.iter().position(|c| *c == n);
            match (find("cve"), find("epss"), find("percentile")) {
                (Some(a), Some(b), Some(c)) => columns = Some([a, b, c]),
                _ => {
                    report.error(
                        name,
                        at(),
                        format!("expected the header `cve,epss,percentile`, found {line:?}"),
                    );
                    return report;
                }
            }
            if date.is_none() {
                report.error(
                    name,
                    at(),
                    "no score date: neither a `#...score_date:` line nor a dated file name",
                );
                return report;
            }
            continue;
        };
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let cve = fields.get(cols[0]).copied().unwrap_or_default();
        let label = if cve.starts_with("CVE-") {
            Some(format!("line {lineno} ({cve})"))
        } else {
            at()
        };
        if fields.len() != 3 {
            report.error(name, label, format!("{} fields, expected 3", fields.len()));
            continue;
        }
        if !cve.starts_with("CVE-") {
            report.error(name, label, format!("not a CVE id: {cve:?}"));
            continue;
        }
        let num = |i: usize, what: &str| -> std::result::Result<f64, String> {
            let s = fields[cols[i]];
            match s.parse::<f64>() {
                Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
                Ok(v) => Err(format!("{what} {v} is outside 0..1")),
                Err(_) => Err(format!("{what} is not a number: {s:?}")),
            }
        };
        match (num(1, "epss"), num(2, "percentile")) {
            (Ok(score), Ok(percentile)) => {
                sink.record(Record::Epss(Epss {
                    cve: cve.to_owned(),
                    score,
                    percentile,
                    date: date.clone().unwrap_or_default(),
                }));
                report.records += 1;
            }
            (Err(e), _) | (_, Err(e)) => report.error(name, label, e),
        }
    }
    report
}

/// Reads EPSS CSV text (already decompressed) from any reader; `date` is
/// used when the text has no `score_date` comment line.
pub fn import_reader(
    reader: impl Read,
    name: &str,
    date: Option<String>,
    sink: &mut dyn Sink,
) -> FeedReport {
    read(BufReader::new(reader), name, date, sink)
}
