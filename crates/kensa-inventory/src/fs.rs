//! The file system being inventoried, as read-only access by path inside a
//! root. A mounted root or the host is a [`DirRoot`]; a container image is
//! its merged layers (`image` module). Collectors only ever see paths
//! relative to the root (`etc/os-release`, `/`-separated, no leading slash),
//! and a root never hands out a file outside itself: symlinks are resolved
//! by the root, against the root, with `..` stopping at the root and a
//! bounded number of hops.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{InventoryError, Result};

/// What a directory entry is, without following a final symlink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub kind: EntryKind,
}

/// Part of a file read by [`Root::read_at`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub data: Vec<u8>,
    /// The size of the whole file.
    pub file_size: u64,
}

/// Read-only access to a root filesystem. `Sync`, so that collectors may
/// read one root from several threads.
pub trait Root: Sync {
    /// A regular file's whole content (following symlinks inside the root),
    /// `None` if it does not exist. Files over `limit` bytes are an error.
    fn read(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>>;

    /// The entries of a directory, sorted by name; empty if it does not
    /// exist.
    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>>;

    /// A short description of the root for messages.
    fn describe(&self) -> String;

    /// [`Root::read_dir`], plus the permission bits of the regular files
    /// whose name `probe` accepts, where the root can tell them cheaply
    /// (`None` otherwise). Lets a walker skip non-executable files before
    /// opening them.
    fn read_dir_modes(
        &self,
        path: &str,
        probe: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<(DirEntry, Option<u32>)>> {
        let _ = probe;
        Ok(self
            .read_dir(path)?
            .into_iter()
            .map(|e| (e, None))
            .collect())
    }

    /// Read a file as UTF-8 text (lossily: package databases are not always
    /// clean UTF-8, and a bad byte in a description must not hide a package).
    fn read_text(&self, path: &str, limit: u64) -> Result<Option<String>> {
        Ok(self.read(path, limit)?.map(|b| {
            String::from_utf8(b)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        }))
    }

    /// Up to `len` bytes of a regular file from `offset` (fewer at its end,
    /// none past it) and the file's size, `None` if it does not exist: the
    /// headers and sections of a binary without reading all of it. The
    /// default reads the whole file, so files over 256 MiB are an error;
    /// roots that can seek override it.
    fn read_at(&self, path: &str, offset: u64, len: u64) -> Result<Option<Chunk>> {
        let Some(data) = self.read(path, 256 * 1024 * 1024)? else {
            return Ok(None);
        };
        let size = data.len() as u64;
        let start = offset.min(size) as usize;
        let end = offset.saturating_add(len).min(size) as usize;
        Ok(Some(Chunk {
            data: data[start..end].to_vec(),
            file_size: size,
        }))
    }

    /// Every regular file under `dir` (recursively, not following directory
    /// symlinks), as root-relative paths, in sorted order, calling `visit`
    /// for each. `prune` is asked for each directory; returning true skips
    /// it. Depth is bounded to survive hostile trees.
    fn walk(
        &self,
        dir: &str,
        prune: &dyn Fn(&str) -> bool,
        visit: &mut dyn FnMut(&str),
    ) -> Result<()> {
        let mut stack = vec![(dir.trim_matches('/').to_owned(), 0usize)];
        while let Some((d, depth)) = stack.pop() {
            if depth > 64 {
                continue;
            }
            let entries = self.read_dir(&d)?;
            let mut subdirs = Vec::new();
            for e in entries {
                let p = if d.is_empty() {
                    e.name.clone()
                } else {
                    format!("{d}/{}", e.name)
                };
                match e.kind {
                    EntryKind::File => visit(&p),
                    EntryKind::Dir if !prune(&p) => subdirs.push(p),
                    _ => {}
                }
            }
            for s in subdirs.into_iter().rev() {
                stack.push((s, depth + 1));
            }
        }
        Ok(())
    }
}

/// Maximum symlinks followed while resolving one path (Linux uses 40).
const MAX_LINK_HOPS: usize = 40;

/// A directory on this machine used as a root: the host (`/`) or a mounted
/// filesystem.
pub struct DirRoot {
    root: PathBuf,
    /// The root directory opened once, for `openat2(RESOLVE_IN_ROOT)`: the
    /// kernel then resolves every path as if the root were `/` (symlinks
    /// re-rooted, `..` stopping at the root) in one system call, instead of
    /// one `lstat` per path component. `None` where the kernel has no
    /// `openat2` (before Linux 5.6, or filtered by seccomp): paths are then
    /// resolved component by component in [`DirRoot::resolve`].
    dirfd: Option<rustix::fd::OwnedFd>,
}

impl DirRoot {
    pub fn new(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        let meta = std::fs::metadata(&root).map_err(|source| InventoryError::Io {
            path: root.clone(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(InventoryError::Io {
                path: root,
                source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
            });
        }
        let dirfd = rustix::fs::open(
            &root,
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .ok()
        .filter(|fd| {
            // Probe once: a kernel without openat2 answers ENOSYS.
            !matches!(
                rustix::fs::openat2(fd, ".", OPEN_DIR, rustix::fs::Mode::empty(), in_root()),
                Err(rustix::io::Errno::NOSYS) | Err(rustix::io::Errno::PERM)
            )
        });
        Ok(DirRoot { root, dirfd })
    }

    /// Open `path` inside the root with the kernel's in-root resolution.
    /// `Ok(None)`: the path does not exist; `Err(None)`: no `openat2`, use
    /// the user-space resolution.
    fn open_in_root(
        &self,
        path: &str,
        flags: rustix::fs::OFlags,
    ) -> std::result::Result<Option<std::fs::File>, Option<InventoryError>> {
        let Some(dirfd) = &self.dirfd else {
            return Err(None);
        };
        let rel = path.trim_start_matches('/');
        let rel = if rel.is_empty() { "." } else { rel };
        match rustix::fs::openat2(
            dirfd,
            rel,
            flags | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
            in_root(),
        ) {
            Ok(fd) => Ok(Some(std::fs::File::from(fd))),
            Err(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR) => Ok(None),
            Err(rustix::io::Errno::LOOP) => Err(Some(InventoryError::Unsafe {
                path: path.to_owned(),
                message: "too many levels of symbolic links".into(),
            })),
            // openat2 refuses some resolutions (EXDEV, EAGAIN on a racing
            // rename); the user-space resolution then decides.
            Err(rustix::io::Errno::XDEV | rustix::io::Errno::AGAIN | rustix::io::Errno::NOSYS) => {
                Err(None)
            }
            Err(e) => Err(Some(InventoryError::Io {
                path: self.root.join(rel),
                source: e.into(),
            })),
        }
    }

    /// Open a file for reading, by whichever resolution is available.
    fn open_file(&self, path: &str) -> Result<Option<(std::fs::File, PathBuf)>> {
        let host = self.root.join(path.trim_start_matches('/'));
        match self.open_in_root(path, rustix::fs::OFlags::RDONLY) {
            Ok(f) => return Ok(f.map(|f| (f, host))),
            Err(Some(e)) => return Err(e),
            Err(None) => {}
        }
        let Some(host) = self.resolve(path)? else {
            return Ok(None);
        };
        match std::fs::File::open(&host) {
            Ok(f) => Ok(Some((f, host))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(InventoryError::Io { path: host, source }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Resolve a root-relative path to a host path that stays inside the
    /// root, following symlinks (absolute targets re-rooted) on every
    /// component. `Ok(None)` when some component does not exist.
    pub fn resolve(&self, path: &str) -> Result<Option<PathBuf>> {
        let mut parts: Vec<String> = Vec::new();
        let mut pending: Vec<String> = components(path).rev().map(str::to_owned).collect();
        let mut hops = 0;
        while let Some(c) = pending.pop() {
            match c.as_str() {
                "." => continue,
                ".." => {
                    parts.pop();
                    continue;
                }
                _ => {}
            }
            let mut host = self.root.clone();
            host.extend(&parts);
            host.push(&c);
            let meta = match std::fs::symlink_metadata(&host) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Ok(None),
                Err(source) => return Err(InventoryError::Io { path: host, source }),
            };
            if meta.file_type().is_symlink() {
                hops += 1;
                if hops > MAX_LINK_HOPS {
                    return Err(InventoryError::Unsafe {
                        path: path.to_owned(),
                        message: "too many levels of symbolic links".into(),
                    });
                }
                let target = std::fs::read_link(&host)
                    .map_err(|source| InventoryError::Io { path: host, source })?;
                let target = target.to_string_lossy().into_owned();
                if target.starts_with('/') {
                    parts.clear();
                }
                for t in components(&target).rev() {
                    pending.push(t.to_owned());
                }
            } else {
                parts.push(c);
            }
        }
        let mut host = self.root.clone();
        host.extend(&parts);
        Ok(Some(host))
    }
}

const OPEN_DIR: rustix::fs::OFlags = rustix::fs::OFlags::RDONLY
    .union(rustix::fs::OFlags::DIRECTORY)
    .union(rustix::fs::OFlags::CLOEXEC);

fn in_root() -> rustix::fs::ResolveFlags {
    rustix::fs::ResolveFlags::IN_ROOT | rustix::fs::ResolveFlags::NO_MAGICLINKS
}

/// The non-empty components of a `/`-separated path.
fn components(path: &str) -> impl DoubleEndedIterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty())
}

impl Root for DirRoot {
    fn read(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>> {
        let Some((file, host)) = self.open_file(path)? else {
            return Ok(None);
        };
        let meta = file.metadata().map_err(|source| InventoryError::Io {
            path: host.clone(),
            source,
        })?;
        if !meta.is_file() {
            return Ok(None);
        }
        if meta.len() > limit {
            return Err(InventoryError::TooLarge {
                path: path.to_owned(),
                size: meta.len(),
                limit,
            });
        }
        let mut buf = Vec::with_capacity(meta.len() as usize);
        // `take` guards against a file that grows while being read.
        file.take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(|source| InventoryError::Io { path: host, source })?;
        if buf.len() as u64 > limit {
            return Err(InventoryError::TooLarge {
                path: path.to_owned(),
                size: buf.len() as u64,
                limit,
            });
        }
        Ok(Some(buf))
    }

    fn read_at(&self, path: &str, offset: u64, len: u64) -> Result<Option<Chunk>> {
        use std::io::{Seek, SeekFrom};
        let Some((mut file, host)) = self.open_file(path)? else {
            return Ok(None);
        };
        let io = |source| InventoryError::Io {
            path: host.clone(),
            source,
        };
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Ok(None);
        }
        let file_size = meta.len();
        let want = len.min(file_size.saturating_sub(offset));
        let mut data = Vec::with_capacity(want as usize);
        if want > 0 {
            file.seek(SeekFrom::Start(offset)).map_err(io)?;
            file.take(want).read_to_end(&mut data).map_err(io)?;
        }
        Ok(Some(Chunk { data, file_size }))
    }

    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>> {
        match self.open_in_root(path, OPEN_DIR) {
            Ok(None) => return Ok(Vec::new()),
            Ok(Some(dir)) => {
                return Ok(self
                    .list(path, dir, &|_| false)?
                    .into_iter()
                    .map(|(e, _)| e)
                    .collect());
            }
            Err(Some(e)) => return Err(e),
            Err(None) => {}
        }
        let Some(host) = self.resolve(path)? else {
            return Ok(Vec::new());
        };
        let rd = match std::fs::read_dir(&host) {
            Ok(rd) => rd,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(Vec::new());
            }
            Err(source) => return Err(InventoryError::Io { path: host, source }),
        };
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|source| InventoryError::Io {
                path: host.clone(),
                source,
            })?;
            let ft = entry.file_type().map_err(|source| InventoryError::Io {
                path: entry.path(),
                source,
            })?;
            let kind = if ft.is_file() {
                EntryKind::File
            } else if ft.is_dir() {
                EntryKind::Dir
            } else if ft.is_symlink() {
                EntryKind::Symlink
            } else {
                EntryKind::Other
            };
            out.push(DirEntry {
                name: entry.file_name().to_string_lossy().into_owned(),
                kind,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn read_dir_modes(
        &self,
        path: &str,
        probe: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<(DirEntry, Option<u32>)>> {
        match self.open_in_root(path, OPEN_DIR) {
            Ok(None) => Ok(Vec::new()),
            Ok(Some(dir)) => self.list(path, dir, probe),
            Err(Some(e)) => Err(e),
            Err(None) => Ok(self
                .read_dir(path)?
                .into_iter()
                .map(|e| (e, None))
                .collect()),
        }
    }
}

impl DirRoot {
    /// The entries of an open directory. The kernel's `d_type` gives each
    /// entry's kind without a `stat`, except on file systems that do not
    /// fill it in.
    fn list(
        &self,
        path: &str,
        dir: std::fs::File,
        probe: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<(DirEntry, Option<u32>)>> {
        let host = || self.root.join(path.trim_start_matches('/'));
        let io = |e: rustix::io::Errno| InventoryError::Io {
            path: host(),
            source: e.into(),
        };
        let mut out = Vec::new();
        let fd = rustix::fd::OwnedFd::from(dir);
        let mut entries = rustix::fs::Dir::read_from(&fd).map_err(io)?;
        while let Some(entry) = entries.read() {
            let entry = entry.map_err(io)?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let mut ft = entry.file_type();
            let name_text = String::from_utf8_lossy(name);
            let mut mode = None;
            let wants_mode = matches!(
                ft,
                rustix::fs::FileType::RegularFile | rustix::fs::FileType::Unknown
            ) && probe(&name_text);
            if ft == rustix::fs::FileType::Unknown || wants_mode {
                // Relative to the open directory, without following a
                // final symlink: nothing outside the root is looked at.
                let st = rustix::fs::statat(
                    &fd,
                    entry.file_name(),
                    rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
                )
                .map_err(io)?;
                ft = rustix::fs::FileType::from_raw_mode(st.st_mode);
                if wants_mode {
                    mode = Some(st.st_mode & 0o7777);
                }
            }
            let kind = match ft {
                rustix::fs::FileType::RegularFile => EntryKind::File,
                rustix::fs::FileType::Directory => EntryKind::Dir,
                rustix::fs::FileType::Symlink => EntryKind::Symlink,
                _ => EntryKind::Other,
            };
            out.push((
                DirEntry {
                    name: name_text.into_owned(),
                    kind,
                },
                mode,
            ));
        }
        out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (tempfile::TempDir, DirRoot) {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = dir.path();
        std::fs::create_dir_all(p.join("etc")).expect("mkdir");
        std::fs::create_dir_all(p.join("usr/lib")).expect("mkdir");
        std::fs::write(p.join("usr/lib/os-release"), "ID=debian\n").expect("write");
        std::os::unix::fs::symlink("../usr/lib/os-release", p.join("etc/os-release"))
            .expect("symlink");
        std::os::unix::fs::symlink("/usr/lib/os-release", p.join("etc/abs")).expect("symlink");
        std::os::unix::fs::symlink("/../../../../etc/passwd", p.join("etc/escape"))
            .expect("symlink");
        std::os::unix::fs::symlink("loop", p.join("etc/loop")).expect("symlink");
        let root = DirRoot::new(p).expect("root");
        (dir, root)
    }

    #[test]
    fn relative_and_absolute_links_resolve_inside_the_root() {
        let (_d, root) = tree();
        for p in [
            "etc/os-release",
            "etc/abs",
            "/etc/../etc/abs",
            "../../etc/os-release",
        ] {
            let got = root.read(p, 100).expect("readable");
            assert_eq!(got.as_deref(), Some(&b"ID=debian\n"[..]), "{p}");
        }
    }

    #[test]
    fn links_never_escape_the_root() {
        let (_d, root) = tree();
        // Resolved against the root, /etc/passwd of the host is never read.
        assert_eq!(root.read("etc/escape", 1 << 20).expect("no error"), None);
    }

    #[test]
    fn link_loops_are_an_error_naming_the_path() {
        let (_d, root) = tree();
        let e = root.read("etc/loop", 100).expect_err("loop");
        assert!(e.to_string().contains("etc/loop"), "{e}");
    }

    #[test]
    fn size_limit_is_enforced() {
        let (_d, root) = tree();
        let e = root.read("etc/os-release", 3).expect_err("too large");
        assert!(matches!(e, InventoryError::TooLarge { .. }), "{e}");
    }
}
