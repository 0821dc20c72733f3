//! Installed rpm packages, read from rpm's package database without librpm.
//!
//! rpm keeps one header blob per installed package ([`header`]) in one of
//! three database formats, chosen by the distribution:
//!
//! | file | format | used by |
//! |---|---|---|
//! | `rpmdb.sqlite` | SQLite ([`sqlite`]) | rpm ≥ 4.16: Fedora 33+, RHEL 9, Amazon Linux 2023, Mariner/Azure Linux |
//! | `Packages.db` | NDB ([`ndb`]) | SUSE: SLES 15 SP3+, openSUSE |
//! | `Packages` | BerkeleyDB hash ([`bdb`]) | RHEL/CentOS 7 and 8, Amazon Linux 2, older SUSE |
//!
//! The database directory is `var/lib/rpm` (most) or `usr/lib/sysimage/rpm`
//! (Fedora 36+, SUSE), usually with a symlink from one to the other; both
//! are looked at, a directory reached through a symlink after a real one,
//! and a database whose bytes were already read under the other name is
//! not read twice.
//!
//! In one directory the first database present, in the order above, is the
//! live one: stale files only ever remain from a migration to a newer
//! format (rpm itself, configured for the new backend, reads only that).
//! A database that cannot be read is a [`Problem`](crate::Problem) naming
//! it; a damaged record in it is a problem of its own, and the remaining
//! records are still read.
//!
//! The purl namespace (the distribution) is not known here; the caller that
//! knows the OS fills it in.

pub mod bdb;
pub mod header;
pub mod ndb;
pub mod sqlite;

use sha2::{Digest, Sha256};

use crate::fs::{EntryKind, Root};
use crate::model::{Package, PackageKind};
use crate::{Found, InventoryError};

/// Where rpm keeps its database, relative to the root.
pub const DB_DIRS: [&str; 2] = ["var/lib/rpm", "usr/lib/sysimage/rpm"];

/// The largest database file read (the largest real ones are a few hundred
/// MiB, on hosts with thousands of packages).
pub const MAX_DB_SIZE: u64 = 1 << 30;

/// The header blobs of one database file.
#[derive(Debug, Default)]
pub struct Records {
    /// (rpm's header number, header blob), in storage order.
    pub headers: Vec<(u32, Vec<u8>)>,
    /// Records or parts of the file that could not be read, with why; the
    /// rest of the file was still read.
    pub damaged: Vec<String>,
}

/// The database formats, in the order they are looked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Ndb,
    Bdb,
}

impl Backend {
    pub const ALL: [Backend; 3] = [Backend::Sqlite, Backend::Ndb, Backend::Bdb];

    /// The database's file name in the database directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Backend::Sqlite => "rpmdb.sqlite",
            Backend::Ndb => "Packages.db",
            Backend::Bdb => "Packages",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Backend::Sqlite => "rpm SQLite database",
            Backend::Ndb => "rpm NDB database",
            Backend::Bdb => "rpm BerkeleyDB database",
        }
    }

    /// Read the header blobs of a database file (`wal`: SQLite's
    /// write-ahead log, if any).
    pub fn read(self, data: &[u8], wal: Option<&[u8]>) -> Result<Records, String> {
        match self {
            Backend::Sqlite => sqlite::read(data, wal),
            Backend::Ndb => ndb::read(data),
            Backend::Bdb => bdb::read(data),
        }
    }
}

/// Collect the packages of every rpm database under the root.
pub fn collect(root: &dyn Root, found: &mut Found) {
    let mut dirs: Vec<(&str, bool)> = Vec::new();
    for dir in DB_DIRS {
        match is_symlink(root, dir) {
            Ok(link) => dirs.push((dir, link)),
            Err(e) => found.problem(e),
        }
    }
    // Real directories first, so that packages name the database by its
    // real path rather than by a link to it.
    dirs.sort_by_key(|&(_, link)| link);
    let mut seen: Vec<[u8; 32]> = Vec::new();
    for (dir, _) in dirs {
        for backend in Backend::ALL {
            let path = format!("{dir}/{}", backend.file_name());
            let data = match root.read(&path, MAX_DB_SIZE) {
                Ok(Some(d)) => d,
                Ok(None) => continue,
                Err(e) => {
                    found.problem(e);
                    break;
                }
            };
            let wal = if backend == Backend::Sqlite {
                match root.read(&format!("{path}-wal"), MAX_DB_SIZE) {
                    Ok(w) => w,
                    Err(e) => {
                        found.problem(e);
                        None
                    }
                }
            } else {
                None
            };
            let mut hash = Sha256::new();
            hash.update(&data);
            hash.update(wal.as_deref().unwrap_or_default());
            let digest: [u8; 32] = hash.finalize().into();
            if !seen.contains(&digest) {
                seen.push(digest);
                read_database(backend, &path, &data, wal.as_deref(), found);
            }
            break;
        }
    }
}

