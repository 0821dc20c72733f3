//! RubyGems versions, validated and ordered as `Gem::Version` (RubyGems 3.3)
//! does it.
//!
//! Valid versions match `Gem::Version.correct?`: optional ASCII whitespace
//! around `N(.X)*(-Y(.Y)*)?`, where `N` is digits, `X` letters and digits,
//! and `Y` letters, digits and `-`; the empty (or blank) string is valid and
//! means `0`. Note that `1a` is invalid while `1.0a` is valid.
//!
//! Ordering: every `-` reads as `.pre.`, then the version is cut into
//! segments, each a run of digits (a number) or of ASCII letters (a string);
//! anything else only separates. The segments before the first string lose
//! their trailing zeros (so `1.0.a` is `1.a`), and the two lists compare
//! segment by segment, a missing segment counting as `0`: a string sorts
//! before any number (a pre-release), strings compare byte by byte (so case
//! matters: `1.RC` < `1.rc`), numbers by value.

use std::cmp::Ordering;

use crate::{Ecosystem, VersionError};

/// A valid RubyGems version that borrows its input (without the surrounding
/// whitespace).
#[derive(Clone, Copy, Debug)]
pub struct GemVersion<'a> {
    text: &'a str,
}

/// Ruby's `\s`: ASCII whitespace, vertical tab included.
fn is_ruby_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r')
}

impl<'a> GemVersion<'a> {
    /// Parse as `Gem::Version.new` does, rejecting what `correct?` rejects.
    pub fn parse(input: &'a str) -> Result<Self, VersionError> {
        let err = |reason| VersionError::new(Ecosystem::RubyGems, input, reason);
        let text = input.trim_matches(is_ruby_space);
        if text.is_empty() {
            return Ok(GemVersion { text });
        }
        let (release, pre) = match text.split_once('-') {
            Some((r, p)) => (r, Some(p)),
            None => (text, None),
        };
        let mut parts = release.split('.');
        if !parts
            .next()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(err("a version must start with a number"));
        }
        if !parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric())) {
            return Err(err(
                "release segments must be letters and digits separated by single dots",
            ));
        }
        if let Some(pre) = pre {
            let ok = pre.split('.').all(|p| {
                !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
            if !ok {
                return Err(err(
                    "pre-release segments must be letters, digits and '-' separated by single dots",
                ));
            }
        }
        Ok(GemVersion { text })
    }

    /// The version without surrounding whitespace.
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    fn segments(&self) -> Canonical<'a> {
        Canonical {
            raw: Segments {
                rest: self.text.as_bytes(),
            },
            numeric_part: true,
            zeros: 0,
            held: None,
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Segment<'a> {
    /// ASCII digits, leading zeros included.
    Num(&'a [u8]),
    Str(&'a [u8]),
}

const ZERO: Segment<'static> = Segment::Num(b"0");

impl Segment<'_> {
    fn is_zero(&self) -> bool {
        matches!(self, Segment::Num(d) if d.iter().all(|&b| b == b'0'))
    }

    fn cmp_segment(&self, other: &Segment<'_>) -> Ordering {
        match (*self, *other) {
            (Segment::Num(a), Segment::Num(b)) => {
                let a = trim_zeros(a);
                let b = trim_zeros(b);
                a.len().cmp(&b.len()).then_with(|| a.cmp(b))
            }
            (Segment::Num(_), Segment::Str(_)) => Ordering::Greater,
            (Segment::Str(_), Segment::Num(_)) => Ordering::Less,
            (Segment::Str(a), Segment::Str(b)) => a.cmp(b),
        }
    }
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let n = d.iter().take_while(|&&b| b == b'0').count();
    d.get(n..).unwrap_or(&[])
}

/// `@version.scan(/[0-9]+|[a-z]+/i)` on the version with each `-` read as
/// `.pre.`.
#[derive(Clone, Debug)]
struct Segments<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Segments<'a> {
    type Item = Segment<'a>;

    fn next(&mut self) -> Option<Segment<'a>> {
        loop {
            let (&first, tail) = self.rest.split_first()?;
            if first == b'-' {
                self.rest = tail;
                return Some(Segment::Str(b"pre"));
            }
            let run = if first.is_ascii_digit() {
                self.rest.iter().take_while(|b| b.is_ascii_digit()).count()
            } else if first.is_ascii_alphabetic() {
                self.rest
                    .iter()
                    .take_while(|b| b.is_ascii_alphabetic())
                    .count()
            } else {
                self.rest = tail;
                continue;
            };
            let (seg, rest) = self.rest.split_at(run);
            self.rest = rest;
            return Some(if first.is_ascii_digit() {
                Segment::Num(seg)
            } else {
                Segment::Str(seg)
            });
        }
    }
}

