//! Where an image's files come from (a tar archive, read in place by
//! offset, or a directory) and which files make the image: the `docker
//! save` manifest or the OCI layout's index, manifest and config.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::decode::sha256_hex;
use super::tar::{Kind, Limits, SeekInput, TarError, TarReader};
use super::{Cx, ImageOptions};
use crate::error::{InventoryError, Result};
use crate::fs::DirRoot;
use crate::model::ImageInfo;

/// One file of the archive, by where its bytes are.
pub(crate) enum Item {
    File { offset: u64, size: u64 },
    Symlink(String),
    HardLink(String),
    Other,
}

pub(crate) enum Source {
    /// A tar archive (the one given, or a decompressed copy of it).
    Tar {
        file: PathBuf,
        items: HashMap<String, Item>,
    },
    /// A directory: an OCI layout or an extracted `docker save`.
    Dir(DirRoot),
}

/// Normalise a name inside the archive: `/`-separated, no leading `/` or
/// `./`, `..` resolved lexically and stopping at the top (names are only
/// ever looked up in the archive's own index, never used as host paths).
pub(crate) fn archive_name(name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

impl Source {
    /// Index a tar archive: one pass over its headers, seeking over data.
    pub fn index_tar(
        cx: &Cx,
        file: &Path,
        max_entries: u64,
        max_index_bytes: u64,
    ) -> Result<Source> {
        let f = File::open(file).map_err(|e| cx.io(e))?;
        let len = f.metadata().map_err(|e| cx.io(e))?.len();
        let limits = Limits {
            max_headers: max_entries,
            ..Limits::default()
        };
        let mut tar = TarReader::new(
            SeekInput {
                inner: BufReader::new(f),
            },
            limits,
        );
        let mut items = HashMap::new();
        let mut index_bytes: u64 = 0;
        loop {
            let entry = match tar.next_entry() {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(e) => return Err(cx.tar(e)),
            };
            let offset = tar.offset();
            if offset.saturating_add(entry.size) > len {
                return Err(cx.tar(TarError::Truncated {
                    offset: len,
                    entry: Some(entry.name),
                }));
            }
            // Names no manifest could use are not indexed.
            if entry.name.len() > 4096 || entry.link.len() > 4096 {
                continue;
            }
            let name = archive_name(&entry.name);
            index_bytes += (name.len() + entry.link.len() + 64) as u64;
            if index_bytes > max_index_bytes {
                return Err(cx.too_many_paths(max_index_bytes));
            }
            let item = match entry.kind {
                Kind::File => Item::File {
                    offset,
                    size: entry.size,
                },
                Kind::Symlink => Item::Symlink(entry.link),
                Kind::HardLink => Item::HardLink(archive_name(&entry.link)),
                _ => Item::Other,
            };
            items.insert(name, item);
        }
        Ok(Source::Tar {
            file: file.to_owned(),
            items,
        })
    }

    /// Open a file of the image by its name in the archive: its bytes and
    /// size, `None` when it is not there.
    pub fn open(&self, cx: &Cx, name: &str) -> Result<Option<(Box<dyn Read>, u64)>> {
        match self {
            Source::Tar { file, items } => {
                let mut name = archive_name(name);
                for _ in 0..16 {
                    match items.get(&name) {
                        Some(Item::File { offset, size }) => {
                            let mut f = File::open(file).map_err(|e| cx.io(e))?;
                            f.seek(SeekFrom::Start(*offset)).map_err(|e| cx.io(e))?;
                            return Ok(Some((Box::new(BufReader::new(f).take(*size)), *size)));
                        }
                        Some(Item::Symlink(target)) => {
                            name = if target.starts_with('/') {
                                archive_name(target)
                            } else {
                                let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
                                archive_name(&format!("{dir}/{target}"))
                            };
                        }
                        Some(Item::HardLink(target)) => name = target.clone(),
                        Some(Item::Other) | None => return Ok(None),
                    }
                }
                Err(cx.parse(format!(
                    "{name}: too many levels of symbolic links in the archive"
                )))
            }
            Source::Dir(root) => {
                let Some(host) = root.resolve(name)? else {
                    return Ok(None);
                };
                let f = match File::open(&host) {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(source) => return Err(InventoryError::Io { path: host, source }),
                };
                let meta = f.metadata().map_err(|source| InventoryError::Io {
                    path: host.clone(),
                    source,
                })?;
                if !meta.is_file() {
                    return Ok(None);
                }
                Ok(Some((Box::new(BufReader::new(f)), meta.len())))
            }
        }
    }

    /// A small file (manifest, index, config) whole, refusing one over
    /// `limit`; `None` when it is not there.
    pub fn read_small(&self, cx: &Cx, name: &str, limit: u64) -> Result<Option<Vec<u8>>> {
        let Some((r, size)) = self.open(cx, name)? else {
            return Ok(None);
        };
        if size > limit {
            return Err(InventoryError::TooLarge {
                path: format!("{}: {name}", cx.archive),
                size,
                limit,
            });
        }
        let mut buf = Vec::with_capacity(size as usize);
        r.take(limit.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|e| cx.io_in(name, e))?;
        if buf.len() as u64 > limit {
            return Err(InventoryError::TooLarge {
                path: format!("{}: {name}", cx.archive),
                size: buf.len() as u64,
                limit,
            });
        }
        Ok(Some(buf))
    }

    fn has(&self, cx: &Cx, name: &str) -> Result<bool> {
        Ok(self.open(cx, name)?.is_some())
    }
}

/// One layer to apply.
pub(crate) struct LayerRef {
    /// Its file in the archive.
    pub name: String,
    /// The SHA-256 (hex) its bytes must have, when the archive names it
    /// by digest.
    pub digest: Option<String>,
    /// Its size, when a descriptor gives it.
    pub size: Option<u64>,
    /// The config's diff id: `sha256:` and the hex SHA-256 of the
    /// uncompressed tar.
    pub diff_id: String,
    /// The descriptor's media type, if any.
    pub media_type: Option<String>,
}

/// What to read, in order.
pub(crate) struct Plan {
    pub info: ImageInfo,
    pub layers: Vec<LayerRef>,
    /// `docker save` or `OCI layout`, for messages.
    pub format: &'static str,
}

/// The plan of whichever format the source holds.
pub(crate) fn plan(cx: &Cx, src: &Source, opts: &ImageOptions) -> Result<Plan> {
    if let Some(bytes) = src.read_small(cx, "manifest.json", opts.max_metadata_bytes)? {
        return docker_plan(cx, src, &bytes, opts);
    }
    if src.has(cx, "index.json")? {
        return oci_plan(cx, src, opts);
    }
    Err(cx.parse(
        "neither manifest.json (docker save) nor index.json (OCI image layout) is in the archive: not a container image",
    ))
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The hex of a `sha256:<64 hex>` digest.
fn digest_hex<'a>(cx: &Cx, what: &str, digest: &'a str) -> Result<&'a str> {
    match digest.split_once(':') {
        Some(("sha256", hex)) if is_hex64(hex) => Ok(hex),
        Some((alg, _)) if alg != "sha256" => Err(cx.parse(format!(
            "{what}: digest {digest:?} uses {alg:?}; only sha256 digests are supported"
        ))),
        _ => Err(cx.parse(format!("{what}: {digest:?} is not a sha256 digest"))),
    }
}

