#![no_main]
//! The NDB `Packages.db` reader and the headers it yields: never panics.

use kensa_inventory::rpm::{header, ndb};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(records) = ndb::read(data) {
        for (_, blob) in &records.headers {
            let _ = header::read_info(blob);
        }
    }
});
