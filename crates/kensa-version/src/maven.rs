//! Maven versions, ordered as Maven's `ComparableVersion` orders them
//! (maven-artifact 3.8, the jar Debian's `maven` package ships).
//!
//! `ComparableVersion` lower-cases the string and cuts it into items at `.`,
//! at `-`, and where digits meet non-digits. A number is an integer item; a
//! run of other characters is a qualifier. Each `-`, and each digit/letter
//! transition, opens a nested list that holds the rest of the version, so a
//! version is a chain of lists, each list's last element being the next.
//! Every list then drops its trailing "null" items (`0`, the release
//! qualifiers `""`, `ga`, `final`, `release`, and emptied lists), also when
//! they sit just before a non-empty nested list, so `1.0-1` is `1-1`.
//!
//! Items compare by kind first: a number beats a nested list, which beats a
//! qualifier. Numbers of up to 9 significant digits, up to 18, and longer
//! are three kinds that compare by kind before value (so the eleven-digit
//! `1.00000000000.1` is newer than `1.0.1`). Known qualifiers order as
//! `alpha` (`a1`) < `beta` (`b1`) < `milestone` (`m1`) < `rc` (`cr`) <
//! `snapshot` < release < `sp`, and any other qualifier sorts after all of
//! them, by its UTF-16 code units. When one list runs out, the other's
//! remaining items are compared with "nothing": the first item that is not
//! null decides (a qualifier below release makes the longer version older).
//!
//! Like the jar's, this order is not transitive on some odd inputs: a nested
//! list outranks any qualifier, but against "nothing" it is only as big as
//! its contents, so `5-alpha` < `5` < `5.sp.1` < `5-alpha`. Kensa keeps the
//! jar's answers rather than a consistent order that Maven would disagree
//! with.
//!
//! Everything is a valid Maven version except the empty string: the jar
//! reads it as `0`, but an empty version in a feed or a package database is
//! missing data, and reading it as `0` would put it below every real
//! version, so Kensa rejects it instead.
//!
//! The comparison walks both strings once and never allocates: the nested
//! lists are levels of one token stream, and "is this null item trailing?"
//! is answered by a look-ahead whose result is remembered, so the walk stays
//! linear however long the input is.
//!
//! Non-ASCII input follows Java too: digits are the Unicode decimal digits
//! of the Basic Multilingual Plane (Java tests UTF-16 units with
//! `Character.isDigit`), letters are lower-cased as `String.toLowerCase`
//! does, and qualifiers compare by UTF-16 code units. Known differences:
//! Java lower-cases a word-final capital sigma to `ς` using word-break
//! rules, where Kensa always uses `σ`; and Rust's case tables follow a newer
//! Unicode than Java 17's, which matters only for letters added since
//! Unicode 13.

use std::cmp::Ordering;

use crate::{Ecosystem, VersionError};

/// A Maven version that borrows its input. Parsing only rejects the empty
/// string; the structure is worked out lazily while comparing.
#[derive(Clone, Copy, Debug)]
pub struct MavenVersion<'a> {
    text: &'a str,
}

impl<'a> MavenVersion<'a> {
    pub fn parse(input: &'a str) -> Result<Self, VersionError> {
        if input.is_empty() {
            return Err(VersionError::new(
                Ecosystem::Maven,
                input,
                "version string is empty",
            ));
        }
        Ok(MavenVersion { text: input })
    }

    /// The version as given.
    pub fn as_str(&self) -> &'a str {
        self.text
    }
}

impl Ord for MavenVersion<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_text(self.text, other.text)
    }
}

impl PartialOrd for MavenVersion<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for MavenVersion<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for MavenVersion<'_> {}

/// Compare two Maven versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(MavenVersion::parse(a)?.cmp(&MavenVersion::parse(b)?))
}

/// Check that `v` is a Maven version: anything but the empty string.
pub fn validate(v: &str) -> Result<(), VersionError> {
    MavenVersion::parse(v).map(|_| ())
}

