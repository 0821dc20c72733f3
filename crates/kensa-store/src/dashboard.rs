//! What the console's dashboard shows, each in one statement over the
//! findings table: counts of open findings by band (adjusted and base),
//! fixable and KEV, and the number of findings open at the end of each of
//! the last days.

use serde::Serialize;

use crate::error::Result;
use crate::sql::{Dialect, Val};
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

/// The CVSS v3 band of a score, as SQL over `expr`.
fn band_case(expr: &str) -> String {
    format!(
        "CASE WHEN {expr} IS NULL THEN 'UNTRIAGED' WHEN {expr} >= 9.0 THEN 'CRITICAL' \
         WHEN {expr} >= 7.0 THEN 'HIGH' WHEN {expr} >= 4.0 THEN 'MEDIUM' \
         WHEN {expr} > 0.0 THEN 'LOW' ELSE 'INFORMATIONAL' END"
    )
}

impl Db {
    /// Counts of the ACTIVE findings (see [`OpenCounts`]).
    pub fn open_counts(&self) -> Result<OpenCounts> {
        let base = match self.dialect() {
            Dialect::Sqlite => "CAST(json_extract(f.detail, '$.score.base') AS REAL)",
            Dialect::Postgres => "CAST(f.detail -> 'score' ->> 'base' AS DOUBLE PRECISION)",
        };
        let adjusted_sql = "SELECT f.severity, COUNT(*), \
             SUM(CASE WHEN f.fix_available THEN 1 ELSE 0 END), \
             SUM(CASE WHEN f.kev THEN 1 ELSE 0 END) \
             FROM findings f WHERE f.status = 'ACTIVE' GROUP BY f.severity";
        let base_sql = format!(
            "SELECT {band}, COUNT(*) FROM findings f WHERE f.status = 'ACTIVE' GROUP BY {band}",
            band = band_case(base)
        );
        self.tx("dashboard counts", Mode::Read, |tx| {
            let mut out = OpenCounts::default();
            let slot = |band: &str| BANDS.iter().position(|b| *b == band);
            for r in tx.query(adjusted_sql, &[])? {
                let n = u64::try_from(r.i64(1)?).unwrap_or(0);
                if let Some(i) = slot(&r.text(0)?) {
                    out.adjusted[i] += n;
                }
                out.total += n;
                out.fixable += u64::try_from(r.i64(2)?).unwrap_or(0);
                out.kev += u64::try_from(r.i64(3)?).unwrap_or(0);
            }
            for r in tx.query(&base_sql, &[])? {
                if let Some(i) = slot(&r.text(0)?) {
                    out.base[i] += u64::try_from(r.i64(1)?).unwrap_or(0);
                }
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
