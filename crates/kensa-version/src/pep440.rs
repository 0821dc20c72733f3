//! Python package versions, parsed and ordered as `packaging.version.Version`
//! (packaging 23) does it: PEP 440 with its normalisations.
//!
//! A version is `[v][N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`, where
//! case does not matter, `-`, `_` and `.` are interchangeable separators
//! before and after each letter part, a missing number is `0`, `alpha`,
//! `beta`, `c`, `pre` and `preview` spell `a`, `b` and `rc`, `rev`, `r` and
//! a bare `-N` spell a post-release, and surrounding whitespace is ignored.
//!
//! Ordering compares, in turn: the epoch; the release with trailing zeros
//! ignored (`1.0 == 1.0.0`); the pre-release (absent sorts after present,
//! except that a dev release with neither pre nor post sorts before all
//! pre-releases: `1.0.dev0 < 1.0a1`); the post-release (absent first); the
//! dev release (absent last); the local label (absent first, then segment by
//! segment: numbers numerically and above words, words as lower-case text,
//! a shorter label first when it is a prefix).
//!
//! Two fine points follow `packaging` rather than the PEP, because the
//! oracle is what pip and every Python scanner actually run:
//! - `packaging` matches its pattern with Python's `re.IGNORECASE`, under
//!   which `İ` and `ı` match `i`, `ſ` matches `s` and the Kelvin sign `K`
//!   matches `k`. So `1.0prevıew1` and `1.0poſt1` are valid, and because
//!   their lower-cased spellings are not `preview` and `post`, they keep
//!   their own (odd) place in the order; such characters are also allowed in
//!   local labels, lower-cased as Python lower-cases them.
//! - Every number goes through Python's `int()`, which since CPython 3.11
//!   refuses strings of more than 4300 digits; such versions are rejected.

use std::cmp::Ordering;

use crate::{Ecosystem, VersionError};

/// CPython's default `sys.get_int_max_str_digits()`.
const MAX_DIGITS: usize = 4300;

/// The pre-release letter as `packaging` keys it after lower-casing. The
/// two `preview` spellings with a non-ASCII `i` are not recognised as `rc`
/// and sort as the strings `previ̇ew` and `prevıew` do: between `b` and `rc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PreTag {
    Alpha,
    Beta,
    /// `prevİew`, lower-cased to `previ̇ew` (with a combining dot).
    PreviewDottedI,
    /// `prevıew` (dotless i).
    PreviewDotlessI,
    Rc,
}

/// The post-release letter: `post`, `rev`, `r` and `-N` all key as `post`;
/// `poſt` (long s) keys as itself, after every `post`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PostTag {
    Post,
    PostLongS,
}

/// A non-negative integer as its ASCII digits (leading zeros allowed; empty
/// is zero), compared by value.
#[derive(Clone, Copy, Debug)]
pub struct Number<'a>(pub &'a str);

impl Ord for Number<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_decimal(self.0, other.0)
    }
}

impl PartialOrd for Number<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Number<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Number<'_> {}

fn cmp_decimal(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A parsed PEP 440 version that borrows its input.
#[derive(Clone, Copy, Debug)]
pub struct Pep440Version<'a> {
    pub epoch: Number<'a>,
    /// The release numbers as written, `.`-separated.
    pub release: &'a str,
    pub pre: Option<(PreTag, Number<'a>)>,
    pub post: Option<(PostTag, Number<'a>)>,
    pub dev: Option<Number<'a>>,
    /// The local label as written, after the `+`.
    pub local: Option<&'a str>,
}

/// Python's `str.isspace`, which is what `\s` matches in a `str` pattern.
fn is_py_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\u{1c}'..=' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// Whether `c` matches the lower-case ASCII letter `want` under Python's
/// `re.IGNORECASE`.
fn letter_matches(c: char, want: u8) -> bool {
    if c.is_ascii() {
        return c.to_ascii_lowercase() as u32 == u32::from(want);
    }
    match want {
        b'i' => c == '\u{130}' || c == '\u{131}',
        b's' => c == '\u{17f}',
        b'k' => c == '\u{212a}',
        _ => false,
    }
}

/// A character of a local label (`[a-z0-9]` under `re.IGNORECASE`).
fn is_local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '\u{130}' | '\u{131}' | '\u{17f}' | '\u{212a}')
}

