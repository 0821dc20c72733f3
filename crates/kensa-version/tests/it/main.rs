//! The crate's integration tests, one binary: linking one test executable
//! instead of one per file is most of what a clean test build costs.

mod apk_cases;
mod differential_dpkg;
mod differential_maven;
mod differential_pep440;
mod differential_pep503;
mod differential_rpm;
mod differential_rubygems;
mod differential_semver;
mod go_nuget_cases;
mod osv_ranges;
mod total_order;
