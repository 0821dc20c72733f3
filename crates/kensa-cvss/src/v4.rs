//! CVSS v4.0 (FIRST specification document, §8 scoring). The score comes
//! from the MacroVector lookup table refined by severity distances, as
//! FIRST's reference calculator computes it; every floating point
//! operation here is the reference's, in the reference's order, so that
//! the results agree to the bit before the final rounding.

use std::fmt;
use std::str::FromStr;

use crate::CvssError;
use crate::metric::{Slots, Table, base, opt};
use crate::v4_table::LOOKUP;

const N: usize = 32;

const AV: &[&str] = &["N", "A", "L", "P"];
const AC: &[&str] = &["L", "H"];
const AT: &[&str] = &["N", "P"];
const PR: &[&str] = &["N", "L", "H"];
const UI: &[&str] = &["N", "P", "A"];
const CIA: &[&str] = &["H", "L", "N"];
const SAFETY: &[&str] = &["S", "H", "L", "N"];
const REQ: &[&str] = &["H", "M", "L"];

static TABLE: Table<N> = Table {
    defs: [
        base("AV", AV),
        base("AC", AC),
        base("AT", AT),
        base("PR", PR),
        base("UI", UI),
        base("VC", CIA),
        base("VI", CIA),
        base("VA", CIA),
        base("SC", CIA),
        base("SI", CIA),
        base("SA", CIA),
        opt("E", &["A", "P", "U"]),
        opt("CR", REQ),
        opt("IR", REQ),
        opt("AR", REQ),
        opt("MAV", AV),
        opt("MAC", AC),
        opt("MAT", AT),
        opt("MPR", PR),
        opt("MUI", UI),
        opt("MVC", CIA),
        opt("MVI", CIA),
        opt("MVA", CIA),
        opt("MSC", CIA),
        opt("MSI", SAFETY),
        opt("MSA", SAFETY),
        opt("S", &["N", "P"]),
        opt("AU", &["N", "Y"]),
        opt("R", &["A", "U", "I"]),
        opt("V", &["D", "C"]),
        opt("RE", &["L", "M", "H"]),
        opt("U", &["Clear", "Green", "Amber", "Red"]),
    ],
    unset: "X",
};

// Slot indexes, in the specification's order.
const AV_: usize = 0;
const AC_: usize = 1;
const AT_: usize = 2;
const PR_: usize = 3;
const UI_: usize = 4;
const VC_: usize = 5;
const VI_: usize = 6;
const VA_: usize = 7;
const SC_: usize = 8;
const SI_: usize = 9;
const SA_: usize = 10;
const E_: usize = 11;
const CR_: usize = 12;
const IR_: usize = 13;
const AR_: usize = 14;
/// Modified base metric `k` is at `MOD + k`.
const MOD: usize = 15;
const ENVIRONMENTAL: std::ops::Range<usize> = 12..26;

/// A CVSS v4.0 vector.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Vector {
    slots: Slots<N>,
}

impl FromStr for Vector {
    type Err = CvssError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some(body) = s.strip_prefix("CVSS:4.0/") else {
            return Err(CvssError::UnknownVersion {
                vector: s.to_owned(),
            });
        };
        Ok(Vector {
            slots: TABLE.parse(s, body)?,
        })
    }
}

impl fmt::Display for Vector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CVSS:4.0/")?;
        TABLE.write(f, &self.slots)
    }
}

/// Which metric groups a score counts (the CVSS-B/BT/BE/BTE nomenclature).
#[derive(Clone, Copy)]
struct Groups {
    threat: bool,
    environmental: bool,
}

impl Vector {
    /// The value of `metric`; `None` when not defined or not a v4 metric.
    pub fn get(&self, metric: &str) -> Option<&str> {
        TABLE.get(&self.slots, metric)
    }

