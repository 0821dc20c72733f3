//! The knowledge base on disk: an immutable, versioned store built once per
//! update and switched into place atomically.
//!
//! Why not a database: detection asks one question millions of times per
//! scan, "which advisory rows name (namespace, package)?", and nothing
//! ever updates a row in place; a feed update rebuilds everything. So the
//! store is a write-once directory (a *generation*) of:
//!
//! - `affected.fst` + `affected.idx` + `affected.bin`: an FST (finite
//!   state transducer) map from `namespace \0 package` to a range of
//!   length-prefixed rows, one per (advisory, affected package), all rows
//!   of one key stored together. A lookup is one FST walk and one read.
//!   Rows are encoded with postcard (compact, not self-describing, strings
//!   stored as they are) rather than JSON: detection decodes tens of
//!   thousands of them per scan, and [`RowRef`] borrows every string from
//!   the row's bytes instead of scanning and copying it.
//! - `ids.fst` + `ids.idx` + `postings.bin`: every advisory id, alias
//!   (CVE id), KEV/EPSS CVE id and `eol:<product>` key to the locations of
//!   its records in `records.bin`, for `kensa db show`.
//! - `records.bin`: every record as JSON, read with positioned reads on
//!   demand (never loaded whole).
//! - `meta.json`: format version, build time, per-feed counts and reports.
//!
//! Opening reads the two FSTs and their range tables into memory (no
//! `mmap`: the workspace forbids `unsafe`) and keeps `affected.bin` and
//! `records.bin` open: a lookup reads its key's rows with one positioned
//! read. A scan touches a few hundred keys of a store of hundreds of
//! thousands of rows, so reading the rows file whole (120 MB for a full
//! Debian tracker) would cost more memory than everything else together.
//!
//! Generations live beside each other in the store directory; the symlink
//! `current` names the live one and is replaced with one `rename`, so a
//! reader sees the old or the new store, never a mix, and an interrupted
//! or failed build leaves the previous store untouched (its temporary
//! directory is removed, or ignored if the process was killed).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::error::{KbError, Result};
use crate::model::{Affected, Feed, FeedReport, Record, Severity, Sink};

/// Bumped when the on-disk layout changes; a store of another version is
/// refused with a message asking for an update.
pub const FORMAT_VERSION: u32 = 2;

const CURRENT: &str = "current";

/// One (advisory, affected package) row, as a lookup returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedRow {
    pub advisory: String,
    pub feed: Feed,
    pub aliases: Vec<String>,
    pub severity: Option<Severity>,
    pub affected: Affected,
}

/// An [`AffectedRow`] borrowing its strings from the stored bytes. The
/// fields are the same, in the same order: the encoding is positional.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct RowRef<'a> {
    pub advisory: &'a str,
    pub feed: Feed,
    #[serde(borrow)]
    pub aliases: Vec<&'a str>,
    #[serde(borrow)]
    pub severity: Option<SeverityRef<'a>>,
    #[serde(borrow)]
    pub affected: AffectedRef<'a>,
}

/// A [`Severity`], borrowed.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SeverityRef<'a> {
    pub source: &'a str,
    pub value: &'a str,
}

/// An [`Affected`], borrowed.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AffectedRef<'a> {
    pub namespace: &'a str,
    pub package: &'a str,
    pub status: crate::model::FixStatus,
    #[serde(borrow)]
    pub ranges: RangesRef<'a>,
    #[serde(borrow)]
    pub versions: Vec<&'a str>,
    pub fixed: Option<&'a str>,
    pub note: Option<&'a str>,
    pub module: Option<&'a str>,
    #[serde(borrow)]
    pub arches: Vec<&'a str>,
}

/// An [`Affected`]'s ranges, borrowed and stored flat: one list of events
/// and where each range ends. Small rows (one or two ranges of a few
/// events, nearly every row) need no allocation at all.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RangesRef<'a> {
    events: SmallVec<[EventRef<'a>; 6]>,
    ends: SmallVec<[u32; 3]>,
}

