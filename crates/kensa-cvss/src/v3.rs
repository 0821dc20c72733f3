//! CVSS v3.0 and v3.1 (FIRST specification documents, §7 and Appendix A).
//! One type for both: the metrics are the same, the equations differ in
//! Roundup and in the changed-scope Modified Impact.

use std::fmt;
use std::str::FromStr;

use crate::CvssError;
use crate::dec::{Dec, ONE, TEN, ZERO, d};
use crate::metric::{Slots, Table, base, opt};

const N: usize = 22;

const AV: &[&str] = &["N", "A", "L", "P"];
const AC: &[&str] = &["L", "H"];
const PR: &[&str] = &["N", "L", "H"];
const UI: &[&str] = &["N", "R"];
const S: &[&str] = &["U", "C"];
const CIA: &[&str] = &["H", "L", "N"];
const REQ: &[&str] = &["H", "M", "L"];

static TABLE: Table<N> = Table {
    defs: [
        base("AV", AV),
        base("AC", AC),
        base("PR", PR),
        base("UI", UI),
        base("S", S),
        base("C", CIA),
        base("I", CIA),
        base("A", CIA),
        opt("E", &["H", "F", "P", "U"]),
        opt("RL", &["U", "W", "T", "O"]),
        opt("RC", &["C", "R", "U"]),
        opt("CR", REQ),
        opt("IR", REQ),
        opt("AR", REQ),
        opt("MAV", AV),
        opt("MAC", AC),
        opt("MPR", PR),
        opt("MUI", UI),
        opt("MS", S),
        opt("MC", CIA),
        opt("MI", CIA),
        opt("MA", CIA),
    ],
    unset: "X",
};

// Slot indexes.
const I_AV: usize = 0;
const I_S: usize = 4;
const I_C: usize = 5;
const I_E: usize = 8;
const I_CR: usize = 11;
const I_MAV: usize = 14;
const TEMPORAL: std::ops::Range<usize> = 8..11;
const ENVIRONMENTAL: std::ops::Range<usize> = 11..22;

const W_AV: [Dec; 4] = [d(85, 2), d(62, 2), d(55, 2), d(2, 1)];
const W_AC: [Dec; 2] = [d(77, 2), d(44, 2)];
const W_PR_UNCHANGED: [Dec; 3] = [d(85, 2), d(62, 2), d(27, 2)];
const W_PR_CHANGED: [Dec; 3] = [d(85, 2), d(68, 2), d(5, 1)];
const W_UI: [Dec; 2] = [d(85, 2), d(62, 2)];
const W_CIA: [Dec; 3] = [d(56, 2), d(22, 2), ZERO];
const W_E: [Dec; 4] = [ONE, d(97, 2), d(94, 2), d(91, 2)];
const W_RL: [Dec; 4] = [ONE, d(97, 2), d(96, 2), d(95, 2)];
const W_RC: [Dec; 3] = [ONE, d(96, 2), d(92, 2)];
const W_REQ: [Dec; 3] = [d(15, 1), ONE, d(5, 1)];

/// A CVSS v3.0 or v3.1 vector.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Vector {
    minor: u8,
    slots: Slots<N>,
}

impl FromStr for Vector {
    type Err = CvssError;

    /// `CVSS:3.0/…` or `CVSS:3.1/…`: the prefix is mandatory (§6).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (minor, body) = if let Some(b) = s.strip_prefix("CVSS:3.0/") {
            (0, b)
        } else if let Some(b) = s.strip_prefix("CVSS:3.1/") {
            (1, b)
        } else {
            return Err(CvssError::UnknownVersion {
                vector: s.to_owned(),
            });
        };
        Ok(Vector {
            minor,
            slots: TABLE.parse(s, body)?,
        })
    }
}

impl fmt::Display for Vector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CVSS:3.{}/", self.minor)?;
        TABLE.write(f, &self.slots)
    }
}

