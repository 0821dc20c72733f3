//! The crate's integration tests, one binary: linking one test executable
//! instead of one per file is most of what a clean test build costs.

mod agent_cli;
mod cli_agentless;
mod cli_db;
mod cli_export;
mod cli_inventory;
mod cli_logs;
mod cli_reference;
mod cli_scan;
mod cli_up;
mod cli_update;
mod cli_version;
mod dist;
mod dropped;
mod false_clean;
mod fleet_faults;
mod reports;
mod scan_truth;
mod schemas;
mod support;
