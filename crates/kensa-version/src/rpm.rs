//! RPM package versions, ordered as rpm 4.18 orders them (`rpmvercmp` in
//! `rpmio/rpmvercmp.c`, `parseEVR` in `lib/rpmds.c`, and the Python
//! binding's `rpm.labelCompare`).
//!
//! An EVR is `[epoch:]version[-release]`. Version and release are compared
//! by `rpmvercmp`: both strings are cut into maximal runs of ASCII digits or
//! ASCII letters; everything else is a separator, and separators only
//! delimit (`1.0`, `1_0` and `1+0` are equal). At each position `~` sorts
//! before everything, even the end of the string; the end comes next; then
//! `^`; then a letter run; then a digit run. Digit runs compare numerically
//! with leading zeros ignored (any length, no overflow); letter runs compare
//! bytewise, so `Z` < `a`.
//!
//! Epochs are decimal numbers compared numerically. Feeds and package
//! databases disagree on writing a zero epoch (OSV ranges, `rpm -q` and
//! syft omit it, updateinfo and OVAL often write `0:`), so a missing epoch
//! is 0, as `rpm.labelCompare` treats an epoch of `None` as `"0"`.

use std::cmp::Ordering;
use std::fmt;

use crate::{Ecosystem, VersionError};

/// A parsed `[epoch:]version[-release]` that borrows its input.
///
/// The release is everything after the *last* hyphen, as rpm's `parseEVR`
/// splits it. A missing release sorts before every present release, even
/// one that sorts before the end of a string, like `~`: that is what
/// `rpm.labelCompare((e, v, None), (e, v, r))` answers, and it keeps the
/// order total. Dependency matching in rpm (`rpmdsCompare`) instead ignores
/// the release when one side has none; [`Evr::cmp_as_dependency`] gives
/// that reading, which is not a total order and so is not `Ord`.
#[derive(Clone, Copy, Debug)]
pub struct Evr<'a> {
    /// `None` when the text had no `epoch:` prefix; compares as 0.
    pub epoch: Option<u32>,
    pub version: &'a str,
    pub release: Option<&'a str>,
}

impl<'a> Evr<'a> {
    /// Parse an EVR. Errors, each naming what is wrong: empty text or an
    /// empty version, whitespace or control characters, an epoch that is
    /// not a decimal number or does not fit rpm's 32-bit epoch tag, a
    /// second `:`, and a trailing `-` with no release after it.
    ///
    /// rpm's own parser is laxer (`a:1` becomes the version `a:1`, `:1` gets
    /// epoch 0, `1-` an empty release); those strings are malformed in any
    /// feed, and rejecting them says so instead of ordering them somewhere.
    pub fn parse(input: &'a str) -> Result<Self, VersionError> {
        // Vectorisable scans find the separators and anything unusual; only
        // unusual text pays for the exact (Unicode-aware) checks.
        let bytes = input.as_bytes();
        let unusual = bytes.is_empty()
            || bytes
                .iter()
                .fold(false, |acc, &b| acc | (b <= 0x20) | (b >= 0x7f));
        let colon = memchr::memchr(b':', bytes);
        let second_colon = colon.is_some_and(|c| memchr::memchr(b':', &bytes[c + 1..]).is_some());
        let hyphen = memchr::memrchr(b'-', bytes);
        if unusual {
            check_text(input)?;
        }
        let (epoch, rest, offset) = match colon {
            Some(c) => (
                Some(parse_epoch(input, &input[..c])?),
                &input[c + 1..],
                c + 1,
            ),
            None => (None, input, 0),
        };
        let (version, release) = match hyphen {
            Some(h) if h >= offset => (&input[offset..h], Some(&input[h + 1..])),
            _ => (rest, None),
        };
        // The scan saw every colon: skip `from_parts`' search for a second.
        let err = |reason| VersionError::new(Ecosystem::Rpm, input, reason);
        if second_colon {
            return Err(err("':' may appear only once, after the epoch"));
        }
        if version.is_empty() {
            return Err(err("version is empty"));
        }
        if release == Some("") {
            return Err(err("release after '-' is empty"));
        }
        Ok(Evr {
            epoch,
            version,
            release,
        })
    }