/// The code point of each `0` among the Basic Multilingual Plane's decimal
/// digits (general category Nd, as Java 17 classifies them); each starts a
/// run of ten.
const ND_ZEROS: [u32; 37] = [
    0x0030, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
    0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80,
    0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
    0xFF10,
];

/// The value of `c` if Java's `Character.isDigit` accepts it as a UTF-16
/// unit (so digits outside the BMP are not digits here).
#[inline]
fn digit_value(c: char) -> Option<u8> {
    if c.is_ascii() {
        return c.is_ascii_digit().then(|| c as u8 - b'0');
    }
    let cp = u32::from(c);
    if cp > 0xFFFF {
        return None;
    }
    let idx = ND_ZEROS.partition_point(|&zero| zero <= cp);
    let zero = *ND_ZEROS.get(idx.checked_sub(1)?)?;
    let d = cp - zero;
    // `d < 10` makes the narrowing exact.
    (d < 10).then_some(d as u8)
}

/// The three number item classes, in the order the jar ranks them when they
/// meet: the class is decided by length, before any value is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum NumKind {
    Int,
    Long,
    Big,
}

/// Ranks of the known qualifiers; `RELEASE` is the null one.
const ALPHA: u8 = 0;
const BETA: u8 = 1;
const MILESTONE: u8 = 2;
const RC: u8 = 3;
const SNAPSHOT: u8 = 4;
const RELEASE: u8 = 5;
const SP: u8 = 6;

#[derive(Clone, Copy, Debug)]
enum Item<'a> {
    /// Digits as written (leading zeros included); `""` is the zero that an
    /// empty token such as the middle of `1..2` stands for.
    Num(NumKind, &'a str),
    Known(u8),
    /// A qualifier the jar does not know, as written (not yet lower-cased).
    Unknown(&'a str),
}

impl Item<'_> {
    fn number(digits: &str) -> Item<'_> {
        // The jar strips ASCII zeros only, and keeps an all-zero run whole.
        let stripped = digits.trim_start_matches('0');
        let significant = if stripped.is_empty() {
            digits
        } else {
            stripped
        };
        let len = significant.chars().count();
        let kind = match len {
            0..=9 => NumKind::Int,
            10..=18 => NumKind::Long,
            _ => NumKind::Big,
        };
        Item::Num(kind, digits)
    }

    fn qualifier(text: &str, followed_by_digit: bool) -> Item<'_> {
        let is = |word: &str| lower_chars(text).eq(word.chars());
        if followed_by_digit {
            // `a1`, `b2`, `m3`: the one-letter spellings count only before a
            // number.
            for (word, rank) in [("a", ALPHA), ("b", BETA), ("m", MILESTONE)] {
                if is(word) {
                    return Item::Known(rank);
                }
            }
        }
        const WORDS: [(&str, u8); 10] = [
            ("alpha", ALPHA),
            ("beta", BETA),
            ("milestone", MILESTONE),
            ("rc", RC),
            ("cr", RC),
            ("snapshot", SNAPSHOT),
            ("ga", RELEASE),
            ("final", RELEASE),
            ("release", RELEASE),
            ("sp", SP),
        ];
        for (word, rank) in WORDS {
            if is(word) {
                return Item::Known(rank);
            }
        }
        Item::Unknown(text)
    }

    fn is_null(&self) -> bool {
        self.cmp_nothing() == Ordering::Equal
    }

    /// The item against a missing one (`compareTo(null)`).
    fn cmp_nothing(&self) -> Ordering {
        match *self {
            Item::Num(_, digits) => {
                if digits.chars().all(|c| digit_value(c) == Some(0)) {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            Item::Known(rank) => rank.cmp(&RELEASE),
            Item::Unknown(_) => Ordering::Greater,
        }
    }

    fn cmp_item(&self, other: &Item<'_>) -> Ordering {
        match (*self, *other) {
            (Item::Num(k1, d1), Item::Num(k2, d2)) => k1.cmp(&k2).then_with(|| cmp_digits(d1, d2)),
            (Item::Num(..), _) => Ordering::Greater,
            (_, Item::Num(..)) => Ordering::Less,
            (Item::Known(r1), Item::Known(r2)) => r1.cmp(&r2),
            (Item::Known(_), Item::Unknown(_)) => Ordering::Less,
            (Item::Unknown(_), Item::Known(_)) => Ordering::Greater,
            (Item::Unknown(t1), Item::Unknown(t2)) => lower_chars(t1)
                .map(utf16_rank)
                .cmp(lower_chars(t2).map(utf16_rank)),
        }
    }

    /// The item against a nested list: numbers win, qualifiers lose.
    fn cmp_list(&self) -> Ordering {
        match self {
            Item::Num(..) => Ordering::Greater,
            _ => Ordering::Less,
        }
    }
}

fn lower_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().flat_map(char::to_lowercase)
}

