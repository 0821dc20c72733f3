//! The crate's integration tests, one binary: linking one test executable
//! instead of one per file is most of what a clean test build costs.

mod agentless;
mod agents_console;
mod assets;
mod console_e2e;
mod detection;
mod export;
mod fleet;
mod load;
mod notify;
mod observe;
mod openapi;
mod reach;
mod register;
mod reviews;
mod rules;
mod schedule;
mod security;
mod support;
mod users;