/// `canonical_segments` as a stream: zeros at the end of the numeric part
/// (before the first string, or at the very end) are dropped. Zeros at the
/// end of the string part are kept, which changes nothing because missing
/// segments compare as zeros.
struct Canonical<'a> {
    raw: Segments<'a>,
    numeric_part: bool,
    /// Zeros still to hand out before `held`.
    zeros: usize,
    held: Option<Segment<'a>>,
}

impl<'a> Iterator for Canonical<'a> {
    type Item = Segment<'a>;

    fn next(&mut self) -> Option<Segment<'a>> {
        if self.zeros > 0 {
            self.zeros -= 1;
            return Some(ZERO);
        }
        if let Some(seg) = self.held.take() {
            return Some(seg);
        }
        let seg = self.raw.next()?;
        if let Segment::Str(_) = seg {
            self.numeric_part = false;
        }
        if !(self.numeric_part && seg.is_zero()) {
            return Some(seg);
        }
        // A run of zeros in the numeric part survives only if a non-zero
        // number follows it.
        let mut run = 1;
        loop {
            match self.raw.next() {
                Some(s) if s.is_zero() => run += 1,
                Some(s @ Segment::Num(_)) => {
                    self.zeros = run - 1;
                    self.held = Some(s);
                    return Some(ZERO);
                }
                Some(s) => {
                    self.numeric_part = false;
                    return Some(s);
                }
                None => return None,
            }
        }
    }
}

impl Ord for GemVersion<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        let (mut x, mut y) = (self.segments(), other.segments());
        loop {
            let o = match (x.next(), y.next()) {
                (None, None) => return Ordering::Equal,
                (l, r) => l.unwrap_or(ZERO).cmp_segment(&r.unwrap_or(ZERO)),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
    }
}

impl PartialOrd for GemVersion<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for GemVersion<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for GemVersion<'_> {}

/// Compare two RubyGems versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(GemVersion::parse(a)?.cmp(&GemVersion::parse(b)?))
}

/// Check that `v` is a version `Gem::Version.correct?` accepts.
pub fn validate(v: &str) -> Result<(), VersionError> {
    GemVersion::parse(v).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).expect("valid versions")
    }

    fn assert_order(versions: &[&str]) {
        for w in versions.windows(2) {
            assert_eq!(cmp(w[0], w[1]), Ordering::Less, "{} < {}", w[0], w[1]);
            assert_eq!(cmp(w[1], w[0]), Ordering::Greater, "{} > {}", w[1], w[0]);
        }
    }

    #[test]
    fn prereleases_sort_before_releases() {
        assert_order(&[
            "1.0.a", "1.0.a.1", "1.0.b1", "1.0.beta", "1.0.pre", "1.0.rc1", "1.0", "1.0.0.1", "1.1",
        ]);
        assert_order(&["1.0.RC1", "1.0.rc1"]);
    }

    #[test]
    fn trailing_zeros_and_dashes() {
        for (a, b) in [
            ("1.0.0", "1"),
            ("1.0.a", "1.a"),
            ("1.0a", "1.a"),
            ("1.a.0.0", "1.a"),
            ("1.0-1", "1.pre.1"),
            ("1.0-rc1", "1.0.pre.rc1"),
            ("01.2", "1.2"),
            ("", "0"),
            ("  ", "0.0"),
            (" 1.0\n", "1"),
        ] {
            assert_eq!(cmp(a, b), Ordering::Equal, "{a} = {b}");
        }
        // Zeros in the middle of the string part stay.
        assert_eq!(cmp("1.a.0.b", "1.a.b"), Ordering::Greater);
        assert_eq!(cmp("1.0.0.1.a", "1.1.a"), Ordering::Less);
    }

    #[test]
    fn big_numbers() {
        assert_order(&["1.99999999999999999999", "1.100000000000000000000"]);
    }

    #[test]
    fn validity_follows_correct() {
        for v in [
            "", " ", "1", "1.a", "1.0a", "1.0--", "1.0-a.-b", "1\u{b}", "1-1",
        ] {
            assert!(validate(v).is_ok(), "{v:?}");
        }
        for v in [
            "1a",
            "a",
            "1.",
            ".1",
            "1.-a",
            "1.a-",
            "1..0",
            "1.0-",
            "1 0",
            "1\0",
            "1.0.\u{a0}",
            "v1",
        ] {
            let e = validate(v).expect_err(v);
            assert_eq!(e.ecosystem, Ecosystem::RubyGems);
        }
    }

    /// Random strings over the characters that matter: no panic, and
    /// swapping the operands reverses the answer.
    #[test]
    fn random_input_is_antisymmetric_and_never_panics() {
        const PIECES: &[&str] = &[
            "1",
            "0",
            "00",
            "99999999999999999999",
            ".",
            "-",
            "a",
            "Z",
            "pre",
            " ",
            "\u{b}",
            "_",
            "\u{e9}",
        ];
        crate::random_pieces_check(PIECES, compare, validate);
    }
}
