//! The crate's integration tests, one binary: linking one test executable
//! instead of one per file is most of what a clean test build costs.

#[macro_use]
mod common;
mod atomicity;
mod console;
mod export;
mod ingest;
mod inventories;
mod lifecycle;
mod migrations;
mod notify;
mod open_counts;
mod pg_tls;
mod query;
mod queue;
mod register;
mod review;
mod schema_parity;
mod triage;
mod users;
