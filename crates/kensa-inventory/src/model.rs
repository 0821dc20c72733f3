//! The inventory document: what one collection found on one host, root
//! filesystem or image. Its JSON form is versioned and documented in
//! `docs/inventory-schema.md`; it is deterministic (every list sorted, no
//! maps with unordered keys), so that the server can hash and diff it. Only
//! the `collection` block (timestamps, duration) changes between two
//! collections of the same input, and [`Inventory::content_hash`] leaves it
//! out.

use serde::{Deserialize, Serialize};

/// Bumped on any incompatible change of the document.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    pub schema_version: u32,
    pub collection: Collection,
    pub source: Source,
    pub host: Host,
    pub os: Option<Os>,
    pub packages: Vec<Package>,
    pub kernels: Kernels,
    pub listeners: Vec<Listener>,
    /// Files that could not be read or parsed, with why. A problem in one
    /// database never hides the packages found in the others.
    pub problems: Vec<Problem>,
}

/// Who collected, and when. Excluded from the content hash.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collection {
    pub collector: String,
    pub collector_version: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub duration_ms: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// The running host (`/`), with live-only facts (running kernel, sockets).
    #[default]
    Host,
    /// A mounted root filesystem, read as files only.
    Root,
    /// A container image archive (`docker save` tarball or OCI layout).
    Image,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub kind: SourceKind,
    /// The root directory or image file given to the collector.
    pub path: String,
    pub image: Option<ImageInfo>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    /// The image config digest (`sha256:…`), the image's identity.
    pub id: String,
    pub repo_tags: Vec<String>,
    /// Layer diff ids in order, bottom first.
    pub layers: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    /// `/etc/machine-id` (systemd) or `/var/lib/dbus/machine-id`.
    pub machine_id: Option<String>,
    pub hostname: Option<String>,
    /// Addresses of the host's interfaces, sorted, loopback excluded.
    pub ips: Vec<String>,
    /// A cloud instance id when the host exposes one without a network call
    /// (DMI board asset tag or system UUID as cloud providers set them).
    pub cloud_instance_id: Option<String>,
}

/// The operating system, normalised.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Os {
    /// Normalised distribution id: `debian`, `ubuntu`, `amzn`, `rhel`,
    /// `rocky`, `almalinux`, `ol`, `centos`, `alpine`, `sles`,
    /// `opensuse-leap`, `fedora`, `photon`, `wolfi`, `chainguard`,
    /// `mariner`, `azurelinux`, ...
    pub id: String,
    /// Normalised release as vendors key their advisories: `12` (Debian),
    /// `22.04` (Ubuntu), `2` or `2023` (Amazon Linux), `9` (RHEL family
    /// major), `3.19` (Alpine minor), `15.5` (SUSE).
    pub release: String,
    /// The exact version the system states (`12.5`, `9.3`, `3.19.1`).
    pub version: Option<String>,
    /// Code name where there is one (`bookworm`, `jammy`).
    pub codename: Option<String>,
    pub pretty_name: Option<String>,
    /// A build of the distribution that is not the distribution itself,
    /// such as `distroless` (Debian packages, no package manager).
    pub variant: Option<String>,
    /// The file the identification came from (`etc/os-release`, ...).
    pub source_file: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageKind {
    Deb,
    Rpm,
    Apk,
    Python,
    Npm,
    Go,
    Cargo,
    Maven,
    Gem,
    Composer,
}

