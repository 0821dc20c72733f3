//! Shared checks for the fuzz targets. Input bytes are split on the first
//! NUL (or newline) into two version strings.

use std::cmp::Ordering;

use kensa_version::Ecosystem;
use kensa_version::range::{Event, is_affected};

fn split(data: &[u8]) -> Option<(&str, &str)> {
    let s = std::str::from_utf8(data).ok()?;
    Some(s.split_once(['\0', '\n']).unwrap_or((s, "")))
}

pub fn check_compare(ecosystem: &str, data: &[u8]) {
    let eco: Ecosystem = ecosystem.parse().expect("fuzz target names a known ecosystem");
    let Some((a, b)) = split(data) else { return };
    let ab = eco.compare(a, b);
    let ba = eco.compare(b, a);
    match (ab, ba) {
        (Ok(x), Ok(y)) => assert_eq!(x, y.reverse(), "{eco}: {a:?} vs {b:?} not antisymmetric"),
        (Ok(_), Err(_)) | (Err(_), Ok(_)) => panic!("{eco}: {a:?} vs {b:?} valid one way only"),
        (Err(_), Err(_)) => {}
    }
    for v in [a, b] {
        if eco.validate(v).is_ok() {
            assert_eq!(eco.compare(v, v).ok(), Some(Ordering::Equal), "{eco}: {v:?} not equal to itself");
        }
    }
}

pub fn check_range(data: &[u8]) {
    let Some(first) = data.first() else { return };
    let eco = Ecosystem::ALL[usize::from(*first) % Ecosystem::ALL.len()];
    let Ok(text) = std::str::from_utf8(&data[1..]) else { return };
    let mut lines = text.lines();
    let Some(version) = lines.next() else { return };
    let events: Vec<Event<'_>> = lines.filter_map(Event::parse_pair).collect();
    let _ = is_affected(eco, version, &events);
}
