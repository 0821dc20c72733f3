//! Layers applied, in order, to a directory on disk: the merged root
//! filesystem.
//!
//! The tree keeps, beside the directory, an index of every path it holds
//! (kind, the layer that last wrote it, size, mode, whether its content was
//! kept). The index mirrors the disk exactly, which is what makes writing
//! safe: a parent is a directory only if the index says so, and an entry
//! whose parent is a symbolic link (or anything but a directory) is not
//! extracted. Before each write the parent's components are also checked
//! on disk with `symlink_metadata`, so nothing is ever written through a
//! symbolic link. Files are never written in place: a path is removed and
//! created anew, so that a hard link or a history snapshot sharing the old
//! inode keeps the old content.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::Cx;
use super::tar::{Entry, Input, Kind, TarReader};
use crate::error::{InventoryError, Result};
use crate::fs::EntryKind;
use crate::model::Problem;

/// What the merged image holds at one path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageEntry {
    /// `Other` for devices, fifos and unknown types, which are recorded but
    /// not created on disk.
    pub kind: EntryKind,
    /// Index (in [`crate::model::ImageInfo::layers`]) of the layer that last
    /// wrote this path.
    pub layer: usize,
    /// The size the archive gives (for a symbolic link, its target's length).
    pub size: u64,
    /// Permission bits from the archive (the file on disk has its own).
    pub mode: u32,
    /// For regular files: whether the content was written (the caller
    /// wanted it) or the file on disk is an empty placeholder (or absent,
    /// without [`super::ImageOptions::placeholders`]).
    pub content: bool,
}

/// Most warnings kept; later ones are counted.
const MAX_WARNINGS: usize = 1000;
/// Linux follows at most 40 symbolic links in one path.
const MAX_LINK_HOPS: usize = 40;

/// A tracked file's versions: the layer and a snapshot file (None: deleted
/// by that layer).
pub(crate) type Versions = Vec<(usize, Option<PathBuf>)>;

struct Tracked {
    path: String,
    versions: Versions,
    /// Where it resolved and the SHA-256 of the version last recorded.
    last: Option<(String, [u8; 32])>,
}

pub(crate) struct Tree {
    root: PathBuf,
    history_dir: PathBuf,
    nodes: BTreeMap<String, ImageEntry>,
    /// Bumped whenever a path is removed or a symbolic link created, which
    /// invalidates `checked_parent`.
    generation: u64,
    checked_parent: Option<(String, u64)>,
    warnings: Vec<Problem>,
    warnings_dropped: u64,
    tracked: Vec<Tracked>,
    /// Where each tracked path's file would be written now.
    tracked_real: HashSet<String>,
    tracked_dirty: bool,
    /// Bytes of path names indexed so far, and the most allowed: the
    /// index is what grows with the image, so it is capped.
    index_bytes: u64,
    max_index_bytes: u64,
    /// Create empty files for the files not wanted.
    placeholders: bool,
}

/// Index bytes charged per path beyond its name.
const NODE_OVERHEAD: u64 = 64;
/// Longest path and path component Linux creates.
const PATH_MAX: usize = 4096;
const NAME_MAX: usize = 255;

/// A path inside the image, normalised: `/`-separated, no leading `/`,
/// no `.` or empty components. `Err` when it has a `..` component;
/// `Ok(None)` for the root itself.
pub(crate) fn normalise(name: &str) -> std::result::Result<Option<String>, &'static str> {
    if name.contains('\0') {
        return Err("its name has a NUL byte");
    }
    if name.len() > PATH_MAX {
        return Err("its name is longer than 4096 bytes");
    }
    let mut parts = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err("its name has a `..` component, which would leave the image root"),
            c if c.len() > NAME_MAX => {
                return Err("a component of its name is longer than 255 bytes");
            }
            c => parts.push(c),
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

fn parent_of(path: &str) -> (&str, &str) {
    match path.rsplit_once('/') {
        Some((p, b)) => (p, b),
        None => ("", path),
    }
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}/{name}")
    }
}

/// The key range of everything below `path` (`path/` ..= `path/\u{10ffff}`):
/// `/` sorts just before `0`.
fn below(path: &str) -> (String, String) {
    (format!("{path}/"), format!("{path}0"))
}