impl<'a> RangesRef<'a> {
    /// Each range's events, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[EventRef<'a>]> + '_ {
        let mut start = 0usize;
        self.ends.iter().map(move |&end| {
            let end = end as usize;
            let r = &self.events[start..end];
            start = end;
            r
        })
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RangesRef<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Outer<'a>(std::marker::PhantomData<&'a ()>);
        struct Inner<'r, 'a>(&'r mut SmallVec<[EventRef<'a>; 6]>);
        impl<'de: 'a, 'a> serde::de::DeserializeSeed<'de> for Inner<'_, 'a> {
            type Value = ();
            fn deserialize<D: serde::Deserializer<'de>>(
                self,
                d: D,
            ) -> std::result::Result<(), D::Error> {
                d.deserialize_seq(self)
            }
        }
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Inner<'_, 'a> {
            type Value = ();
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a range: a list of events")
            }
            fn visit_seq<S: serde::de::SeqAccess<'de>>(
                self,
                mut seq: S,
            ) -> std::result::Result<(), S::Error> {
                while let Some(e) = seq.next_element::<EventRef<'a>>()? {
                    self.0.push(e);
                }
                Ok(())
            }
        }
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Outer<'a> {
            type Value = RangesRef<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of ranges")
            }
            fn visit_seq<S: serde::de::SeqAccess<'de>>(
                self,
                mut seq: S,
            ) -> std::result::Result<RangesRef<'a>, S::Error> {
                let mut out = RangesRef::default();
                while seq.next_element_seed(Inner(&mut out.events))?.is_some() {
                    let end = u32::try_from(out.events.len())
                        .map_err(|_| serde::de::Error::custom("too many events"))?;
                    out.ends.push(end);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(Outer(std::marker::PhantomData))
    }
}

