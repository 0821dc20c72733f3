//! apk ordering on pinned cases and on the real Alpine data.
//!
//! No apk-tools runs on this machine (Debian does not package it), so the
//! expected answers below are derived by hand from apk-tools 2.x's
//! documented token rules (see `kensa_version::apk`); each group says which
//! rule it pins. The real-data tests then check that every version Alpine
//! published in its secdb and in an installed database parses, and that
//! each package's fixed versions sort consistently.

use std::cmp::Ordering;

use kensa_testkit::corpus;
use kensa_version::Ecosystem;
use kensa_version::apk::ApkVersion;

fn cmp(a: &str, b: &str) -> Ordering {
    Ecosystem::Apk
        .compare(a, b)
        .unwrap_or_else(|e| panic!("{a:?} vs {b:?}: {e}"))
}

/// Check `a op b` and its mirror image.
fn check(cases: &[(&str, char, &str)]) {
    let mut wrong = Vec::new();
    for &(a, op, b) in cases {
        let want = match op {
            '<' => Ordering::Less,
            '=' => Ordering::Equal,
            '>' => Ordering::Greater,
            _ => panic!("bad operator {op:?}"),
        };
        let (ab, ba) = (cmp(a, b), cmp(b, a));
        if ab != want || ba != want.reverse() {
            wrong.push(format!("  {a} {op} {b}: got {ab:?}, mirrored {ba:?}"));
        }
    }
    assert!(wrong.is_empty(), "wrong orderings:\n{}", wrong.join("\n"));
}

/// Check that `chain` is strictly ascending, every pair of it.
fn ascending(chain: &[&str]) {
    for (i, a) in chain.iter().enumerate() {
        for b in &chain[i + 1..] {
            assert_eq!(cmp(a, b), Ordering::Less, "{a} < {b}");
            assert_eq!(cmp(b, a), Ordering::Greater, "{b} > {a}");
        }
        assert_eq!(cmp(a, a), Ordering::Equal, "{a} = {a}");
    }
}

#[test]
fn apk_numbers_compare_numerically_and_more_parts_are_newer() {
    check(&[
        ("1.9", '<', "1.10"),
        ("1.10", '>', "1.9"),
        ("2", '>', "1.99.99"),
        ("10", '>', "9"),
        ("1", '<', "1.0"),
        ("1.0", '<', "1.0.0"),
        ("1.0.1", '<', "1.1"),
        ("1.2.3", '=', "1.2.3"),
        ("20240101", '>', "1.2"),
        ("2.6.19.20061214", '>', "2.6.16.20060323"),
        ("1.2.12.1", '<', "1.2.13"),
        ("7.0.174", '>', "7.0.17"),
        ("0.99.163", '<', "2.6.15"),
    ]);
    ascending(&[
        "0.1", "0.9", "0.10", "1", "1.0", "1.0.1", "1.1", "1.1.1", "2", "10", "100",
    ]);
}

/// The first number has no leading-zero rule: `01` is 1.
#[test]
fn apk_the_initial_number_ignores_leading_zeros() {
    check(&[
        ("01.2", '=', "1.2"),
        ("007", '=', "7"),
        ("006", '>', "1.0.0"),
        ("021109", '>', "20000"),
    ]);
}

/// After a dot, all zeros of a leading run but the last are one negative
/// token, so padding makes a number older, and more padding older still.
/// apk-tools 3 compares padded numbers as strings instead and would answer
/// `8.2.0 < 8.2.001`; 2.x, which Alpine releases ship, answers `>`.
#[test]
fn apk_dotted_numbers_with_leading_zeros_follow_apk_tools_2() {
    check(&[
        ("1.01", '<', "1.1"),
        ("1.001", '<', "1.01"),
        ("1.010", '<', "1.1"),
        ("1.010", '>', "1.01"),
        ("1.00", '<', "1.0"),
        ("1.000", '<', "1.00"),
        ("1.0", '<', "1.01"),
        ("1.00", '<', "1.001"),
        ("1.01", '>', "1.0.1"),
        ("8.2.0", '>', "8.2.001"),
        ("1.02.10", '>', "1.02.07"),
        ("1.2.07.8", '<', "1.2.12.04"),
    ]);
    ascending(&["1.000", "1.00", "1.001", "1.0", "1.01", "1.1"]);
}

