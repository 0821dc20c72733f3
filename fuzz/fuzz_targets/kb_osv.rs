#![no_main]
//! The OSV importer on one untrusted JSON file in a directory: never panics.

use std::path::PathBuf;

use kensa_kb::feeds::osv;
use kensa_kb::model::Record;
use libfuzzer_sys::fuzz_target;

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("kensa-fuzz-kb-osv-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&d);
    d
}

fuzz_target!(|data: &[u8]| {
    let d = dir();
    if std::fs::write(d.join("record.json"), data).is_err() {
        return;
    }
    let mut out: Vec<Record> = Vec::new();
    let _ = osv::import(&d, &mut out);
});