/// A key whose order on characters is the order of their UTF-16 encodings:
/// code point order, except that U+E000..U+FFFF sort after the surrogate
/// pairs of the supplementary planes.
#[inline]
fn utf16_rank(c: char) -> u32 {
    let cp = u32::from(c);
    if (0xE000..=0xFFFF).contains(&cp) {
        cp + 0x11_0000
    } else {
        cp
    }
}

/// Numeric order of two runs of (possibly non-ASCII) decimal digits.
fn cmp_digits(a: &str, b: &str) -> Ordering {
    let significant = |s: &str| {
        s.chars()
            .filter_map(digit_value)
            .skip_while(|&d| d == 0)
            .count()
    };
    let (la, lb) = (significant(a), significant(b));
    la.cmp(&lb).then_with(|| {
        let da = a.chars().filter_map(digit_value).skip_while(|&d| d == 0);
        let db = b.chars().filter_map(digit_value).skip_while(|&d| d == 0);
        da.cmp(db)
    })
}

#[derive(Clone, Copy, Debug)]
enum Event<'a> {
    Item(Item<'a>),
    /// The start of a nested list holding the rest of the version.
    Descend,
}

/// `ComparableVersion.parseVersion` as a stream of events, run on the
/// original string: lower-casing never turns a character into a digit, a
/// `.` or a `-`, nor the reverse, so the cuts fall in the same places.
#[derive(Clone, Debug)]
struct Tokens<'a> {
    text: &'a str,
    pos: usize,
    start: usize,
    is_digit: bool,
    list_empty: bool,
    finished: bool,
    pending: [Option<Event<'a>>; 3],
    head: usize,
    len: usize,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Self {
        Tokens {
            text,
            pos: 0,
            start: 0,
            is_digit: false,
            list_empty: true,
            finished: false,
            pending: [None; 3],
            head: 0,
            len: 0,
        }
    }

    fn push(&mut self, e: Event<'a>) {
        self.list_empty = matches!(e, Event::Descend);
        if let Some(slot) = self.pending.get_mut(self.head + self.len) {
            *slot = Some(e);
            self.len += 1;
        }
    }

    fn token(&self, end: usize) -> Item<'a> {
        let text = self.text.get(self.start..end).unwrap_or("");
        if self.is_digit {
            Item::number(text)
        } else {
            Item::qualifier(text, false)
        }
    }

    /// Cut the token that a separator at `i` ends: an empty one is a zero.
    fn cut(&mut self, i: usize) {
        let item = if i == self.start {
            Item::Num(NumKind::Int, "")
        } else {
            self.token(i)
        };
        self.push(Event::Item(item));
    }

    fn step(&mut self) {
        self.head = 0;
        self.len = 0;
        let Some(c) = self.text.get(self.pos..).and_then(|r| r.chars().next()) else {
            self.finished = true;
            let end = self.text.len();
            if end > self.start {
                if !self.is_digit && !self.list_empty {
                    self.push(Event::Descend);
                }
                let item = self.token(end);
                self.push(Event::Item(item));
            }
            return;
        };
        let i = self.pos;
        self.pos += c.len_utf8();
        match c {
            '.' => {
                self.cut(i);
                self.start = self.pos;
            }
            '-' => {
                self.cut(i);
                self.start = self.pos;
                self.push(Event::Descend);
            }
            _ if digit_value(c).is_some() => {
                if !self.is_digit && i > self.start {
                    if !self.list_empty {
                        self.push(Event::Descend);
                    }
                    let text = self.text.get(self.start..i).unwrap_or("");
                    self.push(Event::Item(Item::qualifier(text, true)));
                    self.start = i;
                    self.push(Event::Descend);
                }
                self.is_digit = true;
            }
            _ => {
                if self.is_digit && i > self.start {
                    let item = self.token(i);
                    self.push(Event::Item(item));
                    self.start = i;
                    self.push(Event::Descend);
                }
                self.is_digit = false;
            }
        }
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        loop {
            if self.len > 0 {
                let e = self.pending.get_mut(self.head).and_then(Option::take);
                self.head += 1;
                self.len -= 1;
                if e.is_some() {
                    return e;
                }
                continue;
            }
            if self.finished {
                return None;
            }
            self.step();
        }
    }
}