/// One letter after the numbers: newer than none, older than another
/// number, compared by byte value. apk-tools 2.x lets digits follow the
/// letter (OpenSSH-style `p1`), and those compare as plain numbers.
#[test]
fn apk_a_letter_is_newer_than_none_but_older_than_another_number() {
    check(&[
        ("1.0a", '>', "1.0"),
        ("1.0a", '<', "1.0b"),
        ("1.0z", '<', "1.0.1"),
        ("1.0z", '<', "1.1"),
        ("2.5.1a-r1", '>', "2.5.1-r8"),
        ("1.7b", '>', "1.7"),
        ("0.9.8c-r1", '<', "0.9.8d"),
        ("1.0a", '<', "1.0a-r1"),
        ("3.3.3p1", '>', "3.3.3p"),
        ("3.3.3p2", '>', "3.3.3p1"),
        ("3.3.3p1", '<', "3.3.3q"),
        ("3.3.3p1-r2", '>', "3.3.3p1-r1"),
        ("6.6.2p1-r0", '<', "6.6.2p2-r0"),
        ("1.0a1", '=', "1.0a01"),
        // A letter continues the version, a suffix only decorates it.
        ("1.0a", '>', "1.0_p1"),
    ]);
}

/// Suffix ranks: alpha < beta < pre < rc < (none) < cvs < svn < git < hg
/// < p; each may carry a number.
#[test]
fn apk_suffixes_rank_around_the_release() {
    ascending(&[
        "1.0_alpha",
        "1.0_beta",
        "1.0_pre",
        "1.0_rc",
        "1.0",
        "1.0_cvs",
        "1.0_svn",
        "1.0_git",
        "1.0_hg",
        "1.0_p",
    ]);
    ascending(&[
        "1.0_alpha",
        "1.0_alpha0",
        "1.0_alpha1",
        "1.0_alpha2",
        "1.0_alpha10",
        "1.0_beta1",
        "1.0_rc1",
        "1.0_rc1-r1",
        "1.0",
        "1.0-r0",
        "1.0_p1",
        "1.0_p1-r1",
        "1.0_p2",
        "1.0.1_rc1",
        "1.0.1",
    ]);
    check(&[
        ("1.0_alpha01", '=', "1.0_alpha1"),
        // `_pre` is matched before `_p`.
        ("1.0_pre1", '<', "1.0_p1"),
        ("1.0_p1", '>', "1.0-r5"),
        ("1.0_p1", '<', "1.0.1"),
        ("1.0_git20240101", '>', "1.0"),
        ("1.0_git20240101", '<', "1.0_p1"),
        ("1.0_git20240101", '<', "1.0.1"),
        ("1.0_pre20191002222144", '<', "1.0_pre20210530193627"),
        ("2.9.11_pre20051101-r3", '>', "2.9.11_pre20051101"),
        ("0.20070207_rc1", '>', "0.20070118"),
        ("6.0_pre1", '<', "6.0"),
        ("6.0_p1", '>', "6.0"),
        ("1.00_beta2", '<', "1.0"),
    ]);
}

/// After one suffix, another pre-release suffix makes the version older,
/// any other makes it newer.
#[test]
fn apk_stacked_suffixes() {
    check(&[
        ("1.0_alpha_pre1", '<', "1.0_alpha"),
        ("1.0_alpha_p1", '>', "1.0_alpha"),
        ("1.0_alpha_p1", '<', "1.0_beta"),
        ("1.0_rc1_p2", '>', "1.0_rc1"),
        ("1.0_rc1_p2", '<', "1.0"),
        ("1.0_p1_rc1", '<', "1.0_p1"),
        ("1.0_p1_rc1", '>', "1.0"),
        ("1.0_git1_p1", '>', "1.0_git1"),
    ]);
}

/// `-rN` counts package rebuilds: no revision is older than `-r0`, and a
/// revision never outweighs another part of the version.
#[test]
fn apk_revision_orders_rebuilds() {
    check(&[
        ("1.0", '<', "1.0-r0"),
        ("1.0-r1", '<', "1.0-r2"),
        ("1.0-r9", '<', "1.0-r10"),
        ("1.0-r01", '=', "1.0-r1"),
        ("1.0-r00", '=', "1.0-r0"),
        ("1.0-r", '=', "1.0-r0"),
        ("1.0-r99", '<', "1.0.0"),
        ("1.0-r99", '<', "1.0a"),
        ("1.0-r99", '<', "1.0_p1"),
        ("1.0-r99", '>', "1.0_rc1-r99"),
        ("2.2.39-r1", '>', "1.0.4-r3"),
        ("104-r11", '>', "104-r9"),
    ]);
}

