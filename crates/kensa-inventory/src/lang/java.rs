//! Java archives (`.jar`, `.war`, `.ear`, and Jenkins' `.jpi`/`.hpi`),
//! read piecewise: the zip central directory, then only the entries
//! needed, never the whole archive.
//!
//! Each `META-INF/maven/<groupId>/<artifactId>/pom.properties` is a package
//! (`groupId`, `artifactId`, `version`); a shaded jar has several. An
//! archive without any is identified from its manifest's main section
//! (`META-INF/MANIFEST.MF`): the version is `Implementation-Version`, else
//! `Bundle-Version`, else the one in the file name; the name is the
//! artifact name of the file name (`commons-io-2.11.0.jar` →
//! `commons-io`), else `Implementation-Title` when it is one word, else
//! `Bundle-SymbolicName`; the group is `Implementation-Vendor-Id` when it
//! looks like one (`org.apache`). An archive with neither name nor version
//! is not reported.
//!
//! Archives inside an archive (`WEB-INF/lib/*.jar` of a WAR, `BOOT-INF/lib`
//! of a Spring Boot jar, modules of an EAR) are read one level deep, each
//! reported with the path `outer.war!/WEB-INF/lib/inner.jar`.
//!
//! Maven packages are named `groupId:artifactId` (as OSV names them) with
//! the purl `pkg:maven/<groupId>/<artifactId>@<version>`.

use std::collections::BTreeSet;
use std::io::{Cursor, Read, Seek, SeekFrom};

use zip::ZipArchive;

use crate::Found;
use crate::error::InventoryError;
use crate::fs::Root;
use crate::model::{Package, PackageKind};
use crate::purl::purl;

/// The largest archive opened.
const MAX_ARCHIVE: u64 = 2 * 1024 * 1024 * 1024;
/// The largest `pom.properties` or manifest read.
const MAX_METADATA: u64 = 1024 * 1024;
/// Nested archives: at most this many, each at most this large, and at
/// most this much in all, per outer archive.
const MAX_NESTED: usize = 4096;
const MAX_NESTED_SIZE: u64 = 128 * 1024 * 1024;
const MAX_NESTED_TOTAL: u64 = 1024 * 1024 * 1024;
/// The size of each read of the archive file.
const CHUNK: u64 = 64 * 1024;

/// Whether a file name is a Java archive's.
pub fn is_archive_name(name: &str) -> bool {
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    !stem.is_empty()
        && ["jar", "war", "ear", "jpi", "hpi"]
            .iter()
            .any(|e| ext.eq_ignore_ascii_case(e))
}

pub fn collect_archive(root: &dyn Root, path: &str, found: &mut Found) {
    let size = match root.read_at(path, 0, 0) {
        Ok(Some(c)) => c.file_size,
        Ok(None) => return,
        Err(e) => return found.problem(e),
    };
    if size > MAX_ARCHIVE {
        return found.problem(InventoryError::TooLarge {
            path: path.to_owned(),
            size,
            limit: MAX_ARCHIVE,
        });
    }
    let reader = RootReader {
        root,
        path,
        size,
        pos: 0,
        buf: Vec::new(),
        buf_start: 0,
    };
    let mut zip = match ZipArchive::new(reader) {
        Ok(z) => z,
        Err(e) => {
            return found.problem(InventoryError::parse(
                path,
                format!("not a readable zip archive: {e}"),
            ));
        }
    };
    let mut budget = Budget { count: 0, bytes: 0 };
    scan(&mut zip, path, path, Some(&mut budget), found);
}

/// Nested archives read so far from one outer archive.
struct Budget {
    count: usize,
    bytes: u64,
}

