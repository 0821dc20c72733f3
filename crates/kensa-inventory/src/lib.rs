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
pub use model::{Inventory, Package, PackageKind, Problem};

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
        self.problems.push(Problem { path, message });
    }
}

pub use collect::{Target, collect, collect_root, collect_root_with, os_purl};
