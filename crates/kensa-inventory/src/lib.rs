//! Exactly what is installed on a host, a root filesystem or a container
//! image, as one canonical [`Inventory`] document.
//!
//! Collectors read through a [`fs::Root`], never the host paths directly,
//! so that the same code reads the running host, a mounted disk and an
//! image's merged layers, and so that nothing outside the root is ever
//! read. Everything is read-only. A collector that fails records a
//! [`model::Problem`] naming the file and carries on: one corrupt database
//! never hides the packages of the others.

pub mod apk;
mod collect;
pub mod dpkg;
pub mod error;
pub mod fs;
pub mod host;
pub mod image;
pub mod kernel;
pub mod lang;
pub mod model;
pub mod net;
pub mod os;
pub mod purl;
pub mod rpm;

pub use error::{InventoryError, Result};
pub use model::{Impact, Inventory, Package, PackageKind, Problem};

/// Packages and problems gathered by the collectors of one root.
#[derive(Debug, Default)]
pub struct Found {
    pub packages: Vec<Package>,
    pub problems: Vec<Problem>,
}

impl Found {
    /// Record a collector's failure without stopping the others.
    pub fn problem(&mut self, e: InventoryError) {
        let (path, message) = match &e {
            InventoryError::Io { path, source } => (path.display().to_string(), source.to_string()),
            InventoryError::Parse { path, message } | InventoryError::Unsafe { path, message } => {
                (path.clone(), message.clone())
            }
            InventoryError::TooLarge { path, .. } => (path.clone(), e.to_string()),
        };
        self.problems.push(Problem::partial(path, message));
    }

    /// Record that an OS package database gave nothing (see
    /// [`model::Impact::NoOsPackages`]).
    pub fn unread(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.into(),
            message: message.into(),
            impact: model::Impact::NoOsPackages,
        });
    }

    /// Whether a database whose content was `bytes` long and that added
    /// packages from `before` on gave nothing, and if so say so: content
    /// that yields no package is not an empty system, it is a database
    /// Kensa could not read.
    pub fn check_yield(&mut self, path: &str, content: &[u8], before: usize, what: &str) {
        let blank = content.iter().all(u8::is_ascii_whitespace);
        if !blank && self.packages.len() == before {
            self.unread(
                path,
                format!(
                    "{} bytes, but no package could be read from them: damaged, or not in the {what} format",
                    content.len()
                ),
            );
        }
    }
}

pub use collect::{Target, collect, collect_root, collect_root_with, os_package_kind, os_purl};
