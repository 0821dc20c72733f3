//! Go module versions, ordered as `golang.org/x/mod/semver` orders them, and
//! the pseudo-versions of `golang.org/x/mod/module`.
//!
//! A version is `vMAJOR[.MINOR[.PATCH[-PRE][+BUILD]]]`: the `v` is required,
//! and `v1` and `v1.2` are shorthands for `v1.0.0` and `v1.2.0` (only
//! without a suffix: `v1-rc` is invalid). Numbers have no leading zeros and
//! no size limit. Otherwise it is SemVer 2.0.0, so `+incompatible` (the mark
//! of a v2+ module without a go.mod) is build metadata and ignored by the
//! ordering.
//!
//! A pseudo-version names an untagged commit as a pre-release, which is
//! what makes it order correctly without special cases:
//!
//! 1. `vX.0.0-yyyymmddhhmmss-abcdef123456`: no earlier tag, below `vX.0.0`;
//! 2. `vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdef123456`: after the tag `vX.Y.Z`,
//!    below any real pre-release of `vX.Y.(Z+1)`;
//! 3. `vX.Y.Z-pre.0.yyyymmddhhmmss-abcdef123456`: after the tag `vX.Y.Z-pre`.
//!
//! Any of them may carry `+incompatible`.
//!
//! The Go vulnerability database's OSV records write versions without the
//! `v`; callers add it back before comparing.

use std::cmp::Ordering;

use crate::semver::{cmp_prerelease, split_number, suffix};
use crate::{Ecosystem, VersionError};

/// A parsed Go module version that borrows its input. Shorthand versions
/// get `"0"` for their missing minor and patch numbers.
#[derive(Clone, Copy, Debug)]
pub struct GoVersion<'a> {
    /// Decimal digits without leading zeros, of any length.
    pub major: &'a str,
    pub minor: &'a str,
    pub patch: &'a str,
    /// Pre-release identifiers without the leading `-`; empty for a release.
    pub pre: &'a str,
    /// Build metadata without the leading `+` (`incompatible`, say).
    pub build: &'a str,
}