/// Report the packages of an open archive, and those of the archives in it
/// when `nested` is given.
fn scan<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    file_path: &str,
    display: &str,
    nested: Option<&mut Budget>,
    found: &mut Found,
) {
    let mut poms = Vec::new();
    let mut manifest = None;
    let mut inner = Vec::new();
    for i in 0..zip.len() {
        let Some(name) = zip.name_for_index(i) else {
            continue;
        };
        if name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties") {
            poms.push(i);
        } else if name == "META-INF/MANIFEST.MF" {
            manifest = Some(i);
        } else if nested.is_some()
            && !name.ends_with('/')
            && is_archive_name(name.rsplit('/').next().unwrap_or(name))
        {
            inner.push((i, name.to_owned()));
        }
    }
    let mut seen = BTreeSet::new();
    for i in poms {
        let Some(text) = read_entry(zip, i, MAX_METADATA, display, found) else {
            continue;
        };
        let props = properties(&String::from_utf8_lossy(&text));
        let get = |k: &str| {
            props
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        match (get("groupId"), get("artifactId"), get("version")) {
            (Some(g), Some(a), Some(v)) => {
                seen.insert((Some(g.to_owned()), a.to_owned(), v.to_owned()));
            }
            _ => found.problem(InventoryError::parse(
                display,
                format!(
                    "{}: no groupId, artifactId and version",
                    zip.name_for_index(i).unwrap_or("pom.properties")
                ),
            )),
        }
    }
    if seen.is_empty() {
        let attrs = match manifest.and_then(|i| read_entry(zip, i, MAX_METADATA, display, found)) {
            Some(m) => main_attributes(&String::from_utf8_lossy(&m)),
            None => Vec::new(),
        };
        let file_name = file_path.rsplit(['/', '!']).next().unwrap_or(file_path);
        if let Some(id) = from_manifest(&attrs, file_name) {
            seen.insert(id);
        }
    }
    for (group, artifact, version) in seen {
        found
            .packages
            .push(package(group.as_deref(), &artifact, &version, display));
    }
    let Some(budget) = nested else {
        return;
    };
    for (i, name) in inner {
        if budget.count >= MAX_NESTED {
            found.problem(InventoryError::parse(
                display,
                format!("more than {MAX_NESTED} nested archives; the rest are not read"),
            ));
            break;
        }
        let left = MAX_NESTED_TOTAL - budget.bytes;
        if left == 0 {
            found.problem(InventoryError::parse(
                display,
                format!("nested archives over {MAX_NESTED_TOTAL} bytes; the rest are not read"),
            ));
            break;
        }
        let Some(bytes) = read_entry(zip, i, MAX_NESTED_SIZE.min(left), display, found) else {
            continue;
        };
        budget.count += 1;
        budget.bytes += bytes.len() as u64;
        let inner_path = format!("{display}!/{name}");
        match ZipArchive::new(Cursor::new(bytes)) {
            Ok(mut z) => scan(&mut z, &inner_path, &inner_path, None, found),
            Err(e) => found.problem(InventoryError::parse(
                inner_path,
                format!("not a readable zip archive: {e}"),
            )),
        }
    }
}

/// An entry's content, at most `limit` bytes (more is a problem).
fn read_entry<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    i: usize,
    limit: u64,
    display: &str,
    found: &mut Found,
) -> Option<Vec<u8>> {
    let mut entry = match zip.by_index(i) {
        Ok(e) => e,
        Err(e) => {
            found.problem(InventoryError::parse(
                display,
                format!("zip entry {i}: {e}"),
            ));
            return None;
        }
    };
    let name = entry.name().to_owned();
    if entry.size() > limit {
        found.problem(InventoryError::TooLarge {
            path: format!("{display}!/{name}"),
            size: entry.size(),
            limit,
        });
        return None;
    }
    let mut out = Vec::with_capacity(entry.size() as usize);
    match (&mut entry).take(limit + 1).read_to_end(&mut out) {
        Ok(_) if out.len() as u64 > limit => {
            found.problem(InventoryError::TooLarge {
                path: format!("{display}!/{name}"),
                size: out.len() as u64,
                limit,
            });
            None
        }
        Ok(_) => Some(out),
        Err(e) => {
            found.problem(InventoryError::parse(display, format!("{name}: {e}")));
            None
        }
    }
}

