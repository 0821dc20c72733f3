//! A container image archive read into a merged root filesystem on disk.
//!
//! [`open`] reads a `docker save` tarball (its `manifest.json`; layers as
//! plain tar or compressed inside it, as newer Docker writes them) or an
//! OCI image layout (a directory, or a tar of one: `index.json`, possibly
//! nested indexes, the manifest, config and layer blobs). A gzip- or
//! zstd-compressed archive is first decompressed into the scratch
//! directory. The layers are applied in order into `scratch/rootfs`, which
//! [`Image::root`] reads as a [`DirRoot`], with overlay semantics:
//! `.wh.NAME` deletes NAME from lower layers, `.wh..wh..opq` empties a
//! directory of lower layers' content.
//!
//! Memory does not grow with the image's bytes: archives are read in
//! place, layers are streamed through the decompressor, and only an index
//! of paths (capped by [`ImageOptions::max_entries`]) is kept. Disk use is
//! what the caller asks for: only regular files the `wanted` predicate
//! accepts get their content; others are empty placeholders, present so
//! that listings and whiteouts stay right ([`Image::entry`] tells which).
//!
//! The archive is untrusted. Nothing is ever written outside the scratch
//! directory: entry names with `..` are an error, leading `/` is stripped,
//! no entry is written through a symbolic link (an entry whose parent is a
//! link is skipped with a warning), hard links only link files already in
//! the scratch tree, devices and fifos are recorded but not created,
//! permissions and owners are not applied (files are 0644, directories
//! 0755). Decompressed bytes, tar entries, metadata files, GNU long names
//! and pax headers are capped. Verified: the config's SHA-256 is the image
//! id (and matches its file name when that is a digest); every OCI blob
//! read (manifests, indexes, config, layers) matches its descriptor's
//! digest and size; `docker save` layers stored as `blobs/sha256/<hex>`
//! match that digest; and every layer's uncompressed tar matches the
//! config's diff id. A layer whose digest does not match is an error
//! after it was applied (the tree is then not to be used).
//!
//! Where this differs from a container runtime: a runtime resolves an
//! entry's symlinked parent inside the root and writes there; here such an
//! entry is not extracted and [`Image::warnings`] says so (images built by
//! `docker build` never have such entries: their diffs name real paths).
//! An unknown entry type is recorded as `Other` rather than as a file.

mod apply;
mod decode;
mod source;
mod tar;

use std::fmt::Display;
use std::fs::{self, File};
use std::io::{self, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

pub use apply::ImageEntry;

use self::decode::{Compression, Meter, ZstdReader, detect, over_limit, read_head};
use self::source::{Plan, Source};
use self::tar::{Limits, TarError, TarReader};
use crate::error::{InventoryError, Result};
use crate::fs::DirRoot;
use crate::model::{ImageInfo, Problem};

/// Limits and choices for [`open`].
#[derive(Clone, Debug)]
pub struct ImageOptions {
    /// Most bytes all layers may decompress to, together (and most bytes a
    /// compressed archive may decompress to). Default 16 GiB.
    pub max_total_bytes: u64,
    /// Most tar entries over all layers (and in the archive itself).
    /// Default 2,000,000. The index of paths kept in memory is also capped
    /// at 256 bytes times this.
    pub max_entries: u64,
    /// Largest `manifest.json`, `index.json`, manifest or config. Default
    /// 16 MiB.
    pub max_metadata_bytes: u64,
    /// Largest tracked file [`Image::history`] returns. Default 512 MiB.
    pub max_tracked_bytes: u64,
    /// Which image of a multi-platform index: `os/arch[/variant]`, e.g.
    /// `linux/arm64`. Default: the only one, else this machine's.
    pub platform: Option<String>,
    /// Which image of an archive holding several: a repo tag
    /// (`alpine:3.19`) or an OCI `org.opencontainers.image.ref.name`.
    pub reference: Option<String>,
    /// Check each layer against its blob digest and the config's diff id.
    /// Default true; turn off only for archives known to have been
    /// re-packed. Manifests, indexes and configs are always checked.
    pub verify_digests: bool,
    /// Create an empty file for each regular file not wanted, so that
    /// listings through [`Image::root`] show it. Default true; false saves
    /// a file creation per unwanted file (most of the time on slow disks),
    /// and then only [`Image::entry`] knows those files.
    pub placeholders: bool,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions {
            max_total_bytes: 16 << 30,
            max_entries: 2_000_000,
            max_metadata_bytes: 16 << 20,
            max_tracked_bytes: 512 << 20,
            platform: None,
            reference: None,
            verify_digests: true,
            placeholders: true,
        }
    }
}

