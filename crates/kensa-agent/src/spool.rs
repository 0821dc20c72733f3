//! The bounded spool of inventories waiting for delivery:
//! `<state>/spool/<unix_ms>-<hex hash>.json.gz`.
//!
//! - Written atomically (temporary file, `fsync`, rename): a reader never
//!   sees a partial entry, and a temporary file left by a crash is removed
//!   when the spool is opened and ignored by listings.
//! - Bounded by a number of entries: beyond it the oldest are dropped, with
//!   a log line each (the newest inventory is the one that matters).
//! - Listed oldest first (the millisecond prefix, kept strictly increasing
//!   within a spool so that two entries written in the same millisecond
//!   still sort in the order they were written).
//! - An entry found corrupt is moved aside to `<name>.bad` (kept for a
//!   person to look at, never sent, no longer counted), so that it never
//!   blocks the entries after it. An entry the server refuses as invalid
//!   (`400`, `413`) is moved aside the same way to `<name>.rejected`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{AgentError, Result};
use crate::fsutil;
use crate::log;

/// The extension of a spool entry.
pub const SUFFIX: &str = ".json.gz";
/// The default bound on the number of entries.
pub const DEFAULT_LIMIT: usize = 64;

/// One spooled inventory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub path: PathBuf,
    /// Milliseconds since the epoch when it was spooled (made unique and
    /// increasing within the spool).
    pub millis: u64,
    /// The content hash, `sha256:<hex>`.
    pub hash: String,
}

impl Entry {
    /// Parse a file name `<unix_ms>-<64 hex>.json.gz`; anything else is not
    /// an entry.
    pub fn parse(path: &Path) -> Option<Entry> {
        let name = path.file_name()?.to_str()?;
        let stem = name.strip_suffix(SUFFIX)?;
        let (ms, hex) = stem.split_once('-')?;
        if ms.is_empty() || !ms.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        Some(Entry {
            path: path.to_path_buf(),
            millis: ms.parse().ok()?,
            hash: format!("sha256:{hex}"),
        })
    }

    /// Read the entry's bytes (the gzipped document).
    pub fn read(&self) -> Result<Vec<u8>> {
        fs::read(&self.path).map_err(|e| AgentError::io(&self.path, e))
    }
}

/// The spool directory and its bound.
#[derive(Clone, Debug)]
pub struct Spool {
    dir: PathBuf,
    limit: usize,
}