/// The digest a file name encodes: `blobs/sha256/<hex>` or `<hex>.json`.
fn digest_of_name(name: &str) -> Option<&str> {
    let name = name.trim_start_matches("./");
    if let Some(hex) = name.strip_prefix("blobs/sha256/")
        && is_hex64(hex)
    {
        return Some(hex);
    }
    let base = name.rsplit('/').next().unwrap_or(name);
    base.strip_suffix(".json").filter(|h| is_hex64(h))
}

#[derive(Deserialize)]
struct DockerEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
}

#[derive(Deserialize)]
struct Config {
    rootfs: Option<RootFs>,
}

#[derive(Deserialize)]
struct RootFs {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    diff_ids: Vec<String>,
}

/// The config's diff ids, checked.
fn diff_ids(cx: &Cx, name: &str, bytes: &[u8]) -> Result<Vec<String>> {
    let config: Config = serde_json::from_slice(bytes)
        .map_err(|e| cx.parse(format!("image config {name}: invalid JSON: {e}")))?;
    let Some(rootfs) = config.rootfs else {
        return Err(cx.parse(format!("image config {name}: no rootfs")));
    };
    if rootfs.kind != "layers" {
        return Err(cx.parse(format!(
            "image config {name}: rootfs type {:?}, expected \"layers\"",
            rootfs.kind
        )));
    }
    for d in &rootfs.diff_ids {
        digest_hex(cx, &format!("image config {name}: diff id"), d)?;
    }
    Ok(rootfs.diff_ids)
}