/// Shorten an archive name for a message.
pub(crate) fn shown(name: &str) -> String {
    if name.len() <= 300 {
        return format!("{name:?}");
    }
    let mut end = 300;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}… ({} bytes)", &name[..end], name.len())
}

impl Tree {
    pub fn new(
        root: PathBuf,
        history_dir: PathBuf,
        tracked: &[&str],
        max_index_bytes: u64,
        placeholders: bool,
    ) -> Self {
        let tracked: Vec<Tracked> = tracked
            .iter()
            .filter_map(|t| normalise(t).ok().flatten())
            .map(|path| Tracked {
                path,
                versions: Vec::new(),
                last: None,
            })
            .collect();
        Tree {
            root,
            history_dir,
            nodes: BTreeMap::new(),
            generation: 0,
            checked_parent: None,
            warnings: Vec::new(),
            warnings_dropped: 0,
            tracked_real: tracked.iter().map(|t| t.path.clone()).collect(),
            tracked,
            tracked_dirty: false,
            index_bytes: 0,
            max_index_bytes,
            placeholders,
        }
    }

    /// Index a path (the caller has made it so on disk).
    fn put(&mut self, cx: &Cx, path: String, node: ImageEntry) -> Result<()> {
        let cost = path.len() as u64 + NODE_OVERHEAD;
        if self.nodes.insert(path, node).is_none() {
            self.index_bytes += cost;
            if self.index_bytes > self.max_index_bytes {
                return Err(cx.too_many_paths(self.max_index_bytes));
            }
        }
        Ok(())
    }

    pub fn into_parts(self) -> TreeParts {
        let mut warnings = self.warnings;
        if self.warnings_dropped > 0 {
            warnings.push(Problem::partial(
                String::new(),
                format!("{} more warnings not kept", self.warnings_dropped),
            ));
        }
        TreeParts {
            nodes: self.nodes,
            warnings,
            history: self
                .tracked
                .into_iter()
                .map(|t| (t.path, t.versions))
                .collect(),
        }
    }

    fn warn(&mut self, cx: &Cx, path: &str, message: impl std::fmt::Display) {
        if self.warnings.len() >= MAX_WARNINGS {
            self.warnings_dropped += 1;
            return;
        }
        self.warnings
            .push(Problem::partial(path, format!("{}{message}", cx.prefix())));
    }

    fn host(&self, path: &str) -> PathBuf {
        let mut p = self.root.clone();
        if !path.is_empty() {
            p.push(path);
        }
        p
    }

    /// Apply every entry of one layer.
    pub fn apply_layer<R: Input>(
        &mut self,
        cx: &Cx,
        layer: usize,
        tar: &mut TarReader<R>,
        wanted: &dyn Fn(&str, u64, u32) -> bool,
    ) -> Result<()> {
        loop {
            let entry = match tar.next_entry() {
                Ok(Some(e)) => e,
                Ok(None) => return Ok(()),
                Err(e) => return Err(cx.tar(e)),
            };
            self.apply_entry(cx, layer, &entry, tar, wanted)?;
        }
    }

