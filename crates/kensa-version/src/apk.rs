//! Alpine package versions, ordered as apk-tools 2.x orders them
//! (`apk_version_compare` and `apk_version_validate` in `src/version.c`,
//! in its final 2.x form: 64-bit numbers and the corrected leading-zero
//! rule).
//!
//! A version is `digits{.digits}[letter]{_suffix[digits]}[-rN]`, read as a
//! stream of tokens: an initial number, dotted numbers, one lowercase
//! letter (which may itself be followed by digits, as in `3.3.3p1`),
//! suffixes, suffix numbers and the `-r` revision. Suffixes rank
//! `_alpha` < `_beta` < `_pre` < `_rc` < (none) < `_cvs` < `_svn` < `_git`
//! < `_hg` < `_p`. Two versions compare token by token; where one runs
//! out of a kind of token first, the one that continues with a more
//! significant kind (a dotted number beats a letter, which beats a suffix,
//! then a revision, then the end) is newer, except that a pre-release
//! suffix (`_alpha` … `_rc`) makes it older. So `1.0` < `1.0-r0` <
//! `1.0.1`, and `1.0_rc1` < `1.0` < `1.0_p1`.
//!
//! apk-tools 2.x quirks kept on purpose, because they are how Alpine's
//! package manager orders installed packages:
//! - Leading zeros in a dotted number: all zeros of the run but the last
//!   count as one negative token, so `1.001` < `1.01` < `1.1` and `1.00` <
//!   `1.0`. (apk-tools 3 compares such numbers as strings instead.)
//! - Numbers have at most 17 digits; 18 or more is invalid.
//! - Empty dotted numbers are accepted and count as 0: `1.`, `4.8.0.-r1`.
//! - A letter may be followed by digits and more letters: `2.15.r-r1`,
//!   `0.8.21.r2`, `6.6.2p1-r0` (all real secdb keys).
//!
//! Where Kensa differs from apk-tools 2.x `apk_version_validate`:
//! - the empty string and versions not starting with a digit are errors
//!   (2.x accepts them; they are never real versions, and apk-tools 3
//!   rejects them too);
//! - a NUL byte is an error (C would stop reading there);
//! - a `~hash` commit suffix is accepted: lowercase hex digits after the
//!   last suffix and before `-r`, compared as text, as apk-tools 3 does
//!   (2.x rejects `~`, so no version 2.x accepts changes its order).

use std::cmp::Ordering;
use std::fmt;

use crate::{Ecosystem, VersionError};

/// A validated apk version that borrows its input; ordered by
/// apk-tools 2.x rules.
#[derive(Clone, Copy, Debug)]
pub struct ApkVersion<'a> {
    text: &'a str,
}

impl<'a> ApkVersion<'a> {
    pub fn parse(input: &'a str) -> Result<Self, VersionError> {
        let err = |reason| VersionError::new(Ecosystem::Apk, input, reason);
        if input.is_empty() {
            return Err(err("version string is empty"));
        }
        if !input.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(err("version does not start with a digit"));
        }
        let mut tokens = Tokens::new(input.as_bytes());
        while tokens.kind < Kind::End {
            tokens.take();
        }
        match tokens.kind {
            Kind::Invalid => Err(err(tokens.why)),
            _ => Ok(ApkVersion { text: input }),
        }
    }

    pub fn as_str(&self) -> &'a str {
        self.text
    }
}

impl Ord for ApkVersion<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_tokens(self.text.as_bytes(), other.text.as_bytes())
    }
}

impl PartialOrd for ApkVersion<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ApkVersion<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ApkVersion<'_> {}

impl fmt::Display for ApkVersion<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text)
    }
}

/// Compare two apk versions; either being invalid is an error.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(ApkVersion::parse(a)?.cmp(&ApkVersion::parse(b)?))
}

/// Check that `v` is a version apk-tools accepts (with the differences
/// listed in the module documentation).
pub fn validate(v: &str) -> Result<(), VersionError> {
    ApkVersion::parse(v).map(|_| ())
}

/// Token kinds, in apk-tools' order: where two versions continue with
/// different kinds, the earlier kind is the newer version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// A number after `.`, where a run of leading zeros is special.
    DigitOrZero,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    Revision,
    End,
    Invalid,
}

/// A token's value. Hashes compare as text; everything else as a number
/// (suffixes as their rank, letters as their byte).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Value<'a> {
    number: i64,
    hash: &'a [u8],
}

/// apk-tools 2.x keeps the token value in an `int64_t` and refuses a
/// number of this many digits or more.
const MAX_DIGITS: usize = 18;

const PRE_RELEASE: [&[u8]; 4] = [b"alpha", b"beta", b"pre", b"rc"];
const POST_RELEASE: [&[u8]; 5] = [b"cvs", b"svn", b"git", b"hg", b"p"];

