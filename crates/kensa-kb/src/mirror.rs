//! Importing an offline mirror: a directory laid out as below (the table
//! [`crate::catalog::FEEDS`] says it to the code), one feed per entry, each
//! read with its own importer in the upstream format. Sites
//! without internet copy the upstream files into this layout; Kensa's own
//! data folder (`../shared/data` in development) is such a mirror, with the
//! small format samples under `samples/` found at their alternative paths.
//!
//! | feed | path (first that exists) |
//! |---|---|
//! | `osv:<Ecosystem>` | `osv/<Ecosystem>/all.zip` (or a folder of OSV JSON) |
//! | `rustsec` | `rustsec/advisory-db.zip` (GitHub's zip of the repository), `rustsec/` (the advisory-db checkout) |
//! | `debian` | `debian/` (security-tracker checkout: `data/`, `static/`), `samples/debian-tracker-source/` |
//! | `debian-json` | `debian-tracker.json` (the tracker's JSON export) |
//! | `alpine` | `alpine-secdb/` (`<release>/<repo>.json` or `.yaml`) |
//! | `amazon` | `amazon/*.xml.gz` (`updateinfo`), `samples/amazon-updateinfo/` |
//! | `oval` | `oval/*.xml` (Mariner/Azure Linux, SUSE, Oracle Linux: the generator says which), `samples/mariner-oval/` |
//! | `redhat` | `redhat/` (Red Hat CSAF VEX, one file per CVE: `<year>/cve-*.json` as published, or flat `*.json`; read recursively) |
//! | `nvd` | `nvd/*.json` (API 2.0 pages), `samples/nvd-api-2.0/` |
//! | `cve5` | `cve5/` (cvelistV5 records) |
//! | `kev` | `kev/known_exploited_vulnerabilities.json` |
//! | `epss` | `epss/*.csv.gz` |
//! | `eol` | `eol/endoflife.date.zip` (GitHub's zip of the repository), `eol/products/` (endoflife.date pages) |

use std::path::{Path, PathBuf};

use crate::catalog::{Importer, Read};
use crate::error::{KbError, Result};
use crate::model::{FeedReport, Sink};

/// What one feed of a mirror gave.
#[derive(Debug)]
pub struct Imported {
    pub feed: String,
    pub path: PathBuf,
    pub report: FeedReport,
    pub seconds: f64,
}

fn first(mirror: &Path, candidates: &[&str]) -> Option<PathBuf> {
    candidates
        .iter()
        .map(|c| mirror.join(c))
        .find(|p| p.exists())
}

/// Files of a directory with one of `extensions`, sorted; a single file is
/// itself.
fn files(path: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|source| KbError::Io {
            path: path.display().to_string(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            p.is_file() && extensions.iter().any(|e| name.ends_with(e))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Import every feed the mirror holds into `sink`. A feed that cannot be
/// read at all is reported as one error and the others go on.
pub fn import(mirror: &Path, sink: &mut dyn Sink) -> Result<Vec<Imported>> {
    if !mirror.is_dir() {
        return Err(KbError::Format {
            path: mirror.display().to_string(),
            message: "not a directory: expected a feed mirror (see `kensa db import --help`)"
                .into(),
        });
    }
    let mut out = Vec::new();
    for feed in crate::catalog::FEEDS {
        let Some(path) = first(mirror, feed.paths) else {
            continue;
        };
        match feed.read {
            Read::Whole(importer) => run(&mut out, sink, feed.name.into(), path, importer),
            Read::PerFolder(importer) => {
                let mut folders: Vec<PathBuf> = std::fs::read_dir(&path)
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_dir())
                    .collect();
                folders.sort();
                for dir in folders {
                    let name = dir
                        .file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or_default()
                        .to_owned();
                    let zip = dir.join("all.zip");
                    let path = if zip.exists() { zip } else { dir };
                    run(
                        &mut out,
                        sink,
                        format!("{}:{name}", feed.name),
                        path,
                        importer,
                    );
                }
            }
            Read::Files(extensions, importer) => {
                out.push(merged(sink, feed.name, path, extensions, importer)?);
            }
        }
    }
    Ok(out)
}

/// A feed read file by file, the reports merged into one.
fn merged(
    sink: &mut dyn Sink,
    feed: &str,
    dir: PathBuf,
    extensions: &[&str],
    importer: Importer,
) -> Result<Imported> {
    let mut merged = FeedReport::default();
    let clock = std::time::Instant::now();
    let mut newest = Newest {
        inner: sink,
        day: None,
    };
    for file in files(&dir, extensions)? {
        match importer(&file, &mut newest) {
            Ok(r) => {
                merged.records += r.records;
                for (reason, n) in r.skipped {
                    for _ in 0..n {
                        merged.skip(&reason);
                    }
                }
                merged.errors.extend(r.errors);
            }
            Err(e) => merged.error(file.display().to_string(), None, e.to_string()),
        }
    }
    merged.newest = newest.day;
    Ok(Imported {
        feed: feed.into(),
        path: dir,
        report: merged,
        seconds: clock.elapsed().as_secs_f64(),
    })
}

/// Passes records on, noting the newest record's day.
struct Newest<'a> {
    inner: &'a mut dyn Sink,
    day: Option<String>,
}

impl Sink for Newest<'_> {
    fn record(&mut self, record: crate::model::Record) {
        if let Some(day) = crate::model::record_day(&record)
            && self.day.as_deref().is_none_or(|d| day > d)
        {
            self.day = Some(day.to_owned());
        }
        self.inner.record(record);
    }
}

/// Run one importer on one path; a feed that cannot be read at all becomes
/// one error in its report.
fn run(
    out: &mut Vec<Imported>,
    sink: &mut dyn Sink,
    feed: String,
    path: PathBuf,
    importer: Importer,
) {
    let clock = std::time::Instant::now();
    let mut newest = Newest {
        inner: sink,
        day: None,
    };
    let mut report = importer(&path, &mut newest).unwrap_or_else(|e| {
        let mut r = FeedReport::default();
        r.error(path.display().to_string(), None, e.to_string());
        r
    });
    report.newest = newest.day;
    out.push(Imported {
        feed,
        path,
        report,
        seconds: clock.elapsed().as_secs_f64(),
    });
}
