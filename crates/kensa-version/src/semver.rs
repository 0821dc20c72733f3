//! Semantic versions (SemVer 2.0.0) in the two flavours Kensa matches:
//! npm's `semver` package (`semver.valid` and `semver.compare` with default,
//! non-loose options) and Cargo's `semver` crate (`Version::parse`).
//!
//! Both read `MAJOR.MINOR.PATCH[-PRE][+BUILD]`: numbers without leading
//! zeros; pre-release and build identifiers are non-empty runs of
//! `[0-9A-Za-z-]` separated by dots; all-digit pre-release identifiers have
//! no leading zeros (build identifiers may). They differ only around that:
//!
//! * npm trims JavaScript whitespace, accepts one leading `v` (not `V`, and
//!   not `=`: `semver.valid("=1.2.3")` is `null`; only ranges take `=`),
//!   rejects inputs longer than 256 UTF-16 units and main numbers above
//!   `Number.MAX_SAFE_INTEGER`.
//! * Cargo takes the bare text and allows main numbers up to `u64::MAX`.
//!
//! Precedence is SemVer's: main numbers, then a release above any of its
//! pre-releases, then identifier by identifier (numeric ones numerically and
//! below alphanumeric ones, which compare in ASCII order; a longer list wins
//! a tie). Build metadata never orders.
//!
//! Cargo's `Version` type also has an `Ord` that breaks precedence ties on
//! build metadata; Kensa deliberately uses precedence (`cmp_precedence`)
//! instead. A vulnerability range is a statement about precedence: SemVer
//! says build metadata must be ignored, Cargo's `VersionReq` matching
//! ignores it, and crates.io refuses a version that differs from a published
//! one only in metadata, so `1.2.3+a` and `1.2.3+b` are the same release and
//! must fall on the same side of every range boundary.

use std::cmp::Ordering;

use crate::{Ecosystem, VersionError};

/// The largest main number npm accepts (JavaScript's
/// `Number.MAX_SAFE_INTEGER`, 2^53 - 1): above it, npm's numbers would lose
/// precision, so `semver` rejects the version.
pub const NPM_MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

/// npm rejects longer inputs, counted in UTF-16 units before trimming.
const NPM_MAX_LENGTH: usize = 256;

/// A parsed semantic version that borrows its input.
#[derive(Clone, Copy, Debug)]
pub struct SemVer<'a> {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    /// Pre-release identifiers without the leading `-`; empty for a release.
    pub pre: &'a str,
    /// Build metadata without the leading `+`; empty when there is none.
    pub build: &'a str,
}

impl<'a> SemVer<'a> {
    /// Parse as npm's `semver.valid` does with default options.
    pub fn parse_npm(input: &'a str) -> Result<Self, VersionError> {
        let err = |reason| VersionError::new(Ecosystem::Npm, input, reason);
        // Byte length bounds UTF-16 length, so only long inputs pay the count.
        if input.len() > NPM_MAX_LENGTH && input.encode_utf16().count() > NPM_MAX_LENGTH {
            return Err(err("version is longer than 256 characters"));
        }
        let s = input.trim_matches(is_js_whitespace);
        if s.is_empty() {
            return Err(err("version string is empty"));
        }
        let s = s.strip_prefix('v').unwrap_or(s);
        parse_core(
            s,
            NPM_MAX_SAFE_INTEGER,
            "version number is above Number.MAX_SAFE_INTEGER",
        )
        .map_err(err)
    }

    /// Parse as the `semver` crate's `Version::parse` does.
    pub fn parse_cargo(input: &'a str) -> Result<Self, VersionError> {
        let err = |reason| VersionError::new(Ecosystem::Cargo, input, reason);
        if input.is_empty() {
            return Err(err("version string is empty"));
        }
        parse_core(input, u64::MAX, "version number does not fit in 64 bits").map_err(err)
    }

    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    /// npm's `semver.compare`, which is SemVer precedence except for one
    /// quirk of JavaScript numbers: all-digit pre-release identifiers of 2^53
    /// and above are compared as rounded doubles, and when two different
    /// ones round to the same double npm declares the versions equal without
    /// looking at later identifiers. Such versions do not occur in practice;
    /// the quirk is kept so that Kensa and npm agree on every pair (it makes
    /// this comparison non-transitive there, which is why [`Ord`] does not
    /// use it).
    pub fn cmp_npm(&self, other: &Self) -> Ordering {
        self.major
            .cmp(&other.major)
            .then(self.minor.cmp(&other.minor))
            .then(self.patch.cmp(&other.patch))
            .then_with(|| cmp_pre_with(self.pre, other.pre, npm_cmp_identifier))
    }
}