fn docker_plan(cx: &Cx, src: &Source, manifest: &[u8], opts: &ImageOptions) -> Result<Plan> {
    let entries: Vec<DockerEntry> = serde_json::from_slice(manifest)
        .map_err(|e| cx.parse(format!("manifest.json: invalid JSON: {e}")))?;
    let entry = match (entries.len(), &opts.reference) {
        (0, _) => return Err(cx.parse("manifest.json lists no image")),
        (_, Some(want)) => entries
            .iter()
            .find(|e| e.repo_tags.iter().flatten().any(|t| tag_matches(t, want)))
            .ok_or_else(|| {
                cx.parse(format!(
                    "manifest.json has no image tagged {want:?} (tags: {})",
                    all_tags(&entries)
                ))
            })?,
        (1, None) => &entries[0],
        (n, None) => {
            return Err(cx.parse(format!(
                "manifest.json lists {n} images (tags: {}); name one with ImageOptions::reference",
                all_tags(&entries)
            )));
        }
    };
    let config_name = archive_name(&entry.config);
    let config = src
        .read_small(cx, &config_name, opts.max_metadata_bytes)?
        .ok_or_else(|| {
            cx.parse(format!(
                "config {config_name:?} named by manifest.json is missing"
            ))
        })?;
    let id = sha256_hex(&config);
    if let Some(named) = digest_of_name(&config_name)
        && named != id
    {
        return Err(cx.parse(format!(
            "config {config_name:?} does not match its digest: its SHA-256 is {id}"
        )));
    }
    let diff_ids = diff_ids(cx, &config_name, &config)?;
    if diff_ids.len() != entry.layers.len() {
        return Err(cx.parse(format!(
            "manifest.json lists {} layers but config {config_name:?} has {} diff ids",
            entry.layers.len(),
            diff_ids.len()
        )));
    }
    let layers = entry
        .layers
        .iter()
        .zip(&diff_ids)
        .map(|(name, diff_id)| {
            let name = archive_name(name);
            LayerRef {
                digest: name
                    .strip_prefix("blobs/sha256/")
                    .filter(|h| is_hex64(h))
                    .map(str::to_owned),
                name,
                size: None,
                diff_id: diff_id.clone(),
                media_type: None,
            }
        })
        .collect();
    let mut repo_tags: Vec<String> = entry.repo_tags.clone().unwrap_or_default();
    repo_tags.sort();
    repo_tags.dedup();
    Ok(Plan {
        info: ImageInfo {
            id: format!("sha256:{id}"),
            repo_tags,
            layers: diff_ids,
        },
        layers,
        format: "docker save",
    })
}

fn all_tags(entries: &[DockerEntry]) -> String {
    let tags: Vec<&str> = entries
        .iter()
        .flat_map(|e| e.repo_tags.iter().flatten())
        .map(String::as_str)
        .collect();
    if tags.is_empty() {
        "none".into()
    } else {
        tags.join(", ")
    }
}

/// `want` names the tag `tag`: equal, or equal once Docker's implied
/// `docker.io/library/` and `:latest` are added to both.
fn tag_matches(tag: &str, want: &str) -> bool {
    fn full(r: &str) -> String {
        let (name, tag) = match r.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, t),
            _ => (r, "latest"),
        };
        let name = if name.contains('/') {
            let first = name.split('/').next().unwrap_or("");
            if first.contains('.') || first.contains(':') || first == "localhost" {
                name.to_owned()
            } else {
                format!("docker.io/{name}")
            }
        } else {
            format!("docker.io/library/{name}")
        };
        format!("{name}:{tag}")
    }
    tag == want || full(tag) == full(want)
}

#[derive(Deserialize, Clone, Default)]
struct Platform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

impl Platform {
    fn describe(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}/{}/{v}", self.os, self.architecture),
            None => format!("{}/{}", self.os, self.architecture),
        }
    }

    /// `os/arch[/variant]` matches; a missing part of `want` matches any.
    fn matches(&self, want: &str) -> bool {
        let mut w = want.split('/');
        let os = w.next().unwrap_or("");
        let arch = w.next();
        let variant = w.next();
        os == self.os
            && arch.is_none_or(|a| a == self.architecture)
            && variant.is_none_or(|v| self.variant.as_deref() == Some(v))
    }
}

#[derive(Deserialize, Clone)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    digest: String,
    size: u64,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Deserialize)]