/// The value index of a slot, or of its base metric when a modified
/// metric is not defined (§7.3: "Not Defined" takes the base value).
fn idx(slots: &Slots<N>, i: usize) -> usize {
    match slots[i] {
        Some(v) => usize::from(v),
        None if i >= I_MAV => idx(slots, i - I_MAV),
        None => usize::MAX,
    }
}

/// The weight at `i`; base metrics are always defined (parsing and `set`
/// see to it), so the fallback is never taken.
fn pick(w: &[Dec], i: usize) -> Dec {
    w.get(i).copied().unwrap_or(ZERO)
}

impl Vector {
    /// 0 for v3.0, 1 for v3.1.
    pub fn minor(&self) -> u8 {
        self.minor
    }

    /// The value of `metric` (`"AV"`, `"MAV"`, `"E"`…); `None` when not
    /// defined or not a v3 metric.
    pub fn get(&self, metric: &str) -> Option<&str> {
        TABLE.get(&self.slots, metric)
    }

    /// Set `metric` to `value`; `X` clears a temporal or environmental
    /// metric (base metrics cannot be cleared).
    pub fn set(&mut self, metric: &str, value: &str) -> Result<(), CvssError> {
        let minor = self.minor;
        TABLE.set(
            &mut self.slots,
            |s| Vector { minor, slots: *s }.to_string(),
            metric,
            value,
        )
    }

    fn roundup(&self, x: Dec) -> Dec {
        if self.minor == 0 {
            x.ceil1()
        } else {
            x.roundup31()
        }
    }

    /// Temporal weight: not defined weighs 1.
    fn tw(&self, i: usize, w: &[Dec]) -> Dec {
        w.get(idx(&self.slots, i)).copied().unwrap_or(ONE)
    }

    /// Exploitability over the slots starting at `at` (base or modified),
    /// PR weighted by the scope that applies.
    fn exploitability(&self, at: usize, changed: bool) -> Dec {
        let s = &self.slots;
        let pr = if changed {
            W_PR_CHANGED
        } else {
            W_PR_UNCHANGED
        };
        d(822, 2)
            .mul(pick(&W_AV, idx(s, at)))
            .mul(pick(&W_AC, idx(s, at + 1)))
            .mul(pick(&pr, idx(s, at + 2)))
            .mul(pick(&W_UI, idx(s, at + 3)))
    }

    fn base(&self) -> Dec {
        self.base_unrounded().map_or(ZERO, |x| self.roundup(x))
    }

    /// `Minimum[(1.08 ×) (Impact + Exploitability), 10]`, or `None` when
    /// the Impact is not positive (the score is then 0).
    fn base_unrounded(&self) -> Option<Dec> {
        let s = &self.slots;
        let changed = idx(s, I_S) == 1;
        let iss = ONE.sub(
            ONE.sub(pick(&W_CIA, idx(s, I_C)))
                .mul(ONE.sub(pick(&W_CIA, idx(s, I_C + 1))))
                .mul(ONE.sub(pick(&W_CIA, idx(s, I_C + 2)))),
        );
        let impact = if changed {
            d(752, 2)
                .mul(iss.sub(d(29, 3)))
                .sub(d(325, 2).mul(iss.sub(d(2, 2)).powi(15)))
        } else {
            d(642, 2).mul(iss)
        };
        if !impact.is_positive() {
            return None;
        }
        let sum = impact.add(self.exploitability(I_AV, changed));
        let sum = if changed { d(108, 2).mul(sum) } else { sum };
        Some(sum.min(TEN))
    }

    fn temporal_factor(&self) -> Dec {
        self.tw(I_E, &W_E)
            .mul(self.tw(I_E + 1, &W_RL))
            .mul(self.tw(I_E + 2, &W_RC))
    }

    pub fn base_score(&self) -> f64 {
        self.base().to_f64()
    }