    /// Set `metric` to `value`; `X` clears a threat, environmental or
    /// supplemental metric.
    pub fn set(&mut self, metric: &str, value: &str) -> Result<(), CvssError> {
        TABLE.set(
            &mut self.slots,
            |s| Vector { slots: *s }.to_string(),
            metric,
            value,
        )
    }

    fn raw(&self, i: usize) -> Option<&'static str> {
        self.slots[i].map(|v| TABLE.defs[i].values[usize::from(v)])
    }

    /// The value that scoring uses (the reference's `m()`): an undefined E
    /// is the worst case A, undefined requirements the worst case H, and a
    /// modified metric, when defined, replaces its base metric.
    fn m(&self, i: usize, g: Groups) -> &'static str {
        match i {
            E_ => self.raw(i).filter(|_| g.threat).unwrap_or("A"),
            CR_..=AR_ => self.raw(i).filter(|_| g.environmental).unwrap_or("H"),
            _ => self
                .raw(MOD + i)
                .filter(|_| g.environmental)
                .or_else(|| self.raw(i))
                .unwrap_or(""),
        }
    }

    /// CVSS-B: base metrics only.
    pub fn base_score(&self) -> f64 {
        self.score(Groups {
            threat: false,
            environmental: false,
        })
    }

    /// CVSS-BT; `None` when E is not defined.
    pub fn threat_score(&self) -> Option<f64> {
        self.slots[E_]?;
        Some(self.score(Groups {
            threat: true,
            environmental: false,
        }))
    }

    /// CVSS-BE, or CVSS-BTE when E is defined; `None` when no environmental
    /// metric is defined. Supplemental metrics never change a score.
    pub fn environmental_score(&self) -> Option<f64> {
        if self.slots[ENVIRONMENTAL].iter().all(Option::is_none) {
            return None;
        }
        Some(self.score(Groups {
            threat: true,
            environmental: true,
        }))
    }

    /// The values scoring sees for AV…AR (slots 0–14), computed once.
    fn effective(&self, g: Groups) -> [&'static str; MOD] {
        std::array::from_fn(|i| self.m(i, g))
    }

    fn macro_vector(eff: &[&'static str; MOD]) -> [usize; 6] {
        let m = |i: usize| eff[i];
        let (av, pr, ui) = (m(AV_), m(PR_), m(UI_));
        let eq1 = if av == "N" && pr == "N" && ui == "N" {
            0
        } else if (av == "N" || pr == "N" || ui == "N") && av != "P" {
            1
        } else {
            2
        };
        let eq2 = if m(AC_) == "L" && m(AT_) == "N" { 0 } else { 1 };
        let (vc, vi, va) = (m(VC_), m(VI_), m(VA_));
        let eq3 = if vc == "H" && vi == "H" {
            0
        } else if vc == "H" || vi == "H" || va == "H" {
            1
        } else {
            2
        };
        let eq4 = if m(SI_) == "S" || m(SA_) == "S" {
            0
        } else if m(SC_) == "H" || m(SI_) == "H" || m(SA_) == "H" {
            1
        } else {
            2
        };
        let eq5 = match m(E_) {
            "A" => 0,
            "P" => 1,
            _ => 2,
        };
        let eq6 = if (m(CR_) == "H" && vc == "H")
            || (m(IR_) == "H" && vi == "H")
            || (m(AR_) == "H" && va == "H")
        {
            0
        } else {
            1
        };
        [eq1, eq2, eq3, eq4, eq5, eq6]
    }

    fn score(&self, g: Groups) -> f64 {
        round_to_decimal_places(self.unrounded(g))
    }

    /// The score before the final rounding, clamped to 0–10.
    fn unrounded(&self, g: Groups) -> f64 {
        let eff = self.effective(g);
        let m = |i: usize| eff[i];
        if [VC_, VI_, VA_, SC_, SI_, SA_].iter().all(|&i| m(i) == "N") {
            return 0.0;
        }
        let mv = Self::macro_vector(&eff);
        let [eq1, eq2, eq3, eq4, _, eq6] = mv;
        let Some(mut value) = lookup(mv) else {
            return 0.0; // unreachable: macro_vector only yields listed classes
        };
        let lower = |k: usize, step: usize| {
            let mut next = mv;
            next[k] += step;
            lookup(next).unwrap_or(f64::NAN)
        };
        let next_eq1 = lower(0, 1);
        let next_eq2 = lower(1, 1);
        let next_eq3eq6 = match (eq3, eq6) {
            (1, 1) | (0, 1) => lower(2, 1),
            (1, 0) => lower(5, 1),
            (0, 0) => {
                let (left, right) = (lower(5, 1), lower(2, 1));
                // Python's max(left, right): left unless right is greater.
                if right > left { right } else { left }
            }
            _ => {
                let mut next = mv;
                next[2] += 1;
                next[5] += 1;
                lookup(next).unwrap_or(f64::NAN)
            }
        };
        let next_eq4 = lower(3, 1);
        let next_eq5 = lower(4, 1);

        // The first highest-severity vector of the class that the vector
        // does not exceed in any metric (or the last one, as the reference
        // leaves it when none qualifies).
        let mut dist = [0.0f64; 14];
        let mut current = [0.0f64; MOD];
        for (i, c) in current.iter_mut().enumerate() {
            *c = level(i, m(i));
        }
        'search: for e1 in EQ1_MAX[eq1] {
            for e2 in EQ2_MAX[eq2] {
                for e36 in EQ3EQ6_MAX[eq3][eq6] {
                    for e4 in EQ4_MAX[eq4] {
                        let maxes = [
                            (AV_, e1[0]),
                            (PR_, e1[1]),
                            (UI_, e1[2]),
                            (AC_, e2[0]),
                            (AT_, e2[1]),
                            (VC_, e36[0]),
                            (VI_, e36[1]),
                            (VA_, e36[2]),
                            (SC_, e4[0]),
                            (SI_, e4[1]),
                            (SA_, e4[2]),
                            (CR_, e36[3]),
                            (IR_, e36[4]),
                            (AR_, e36[5]),
                        ];
                        for (k, (i, max)) in maxes.into_iter().enumerate() {
                            dist[k] = current[i] - level(i, max);
                        }
                        if dist.iter().all(|x| *x >= 0.0) {
                            break 'search;
                        }
                    }
                }
            }
        }
        let [av, pr, ui, ac, at, vc, vi, va, sc, si, sa, cr, ir, ar] = dist;
        let current_eq1 = av + pr + ui;
        let current_eq2 = ac + at;
        let current_eq3eq6 = vc + vi + va + cr + ir + ar;
        let current_eq4 = sc + si + sa;

        let step = 0.1;
        let max_severity_eq1 = f64::from(MAX_SEVERITY_EQ1[eq1]) * step;
        let max_severity_eq2 = f64::from(MAX_SEVERITY_EQ2[eq2]) * step;
        let max_severity_eq3eq6 = f64::from(MAX_SEVERITY_EQ3EQ6[eq3][eq6]) * step;
        let max_severity_eq4 = f64::from(MAX_SEVERITY_EQ4[eq4]) * step;

        let mut n_existing_lower = 0u32;
        let mut normalized = [0.0f64; 5];
        let parts = [
            (value - next_eq1, current_eq1, max_severity_eq1),
            (value - next_eq2, current_eq2, max_severity_eq2),
            (value - next_eq3eq6, current_eq3eq6, max_severity_eq3eq6),
            (value - next_eq4, current_eq4, max_severity_eq4),
        ];
        for (k, (available, current, max)) in parts.into_iter().enumerate() {
            if available >= 0.0 {
                n_existing_lower += 1;
                normalized[k] = available * (current / max);
            }
        }
        // EQ5 has no intra-class ordering: its percentage is always 0.
        let available_eq5 = value - next_eq5;
        if available_eq5 >= 0.0 {
            n_existing_lower += 1;
            normalized[4] = available_eq5 * 0.0;
        }
        let mean_distance = if n_existing_lower == 0 {
            0.0
        } else {
            (normalized[0] + normalized[1] + normalized[2] + normalized[3] + normalized[4])
                / f64::from(n_existing_lower)
        };
        value -= mean_distance;
        // Python's max(0.0, value) and min(10.0, value).
        if value.is_nan() || value <= 0.0 {
            value = 0.0;
        }
        if value >= 10.0 {
            value = 10.0;
        }
        value
    }
}

