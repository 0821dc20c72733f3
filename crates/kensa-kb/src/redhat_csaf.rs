//! Downloading Red Hat's CSAF VEX files into the cache as the tree the Red
//! Hat importer reads ([`crate::feeds::redhat::import_dir`] on `redhat/`:
//! `redhat/<year>/cve-<year>-<n>.json`).
//!
//! Red Hat publishes, under one base URL (normally [`BASE`]):
//! `archive_latest.txt` naming the latest full archive
//! (`csaf_vex_YYYY-MM-DD.tar.zst`), the archive itself (`<year>/cve-*.json`
//! entries), `changes.csv` (`path,timestamp` of the files changed since
//! that archive), `deletions.csv` (the same for removed files) and every
//! file at `<year>/cve-*.json`.
//!
//! **Full fetch** (nothing recorded yet, the `redhat/` folder is gone, or
//! `archive_latest.txt` names a newer archive than the one recorded, since
//! `changes.csv` then no longer reaches back to the recorded time): the
//! archive is downloaded to a temporary file, then unpacked into a staging
//! folder beside `redhat/`. Only regular-file entries `<year>/<name>.json`
//! (optionally under `./`) are written; an entry with `..`, an absolute
//! path or a link, an entry larger than [`Options::max_entry_bytes`] or an
//! archive holding more than [`Options::max_total_bytes`] fails the whole
//! fetch, and the staging folder is removed: the previous `redhat/` stays
//! as it was. Other entries (folders, other names) are skipped. A complete
//! unpack replaces `redhat/` (two renames), and the archive's name and date
//! are recorded in [`STATE`] in the cache. The archive may be zstd
//! compressed (`.tar.zst`, recognised by its magic number) or a plain tar.
//! Then the incremental step below runs once from the archive's date.
//!
//! **Incremental fetch**: `changes.csv` is read and every listed file whose
//! timestamp is at or after the recorded time is downloaded (temporary file
//! then rename); more than [`Options::max_changes`] of them means a full
//! fetch instead. Then every file `deletions.csv` lists at or after the
//! recorded time is removed from the cache. Only when every file came is
//! the recorded time moved on to the newest timestamp seen, so a failed
//! file is asked for again next time.
//!
//! Conditional requests: the archive is downloaded only when
//! `archive_latest.txt` names another archive than the recorded one (the
//! archive itself is not kept, so there is nothing to revalidate); the
//! small index files are fetched every run.
//!
//! The caller holds the cache (as [`crate::update::download`] does).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cache::{PART, io_err};
use crate::error::{KbError, Result};
use crate::fetch::{Client, Fetched, Get, HttpOptions};
use crate::update::{Failure, FeedDownload};

/// Red Hat's CSAF VEX publication.
pub const BASE: &str = "https://security.access.redhat.com/data/csaf/v2/vex";
/// The cache folder the files go to.
pub const DIR: &str = "redhat";
/// The state file in the cache: the archive unpacked and the time reached.
pub const STATE: &str = ".kensa-redhat.json";
const FEED: &str = "redhat";

/// How the publication is fetched.
#[derive(Debug, Clone)]
pub struct Options {
    /// Timeouts and retries (per file).
    pub http: HttpOptions,
    /// More changed files than this: a full fetch instead.
    pub max_changes: usize,
    /// The largest file accepted (an archive entry or a changed file).
    pub max_entry_bytes: u64,
    /// The most bytes an archive may unpack to (and the largest archive).
    pub max_total_bytes: u64,
    /// The largest `changes.csv` / `deletions.csv` accepted.
    pub max_index_bytes: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            http: HttpOptions::default(),
            max_changes: 5000,
            max_entry_bytes: 512 << 20,
            max_total_bytes: 128 << 30,
            max_index_bytes: 256 << 20,
        }
    }
}

/// What the run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The archive was downloaded and unpacked (then the changes since).
    Full,
    /// Only the changes since the recorded time.
    Incremental,
}

/// What [`fetch`] did.
#[derive(Debug, Clone)]
pub struct Summary {
    pub download: FeedDownload,
    pub mode: Mode,
    /// The archive `archive_latest.txt` named.
    pub archive: String,
    /// Files unpacked from the archive.
    pub unpacked: usize,
    /// Changed files downloaded.
    pub changed: usize,
    /// Files removed as listed in `deletions.csv`.
    pub deleted: usize,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// The archive last unpacked.
    archive: Option<String>,
    /// Every change at or after this time (seconds since the epoch) is
    /// still to be applied.
    since: Option<i64>,
}

fn format_err(path: impl Into<String>, message: impl Into<String>) -> KbError {
    KbError::Format {
        path: path.into(),
        message: message.into(),
    }
}