/// The commit time of a pseudo-version (UTC), checked as Go's `time.Parse`
/// checks it: a real calendar date and a time of day below 24:00:00 (no
/// leap second).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PseudoTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl<'a> GoVersion<'a> {
    /// Parse as `semver.IsValid` does.
    pub fn parse(input: &'a str) -> Result<Self, VersionError> {
        let err = |reason| VersionError::new(Ecosystem::Go, input, reason);
        let s = input
            .strip_prefix('v')
            .ok_or_else(|| err("Go versions start with v"))?;
        let (major, rest) = split_number(s).map_err(err)?;
        let shorthand = |rest: &str| {
            if rest.starts_with(['-', '+']) {
                err("a vMAJOR or vMAJOR.MINOR shorthand takes no suffix")
            } else {
                err("expected a dot after the version number")
            }
        };
        if rest.is_empty() {
            return Ok(GoVersion::release(major, "0", "0"));
        }
        let rest = rest.strip_prefix('.').ok_or_else(|| shorthand(rest))?;
        let (minor, rest) = split_number(rest).map_err(err)?;
        if rest.is_empty() {
            return Ok(GoVersion::release(major, minor, "0"));
        }
        let rest = rest.strip_prefix('.').ok_or_else(|| shorthand(rest))?;
        let (patch, rest) = split_number(rest).map_err(err)?;
        let (pre, build) = suffix(rest).map_err(err)?;
        Ok(GoVersion {
            major,
            minor,
            patch,
            pre,
            build,
        })
    }

    fn release(major: &'a str, minor: &'a str, patch: &'a str) -> Self {
        GoVersion {
            major,
            minor,
            patch,
            pre: "",
            build: "",
        }
    }

    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    /// Whether this is a pseudo-version, as `module.IsPseudoVersion` decides.
    pub fn is_pseudo(&self) -> bool {
        self.pseudo_parts().is_some()
    }

    /// The 14-digit `yyyymmddhhmmss` commit time of a pseudo-version, as
    /// written (it may not be a real date: see [`GoVersion::pseudo_time`]).
    pub fn pseudo_timestamp(&self) -> Option<&'a str> {
        self.pseudo_parts().map(|(ts, _)| ts)
    }

    /// The revision of a pseudo-version (usually a 12-character commit hash
    /// prefix), as `module.PseudoVersionRev` returns it.
    pub fn pseudo_revision(&self) -> Option<&'a str> {
        self.pseudo_parts().map(|(_, rev)| rev)
    }

    /// The commit time of a pseudo-version, or `None` if this is not a
    /// pseudo-version or its timestamp is not a valid time (where
    /// `module.PseudoVersionTime` fails).
    pub fn pseudo_time(&self) -> Option<PseudoTime> {
        let ts = self.pseudo_timestamp()?.as_bytes();
        let num = |range: std::ops::Range<usize>| {
            ts[range]
                .iter()
                .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'))
        };
        let (year, month, day) = (num(0..4), num(4..6), num(6..8));
        let (hour, minute, second) = (num(8..10), num(10..12), num(12..14));
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if day == 0 || day > days_in_month || hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        // Every value was checked above to be at most 59 (or a year).
        let small = |n: u16| u8::try_from(n).ok();
        Some(PseudoTime {
            year,
            month: small(month)?,
            day: small(day)?,
            hour: small(hour)?,
            minute: small(minute)?,
            second: small(second)?,
        })
    }

    /// `(timestamp, revision)` when the pre-release has a pseudo-version
    /// form: its last identifier is `yyyymmddhhmmss-rev` (14 digits, then
    /// letters and digits only), and either it is the only identifier of a
    /// `vX.0.0` version (form 1) or the identifier before it is `0`
    /// (forms 2 and 3).
    fn pseudo_parts(&self) -> Option<(&'a str, &'a str)> {
        let (head, last) = match self.pre.rsplit_once('.') {
            Some((head, last)) => (Some(head), last),
            None => (None, self.pre),
        };
        let (ts, rev) = last.split_once('-')?;
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if ts.len() != 14
            || !digits(ts)
            || rev.is_empty()
            || !rev.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return None;
        }
        let form_ok = match head {
            None => self.minor == "0" && self.patch == "0",
            Some(head) => head == "0" || head.ends_with(".0"),
        };
        form_ok.then_some((ts, rev))
    }
}

/// Numbers without leading zeros order by length, then digit by digit.
fn cmp_number(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// `semver.Compare` on valid versions: build metadata is ignored.
impl Ord for GoVersion<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_number(self.major, other.major)
            .then_with(|| cmp_number(self.minor, other.minor))
            .then_with(|| cmp_number(self.patch, other.patch))
            .then_with(|| cmp_prerelease(self.pre, other.pre))
    }
}

impl PartialOrd for GoVersion<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for GoVersion<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for GoVersion<'_> {}

/// Compare two Go module versions. Unlike `semver.Compare`, which sorts
/// invalid versions below valid ones, an invalid version is an error.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(GoVersion::parse(a)?.cmp(&GoVersion::parse(b)?))
}

/// Check that `v` is a version `semver.IsValid` accepts.
pub fn validate(v: &str) -> Result<(), VersionError> {
    GoVersion::parse(v).map(|_| ())
}

