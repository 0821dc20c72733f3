//! CVSS vectors as the FIRST specifications define them: v2.0, v3.0, v3.1
//! and v4.0, parsed strictly, printed canonically and scored exactly.
//!
//! Advisories carry a vector and often a score; the score is derived data
//! that feeds disagree on, so Kensa keeps the vector and recomputes.
//!
//! - **Parsing** rejects what the specifications do not allow (unknown
//!   metrics or values, a metric twice, a missing base metric, empty
//!   fields) and says which metric and value were wrong. Fields may come in
//!   any order, because real feeds write them so; [`Display`](std::fmt::Display)
//!   prints the specification's order and leaves out "not defined" (`X`,
//!   `ND`) metrics, so equal vectors print equally.
//! - **v2 and v3 scores** follow the equations in exact decimal arithmetic
//!   (see `dec.rs`): v2's `round_to_1_decimal`, v3.0's "Round up" (ceiling
//!   to one decimal) and v3.1's Appendix A integer Roundup, and each
//!   version's own Modified Impact for a changed scope (3.0:
//!   `(MISS − 0.02)^15`; 3.1: `(MISS × 0.9731 − 0.02)^13`). Binary floating
//!   point, as most calculators use, lands on the wrong side of a rounding
//!   boundary for some vectors; exact arithmetic is what the text says.
//! - **v4.0 scores** follow FIRST's reference calculator (`cvss_score.js`):
//!   the 270 MacroVector scores, the highest-severity vectors of each
//!   equivalence class and the severity-distance interpolation, in binary
//!   floating point exactly as the reference does it (the specification
//!   defines v4.0 by that code, including its epsilon before rounding), so
//!   the results are the reference's to the last bit.
//!
//! v4.0 has one score; which metric groups it counts gives the
//! specification's nomenclature: [`Cvss::base_score`] is CVSS-B,
//! [`Cvss::temporal_score`] CVSS-BT (threat metrics), and
//! [`Cvss::environmental_score`] CVSS-BE or CVSS-BTE.
//!
//! Checked against the PyPI `cvss` package over every vector in the real
//! data and tens of thousands of random ones (`tests/differential_pycvss.rs`).
//! That package rounds v3.1 with the plain ceiling and v4.0 on the exact
//! binary value; unit tests show, over every value a vector can reach,
//! that those roundings equal the specification's Roundup (`v3.rs`) and the
//! reference's `Math.round((x + ε) × 10) / 10` (`v4.rs`), so exact agreement
//! is the right demand.

mod dec;
mod metric;
pub mod v2;
pub mod v3;
pub mod v4;
mod v4_table;

use std::fmt;
use std::str::FromStr;

/// Why a vector was rejected; every variant names the vector.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CvssError {
    #[error("CVSS vector {vector:?}: unknown or unsupported CVSS version prefix")]
    UnknownVersion { vector: String },
    #[error("CVSS vector {vector:?}: malformed field {field:?} (expected METRIC:VALUE)")]
    Malformed { vector: String, field: String },
    #[error("CVSS vector {vector:?}: unknown metric {metric:?}")]
    UnknownMetric { vector: String, metric: String },
    #[error("CVSS vector {vector:?}: invalid value {value:?} for metric {metric}")]
    InvalidValue {
        vector: String,
        metric: &'static str,
        value: String,
    },
    #[error("CVSS vector {vector:?}: metric {metric} appears more than once")]
    Duplicate { vector: String, metric: String },
    #[error("CVSS vector {vector:?}: mandatory base metric {metric} is missing")]
    Missing {
        vector: String,
        metric: &'static str,
    },
}

/// A parsed vector of any supported version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cvss {
    V2(v2::Vector),
    V3(v3::Vector),
    V4(v4::Vector),
}

impl FromStr for Cvss {
    type Err = CvssError;

    /// `CVSS:4.0/`, `CVSS:3.1/`, `CVSS:3.0/` and `CVSS:2.0/` select the
    /// version; a vector without prefix (or in parentheses, as NVD once
    /// wrote them) is v2, which has no prefix of its own.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with("CVSS:4.0/") {
            s.parse().map(Cvss::V4)
        } else if s.starts_with("CVSS:3.0/") || s.starts_with("CVSS:3.1/") {
            s.parse().map(Cvss::V3)
        } else if s.starts_with("CVSS:") && !s.starts_with("CVSS:2.0/") {
            Err(CvssError::UnknownVersion {
                vector: s.to_owned(),
            })
        } else {
            s.parse().map(Cvss::V2)
        }
    }
}

impl fmt::Display for Cvss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cvss::V2(v) => v.fmt(f),
            Cvss::V3(v) => v.fmt(f),
            Cvss::V4(v) => v.fmt(f),
        }
    }
}

impl Cvss {
    /// `"2.0"`, `"3.0"`, `"3.1"` or `"4.0"`.
    pub fn version(&self) -> &'static str {
        match self {
            Cvss::V2(_) => "2.0",
            Cvss::V3(v) if v.minor() == 0 => "3.0",
            Cvss::V3(_) => "3.1",
            Cvss::V4(_) => "4.0",
        }
    }

    /// The base score (v4.0: CVSS-B, threat and environmental metrics
    /// ignored).
    pub fn base_score(&self) -> f64 {
        match self {
            Cvss::V2(v) => v.base_score(),
            Cvss::V3(v) => v.base_score(),
            Cvss::V4(v) => v.base_score(),
        }
    }

    /// The temporal score (v4.0: CVSS-BT), `None` when no temporal
    /// (threat) metric is defined.
    pub fn temporal_score(&self) -> Option<f64> {
        match self {
            Cvss::V2(v) => v.temporal_score(),
            Cvss::V3(v) => v.temporal_score(),
            Cvss::V4(v) => v.threat_score(),
        }
    }

    /// The environmental score (v4.0: CVSS-BE, or CVSS-BTE with threat
    /// metrics), `None` when no environmental metric is defined.
    pub fn environmental_score(&self) -> Option<f64> {
        match self {
            Cvss::V2(v) => v.environmental_score(),
            Cvss::V3(v) => v.environmental_score(),
            Cvss::V4(v) => v.environmental_score(),
        }
    }

    /// The most specific score the vector supports: environmental if
    /// defined, else temporal if defined, else base.
    pub fn overall_score(&self) -> f64 {
        self.environmental_score()
            .or_else(|| self.temporal_score())
            .unwrap_or_else(|| self.base_score())
    }

    /// The qualitative rating of [`Cvss::overall_score`].
    pub fn severity(&self) -> Severity {
        severity(self.overall_score())
    }
}

/// The qualitative severity rating scale (CVSS v3.1 and v4.0 §5/§6;
/// applied to v2 scores too, as NVD's v2 ratings agree with it below 9.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    None,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// `"NONE"`, `"LOW"`, `"MEDIUM"`, `"HIGH"` or `"CRITICAL"`, as the CVSS
    /// JSON schemas write `baseSeverity`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::None => "NONE",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rating of a score: 0.0 none, 0.1–3.9 low, 4.0–6.9 medium, 7.0–8.9
/// high, 9.0–10.0 critical. Scores are one-decimal numbers; anything
/// between the steps (never produced here) takes the lower rating's upper
/// bound, as the JSON schemas' ranges do.
pub fn severity(score: f64) -> Severity {
    if score <= 0.0 {
        Severity::None
    } else if score < 4.0 {
        Severity::Low
    } else if score < 7.0 {
        Severity::Medium
    } else if score < 9.0 {
        Severity::High
    } else {
        Severity::Critical
    }
}