/// SemVer precedence: build metadata is ignored (see the module comment).
impl Ord for SemVer<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.major
            .cmp(&other.major)
            .then(self.minor.cmp(&other.minor))
            .then(self.patch.cmp(&other.patch))
            .then_with(|| cmp_prerelease(self.pre, other.pre))
    }
}

impl PartialOrd for SemVer<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SemVer<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SemVer<'_> {}

/// Compare two versions as npm's `semver.compare` does.
pub fn compare_npm(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(SemVer::parse_npm(a)?.cmp_npm(&SemVer::parse_npm(b)?))
}

/// Check that `v` is a version npm's `semver.valid` accepts.
pub fn validate_npm(v: &str) -> Result<(), VersionError> {
    SemVer::parse_npm(v).map(|_| ())
}

/// Compare two versions by Cargo's SemVer precedence (build metadata
/// ignored, as the `semver` crate's `Version::cmp_precedence`).
pub fn compare_cargo(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(SemVer::parse_cargo(a)?.cmp(&SemVer::parse_cargo(b)?))
}

/// Check that `v` is a version the `semver` crate's `Version::parse` accepts.
pub fn validate_cargo(v: &str) -> Result<(), VersionError> {
    SemVer::parse_cargo(v).map(|_| ())
}

/// JavaScript's `String.prototype.trim` set (WhiteSpace and LineTerminator).
/// It differs from Rust's `char::is_whitespace`: it includes U+FEFF and
/// excludes U+0085.
fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// `MAJOR.MINOR.PATCH[-PRE][+BUILD]`, the grammar npm and Cargo share once
/// npm's trimming and `v` are gone.
fn parse_core<'a>(s: &'a str, max: u64, too_big: &'static str) -> Result<SemVer<'a>, &'static str> {
    let (major, rest) = number(s, max, too_big)?;
    let rest = rest
        .strip_prefix('.')
        .ok_or("expected a dot after the major version")?;
    let (minor, rest) = number(rest, max, too_big)?;
    let rest = rest
        .strip_prefix('.')
        .ok_or("expected a dot after the minor version")?;
    let (patch, rest) = number(rest, max, too_big)?;
    let (pre, build) = suffix(rest)?;
    Ok(SemVer {
        major,
        minor,
        patch,
        pre,
        build,
    })
}

/// A main version number: digits without a leading zero, at most `max`.
fn number<'a>(s: &'a str, max: u64, too_big: &'static str) -> Result<(u64, &'a str), &'static str> {
    let (digits, rest) = split_number(s)?;
    let mut value: u64 = 0;
    for b in digits.bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .filter(|v| *v <= max)
            .ok_or(too_big)?;
    }
    Ok((value, rest))
}

/// The digit run at the start of `s`, which must be a number without a
/// leading zero; digits are ASCII, so the split is on a char boundary.
pub(crate) fn split_number(s: &str) -> Result<(&str, &str), &'static str> {
    let len = s.bytes().take_while(u8::is_ascii_digit).count();
    if len == 0 {
        return Err("expected a version number");
    }
    if len > 1 && s.as_bytes()[0] == b'0' {
        return Err("version number has a leading zero");
    }
    Ok(s.split_at(len))
}

/// What follows the patch number: `[-PRE][+BUILD]`, each checked.
pub(crate) fn suffix(rest: &str) -> Result<(&str, &str), &'static str> {
    let (pre, build) = match rest.as_bytes().first() {
        None => return Ok(("", "")),
        Some(b'-') => match rest[1..].split_once('+') {
            Some((pre, build)) => (pre, Some(build)),
            None => (&rest[1..], None),
        },
        Some(b'+') => ("", Some(&rest[1..])),
        Some(_) => return Err("unexpected character after the version number"),
    };
    if rest.starts_with('-') {
        check_identifiers(pre, true)?;
    }
    let build = match build {
        Some(build) => {
            check_identifiers(build, false)?;
            build
        }
        None => "",
    };
    Ok((pre, build))
}

