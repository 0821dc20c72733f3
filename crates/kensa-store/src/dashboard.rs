//! What the console's dashboard shows, each in one statement over the
//! findings table: counts of open findings by band (adjusted and base),
//! fixable and KEV, and the number of findings open at the end of each of
//! the last days.

use serde::Serialize;

use crate::error::Result;
use crate::sql::Val;
use crate::{Db, Mode};

/// The bands, most severe first, as findings store them.
pub const BANDS: [&str; 6] = [
    "CRITICAL",
    "HIGH",
    "MEDIUM",
    "LOW",
    "INFORMATIONAL",
    "UNTRIAGED",
];

/// Counts over the ACTIVE findings.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct OpenCounts {
    /// Per band of [`BANDS`], by the exposure-adjusted severity.
    pub adjusted: [u64; 6],
    /// Per band of [`BANDS`], by the CVSS v3 base score the adjusted score
    /// starts from (`UNTRIAGED` when the finding has none).
    pub base: [u64; 6],
    pub fixable: u64,
    pub kev: u64,
    pub total: u64,
}

impl Db {
    /// Counts of the ACTIVE findings (see [`OpenCounts`]), read from one
    /// covering index (migration 6): the rows themselves are never read.
    pub fn open_counts(&self) -> Result<OpenCounts> {
        let sql = "SELECT f.severity_rank, f.base_rank, COUNT(*), \
             SUM(CASE WHEN f.fix_available THEN 1 ELSE 0 END), \
             SUM(CASE WHEN f.kev THEN 1 ELSE 0 END) \
             FROM findings f WHERE f.status = 'ACTIVE' GROUP BY f.severity_rank, f.base_rank";
        self.tx("dashboard counts", Mode::Read, |tx| {
            let mut out = OpenCounts::default();
            // Ranks 5 (CRITICAL) to 0 (UNTRIAGED), BANDS' order reversed.
            let slot = |rank: i64| usize::try_from(5 - rank).ok().filter(|i| *i < BANDS.len());
            for r in tx.query(sql, &[])? {
                let n = u64::try_from(r.i64(2)?).unwrap_or(0);
                if let Some(i) = slot(r.i64(0)?) {
                    out.adjusted[i] += n;
                }
                if let Some(i) = slot(r.i64(1)?) {
                    out.base[i] += n;
                }
                out.total += n;
                out.fixable += u64::try_from(r.i64(3)?).unwrap_or(0);
                out.kev += u64::try_from(r.i64(4)?).unwrap_or(0);
            }
            Ok(out)
        })
    }

    /// For each instant of `at` (Unix ms), how many findings were open
    /// then: first observed by then and not closed by then. A finding that
    /// closed and reopened counts as open since its first observation
    /// (only its last closing time is kept), and suppression is ignored:
    /// an approximation of the history, read in one pass over the table.
    pub fn open_trend(&self, at: &[i64]) -> Result<Vec<u64>> {
        if at.is_empty() {
            return Ok(Vec::new());
        }
        let cols: Vec<String> = at
            .iter()
            .map(|_| {
                "SUM(CASE WHEN f.first_observed <= ? AND (f.closed_at IS NULL OR f.closed_at > ?) \
                 THEN 1 ELSE 0 END)"
                    .to_owned()
            })
            .collect();
        let sql = format!("SELECT {} FROM findings f", cols.join(", "));
        let params: Vec<Val> = at
            .iter()
            .flat_map(|t| [Val::I64(*t), Val::I64(*t)])
            .collect();
        self.tx("dashboard trend", Mode::Read, |tx| {
            let r = tx.query_one(&sql, &params)?;
            (0..at.len())
                .map(|i| Ok(u64::try_from(r.opt_i64(i)?.unwrap_or(0)).unwrap_or(0)))
                .collect()
        })
    }
}
