#![no_main]
//! The Red Hat CSAF VEX importer on one untrusted JSON document: never
//! panics.

use kensa_kb::feeds::redhat;
use kensa_kb::model::{FeedReport, Record};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut out: Vec<Record> = Vec::new();
    let mut report = FeedReport::default();
    redhat::import_text("cve-2024-0001.json", text, &mut out, &mut report);
});