/// `module.IsPseudoVersion`: a valid Go version in one of the three
/// pseudo-version forms.
pub fn is_pseudo_version(v: &str) -> bool {
    GoVersion::parse(v).is_ok_and(|v| v.is_pseudo())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).expect("valid Go versions")
    }

    #[test]
    fn shorthands_fill_in_zeros_but_take_no_suffix() {
        assert_eq!(cmp("v1", "v1.0.0"), Ordering::Equal);
        assert_eq!(cmp("v1.2", "v1.2.0"), Ordering::Equal);
        assert_eq!(cmp("v1.2", "v1.10"), Ordering::Less);
        for bad in ["v1-rc.1", "v1.2+meta", "v1.2-0", "v1.", "v1.2.", "v"] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_v_is_required_and_numbers_are_unbounded() {
        for bad in [
            "1.2.3",
            "V1.2.3",
            " v1.2.3",
            "v01.2.3",
            "v1.2.3 ",
            "v1.2.3-01",
        ] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            cmp(
                "v99999999999999999999999.0.0",
                "v100000000000000000000000.0.0"
            ),
            Ordering::Less
        );
    }

    #[test]
    fn incompatible_is_build_metadata() {
        assert_eq!(cmp("v2.0.0+incompatible", "v2.0.0"), Ordering::Equal);
        assert_eq!(cmp("v2.0.1+incompatible", "v2.0.0"), Ordering::Greater);
    }

    #[test]
    fn pseudo_versions_order_as_pre_releases() {
        let chain = [
            "v0.0.0-20190101000000-aaaaaaaaaaaa",
            "v0.0.0-20200101000000-aaaaaaaaaaaa",
            "v0.0.0",
            "v1.2.3",
            "v1.2.4-0.20200101000000-aaaaaaaaaaaa",
            "v1.2.4-0.20210101000000-aaaaaaaaaaaa",
            "v1.2.4-pre",
            "v1.2.4-pre.0.20210101000000-aaaaaaaaaaaa",
            "v1.2.4-pre.1",
            "v1.2.4",
        ];
        for w in chain.windows(2) {
            assert_eq!(cmp(w[0], w[1]), Ordering::Less, "{} < {}", w[0], w[1]);
        }
    }

    #[test]
    fn pseudo_version_forms_and_accessors() {
        let v = GoVersion::parse("v1.2.4-pre.0.20210102030405-abcdef123456+incompatible")
            .expect("valid");
        assert!(v.is_pseudo());
        assert_eq!(v.pseudo_timestamp(), Some("20210102030405"));
        assert_eq!(v.pseudo_revision(), Some("abcdef123456"));
        assert_eq!(
            v.pseudo_time(),
            Some(PseudoTime {
                year: 2021,
                month: 1,
                day: 2,
                hour: 3,
                minute: 4,
                second: 5
            })
        );
        assert!(is_pseudo_version("v0.0.0-20210101000000-abcdef123456"));
        assert!(is_pseudo_version("v3.0.0-20210101000000-abc"));
        assert!(is_pseudo_version("v1.0.0-0.20210101000000-abcdef123456"));
        // Form 1 needs .0.0; forms 2 and 3 need the 0 identifier.
        assert!(!is_pseudo_version("v1.2.0-20210101000000-abcdef123456"));
        assert!(!is_pseudo_version("v1.2.3-1.20210101000000-abcdef123456"));
        assert!(!is_pseudo_version("v1.2.3-pre.20210101000000-abcdef123456"));
        // 14 digits, and a revision of letters and digits only.
        assert!(!is_pseudo_version("v0.0.0-2021010100000-abcdef123456"));
        assert!(!is_pseudo_version("v0.0.0-20210101000000-abc-def"));
        assert!(!is_pseudo_version("0.0.0-20210101000000-abcdef123456"));
        assert!(!is_pseudo_version("v1.2.3"));
    }

    #[test]
    fn pseudo_time_is_checked_like_go_time_parse() {
        let time = |ts: &str| {
            let v = format!("v0.0.0-{ts}-abcdef123456");
            GoVersion::parse(&v).expect("valid").pseudo_time()
        };
        assert!(time("20240229235959").is_some());
        assert!(time("20000229000000").is_some());
        assert!(time("00000229000000").is_some());
        assert!(time("21000229000000").is_none());
        assert!(time("20230229000000").is_none());
        assert!(time("20231301000000").is_none());
        assert!(time("20230100000000").is_none());
        assert!(time("20230431000000").is_none());
        assert!(time("20230101240000").is_none());
        assert!(time("20230101006000").is_none());
        assert!(time("20230101000060").is_none());
    }

    #[test]
    fn errors_name_the_ecosystem() {
        let e = compare("v1.0.0", "1.0.0").expect_err("no v");
        assert_eq!((e.ecosystem, e.version.as_str()), (Ecosystem::Go, "1.0.0"));
    }
}
