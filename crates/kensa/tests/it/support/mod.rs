//! Shared by the `kensa` binary's integration tests.
#![allow(dead_code)] // each test file uses some of these

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The knowledge base store, imported once per test process from the data
/// folder with `kensa db import`, as a user builds it.
pub fn kb() -> &'static Path {
    static KB: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &KB.get_or_init(|| {
        let dir = kensa_testkit::process_tempdir();
        let store = dir.path().join("kb");
        let o = Command::new(env!("CARGO_BIN_EXE_kensa"))
            .args(["db", "import", "--mirror"])
            .arg(kensa_testkit::data_dir())
            .arg("--store")
            .arg(&store)
            .output()
            .expect("kensa runs");
        assert!(
            o.status.success(),
            "kensa db import failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        (dir, store)
    })
    .1
}

pub fn utf8(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
pub mod server;
