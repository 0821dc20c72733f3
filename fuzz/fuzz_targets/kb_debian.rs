#![no_main]
//! The Debian tracker importer on an untrusted `data/CVE/list` in a
//! minimal tracker checkout: never panics.

use std::path::PathBuf;

use kensa_kb::feeds::debian;
use kensa_kb::model::Record;
use libfuzzer_sys::fuzz_target;

const DISTRIBUTIONS: &str = r#"{
  "bullseye": {"major-version": "11", "support": "lts"},
  "bookworm": {"major-version": "12", "support": "security"}
}"#;

fn root() -> Option<PathBuf> {
    let root = std::env::temp_dir().join(format!("kensa-fuzz-kb-debian-{}", std::process::id()));
    std::fs::create_dir_all(root.join("data/CVE")).ok()?;
    std::fs::create_dir_all(root.join("static")).ok()?;
    std::fs::write(root.join("static/distributions.json"), DISTRIBUTIONS).ok()?;
    Some(root)
}

fuzz_target!(|data: &[u8]| {
    let Some(root) = root() else {
        return;
    };
    if std::fs::write(root.join("data/CVE/list"), data).is_err() {
        return;
    }
    let mut out: Vec<Record> = Vec::new();
    let _ = debian::import(&root, &mut out);
});