/// Remove what a killed run left: staging or old folders and partial
/// files in the cache, partial files in `redhat/`.
fn remove_parts(cache: &Path) {
    crate::fetch::remove_parts(cache, 0);
    crate::fetch::remove_parts(&cache.join(DIR), 64);
}

/// A published file's path: `<year>/<name>.json`, nothing else.
fn valid_path(p: &str) -> Option<(&str, &str)> {
    let (year, name) = p.split_once('/')?;
    let ok = year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && name.len() <= 255
        && name.ends_with(".json")
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    ok.then_some((year, name))
}

/// Seconds since the epoch of `YYYY-MM-DD[THH:MM:SS[.fff]][Z|±HH:MM]`.
fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let num = |a: usize, b: usize| -> Option<i64> {
        let t = s.get(a..b)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    if s.get(4..5)? != "-"
        || s.get(7..8)? != "-"
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&d)
    {
        return None;
    }
    let (mut secs, mut rest) = (0, "");
    if s.len() > 10 {
        if !matches!(s.get(10..11)?, "T" | "t" | " ") || s.get(13..14)? != ":" {
            return None;
        }
        let (hh, mm) = (num(11, 13)?, num(14, 16)?);
        let ss = if s.get(16..17) == Some(":") {
            num(17, 19)?
        } else {
            0
        };
        secs = hh * 3600 + mm * 60 + ss;
        let tail = if s.get(16..17) == Some(":") { 19 } else { 16 };
        rest = s.get(tail..)?;
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            rest = &frac[digits..];
        }
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        r if r.len() == 6 && (r.starts_with('+') || r.starts_with('-')) => {
            let h: i64 = r.get(1..3)?.parse().ok()?;
            let m: i64 = r.get(4..6)?.parse().ok()?;
            let o = h * 3600 + m * 60;
            if r.starts_with('-') { -o } else { o }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + secs - offset)
}

/// The archive name in `archive_latest.txt` and its date.
fn archive_name(text: &str) -> Option<(String, i64)> {
    let name = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))?;
    let name = name.rsplit('/').next()?;
    let date = name.strip_prefix("csaf_vex_")?;
    let date = date
        .strip_suffix(".tar.zst")
        .or_else(|| date.strip_suffix(".tar"))?;
    let when = parse_time(date.get(..10)?)?;
    (date.len() == 10).then(|| (name.to_owned(), when))
}

/// `path,timestamp` rows: valid paths, the newest time per path.
fn parse_rows(text: &str) -> (Vec<(String, i64)>, usize) {
    let mut rows: std::collections::BTreeMap<String, i64> = Default::default();
    let mut bad = 0;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    for rec in reader.records() {
        let Ok(rec) = rec else {
            bad += 1;
            continue;
        };
        let path = rec.get(0).unwrap_or_default().trim();
        let time = rec.get(1).and_then(parse_time);
        match (valid_path(path), time) {
            (Some(_), Some(t)) => {
                let e = rows.entry(path.to_owned()).or_insert(t);
                *e = (*e).max(t);
            }
            // A header line.
            _ if path == "path" || path.is_empty() => {}
            _ => bad += 1,
        }
    }
    (rows.into_iter().collect(), bad)
}

/// `url` into `dest` (atomically), at most `max` bytes: the bytes
/// written; the retries are counted in `download`.
fn get(
    client: &Client<'_>,
    download: &mut FeedDownload,
    url: &str,
    dest: &Path,
    max: u64,
) -> std::result::Result<u64, String> {
    let got = client.get(
        Get {
            max_bytes: Some(max),
            ..Get::new(url)
        },
        dest,
    );
    match got {
        Ok((Fetched::Downloaded { bytes, .. }, retries)) => {
            download.retries += retries;
            Ok(bytes)
        }
        Ok((Fetched::NotModified, _)) => Err("HTTP 304 to an unconditional request".into()),
        Err(failed) => {
            download.retries += failed.retries;
            Err(failed.reason)
        }
    }
}

/// A small file's text.
fn text(
    client: &Client<'_>,
    cache: &Path,
    url: &str,
    max: u64,
) -> std::result::Result<String, String> {
    client
        .bytes(
            Get {
                max_bytes: Some(max),
                ..Get::new(url)
            },
            cache,
        )
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|f| f.reason)
}

/// Fetch Red Hat's CSAF VEX from `base` into `<cache>/redhat/` (see the
/// module documentation). An error means nothing usable came (the index,
/// the archive, or the cache itself); the previous `redhat/` is then left
/// as it was. Files that failed in an incremental fetch are in the
/// summary's `failed`.
pub fn fetch(base: &str, cache: &Path, opts: &Options) -> Result<Summary> {
    fetch_with(
        &Client::new(&opts.http, &crate::fetch::quiet),
        base,
        cache,
        opts,
    )
}