fn is_sep(c: char) -> bool {
    matches!(c, '-' | '_' | '.')
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i..)?.chars().next()
    }

    fn peek2(&self) -> Option<char> {
        let mut it = self.s.get(self.i..)?.chars();
        it.next();
        it.next()
    }

    fn eat(&mut self, want: char) -> bool {
        if self.peek() == Some(want) {
            self.i += want.len_utf8();
            true
        } else {
            false
        }
    }

    fn eat_sep(&mut self) {
        if self.peek().is_some_and(is_sep) {
            self.i += 1;
        }
    }

    fn digits(&mut self) -> &'a str {
        let rest = self.s.get(self.i..).unwrap_or("");
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        self.i += n;
        rest.get(..n).unwrap_or("")
    }

    /// Match `word` (lower-case ASCII) case-insensitively; on success return
    /// the characters that matched `i` and `s` (for the tag variants).
    fn keyword(&mut self, word: &str) -> Option<(char, char)> {
        let rest = self.s.get(self.i..)?;
        let mut chars = rest.char_indices();
        let (mut seen_i, mut seen_s) = ('i', 's');
        for w in word.bytes() {
            let (_, c) = chars.next()?;
            if !letter_matches(c, w) {
                return None;
            }
            match w {
                b'i' => seen_i = c,
                b's' => seen_s = c,
                _ => {}
            }
        }
        self.i += chars.next().map_or(rest.len(), |(at, _)| at);
        Some((seen_i, seen_s))
    }

    /// Longer spellings first: a shorter one that is a prefix of a longer
    /// one can never lead to a full match (what follows would be a letter
    /// that no later part accepts), so this is the match the pattern finds.
    fn pre_tag(&mut self) -> Option<PreTag> {
        if !self
            .peek()
            .is_some_and(|c| matches!(c.to_ascii_lowercase(), 'a' | 'b' | 'c' | 'p' | 'r'))
        {
            return None;
        }
        if let Some((i, _)) = self.keyword("preview") {
            return Some(match i {
                '\u{130}' => PreTag::PreviewDottedI,
                '\u{131}' => PreTag::PreviewDotlessI,
                _ => PreTag::Rc,
            });
        }
        for (word, tag) in [
            ("pre", PreTag::Rc),
            ("alpha", PreTag::Alpha),
            ("a", PreTag::Alpha),
            ("beta", PreTag::Beta),
            ("b", PreTag::Beta),
            ("rc", PreTag::Rc),
            ("c", PreTag::Rc),
        ] {
            if self.keyword(word).is_some() {
                return Some(tag);
            }
        }
        None
    }

    fn post_tag(&mut self) -> Option<PostTag> {
        if !self
            .peek()
            .is_some_and(|c| matches!(c.to_ascii_lowercase(), 'p' | 'r'))
        {
            return None;
        }
        if let Some((_, s)) = self.keyword("post") {
            return Some(if s == '\u{17f}' {
                PostTag::PostLongS
            } else {
                PostTag::Post
            });
        }
        (self.keyword("rev").is_some() || self.keyword("r").is_some()).then_some(PostTag::Post)
    }
}