/// An element of a normalised list.
#[derive(Clone, Copy, Debug)]
enum Elem<'a> {
    Item(Item<'a>),
    /// The (non-empty) nested list; the cursor has moved into it.
    List,
    End,
}

/// Walks one version's normalised lists, level by level.
struct Cursor<'a> {
    tokens: Tokens<'a>,
    peeked: Option<Option<Event<'a>>>,
    /// Events consumed so far.
    index: usize,
    depth: usize,
    /// Where the next non-null item is, as (event index, depth), once a
    /// look-ahead has found it; `Some(None)` when there is none left.
    next_non_null: Option<Option<(usize, usize)>>,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor {
            tokens: Tokens::new(text),
            peeked: None,
            index: 0,
            depth: 0,
            next_non_null: None,
        }
    }

    fn peek(&mut self) -> Option<Event<'a>> {
        *self.peeked.get_or_insert_with(|| self.tokens.next())
    }

    fn advance(&mut self) {
        if self.peek().is_some() {
            self.peeked = None;
            self.index += 1;
        }
    }

    /// Where the next non-null item is. Null items before it are kept by the
    /// normalisation only if it is on their level; nested lists are kept only
    /// if it exists.
    fn find_non_null(&mut self) -> Option<(usize, usize)> {
        if let Some(found) = self.next_non_null {
            match found {
                Some((at, _)) if at < self.index => {}
                _ => return found,
            }
        }
        let mut ahead = self.tokens.clone();
        let mut pending = self.peeked;
        let (mut at, mut depth) = (self.index, self.depth);
        let found = loop {
            let event = match pending.take() {
                Some(e) => e,
                None => ahead.next(),
            };
            match event {
                None => break None,
                Some(Event::Descend) => depth += 1,
                Some(Event::Item(item)) if !item.is_null() => break Some((at, depth)),
                Some(Event::Item(_)) => {}
            }
            at += 1;
        };
        self.next_non_null = Some(found);
        found
    }

    fn next_elem(&mut self) -> Elem<'a> {
        match self.peek() {
            None => Elem::End,
            Some(Event::Item(item)) => {
                if !item.is_null()
                    || matches!(self.find_non_null(), Some((_, d)) if d == self.depth)
                {
                    self.advance();
                    return Elem::Item(item);
                }
                // Only nulls are left on this level: normalisation drops them.
                while let Some(Event::Item(_)) = self.peek() {
                    self.advance();
                }
                self.enter_list()
            }
            Some(Event::Descend) => self.enter_list(),
        }
    }

    fn enter_list(&mut self) -> Elem<'a> {
        if matches!(self.peek(), Some(Event::Descend)) && self.find_non_null().is_some() {
            self.advance();
            self.depth += 1;
            Elem::List
        } else {
            Elem::End
        }
    }

    /// The rest of this version against nothing: the first non-null item
    /// decides. Nulls and emptied lists compare equal to nothing, so the raw
    /// events can be scanned without normalising.
    fn rest_vs_nothing(&mut self, first: Elem<'a>) -> Ordering {
        if let Elem::Item(item) = first {
            let o = item.cmp_nothing();
            if o != Ordering::Equal {
                return o;
            }
        }
        if matches!(first, Elem::End) {
            return Ordering::Equal;
        }
        loop {
            let event = self.peek();
            self.advance();
            match event {
                None => return Ordering::Equal,
                Some(Event::Item(item)) => {
                    let o = item.cmp_nothing();
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Some(Event::Descend) => {}
            }
        }
    }
}

