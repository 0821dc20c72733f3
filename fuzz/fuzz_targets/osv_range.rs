#![no_main]
//! The OSV range evaluator on arbitrary events: never panics.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kensa_fuzz::check_range(data));