    /// The checks of [`Nevra::parse`] once the text is split ([`Evr::parse`]
    /// makes the same checks during its single scan).
    fn from_parts(
        input: &str,
        epoch: Option<u32>,
        version: &'a str,
        release: Option<&'a str>,
    ) -> Result<Self, VersionError> {
        let err = |reason| VersionError::new(Ecosystem::Rpm, input, reason);
        if version.is_empty() {
            return Err(err("version is empty"));
        }
        // rpmbuild forbids ':' in version and release; a second colon means
        // the text is not an EVR (two epochs, or a NEVRA passed as an EVR).
        if version.contains(':') || release.is_some_and(|r| r.contains(':')) {
            return Err(err("':' may appear only once, after the epoch"));
        }
        if release == Some("") {
            return Err(err("release after '-' is empty"));
        }
        Ok(Evr {
            epoch,
            version,
            release,
        })
    }

    /// The epoch, with a missing one read as 0.
    pub fn epoch_or_zero(&self) -> u32 {
        self.epoch.unwrap_or(0)
    }

    /// rpm's dependency reading (`rpmdsCompare`, `rpmverOverlap`): the
    /// release is compared only when both sides have one, so `1.0` matches
    /// `1.0-5`. Useful for requirement-style bounds such as `>= 1.0`; not
    /// transitive, hence not the `Ord` of this type.
    pub fn cmp_as_dependency(&self, other: &Self) -> Ordering {
        self.epoch_or_zero()
            .cmp(&other.epoch_or_zero())
            .then_with(|| rpmvercmp(self.version, other.version))
            .then_with(|| match (self.release, other.release) {
                (Some(a), Some(b)) => rpmvercmp(a, b),
                _ => Ordering::Equal,
            })
    }
}

impl Ord for Evr<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch_or_zero()
            .cmp(&other.epoch_or_zero())
            .then_with(|| rpmvercmp(self.version, other.version))
            .then_with(|| match (self.release, other.release) {
                (Some(a), Some(b)) => rpmvercmp(a, b),
                (a, b) => a.is_some().cmp(&b.is_some()),
            })
    }
}

impl PartialOrd for Evr<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Evr<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Evr<'_> {}

impl fmt::Display for Evr<'_> {
    /// The text as parsed: the epoch only if it was written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(e) = self.epoch {
            write!(f, "{e}:")?;
        }
        f.write_str(self.version)?;
        if let Some(r) = self.release {
            write!(f, "-{r}")?;
        }
        Ok(())
    }
}

/// A parsed package label `name-[epoch:]version-release.arch` that borrows
/// its input, as `rpm -q` and file names (without `.rpm`) spell it.
///
/// The name may contain hyphens: the release is after the last hyphen and
/// the version after the one before it. The architecture is the last
/// dot-suffix and is required, because without it a release such as
/// `1.el8` cannot be told from `1` plus an architecture `el8`. The epoch
/// may also lead the whole label (`1:bash-5.1-2.x86_64`, as
/// `rpm -q --qf '%{EPOCH}:%{NVRA}'` and yum print it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nevra<'a> {
    pub name: &'a str,
    pub evr: Evr<'a>,
    pub arch: &'a str,
}

impl<'a> Nevra<'a> {
    pub fn parse(input: &'a str) -> Result<Self, VersionError> {
        let err = |reason| VersionError::new(Ecosystem::Rpm, input, reason);
        check_text(input)?;
        // A leading run of digits followed by ':' can only be an epoch: a
        // name never contains ':', and the other epoch position comes after
        // a hyphen.
        let digits = input.bytes().take_while(u8::is_ascii_digit).count();
        let (lead_epoch, rest) = match input.get(digits..).and_then(|r| r.strip_prefix(':')) {
            Some(rest) => (
                Some(parse_epoch(input, input.get(..digits).unwrap_or(""))?),
                rest,
            ),
            None => (None, input),
        };
        let (nvr, arch) = rest
            .rsplit_once('.')
            .ok_or_else(|| err("package label has no '.arch' suffix"))?;
        if arch.is_empty() || arch.contains(['-', ':']) {
            return Err(err(
                "architecture after the last '.' is empty or not an architecture",
            ));
        }
        let (nv, release) = nvr
            .rsplit_once('-')
            .ok_or_else(|| err("package label has no '-release'"))?;
        let (name, version) = nv
            .rsplit_once('-')
            .ok_or_else(|| err("package label has no '-version'"))?;
        if name.is_empty() {
            return Err(err("package name is empty"));
        }
        let (inner_epoch, version) = match version.split_once(':') {
            Some((digits, v)) => (Some(parse_epoch(input, digits)?), v),
            None => (None, version),
        };
        let epoch = match (lead_epoch, inner_epoch) {
            (Some(_), Some(_)) => return Err(err("package label has two epochs")),
            (e, None) | (None, e) => e,
        };
        let evr = Evr::from_parts(input, epoch, version, Some(release))?;
        Ok(Nevra { name, evr, arch })
    }
}