/// Whether the last component of `dir` is a symlink (read from its parent's
/// listing; intermediate links are resolved by the root).
fn is_symlink(root: &dyn Root, dir: &str) -> crate::Result<bool> {
    let (parent, name) = dir.rsplit_once('/').unwrap_or(("", dir));
    Ok(root
        .read_dir(parent)?
        .iter()
        .any(|e| e.name == name && e.kind == EntryKind::Symlink))
}

/// Read one database file's packages into `found`; `path` is its path
/// relative to the root, recorded on every package and problem.
pub fn read_database(
    backend: Backend,
    path: &str,
    data: &[u8],
    wal: Option<&[u8]>,
    found: &mut Found,
) {
    let records = match backend.read(data, wal) {
        Ok(r) => r,
        Err(e) => {
            found.unread(path, format!("{}: {e}", backend.label()));
            return;
        }
    };
    let before = found.packages.len();
    let mut pubkeys = 0;
    let entries = records.headers.len() + records.damaged.len();
    for e in records.damaged {
        found.problem(InventoryError::parse(
            path,
            format!("{}: {e}", backend.label()),
        ));
    }
    for (id, blob) in records.headers {
        match header::read_info(&blob) {
            Ok(Some(info)) => found.packages.push(package(info, path)),
            Ok(None) => pubkeys += 1,
            Err(e) => found.problem(InventoryError::parse(
                path,
                format!("package header {id}: {e}"),
            )),
        }
    }
    // Entries of which none could be read: a damaged database, not an
    // empty one (a valid database with no entries, or only `gpg-pubkey`
    // ones, is empty; an rpm system with it is caught by the OS check).
    if entries > 0 && pubkeys == 0 && found.packages.len() == before {
        found.unread(
            path,
            format!(
                "{}: {entries} entries, but no package header could be read",
                backend.label()
            ),
        );
    }
}

/// A source RPM file name `name-version-release.src.rpm` split into its
/// name and `version-release`.
pub fn split_source_rpm(file: &str) -> Option<(&str, &str)> {
    let stem = file
        .strip_suffix(".src.rpm")
        .or_else(|| file.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = stem.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    Some((name, &stem[name.len() + 1..]))
}

/// The canonical package of a header.
pub fn package(info: header::RpmInfo, path: &str) -> Package {
    let version = format!("{}-{}", info.version, info.release);
    let (source_name, source_version) = match info.source_rpm.as_deref().and_then(split_source_rpm)
    {
        Some((n, v)) => (Some(n.to_owned()), Some(v.to_owned())),
        None => (None, None),
    };
    let mut package = Package {
        kind: Some(PackageKind::Rpm),
        name: info.name,
        version,
        epoch: info.epoch,
        release: Some(info.release),
        arch: info.arch,
        source_name,
        source_version,
        vendor: info.vendor,
        maintainer: None,
        modularity_label: info.modularity_label,
        install_time: info.install_time.map(i64::from),
        purl: String::new(),
        path: path.to_owned(),
        layer: None,
    };
    // Without the OS (the caller adds it): `pkg:rpm/name@v-r?arch=…`.
    package.purl = crate::os_purl(&package, None);
    package
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_rpm_names() {
        assert_eq!(
            split_source_rpm("util-linux-2.32.1-42.el8_8.src.rpm"),
            Some(("util-linux", "2.32.1-42.el8_8"))
        );
        assert_eq!(split_source_rpm("a-1-2.nosrc.rpm"), Some(("a", "1-2")));
        assert_eq!(split_source_rpm("a-1.src.rpm"), None);
        assert_eq!(split_source_rpm("-1-2.src.rpm"), None);
        assert_eq!(split_source_rpm("a-1-2.rpm"), None);
    }

    #[test]
    fn package_fields_and_purl() {
        let info = header::RpmInfo {
            name: "ca-certificates-base".into(),
            epoch: Some(1),
            version: "2.0.0".into(),
            release: "1.cm2".into(),
            arch: Some("noarch".into()),
            source_rpm: Some("ca-certificates-2.0.0-1.cm2.src.rpm".into()),
            vendor: Some("Microsoft Corporation".into()),
            modularity_label: None,
            install_time: Some(1_650_000_000),
        };
        let p = package(info, "var/lib/rpm/rpmdb.sqlite");
        assert_eq!(p.version, "2.0.0-1.cm2");
        assert_eq!(p.source_name.as_deref(), Some("ca-certificates"));
        assert_eq!(p.source_version.as_deref(), Some("2.0.0-1.cm2"));
        assert_eq!(p.install_time, Some(1_650_000_000));
        assert_eq!(
            p.purl,
            "pkg:rpm/ca-certificates-base@2.0.0-1.cm2?arch=noarch&epoch=1&upstream=ca-certificates-2.0.0-1.cm2.src.rpm"
        );
    }
}
