//! PLACEHOLDER: being written; every comparison fails until then.

use std::cmp::Ordering;

use crate::{Ecosystem, VersionError};

pub fn compare_npm(a: &str, _b: &str) -> Result<Ordering, VersionError> {
    Err(VersionError::new(Ecosystem::Npm, a, "not implemented yet"))
}
pub fn validate_npm(v: &str) -> Result<(), VersionError> {
    Err(VersionError::new(Ecosystem::Npm, v, "not implemented yet"))
}
pub fn compare_cargo(a: &str, _b: &str) -> Result<Ordering, VersionError> {
    Err(VersionError::new(
        Ecosystem::Cargo,
        a,
        "not implemented yet",
    ))
}
pub fn validate_cargo(v: &str) -> Result<(), VersionError> {
    Err(VersionError::new(
        Ecosystem::Cargo,
        v,
        "not implemented yet",
    ))
}