/// The token reader: `kind` is the kind of the *next* token, decided from
/// the text after the previous one, as apk-tools' `next_token` does.
#[derive(Clone, Copy)]
struct Tokens<'a> {
    rest: &'a [u8],
    kind: Kind,
    why: &'static str,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a [u8]) -> Self {
        Tokens {
            rest: text,
            kind: Kind::Digit,
            why: "",
        }
    }

    fn invalid(&mut self, why: &'static str) -> Value<'a> {
        self.kind = Kind::Invalid;
        self.why = why;
        // apk-tools answers -1 for an invalid token; never compared here,
        // since both versions are validated first.
        Value {
            number: -1,
            hash: &[],
        }
    }

    /// Read the next token (apk-tools' `get_token`).
    fn take(&mut self) -> Value<'a> {
        let s = self.rest;
        let Some(&first) = s.first() else {
            if self.kind == Kind::CommitHash {
                return self.invalid("'~' is not followed by a lowercase hex commit hash");
            }
            self.kind = Kind::End;
            return Value::default();
        };
        let mut value = Value::default();
        let mut then = None;
        let used = match self.kind {
            Kind::DigitOrZero if first == b'0' => {
                // The last zero stays for the number that follows, so a
                // plain `.0` is the tokens 0 and 0, and `.007` is -1 and 7.
                let extra = s.iter().skip(1).take_while(|&&c| c == b'0').count();
                value.number = -i64::try_from(extra).unwrap_or(i64::MAX);
                then = Some(Kind::Digit);
                extra
            }
            Kind::DigitOrZero | Kind::Digit | Kind::SuffixNo | Kind::Revision => {
                let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
                if n >= MAX_DIGITS {
                    return self.invalid("a number has 18 or more digits");
                }
                value.number = s
                    .iter()
                    .take(n)
                    .fold(0, |v, &c| v * 10 + i64::from(c - b'0'));
                n
            }
            Kind::Letter => {
                value.number = i64::from(first);
                1
            }
            Kind::Suffix => match suffix(s) {
                Some((rank, len)) => {
                    value.number = rank;
                    len
                }
                None => {
                    return self.invalid(
                        "unknown suffix after '_' (known: alpha, beta, pre, rc, cvs, svn, git, hg, p)",
                    );
                }
            },
            Kind::CommitHash => {
                let n = s
                    .iter()
                    .take_while(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
                    .count();
                if n == 0 {
                    return self.invalid("'~' is not followed by a lowercase hex commit hash");
                }
                value.hash = s.get(..n).unwrap_or_default();
                n
            }
            Kind::End | Kind::Invalid => return self.invalid("text after the end of the version"),
        };
        self.rest = s.get(used..).unwrap_or_default();
        if self.rest.is_empty() {
            self.kind = Kind::End;
        } else if let Some(kind) = then {
            self.kind = kind;
        } else {
            self.advance();
        }
        value
    }

    /// Decide the kind of the next token from the text after the one just
    /// read (apk-tools' `next_token`), consuming its separator.
    fn advance(&mut self) {
        let prev = self.kind;
        let s = self.rest;
        let next = match s.first().copied() {
            None => Kind::End,
            Some(c)
                if matches!(prev, Kind::Digit | Kind::DigitOrZero) && c.is_ascii_lowercase() =>
            {
                Kind::Letter
            }
            Some(c) if prev == Kind::Letter && c.is_ascii_digit() => Kind::Digit,
            Some(c) if prev == Kind::Suffix && c.is_ascii_digit() => Kind::SuffixNo,
            Some(c) => {
                let (kind, used) = match c {
                    b'.' => (Kind::DigitOrZero, 1),
                    b'_' => (Kind::Suffix, 1),
                    b'~' if prev < Kind::CommitHash => (Kind::CommitHash, 1),
                    b'-' if s.get(1) == Some(&b'r') => (Kind::Revision, 2),
                    b'-' => {
                        self.invalid("'-' is not followed by 'r' and a revision number");
                        return;
                    }
                    b'~' => {
                        self.invalid("'~hash' may appear once, before the '-r' revision");
                        return;
                    }
                    _ => {
                        self.invalid("unexpected character (apk versions are digits{.digits}[letter]{_suffix[N]}[-rN])");
                        return;
                    }
                };
                self.rest = s.get(used..).unwrap_or_default();
                kind
            }
        };
        // Kinds only move forward, except for these returns to a number.
        let allowed = next >= prev
            || matches!(
                (next, prev),
                (Kind::DigitOrZero, Kind::Digit)
                    | (Kind::Suffix, Kind::SuffixNo)
                    | (Kind::Digit, Kind::Letter)
            );
        if allowed {
            self.kind = next;
        } else {
            self.invalid(match next {
                Kind::DigitOrZero => "'.' after a letter, suffix, commit hash or revision",
                _ => "'_suffix' after the commit hash or revision",
            });
        }
    }

    /// Whether the next token is a pre-release suffix (`_alpha` … `_rc`).
    fn pre_release_next(&self) -> bool {
        let mut peek = *self;
        self.kind == Kind::Suffix && peek.take().number < 0
    }
}

