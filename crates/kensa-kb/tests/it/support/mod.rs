//! What several test modules share.
#![allow(dead_code)]

pub mod http_mirror;
pub mod records;
