//! NuGet package versions, ordered as NuGet's `VersionComparer.Default`
//! orders `NuGetVersion`s (NuGet.Versioning, `NuGetVersion.TryParse`).
//!
//! A version is `N[.N[.N[.N]]][-LABELS][+METADATA]` after trimming
//! whitespace: one to four numbers (missing ones are 0, so `1.0` equals
//! `1.0.0.0`), each at most 2147483647, leading zeros allowed (`1.01` equals
//! `1.1`), whitespace allowed around each number. Labels are SemVer 2.0.0
//! pre-release identifiers (`[0-9A-Za-z-]`, non-empty, no leading zero in an
//! all-digit label); metadata identifiers may have leading zeros.
//!
//! Ordering: the four numbers, then a release above its pre-releases, then
//! label by label. NuGet decides that a label is numeric with .NET's
//! `int.TryParse`, so a label is numeric when it is an optional `-` and
//! digits whose value fits in 32 signed bits: `-1` is the number -1, and
//! `4294967296` is compared as text. Numeric labels sort below the others,
//! which compare ASCII case-insensitively (SemVer 2.0.0 says case-sensitive;
//! NuGet deliberately does not). Metadata never orders.

use std::cmp::Ordering;

use crate::{Ecosystem, VersionError};

/// A parsed NuGet version that borrows its input.
#[derive(Clone, Copy, Debug)]
pub struct NuGetVersion<'a> {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    pub revision: u32,
    /// Release labels without the leading `-`; empty for a release.
    pub release: &'a str,
    /// Build metadata without the leading `+`; empty when there is none.
    pub metadata: &'a str,
}

/// NuGet's numbers are .NET `int`s.
const MAX_NUMBER: u64 = i32::MAX as u64;

impl<'a> NuGetVersion<'a> {
    /// Parse as `NuGetVersion.TryParse` does.
    pub fn parse(input: &'a str) -> Result<Self, VersionError> {
        let err = |reason| VersionError::new(Ecosystem::NuGet, input, reason);
        // Rust's whitespace is Unicode White_Space, the set .NET's
        // `char.IsWhiteSpace` (and so `string.Trim`) uses.
        let s = input.trim();
        if s.is_empty() {
            return Err(err("version string is empty"));
        }
        let (numbers, release, metadata) = match s.find(['-', '+']) {
            None => (s, None, None),
            Some(i) if s[i..].starts_with('-') => match s[i + 1..].split_once('+') {
                Some((release, metadata)) => (&s[..i], Some(release), Some(metadata)),
                None => (&s[..i], Some(&s[i + 1..]), None),
            },
            Some(i) => (&s[..i], None, Some(&s[i + 1..])),
        };
        let [major, minor, patch, revision] = parse_numbers(numbers).map_err(err)?;
        if let Some(release) = release {
            for label in release.split('.') {
                check_identifier(label).map_err(err)?;
                if label.len() > 1
                    && label.bytes().all(|b| b.is_ascii_digit())
                    && label.starts_with('0')
                {
                    return Err(err("numeric release label has a leading zero"));
                }
            }
        }
        if let Some(metadata) = metadata {
            for id in metadata.split('.') {
                check_identifier(id).map_err(err)?;
            }
        }
        Ok(NuGetVersion {
            major,
            minor,
            patch,
            revision,
            release: release.unwrap_or(""),
            metadata: metadata.unwrap_or(""),
        })
    }

    pub fn is_prerelease(&self) -> bool {
        !self.release.is_empty()
    }
}

/// One to four dot-separated numbers, each with optional whitespace around
/// it; missing numbers are 0.
fn parse_numbers(s: &str) -> Result<[u32; 4], &'static str> {
    if s.trim().is_empty() {
        return Err("version number is empty");
    }
    let mut numbers = [0u32; 4];
    let mut rest = s;
    for n in &mut numbers {
        if rest.is_empty() {
            break;
        }
        let (value, after) = number(rest)?;
        *n = value;
        rest = after;
    }
    if !rest.is_empty() {
        return Err("more than four version numbers");
    }
    Ok(numbers)
}

/// One number and what follows its dot (or `""` at the end).
fn number(s: &str) -> Result<(u32, &str), &'static str> {
    let s = s.trim_start();
    let len = s.bytes().take_while(u8::is_ascii_digit).count();
    if len == 0 {
        return Err("expected a version number");
    }
    let mut value: u64 = 0;
    for b in s[..len].bytes() {
        value = value * 10 + u64::from(b - b'0');
        if value > MAX_NUMBER {
            return Err("version number is above 2147483647");
        }
    }
    let after = s[len..].trim_start();
    let rest = match after.strip_prefix('.') {
        Some("") => return Err("version number ends with a dot"),
        Some(rest) => rest,
        None if after.is_empty() => "",
        None => return Err("unexpected character in version number"),
    };
    // The check above bounds value by i32::MAX.
    let value = u32::try_from(value).map_err(|_| "version number is above 2147483647")?;
    Ok((value, rest))
}

/// A non-empty run of `[0-9A-Za-z-]`.
fn check_identifier(id: &str) -> Result<(), &'static str> {
    if id.is_empty() {
        return Err("empty release label or metadata identifier");
    }
    if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err("release label or metadata has a character other than [0-9A-Za-z-]");
    }
    Ok(())
}

