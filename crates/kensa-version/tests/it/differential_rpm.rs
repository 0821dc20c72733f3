//! rpm ordering against rpm itself: python3-rpm's `rpm.labelCompare` (rpm
//! 4.18's `rpmvercmp` on epoch, version and release), batched in one
//! process, on real EVRs (AlmaLinux OSV ranges and real rpm databases) and
//! on synthetic EVRs built to hit every rule of `rpmvercmp`.
//!
//! The script splits each EVR itself, the way rpm's `parseEVR` does, and
//! checks that split against `rpm.ver` (rpm's own parser), so Kensa's split
//! is tested rather than trusted. A missing release is passed as `None`,
//! which labelCompare orders before any release: Kensa's `Ord` does the
//! same.

use kensa_testkit::{corpus, oracle, pairs};
use kensa_version::Ecosystem;

const LABEL_COMPARE: &str = r#"
import sys, rpm

def split(s):
    # parseEVR: leading digits then ':' are the epoch ("" means "0"); the
    # release is after the last '-', and None when there is no '-'.
    i = 0
    while i < len(s) and s[i] in "0123456789":
        i += 1
    epoch, rest = None, s
    if i < len(s) and s[i] == ":":
        epoch, rest = (s[:i] or "0"), s[i + 1:]
    version, sep, release = rest.rpartition("-")
    if not sep:
        version, release = rest, None
    return epoch, version, release

for line in sys.stdin:
    a, b = line.rstrip("\n").split("\t")
    ea, eb = split(a), split(b)
    for s, e in ((a, ea), (b, eb)):
        v = rpm.ver(s)
        if (v.e, v.v, v.r) != e:
            sys.exit(f"split of {s!r}: script {e}, rpm.ver {(v.e, v.v, v.r)}")
    try:
        c = rpm.labelCompare(ea, eb)
    except (TypeError, ValueError):
        print("!")
        continue
    print("<" if c < 0 else ">" if c > 0 else "=")
"#;

fn ours(a: &str, b: &str) -> char {
    Ecosystem::Rpm
        .compare(a, b)
        .map(oracle::symbol)
        .unwrap_or('!')
}

#[test]
fn every_real_rpm_version_is_valid() {
    let versions = corpus::rpm::versions();
    assert!(
        versions.len() > 50_000,
        "only {} rpm versions",
        versions.len()
    );
    let invalid: Vec<String> = versions
        .iter()
        .filter_map(|v| Ecosystem::Rpm.validate(v).err())
        .map(|e| e.to_string())
        .collect();
    assert!(
        invalid.is_empty(),
        "invalid real EVRs:\n{}",
        invalid.join("\n")
    );
}

#[test]
#[ignore = "needs python3-rpm (scripts/setup); scripts/test runs it"]
fn rpm_agrees_with_label_compare_on_real_versions() {
    let versions = corpus::rpm::versions();
    let pairs = pairs(&versions, 30_000);
    assert!(
        pairs.len() >= 10_000,
        "only {} rpm pairs harvested",
        pairs.len()
    );
    let answers = oracle::run(oracle::python(LABEL_COMPARE), &pairs);
    let checked = oracle::assert_agrees("rpm vs labelCompare", &pairs, &answers, ours, &[]);
    // Pairs that are not equal are the ones that exercise the comparator.
    let unequal = answers.iter().filter(|&&c| c != '=').count();
    assert!(
        unequal >= checked / 2,
        "only {unequal} unequal pairs of {checked}"
    );
}

#[test]
#[ignore = "needs python3-rpm (scripts/setup); scripts/test runs it"]
fn rpm_agrees_with_label_compare_on_tricky_versions() {
    let versions = tricky_versions();
    let pairs = pairs(&versions, 6_000);
    assert!(pairs.len() >= 5_000, "only {} tricky pairs", pairs.len());
    let answers = oracle::run(oracle::python(LABEL_COMPARE), &pairs);
    oracle::assert_agrees("rpm vs labelCompare (tricky)", &pairs, &answers, ours, &[]);
}

/// EVRs made of the pieces `rpmvercmp` treats specially: `~` and `^`
/// (alone, doubled, leading, trailing, combined), letters of both cases
/// against digits, leading zeros, numbers longer than 64 bits, empty and
/// doubled separators, and missing or zero-padded epochs and releases.
/// Generated in nested order (epoch, version, release) so neighbouring
/// pairs differ in one place.
fn tricky_versions() -> Vec<String> {
    const EPOCHS: [Option<&str>; 4] = [None, Some("0"), Some("00"), Some("1")];
    const VERSIONS: [&str; 48] = [
        "1",
        "1.0",
        "1.00",
        "01.0",
        "1.0.0",
        "1..0",
        "1.0.",
        ".1",
        "1_0",
        "1+0",
        "1.0a",
        "1.0A",
        "1.0Z",
        "1.0alpha",
        "1.0alpha1",
        "1.0a1",
        "1.a",
        "1a",
        "a",
        "Z",
        "1.0~rc1",
        "1.0~rc2",
        "1.0~",
        "1.0~~",
        "1.0~~rc",
        "~",
        "~1",
        "1~",
        "1.0^",
        "1.0^^",
        "1.0^git1",
        "1.0^1",
        "1.0~rc1^1",
        "1.0^1~1",
        "^",
        "1.0.1",
        "1.1",
        "10",
        "9",
        "010",
        "0",
        "000001",
        "99999999999999999999999",
        "99999999999999999999998",
        "2.0-rc1",
        "1.0.0a",
        "1.0b",
        "1.0.a",
    ];
    const RELEASES: [Option<&str>; 14] = [
        None,
        Some("1"),
        Some("0"),
        Some("01"),
        Some("1.el8"),
        Some("1.el8_8"),
        Some("1.el8~1"),
        Some("1~rc"),
        Some("1^post"),
        Some("1."),
        Some("a"),
        Some("10"),
        Some("~"),
        Some("^"),
    ];
    let mut out = Vec::new();
    for epoch in EPOCHS {
        for version in VERSIONS {
            for release in RELEASES {
                let mut evr = String::new();
                if let Some(e) = epoch {
                    evr.push_str(e);
                    evr.push(':');
                }
                evr.push_str(version);
                if let Some(r) = release {
                    evr.push('-');
                    evr.push_str(r);
                }
                out.push(evr);
            }
        }
    }
    out
}