    fn apply_entry<R: Input>(
        &mut self,
        cx: &Cx,
        layer: usize,
        e: &Entry,
        tar: &mut TarReader<R>,
        wanted: &dyn Fn(&str, u64, u32) -> bool,
    ) -> Result<()> {
        let path = match normalise(&e.name) {
            Ok(Some(p)) => p,
            Ok(None) => return Ok(()), // the root directory itself
            Err(why) => return Err(cx.entry_unsafe(&e.name, why)),
        };
        let (parent, base) = parent_of(&path);
        if let Some(rest) = base.strip_prefix(".wh.") {
            return self.whiteout(cx, layer, &path, parent, rest);
        }
        if let Some(why) = self.ensure_parents(cx, layer, &path)? {
            self.warn(cx, &path, format_args!("not extracted: {why}"));
            return Ok(());
        }
        match e.kind {
            Kind::Dir => match self.nodes.get_mut(&path) {
                Some(n) if n.kind == EntryKind::Dir => {
                    n.layer = layer;
                    n.mode = e.mode;
                }
                existing => {
                    if existing.is_some() {
                        self.remove(cx, &path)?;
                    }
                    self.mkdir(cx, &path)?;
                    self.put(
                        cx,
                        path,
                        ImageEntry {
                            kind: EntryKind::Dir,
                            layer,
                            size: 0,
                            mode: e.mode,
                            content: false,
                        },
                    )?;
                }
            },
            Kind::File | Kind::Sparse => {
                self.remove(cx, &path)?;
                if self.tracked_dirty {
                    self.refresh_tracked();
                }
                let sparse = e.kind == Kind::Sparse;
                let want =
                    !sparse && (self.tracked_real.contains(&path) || wanted(&path, e.size, e.mode));
                if want || self.placeholders {
                    let file = fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o644)
                        .open(self.host(&path))
                        .map_err(|err| cx.entry_io(&e.name, err))?;
                    if !want {
                        drop(file);
                    } else {
                        let mut out = BufWriter::new(file);
                        let copied = io::copy(&mut tar.data(), &mut out)
                            .map_err(|err| cx.entry_io(&e.name, err))?;
                        out.flush().map_err(|err| cx.entry_io(&e.name, err))?;
                        if copied != e.size {
                            return Err(
                                cx.entry_unsafe(&e.name, "its data is shorter than its size")
                            );
                        }
                    }
                }
                if sparse {
                    self.warn(
                        cx,
                        &path,
                        "a sparse file: recorded, its content not extracted",
                    );
                }
                self.put(
                    cx,
                    path,
                    ImageEntry {
                        kind: EntryKind::File,
                        layer,
                        size: e.size,
                        mode: e.mode,
                        content: want,
                    },
                )?;
            }
            Kind::Symlink => {
                if e.link.is_empty() || e.link.contains('\0') {
                    self.warn(
                        cx,
                        &path,
                        "not extracted: a symbolic link with an empty or invalid target",
                    );
                    return Ok(());
                }
                self.remove(cx, &path)?;
                std::os::unix::fs::symlink(&e.link, self.host(&path))
                    .map_err(|err| cx.entry_io(&e.name, err))?;
                self.generation += 1;
                self.tracked_dirty = true;
                self.put(
                    cx,
                    path,
                    ImageEntry {
                        kind: EntryKind::Symlink,
                        layer,
                        size: e.link.len() as u64,
                        mode: e.mode,
                        content: false,
                    },
                )?;
            }
            Kind::HardLink => self.hard_link(cx, layer, e, path)?,
            Kind::Other(_) => {
                // Devices, fifos and unknown types: recorded, not created.
                self.remove(cx, &path)?;
                self.put(
                    cx,
                    path,
                    ImageEntry {
                        kind: EntryKind::Other,
                        layer,
                        size: 0,
                        mode: e.mode,
                        content: false,
                    },
                )?;
            }
        }
        Ok(())
    }

    fn hard_link(&mut self, cx: &Cx, layer: usize, e: &Entry, path: String) -> Result<()> {
        let target = match normalise(&e.link) {
            Ok(Some(t)) => t,
            Ok(None) => {
                self.warn(
                    cx,
                    &path,
                    "not extracted: a hard link to the root directory",
                );
                return Ok(());
            }
            Err(why) => {
                return Err(cx.entry_unsafe(
                    &e.name,
                    format_args!("hard link target {}: {why}", shown(&e.link)),
                ));
            }
        };
        if target.starts_with(&format!("{path}/")) {
            self.warn(
                cx,
                &path,
                format_args!("not extracted: hard link to {target}, which is inside it"),
            );
            return Ok(());
        }
        if target == path {
            if let Some(n) = self.nodes.get_mut(&path) {
                n.layer = layer;
            }
            return Ok(());
        }
        let node = match self.nodes.get(&target) {
            Some(n) if matches!(n.kind, EntryKind::File | EntryKind::Symlink) => *n,
            Some(_) => {
                self.warn(
                    cx,
                    &path,
                    format_args!("not extracted: hard link to {target}, which is not a file"),
                );
                return Ok(());
            }
            None => {
                self.warn(
                    cx,
                    &path,
                    format_args!("not extracted: hard link to {target}, which is not in the image"),
                );
                return Ok(());
            }
        };
        // The target's parents are directories (it is in the index); check
        // the disk too before linking.
        self.check_on_disk(cx, &e.name, parent_of(&target).0)?;
        self.remove(cx, &path)?;
        let on_disk = node.kind == EntryKind::Symlink || node.content || self.placeholders;
        if on_disk {
            fs::hard_link(self.host(&target), self.host(&path))
                .map_err(|err| cx.entry_io(&e.name, err))?;
        }
        if node.kind == EntryKind::Symlink {
            self.generation += 1;
            self.tracked_dirty = true;
        }
        self.put(cx, path, ImageEntry { layer, ..node })?;
        Ok(())
    }

    /// Make every parent of `path` a directory (creating missing ones);
    /// `Some(reason)` when one is a symbolic link or not a directory.
    fn ensure_parents(&mut self, cx: &Cx, layer: usize, path: &str) -> Result<Option<String>> {
        let (parent, _) = parent_of(path);
        if parent.is_empty() {
            return Ok(None);
        }
        let mut ends: Vec<usize> = path.match_indices('/').map(|(i, _)| i).collect();
        ends.retain(|&i| i <= parent.len());
        for i in ends {
            let anc = &path[..i];
            match self.nodes.get(anc).map(|n| n.kind) {
                Some(EntryKind::Dir) => {}
                Some(EntryKind::Symlink) => {
                    return Ok(Some(format!(
                        "its parent {anc} is a symbolic link (entries are never written through links)"
                    )));
                }
                Some(_) => return Ok(Some(format!("its parent {anc} is not a directory"))),
                None => {
                    self.mkdir(cx, anc)?;
                    self.put(
                        cx,
                        anc.to_owned(),
                        ImageEntry {
                            kind: EntryKind::Dir,
                            layer,
                            size: 0,
                            mode: 0o755,
                            content: false,
                        },
                    )?;
                }
            }
        }
        self.check_on_disk(cx, path, parent)?;
        Ok(None)
    }

    /// Check on disk that every component of `dir` is a real directory.
    fn check_on_disk(&mut self, cx: &Cx, name: &str, dir: &str) -> Result<()> {
        if dir.is_empty() {
            return Ok(());
        }
        if let Some((d, g)) = &self.checked_parent
            && d == dir
            && *g == self.generation
        {
            return Ok(());
        }
        let mut host = self.root.clone();
        for c in dir.split('/') {
            host.push(c);
            let meta = fs::symlink_metadata(&host).map_err(|err| cx.entry_io(name, err))?;
            if !meta.file_type().is_dir() {
                return Err(cx.entry_unsafe(
                    name,
                    format_args!(
                        "refusing to write: {} is not a directory on disk",
                        host.display()
                    ),
                ));
            }
        }
        self.checked_parent = Some((dir.to_owned(), self.generation));
        Ok(())
    }

    fn mkdir(&self, cx: &Cx, path: &str) -> Result<()> {
        fs::DirBuilder::new()
            .mode(0o755)
            .create(self.host(path))
            .map_err(|err| cx.entry_io(path, err))
    }

    /// Remove `path` and everything below it, on disk and from the index.
    /// Its parents must be directories (checked by the callers).
    fn remove(&mut self, cx: &Cx, path: &str) -> Result<()> {
        let host = self.host(path);
        let (result, was_dir) = match fs::symlink_metadata(&host) {
            // remove_dir_all never follows symbolic links.
            Ok(m) if m.file_type().is_dir() => (fs::remove_dir_all(&host), true),
            Ok(_) => (fs::remove_file(&host), false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => (Ok(()), false),
            Err(e) => (Err(e), false),
        };
        result.map_err(|err| cx.entry_io(path, err))?;
        let Some(old) = self.nodes.remove(path) else {
            return Ok(());
        };
        if was_dir || old.kind == EntryKind::Dir {
            let (lo, hi) = below(path);
            let keys: Vec<String> = self
                .nodes
                .range::<str, _>((
                    std::ops::Bound::Included(lo.as_str()),
                    std::ops::Bound::Excluded(hi.as_str()),
                ))
                .map(|(k, _)| k.clone())
                .collect();
            for k in keys {
                self.nodes.remove(&k);
            }
        }
        if matches!(old.kind, EntryKind::Dir | EntryKind::Symlink) {
            self.generation += 1;
            self.tracked_dirty = true;
        }
        Ok(())
    }

    /// A whiteout entry `parent/.wh.<rest>`.
    fn whiteout(
        &mut self,
        cx: &Cx,
        layer: usize,
        path: &str,
        parent: &str,
        rest: &str,
    ) -> Result<()> {
        // Whiteouts only act on what the index holds under real
        // directories; a parent that is a link or missing means nothing to
        // remove.
        if !parent.is_empty() {
            match self.nodes.get(parent).map(|n| n.kind) {
                Some(EntryKind::Dir) => {}
                None => return Ok(()),
                Some(_) => {
                    self.warn(cx, path, "whiteout ignored: its parent is not a directory");
                    return Ok(());
                }
            }
            let mut cur = parent;
            while let Some((up, _)) = cur.rsplit_once('/') {
                if self.nodes.get(up).map(|n| n.kind) != Some(EntryKind::Dir) {
                    self.warn(cx, path, "whiteout ignored: its parent is not a directory");
                    return Ok(());
                }
                cur = up;
            }
            self.check_on_disk(cx, path, parent)?;
        }
        if rest == ".wh..opq" {
            // Opaque directory: what lower layers put below it goes.
            self.remove_lower(cx, layer, parent)
        } else if rest.starts_with(".wh.") {
            Ok(()) // other aufs metadata
        } else if rest.is_empty() || rest == "." || rest == ".." {
            self.warn(cx, path, "whiteout ignored: it names no file");
            Ok(())
        } else {
            let target = join(parent, rest);
            let Some(node) = self.nodes.get(&target).copied() else {
                return Ok(());
            };
            let (lo, hi) = below(&target);
            let current_below = self
                .nodes
                .range::<str, _>((
                    std::ops::Bound::Included(lo.as_str()),
                    std::ops::Bound::Excluded(hi.as_str()),
                ))
                .any(|(_, n)| n.layer == layer);
            if node.layer != layer && !current_below {
                return self.remove(cx, &target);
            }
            // Written by this same layer: a whiteout only hides lower
            // layers' content.
            if node.kind == EntryKind::Dir {
                if let Some(n) = self.nodes.get_mut(&target) {
                    n.layer = layer;
                }
                self.remove_lower(cx, layer, &target)?;
            }
            Ok(())
        }
    }

    /// Remove everything below `dir` that lower layers wrote, keeping what
    /// this layer wrote and the directories leading to it.
    fn remove_lower(&mut self, cx: &Cx, layer: usize, dir: &str) -> Result<()> {
        let below_dir: Vec<(String, ImageEntry)> = if dir.is_empty() {
            self.nodes.iter().map(|(k, n)| (k.clone(), *n)).collect()
        } else {
            let (lo, hi) = below(dir);
            self.nodes
                .range::<str, _>((
                    std::ops::Bound::Included(lo.as_str()),
                    std::ops::Bound::Excluded(hi.as_str()),
                ))
                .map(|(k, n)| (k.clone(), *n))
                .collect()
        };
        let mut keep: HashSet<&str> = HashSet::new();
        for (k, n) in &below_dir {
            if n.layer == layer {
                keep.insert(k);
                for (i, _) in k.match_indices('/') {
                    if i > dir.len() {
                        keep.insert(&k[..i]);
                    }
                }
            }
        }
        let mut removed: Option<String> = None;
        let mut relabel = Vec::new();
        let mut gone = Vec::new();
        for (k, n) in &below_dir {
            if keep.contains(k.as_str()) {
                if n.layer != layer {
                    relabel.push(k.clone());
                }
                continue;
            }
            if let Some(r) = &removed
                && k.starts_with(r.as_str())
            {
                continue;
            }
            gone.push(k.clone());
            removed = Some(format!("{k}/"));
        }
        for k in gone {
            self.remove(cx, &k)?;
        }
        for k in relabel {
            if let Some(n) = self.nodes.get_mut(&k) {
                n.layer = layer;
            }
        }
        Ok(())
    }

    /// Resolve a path against the index as the kernel would, following
    /// symbolic links (absolute ones from the image root, `..` stopping at
    /// the root); components that do not exist are kept as they are, so
    /// the result is where a file written at `path` would land.
    pub fn resolve(&self, path: &str) -> Option<String> {
        let mut parts: Vec<String> = Vec::new();
        let mut pending: Vec<String> = path.split('/').rev().map(str::to_owned).collect();
        let mut hops = 0;
        while let Some(c) = pending.pop() {
            match c.as_str() {
                "" | "." => continue,
                ".." => {
                    parts.pop();
                    continue;
                }
                _ => {}
            }
            let rel = join(&parts.join("/"), &c);
            if self.nodes.get(&rel).map(|n| n.kind) == Some(EntryKind::Symlink) {
                hops += 1;
                if hops > MAX_LINK_HOPS {
                    return None;
                }
                let target = fs::read_link(self.host(&rel)).ok()?;
                let target = target.to_string_lossy().into_owned();
                if target.starts_with('/') {
                    parts.clear();
                }
                pending.extend(target.split('/').rev().map(str::to_owned));
            } else {
                parts.push(c);
            }
        }
        Some(parts.join("/"))
    }

    fn refresh_tracked(&mut self) {
        self.tracked_real = self
            .tracked
            .iter()
            .flat_map(|t| [Some(t.path.clone()), self.resolve(&t.path)])
            .flatten()
            .collect();
        self.tracked_dirty = false;
    }

    /// After a layer: record the tracked files it changed.
    pub fn snapshot(&mut self, cx: &Cx, layer: usize) -> Result<()> {
        for i in 0..self.tracked.len() {
            let real = self.resolve(&self.tracked[i].path);
            let node = real.as_deref().and_then(|r| self.nodes.get(r)).copied();
            let Some((real, node)) = real.zip(node).filter(|(_, n)| n.kind == EntryKind::File)
            else {
                if self.tracked[i].last.take().is_some() {
                    self.tracked[i].versions.push((layer, None));
                }
                continue;
            };
            if !node.content {
                let path = self.tracked[i].path.clone();
                self.warn(
                    cx,
                    &path,
                    format_args!(
                        "tracked file is {real}, whose content was not kept: history not recorded"
                    ),
                );
                continue;
            }
            // Unchanged unless this layer wrote the file or a link now
            // leads elsewhere.
            if node.layer != layer
                && self.tracked[i]
                    .last
                    .as_ref()
                    .is_some_and(|(r, _)| *r == real)
            {
                continue;
            }
            let host = self.host(&real);
            let hash = hash_file(&host).map_err(|e| cx.entry_io(&real, e))?;
            let t = &mut self.tracked[i];
            if t.last.as_ref().is_some_and(|(_, h)| *h == hash) {
                t.last = Some((real, hash));
                continue;
            }
            let snap = self.history_dir.join(format!("{i}-{layer}"));
            if fs::hard_link(&host, &snap).is_err() {
                fs::copy(&host, &snap).map_err(|e| cx.entry_io(&real, e))?;
            }
            t.versions.push((layer, Some(snap)));
            t.last = Some((real, hash));
        }
        Ok(())
    }
}

