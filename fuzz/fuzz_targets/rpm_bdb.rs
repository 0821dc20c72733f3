#![no_main]
//! The BerkeleyDB hash `Packages` reader and the headers it yields: never
//! panics, whatever the pages say.

use kensa_inventory::rpm::{bdb, header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(records) = bdb::read(data) {
        for (_, blob) in &records.headers {
            let _ = header::read_info(blob);
        }
    }
});
