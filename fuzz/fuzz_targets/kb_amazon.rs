#![no_main]
//! The Amazon Linux importer on one untrusted `updateinfo.xml`: never
//! panics.

use kensa_kb::feeds::amazon;
use kensa_kb::model::Record;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("kensa-fuzz-kb-amazon-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("updateinfo.xml");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let mut out: Vec<Record> = Vec::new();
    let _ = amazon::import(&path, &mut out);
    let _ = amazon::import_as(&path, "amzn:2023", &mut out);
});