/// An [`crate::model::Event`], borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum EventRef<'a> {
    Introduced(&'a str),
    Fixed(&'a str),
    LastAffected(&'a str),
    Limit(&'a str),
}

impl<'a> EventRef<'a> {
    /// The form `kensa_version::range::is_affected` evaluates.
    pub fn as_range_event(self) -> kensa_version::range::Event<'a> {
        use kensa_version::range::Event as E;
        match self {
            EventRef::Introduced(v) => E::Introduced(v),
            EventRef::Fixed(v) => E::Fixed(v),
            EventRef::LastAffected(v) => E::LastAffected(v),
            EventRef::Limit(v) => E::Limit(v),
        }
    }
}

/// What `meta.json` says about a generation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub format_version: u32,
    /// RFC 3339 build time.
    pub built_at: String,
    /// Records per kind (`advisory`, `vulnerability`, `kev`, `epss`, `eol`).
    pub counts: BTreeMap<String, usize>,
    /// Affected rows and distinct (namespace, package) keys.
    pub affected_rows: usize,
    pub affected_keys: usize,
    /// Affected rows per namespace (`debian:12`, `PyPI`): which releases
    /// and ecosystems the store can check at all, so that detection can
    /// say "no data" instead of reporting a clean result.
    #[serde(default)]
    pub namespaces: BTreeMap<String, usize>,
    /// The import report of each feed, by name.
    pub feeds: BTreeMap<String, FeedReport>,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> KbError + '_ {
    move |source| KbError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn format_error(path: &Path, message: impl Into<String>) -> KbError {
    KbError::Format {
        path: path.display().to_string(),
        message: message.into(),
    }
}

fn key(namespace: &str, package: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(namespace.len() + package.len() + 1);
    k.extend_from_slice(namespace.as_bytes());
    k.push(0);
    k.extend_from_slice(package.as_bytes());
    k
}

/// Builds a new generation; records arrive through [`Sink`].
pub struct KnowledgeBaseBuilder {
    dir: PathBuf,
    tmp: PathBuf,
    records: BufWriter<File>,
    records_len: u64,
    affected: Vec<(Vec<u8>, Vec<u8>)>,
    ids: Vec<(String, u64, u32)>,
    /// The newest CVE record per id: incremental NVD fetches deliver the
    /// same CVE again as it changes, and only its latest state is kept.
    vulnerabilities: std::collections::HashMap<String, (String, u64, u32)>,
    meta: Meta,
    failed: Option<KbError>,
    finished: bool,
}

impl KnowledgeBaseBuilder {
    /// Start a generation in `dir` (created if missing). Nothing is visible
    /// to readers until [`KnowledgeBaseBuilder::finish`].
    pub fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        remove_abandoned_builds(dir);
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let tmp = dir.join(format!(".building-{}-{stamp}", std::process::id()));
        std::fs::create_dir(&tmp).map_err(io(&tmp))?;
        let path = tmp.join("records.bin");
        let records = BufWriter::new(File::create(&path).map_err(io(&path))?);
        Ok(KnowledgeBaseBuilder {
            dir: dir.to_owned(),
            tmp,
            records,
            records_len: 0,
            affected: Vec::new(),
            ids: Vec::new(),
            vulnerabilities: std::collections::HashMap::new(),
            meta: Meta {
                format_version: FORMAT_VERSION,
                ..Meta::default()
            },
            failed: None,
            finished: false,
        })
    }

    /// Keep a feed's import report in the store's metadata.
    pub fn report(&mut self, feed: &str, report: FeedReport) {
        self.meta.feeds.insert(feed.to_owned(), report);
    }

    fn add(&mut self, record: &Record) -> Result<()> {
        let json =
            serde_json::to_vec(record).map_err(|e| format_error(&self.tmp, e.to_string()))?;
        let (offset, len) = (self.records_len, json.len() as u32);
        let path = self.tmp.join("records.bin");
        self.records.write_all(&json).map_err(io(&path))?;
        self.records_len += json.len() as u64;
        let kind = match record {
            Record::Advisory(a) => {
                self.ids.push((a.id.clone(), offset, len));
                for alias in &a.aliases {
                    self.ids.push((alias.clone(), offset, len));
                }
                for affected in &a.affected {
                    let row = AffectedRow {
                        advisory: a.id.clone(),
                        feed: a.feed,
                        aliases: a.aliases.clone(),
                        severity: a.severity.clone(),
                        affected: affected.clone(),
                    };
                    let row = postcard::to_allocvec(&row)
                        .map_err(|e| format_error(&self.tmp, e.to_string()))?;
                    self.affected
                        .push((key(&affected.namespace, &affected.package), row));
                }
                "advisory"
            }
            Record::Vulnerability(v) => {
                // Later modification wins; on a tie, the later record.
                let modified = v.modified.clone().unwrap_or_default();
                match self.vulnerabilities.get(&v.id) {
                    Some((seen, _, _)) if *seen > modified => return Ok(()),
                    _ => {
                        self.vulnerabilities
                            .insert(v.id.clone(), (modified, offset, len));
                    }
                }
                "vulnerability"
            }
            Record::Kev(k) => {
                self.ids.push((k.cve.clone(), offset, len));
                "kev"
            }
            Record::Epss(e) => {
                self.ids.push((e.cve.clone(), offset, len));
                "epss"
            }
            Record::Eol(e) => {
                self.ids.push((format!("eol:{}", e.product), offset, len));
                "eol"
            }
        };
        // CVE records are counted once each, at the end.
        if kind != "vulnerability" {
            *self.meta.counts.entry(kind.to_owned()).or_default() += 1;
        }
        Ok(())
    }

    /// Write the indexes and switch readers to this generation. On error
    /// the previous generation stays current.
    pub fn finish(mut self) -> Result<Meta> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let records_path = self.tmp.join("records.bin");
        self.records.flush().map_err(io(&records_path))?;
        self.records
            .get_ref()
            .sync_all()
            .map_err(io(&records_path))?;

        // Affected rows, grouped by key in key order (stable: feed order
        // within a key).
        let mut affected = std::mem::take(&mut self.affected);
        affected.sort_by(|a, b| a.0.cmp(&b.0));
        self.meta.affected_rows = affected.len();
        let mut bin = Vec::new();
        let mut ranges: Vec<(u64, u64)> = Vec::new();
        let mut keys: Vec<(Vec<u8>, u64)> = Vec::new();
        let mut i = 0;
        while i < affected.len() {
            let start = bin.len() as u64;
            let mut j = i;
            while j < affected.len() && affected[j].0 == affected[i].0 {
                let row = &affected[j].1;
                bin.extend_from_slice(&(row.len() as u32).to_le_bytes());
                bin.extend_from_slice(row);
                j += 1;
            }
            let ns_len = affected[i].0.iter().position(|&b| b == 0).unwrap_or(0);
            *self
                .meta
                .namespaces
                .entry(String::from_utf8_lossy(&affected[i].0[..ns_len]).into_owned())
                .or_default() += j - i;
            keys.push((affected[i].0.clone(), ranges.len() as u64));
            ranges.push((start, bin.len() as u64 - start));
            i = j;
        }
        self.meta.affected_keys = keys.len();
        self.write_index("affected", &keys, &ranges)?;
        self.write_file("affected.bin", &bin)?;
        drop(affected);

        // Ids to record locations.
        let mut ids = std::mem::take(&mut self.ids);
        if !self.vulnerabilities.is_empty() {
            self.meta
                .counts
                .insert("vulnerability".into(), self.vulnerabilities.len());
        }
        ids.extend(
            std::mem::take(&mut self.vulnerabilities)
                .into_iter()
                .map(|(id, (_, offset, len))| (id, offset, len)),
        );
        ids.sort();
        ids.dedup();
        let mut postings = Vec::new();
        let mut id_ranges: Vec<(u64, u64)> = Vec::new();
        let mut id_keys: Vec<(Vec<u8>, u64)> = Vec::new();
        let mut i = 0;
        while i < ids.len() {
            let start = postings.len() as u64 / 12;
            let mut j = i;
            while j < ids.len() && ids[j].0 == ids[i].0 {
                postings.extend_from_slice(&ids[j].1.to_le_bytes());
                postings.extend_from_slice(&ids[j].2.to_le_bytes());
                j += 1;
            }
            id_keys.push((ids[i].0.clone().into_bytes(), id_ranges.len() as u64));
            id_ranges.push((start, (j - i) as u64));
            i = j;
        }
        self.write_index("ids", &id_keys, &id_ranges)?;
        self.write_file("postings.bin", &postings)?;

        self.meta.built_at =
            humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let meta_json = serde_json::to_vec_pretty(&self.meta)
            .map_err(|e| format_error(&self.tmp, e.to_string()))?;
        self.write_file("meta.json", &meta_json)?;

        // Publish: the generation gets its final name, then `current` is
        // replaced in one rename.
        let name = self
            .tmp
            .file_name()
            .and_then(|n| n.to_str())
            .map(|n| n.trim_start_matches(".building-").to_owned())
            .unwrap_or_default();
        let generation = format!("gen-{name}");
        let final_dir = self.dir.join(&generation);
        std::fs::rename(&self.tmp, &final_dir).map_err(io(&final_dir))?;
        self.finished = true;
        let link_tmp = self.dir.join(format!(".current-{name}"));
        std::os::unix::fs::symlink(&generation, &link_tmp).map_err(io(&link_tmp))?;
        let current = self.dir.join(CURRENT);
        let previous = std::fs::read_link(&current).ok();
        std::fs::rename(&link_tmp, &current).map_err(io(&current))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))?;
        // Keep the generation just replaced (a reader may have opened it a
        // moment ago); older ones go.
        remove_old_generations(&self.dir, &generation, previous.as_deref());
        Ok(self.meta.clone())
    }

    fn write_file(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.tmp.join(name);
        let mut f = File::create(&path).map_err(io(&path))?;
        f.write_all(bytes).map_err(io(&path))?;
        f.sync_all().map_err(io(&path))
    }

    /// An FST from sorted keys to positions in a table of (start, length).
    fn write_index(
        &self,
        name: &str,
        keys: &[(Vec<u8>, u64)],
        ranges: &[(u64, u64)],
    ) -> Result<()> {
        let path = self.tmp.join(format!("{name}.fst"));
        let mut builder = fst::MapBuilder::memory();
        for (k, v) in keys {
            builder
                .insert(k, *v)
                .map_err(|e| format_error(&path, e.to_string()))?;
        }
        let fst = builder
            .into_inner()
            .map_err(|e| format_error(&path, e.to_string()))?;
        self.write_file(&format!("{name}.fst"), &fst)?;
        let mut table = Vec::with_capacity(ranges.len() * 16);
        for (start, len) in ranges {
            table.extend_from_slice(&start.to_le_bytes());
            table.extend_from_slice(&len.to_le_bytes());
        }
        self.write_file(&format!("{name}.idx"), &table)
    }
}