/// An image applied to a scratch directory.
#[derive(Debug)]
pub struct Image {
    info: ImageInfo,
    format: &'static str,
    rootfs: PathBuf,
    nodes: std::collections::BTreeMap<String, ImageEntry>,
    warnings: Vec<Problem>,
    history: Vec<(String, apply::Versions)>,
    max_tracked_bytes: u64,
}

/// Names the archive (and the layer) in every error.
pub(crate) struct Cx {
    pub archive: String,
    layer: Option<String>,
}

impl Cx {
    fn new(archive: &Path) -> Self {
        Cx {
            archive: archive.display().to_string(),
            layer: None,
        }
    }

    fn with_layer(&self, index: usize, name: &str) -> Self {
        Cx {
            archive: self.archive.clone(),
            layer: Some(format!("layer {index} ({name})")),
        }
    }

    pub fn prefix(&self) -> String {
        self.layer
            .as_ref()
            .map(|l| format!("{l}: "))
            .unwrap_or_default()
    }

    pub fn parse(&self, message: impl Display) -> InventoryError {
        InventoryError::Parse {
            path: self.archive.clone(),
            message: format!("{}{message}", self.prefix()),
        }
    }

    fn unsafe_(&self, message: impl Display) -> InventoryError {
        InventoryError::Unsafe {
            path: self.archive.clone(),
            message: format!("{}{message}", self.prefix()),
        }
    }

    pub fn entry_unsafe(&self, name: &str, message: impl Display) -> InventoryError {
        self.unsafe_(format_args!("entry {}: {message}", apply::shown(name)))
    }

    fn over(&self, limit: u64) -> InventoryError {
        self.unsafe_(format_args!(
            "decompresses to more than {limit} bytes (ImageOptions::max_total_bytes): refused as a likely decompression bomb"
        ))
    }

    pub fn too_many_paths(&self, limit: u64) -> InventoryError {
        self.unsafe_(format_args!(
            "its paths take more than {limit} bytes of index (256 bytes a path times ImageOptions::max_entries): refused"
        ))
    }

    fn io_with(&self, what: String, e: io::Error) -> InventoryError {
        if let Some(limit) = over_limit(&e) {
            return self.over(limit);
        }
        InventoryError::Io {
            path: PathBuf::from(&self.archive),
            source: io::Error::new(e.kind(), format!("{what}{e}")),
        }
    }

    pub fn io(&self, e: io::Error) -> InventoryError {
        self.io_with(self.prefix(), e)
    }

    pub fn io_in(&self, name: &str, e: io::Error) -> InventoryError {
        self.io_with(format!("{}{name}: ", self.prefix()), e)
    }

    pub fn entry_io(&self, name: &str, e: io::Error) -> InventoryError {
        self.io_with(
            format!("{}entry {}: ", self.prefix(), apply::shown(name)),
            e,
        )
    }

    pub fn tar(&self, e: TarError) -> InventoryError {
        match e {
            TarError::Io(e) => self.io(e),
            TarError::TooManyHeaders { limit } => self.unsafe_(format_args!(
                "more than {limit} tar entries (ImageOptions::max_entries): refused"
            )),
            e => self.parse(e),
        }
    }
}

/// Read the image archive (or OCI layout directory) at `archive` into
/// `scratch`, an empty directory the caller owns (a `tempfile::TempDir`):
/// the merged tree goes to `scratch/rootfs`, working files to
/// `scratch/kensa-image`.
///
/// `wanted(path, size, mode)` says which regular files need their content
/// (paths are root-relative, `/`-separated, no leading slash); others are
/// recorded and left empty. `tracked` names files (package databases such
/// as `var/lib/dpkg/status`) whose every version is kept for
/// [`Image::history`]: they always get their content, at their literal
/// path or where it resolves through links at the time they are written
/// (name every path a database can live at).
pub fn open(
    archive: &Path,
    scratch: &Path,
    wanted: &dyn Fn(&str, u64, u32) -> bool,
    tracked: &[&str],
    opts: &ImageOptions,
) -> Result<Image> {
    let cx = Cx::new(archive);
    let scratch_io = |source| InventoryError::Io {
        path: scratch.to_owned(),
        source,
    };
    let rootfs = scratch.join("rootfs");
    let work = scratch.join("kensa-image");
    fs::create_dir(&rootfs).map_err(scratch_io)?;
    fs::create_dir(&work).map_err(scratch_io)?;
    let history_dir = work.join("history");
    fs::create_dir(&history_dir).map_err(scratch_io)?;

    let src = open_source(&cx, archive, &work, opts)?;
    let plan = source::plan(&cx, &src, opts)?;
    let mut tree = apply::Tree::new(
        rootfs.clone(),
        history_dir,
        tracked,
        index_budget(opts),
        opts.placeholders,
    );
    apply_layers(&cx, &src, &plan, &mut tree, wanted, opts)?;
    drop(src);
    let spool = work.join("archive.tar");
    if spool.exists() {
        fs::remove_file(&spool).map_err(scratch_io)?;
    }
    let parts = tree.into_parts();
    Ok(Image {
        info: plan.info,
        format: plan.format,
        rootfs,
        nodes: parts.nodes,
        warnings: parts.warnings,
        history: parts.history,
        max_tracked_bytes: opts.max_tracked_bytes,
    })
}

