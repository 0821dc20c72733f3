//! OSV-style affected ranges: given an ecosystem's ordering and a range's
//! events (`introduced`, `fixed`, `last_affected`, `limit`), decide whether
//! a version is affected.
//!
//! The OSV specification evaluates a range by sorting its events and
//! walking them, toggling "affected" on each event the version has passed.
//! The state after that walk is decided by the greatest event the version
//! has passed, so [`is_affected`] finds that event directly: no sorting, no
//! allocation, one comparison per event with the version plus the
//! comparisons between candidate events.
//!
//! Choices where the specification is silent, made to avoid false
//! negatives and empty ranges alike:
//! - `introduced: "0"` is below every version; `fixed`/`last_affected`/
//!   `limit` never take `0`, and `limit: "*"` means no limit.
//! - When an opening and a closing event name the same version, the opening
//!   one wins. Real records write adjacent intervals that way
//!   (`introduced: 0, fixed: 3.1.1, introduced: 3.1.1, fixed: 3.1.3` in
//!   PYSEC-2022-236 means 3.1.1 and 3.1.2 are affected); the cost is that a
//!   degenerate `introduced: 1.0, fixed: 1.0` marks 1.0 affected, a false
//!   positive rather than a missed vulnerability.
//! - `limit` events bound the range: a version at or above every limit is
//!   outside it.

use std::cmp::Ordering;

use crate::{Ecosystem, VersionError};