impl<'a> Pep440Version<'a> {
    /// Parse as `packaging.version.Version` does. Its pattern is a regular
    /// expression with backtracking; here each optional part greedily takes
    /// an optional separator, a spelling and a number, which accepts exactly
    /// the same strings with the same parts (every alternative the pattern
    /// could backtrack to leaves text that no later part accepts).
    pub fn parse(input: &'a str) -> Result<Self, VersionError> {
        let err = |reason| VersionError::new(Ecosystem::Pypi, input, reason);
        let s = input.trim_matches(is_py_space);
        let mut p = Parser { s, i: 0 };
        if p.peek().is_some_and(|c| letter_matches(c, b'v')) {
            p.i += 1;
        }
        let mut release_start = p.i;
        let first = p.digits();
        if first.is_empty() {
            return Err(err("a version must start with a number"));
        }
        let mut epoch = Number("");
        if p.eat('!') {
            epoch = Number(first);
            release_start = p.i;
            if p.digits().is_empty() {
                return Err(err("no release number after the epoch"));
            }
        }
        while p.peek() == Some('.') && p.peek2().is_some_and(|c| c.is_ascii_digit()) {
            p.i += 1;
            p.digits();
        }
        let release = s.get(release_start..p.i).unwrap_or("");

        let save = p.i;
        p.eat_sep();
        let pre = match p.pre_tag() {
            Some(tag) => {
                p.eat_sep();
                Some((tag, Number(p.digits())))
            }
            None => {
                p.i = save;
                None
            }
        };

        let save = p.i;
        let post = if p.peek() == Some('-') && p.peek2().is_some_and(|c| c.is_ascii_digit()) {
            p.i += 1;
            Some((PostTag::Post, Number(p.digits())))
        } else {
            p.eat_sep();
            match p.post_tag() {
                Some(tag) => {
                    p.eat_sep();
                    Some((tag, Number(p.digits())))
                }
                None => {
                    p.i = save;
                    None
                }
            }
        };

        let save = p.i;
        p.eat_sep();
        let dev = if p.keyword("dev").is_some() {
            p.eat_sep();
            Some(Number(p.digits()))
        } else {
            p.i = save;
            None
        };

        let local = if p.eat('+') {
            let start = p.i;
            loop {
                let rest = s.get(p.i..).unwrap_or("");
                let run: usize = rest
                    .chars()
                    .take_while(|&c| is_local_char(c))
                    .map(char::len_utf8)
                    .sum();
                if run == 0 {
                    return Err(err("empty segment in local version label"));
                }
                p.i += run;
                if !p.peek().is_some_and(is_sep) {
                    break;
                }
                p.i += 1;
            }
            s.get(start..p.i)
        } else {
            None
        };

        if p.i != s.len() {
            return Err(err("not a PEP 440 version"));
        }
        let v = Pep440Version {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        };
        if s.len() > MAX_DIGITS && v.numbers().any(|n| n.len() > MAX_DIGITS) {
            return Err(err(
                "a number has more than 4300 digits (Python's int limit)",
            ));
        }
        Ok(v)
    }

    /// Every digit run that `packaging` turns into an `int`.
    fn numbers(&self) -> impl Iterator<Item = &'a str> + '_ {
        let local_numbers = self
            .local
            .into_iter()
            .flat_map(|l| l.split(is_sep))
            .filter(|part| part.bytes().all(|b| b.is_ascii_digit()));
        std::iter::once(self.epoch.0)
            .chain(self.release.split('.'))
            .chain(self.pre.map(|(_, n)| n.0))
            .chain(self.post.map(|(_, n)| n.0))
            .chain(self.dev.map(|n| n.0))
            .chain(local_numbers)
    }

    fn pre_key(&self) -> PreKey<'a> {
        match (self.pre, self.post, self.dev) {
            (None, None, Some(_)) => PreKey::BeforeAll,
            (None, _, _) => PreKey::Final,
            (Some((tag, n)), _, _) => PreKey::Pre(tag, n),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum PreKey<'a> {
    /// A dev release of the final release: before its pre-releases.
    BeforeAll,
    Pre(PreTag, Number<'a>),
    Final,
}

/// Releases compare as if padded with zeros, which is what comparing them
/// with trailing zeros stripped amounts to.
fn cmp_release(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.split('.'), b.split('.'));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (l, r) => {
                let o = cmp_decimal(l.unwrap_or(""), r.unwrap_or(""));
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// Local labels: segment by segment, numbers above words, numbers by value,
/// words by their lower-cased code points; a prefix sorts first.
fn cmp_local(a: &str, b: &str) -> Ordering {
    let is_number = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let (mut x, mut y) = (a.split(is_sep), b.split(is_sep));
    loop {
        let o = match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(l), Some(r)) => match (is_number(l), is_number(r)) {
                (true, true) => cmp_decimal(l, r),
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => l
                    .chars()
                    .flat_map(char::to_lowercase)
                    .cmp(r.chars().flat_map(char::to_lowercase)),
            },
        };
        if o != Ordering::Equal {
            return o;
        }
    }
}

impl Ord for Pep440Version<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| cmp_release(self.release, other.release))
            .then_with(|| self.pre_key().cmp(&other.pre_key()))
            .then_with(|| self.post.cmp(&other.post))
            // An absent dev part sorts last.
            .then_with(|| match (self.dev, other.dev) {
                (Some(a), Some(b)) => a.cmp(&b),
                (a, b) => b.is_some().cmp(&a.is_some()),
            })
            .then_with(|| match (self.local, other.local) {
                (Some(a), Some(b)) => cmp_local(a, b),
                (a, b) => a.is_some().cmp(&b.is_some()),
            })
    }
}