/// Memory allowed for the index of paths: 256 bytes a path on average.
fn index_budget(opts: &ImageOptions) -> u64 {
    opts.max_entries.saturating_mul(256)
}

/// The archive as a source of files: a directory, a tar read in place, or
/// a compressed tar decompressed to `work/archive.tar` first.
fn open_source(cx: &Cx, archive: &Path, work: &Path, opts: &ImageOptions) -> Result<Source> {
    let meta = fs::metadata(archive).map_err(|source| InventoryError::Io {
        path: archive.to_owned(),
        source,
    })?;
    if meta.is_dir() {
        return Ok(Source::Dir(DirRoot::new(archive)?));
    }
    let mut f = File::open(archive).map_err(|e| cx.io(e))?;
    let head = read_head(&mut f, 6).map_err(|e| cx.io(e))?;
    let compression = detect(&head);
    let reader = Cursor::new(head).chain(BufReader::new(f));
    let decoded: Box<dyn Read> = match compression {
        Compression::None => {
            return Source::index_tar(cx, archive, opts.max_entries, index_budget(opts));
        }
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        Compression::Zstd => Box::new(ZstdReader::new(BufReader::new(reader))),
        Compression::Unsupported(name) => {
            return Err(cx.parse(format!(
                "compressed with {name}, which is not supported: decompress it first"
            )));
        }
    };
    let spool = work.join("archive.tar");
    let mut out = File::create(&spool).map_err(|source| InventoryError::Io {
        path: spool.clone(),
        source,
    })?;
    let mut meter = Meter::new(decoded, opts.max_total_bytes, false);
    io::copy(&mut meter, &mut out).map_err(|e| cx.io(e))?;
    drop(out);
    Source::index_tar(cx, &spool, opts.max_entries, index_budget(opts))
}

fn apply_layers(
    cx: &Cx,
    src: &Source,
    plan: &Plan,
    tree: &mut apply::Tree,
    wanted: &dyn Fn(&str, u64, u32) -> bool,
    opts: &ImageOptions,
) -> Result<()> {
    let mut total: u64 = 0;
    let mut entries: u64 = 0;
    for (i, layer) in plan.layers.iter().enumerate() {
        let lcx = cx.with_layer(i, &layer.name);
        let Some((reader, size)) = src.open(&lcx, &layer.name)? else {
            let foreign = layer
                .media_type
                .as_deref()
                .is_some_and(|t| t.contains("foreign") || t.contains("nondistributable"));
            return Err(lcx.parse(if foreign {
                "the layer file is missing from the archive (a foreign, non-distributable layer)"
            } else {
                "the layer file is missing from the archive"
            }));
        };
        if let Some(expected) = layer.size
            && expected != size
            && opts.verify_digests
        {
            return Err(lcx.parse(format!("{size} bytes, but its descriptor says {expected}")));
        }
        let hash_raw = opts.verify_digests && layer.digest.is_some();
        let mut raw = Meter::new(reader, u64::MAX, hash_raw);
        let head = read_head(&mut raw, 6).map_err(|e| lcx.io(e))?;
        let compression = detect(&head);
        let (count, diff_hash, headers) = {
            let chained = Cursor::new(head).chain(&mut raw);
            let decoded: Box<dyn Read + '_> = match compression {
                Compression::None => Box::new(chained),
                Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(chained)),
                Compression::Zstd => Box::new(ZstdReader::new(BufReader::new(chained))),
                Compression::Unsupported(name) => {
                    return Err(
                        lcx.parse(format!("compressed with {name}, which is not supported"))
                    );
                }
            };
            let mut un = Meter::new(
                decoded,
                opts.max_total_bytes.saturating_sub(total),
                opts.verify_digests,
            );
            let limits = Limits {
                max_headers: opts.max_entries.saturating_sub(entries),
                ..Limits::default()
            };
            let mut tar = TarReader::new(&mut un, limits);
            tree.apply_layer(&lcx, i, &mut tar, wanted)?;
            let headers = tar.headers();
            drop(tar);
            // The rest (end-of-archive blocks, padding) counts for the
            // diff id.
            un.drain().map_err(|e| lcx.io(e))?;
            let (count, hash) = un.finish();
            (count, hash, headers)
        };
        raw.drain().map_err(|e| lcx.io(e))?;
        total += count;
        entries += headers;
        let (_, raw_hash) = raw.finish();
        if let (Some(expected), Some(got)) = (&layer.digest, raw_hash)
            && *expected != got
        {
            return Err(lcx.parse(format!(
                "content does not match its digest sha256:{expected} (its SHA-256 is {got})"
            )));
        }
        if let Some(got) = diff_hash {
            let expected = layer
                .diff_id
                .strip_prefix("sha256:")
                .unwrap_or(&layer.diff_id);
            if expected != got {
                return Err(lcx.parse(format!(
                    "uncompressed, it does not match the config's diff id {} (its SHA-256 is {got})",
                    layer.diff_id
                )));
            }
        }
        tree.snapshot(&lcx, i)?;
    }
    Ok(())
}

