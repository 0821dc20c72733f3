//! The OSV range evaluator against the OSV data itself: PyPI records list,
//! beside their ranges, every version the OSV tooling enumerated as
//! affected (`affected[].versions`). Each listed version must fall inside
//! one of the entry's ranges, and each `fixed` version must not (unless
//! another interval of the entry covers it). This checks the evaluator and
//! the PEP 440 ordering together against an independent enumeration.

use std::io::Read;

use kensa_testkit::data_path;
use kensa_version::Ecosystem;
use kensa_version::range::{Event, is_affected};
use serde_json::Value;

/// Records whose enumerated `versions` disagree with their own ECOSYSTEM
/// ranges under the OSV evaluation rules, each checked by hand against the
/// raw record:
const DATA_INCONSISTENCIES: &[(&str, &str, &str)] = &[
    // The list came from the GIT range (a commit hash), not the ECOSYSTEM
    // range [0, 23.9.0), which excludes 23.9.0.
    (
        "PYSEC-2023-177",
        "23.9.0",
        "versions enumerated from the GIT range",
    ),
    (
        "PYSEC-2023-177",
        "23.9.0.post1",
        "versions enumerated from the GIT range",
    ),
    // Events [2.11, 2.11.7) and [0, 2.11.6) overlap, which the OSV schema
    // forbids within one range; sorted evaluation closes at 2.11.6.
    (
        "PYSEC-2021-114",
        "2.11.6",
        "overlapping intervals in one range",
    ),
    // introduced: 3.2 / 4.2, but the list also has their pre-releases,
    // which PEP 440 orders before the release (3.2a1 < 3.2).
    ("PYSEC-2023-61", "3.2a1", "pre-release below introduced"),
    ("PYSEC-2023-61", "3.2b1", "pre-release below introduced"),
    ("PYSEC-2023-61", "3.2rc1", "pre-release below introduced"),
    ("PYSEC-2023-61", "4.2a1", "pre-release below introduced"),
    ("PYSEC-2023-61", "4.2b1", "pre-release below introduced"),
    ("PYSEC-2023-61", "4.2rc1", "pre-release below introduced"),
];

#[test]
fn pypi_enumerated_versions_fall_inside_their_ranges() {
    let file = std::fs::File::open(data_path("osv/PyPI/all.zip")).expect("PyPI zip opens");
    let mut zip = zip::ZipArchive::new(file).expect("PyPI zip reads");
    let (mut listed_checked, mut fixed_checked, mut skipped_invalid) = (0usize, 0usize, 0usize);
    let mut explained = 0usize;
    let mut bad = Vec::new();
    let mut text = String::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).expect("zip entry");
        text.clear();
        entry.read_to_string(&mut text).expect("utf-8 record");
        let record: Value = serde_json::from_str(&text).expect("valid JSON record");
        let id = record["id"].as_str().unwrap_or("?").to_owned();
        for affected in record["affected"].as_array().into_iter().flatten() {
            let mut ranges: Vec<Vec<Event<'_>>> = Vec::new();
            for r in affected["ranges"].as_array().into_iter().flatten() {
                if r["type"] != "ECOSYSTEM" {
                    continue;
                }
                let events = r["events"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|e| {
                        e.as_object()?
                            .iter()
                            .next()
                            .and_then(|(k, v)| Event::from_key(k, v.as_str()?))
                    })
                    .collect();
                ranges.push(events);
            }
            if ranges.is_empty() {
                continue;
            }
            let inside = |v: &str| -> Result<bool, kensa_version::VersionError> {
                for events in &ranges {
                    if is_affected(Ecosystem::Pypi, v, events)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            };
            for v in affected["versions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                match inside(v) {
                    Ok(true) => listed_checked += 1,
                    Ok(false)
                        if DATA_INCONSISTENCIES
                            .iter()
                            .any(|(i, x, _)| (*i, *x) == (id.as_str(), v)) =>
                    {
                        explained += 1
                    }
                    Ok(false) => {
                        bad.push(format!("{id}: listed version {v} is outside every range"))
                    }
                    Err(_) => skipped_invalid += 1,
                }
            }
            // A fixed version that another interval reintroduces
            // (adjacent intervals [a, X) and [X, b)) is rightly affected.
            let reintroduced = |v: &str| {
                ranges
                    .iter()
                    .flatten()
                    .any(|e| matches!(e, Event::Introduced(i) if *i == v))
            };
            for events in &ranges {
                for e in events {
                    if let Event::Fixed(v) = e
                        && !reintroduced(v)
                    {
                        match inside(v) {
                            Ok(false) => fixed_checked += 1,
                            Ok(true) => {
                                bad.push(format!("{id}: fixed version {v} is inside a range"))
                            }
                            Err(_) => skipped_invalid += 1,
                        }
                    }
                }
            }
        }
    }
    eprintln!(
        "listed versions checked: {listed_checked}, fixed versions checked: {fixed_checked}, invalid skipped: {skipped_invalid}"
    );
    assert_eq!(
        explained,
        DATA_INCONSISTENCIES.len(),
        "a pinned inconsistency no longer occurs"
    );
    assert!(
        listed_checked > 10_000,
        "only {listed_checked} listed versions checked"
    );
    assert!(
        bad.is_empty(),
        "{} disagreements:\n{}",
        bad.len(),
        bad.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}
