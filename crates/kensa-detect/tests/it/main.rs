//! The crate's integration tests, one binary: linking one test executable
//! instead of one per file is most of what a clean test build costs.

mod dropped;
mod eol_dates;
mod errata;
mod traps;
mod vendor_oval;
