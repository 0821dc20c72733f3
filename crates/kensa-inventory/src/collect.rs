//! Running the collectors over a host, a root directory or an image, and
//! assembling the document.

use std::path::{Path, PathBuf};

use crate::fs::DirRoot;
use crate::model::{self, Inventory, Package, PackageKind};
use crate::{
    Found, InventoryError, Result, apk, dpkg, fs, host, image, kernel, lang, net, os, purl, rpm,
};

/// What is being inventoried.
#[derive(Clone, Debug)]
pub enum Target {
    /// The running host: `/` plus live facts (running kernel, sockets,
    /// interfaces).
    Host,
    /// A mounted root filesystem, files only.
    Root(PathBuf),
    /// A container image archive: a `docker save` tarball or an OCI image
    /// layout (directory or tar).
    Image(PathBuf),
}

/// Inventory a host, a root directory or an image.
pub fn collect(target: &Target) -> Result<Inventory> {
    let started = std::time::SystemTime::now();
    let clock = std::time::Instant::now();
    let mut inv = match target {
        Target::Host => {
            let mut inv = collect_root(&DirRoot::new("/")?, true);
            inv.source = model::Source {
                kind: model::SourceKind::Host,
                path: "/".into(),
                image: None,
            };
            inv
        }
        Target::Root(p) => {
            let mut inv = collect_root(&DirRoot::new(p)?, false);
            inv.source = model::Source {
                kind: model::SourceKind::Root,
                path: p.display().to_string(),
                image: None,
            };
            inv
        }
        Target::Image(p) => collect_image(p, &image::ImageOptions::default())?,
    };
    inv.collection = model::Collection {
        collector: "kensa".into(),
        collector_version: env!("CARGO_PKG_VERSION").into(),
        started_at: humantime::format_rfc3339_seconds(started).to_string(),
        duration_ms: clock.elapsed().as_millis() as u64,
    };
    Ok(inv)
}

/// Run every collector on `root`. `live` adds the facts only a running host
/// has. The result is normalised (sorted) but has no source or collection
/// block: the caller knows those.
pub fn collect_root(root: &dyn fs::Root, live: bool) -> Inventory {
    collect_root_with(root, live, Found::default())
}

/// [`collect_root`] with packages and problems already gathered elsewhere
/// (the agentless collector's `rpm -qa` answer): they get their purls and
/// count for kernels exactly as the ones read from files.
pub fn collect_root_with(root: &dyn fs::Root, live: bool, mut found: Found) -> Inventory {
    let os = match os::identify(root) {
        Ok(os) => os,
        Err(e) => {
            found.problem(e);
            None
        }
    };
    dpkg::collect(root, &mut found);
    apk::collect(root, &mut found);
    rpm::collect(root, &mut found);
    lang::collect(root, &mut found);
    if let Some(os) = &os {
        require_os_packages(os, &mut found);
    }
    for p in &mut found.packages {
        p.purl = os_purl(p, os.as_ref());
    }
    let kernels = match kernel::collect(root, &found.packages, live) {
        Ok(k) => k,
        Err(e) => {
            found.problem(e);
            model::Kernels::default()
        }
    };
    let mut inv = Inventory {
        host: host::identify(root, live),
        os,
        packages: found.packages,
        kernels,
        listeners: if live {
            net::listeners(std::path::Path::new("/proc"))
        } else {
            Vec::new()
        },
        problems: found.problems,
        ..Inventory::default()
    };
    inv.normalise();
    inv
}

/// The package format an identified OS keeps its packages in, and where.
pub fn os_package_kind(os_id: &str) -> Option<(PackageKind, &'static str)> {
    match os_id {
        "debian" | "ubuntu" | "raspbian" | "linuxmint" | "pop" | "kali" => Some((
            PackageKind::Deb,
            "var/lib/dpkg/status (or var/lib/dpkg/status.d/)",
        )),
        "alpine" | "wolfi" | "chainguard" | "postmarketos" => {
            Some((PackageKind::Apk, apk::INSTALLED))
        }
        "rhel"
        | "centos"
        | "almalinux"
        | "rocky"
        | "ol"
        | "amzn"
        | "fedora"
        | "sles"
        | "sled"
        | "opensuse-leap"
        | "opensuse-tumbleweed"
        | "photon"
        | "mariner"
        | "azurelinux" => Some((
            PackageKind::Rpm,
            "rpmdb.sqlite, Packages.db or Packages in var/lib/rpm or usr/lib/sysimage/rpm",
        )),
        _ => None,
    }
}