    /// `None` when E, RL and RC are all not defined.
    pub fn temporal_score(&self) -> Option<f64> {
        if self.slots[TEMPORAL].iter().all(Option::is_none) {
            return None;
        }
        Some(
            self.roundup(self.base().mul(self.temporal_factor()))
                .to_f64(),
        )
    }

    /// `None` when no environmental metric (CR…MA) is defined.
    pub fn environmental_score(&self) -> Option<f64> {
        if self.slots[ENVIRONMENTAL].iter().all(Option::is_none) {
            return None;
        }
        let Some(sum) = self.modified_unrounded() else {
            return Some(0.0);
        };
        let modified = self.roundup(sum);
        Some(self.roundup(modified.mul(self.temporal_factor())).to_f64())
    }

    /// The environmental counterpart of [`Vector::base_unrounded`].
    fn modified_unrounded(&self) -> Option<Dec> {
        let s = &self.slots;
        let changed = idx(s, I_MAV + I_S) == 1;
        let m = |k: usize| pick(&W_CIA, idx(s, I_MAV + I_C + k)).mul(self.tw(I_CR + k, &W_REQ));
        let miss = ONE
            .sub(ONE.sub(m(0)).mul(ONE.sub(m(1))).mul(ONE.sub(m(2))))
            .min(d(915, 3));
        let impact = if !changed {
            d(642, 2).mul(miss)
        } else if self.minor == 0 {
            d(752, 2)
                .mul(miss.sub(d(29, 3)))
                .sub(d(325, 2).mul(miss.sub(d(2, 2)).powi(15)))
        } else {
            d(752, 2)
                .mul(miss.sub(d(29, 3)))
                .sub(d(325, 2).mul(miss.mul(d(9731, 4)).sub(d(2, 2)).powi(13)))
        };
        if !impact.is_positive() {
            return None;
        }
        let sum = impact.add(self.exploitability(I_MAV, changed));
        let sum = if changed { d(108, 2).mul(sum) } else { sum };
        Some(sum.min(TEN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CVSS 3.1's Roundup rounds to five decimals before the ceiling, to
    /// absorb floating point error; on the exact values it must equal the
    /// plain ceiling (3.0's definition, and the PyPI package's for both)
    /// for every value a vector can reach, or the two would disagree.
    #[test]
    fn roundup_31_is_the_exact_ceiling_for_every_vector() {
        let mut checked = 0;
        let mut check = |x: Dec, what: &str| {
            assert_eq!(
                x.ceil1().cmp_dec(x.roundup31()),
                std::cmp::Ordering::Equal,
                "{what}: {x:?}"
            );
            checked += 1;
        };
        // Base (and, with all modified metrics set, environmental) values:
        // every AV, AC, PR, UI, S, C, I, A, CR, IR, AR combination.
        let radix = [4usize, 2, 3, 2, 2, 3, 3, 3, 3, 3, 3];
        let total: usize = radix.iter().product();
        for minor in [0, 1] {
            for mut n in 0..total {
                let mut v = Vector {
                    minor,
                    slots: [None; N],
                };
                for (k, r) in radix.iter().enumerate() {
                    let value = Some((n % r) as u8);
                    n /= r;
                    if k < 8 {
                        v.slots[k] = value;
                        v.slots[I_MAV + k] = value;
                    } else {
                        v.slots[I_CR + k - 8] = value;
                    }
                }
                if let Some(x) = v.base_unrounded() {
                    check(x, "base");
                }
                if let Some(x) = v.modified_unrounded() {
                    check(x, "environmental");
                }
            }
        }
        // Temporal: every one-decimal (modified) base score times every
        // E × RL × RC.
        for b in 0..=100 {
            for e in W_E {
                for rl in W_RL {
                    for rc in W_RC {
                        check(d(b, 1).mul(e).mul(rl).mul(rc), "temporal");
                    }
                }
            }
        }
        assert!(checked > 100_000);
    }
}