/// One installed package. OS packages carry their source package, because
/// Debian, Ubuntu and Alpine advisories are keyed by it; language packages
/// carry the file they were found in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub kind: Option<PackageKind>,
    pub name: String,
    /// The version as the ecosystem writes it: for deb the full
    /// `[epoch:]upstream[-revision]`, for rpm `version-release` (epoch
    /// separate), for apk `1.2.3-r4`.
    pub version: String,
    /// rpm epoch (`None` when the header has none; detection treats it as 0).
    pub epoch: Option<u32>,
    /// rpm release.
    pub release: Option<String>,
    pub arch: Option<String>,
    /// Source package name: deb `Source:`, rpm source RPM name, apk origin.
    pub source_name: Option<String>,
    /// Source package version when it differs from the binary's (deb
    /// `Source: name (version)`, rpm source RPM version-release).
    pub source_version: Option<String>,
    pub vendor: Option<String>,
    pub maintainer: Option<String>,
    /// rpm modularity label (`name:stream:version:context`).
    pub modularity_label: Option<String>,
    /// Unix seconds.
    pub install_time: Option<i64>,
    /// Package URL (purl-spec).
    pub purl: String,
    /// The file the package was read from, relative to the root (`/`-
    /// separated, no leading slash): the database for OS packages, the
    /// metadata file or binary for language packages.
    pub path: String,
    /// The image layer (diff id) that introduced the package, for images.
    pub layer: Option<String>,
}

impl Package {
    /// The deterministic order of packages in a document.
    pub fn sort_key(&self) -> impl Ord + '_ {
        (
            self.kind,
            &self.name,
            &self.version,
            self.epoch,
            &self.release,
            &self.arch,
            &self.path,
        )
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kernels {
    /// Installed kernel packages' versions, as `uname -r` would print them
    /// when known (from `/boot` or `/lib/modules`), sorted.
    pub installed: Vec<String>,
    /// The running kernel's release (`uname -r`), on a live host only.
    pub running: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Listener {
    /// `tcp` or `udp`.
    pub protocol: String,
    pub address: String,
    pub port: u16,
    /// Bound to every interface (`0.0.0.0` or `::`): reachable from the
    /// network unless a firewall says otherwise.
    pub all_interfaces: bool,
    /// Bound to a loopback address only.
    pub loopback: bool,
    pub process: Option<String>,
    pub pid: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Problem {
    pub path: String,
    pub message: String,
    /// What the problem cost. Absent from the JSON when `partial`, so that
    /// documents without such problems keep their bytes and hash.
    #[serde(default, skip_serializing_if = "Impact::is_partial")]
    pub impact: Impact,
}

impl Problem {
    /// Something was skipped; everything else was read.
    pub fn partial(path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            message: message.into(),
            impact: Impact::Partial,
        }
    }
}

/// How much of the inventory a problem leaves unknown.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    /// A record, file or directory was skipped; the rest was read.
    #[default]
    Partial,
    /// The OS package database could not be read at all (missing for an
    /// identified OS, unreadable, or no package from non-empty content):
    /// the document says nothing about the OS packages, so a scan of it
    /// must not say "nothing to fix".
    NoOsPackages,
}

impl Impact {
    fn is_partial(&self) -> bool {
        *self == Impact::Partial
    }
}

impl Inventory {
    /// The problems that leave the OS packages unknown (see
    /// [`Impact::NoOsPackages`]).
    pub fn os_packages_unread(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| p.impact == Impact::NoOsPackages)
    }

    /// Put every list in its canonical order.
    pub fn normalise(&mut self) {
        self.schema_version = SCHEMA_VERSION;
        self.packages
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        self.packages.dedup();
        self.kernels.installed.sort();
        self.kernels.installed.dedup();
        self.listeners.sort();
        self.listeners.dedup();
        self.problems.sort();
        self.host.ips.sort();
        self.host.ips.dedup();
        if let Some(image) = &mut self.source.image {
            image.repo_tags.sort();
        }
    }

    /// The canonical JSON bytes of the document without its `collection`
    /// block: equal inputs give equal bytes.
    pub fn content_bytes(&self) -> Vec<u8> {
        let mut copy = self.clone();
        copy.collection = Collection::default();
        copy.normalise();
        serde_json::to_vec(&copy).unwrap_or_default()
    }

    /// `sha256:` and the hex SHA-256 of [`Inventory::content_bytes`]: what
    /// an agent sends first to learn whether the server needs the document.
    pub fn content_hash(&self) -> String {
        content_hash_of(&self.content_bytes())
    }
}

/// `sha256:` and the hex SHA-256 of `bytes`: [`Inventory::content_hash`]
/// when they are [`Inventory::content_bytes`]. Agents send those very
/// bytes, so that the server can check a report by hashing its body
/// instead of parsing and serialising it again.
pub fn content_hash_of(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}