/// [`fetch`] through `client` (an update's, with its timeouts, retries and
/// progress); `opts.http` is the client's business then.
pub fn fetch_with(
    client: &Client<'_>,
    base: &str,
    cache: &Path,
    opts: &Options,
) -> Result<Summary> {
    let base = base.trim_end_matches('/');
    std::fs::create_dir_all(cache).map_err(io_err(cache))?;
    remove_parts(cache);
    let dir = cache.join(DIR);
    let mut state = crate::cache::load_json::<State>(&cache.join(STATE));
    let latest_url = format!("{base}/archive_latest.txt");
    let latest = text(client, cache, &latest_url, 4096)
        .map_err(|e| format_err(crate::update::redact(&latest_url), e))?;
    let (archive, archive_time) = archive_name(&latest).ok_or_else(|| {
        format_err(
            crate::update::redact(&latest_url),
            "no csaf_vex_YYYY-MM-DD.tar.zst archive named",
        )
    })?;
    let mut summary = Summary {
        download: FeedDownload {
            feed: FEED.into(),
            ..FeedDownload::default()
        },
        mode: Mode::Incremental,
        archive: archive.clone(),
        unpacked: 0,
        changed: 0,
        deleted: 0,
    };
    let newer_archive = state
        .archive
        .as_deref()
        .and_then(archive_name)
        .is_none_or(|(_, t)| t < archive_time);
    let mut full = newer_archive || state.since.is_none() || !dir.is_dir();
    for round in 0..2 {
        if full {
            summary.mode = Mode::Full;
            let url = format!("{base}/{archive}");
            let tmp = cache.join(format!(".csaf-archive{PART}{}", std::process::id()));
            summary.download.files += 1;
            let got = get(
                client,
                &mut summary.download,
                &url,
                &tmp,
                opts.max_total_bytes,
            );
            let bytes = got.map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                format_err(crate::update::redact(&url), e)
            })?;
            summary.download.downloaded += 1;
            summary.download.bytes += bytes;
            let staging = cache.join(format!(".redhat-new{PART}{}", std::process::id()));
            let unpacked = unpack(&tmp, &staging, opts);
            let _ = std::fs::remove_file(&tmp);
            summary.unpacked = match unpacked {
                Ok(n) => n,
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&staging);
                    return Err(format_err(crate::update::redact(&url), e));
                }
            };
            let old = cache.join(format!(".redhat-old{PART}{}", std::process::id()));
            if dir.exists() {
                std::fs::rename(&dir, &old).map_err(io_err(&dir))?;
            }
            if let Err(e) = std::fs::rename(&staging, &dir) {
                let _ = std::fs::rename(&old, &dir);
                let _ = std::fs::remove_dir_all(&staging);
                return Err(io_err(&dir)(e));
            }
            let _ = std::fs::remove_dir_all(&old);
            state = State {
                archive: Some(archive.clone()),
                since: Some(archive_time),
            };
            crate::cache::save_json(&cache.join(STATE), &state)?;
        }
        let since = state.since.unwrap_or(archive_time);
        let changes_url = format!("{base}/changes.csv");
        let changes = match text(client, cache, &changes_url, opts.max_index_bytes) {
            Ok(t) => t,
            Err(e) if summary.mode == Mode::Full => {
                // The archive is in place; the changes are asked for again
                // next time.
                summary.download.failed.push(Failure {
                    path: format!("{DIR}/changes.csv"),
                    reason: e,
                    stale: true,
                });
                return Ok(summary);
            }
            Err(e) => return Err(format_err(crate::update::redact(&changes_url), e)),
        };
        let (changed, _) = parse_rows(&changes);
        let changed: Vec<(String, i64)> =
            changed.into_iter().filter(|(_, t)| *t >= since).collect();
        if changed.len() > opts.max_changes {
            if round == 0 && !full {
                full = true;
                continue;
            }
            summary.download.failed.push(Failure {
                path: format!("{DIR}/changes.csv"),
                reason: format!(
                    "{} changed files, more than the {} allowed",
                    changed.len(),
                    opts.max_changes
                ),
                stale: true,
            });
            return Ok(summary);
        }
        let mut newest = since;
        let mut complete = true;
        for (path, time) in &changed {
            summary.download.files += 1;
            let url = format!("{base}/{path}");
            let dest = dir.join(path);
            match get(
                client,
                &mut summary.download,
                &url,
                &dest,
                opts.max_entry_bytes,
            ) {
                Ok(b) => {
                    summary.download.downloaded += 1;
                    summary.download.bytes += b;
                    summary.changed += 1;
                    newest = newest.max(*time);
                }
                Err(reason) => {
                    complete = false;
                    summary.download.failed.push(Failure {
                        path: format!("{DIR}/{path}"),
                        stale: dest.is_file(),
                        reason,
                    });
                }
            }
        }
        let deletions_url = format!("{base}/deletions.csv");
        match text(client, cache, &deletions_url, opts.max_index_bytes) {
            Ok(text) => {
                for (path, time) in parse_rows(&text).0 {
                    if time < since {
                        continue;
                    }
                    // A file changed again after its deletion stays.
                    if changed.iter().any(|(p, t)| *p == path && *t > time) {
                        continue;
                    }
                    let p = dir.join(&path);
                    if std::fs::remove_file(&p).is_ok() {
                        summary.deleted += 1;
                    }
                    newest = newest.max(time);
                }
            }
            Err(reason) => {
                complete = false;
                summary.download.failed.push(Failure {
                    path: format!("{DIR}/deletions.csv"),
                    reason,
                    stale: false,
                });
            }
        }
        if complete {
            state.since = Some(newest);
            crate::cache::save_json(&cache.join(STATE), &state)?;
        }
        break;
    }
    Ok(summary)
}