impl Spool {
    /// Open (creating, mode 0700) the spool in `dir`, bounded to `limit`
    /// entries (at least 1), and remove the temporary files a crash left.
    pub fn open(dir: impl Into<PathBuf>, limit: usize) -> Result<Spool> {
        let dir = dir.into();
        fsutil::private_dir(&dir)?;
        let removed = fsutil::remove_stale_temps(&dir)?;
        if removed > 0 {
            log::info(format_args!(
                "{}: removed {removed} incomplete spool file(s) left by an interrupted write",
                dir.display()
            ));
        }
        Ok(Spool {
            dir,
            limit: limit.max(1),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The entries, oldest first. Files that are not entries (temporary
    /// files, `.bad`, `.rejected`, anything else) are ignored.
    pub fn entries(&self) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        for item in fs::read_dir(&self.dir).map_err(|e| AgentError::io(&self.dir, e))? {
            let item = item.map_err(|e| AgentError::io(&self.dir, e))?;
            if let Some(entry) = Entry::parse(&item.path()) {
                out.push(entry);
            }
        }
        out.sort_by(|a, b| (a.millis, &a.hash).cmp(&(b.millis, &b.hash)));
        Ok(out)
    }

    /// The newest entry, if any.
    pub fn newest(&self) -> Result<Option<Entry>> {
        Ok(self.entries()?.pop())
    }

    /// Add a gzipped inventory whose content hash is `hash`, atomically,
    /// then drop the oldest entries beyond the bound (each with a log line).
    /// Returns the new entry.
    pub fn push(&self, hash: &str, gz: &[u8], now_ms: u64) -> Result<Entry> {
        let hex = hash
            .strip_prefix("sha256:")
            .filter(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .ok_or_else(|| AgentError::invalid(&self.dir, format!("not a content hash: {hash}")))?;
        let existing = self.entries()?;
        let millis = match existing.last() {
            Some(last) if last.millis >= now_ms => last.millis + 1,
            _ => now_ms,
        };
        let path = self.dir.join(format!("{millis}-{hex}{SUFFIX}"));
        fsutil::write_atomic(&path, gz, 0o600)?;
        let entry = Entry {
            path,
            millis,
            hash: hash.to_owned(),
        };
        let mut all = existing;
        all.push(entry.clone());
        if all.len() > self.limit {
            let excess = all.len() - self.limit;
            for old in &all[..excess] {
                match fs::remove_file(&old.path) {
                    Ok(()) => log::info(format_args!(
                        "{}: spool is over its bound of {} entries: dropped the oldest, {} (never delivered)",
                        old.path.display(),
                        self.limit,
                        old.hash
                    )),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(AgentError::io(&old.path, e)),
                }
            }
            fsutil::sync_dir(&self.dir)?;
        }
        Ok(entry)
    }

    /// Remove a delivered entry.
    pub fn remove(&self, entry: &Entry) -> Result<()> {
        match fs::remove_file(&entry.path) {
            Ok(()) => fsutil::sync_dir(&self.dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(AgentError::io(&entry.path, e)),
        }
    }

    /// Move an entry aside to `<name>.<suffix>` (`bad`: corrupt on disk;
    /// `rejected`: refused by the server) with a log line saying why.
    /// Returns the new path.
    pub fn set_aside(&self, entry: &Entry, suffix: &str, why: &str) -> Result<PathBuf> {
        let mut name = entry.path.as_os_str().to_owned();
        name.push(".");
        name.push(suffix);
        let to = PathBuf::from(name);
        fs::rename(&entry.path, &to).map_err(|e| AgentError::io(&entry.path, e))?;
        fsutil::sync_dir(&self.dir)?;
        log::info(format_args!(
            "{}: {why}; moved aside to {} and skipped",
            entry.path.display(),
            to.display()
        ));
        Ok(to)
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn hash(n: u8) -> String {
        format!("sha256:{}", format!("{n:02x}").repeat(32))
    }

    #[test]
    fn names_parse_and_others_do_not() {
        let e = Entry::parse(Path::new(&format!("/s/12-{}.json.gz", "ab".repeat(32)))).unwrap();
        assert_eq!((e.millis, e.hash.as_str()), (12, hash(0xab).as_str()));
        for bad in [
            format!(".tmp-12-{}.json.gz", "ab".repeat(32)),
            format!("12-{}.json.gz.bad", "ab".repeat(32)),
            format!("12-{}.json.gz", "AB".repeat(32)),
            format!("x-{}.json.gz", "ab".repeat(32)),
            "12-abcd.json.gz".to_owned(),
        ] {
            assert!(Entry::parse(Path::new(&bad)).is_none(), "{bad}");
        }
    }

    #[test]
    fn same_millisecond_keeps_write_order() {
        let dir = tempfile::tempdir().unwrap();
        let s = Spool::open(dir.path(), 10).unwrap();
        // Written in the order ff, 00, 80 within one millisecond: listed so.
        for n in [0xff, 0x00, 0x80] {
            s.push(&hash(n), b"x", 1000).unwrap();
        }
        let got: Vec<String> = s.entries().unwrap().into_iter().map(|e| e.hash).collect();
        assert_eq!(got, vec![hash(0xff), hash(0x00), hash(0x80)]);
    }

    #[test]
    fn a_malformed_hash_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let s = Spool::open(dir.path(), 10).unwrap();
        assert!(s.push("sha256:../../etc", b"x", 1).is_err());
        assert!(s.push("md5:00", b"x", 1).is_err());
        assert!(s.entries().unwrap().is_empty());
    }
}
