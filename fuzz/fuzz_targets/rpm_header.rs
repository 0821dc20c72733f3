#![no_main]
//! The rpm header blob parser: never panics, and every tag of a header that
//! parses can be read as a string and as an integer without panicking.

use kensa_inventory::rpm::header::{Header, read_info};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_info(data);
    if let Ok(h) = Header::parse(data) {
        for e in h.entries.clone() {
            let _ = h.string(e.tag);
            let _ = h.int32(e.tag);
        }
    }
});