/// Unpack the archive's `<year>/<name>.json` entries into `staging` (made
/// here); the number of files written. Any hostile or oversized entry
/// fails the whole unpack.
fn unpack(archive: &Path, staging: &Path, opts: &Options) -> std::result::Result<usize, String> {
    let mut file = File::open(archive).map_err(|e| e.to_string())?;
    let mut magic = [0u8; 4];
    let n = file.read(&mut magic).map_err(|e| e.to_string())?;
    drop(file);
    let file = BufReader::new(File::open(archive).map_err(|e| e.to_string())?);
    let reader: Box<dyn Read> = if n == 4 && magic == [0x28, 0xB5, 0x2F, 0xFD] {
        Box::new(
            ruzstd::decoding::StreamingDecoder::new(file)
                .map_err(|e| format!("not a zstd archive: {e}"))?,
        )
    } else {
        Box::new(file)
    };
    std::fs::create_dir_all(staging).map_err(|e| e.to_string())?;
    let mut tar = tar::Archive::new(reader);
    let mut total = 0u64;
    let mut written = 0usize;
    for entry in tar.entries().map_err(|e| format!("archive: {e}"))? {
        let mut entry = entry.map_err(|e| format!("archive: {e}"))?;
        let kind = entry.header().entry_type();
        let raw = entry
            .path()
            .map_err(|e| format!("archive entry: {e}"))?
            .into_owned();
        let shown = raw.display().to_string();
        let mut parts: Vec<String> = Vec::new();
        for c in raw.components() {
            match c {
                Component::CurDir => {}
                Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
                _ => {
                    return Err(format!(
                        "refused archive entry {shown:?}: not a relative path"
                    ));
                }
            }
        }
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(format!("refused archive entry {shown:?}: a link"));
        }
        if !kind.is_file() {
            continue;
        }
        let joined = parts.join("/");
        let Some((year, name)) = valid_path(&joined) else {
            continue;
        };
        let size = entry.size();
        if size > opts.max_entry_bytes {
            return Err(format!(
                "archive entry {shown:?}: {size} bytes, more than the {} allowed",
                opts.max_entry_bytes
            ));
        }
        total += size;
        if total > opts.max_total_bytes {
            return Err(format!(
                "archive unpacks to more than the {} bytes allowed",
                opts.max_total_bytes
            ));
        }
        let folder: PathBuf = staging.join(year);
        std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
        let dest = folder.join(name);
        let tmp = folder.join(format!(".{name}{PART}{}", std::process::id()));
        let mut out = File::create(&tmp).map_err(|e| e.to_string())?;
        let copied = std::io::copy(&mut (&mut entry).take(size), &mut out)
            .map_err(|e| format!("archive entry {shown:?}: {e}"))?;
        if copied != size {
            return Err(format!("archive entry {shown:?}: truncated"));
        }
        drop(out);
        std::fs::rename(&tmp, &dest).map_err(|e| e.to_string())?;
        written += 1;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_names() {
        assert_eq!(parse_time("1970-01-02"), Some(86_400));
        assert_eq!(parse_time("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_time("2024-05-13T03:43:31Z"), Some(1_715_571_811));
        assert_eq!(
            parse_time("2024-05-13T03:43:31.123+00:00"),
            Some(1_715_571_811)
        );
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(
            archive_name("csaf_vex_2024-05-13.tar.zst\n").map(|a| a.0),
            Some("csaf_vex_2024-05-13.tar.zst".into())
        );
        assert!(archive_name("../evil").is_none());
        assert!(valid_path("2024/cve-2024-1.json").is_some());
        assert!(valid_path("../cve.json").is_none());
        assert!(valid_path("2024/../x.json").is_none());
        assert!(valid_path("2024/sub/x.json").is_none());
    }
}