impl fmt::Display for Nevra<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}.{}", self.name, self.evr, self.arch)
    }
}

/// Compare two EVRs (`rpm.labelCompare` on their split parts).
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(Evr::parse(a)?.cmp(&Evr::parse(b)?))
}

/// Check that `v` is a well-formed EVR; the error says what is wrong.
pub fn validate(v: &str) -> Result<(), VersionError> {
    Evr::parse(v).map(|_| ())
}

fn check_text(input: &str) -> Result<(), VersionError> {
    let err = |reason| VersionError::new(Ecosystem::Rpm, input, reason);
    if input.is_empty() {
        return Err(err("version string is empty"));
    }
    // Nearly every EVR is ASCII: a byte scan keeps validation off the
    // profile; other text takes the Unicode-aware path.
    let bytes = input.as_bytes();
    let (whitespace, control) = if bytes.is_ascii() {
        (
            bytes.iter().any(u8::is_ascii_whitespace) || bytes.contains(&0x0b),
            bytes.iter().any(u8::is_ascii_control),
        )
    } else {
        (
            input.chars().any(char::is_whitespace),
            input.chars().any(char::is_control),
        )
    };
    if whitespace {
        return Err(err("version string contains whitespace"));
    }
    // rpm works on C strings: a NUL would silently cut the version short.
    if control {
        return Err(err("version string contains a control character"));
    }
    Ok(())
}

fn parse_epoch(input: &str, digits: &str) -> Result<u32, VersionError> {
    let err = |reason| VersionError::new(Ecosystem::Rpm, input, reason);
    if digits.is_empty() {
        return Err(err("epoch before ':' is empty"));
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("epoch before ':' is not a decimal number"));
    }
    // rpm stores the epoch in a 32-bit header tag.
    digits
        .parse::<u32>()
        .map_err(|_| err("epoch does not fit in 32 bits"))
}