/// Dot-separated, non-empty `[0-9A-Za-z-]` identifiers; in a pre-release,
/// all-digit identifiers have no leading zero.
fn check_identifiers(s: &str, pre: bool) -> Result<(), &'static str> {
    for id in s.split('.') {
        if id.is_empty() {
            return Err(if pre {
                "empty pre-release identifier"
            } else {
                "empty build metadata identifier"
            });
        }
        if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(if pre {
                "pre-release identifier has a character other than [0-9A-Za-z-]"
            } else {
                "build metadata has a character other than [0-9A-Za-z-]"
            });
        }
        if pre && id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit()) {
            return Err("numeric pre-release identifier has a leading zero");
        }
    }
    Ok(())
}

/// SemVer pre-release precedence on validated pre-release strings (without
/// the `-`). Numeric identifiers may be of any length: without leading
/// zeros, numeric order is length order, then digit order.
pub(crate) fn cmp_prerelease(a: &str, b: &str) -> Ordering {
    cmp_pre_with(a, b, cmp_identifier)
}

/// The pre-release walk, with the identifier comparison as a parameter. An
/// identifier comparison returning `Equal` for two different identifiers
/// ends the walk (npm's behaviour; SemVer's comparison never does that).
fn cmp_pre_with(a: &str, b: &str, ident: fn(&str, &str) -> Ordering) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    // A release sorts above every one of its pre-releases.
    if a.is_empty() {
        return Ordering::Greater;
    }
    if b.is_empty() {
        return Ordering::Less;
    }
    let (mut xs, mut ys) = (a.split('.'), b.split('.'));
    loop {
        match (xs.next(), ys.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x == y => {}
            (Some(x), Some(y)) => return ident(x, y),
        }
    }
}

fn is_numeric(id: &str) -> bool {
    id.bytes().all(|b| b.is_ascii_digit())
}

/// SemVer's identifier order: numeric below alphanumeric.
fn cmp_identifier(x: &str, y: &str) -> Ordering {
    match (is_numeric(x), is_numeric(y)) {
        (true, true) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => x.cmp(y),
    }
}