/// An identified OS with no package of its own format read: either its
/// database is missing or it could not be read. Either way the document
/// knows nothing of the OS packages, which must not pass for a system with
/// nothing installed.
fn require_os_packages(os: &model::Os, found: &mut Found) {
    let Some((kind, place)) = os_package_kind(&os.id) else {
        return;
    };
    if found.packages.iter().any(|p| p.kind == Some(kind)) {
        return;
    }
    let reasons: Vec<String> = found
        .problems
        .iter()
        .filter(|p| p.impact == model::Impact::Partial)
        .map(|p| format!("{}: {}", p.path, p.message))
        .collect();
    let already = found
        .problems
        .iter()
        .any(|p| p.impact == model::Impact::NoOsPackages);
    if already {
        return;
    }
    let kind_name = match kind {
        PackageKind::Deb => "dpkg",
        PackageKind::Apk => "apk",
        _ => "rpm",
    };
    found.unread(
        "",
        if reasons.is_empty() {
            format!(
                "{} {} keeps its packages in {place}: no {kind_name} database found, so its OS packages are unknown",
                os.id, os.release
            )
        } else {
            format!(
                "{} {}: no {kind_name} package could be read ({})",
                os.id,
                os.release,
                reasons.join("; ")
            )
        },
    );
}

/// The purl of an OS package: `pkg:deb/debian/…?arch=…&distro=debian-12`,
/// as purl-spec writes them for deb, rpm and apk.
pub fn os_purl(p: &Package, os: Option<&model::Os>) -> String {
    let (ty, version) = match p.kind {
        Some(PackageKind::Deb) => ("deb", p.version.clone()),
        Some(PackageKind::Rpm) => ("rpm", p.version.clone()),
        Some(PackageKind::Apk) => ("apk", p.version.clone()),
        _ => return p.purl.clone(),
    };
    let namespace = os.map(|o| o.id.as_str());
    let distro = os
        .map(|o| format!("{}-{}", o.id, o.release))
        .unwrap_or_default();
    let epoch = p.epoch.map(|e| e.to_string()).unwrap_or_default();
    let upstream = match (p.kind, &p.source_name, &p.source_version) {
        (Some(PackageKind::Rpm), Some(n), Some(v)) => format!("{n}-{v}.src.rpm"),
        (Some(PackageKind::Rpm), _, _) => String::new(),
        (_, Some(n), _) if n == &p.name => String::new(),
        (_, Some(n), Some(v)) => format!("{n}@{v}"),
        (_, Some(n), None) => n.clone(),
        _ => String::new(),
    };
    purl::purl(
        ty,
        namespace,
        &p.name,
        &version,
        &[
            ("arch", p.arch.as_deref().unwrap_or("")),
            ("distro", &distro),
            ("epoch", &epoch),
            ("upstream", &upstream),
        ],
    )
}

/// The package databases whose every version across an image's layers is
/// kept, to tell which layer introduced each package.
const TRACKED: &[&str] = &[
    dpkg::STATUS,
    apk::INSTALLED,
    "var/lib/rpm/rpmdb.sqlite",
    "var/lib/rpm/Packages.db",
    "var/lib/rpm/Packages",
    "usr/lib/sysimage/rpm/rpmdb.sqlite",
    "usr/lib/sysimage/rpm/Packages.db",
    "usr/lib/sysimage/rpm/Packages",
];