impl Image {
    /// Identity, tags and layers (diff ids, bottom first).
    pub fn info(&self) -> &ImageInfo {
        &self.info
    }

    /// `docker save` or `OCI layout`.
    pub fn format(&self) -> &'static str {
        self.format
    }

    /// The merged tree as a root to collect from.
    pub fn root(&self) -> Result<DirRoot> {
        DirRoot::new(&self.rootfs)
    }

    /// The merged tree's directory (`scratch/rootfs`).
    pub fn rootfs(&self) -> &Path {
        &self.rootfs
    }

    fn lookup(&self, path: &str) -> Option<&ImageEntry> {
        let path = apply::normalise(path).ok()??;
        self.nodes.get(&path)
    }

    /// What the merged image holds at `path` (not following a final
    /// symbolic link; links in parent directories are followed, inside the
    /// image).
    pub fn entry(&self, path: &str) -> Option<ImageEntry> {
        if let Some(e) = self.lookup(path) {
            return Some(*e);
        }
        let path = apply::normalise(path).ok()??;
        let (parent, base) = path.rsplit_once('/')?;
        let real_parent = self.resolve(parent)?;
        let real = if real_parent.is_empty() {
            base.to_owned()
        } else {
            format!("{real_parent}/{base}")
        };
        self.nodes.get(&real).copied()
    }

    /// Follow symbolic links in `path` inside the merged tree.
    fn resolve(&self, path: &str) -> Option<String> {
        let root = DirRoot::new(&self.rootfs).ok()?;
        let host = root.resolve(path).ok()??;
        let rel = host.strip_prefix(&self.rootfs).ok()?;
        Some(rel.to_string_lossy().into_owned())
    }

    /// Index of the layer that last wrote `path`, `None` if the merged
    /// image does not have it.
    pub fn layer_of(&self, path: &str) -> Option<usize> {
        self.entry(path).map(|e| e.layer)
    }

    /// The diff id of layer `index` (`sha256:…`).
    pub fn layer_id(&self, index: usize) -> Option<&str> {
        self.info.layers.get(index).map(String::as_str)
    }

    /// Every version of a tracked file, oldest first: the layer that
    /// changed it and its content then (`None`: that layer deleted it).
    /// Layers that rewrote it with the same content are not listed. Empty
    /// for paths that were not tracked.
    pub fn history(&self, path: &str) -> Result<Vec<(usize, Option<Vec<u8>>)>> {
        let Ok(Some(path)) = apply::normalise(path) else {
            return Ok(Vec::new());
        };
        let Some((_, versions)) = self.history.iter().find(|(p, _)| *p == path) else {
            return Ok(Vec::new());
        };
        versions
            .iter()
            .map(|(layer, snap)| {
                Ok((
                    *layer,
                    match snap {
                        Some(p) => Some(apply::read_snapshot(p, self.max_tracked_bytes)?),
                        None => None,
                    },
                ))
            })
            .collect()
    }

    /// Entries not extracted, and why (a parent that is a symbolic link, a
    /// hard link to a missing file, ...): problems for the inventory.
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }
}