/// npm's `compareIdentifiers`: numeric identifiers become JavaScript
/// numbers (doubles). Up to 15 digits that is exact; longer ones are
/// rounded as `Number("…")` rounds them, which Rust's correctly rounded
/// `f64` parsing reproduces.
fn npm_cmp_identifier(x: &str, y: &str) -> Ordering {
    match (is_numeric(x), is_numeric(y)) {
        (true, true) if x.len() <= 15 && y.len() <= 15 => {
            x.len().cmp(&y.len()).then_with(|| x.cmp(y))
        }
        (true, true) => {
            let to_f64 = |s: &str| s.parse::<f64>().unwrap_or(f64::INFINITY);
            to_f64(x).total_cmp(&to_f64(y))
        }
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        // JavaScript compares UTF-16 units; identifiers are ASCII.
        (false, false) => x.cmp(y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npm(a: &str, b: &str) -> Ordering {
        compare_npm(a, b).expect("valid npm versions")
    }

    fn cargo(a: &str, b: &str) -> Ordering {
        compare_cargo(a, b).expect("valid Cargo versions")
    }

    #[test]
    fn semver_spec_precedence_example() {
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "2.0.0",
            "2.1.0",
            "2.1.1",
        ];
        for w in chain.windows(2) {
            assert_eq!(npm(w[0], w[1]), Ordering::Less, "{} < {}", w[0], w[1]);
            assert_eq!(cargo(w[0], w[1]), Ordering::Less, "{} < {}", w[0], w[1]);
            assert_eq!(cargo(w[1], w[0]), Ordering::Greater);
        }
    }

    #[test]
    fn numeric_identifiers_sort_below_alphanumeric_and_compare_numerically() {
        assert_eq!(cargo("1.0.0-9", "1.0.0-10"), Ordering::Less);
        assert_eq!(cargo("1.0.0-999", "1.0.0-a"), Ordering::Less);
        assert_eq!(cargo("1.0.0-1a", "1.0.0-1"), Ordering::Greater);
        assert_eq!(cargo("1.0.0-A", "1.0.0-a"), Ordering::Less);
        assert_eq!(cargo("1.0.0--", "1.0.0-0"), Ordering::Greater);
        let long = "1.0.0-123456789012345678901234567890";
        assert_eq!(
            cargo(long, "1.0.0-99999999999999999999999999999"),
            Ordering::Greater
        );
    }

    #[test]
    fn build_metadata_is_ignored() {
        assert_eq!(npm("1.2.3+a", "1.2.3+b"), Ordering::Equal);
        assert_eq!(cargo("1.2.3+a", "1.2.3"), Ordering::Equal);
        assert_eq!(cargo("1.2.3-rc.1+z", "1.2.3-rc.1+a"), Ordering::Equal);
    }

    #[test]
    fn npm_trims_and_takes_a_lowercase_v_but_not_an_equals_sign() {
        assert_eq!(npm(" v1.2.3\u{FEFF}", "1.2.3"), Ordering::Equal);
        assert_eq!(npm("\u{A0}\u{3000}1.2.3\r\n", "1.2.3"), Ordering::Equal);
        for bad in [
            "=1.2.3",
            "V1.2.3",
            "vv1.2.3",
            "v 1.2.3",
            "\u{85}1.2.3",
            "1.2.3 -rc",
        ] {
            assert!(validate_npm(bad).is_err(), "{bad:?}");
        }
        for bad in [" 1.2.3", "v1.2.3", "1.2.3\n"] {
            assert!(validate_cargo(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn npm_length_limit_counts_utf16_units_before_trimming() {
        let at_limit = format!("1.0.0-{}", "a".repeat(250));
        assert!(validate_npm(&at_limit).is_ok());
        assert!(validate_npm(&format!(" {at_limit}")).is_err());
        // U+3000 is 3 bytes but one UTF-16 unit.
        let padded = format!("{}1.0.0", "\u{3000}".repeat(251));
        assert!(validate_npm(&padded).is_ok());
        assert!(validate_npm(&format!("\u{3000}{padded}")).is_err());
        assert!(validate_cargo(&format!("1.0.0-{}", "a".repeat(1000))).is_ok());
    }

    #[test]
    fn npm_main_numbers_stop_at_max_safe_integer_cargo_at_u64() {
        assert!(validate_npm("9007199254740991.0.0").is_ok());
        assert!(validate_npm("0.9007199254740992.0").is_err());
        assert!(validate_npm("0.0.99999999999999999999999").is_err());
        assert!(validate_cargo("9007199254740992.0.18446744073709551615").is_ok());
        assert!(validate_cargo("18446744073709551616.0.0").is_err());
    }

    #[test]
    fn malformed_versions_are_rejected_by_both() {
        for bad in [
            "",
            "1",
            "1.2",
            "1.2.3.4",
            "01.2.3",
            "1.02.3",
            "1.2.03",
            "1.2.3-",
            "1.2.3+",
            "1.2.3-01",
            "1.2.3-a..b",
            "1.2.3-a.",
            "1.2.3+a..b",
            "1.2.3-a_b",
            "1.2.3+é",
            "1.2.3-a+b+c",
            "a.b.c",
            "-1.2.3",
            "1.2.3rc1",
        ] {
            assert!(validate_cargo(bad).is_err(), "cargo {bad:?}");
            assert!(validate_npm(bad).is_err(), "npm {bad:?}");
        }
        // Leading zeros are fine in build metadata and in mixed identifiers.
        assert!(validate_cargo("1.2.3-0a.0+001.0").is_ok());
        assert!(validate_npm("1.2.3-0a.0+001.0").is_ok());
    }

    #[test]
    fn npm_rounds_huge_numeric_identifiers_like_javascript() {
        // 2^53 + 1 rounds to 2^53: npm stops at the first identifier.
        assert_eq!(
            npm("1.0.0-9007199254740993.a", "1.0.0-9007199254740992.b"),
            Ordering::Equal
        );
        assert_eq!(
            npm("1.0.0-9007199254740994", "1.0.0-9007199254740993"),
            Ordering::Greater
        );
        // Cargo compares the exact numbers.
        assert_eq!(
            cargo("1.0.0-9007199254740993.a", "1.0.0-9007199254740992.b"),
            Ordering::Greater
        );
        // Below 2^53 npm is exact too.
        assert_eq!(
            npm("1.0.0-9007199254740990", "1.0.0-9007199254740991"),
            Ordering::Less
        );
    }

    #[test]
    fn errors_name_the_ecosystem_and_reason() {
        let e = compare_npm("1.2.3", "1.2").expect_err("too short");
        assert_eq!((e.ecosystem, e.version.as_str()), (Ecosystem::Npm, "1.2"));
        let e = compare_cargo("1.02.3", "1.2.3").expect_err("leading zero");
        assert_eq!(e.ecosystem, Ecosystem::Cargo);
        assert!(e.to_string().contains("leading zero"), "{e}");
    }
}
