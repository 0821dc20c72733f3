//! Where an operating system stands against its vendor's support dates.
//! `kensa_detect::os_eol` computes it from the knowledge base.

use serde::{Deserialize, Serialize};

/// Where an operating system stands against its vendor's support dates,
/// for the fleet's asset records (the scan's finding says the same to a
/// reader; this says it to a program).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsEol {
    /// endoflife.date's product (`debian`, `alpine-linux`).
    pub product: String,
    pub cycle: String,
    /// End of regular security support, when announced.
    pub eol: Option<String>,
    /// Ended, even when no date is given.
    pub eol_reached: bool,
    pub extended_support: Option<String>,
    /// On the day it was computed: `supported`, `extended` (past the
    /// regular end, extended support still running) or `ended`.
    pub status: String,
}

impl OsEol {
    /// Whether regular support has ended by `today` (`YYYY-MM-DD`): dates
    /// move on after the record was computed, so callers ask again.
    pub fn ended_by(&self, today: &str) -> bool {
        self.eol_reached || self.eol.as_deref().is_some_and(|d| d < today)
    }
}