/// apk-tools 2.x accepts an empty number after a dot and reads it as 0,
/// but a version that continues is still newer than one that ends. Real
/// secdb keys like `4.8.0.-r1` and `0.8.21.r2` are typos that therefore
/// sort above the version that was meant, exactly as apk sorts them.
#[test]
fn apk_empty_dotted_numbers_are_zero_but_continue_the_version() {
    check(&[
        ("4.8.0.-r1", '>', "4.8.0-r1"),
        ("4.8.0.-r1", '<', "4.8.0.0-r1"),
        ("4.8.0.-r1", '<', "4.8.1-r0"),
        ("0.8.21.r2", '>', "0.8.21-r2"),
        ("0.8.21.r2", '<', "0.8.22"),
        ("10.2.26.r0", '>', "10.2.24.r0"),
        ("2.15.r-r1", '>', "2.15-r1"),
        ("1.", '>', "1"),
    ]);
}

/// The `~hash` suffix (apk-tools 3; refused by 2.x): after suffixes,
/// before the revision, compared as text.
#[test]
fn apk_commit_hash_suffix() {
    check(&[
        ("1.0~abc", '<', "1.0~abd"),
        ("1.0~abc", '<', "1.0~abc0"),
        ("1.0~9", '<', "1.0~a"),
        ("1.0~abc", '>', "1.0"),
        ("1.0~abc", '>', "1.0-r9"),
        ("1.0~abc", '<', "1.0.1"),
        ("1.0~abc", '<', "1.0_p1"),
        ("1.0~abc-r1", '>', "1.0~abc"),
        ("1.0~abc-r1", '<', "1.0~abd-r0"),
        ("1.0_rc1~abc", '<', "1.0"),
        ("1.0_git20240101~1a2b3c", '>', "1.0_git20240101"),
    ]);
}

#[test]
fn apk_large_numbers_up_to_17_digits() {
    check(&[
        ("1.12345678901234567", '>', "1.12345678901234566"),
        ("12345678901234567", '>', "9"),
        ("1.0-r12345678901234567", '>', "1.0-r9"),
    ]);
}

#[test]
fn apk_invalid_versions_are_errors() {
    let invalid = [
        "",
        "a",
        "v1.0",
        " 1.0",
        "1.0 ",
        "1.0\t",
        "1,0",
        "1.0+1",
        "1.0A",
        "1.0ab",
        "1.0a.1",
        "1.0-1",
        "2.7.16-33",
        "4.10-1-r1",
        "1.0-r1.1",
        "1.0-r1_p1",
        "1.0-ra",
        "1.0_foo",
        "1.0_p1.1",
        "1.0_p1a",
        "1.0__alpha",
        "1.0~",
        "1.0~xyz",
        "1.0~ABC",
        "1.0~abc~def",
        "1.0~abc_p1",
        "1.0~abc.1",
        "1.0-r1~abc",
        "1.123456789012345678",
        "123456789012345678",
        "1.0-r123456789012345678",
        "1.0_p123456789012345678",
        "UNKNOWN",
        "1.0\0",
    ];
    let accepted: Vec<&str> = invalid
        .iter()
        .copied()
        .filter(|v| Ecosystem::Apk.validate(v).is_ok())
        .collect();
    assert!(
        accepted.is_empty(),
        "accepted invalid versions: {accepted:?}"
    );
    for v in invalid {
        let e = Ecosystem::Apk.compare(v, "1.0").expect_err("invalid");
        assert_eq!((e.ecosystem, e.version.as_str()), (Ecosystem::Apk, v));
    }
}

/// Secdb keys that apk-tools itself rejects: Debian-style `-N` revisions
/// typed where Alpine writes `-rN` (`-` must be followed by `r`). Kept as
/// errors, not guessed at: a scanner must not invent what they meant.
const SECDB_INVALID: [&str; 4] = ["2.7.16-33", "4.10-1-r1", "57-1-r2", "1.11-20-r0"];

