//! CVSS v2.0 (FIRST, "A Complete Guide to the Common Vulnerability Scoring
//! System Version 2.0", §3.2 equations).

use std::fmt;
use std::str::FromStr;

use crate::CvssError;
use crate::dec::{Dec, ONE, TEN, ZERO, d};
use crate::metric::{Slots, Table, base, opt};

const N: usize = 14;

static TABLE: Table<N> = Table {
    defs: [
        base("AV", &["L", "A", "N"]),
        base("AC", &["H", "M", "L"]),
        base("Au", &["M", "S", "N"]),
        base("C", &["N", "P", "C"]),
        base("I", &["N", "P", "C"]),
        base("A", &["N", "P", "C"]),
        opt("E", &["U", "POC", "F", "H"]),
        opt("RL", &["OF", "TF", "W", "U"]),
        opt("RC", &["UC", "UR", "C"]),
        opt("CDP", &["N", "L", "LM", "MH", "H"]),
        opt("TD", &["N", "L", "M", "H"]),
        opt("CR", &["L", "M", "H"]),
        opt("IR", &["L", "M", "H"]),
        opt("AR", &["L", "M", "H"]),
    ],
    unset: "ND",
};

/// The weights, by metric and value index; the last entry of an optional
/// metric is its "not defined" weight.
static WEIGHTS: [&[Dec]; N] = [
    &[d(395, 3), d(646, 3), d(1, 0)],
    &[d(35, 2), d(61, 2), d(71, 2)],
    &[d(45, 2), d(56, 2), d(704, 3)],
    &[ZERO, d(275, 3), d(660, 3)],
    &[ZERO, d(275, 3), d(660, 3)],
    &[ZERO, d(275, 3), d(660, 3)],
    &[d(85, 2), d(90, 2), d(95, 2), ONE, ONE],
    &[d(87, 2), d(90, 2), d(95, 2), ONE, ONE],
    &[d(90, 2), d(95, 2), ONE, ONE],
    &[ZERO, d(1, 1), d(3, 1), d(4, 1), d(5, 1), ZERO],
    &[ZERO, d(25, 2), d(75, 2), ONE, ONE],
    &[d(5, 1), ONE, d(151, 2), ONE],
    &[d(5, 1), ONE, d(151, 2), ONE],
    &[d(5, 1), ONE, d(151, 2), ONE],
];

const TEMPORAL: std::ops::Range<usize> = 6..9;
const ENVIRONMENTAL: std::ops::Range<usize> = 9..14;

/// A CVSS v2.0 vector.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Vector {
    slots: Slots<N>,
}

impl FromStr for Vector {
    type Err = CvssError;

    /// The guide's form `AV:N/AC:L/Au:N/C:P/I:P/A:P`, also accepted in
    /// parentheses (older NVD data) or after `CVSS:2.0/` (the prefix v3
    /// introduced, which some tools back-port).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let body = s.strip_prefix("CVSS:2.0/").unwrap_or(s);
        let body = body
            .strip_prefix('(')
            .and_then(|b| b.strip_suffix(')'))
            .unwrap_or(body);
        Ok(Vector {
            slots: TABLE.parse(s, body)?,
        })
    }
}

impl fmt::Display for Vector {
    /// Without prefix or parentheses, as the guide and NVD write it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        TABLE.write(f, &self.slots)
    }
}

impl Vector {
    /// The value of `metric` (`"AV"`, `"Au"`, `"CDP"`…); `None` when not
    /// defined or not a v2 metric.
    pub fn get(&self, metric: &str) -> Option<&str> {
        TABLE.get(&self.slots, metric)
    }

    /// Set `metric` to `value`; `ND` clears a temporal or environmental
    /// metric.
    pub fn set(&mut self, metric: &str, value: &str) -> Result<(), CvssError> {
        TABLE.set(
            &mut self.slots,
            |s| Vector { slots: *s }.to_string(),
            metric,
            value,
        )
    }

    fn w(&self, i: usize) -> Dec {
        let weights = WEIGHTS[i];
        match self.slots[i] {
            Some(v) => weights[usize::from(v)],
            None => weights[weights.len() - 1],
        }
    }

    fn exploitability(&self) -> Dec {
        d(20, 0).mul(self.w(0)).mul(self.w(1)).mul(self.w(2))
    }

    /// `round_to_1_decimal(((0.6 × Impact) + (0.4 × Exploitability) − 1.5)
    /// × f(Impact))`, with Impact or AdjustedImpact.
    fn base_equation(&self, impact: Dec) -> Dec {
        let f = if impact.is_zero() { ZERO } else { d(1176, 3) };
        d(6, 1)
            .mul(impact)
            .add(d(4, 1).mul(self.exploitability()))
            .sub(d(15, 1))
            .mul(f)
            .round1()
    }

    fn base(&self) -> Dec {
        let impact = d(1041, 2).mul(
            ONE.sub(
                ONE.sub(self.w(3))
                    .mul(ONE.sub(self.w(4)))
                    .mul(ONE.sub(self.w(5))),
            ),
        );
        self.base_equation(impact).max(ZERO)
    }

    fn temporal(&self, base: Dec) -> Dec {
        base.mul(self.w(6)).mul(self.w(7)).mul(self.w(8)).round1()
    }

    pub fn base_score(&self) -> f64 {
        self.base().to_f64()
    }

    /// `None` when E, RL and RC are all not defined.
    pub fn temporal_score(&self) -> Option<f64> {
        if self.slots[TEMPORAL].iter().all(Option::is_none) {
            return None;
        }
        Some(self.temporal(self.base()).max(ZERO).to_f64())
    }

    /// `None` when CDP, TD, CR, IR and AR are all not defined.
    pub fn environmental_score(&self) -> Option<f64> {
        if self.slots[ENVIRONMENTAL].iter().all(Option::is_none) {
            return None;
        }
        let adjusted_impact = TEN.min(
            d(1041, 2).mul(
                ONE.sub(
                    ONE.sub(self.w(3).mul(self.w(11)))
                        .mul(ONE.sub(self.w(4).mul(self.w(12))))
                        .mul(ONE.sub(self.w(5).mul(self.w(13)))),
                ),
            ),
        );
        // The guide does not clamp AdjustedBase: with low requirements it
        // can be slightly negative, and only the final score is clamped to
        // the 0–10 range.
        let adjusted_temporal = self.temporal(self.base_equation(adjusted_impact));
        let cdp = self.w(9);
        let td = self.w(10);
        let env = adjusted_temporal
            .add(TEN.sub(adjusted_temporal).mul(cdp))
            .mul(td)
            .round1();
        Some(env.max(ZERO).to_f64())
    }
}
