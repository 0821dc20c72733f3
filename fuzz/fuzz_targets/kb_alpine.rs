#![no_main]
//! The Alpine secdb importer on one untrusted file, read as YAML and as
//! JSON: never panics.

use kensa_kb::feeds::alpine;
use kensa_kb::model::Record;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("kensa-fuzz-kb-alpine-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    for name in ["main.yaml", "main.json"] {
        let path = dir.join(name);
        if std::fs::write(&path, data).is_err() {
            return;
        }
        let mut out: Vec<Record> = Vec::new();
        let _ = alpine::import(&path, &mut out);
    }
});