struct OciIndex {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct OciManifest {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
const CONFIG_TYPES: [&str; 2] = [
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];

/// An image manifest reachable from index.json.
struct Candidate {
    digest: String,
    manifest: OciManifest,
    platform: Option<Platform>,
    names: Vec<String>,
}

/// Read a blob named by a descriptor, checking its size and digest.
fn read_blob(cx: &Cx, src: &Source, d: &Descriptor, what: &str, limit: u64) -> Result<Vec<u8>> {
    let hex = digest_hex(cx, what, &d.digest)?;
    let name = format!("blobs/sha256/{hex}");
    if d.size > limit {
        return Err(InventoryError::TooLarge {
            path: format!("{}: {name} ({what})", cx.archive),
            size: d.size,
            limit,
        });
    }
    let bytes = src
        .read_small(cx, &name, limit)?
        .ok_or_else(|| cx.parse(format!("{what} {name} is missing from the layout")))?;
    if bytes.len() as u64 != d.size {
        return Err(cx.parse(format!(
            "{what} {name}: {} bytes, but its descriptor says {}",
            bytes.len(),
            d.size
        )));
    }
    let got = sha256_hex(&bytes);
    if got != hex {
        return Err(cx.parse(format!(
            "{what} {name}: content does not match its digest (SHA-256 is {got})"
        )));
    }
    Ok(bytes)
}

/// The image names a descriptor's annotations give.
fn ref_names(d: &Descriptor) -> Vec<String> {
    let Some(a) = &d.annotations else {
        return Vec::new();
    };
    if let Some(n) = a.get("io.containerd.image.name") {
        return vec![n.clone()];
    }
    a.get("org.opencontainers.image.ref.name")
        .cloned()
        .into_iter()
        .collect()
}

/// A walk from index.json down to image manifests.
struct Walk<'a> {
    cx: &'a Cx,
    src: &'a Source,
    opts: &'a ImageOptions,
    seen: usize,
    out: Vec<Candidate>,
}

impl Walk<'_> {
    fn descend(&mut self, descs: &[Descriptor], names: &[String], depth: usize) -> Result<()> {
        let (cx, src, opts) = (self.cx, self.src, self.opts);
        if depth > 4 {
            return Err(cx.parse("image indexes nested more than 4 deep"));
        }
        for d in descs {
            self.seen += 1;
            if self.seen > 1024 {
                return Err(cx.parse("more than 1024 manifests in the layout"));
            }
            if d.annotations
                .as_ref()
                .and_then(|a| a.get("vnd.docker.reference.type"))
                .is_some_and(|t| t == "attestation-manifest")
                || d.platform.as_ref().is_some_and(|p| p.os == "unknown")
            {
                continue;
            }
            let mut here = ref_names(d);
            if here.is_empty() {
                here = names.to_vec();
            }
            let bytes = read_blob(cx, src, d, "manifest", opts.max_metadata_bytes)?;
            let m: OciManifest = serde_json::from_slice(&bytes)
                .map_err(|e| cx.parse(format!("manifest {}: invalid JSON: {e}", d.digest)))?;
            let is_index = d
                .media_type
                .as_deref()
                .is_some_and(|t| INDEX_TYPES.contains(&t))
                || m.media_type
                    .as_deref()
                    .is_some_and(|t| INDEX_TYPES.contains(&t))
                || (m.manifests.is_some() && m.config.is_none());
            if is_index {
                let nested = m.manifests.unwrap_or_default();
                self.descend(&nested, &here, depth + 1)?;
                continue;
            }
            let Some(config) = &m.config else { continue };
            // Artifacts (signatures, SBOMs, charts) have other config types.
            if config
                .media_type
                .as_deref()
                .is_some_and(|t| !CONFIG_TYPES.contains(&t))
            {
                continue;
            }
            if let Some(c) = self.out.iter_mut().find(|c| c.digest == d.digest) {
                c.names.extend(here);
                continue;
            }
            self.out.push(Candidate {
                digest: d.digest.clone(),
                manifest: m,
                platform: d.platform.clone(),
                names: here,
            });
        }
        Ok(())
    }
}

/// The platform this program runs on, as OCI names it.
fn host_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "arm" => "arm",
        other => other,
    };
    format!("linux/{arch}")
}

