//! PLACEHOLDER: being written; every comparison fails until then.

use std::cmp::Ordering;

use crate::{Ecosystem, VersionError};

pub fn compare(a: &str, _b: &str) -> Result<Ordering, VersionError> {
    Err(VersionError::new(Ecosystem::Dpkg, a, "not implemented yet"))
}

pub fn validate(v: &str) -> Result<(), VersionError> {
    Err(VersionError::new(Ecosystem::Dpkg, v, "not implemented yet"))
}