/// Added before rounding so that, for example, 8.6 − 7.15 =
/// 1.4499999999999993 rounds to 1.5 as the decimal arithmetic would.
const EPSILON: f64 = 1e-6;

/// The reference's `roundToDecimalPlaces`: `Math.round((value + EPSILON)
/// × 10) / 10` (`Math.round` and `f64::round` agree on positive numbers).
fn round_to_decimal_places(value: f64) -> f64 {
    ((value + EPSILON) * 10.0).round() / 10.0
}

fn lookup(mv: [usize; 6]) -> Option<f64> {
    let [e1, e2, e3, e4, e5, e6] = mv;
    if e1 > 2 || e2 > 1 || e3 > 2 || e4 > 2 || e5 > 2 || e6 > 1 {
        return None;
    }
    LOOKUP[((((e1 * 2 + e2) * 3 + e3) * 3 + e4) * 3 + e5) * 2 + e6]
}

/// Round half up to one decimal on the double's exact binary value, as
/// the PyPI `cvss` port does with `Decimal(x).quantize(…)` where the
/// reference rounds the product `x × 10` first; only for the test showing
/// that the two never differ on a CVSS score.
#[cfg(test)]
fn round_half_up_1(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 || x.is_infinite() {
        return 0.0;
    }
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let (mant, e) = if exp == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), exp - 1075)
    };
    // x = mant × 2^e; round x × 10 half up to an integer.
    let n = u128::from(mant) * 10;
    if e >= 0 {
        return x;
    }
    let shift = e.unsigned_abs();
    if shift >= 127 {
        return 0.0;
    }
    let q = n >> shift;
    let r = n - (q << shift);
    let q = if r >= (1u128 << (shift - 1)) {
        q + 1
    } else {
        q
    };
    q as f64 / 10.0
}

