//! Shared by the `kensa` binary's integration tests.
#![allow(dead_code)] // each test file uses some of these

use std::path::Path;

/// The knowledge base, built once per test process from the data folder
/// (`kensa_testkit`'s builder, the import `kensa db import` runs).
pub fn kb() -> &'static Path {
    kensa_testkit::kb::shared()
}

pub fn utf8(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
pub mod server;
