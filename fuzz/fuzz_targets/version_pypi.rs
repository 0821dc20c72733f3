#![no_main]
//! The pypi version parser and comparator: never panics, and on valid input
//! the comparison is reflexive and antisymmetric.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kensa_fuzz::check_compare("pypi", data));
