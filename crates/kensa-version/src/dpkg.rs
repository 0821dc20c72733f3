//! Debian package versions, ordered as `dpkg --compare-versions` orders them
//! (`deb-version(7)`, dpkg's `lib/dpkg/version.c` and `parse.c`).
//!
//! A version is `[epoch:]upstream[-revision]`. The epoch is a decimal number
//! (missing means 0); the revision is everything after the *last* hyphen.
//! Upstream and revision are compared by alternating non-digit and digit
//! runs: in non-digit runs `~` sorts before everything (even the end of the
//! string), then the end, then letters, then other characters; digit runs
//! compare numerically.

use std::cmp::Ordering;

use crate::{Ecosystem, VersionError};

/// A parsed Debian version that borrows its input.
#[derive(Clone, Copy, Debug)]
pub struct DpkgVersion<'a> {
    pub epoch: u32,
    pub upstream: &'a str,
    pub revision: &'a str,
}

impl<'a> DpkgVersion<'a> {
    /// Parse as dpkg's `parseversion` does. Conditions that dpkg reports as
    /// errors are errors here; conditions it only warns about (upstream not
    /// starting with a digit, unusual characters) are accepted, because
    /// `dpkg --compare-versions` still compares such versions.
    pub fn parse(input: &'a str) -> Result<Self, VersionError> {
        let err = |reason| VersionError::new(Ecosystem::Dpkg, input, reason);
        let s = input.trim_matches(|c: char| c.is_ascii_whitespace());
        if s.is_empty() {
            return Err(err("version string is empty"));
        }
        if s.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(err("version string has embedded spaces"));
        }
        let (epoch, rest) = match s.find(':') {
            Some(colon) => {
                let digits = &s[..colon];
                if digits.is_empty() {
                    return Err(err("epoch in version is empty"));
                }
                let mut epoch: u32 = 0;
                for b in digits.bytes() {
                    if !b.is_ascii_digit() {
                        return Err(err("epoch in version is not number"));
                    }
                    epoch = epoch
                        .checked_mul(10)
                        .and_then(|e| e.checked_add(u32::from(b - b'0')))
                        .filter(|e| *e <= i32::MAX as u32)
                        .ok_or_else(|| err("epoch in version is too big"))?;
                }
                let rest = &s[colon + 1..];
                if rest.is_empty() {
                    return Err(err("nothing after colon in version number"));
                }
                (epoch, rest)
            }
            None => (0, s),
        };
        let (upstream, revision) = match rest.rfind('-') {
            Some(hyphen) => {
                let revision = &rest[hyphen + 1..];
                if revision.is_empty() {
                    return Err(err("revision number is empty"));
                }
                (&rest[..hyphen], revision)
            }
            None => (rest, ""),
        };
        if upstream.is_empty() {
            return Err(err("version number is empty"));
        }
        Ok(DpkgVersion {
            epoch,
            upstream,
            revision,
        })
    }
}

impl Ord for DpkgVersion<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(self.upstream.as_bytes(), other.upstream.as_bytes()))
            .then_with(|| verrevcmp(self.revision.as_bytes(), other.revision.as_bytes()))
    }
}

impl PartialOrd for DpkgVersion<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for DpkgVersion<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for DpkgVersion<'_> {}

/// Compare two Debian versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(DpkgVersion::parse(a)?.cmp(&DpkgVersion::parse(b)?))
}

/// Check that `v` is a version `dpkg --compare-versions` accepts.
pub fn validate(v: &str) -> Result<(), VersionError> {
    DpkgVersion::parse(v).map(|_| ())
}

/// The weight of one byte in a non-digit run; `None` is the end of the run.
#[inline]
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`, on byte slices.
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = order(a.get(i).copied());
            let bc = order(b.get(j).copied());
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if i < a.len() && a[i].is_ascii_digit() {
            return Ordering::Greater;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).expect("valid versions")
    }

    #[test]
    fn tilde_sorts_before_everything_even_the_end() {
        assert_eq!(cmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0~~", "1.0~"), Ordering::Less);
        assert_eq!(cmp("1.0~~a", "1.0~~"), Ordering::Greater);
    }

    #[test]
    fn letters_sort_before_non_letters() {
        assert_eq!(cmp("1.0a", "1.0+"), Ordering::Less);
        assert_eq!(cmp("1.0a", "1.0."), Ordering::Less);
        assert_eq!(cmp("1.0", "1.0a"), Ordering::Less);
    }

    #[test]
    fn epoch_wins_and_missing_epoch_is_zero() {
        assert_eq!(cmp("1:0.1", "9.9"), Ordering::Greater);
        assert_eq!(cmp("0:1.0", "1.0"), Ordering::Equal);
    }

    #[test]
    fn revision_is_after_the_last_hyphen() {
        let v = DpkgVersion::parse("1.2-3-4").expect("valid");
        assert_eq!((v.upstream, v.revision), ("1.2-3", "4"));
        assert_eq!(cmp("1.0", "1.0-0"), Ordering::Equal);
        assert_eq!(cmp("2.36-9+deb12u4", "2.36-9+deb12u10"), Ordering::Less);
    }

    #[test]
    fn leading_zeros_are_ignored() {
        assert_eq!(cmp("1.001", "1.1"), Ordering::Equal);
    }

    #[test]
    fn errors_name_the_version_and_reason() {
        let e = compare("1:", "1").expect_err("nothing after colon");
        assert_eq!(e.version, "1:");
        assert_eq!(e.ecosystem, Ecosystem::Dpkg);
        assert!(e.to_string().contains("nothing after colon"));
        assert!(validate("a:1").is_err());
        assert!(validate("1.0-").is_err());
        assert!(validate("").is_err());
        assert!(validate("1 0").is_err());
        assert!(validate("99999999999:1").is_err());
    }
}