impl Sink for KnowledgeBaseBuilder {
    fn record(&mut self, record: Record) {
        if self.failed.is_none()
            && let Err(e) = self.add(&record)
        {
            self.failed = Some(e);
        }
    }
}

impl Drop for KnowledgeBaseBuilder {
    /// A build that did not finish leaves nothing behind.
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Builds whose process is gone (killed mid-import) leave their temporary
/// directory behind; the next build removes it.
fn remove_abandoned_builds(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| {
            n.strip_prefix(".building-")
                .or_else(|| n.strip_prefix(".current-"))
        }) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or_default();
        let alive = Path::new("/proc").join(pid).exists();
        if !alive && !pid.is_empty() {
            let p = e.path();
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
    }
}

fn remove_old_generations(dir: &Path, keep: &str, previous: Option<&Path>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_previous = previous.is_some_and(|p| p == Path::new(name));
        if name.starts_with("gen-") && name != keep && !is_previous {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// An open generation.
pub struct KnowledgeBase {
    generation: PathBuf,
    meta: Meta,
    affected: fst::Map<Vec<u8>>,
    affected_ranges: Vec<u8>,
    affected_bin: File,
    ids: fst::Map<Vec<u8>>,
    id_ranges: Vec<u8>,
    postings: Vec<u8>,
    records: File,
    /// `namespace \0 package` → the records of it dropped at import.
    dropped: std::collections::HashMap<Vec<u8>, Vec<DroppedRecord>>,
}

/// A record about a package that an import could not read (an invalid
/// fixed version, a malformed id): the import log says so once; a scan of
/// a host with the package must say so too, or a dropped advisory reads
/// as "not affected".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DroppedRecord {
    /// The feed's name in the store's metadata (`alpine`, `osv:PyPI`).
    pub feed: String,
    pub file: String,
    /// The record's id or place (`xen 4.10-1-r1 line 1998`).
    pub record: Option<String>,
    pub message: String,
}

/// The records dropped at import, by the (namespace, package) they were
/// about, from the feed reports kept in the metadata.
fn dropped_index(meta: &Meta) -> std::collections::HashMap<Vec<u8>, Vec<DroppedRecord>> {
    let mut out: std::collections::HashMap<Vec<u8>, Vec<DroppedRecord>> =
        std::collections::HashMap::new();
    for (feed, report) in &meta.feeds {
        for e in &report.errors {
            let (Some(ns), Some(pkg)) = (&e.namespace, &e.package) else {
                continue;
            };
            out.entry(key(ns, pkg)).or_default().push(DroppedRecord {
                feed: feed.clone(),
                file: e.file.clone(),
                record: e.record.clone(),
                message: e.message.clone(),
            });
        }
    }
    out
}

impl KnowledgeBase {
    /// Open the current generation of the store in `dir`.
    pub fn open(dir: &Path) -> Result<KnowledgeBase> {
        let name = KnowledgeBase::current_generation(dir)?;
        KnowledgeBase::open_generation(dir, &name)
    }

    /// The name of the generation `current` points to (`gen-…`).
    pub fn current_generation(dir: &Path) -> Result<String> {
        let link = dir.join(CURRENT);
        let target = std::fs::read_link(&link).map_err(io(&link))?;
        // `current` names a sibling generation, never a path elsewhere.
        target
            .to_str()
            .filter(|n| n.starts_with("gen-") && !n.contains('/'))
            .map(str::to_owned)
            .ok_or_else(|| format_error(&link, "does not name a generation of this store"))
    }

    /// Open one generation by name: the current one, or the previous one
    /// an update keeps (to see what the update changed).
    pub fn open_generation(dir: &Path, name: &str) -> Result<KnowledgeBase> {
        if !name.starts_with("gen-") || name.contains('/') {
            return Err(format_error(
                dir,
                format!("{name:?} is not a generation name"),
            ));
        }
        let generation = dir.join(name);
        let read = |file: &str| {
            let p = generation.join(file);
            std::fs::read(&p).map_err(io(&p))
        };
        let meta_path = generation.join("meta.json");
        let meta: Meta = serde_json::from_slice(&read("meta.json")?)
            .map_err(|e| format_error(&meta_path, e.to_string()))?;
        if meta.format_version != FORMAT_VERSION {
            return Err(format_error(
                &meta_path,
                format!(
                    "store format {} is not this version's {FORMAT_VERSION}: run `kensa db update`",
                    meta.format_version
                ),
            ));
        }
        let fst_map = |file: &str| -> Result<fst::Map<Vec<u8>>> {
            let p = generation.join(file);
            fst::Map::new(read(file)?).map_err(|e| format_error(&p, e.to_string()))
        };
        let records_path = generation.join("records.bin");
        Ok(KnowledgeBase {
            affected: fst_map("affected.fst")?,
            affected_ranges: read("affected.idx")?,
            affected_bin: {
                let p = generation.join("affected.bin");
                File::open(&p).map_err(io(&p))?
            },
            ids: fst_map("ids.fst")?,
            id_ranges: read("ids.idx")?,
            postings: read("postings.bin")?,
            records: File::open(&records_path).map_err(io(&records_path))?,
            dropped: dropped_index(&meta),
            meta,
            generation,
        })
    }

    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The records about (namespace, package) that the import dropped
    /// (see [`DroppedRecord`]); empty for nearly every package.
    pub fn dropped(&self, namespace: &str, package: &str) -> &[DroppedRecord] {
        if self.dropped.is_empty() {
            return &[];
        }
        self.dropped
            .get(&key(namespace, package))
            .map_or(&[], Vec::as_slice)
    }

    /// The generation directory this store reads.
    pub fn generation(&self) -> &Path {
        &self.generation
    }

    fn range(table: &[u8], index: u64) -> Option<(u64, u64)> {
        let at = usize::try_from(index).ok()?.checked_mul(16)?;
        let start = u64::from_le_bytes(table.get(at..at + 8)?.try_into().ok()?);
        let len = u64::from_le_bytes(table.get(at + 8..at + 16)?.try_into().ok()?);
        Some((start, len))
    }

    /// The encoded rows for (namespace, package): one FST lookup and one
    /// positioned read. Empty when nothing names the package.
    pub fn lookup_raw(&self, namespace: &str, package: &str) -> Result<Rows> {
        // The key on the stack: no allocation per lookup.
        let mut buf = [0u8; 256];
        let len = namespace.len() + 1 + package.len();
        let heap;
        let key_bytes: &[u8] = if len <= buf.len() {
            buf[..namespace.len()].copy_from_slice(namespace.as_bytes());
            buf[namespace.len() + 1..len].copy_from_slice(package.as_bytes());
            &buf[..len]
        } else {
            heap = key(namespace, package);
            &heap
        };
        let Some((start, len)) = self
            .affected
            .get(key_bytes)
            .and_then(|i| Self::range(&self.affected_ranges, i))
        else {
            return Ok(Rows { bytes: Vec::new() });
        };
        let path = self.generation.join("affected.bin");
        let len = usize::try_from(len).map_err(|_| format_error(&path, "row range too large"))?;
        let mut bytes = vec![0; len];
        self.affected_bin
            .read_exact_at(&mut bytes, start)
            .map_err(io(&path))?;
        Ok(Rows { bytes })
    }

    /// Every advisory row naming (namespace, package), decoded.
    pub fn lookup(&self, namespace: &str, package: &str) -> Result<Vec<AffectedRow>> {
        self.lookup_raw(namespace, package)?
            .iter()
            .map(|row| self.decode_row(row))
            .collect()
    }

    /// The (namespace, package) keys whose advisory rows differ between
    /// `old` and `new` (added, removed or changed): after an update, only
    /// inventories holding one of them can have different findings. Both
    /// key lists are walked in order; rows are compared byte for byte.
    pub fn changed_keys(old: &KnowledgeBase, new: &KnowledgeBase) -> Result<Vec<(String, String)>> {
        use fst::Streamer;
        let split = |k: &[u8]| {
            let at = k.iter().position(|&b| b == 0).unwrap_or(k.len());
            (
                String::from_utf8_lossy(&k[..at]).into_owned(),
                String::from_utf8_lossy(k.get(at + 1..).unwrap_or_default()).into_owned(),
            )
        };
        let rows = |s: &KnowledgeBase, k: &[u8]| -> Result<Vec<u8>> {
            let (ns, pkg) = split(k);
            Ok(s.lookup_raw(&ns, &pkg)?.bytes().to_vec())
        };
        let mut changed = Vec::new();
        let mut a = old.affected.stream();
        let mut b = new.affected.stream();
        let mut x = a.next().map(|(k, _)| k.to_vec());
        let mut y = b.next().map(|(k, _)| k.to_vec());
        loop {
            match (&x, &y) {
                (None, None) => break,
                (Some(k), None) => {
                    changed.push(split(k));
                    x = a.next().map(|(k, _)| k.to_vec());
                }
                (None, Some(k)) => {
                    changed.push(split(k));
                    y = b.next().map(|(k, _)| k.to_vec());
                }
                (Some(k1), Some(k2)) => match k1.cmp(k2) {
                    std::cmp::Ordering::Less => {
                        changed.push(split(k1));
                        x = a.next().map(|(k, _)| k.to_vec());
                    }
                    std::cmp::Ordering::Greater => {
                        changed.push(split(k2));
                        y = b.next().map(|(k, _)| k.to_vec());
                    }
                    std::cmp::Ordering::Equal => {
                        if rows(old, k1)? != rows(new, k2)? {
                            changed.push(split(k1));
                        }
                        x = a.next().map(|(k, _)| k.to_vec());
                        y = b.next().map(|(k, _)| k.to_vec());
                    }
                },
            }
        }
        Ok(changed)
    }

    /// One row of [`KnowledgeBase::lookup_raw`], decoded.
    pub fn decode_row(&self, row: &[u8]) -> Result<AffectedRow> {
        postcard::from_bytes(row)
            .map_err(|e| format_error(&self.generation.join("affected.bin"), e.to_string()))
    }

    /// One row of [`KnowledgeBase::lookup_raw`], decoded without copying its
    /// strings.
    pub fn decode_row_ref<'a>(&self, row: &'a [u8]) -> Result<RowRef<'a>> {
        postcard::from_bytes(row)
            .map_err(|e| format_error(&self.generation.join("affected.bin"), e.to_string()))
    }

    /// Every record filed under an id: the advisory itself, advisories
    /// that list it as an alias, its CVE record, KEV entry, EPSS score;
    /// `eol:<product>` gives a product's release cycles.
    pub fn get(&self, id: &str) -> Result<Vec<Record>> {
        let path = self.generation.join("records.bin");
        self.get_raw(id)?
            .iter()
            .map(|buf| serde_json::from_slice(buf).map_err(|e| format_error(&path, e.to_string())))
            .collect()
    }

    /// The stored JSON of each record [`KnowledgeBase::get`] returns, undecoded:
    /// for a reader that wants a few fields of many records (a scan's
    /// enrichment) without building them whole.
    pub fn get_raw(&self, id: &str) -> Result<Vec<Vec<u8>>> {
        let path = self.generation.join("records.bin");
        let Some((start, count)) = self
            .ids
            .get(id)
            .and_then(|i| Self::range(&self.id_ranges, i))
        else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for n in start..start.saturating_add(count) {
            let at = usize::try_from(n).ok().and_then(|n| n.checked_mul(12));
            let entry = at.and_then(|at| self.postings.get(at..at + 12));
            let Some(entry) = entry else {
                return Err(format_error(
                    &self.generation.join("postings.bin"),
                    "index points past the end",
                ));
            };
            let offset = u64::from_le_bytes(
                entry[..8]
                    .try_into()
                    .map_err(|_| format_error(&path, "bad posting"))?,
            );
            let len = u32::from_le_bytes(
                entry[8..]
                    .try_into()
                    .map_err(|_| format_error(&path, "bad posting"))?,
            );
            let mut buf = vec![0; len as usize];
            self.records
                .read_exact_at(&mut buf, offset)
                .map_err(io(&path))?;
            out.push(buf);
        }
        Ok(out)
    }
}

/// The encoded rows of one key, each an [`AffectedRow`] (decode with
/// [`KnowledgeBase::decode_row`] or [`KnowledgeBase::decode_row_ref`]).
pub struct Rows {
    bytes: Vec<u8>,
}

impl Rows {
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The encoded rows, each a little-endian `u32` length and the row.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn iter(&self) -> RowIter<'_> {
        RowIter { bytes: &self.bytes }
    }
}

impl<'a> IntoIterator for &'a Rows {
    type Item = &'a [u8];
    type IntoIter = RowIter<'a>;

    fn into_iter(self) -> RowIter<'a> {
        self.iter()
    }
}

/// The rows of a [`Rows`], one length-prefixed JSON row at a time.
pub struct RowIter<'a> {
    bytes: &'a [u8],
}

impl<'a> Iterator for RowIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let len = u32::from_le_bytes(self.bytes.get(..4)?.try_into().ok()?) as usize;
        let row = self.bytes.get(4..4 + len)?;
        self.bytes = &self.bytes[4 + len..];
        Some(row)
    }
}
