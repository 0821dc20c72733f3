//! The crate's integration tests, one binary.

mod errors;
mod missing;
mod rules_file;
mod scenarios;
mod support;