fn compare_text(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (Cursor::new(a), Cursor::new(b));
    loop {
        let (l, r) = (x.next_elem(), y.next_elem());
        let o = match (l, r) {
            (Elem::End, Elem::End) => return Ordering::Equal,
            (Elem::End, _) => return y.rest_vs_nothing(r).reverse(),
            (_, Elem::End) => return x.rest_vs_nothing(l),
            (Elem::Item(p), Elem::Item(q)) => p.cmp_item(&q),
            (Elem::Item(p), Elem::List) => p.cmp_list(),
            (Elem::List, Elem::Item(q)) => q.cmp_list().reverse(),
            // A nested list is the last element of its list: comparing the
            // two lists is all that is left, and both cursors are in them.
            (Elem::List, Elem::List) => Ordering::Equal,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
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
    fn qualifiers_in_maven_order() {
        assert_order(&[
            "1-alpha",
            "1-beta",
            "1-milestone",
            "1-rc",
            "1-snapshot",
            "1",
            "1-sp",
            "1-abc",
            "1-xyz",
            "1.1",
        ]);
        assert_order(&["1-a1", "1-b1", "1-m1", "1-rc1", "1-SNAPSHOT", "1-sp1"]);
    }

    #[test]
    fn aliases_and_case() {
        for (a, b) in [
            ("1-ga", "1"),
            ("1-final", "1"),
            ("1.RELEASE", "1"),
            ("1-cr1", "1-rc1"),
            ("1a1", "1-alpha-1"),
            ("1-ALPHA", "1-alpha"),
            ("1.0-Foo", "1-fOO"),
        ] {
            assert_eq!(cmp(a, b), Ordering::Equal, "{a} = {b}");
        }
        // One-letter spellings count only right before a number.
        assert_eq!(cmp("1-a", "1-alpha"), Ordering::Greater);
    }

    #[test]
    fn trailing_nulls_are_trimmed_even_before_a_nested_list() {
        assert_eq!(cmp("1.0.0", "1"), Ordering::Equal);
        assert_eq!(cmp("1.0-1", "1-1"), Ordering::Equal);
        assert_eq!(cmp("1.0.0-0.0", "1"), Ordering::Equal);
        assert_eq!(cmp("1-", "1"), Ordering::Equal);
        // A null in the middle stays: 1.0.1 is not 1.1.
        assert_eq!(cmp("1.0.1", "1.1"), Ordering::Less);
    }

    #[test]
    fn numbers_beat_lists_beat_qualifiers() {
        assert_order(&["1-sp", "1-1", "1.1"]);
        assert_order(&["1.foo", "1-1", "1.1"]);
        // Against nothing, every non-null item of a nested list counts.
        assert_eq!(cmp("1-0.1", "1"), Ordering::Greater);
        assert_eq!(cmp("1-0.alpha", "1"), Ordering::Less);
    }

    #[test]
    fn number_classes_compare_before_values() {
        assert_order(&[
            "1.999999999",
            "1.1000000000",
            "1.999999999999999999",
            "1.1000000000000000000",
        ]);
        assert_eq!(cmp("1.0000000000.1", "1.0.1"), Ordering::Greater);
        assert_eq!(cmp("1.000000001", "1.1"), Ordering::Equal);
        assert_eq!(
            cmp("1.12345678901234567890123", "1.12345678901234567890124"),
            Ordering::Less
        );
    }

    #[test]
    fn letters_after_digits_open_lists() {
        // A qualifier after a number opens a list whether `.` or `-` came
        // before it, so `.x1` and `-x2` compare as siblings.
        assert_eq!(cmp("1.0.0.x1", "1.0.0-x2"), Ordering::Less);
        assert_eq!(cmp("1.a", "1-a"), Ordering::Equal);
        assert_eq!(cmp("1rc1", "1-rc-1"), Ordering::Equal);
    }

    #[test]
    fn not_transitive_exactly_where_the_jar_is_not() {
        assert_order(&["5-alpha", "5", "5.sp.1"]);
        assert_eq!(cmp("5.sp.1", "5-alpha"), Ordering::Less);
        assert_order(&["5alpha", "5", "5.a-"]);
        assert_eq!(cmp("5.a-", "5alpha"), Ordering::Less);
    }

    #[test]
    fn empty_tokens_are_zero() {
        assert_eq!(cmp("1..2", "1.0.2"), Ordering::Equal);
        assert_eq!(cmp(".1", "0.1"), Ordering::Equal);
        assert_eq!(cmp("1--2", "1-0-2"), Ordering::Equal);
    }

    #[test]
    fn unicode_digits_letters_and_utf16_order() {
        assert_eq!(cmp("\u{661}.\u{662}", "1.2"), Ordering::Equal);
        assert_eq!(cmp("1-\u{c9}", "1-\u{e9}"), Ordering::Equal);
        // Mathematical digits are outside the BMP: qualifiers, not numbers.
        assert_eq!(cmp("1.\u{1d7cf}", "1"), Ordering::Greater);
        assert_eq!(cmp("1.\u{1d7cf}", "1.1"), Ordering::Less);
        // UTF-16 puts U+E000 after U+10000.
        assert_eq!(cmp("1-\u{e000}", "1-\u{10000}"), Ordering::Greater);
    }

    #[test]
    fn no_non_ascii_letter_lowers_to_a_known_qualifier() {
        // The qualifier table is matched after lower-casing; no non-ASCII
        // character lower-cases to a letter of a known qualifier.
        for c in (0x80..=0x10FFFFu32).filter_map(char::from_u32) {
            if c.to_lowercase().any(|l| l.is_ascii()) {
                assert!(c == '\u{212a}' || c == '\u{130}', "{c:?}");
            }
        }
    }

    #[test]
    fn digit_table_matches_unicode_decimal_digits() {
        assert_eq!(digit_value('7'), Some(7));
        assert_eq!(digit_value('\u{ff19}'), Some(9));
        assert_eq!(digit_value('\u{669}'), Some(9));
        assert_eq!(digit_value('\u{66a}'), None);
        assert_eq!(digit_value('\u{1d7ce}'), None);
        assert_eq!(digit_value('a'), None);
        for c in (0..=0xFFFFu32).filter_map(char::from_u32) {
            if digit_value(c).is_some() {
                assert!(c.is_numeric(), "{c:?}");
            }
        }
    }

    #[test]
    fn long_inputs_are_linear_and_do_not_recurse() {
        let deep = "1-".repeat(50_000) + "1";
        assert_eq!(cmp(&deep, &deep), Ordering::Equal);
        let zeros = "0.".repeat(50_000) + "1";
        assert_eq!(cmp(&zeros, "1"), Ordering::Less);
        assert_eq!(cmp(&"0.".repeat(50_000), "0"), Ordering::Equal);
    }

    #[test]
    fn only_the_empty_string_is_invalid() {
        let e = compare("", "1").expect_err("empty");
        assert_eq!(e.ecosystem, Ecosystem::Maven);
        assert!(validate("").is_err());
        for v in [" ", "-", ".", "\u{0}", "x", "1.0-SNAPSHOT", "\u{1F600}"] {
            assert!(validate(v).is_ok(), "{v:?}");
        }
    }

    /// Random strings over the characters that matter: no panic, and
    /// swapping the operands reverses the answer.
    #[test]
    fn random_input_is_antisymmetric_and_never_panics() {
        const PIECES: &[&str] = &[
            "1",
            "0",
            "00000000000",
            "1234567890123456789",
            ".",
            "-",
            "a",
            "B",
            "m",
            "rc",
            "SP",
            "ga",
            "x",
            "\u{e9}",
            "\u{663}",
            "\u{130}",
            "\u{1d7cf}",
            "\u{e000}",
            " ",
        ];
        crate::random_pieces_check(PIECES, compare, validate);
    }
}