#[test]
fn apk_every_secdb_version_parses_except_the_pinned_typos() {
    let lists = corpus::apk::secfixes();
    let total: usize = lists.iter().map(|l| l.versions.len()).sum();
    assert!(total > 4_000, "only {total} secfixes versions");
    let mut unexpected = Vec::new();
    let mut seen_invalid = std::collections::BTreeSet::new();
    for list in &lists {
        for v in &list.versions {
            match Ecosystem::Apk.validate(v) {
                Ok(()) => {}
                Err(_) if SECDB_INVALID.contains(&v.as_str()) => {
                    seen_invalid.insert(v.as_str());
                }
                Err(e) => unexpected.push(format!("  {} {}: {e}", list.source, list.package)),
            }
        }
    }
    assert!(
        unexpected.is_empty(),
        "invalid secdb versions:\n{}",
        unexpected.join("\n")
    );
    // A pinned typo that no longer occurs (or parses) should be unpinned.
    assert_eq!(
        seen_invalid.len(),
        SECDB_INVALID.len(),
        "seen: {seen_invalid:?}"
    );
}

#[test]
fn apk_every_installed_version_parses() {
    let installed = corpus::apk::installed_versions();
    assert!(
        installed.len() >= 10,
        "only {} installed versions",
        installed.len()
    );
    for v in &installed {
        ApkVersion::parse(v).unwrap_or_else(|e| panic!("installed database: {e}"));
    }
    // syft's list of the same database names a package without a version
    // as "UNKNOWN"; every real version in it must parse and match ours.
    let listed = corpus::expected_package_versions("fixtures/apk/alpine/expected-packages.json");
    let real: Vec<&String> = listed.iter().filter(|v| *v != "UNKNOWN").collect();
    assert_eq!(real.len(), installed.len(), "syft lists {listed:?}");
    for v in real {
        assert!(
            installed.contains(v),
            "{v} listed by syft, not in the database"
        );
    }
}

/// Within each package, the fixed versions must sort into one consistent
/// order: sorting is the same from any starting order, every pair of the
/// sorted list agrees with it, and no two different keys are equal (two
/// keys of one package naming the same version would be a broken feed or a
/// broken comparator).
#[test]
fn apk_each_packages_secfixes_sort_consistently() {
    let mut checked = 0;
    for list in corpus::apk::secfixes() {
        let mut versions: Vec<ApkVersion<'_>> = list
            .versions
            .iter()
            .filter(|v| !SECDB_INVALID.contains(&v.as_str()))
            .map(|v| ApkVersion::parse(v).expect("checked above"))
            .collect();
        let mut reversed = versions.clone();
        reversed.reverse();
        versions.sort();
        reversed.sort();
        let where_ = format!("{} {}", list.source, list.package);
        for (i, a) in versions.iter().enumerate() {
            assert_eq!(
                a.as_str(),
                reversed[i].as_str(),
                "{where_}: sort depends on input order"
            );
            for b in &versions[i + 1..] {
                assert_eq!(a.cmp(b), Ordering::Less, "{where_}: {a} vs {b}");
                assert_eq!(b.cmp(a), Ordering::Greater, "{where_}: {b} vs {a}");
                checked += 1;
            }
        }
    }
    assert!(checked > 10_000, "only {checked} pairs checked");
}

/// Across the whole real corpus, the order is total: a full sort succeeds
/// (Rust's sort panics on inconsistent comparators) and every pair of the
/// result, sampled, agrees with it.
#[test]
fn apk_the_real_corpus_sorts_into_one_total_order() {
    let versions = corpus::apk::versions();
    let mut parsed: Vec<ApkVersion<'_>> = versions
        .iter()
        .filter_map(|v| ApkVersion::parse(v).ok())
        .collect();
    parsed.sort();
    parsed.dedup_by(|a, b| a.as_str() == b.as_str());
    let n = parsed.len();
    assert!(n > 1_000, "only {n} distinct versions");
    let step = (n / 300).max(1);
    for i in (0..n).step_by(step) {
        for j in (i + 1..n).step_by(step) {
            assert_ne!(
                parsed[i].cmp(&parsed[j]),
                Ordering::Greater,
                "{} sorted before {}",
                parsed[i],
                parsed[j]
            );
        }
    }
}