/// Whether a collector may read this image file, so that its content is
/// extracted: OS identity and package databases, and what the language
/// collectors read (executables only among binaries).
fn image_wants(path: &str, mode: u32) -> bool {
    const OS_FILES: &[&str] = &[
        "etc/os-release",
        "usr/lib/os-release",
        "etc/redhat-release",
        "etc/system-release",
        "etc/centos-release",
        "etc/oracle-release",
        "etc/alpine-release",
        "etc/lsb-release",
        "etc/debian_version",
        "etc/machine-id",
        "etc/hostname",
        "var/lib/dbus/machine-id",
    ];
    if OS_FILES.contains(&path) || TRACKED.contains(&path) {
        return true;
    }
    if path.starts_with("var/lib/dpkg/status.d/")
        || rpm::DB_DIRS
            .iter()
            .any(|d| path.strip_prefix(d).is_some_and(|r| r.starts_with('/')))
    {
        return true;
    }
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    if lang::pruned(dir) {
        return false;
    }
    match lang::classify(dir, name) {
        Some(lang::Kind::Binary) => mode & 0o111 != 0,
        Some(_) => true,
        None => false,
    }
}

/// Inventory a container image: its layers are applied into a temporary
/// directory (only the files collectors read get content), the collectors
/// run on the merged tree, and each package is attributed to the layer
/// that introduced it.
pub fn collect_image(archive: &Path, opts: &image::ImageOptions) -> Result<Inventory> {
    let scratch = tempfile::Builder::new()
        .prefix("kensa-image-")
        .tempdir()
        .map_err(|source| InventoryError::Io {
            path: std::env::temp_dir(),
            source,
        })?;
    let wanted = |path: &str, _size: u64, mode: u32| image_wants(path, mode);
    let img = image::open(archive, scratch.path(), &wanted, TRACKED, opts)?;
    let root = img.root()?;
    let mut inv = collect_root(&root, false);
    inv.problems.extend(img.warnings().iter().cloned());
    attribute_layers(&img, &mut inv.packages);
    inv.source = model::Source {
        kind: model::SourceKind::Image,
        path: archive.display().to_string(),
        image: Some(img.info().clone()),
    };
    inv.normalise();
    Ok(inv)
}

/// The layer that introduced each package: for a package read from a
/// tracked database, the first layer of the last unbroken run of database
/// versions that list it (a package removed and reinstalled later belongs
/// to the later layer); for any other package, the layer that last wrote
/// its file.
fn attribute_layers(img: &image::Image, packages: &mut [Package]) {
    use std::collections::{HashMap, HashSet};
    type Key = (String, String, Option<String>);
    let key = |p: &Package| -> Key { (p.name.clone(), p.version.clone(), p.arch.clone()) };
    let mut introduced: HashMap<&str, HashMap<Key, usize>> = HashMap::new();
    for &db in TRACKED {
        let Ok(history) = img.history(db) else {
            continue;
        };
        if history.is_empty() {
            continue;
        }
        let mut first_seen: HashMap<Key, usize> = HashMap::new();
        let mut previous: HashSet<Key> = HashSet::new();
        for (layer, content) in history {
            let mut found = Found::default();
            if let Some(bytes) = content {
                parse_database(db, &bytes, &mut found);
            }
            let now: HashSet<Key> = found.packages.iter().map(key).collect();
            for k in &now {
                if !previous.contains(k) {
                    first_seen.insert(k.clone(), layer);
                }
            }
            first_seen.retain(|k, _| now.contains(k));
            previous = now;
        }
        introduced.insert(db, first_seen);
    }
    for p in packages {
        let layer = introduced
            .get(p.path.as_str())
            .and_then(|m| m.get(&key(p)).copied())
            .or_else(|| img.layer_of(p.path.split("!/").next().unwrap_or(&p.path)));
        p.layer = layer.and_then(|l| img.layer_id(l)).map(str::to_owned);
    }
}

/// Parse one version of a tracked package database.
fn parse_database(path: &str, bytes: &[u8], found: &mut Found) {
    let text = || String::from_utf8_lossy(bytes);
    if path == dpkg::STATUS {
        dpkg::parse_status(&text(), path, found);
    } else if path == apk::INSTALLED {
        apk::parse_installed(&text(), path, found);
    } else if let Some(backend) = rpm::Backend::ALL
        .iter()
        .find(|b| path.ends_with(b.file_name()))
    {
        rpm::read_database(*backend, path, bytes, None, found);
    }
}