/// One OSV range event, borrowing its version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    Introduced(&'a str),
    Fixed(&'a str),
    LastAffected(&'a str),
    Limit(&'a str),
}

impl<'a> Event<'a> {
    /// Parse the `key=version` form used on the command line.
    pub fn parse_pair(s: &'a str) -> Option<Event<'a>> {
        let (k, v) = s.split_once('=')?;
        Event::from_key(k, v)
    }

    /// An event from its OSV JSON key.
    pub fn from_key(key: &str, version: &'a str) -> Option<Event<'a>> {
        Some(match key {
            "introduced" => Event::Introduced(version),
            "fixed" => Event::Fixed(version),
            "last_affected" => Event::LastAffected(version),
            "limit" => Event::Limit(version),
            _ => return None,
        })
    }

    fn version(self) -> &'a str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }
}

/// Whether `version` falls inside the range described by `events`, under
/// `ecosystem`'s ordering. An invalid version, in the input or in an event,
/// is an error naming it.
pub fn is_affected(
    ecosystem: Ecosystem,
    version: &str,
    events: &[Event<'_>],
) -> Result<bool, VersionError> {
    ecosystem.validate(version)?;
    let cmp = |a: &str, b: &str| ecosystem.compare(a, b);

    let mut under_some_limit = None::<bool>;
    // The greatest event the version has passed: (version, rank, closes?).
    let mut last: Option<(&str, u8, bool)> = None;
    for &event in events {
        let passed = match event {
            Event::Introduced("0") => true,
            Event::Introduced(v) | Event::Fixed(v) => cmp(version, v)? != Ordering::Less,
            Event::LastAffected(v) => cmp(version, v)? == Ordering::Greater,
            Event::Limit("*") => {
                under_some_limit = Some(true);
                continue;
            }
            Event::Limit(v) => {
                let below = cmp(version, v)? == Ordering::Less;
                under_some_limit = Some(under_some_limit.unwrap_or(false) || below);
                continue;
            }
        };
        if !passed {
            continue;
        }
        let closes = !matches!(event, Event::Introduced(_));
        // `last_affected: X` closes just after X, so at an equal version it
        // ranks after `introduced: X`.
        let rank = u8::from(matches!(event, Event::LastAffected(_)));
        let ev = event.version();
        last = match last {
            None => Some((ev, rank, closes)),
            Some((cur, cur_rank, cur_closes)) => {
                let order = if matches!(event, Event::Introduced("0")) {
                    Ordering::Less
                } else if cur == "0" && !cur_closes {
                    Ordering::Greater
                } else {
                    cmp(ev, cur)?.then(rank.cmp(&cur_rank))
                };
                match order {
                    Ordering::Greater => Some((ev, rank, closes)),
                    Ordering::Equal => Some((cur, cur_rank, cur_closes && closes)),
                    Ordering::Less => Some((cur, cur_rank, cur_closes)),
                }
            }
        };
    }
    if under_some_limit == Some(false) {
        return Ok(false);
    }
    Ok(matches!(last, Some((_, _, false))))
}

#[cfg(test)]
mod tests {
    use super::Event::*;
    use super::*;

    fn aff(eco: Ecosystem, v: &str, ev: &[Event<'_>]) -> bool {
        is_affected(eco, v, ev).expect("valid versions")
    }

    #[test]
    fn introduced_zero_fixed() {
        let ev = [Introduced("0"), Fixed("1.2-3")];
        assert!(aff(Ecosystem::Dpkg, "1.2-2", &ev));
        assert!(aff(Ecosystem::Dpkg, "1.2~rc1-9", &ev));
        assert!(!aff(Ecosystem::Dpkg, "1.2-3", &ev));
        assert!(!aff(Ecosystem::Dpkg, "1:0.1", &ev));
    }

    #[test]
    fn several_intervals_in_any_order() {
        // [1.0, 1.5) and [2.0, 2.3): events given unsorted on purpose.
        let ev = [
            Fixed("2.3-1"),
            Introduced("2.0-1"),
            Fixed("1.5-1"),
            Introduced("1.0-1"),
        ];
        for (v, want) in [
            ("0.9-1", false),
            ("1.0-1", true),
            ("1.4-9", true),
            ("1.5-1", false),
            ("1.9-1", false),
            ("2.0-1", true),
            ("2.2-1", true),
            ("2.3-1", false),
            ("3.0-1", false),
        ] {
            assert_eq!(aff(Ecosystem::Dpkg, v, &ev), want, "{v}");
        }
    }

    #[test]
    fn last_affected_is_inclusive() {
        let ev = [Introduced("1.0-1"), LastAffected("1.4-1")];
        assert!(aff(Ecosystem::Dpkg, "1.4-1", &ev));
        assert!(!aff(Ecosystem::Dpkg, "1.4-1.1", &ev));
        assert!(!aff(Ecosystem::Dpkg, "0.9", &ev));
    }

    #[test]
    fn only_introduced_means_every_later_version() {
        let ev = [Introduced("2.0")];
        assert!(!aff(Ecosystem::Dpkg, "1.9", &ev));
        assert!(aff(Ecosystem::Dpkg, "99", &ev));
    }

    #[test]
    fn opening_event_wins_a_tie() {
        // Adjacent intervals [0, 3.1.1) and [3.1.1, 3.1.3), in either order.
        for ev in [
            [
                Introduced("0"),
                Fixed("3.1.1"),
                Introduced("3.1.1"),
                Fixed("3.1.3"),
            ],
            [
                Introduced("3.1.1"),
                Fixed("3.1.3"),
                Introduced("0"),
                Fixed("3.1.1"),
            ],
        ] {
            for (v, want) in [
                ("3.1.0", true),
                ("3.1.1", true),
                ("3.1.2", true),
                ("3.1.3", false),
            ] {
                assert_eq!(aff(Ecosystem::Dpkg, v, &ev), want, "{v} {ev:?}");
            }
        }
        let ev = [Introduced("1.0"), LastAffected("1.0")];
        assert!(aff(Ecosystem::Dpkg, "1.0", &ev));
        assert!(!aff(Ecosystem::Dpkg, "1.0.1", &ev));
        // The degenerate range is a false positive by choice.
        assert!(aff(
            Ecosystem::Dpkg,
            "1.0",
            &[Introduced("1.0"), Fixed("1.0")]
        ));
    }

    #[test]
    fn limit_bounds_the_range() {
        let ev = [Introduced("0"), Limit("2.0")];
        assert!(aff(Ecosystem::Dpkg, "1.9", &ev));
        assert!(!aff(Ecosystem::Dpkg, "2.0", &ev));
        let ev = [Introduced("0"), Limit("*")];
        assert!(aff(Ecosystem::Dpkg, "1000", &ev));
    }

    #[test]
    fn no_events_affect_nothing() {
        assert!(!aff(Ecosystem::Dpkg, "1.0", &[]));
    }

    #[test]
    fn invalid_versions_are_errors_naming_them() {
        let e = is_affected(Ecosystem::Dpkg, "1.0", &[Introduced("0"), Fixed("1:")])
            .expect_err("bad fixed");
        assert_eq!(e.version, "1:");
        let e = is_affected(Ecosystem::Dpkg, "", &[Introduced("0")]).expect_err("bad input");
        assert_eq!(e.version, "");
    }

    #[test]
    fn parse_pair() {
        assert_eq!(Event::parse_pair("fixed=1.2"), Some(Fixed("1.2")));
        assert_eq!(
            Event::parse_pair("last_affected=1:2"),
            Some(LastAffected("1:2"))
        );
        assert_eq!(Event::parse_pair("nope=1"), None);
        assert_eq!(Event::parse_pair("fixed"), None);
    }
}
