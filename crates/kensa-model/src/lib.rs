//! The scan report's data types: what detection produces and the fleet
//! database stores. They live apart from `kensa-detect` so that the
//! database and the server can hold findings without compiling the
//! knowledge base (its feed parsers, HTTP client and TLS stack).
//! `kensa-detect` re-exports them under their old paths.

pub mod eol;
pub mod finding;

pub use crate::eol::OsEol;
pub use crate::finding::*;