/// Severity levels of each metric value (the reference's `*_levels`);
/// lower is more severe.
fn level(i: usize, v: &str) -> f64 {
    match (i, v) {
        (AV_, "N") | (PR_, "N") | (UI_, "N") | (AC_, "L") | (AT_, "N") => 0.0,
        (AV_, "A") | (PR_, "L") | (UI_, "P") | (AC_, "H") | (AT_, "P") => 0.1,
        (AV_, "L") | (PR_, "H") | (UI_, "A") => 0.2,
        (AV_, "P") => 0.3,
        (VC_ | VI_ | VA_ | CR_ | IR_ | AR_, "H") => 0.0,
        (VC_ | VI_ | VA_, "L") | (CR_ | IR_ | AR_, "M") => 0.1,
        (VC_ | VI_ | VA_, "N") | (CR_ | IR_ | AR_, "L") => 0.2,
        (SI_ | SA_, "S") => 0.0,
        (SC_ | SI_ | SA_, "H") => 0.1,
        (SC_ | SI_ | SA_, "L") => 0.2,
        (SC_ | SI_ | SA_, "N") => 0.3,
        _ => f64::NAN,
    }
}

/// Highest-severity vectors of each class (the reference's
/// `max_composed`): EQ1 as AV/PR/UI, EQ2 as AC/AT, EQ3+EQ6 as
/// VC/VI/VA/CR/IR/AR, EQ4 as SC/SI/SA.
static EQ1_MAX: [&[[&str; 3]]; 3] = [
    &[["N", "N", "N"]],
    &[["A", "N", "N"], ["N", "L", "N"], ["N", "N", "P"]],
    &[["P", "N", "N"], ["A", "L", "P"]],
];
static EQ2_MAX: [&[[&str; 2]]; 2] = [&[["L", "N"]], &[["H", "N"], ["L", "P"]]];
static EQ3EQ6_MAX: [[&[[&str; 6]]; 2]; 3] = [
    [
        &[["H", "H", "H", "H", "H", "H"]],
        &[
            ["H", "H", "L", "M", "M", "H"],
            ["H", "H", "H", "M", "M", "M"],
        ],
    ],
    [
        &[
            ["L", "H", "H", "H", "H", "H"],
            ["H", "L", "H", "H", "H", "H"],
        ],
        &[
            ["L", "H", "L", "H", "M", "H"],
            ["L", "H", "H", "H", "M", "M"],
            ["H", "L", "H", "M", "H", "M"],
            ["H", "L", "L", "M", "H", "H"],
            ["L", "L", "H", "H", "H", "M"],
        ],
    ],
    [&[], &[["L", "L", "L", "H", "H", "H"]]],
];
static EQ4_MAX: [&[[&str; 3]]; 3] = [&[["H", "S", "S"]], &[["H", "H", "H"]], &[["L", "L", "L"]]];

