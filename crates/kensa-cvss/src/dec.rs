//! Exact decimal arithmetic for the v2 and v3 equations.
//!
//! The specifications define their equations on decimal numbers and round
//! the results to one decimal place; binary floating point lands a hair
//! below or above the exact value (CVSS 3.0's `Round up(4.000000000001)`
//! became 4.1, the flaw that made 3.1 redefine Roundup). Every weight has at
//! most four decimal places and the equations are short, so an `i128`
//! mantissa with a decimal scale holds each intermediate value exactly. The
//! one exception is the scope-changed power term (`x^15`, `x^13`), whose
//! exact expansion has hundreds of digits: it is carried to 18 decimal
//! places, and since that term never cancels the exact part to within
//! 10^-17 of a rounding boundary the rounded scores are still exact.

use std::cmp::Ordering;

/// `m × 10^-s`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dec {
    m: i128,
    s: u32,
}

/// Scale of the fixed-point power term; 10^36 (two operands) fits an i128.
const POW_SCALE: u32 = 18;

const fn p10(n: u32) -> i128 {
    10i128.pow(n)
}

pub(crate) const fn d(m: i128, s: u32) -> Dec {
    Dec { m, s }
}

pub(crate) const ZERO: Dec = d(0, 0);
pub(crate) const ONE: Dec = d(1, 0);
pub(crate) const TEN: Dec = d(10, 0);

impl Dec {
    fn aligned(self, o: Dec) -> (i128, i128, u32) {
        match self.s.cmp(&o.s) {
            Ordering::Equal => (self.m, o.m, self.s),
            Ordering::Less => (self.m * p10(o.s - self.s), o.m, o.s),
            Ordering::Greater => (self.m, o.m * p10(self.s - o.s), self.s),
        }
    }

    fn normalized(mut self) -> Dec {
        while self.s > 0 && self.m % 10 == 0 {
            self.m /= 10;
            self.s -= 1;
        }
        self
    }

    /// Round half to even to at most `s` decimal places (only ever reached
    /// by the power term's long tail).
    fn limited(self, s: u32) -> Dec {
        if self.s <= s {
            return self;
        }
        let div = p10(self.s - s);
        let (q, r) = (self.m.div_euclid(div), self.m.rem_euclid(div));
        let q = match (2 * r).cmp(&div) {
            Ordering::Greater => q + 1,
            Ordering::Equal if q % 2 != 0 => q + 1,
            _ => q,
        };
        Dec { m: q, s }
    }

    pub(crate) fn add(self, o: Dec) -> Dec {
        let (a, b, s) = self.aligned(o);
        Dec { m: a + b, s }.normalized()
    }

    pub(crate) fn sub(self, o: Dec) -> Dec {
        let (a, b, s) = self.aligned(o);
        Dec { m: a - b, s }.normalized()
    }

    pub(crate) fn mul(self, o: Dec) -> Dec {
        let (a, b) = (self.limited(POW_SCALE), o.limited(POW_SCALE));
        match a.m.checked_mul(b.m) {
            Some(m) => Dec { m, s: a.s + b.s }.normalized(),
            // Unreachable with CVSS weights (at most one long operand per
            // product); degrade rather than wrap.
            None => {
                let (a, b) = (a.limited(9), b.limited(9));
                Dec {
                    m: a.m.saturating_mul(b.m),
                    s: a.s + b.s,
                }
                .normalized()
            }
        }
    }

    /// `self^n` for `|self| < 1`, to [`POW_SCALE`] places.
    pub(crate) fn powi(self, n: u32) -> Dec {
        let x = self.limited(POW_SCALE);
        let x = x.m * p10(POW_SCALE - x.s);
        let unit = p10(POW_SCALE);
        let mut acc = unit;
        for _ in 0..n {
            let p = acc * x;
            let (q, r) = (p.div_euclid(unit), p.rem_euclid(unit));
            acc = match (2 * r).cmp(&unit) {
                Ordering::Greater => q + 1,
                Ordering::Equal if q % 2 != 0 => q + 1,
                _ => q,
            };
        }
        Dec {
            m: acc,
            s: POW_SCALE,
        }
        .normalized()
    }

    pub(crate) fn min(self, o: Dec) -> Dec {
        if self.cmp_dec(o) == Ordering::Greater {
            o
        } else {
            self
        }
    }

    pub(crate) fn max(self, o: Dec) -> Dec {
        if self.cmp_dec(o) == Ordering::Less {
            o
        } else {
            self
        }
    }

    pub(crate) fn cmp_dec(self, o: Dec) -> Ordering {
        let (a, b, _) = self.aligned(o);
        a.cmp(&b)
    }

    pub(crate) fn is_zero(self) -> bool {
        self.m == 0
    }

    pub(crate) fn is_positive(self) -> bool {
        self.m > 0
    }

    /// CVSS v3.0 "Round up": the smallest one-decimal number ≥ the input.
    pub(crate) fn ceil1(self) -> Dec {
        if self.s <= 1 {
            return self;
        }
        let div = p10(self.s - 1);
        let q = self.m.div_euclid(div);
        let q = if self.m.rem_euclid(div) != 0 {
            q + 1
        } else {
            q
        };
        Dec { m: q, s: 1 }.normalized()
    }

    /// CVSS v3.1 Appendix A Roundup: round to five decimal places (half
    /// up, as `round_to_int`), then up to one decimal place.
    pub(crate) fn roundup31(self) -> Dec {
        let five = self.round_half(5, false);
        let i = five.m * p10(5 - five.s.min(5));
        let q = if i.rem_euclid(10_000) == 0 {
            i.div_euclid(10_000)
        } else {
            i.div_euclid(10_000) + 1
        };
        Dec { m: q, s: 1 }.normalized()
    }

    /// CVSS v2 `round_to_1_decimal`: half away from zero (a negative value
    /// only occurs inside the environmental equation, before its clamp).
    pub(crate) fn round1(self) -> Dec {
        self.round_half(1, true)
    }

    fn round_half(self, s: u32, away_from_zero: bool) -> Dec {
        if self.s <= s {
            return self;
        }
        let div = p10(self.s - s);
        let neg = self.m < 0 && away_from_zero;
        let m = if neg { -self.m } else { self.m };
        let (q, r) = (m.div_euclid(div), m.rem_euclid(div));
        let q = if 2 * r >= div { q + 1 } else { q };
        Dec {
            m: if neg { -q } else { q },
            s,
        }
        .normalized()
    }

    /// The nearest `f64` (one correctly rounded division: the same double
    /// as parsing the decimal text).
    pub(crate) fn to_f64(self) -> f64 {
        self.m as f64 / p10(self.s) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding() {
        assert_eq!(d(4_000_001, 6).ceil1().to_f64(), 4.1);
        assert_eq!(d(4_000_001, 6).roundup31().to_f64(), 4.0);
        assert_eq!(d(4_000_010, 6).roundup31().to_f64(), 4.1);
        assert_eq!(d(40, 1).roundup31().to_f64(), 4.0);
        assert_eq!(d(445, 2).round1().to_f64(), 4.5);
        assert_eq!(d(-15, 2).round1().to_f64(), -0.2);
        assert_eq!(d(-3, 1).ceil1().to_f64(), -0.3);
        assert_eq!(d(5, 1).powi(3).to_f64(), 0.125);
        assert_eq!(d(-2, 2).powi(15).to_f64(), 0.0);
    }
}