fn hash_file(path: &Path) -> io::Result<[u8; 32]> {
    let mut f = fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

pub(crate) struct TreeParts {
    pub nodes: BTreeMap<String, ImageEntry>,
    pub warnings: Vec<Problem>,
    pub history: Vec<(String, Versions)>,
}

/// Read a history snapshot, capped.
pub(crate) fn read_snapshot(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let f = fs::File::open(path).map_err(|source| InventoryError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut buf = Vec::new();
    f.take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|source| InventoryError::Io {
            path: path.to_owned(),
            source,
        })?;
    if buf.len() as u64 > limit {
        return Err(InventoryError::TooLarge {
            path: path.display().to_string(),
            size: buf.len() as u64,
            limit,
        });
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(normalise("/a//b/./c/"), Ok(Some("a/b/c".into())));
        assert_eq!(normalise("./"), Ok(None));
        assert!(normalise("a/../../b").is_err());
        assert!(normalise("a\0b").is_err());
    }

    #[test]
    fn ranges_cover_exactly_the_subtree() {
        let mut m = BTreeMap::new();
        for k in ["a", "a.b", "a/b", "a/b/c", "a0", "a/z", "ab"] {
            m.insert(k.to_owned(), ());
        }
        let (lo, hi) = below("a");
        let got: Vec<&str> = m
            .range::<str, _>((
                std::ops::Bound::Included(lo.as_str()),
                std::ops::Bound::Excluded(hi.as_str()),
            ))
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(got, ["a/b", "a/b/c", "a/z"]);
    }
}
