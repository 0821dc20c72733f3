#![no_main]
//! The read-only SQLite reader for `rpmdb.sqlite`, alone and with the second
//! half of the input as its write-ahead log: never panics.

use kensa_inventory::rpm::{header, sqlite};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mid = data.len() / 2;
    for (db, wal) in [(data, None), (&data[..mid], Some(&data[mid..]))] {
        if let Ok(records) = sqlite::read(db, wal) {
            for (_, blob) in &records.headers {
                let _ = header::read_info(blob);
            }
        }
    }
});