impl PartialOrd for Pep440Version<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Pep440Version<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pep440Version<'_> {}

/// Compare two PEP 440 versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(Pep440Version::parse(a)?.cmp(&Pep440Version::parse(b)?))
}

/// Check that `v` is a version `packaging.version.Version` accepts.
pub fn validate(v: &str) -> Result<(), VersionError> {
    Pep440Version::parse(v).map(|_| ())
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
    fn pep440_example_order() {
        assert_order(&[
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.0.15",
            "1.1.dev1",
        ]);
    }

    #[test]
    fn spellings_normalise() {
        for (a, b) in [
            ("1.0", "1.0.0"),
            ("v1.0", "1"),
            (" 1.0\n", "1"),
            ("1.0ALPHA1", "1.0a1"),
            ("1.0-beta.2", "1.0b2"),
            ("1.0c1", "1.0rc1"),
            ("1.0pre1", "1.0rc1"),
            ("1.0preview_1", "1.0rc1"),
            ("1.0-1", "1.0.post1"),
            ("1.0r", "1.0.post0"),
            ("1.0rev3", "1.0.post3"),
            ("1.0.dev", "1.0.dev0"),
            ("1.0a", "1.0a0"),
            ("0!1.0", "1.0"),
            ("1.0+ABC", "1.0+abc"),
            ("1.0+abc-5", "1.0+abc_5"),
            ("1.0+01", "1.0+1"),
            ("1.0a-", "1.0a0"),
            ("1.0a..dev", "1.0a0.dev0"),
            ("1.0a-1", "1.0a1"),
        ] {
            assert_eq!(cmp(a, b), Ordering::Equal, "{a} = {b}");
        }
    }

    #[test]
    fn epochs_win() {
        assert_order(&["2.0", "1!0.1", "2!0.0.1"]);
    }

    #[test]
    fn local_segments() {
        assert_order(&[
            "1.0", "1.0+a", "1.0+a.b", "1.0+a.0", "1.0+a.1", "1.0+b", "1.0+0", "1.0+1",
        ]);
    }

    #[test]
    fn python_ignorecase_oddities() {
        // Valid, but not the ASCII spellings once lower-cased.
        assert_order(&["1.0b9", "1.0prev\u{130}ew1", "1.0prev\u{131}ew1", "1.0rc0"]);
        assert_eq!(cmp("1.0PREVIEW1", "1.0rc1"), Ordering::Equal);
        assert_order(&["1.0.post9", "1.0.po\u{17f}t0"]);
        assert_order(&["1.0+i", "1.0+\u{130}", "1.0+\u{131}"]);
        assert_eq!(cmp("1.0+\u{212a}", "1.0+k"), Ordering::Equal);
    }

    #[test]
    fn invalid_versions() {
        for v in [
            "",
            "a",
            "1.",
            "1.0-",
            "1..0",
            "1.0+",
            "1.0+a..b",
            "1.0_1",
            "1.0 a1",
            "1!",
            "!1",
            "1.0prev",
            "1.0++a",
            "1.0+a+b",
            "v",
            "1.0.dev1.dev2",
            "1.0a1a2",
        ] {
            let e = validate(v).expect_err(v);
            assert_eq!(e.ecosystem, Ecosystem::Pypi);
            assert_eq!(e.version, v);
        }
        let long = format!("1.{}", "9".repeat(4301));
        assert!(validate(&long).is_err());
        assert!(validate(&format!("1.{}", "9".repeat(4300))).is_ok());
    }

    #[test]
    fn big_numbers_compare_by_value() {
        assert_order(&["1.99999999999999999999", "1.100000000000000000000"]);
        assert_eq!(cmp("1.000000000000000000000001", "1.1"), Ordering::Equal);
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
            "_",
            "!",
            "+",
            "v",
            "a",
            "b",
            "c",
            "rc",
            "pre",
            "post",
            "dev",
            "r",
            "\u{130}",
            "\u{17f}",
            "\u{212a}",
            " ",
            "\u{3000}",
        ];
        crate::random_pieces_check(PIECES, compare, validate);
    }
}