/// The rank of the suffix `s` starts with and its length. apk-tools
/// matches by prefix, pre-release names first, so `_pre` is never `_p`.
fn suffix(s: &[u8]) -> Option<(i64, usize)> {
    let pre = PRE_RELEASE.iter().zip(-4..);
    let post = POST_RELEASE.iter().zip(0..);
    pre.chain(post)
        .find(|(name, _)| s.starts_with(name))
        .map(|(name, rank)| (rank, name.len()))
}

/// apk-tools 2.x `apk_version_compare_blob_fuzzy` with fuzzy matching off.
fn compare_tokens(a: &[u8], b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut ta, mut tb) = (Tokens::new(a), Tokens::new(b));
    let (mut va, mut vb) = (Value::default(), Value::default());
    while ta.kind == tb.kind && ta.kind < Kind::End && va == vb {
        va = ta.take();
        vb = tb.take();
    }
    match va.cmp(&vb) {
        Ordering::Equal => {}
        unequal => return unequal,
    }
    if ta.kind == tb.kind {
        return Ordering::Equal;
    }
    if ta.pre_release_next() {
        return Ordering::Less;
    }
    if tb.pre_release_next() {
        return Ordering::Greater;
    }
    tb.kind.cmp(&ta.kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).expect("valid versions")
    }

    #[test]
    fn revision_and_suffixes() {
        assert_eq!(cmp("1.0", "1.0-r0"), Ordering::Less);
        assert_eq!(cmp("1.0-r1", "1.0-r10"), Ordering::Less);
        assert_eq!(cmp("1.0-r9", "1.0.1"), Ordering::Less);
        assert_eq!(cmp("1.0_rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0_p1", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.0_alpha", "1.0_alpha1"), Ordering::Less);
        assert_eq!(cmp("1.0_pre1", "1.0_p1"), Ordering::Less);
    }

    #[test]
    fn leading_zeros_follow_apk_tools_2() {
        assert_eq!(cmp("1.01", "1.1"), Ordering::Less);
        assert_eq!(cmp("1.001", "1.01"), Ordering::Less);
        assert_eq!(cmp("1.00", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0", "1.0"), Ordering::Equal);
        // The initial number has no zero rule.
        assert_eq!(cmp("01.2", "1.2"), Ordering::Equal);
    }

    #[test]
    fn commit_hash_sits_between_suffix_and_revision() {
        assert_eq!(cmp("1.0~1234", "1.0~2345"), Ordering::Less);
        assert_eq!(cmp("1.0~1234-r1", "1.0~2345-r0"), Ordering::Less);
        assert_eq!(cmp("1.0~abc", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.0~abc", "1.0-r5"), Ordering::Greater);
        assert_eq!(cmp("1.0~abc", "1.0.1"), Ordering::Less);
    }

    #[test]
    fn invalid_versions_say_what_is_wrong() {
        let reason = |v: &str| validate(v).expect_err("invalid").reason;
        assert_eq!(reason(""), "version string is empty");
        assert_eq!(reason("a1"), "version does not start with a digit");
        assert_eq!(
            reason("2.7.16-33"),
            "'-' is not followed by 'r' and a revision number"
        );
        assert!(reason("1.0_foo").starts_with("unknown suffix"));
        assert_eq!(reason("1.0ab"), reason("1.0A"));
        assert_eq!(
            reason("1.0_rc1.2"),
            "'.' after a letter, suffix, commit hash or revision"
        );
        assert_eq!(
            reason("1.0-r1_p1"),
            "'_suffix' after the commit hash or revision"
        );
        assert_eq!(
            reason("1.123456789012345678"),
            "a number has 18 or more digits"
        );
        assert_eq!(
            reason("1.0~"),
            "'~' is not followed by a lowercase hex commit hash"
        );
        assert_eq!(
            reason("1.0~ab~cd"),
            "'~hash' may appear once, before the '-r' revision"
        );
        assert!(validate("1.12345678901234567").is_ok());
        assert!(validate("1.0\0").is_err());
        let e = compare("1.0", "1.0 ").expect_err("space");
        assert_eq!((e.ecosystem, e.version.as_str()), (Ecosystem::Apk, "1.0 "));
    }
}
