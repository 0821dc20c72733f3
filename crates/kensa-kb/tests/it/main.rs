//! The crate's integration tests, one binary: linking one test executable
//! instead of one per file is most of what a clean test build costs.

mod alpine;
mod amazon;
mod archives;
mod debian;
mod eol;
mod epss;
mod kev;
mod mirror;
mod nvd;
mod nvd_api;
mod osv;
mod oval;
mod oval_vendor;
mod redhat;
mod redhat_csaf;
mod rustsec;
mod store;
mod support;
mod update;
mod upstream_extracts;