/// The value `int.TryParse` gives a label (with invariant-culture signs),
/// or `None` for a label NuGet compares as text.
fn int_label(label: &str) -> Option<i64> {
    let (negative, digits) = match label.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, label),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let limit = if negative { MAX_NUMBER + 1 } else { MAX_NUMBER };
    let mut value: u64 = 0;
    for b in digits.bytes() {
        value = value * 10 + u64::from(b - b'0');
        if value > limit {
            return None;
        }
    }
    let value = i64::try_from(value).ok()?;
    Some(if negative { -value } else { value })
}

fn cmp_label(x: &str, y: &str) -> Ordering {
    match (int_label(x), int_label(y)) {
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => x
            .bytes()
            .map(|b| b.to_ascii_uppercase())
            .cmp(y.bytes().map(|b| b.to_ascii_uppercase())),
    }
}

fn cmp_release(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    let (mut xs, mut ys) = (a.split('.'), b.split('.'));
    loop {
        match (xs.next(), ys.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => match cmp_label(x, y) {
                Ordering::Equal => {}
                other => return other,
            },
        }
    }
}

/// `VersionComparer.Default`: metadata is ignored.
impl Ord for NuGetVersion<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch, self.revision)
            .cmp(&(other.major, other.minor, other.patch, other.revision))
            .then_with(|| cmp_release(self.release, other.release))
    }
}

impl PartialOrd for NuGetVersion<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for NuGetVersion<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for NuGetVersion<'_> {}

/// Compare two NuGet versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(NuGetVersion::parse(a)?.cmp(&NuGetVersion::parse(b)?))
}

/// Check that `v` is a version `NuGetVersion.TryParse` accepts.
pub fn validate(v: &str) -> Result<(), VersionError> {
    NuGetVersion::parse(v).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).expect("valid NuGet versions")
    }

    #[test]
    fn missing_numbers_are_zero_and_leading_zeros_do_not_count() {
        assert_eq!(cmp("1", "1.0.0.0"), Ordering::Equal);
        assert_eq!(cmp("1.0", "1.0.0"), Ordering::Equal);
        assert_eq!(cmp("1.01", "1.1"), Ordering::Equal);
        assert_eq!(cmp("1.0.0.1", "1.0.0"), Ordering::Greater);
        assert_eq!(cmp("1.0.0.1-beta", "1.0.0.1"), Ordering::Less);
    }

    #[test]
    fn whitespace_is_allowed_around_numbers() {
        assert_eq!(cmp(" 1.2.3 ", "1.2.3"), Ordering::Equal);
        assert_eq!(cmp("1 . 2", "1.2"), Ordering::Equal);
        assert_eq!(cmp("\u{85}1.2\u{3000}", "1.2"), Ordering::Equal);
        assert_eq!(cmp("1.2 -beta", "1.2-beta"), Ordering::Equal);
        assert!(validate("1 2").is_err());
        assert!(validate("1.2- beta").is_err());
    }

    #[test]
    fn labels_compare_case_insensitively_and_numerically() {
        assert_eq!(cmp("1.0.0-BETA", "1.0.0-beta"), Ordering::Equal);
        assert_eq!(cmp("1.0.0-beta.2", "1.0.0-beta.10"), Ordering::Less);
        assert_eq!(cmp("1.0.0-2", "1.0.0-a"), Ordering::Less);
        assert_eq!(cmp("1.0.0-alpha", "1.0.0-alpha.1"), Ordering::Less);
        assert_eq!(cmp("1.0.0-rc", "1.0.0"), Ordering::Less);
    }

    #[test]
    fn int_try_parse_decides_what_is_numeric() {
        assert_eq!(int_label("-1"), Some(-1));
        assert_eq!(int_label("-2147483648"), Some(-2147483648));
        assert_eq!(int_label("-2147483649"), None);
        assert_eq!(int_label("2147483648"), None);
        assert_eq!(int_label("-"), None);
        assert_eq!(cmp("1.0.0--1", "1.0.0-0"), Ordering::Less);
        assert_eq!(cmp("1.0.0--0", "1.0.0-0"), Ordering::Equal);
        // Too big for an int: compared as text, above every number.
        assert_eq!(cmp("1.0.0-2147483648", "1.0.0-99"), Ordering::Greater);
        assert_eq!(cmp("1.0.0-2147483648", "1.0.0-3000000000"), Ordering::Less);
    }

    #[test]
    fn metadata_is_ignored() {
        assert_eq!(cmp("1.0.0+abc", "1.0.0+xyz"), Ordering::Equal);
        assert_eq!(cmp("1.0.0-rc.1+001", "1.0.0-RC.1"), Ordering::Equal);
    }

    #[test]
    fn invalid_versions() {
        for bad in [
            "",
            " ",
            "1.2.3.4.5",
            "1.",
            "1..2",
            ".1",
            "a",
            "1.a",
            "-1",
            "1.0-",
            "1.0+",
            "1.0-a+",
            "1.0-a..b",
            "1.0-01",
            "1.0-a_b",
            "1.0+a..b",
            "1.0-a+b+c",
            "2147483648",
            "1.0.0.99999999999",
            "1-é",
            "v1.0",
        ] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
        assert!(validate("2147483647.0.0.0002147483647").is_ok());
        assert!(validate("1.0-0a+001").is_ok());
    }
}