/// rpm's `rpmvercmp` on one version or release string: the segment
/// comparison described in the module documentation. Total on all input.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    // Versions of one package share long prefixes. Identical bytes compare
    // equal segment by segment, so the walk may start right after the last
    // separator of the common prefix: segments never span a separator.
    let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    if common == a.len() && common == b.len() {
        return Ordering::Equal;
    }
    let start = a
        .get(..common)
        .and_then(|p| p.iter().rposition(|&c| is_separator(c)))
        .map_or(0, |k| k + 1);
    let (mut i, mut j) = (start, start);
    loop {
        i += run(a, i, is_separator).len();
        j += run(b, j, is_separator).len();
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());

        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        // Like '~' except that the end of the string sorts before it, so
        // `1.0^post` is after `1.0` but before `1.0.1`.
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else {
            break;
        };

        let numeric = ca.is_ascii_digit();
        let in_segment = |c: u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let sa = run(a, i, in_segment);
        let sb = run(b, j, in_segment);
        i += sa.len();
        j += sb.len();
        // The other side's segment is of the other kind: a number beats
        // letters (Red Hat bugzilla #50977).
        if sb.is_empty() {
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let ord = if numeric {
            let sa = trim_zeros(sa);
            let sb = trim_zeros(sb);
            sa.len().cmp(&sb.len()).then_with(|| sa.cmp(sb))
        } else {
            sa.cmp(sb)
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    // Every segment matched: whichever string still has a segment left is
    // newer; differing separators alone do not count.
    match (i < a.len(), j < b.len()) {
        (false, false) => Ordering::Equal,
        (false, true) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

/// The run of bytes matching `pred` that starts at `from`.
#[inline]
fn run(s: &[u8], from: usize, pred: impl Fn(u8) -> bool) -> &[u8] {
    let rest = s.get(from..).unwrap_or_default();
    let len = rest.iter().take_while(|&&c| pred(c)).count();
    rest.get(..len).unwrap_or_default()
}

#[inline]
fn is_separator(c: u8) -> bool {
    !c.is_ascii_alphanumeric() && c != b'~' && c != b'^'
}

#[inline]
fn trim_zeros(s: &[u8]) -> &[u8] {
    let zeros = s.iter().take_while(|&&c| c == b'0').count();
    s.get(zeros..).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).expect("valid versions")
    }

    fn evr(s: &str) -> Evr<'_> {
        Evr::parse(s).expect("valid EVR")
    }

    #[test]
    fn tilde_sorts_before_everything_even_the_end() {
        assert_eq!(rpmvercmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(rpmvercmp("1.0~rc1", "1.0~rc2"), Ordering::Less);
        assert_eq!(rpmvercmp("1.0~~", "1.0~"), Ordering::Less);
        assert_eq!(rpmvercmp("1.0~", "1.0"), Ordering::Less);
        assert_eq!(rpmvercmp("1.0~rc1", "1.0^"), Ordering::Less);
    }

    #[test]
    fn caret_sorts_after_the_end_but_before_anything_else() {
        assert_eq!(rpmvercmp("1.0^", "1.0"), Ordering::Greater);
        assert_eq!(rpmvercmp("1.0^git1", "1.0"), Ordering::Greater);
        assert_eq!(rpmvercmp("1.0^git1", "1.0.1"), Ordering::Less);
        assert_eq!(rpmvercmp("1.0^git1", "1.0a"), Ordering::Less);
        assert_eq!(rpmvercmp("1.0^git1", "1.0^git2"), Ordering::Less);
        assert_eq!(rpmvercmp("1.0^^", "1.0^"), Ordering::Greater);
    }

    #[test]
    fn numbers_beat_letters_and_compare_numerically() {
        assert_eq!(rpmvercmp("1.0", "1.a"), Ordering::Greater);
        assert_eq!(rpmvercmp("1.10", "1.9"), Ordering::Greater);
        assert_eq!(rpmvercmp("1.001", "1.1"), Ordering::Equal);
        assert_eq!(rpmvercmp("1.0", "1.00"), Ordering::Equal);
        assert_eq!(rpmvercmp("2a", "2.0"), Ordering::Less);
        // Longer than any machine integer: compared by length, then digits.
        assert_eq!(
            rpmvercmp(
                "123456789012345678901234567890",
                "123456789012345678901234567891"
            ),
            Ordering::Less
        );
    }

    #[test]
    fn letters_compare_bytewise_and_a_leftover_segment_wins() {
        assert_eq!(rpmvercmp("1.0a", "1.0"), Ordering::Greater);
        assert_eq!(rpmvercmp("1.0a", "1.0b"), Ordering::Less);
        assert_eq!(rpmvercmp("1.0Z", "1.0a"), Ordering::Less);
        assert_eq!(rpmvercmp("1.0alpha", "1.0alph"), Ordering::Greater);
        assert_eq!(rpmvercmp("1.el8", "1.el8_8"), Ordering::Less);
    }

    #[test]
    fn separators_only_delimit() {
        assert_eq!(rpmvercmp("1.0", "1_0"), Ordering::Equal);
        assert_eq!(rpmvercmp("1..0", "1.0"), Ordering::Equal);
        assert_eq!(rpmvercmp("1.0.", "1.0"), Ordering::Equal);
        assert_eq!(rpmvercmp("1+0", "1.0"), Ordering::Equal);
        // Non-ASCII bytes are separators too, as in rpm's ASCII-only ctype.
        assert_eq!(rpmvercmp("1é0", "1.0"), Ordering::Equal);
    }

    #[test]
    fn epoch_wins_and_missing_epoch_is_zero() {
        assert_eq!(cmp("1:0.1-1", "9.9-1"), Ordering::Greater);
        assert_eq!(cmp("0:1.0-1", "1.0-1"), Ordering::Equal);
        assert_eq!(cmp("007:1.0", "7:1.0"), Ordering::Equal);
        assert_eq!(evr("1.0-1").epoch, None);
        assert_eq!(evr("0:1.0-1").epoch, Some(0));
    }

    #[test]
    fn missing_release_sorts_first_but_matches_as_a_dependency() {
        assert_eq!(cmp("1.0", "1.0-1"), Ordering::Less);
        assert_eq!(cmp("1.0", "1.0-~"), Ordering::Less);
        assert_eq!(cmp("1.0", "1.0"), Ordering::Equal);
        assert_eq!(cmp("1.1", "1.0-1"), Ordering::Greater);
        assert_eq!(evr("1.0").cmp_as_dependency(&evr("1.0-5")), Ordering::Equal);
        assert_eq!(
            evr("1.0-4").cmp_as_dependency(&evr("1.0-5")),
            Ordering::Less
        );
    }

    #[test]
    fn release_is_after_the_last_hyphen() {
        let v = evr("1:0.1.15-2.git2d0b8a3.module_el8.5.0+119+9a9ec082");
        assert_eq!(v.epoch, Some(1));
        assert_eq!(v.version, "0.1.15");
        assert_eq!(v.release, Some("2.git2d0b8a3.module_el8.5.0+119+9a9ec082"));
        let v = evr("1.2-3-4");
        assert_eq!((v.version, v.release), ("1.2-3", Some("4")));
        assert_eq!(v.to_string(), "1.2-3-4");
        assert_eq!(evr("2:4.4-19.6.1").to_string(), "2:4.4-19.6.1");
    }

    #[test]
    fn real_release_orderings() {
        assert_eq!(cmp("2.32.1-42.el8_8", "2.32.1-42.el8"), Ordering::Greater);
        assert_eq!(cmp("2.32.1-39.el8_7", "2.32.1-42.el8"), Ordering::Less);
        assert_eq!(
            cmp(
                "1:2.4.37-47.module_el8.6.0+2872+fe0ff7aa.1.alma",
                "1:2.4.37-47.module_el8.6.0+2872+fe0ff7aa"
            ),
            Ordering::Greater
        );
        assert_eq!(cmp("0.9~rc2-1.el10_0.1", "0.9-1.el10_0"), Ordering::Less);
    }

    #[test]
    fn invalid_evrs_say_what_is_wrong() {
        let reason = |v: &str| validate(v).expect_err("invalid").reason;
        assert_eq!(reason(""), "version string is empty");
        assert_eq!(reason("1:"), "version is empty");
        assert_eq!(reason("-1"), "version is empty");
        assert_eq!(reason("a:1.0"), "epoch before ':' is not a decimal number");
        assert_eq!(reason(":1.0"), "epoch before ':' is empty");
        assert_eq!(reason("4294967296:1.0"), "epoch does not fit in 32 bits");
        assert_eq!(reason("1:2:3"), "':' may appear only once, after the epoch");
        assert_eq!(reason("1.0-"), "release after '-' is empty");
        assert_eq!(reason("1.0 -1"), "version string contains whitespace");
        assert_eq!(
            reason("1.0\0-1"),
            "version string contains a control character"
        );
        let e = compare("1.0", "x:1").expect_err("bad epoch");
        assert_eq!((e.ecosystem, e.version.as_str()), (Ecosystem::Rpm, "x:1"));
        assert!(validate("4294967295:1.0").is_ok());
    }

    #[test]
    fn nevra_with_hyphenated_name_and_every_epoch_position() {
        let n = Nevra::parse("util-linux-2.32.1-42.el8_8.x86_64").expect("valid");
        assert_eq!(n.name, "util-linux");
        assert_eq!(n.evr.epoch, None);
        assert_eq!((n.evr.version, n.evr.release), ("2.32.1", Some("42.el8_8")));
        assert_eq!(n.arch, "x86_64");

        let n = Nevra::parse("ca-certificates-base-1:2.0.0-1.cm2.noarch").expect("valid");
        assert_eq!(
            (n.name, n.evr.epoch, n.arch),
            ("ca-certificates-base", Some(1), "noarch")
        );
        assert_eq!(n.to_string(), "ca-certificates-base-1:2.0.0-1.cm2.noarch");

        let n = Nevra::parse("1:ca-certificates-base-2.0.0-1.cm2.noarch").expect("valid");
        assert_eq!(
            (n.name, n.evr.epoch, n.evr.version),
            ("ca-certificates-base", Some(1), "2.0.0")
        );

        let n = Nevra::parse("389-ds-base-1.4.3.39-8.module_el8.10.0+3935+d3d32e9a.x86_64")
            .expect("valid");
        assert_eq!((n.name, n.evr.version), ("389-ds-base", "1.4.3.39"));

        // A source package file name, less its ".rpm".
        let n = Nevra::parse("util-linux-2.32.1-42.el8_8.src").expect("valid");
        assert_eq!(n.arch, "src");
    }

    #[test]
    fn invalid_nevras_say_what_is_wrong() {
        let reason = |v: &str| Nevra::parse(v).expect_err("invalid").reason;
        assert_eq!(reason("bash"), "package label has no '.arch' suffix");
        assert_eq!(reason("bash-5.1.x86_64"), "package label has no '-version'");
        assert_eq!(reason("bash.x86_64"), "package label has no '-release'");
        assert_eq!(reason("-5.1-1.x86_64"), "package name is empty");
        assert_eq!(
            reason("bash-5.1-1."),
            "architecture after the last '.' is empty or not an architecture"
        );
        assert_eq!(
            reason("1:bash-2:5.1-1.x86_64"),
            "package label has two epochs"
        );
        assert_eq!(
            reason("bash-x:5.1-1.x86_64"),
            "epoch before ':' is not a decimal number"
        );
        assert_eq!(reason("bash--1.x86_64"), "version is empty");
    }
}