/// `key=value` (or `key: value`, `key value`) lines of a Java properties
/// file, comments left out.
pub fn properties(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with(['#', '!']) {
            continue;
        }
        let at = line.find(['=', ':', ' ', '\t']).unwrap_or(line.len());
        let key = &line[..at];
        let value = line[at..].trim_start_matches([' ', '\t']);
        let value = value.strip_prefix(['=', ':']).unwrap_or(value);
        out.push((key.to_owned(), value.trim().to_owned()));
    }
    out
}

/// The main section of a manifest, continuation lines joined.
pub fn main_attributes(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if let Some(more) = line.strip_prefix(' ') {
            if let Some(last) = out.last_mut() {
                last.1.push_str(more);
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_owned(), v.trim_start().to_owned()));
        }
    }
    for a in &mut out {
        a.1 = a.1.trim().to_owned();
    }
    out
}

/// `(group, artifact, version)` from manifest attributes and the file name.
fn from_manifest(
    attrs: &[(String, String)],
    file_name: &str,
) -> Option<(Option<String>, String, String)> {
    let get = |k: &str| {
        attrs
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let (file_artifact, file_version) = split_file_name(file_name);
    let version = get("Implementation-Version")
        .or_else(|| get("Bundle-Version"))
        .or(file_version)?;
    let one_word = |s: &&str| !s.contains(char::is_whitespace);
    let name = file_artifact
        .filter(|_| file_version.is_some())
        .or_else(|| get("Implementation-Title").filter(one_word))
        .or_else(|| get("Bundle-SymbolicName").map(|s| s.split(';').next().unwrap_or(s).trim()))?;
    let group = get("Implementation-Vendor-Id").filter(|g| {
        g.contains('.')
            && g.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    });
    Some((
        group.map(str::to_owned),
        name.to_owned(),
        version.to_owned(),
    ))
}

/// `commons-io-2.11.0.jar` → (`commons-io`, `2.11.0`); the version starts
/// at the first `-` followed by a digit.
pub fn split_file_name(file_name: &str) -> (Option<&str>, Option<&str>) {
    let stem = file_name.rsplit_once('.').map_or(file_name, |(s, _)| s);
    let at = stem
        .char_indices()
        .find(|&(i, c)| c == '-' && stem[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
        .map(|(i, _)| i);
    match at {
        Some(i) if i > 0 => (Some(&stem[..i]), Some(&stem[i + 1..])),
        _ => (Some(stem).filter(|s| !s.is_empty()), None),
    }
}

fn package(group: Option<&str>, artifact: &str, version: &str, path: &str) -> Package {
    let name = match group {
        Some(g) => format!("{g}:{artifact}"),
        None => artifact.to_owned(),
    };
    super::package(
        PackageKind::Maven,
        &name,
        version,
        purl("maven", group, artifact, version, &[]),
        path,
    )
}

/// `Read + Seek` over a file of the root, fetched in chunks with
/// [`Root::read_at`].
struct RootReader<'a> {
    root: &'a dyn Root,
    path: &'a str,
    size: u64,
    pos: u64,
    buf: Vec<u8>,
    buf_start: u64,
}

impl Read for RootReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.is_empty() || self.pos >= self.size {
            return Ok(0);
        }
        let in_buf =
            self.pos >= self.buf_start && self.pos < self.buf_start + self.buf.len() as u64;
        if !in_buf {
            let want = CHUNK.max(out.len() as u64);
            let chunk = self
                .root
                .read_at(self.path, self.pos, want)
                .map_err(std::io::Error::other)?
                .ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::NotFound, "the file disappeared")
                })?;
            if chunk.data.is_empty() {
                return Ok(0);
            }
            self.buf = chunk.data;
            self.buf_start = self.pos;
        }
        let from = (self.pos - self.buf_start) as usize;
        let n = out.len().min(self.buf.len() - from);
        out[..n].copy_from_slice(&self.buf[from..from + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for RootReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        Ok(self.pos)
    }
}
