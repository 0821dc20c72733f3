#![no_main]
//! The OVAL importer on one untrusted XML file: never panics.

use kensa_kb::feeds::oval;
use kensa_kb::model::Record;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("kensa-fuzz-kb-oval-{}.xml", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let mut out: Vec<Record> = Vec::new();
    let _ = oval::import(&path, &mut out);
});
