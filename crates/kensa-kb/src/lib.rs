//! Kensa's vulnerability knowledge base: importers that read each real
//! feed as upstream publishes it into one normalised model
//! ([`model::Record`]), streaming into a [`model::Sink`]. Bad records are
//! counted and reported per feed ([`model::FeedReport`]), never silently
//! dropped and never fatal for the rest of the feed.

pub mod base;
mod cache;
pub mod catalog;
pub mod error;
pub mod feeds;
pub mod fetch;
pub mod mirror;
pub mod model;
pub mod nvd_api;
pub mod redhat_csaf;
pub mod update;

pub use base::{KnowledgeBase, KnowledgeBaseBuilder};
pub use error::{KbError, Result};