/// Depth of each class in severity steps (the reference's `max_severity`).
const MAX_SEVERITY_EQ1: [u8; 3] = [1, 4, 5];
const MAX_SEVERITY_EQ2: [u8; 2] = [1, 2];
const MAX_SEVERITY_EQ3EQ6: [[u8; 2]; 3] = [[7, 6], [8, 8], [0, 10]];
const MAX_SEVERITY_EQ4: [u8; 3] = [6, 5, 4];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every combination of the values that scoring sees (base metrics,
    /// E, CR/IR/AR, and Safety through MSI/MSA): 15 116 544 scores. The
    /// reference rounds `(x + ε) × 10` in floating point, the PyPI port
    /// rounds `x + ε` exactly; they must never disagree, which is why the
    /// differential test can demand exact agreement with the port.
    #[test]
    fn reference_rounding_equals_exact_rounding_everywhere() {
        let radix: Vec<(usize, usize)> = vec![
            (AV_, 4),
            (AC_, 2),
            (AT_, 2),
            (PR_, 3),
            (UI_, 3),
            (VC_, 3),
            (VI_, 3),
            (VA_, 3),
            (SC_, 3),
            (MOD + SI_, 4),
            (MOD + SA_, 4),
            (E_, 3),
            (CR_, 3),
            (IR_, 3),
            (AR_, 3),
        ];
        let total: usize = radix.iter().map(|r| r.1).product();
        let g = Groups {
            threat: true,
            environmental: true,
        };
        let mut v = Vector { slots: [None; N] };
        v.slots[SI_] = Some(0);
        v.slots[SA_] = Some(0);
        let mut bad = Vec::new();
        for mut n in 0..total {
            for &(i, r) in &radix {
                v.slots[i] = Some((n % r) as u8);
                n /= r;
            }
            let x = v.unrounded(g);
            assert!((0.0..=10.0).contains(&x));
            if round_to_decimal_places(x) != round_half_up_1(x + EPSILON) {
                bad.push(v.to_string());
            }
        }
        assert!(
            bad.is_empty(),
            "{} differ: {:?}",
            bad.len(),
            &bad[..bad.len().min(10)]
        );
    }

    #[test]
    fn rounding_on_the_binary_value() {
        assert_eq!(round_half_up_1(1.4499999999999993 + 1e-6), 1.5);
        assert_eq!(round_half_up_1(0.05), 0.1); // 0.05 is just above 0.05
        assert_eq!(round_half_up_1(0.25), 0.3);
        assert_eq!(round_half_up_1(10.000001), 10.0);
        assert_eq!(round_half_up_1(0.0), 0.0);
    }
}