fn oci_plan(cx: &Cx, src: &Source, opts: &ImageOptions) -> Result<Plan> {
    if let Some(layout) = src.read_small(cx, "oci-layout", 64 * 1024)? {
        #[derive(Deserialize)]
        struct Layout {
            #[serde(rename = "imageLayoutVersion")]
            version: String,
        }
        let l: Layout = serde_json::from_slice(&layout)
            .map_err(|e| cx.parse(format!("oci-layout: invalid JSON: {e}")))?;
        if !l.version.starts_with("1.") {
            return Err(cx.parse(format!(
                "oci-layout: unsupported imageLayoutVersion {:?}",
                l.version
            )));
        }
    }
    let index_bytes = src
        .read_small(cx, "index.json", opts.max_metadata_bytes)?
        .ok_or_else(|| cx.parse("index.json is missing"))?;
    let index: OciIndex = serde_json::from_slice(&index_bytes)
        .map_err(|e| cx.parse(format!("index.json: invalid JSON: {e}")))?;
    let mut walk = Walk {
        cx,
        src,
        opts,
        seen: 0,
        out: Vec::new(),
    };
    walk.descend(&index.manifests, &[], 0)?;
    let mut cands = walk.out;
    if let Some(want) = &opts.reference {
        cands.retain(|c| c.names.iter().any(|n| n == want || tag_matches(n, want)));
        if cands.is_empty() {
            return Err(cx.parse(format!("index.json names no image {want:?}")));
        }
    }
    if let Some(want) = &opts.platform {
        cands.retain(|c| c.platform.as_ref().is_none_or(|p| p.matches(want)));
        if cands.is_empty() {
            return Err(cx.parse(format!("the layout has no image for platform {want:?}")));
        }
    }
    if cands.len() > 1 && opts.platform.is_none() {
        let host = host_platform();
        if cands
            .iter()
            .any(|c| c.platform.as_ref().is_some_and(|p| p.matches(&host)))
        {
            cands.retain(|c| c.platform.as_ref().is_some_and(|p| p.matches(&host)));
        }
    }
    let chosen = match cands.len() {
        0 => return Err(cx.parse("index.json leads to no image manifest")),
        1 => cands.remove(0),
        n => {
            let list: Vec<String> = cands
                .iter()
                .map(|c| {
                    let p = c
                        .platform
                        .as_ref()
                        .map_or_else(|| "any platform".into(), Platform::describe);
                    format!(
                        "{} ({p}{})",
                        c.digest,
                        c.names
                            .first()
                            .map(|n| format!(", {n}"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            return Err(cx.parse(format!(
                "the layout holds {n} images: {}; choose one with ImageOptions::platform or ::reference",
                list.join("; ")
            )));
        }
    };
    let Some(config_desc) = &chosen.manifest.config else {
        return Err(cx.parse(format!("manifest {}: no config", chosen.digest)));
    };
    let config = read_blob(
        cx,
        src,
        config_desc,
        "image config",
        opts.max_metadata_bytes,
    )?;
    let config_name = format!(
        "blobs/sha256/{}",
        digest_hex(cx, "image config", &config_desc.digest)?
    );
    let diff_ids = diff_ids(cx, &config_name, &config)?;
    let layer_descs = &chosen.manifest.layers;
    if layer_descs.len() != diff_ids.len() {
        return Err(cx.parse(format!(
            "manifest {} lists {} layers but its config has {} diff ids",
            chosen.digest,
            layer_descs.len(),
            diff_ids.len()
        )));
    }
    let mut layers = Vec::new();
    for (d, diff_id) in layer_descs.iter().zip(&diff_ids) {
        let hex = digest_hex(cx, "layer", &d.digest)?;
        if let Some(t) = &d.media_type
            && t.contains("encrypted")
        {
            return Err(cx.parse(format!(
                "layer {}: encrypted layers ({t}) are not supported",
                d.digest
            )));
        }
        layers.push(LayerRef {
            name: format!("blobs/sha256/{hex}"),
            digest: Some(hex.to_owned()),
            size: Some(d.size),
            diff_id: diff_id.clone(),
            media_type: d.media_type.clone(),
        });
    }
    let mut repo_tags = chosen.names;
    repo_tags.sort();
    repo_tags.dedup();
    Ok(Plan {
        info: ImageInfo {
            id: config_desc.digest.clone(),
            repo_tags,
            layers: diff_ids,
        },
        layers,
        format: "OCI layout",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise() {
        assert_eq!(archive_name("./blobs/sha256/x"), "blobs/sha256/x");
        assert_eq!(archive_name("/a/../../b//c/."), "b/c");
    }

    #[test]
    fn tags() {
        assert!(tag_matches("alpine:3.19", "docker.io/library/alpine:3.19"));
        assert!(tag_matches("alpine:latest", "alpine"));
        assert!(tag_matches("ghcr.io/x/y:1", "ghcr.io/x/y:1"));
        assert!(!tag_matches("alpine:3.19", "alpine:3.20"));
        assert!(tag_matches("localhost:5000/a", "localhost:5000/a:latest"));
    }

    #[test]
    fn platforms() {
        let p = Platform {
            os: "linux".into(),
            architecture: "arm".into(),
            variant: Some("v7".into()),
        };
        assert!(p.matches("linux"));
        assert!(p.matches("linux/arm"));
        assert!(p.matches("linux/arm/v7"));
        assert!(!p.matches("linux/arm/v6"));
        assert!(!p.matches("linux/amd64"));
    }
}
