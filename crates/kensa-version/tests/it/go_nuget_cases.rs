//! Pinned Go and NuGet cases, each with where the expected answer comes
//! from. Go also has a real oracle (tests/differential_semver.rs); these
//! pin the Go-specific rules by name so that a regression says which rule
//! broke. NuGet has no oracle on this machine (no .NET): its cases follow
//! NuGet's documentation (package versioning, normalized version numbers)
//! and the behaviour of NuGet.Versioning's `NuGetVersion.TryParse` and
//! `VersionComparer.Default`.

use std::cmp::Ordering::{self, Equal, Greater, Less};

use kensa_testkit::{corpus, pairs};
use kensa_version::Ecosystem;
use kensa_version::golang::{GoVersion, is_pseudo_version};

fn check(eco: Ecosystem, cases: &[(&str, &str, Ordering)]) {
    for &(a, b, want) in cases {
        let got = eco.compare(a, b);
        assert_eq!(got, Ok(want), "{eco} {a:?} vs {b:?}");
        // Every case holds in both directions.
        assert_eq!(
            eco.compare(b, a),
            Ok(want.reverse()),
            "{eco} {b:?} vs {a:?}"
        );
    }
}

fn invalid(eco: Ecosystem, versions: &[&str]) {
    for v in versions {
        let e = eco.validate(v).expect_err(v);
        assert_eq!((e.ecosystem, e.version.as_str()), (eco, *v));
    }
}

#[test]
fn go_shorthands_are_valid_without_suffixes() {
    // x/mod/semver: "vMAJOR and vMAJOR.MINOR (with no prerelease or build
    // suffixes) as shorthands for vMAJOR.0.0 and vMAJOR.MINOR.0".
    check(
        Ecosystem::Go,
        &[
            ("v1", "v1.0.0", Equal),
            ("v1.2", "v1.2.0", Equal),
            ("v1", "v1.0.1", Less),
            ("v2", "v1.99.99", Greater),
            ("v1.0.0-rc.1", "v1", Less),
        ],
    );
    invalid(
        Ecosystem::Go,
        &["v1-rc.1", "v1.2-rc.1", "v1+meta", "v1.2+meta"],
    );
}

#[test]
fn go_needs_the_v_and_strict_numbers() {
    invalid(
        Ecosystem::Go,
        &[
            "1.2.3",
            "V1.2.3",
            "",
            "v",
            "v1.",
            "v1.2.",
            "v1.2.3.",
            "v01.2.3",
            "v1.02.3",
            "v1.2.03",
            "v1.2.3-01",
            "v1.2.3-",
            "v1.2.3+",
            "v1.2.3-a..b",
            " v1.2.3",
            "v1.2.3 ",
            "v1.2.3.4",
            "v1.2.3-é",
        ],
    );
    // No size limit: x/mod compares digit strings.
    check(
        Ecosystem::Go,
        &[(
            "v18446744073709551616.0.0",
            "v18446744073709551615.0.0",
            Greater,
        )],
    );
}

#[test]
fn go_incompatible_is_ignored_by_the_ordering() {
    check(
        Ecosystem::Go,
        &[
            ("v2.0.0+incompatible", "v2.0.0", Equal),
            ("v2.0.0+incompatible", "v2.0.1", Less),
            ("v3.0.0-rc1+incompatible", "v3.0.0+incompatible", Less),
        ],
    );
}

#[test]
fn go_pseudo_versions_sit_where_module_documents_them() {
    // x/mod/module: form 1 sorts below every tagged vX version, form 2
    // above vX.Y.Z and below any vX.Y.(Z+1) pre-release, form 3 above
    // vX.Y.Z-pre and below the next pre-release.
    check(
        Ecosystem::Go,
        &[
            ("v0.0.0-20210101000000-abcdef123456", "v0.0.0", Less),
            (
                "v0.0.0-20210101000000-abcdef123456",
                "v0.0.0-20220101000000-000000000000",
                Less,
            ),
            ("v1.2.4-0.20210101000000-abcdef123456", "v1.2.3", Greater),
            ("v1.2.4-0.20210101000000-abcdef123456", "v1.2.4-0", Greater),
            ("v1.2.4-0.20210101000000-abcdef123456", "v1.2.4-1", Less),
            ("v1.2.4-0.20210101000000-abcdef123456", "v1.2.4-alpha", Less),
            (
                "v1.2.4-rc.1.0.20210101000000-abcdef123456",
                "v1.2.4-rc.1",
                Greater,
            ),
            (
                "v1.2.4-rc.1.0.20210101000000-abcdef123456",
                "v1.2.4-rc.2",
                Less,
            ),
            (
                "v2.0.1-0.20210101000000-abcdef123456+incompatible",
                "v2.0.0+incompatible",
                Greater,
            ),
        ],
    );
    let v = GoVersion::parse("v1.5.0-rc1.0.20230601080528-80d139bb5d1d").expect("valid");
    assert_eq!(v.pseudo_timestamp(), Some("20230601080528"));
    assert_eq!(v.pseudo_revision(), Some("80d139bb5d1d"));
    assert!(is_pseudo_version("v8.0.0-20250721062209-4952acea88ce"));
    // A real pre-release that merely looks dated is not a pseudo-version.
    assert!(!is_pseudo_version("v1.2.3-20210101000000-abcdef123456"));
}

#[test]
fn go_agrees_with_cargo_precedence_where_the_grammars_coincide() {
    // A full vMAJOR.MINOR.PATCH version is SemVer with a v: Go and Cargo
    // precedence must agree on the real corpus wherever both accept it.
    let versions = corpus::semver::versions();
    let mut both = 0;
    for (a, b) in pairs(&versions, 20_000) {
        let cargo = Ecosystem::Cargo.compare(&a, &b);
        let go = Ecosystem::Go.compare(&format!("v{a}"), &format!("v{b}"));
        if let (Ok(c), Ok(g)) = (&cargo, &go) {
            assert_eq!(c, g, "{a:?} vs {b:?}");
            both += 1;
        } else {
            // Cargo caps numbers at u64 where Go has no limit; nothing else
            // separates the two grammars.
            assert!(
                cargo.is_err(),
                "Go rejects {a:?} or {b:?} but Cargo accepts"
            );
        }
    }
    assert!(both >= 10_000, "only {both} pairs valid in both");
}

#[test]
fn nuget_missing_numbers_are_zero_and_leading_zeros_are_dropped() {
    // NuGet docs, "Normalized version numbers": 1.00 is 1.0, 1.01.1 is
    // 1.1.1, 1.00.0.1 is 1.0.0.1, 1.0.0.0 is 1.0.0, 1.0.01.0 is 1.0.1, and
    // build metadata is dropped (1.0.7+r3456 is 1.0.7).
    check(
        Ecosystem::NuGet,
        &[
            ("1.00", "1.0", Equal),
            ("1.01.1", "1.1.1", Equal),
            ("1.00.0.1", "1.0.0.1", Equal),
            ("1.0.0.0", "1.0.0", Equal),
            ("1.0.01.0", "1.0.1", Equal),
            ("1.0.7+r3456", "1.0.7", Equal),
            ("2", "2.0.0.0", Equal),
            ("1.022", "1.22", Equal),
            ("1.0", "1.0.1", Less),
            ("1.23", "1.231", Less),
            ("1.4.5.6", "1.45.6", Less),
            ("1.4.5.6", "1.4.5.60", Less),
            ("1.01", "1.10", Less),
            ("1.999.9999", "2.1.1", Less),
            ("1.0.0.1", "1.0.0", Greater),
        ],
    );
}

#[test]
fn nuget_release_labels_order_case_insensitively() {
    // NuGet docs: versions differing only by suffix are chosen release
    // first, then pre-releases in reverse order: 1.0.1, 1.0.1-zzz,
    // 1.0.1-rc, 1.0.1-open, 1.0.1-beta, 1.0.1-alpha2, 1.0.1-alpha10,
    // 1.0.1-aaa.
    let chosen = [
        "1.0.1",
        "1.0.1-zzz",
        "1.0.1-rc",
        "1.0.1-open",
        "1.0.1-beta",
        "1.0.1-alpha2",
        "1.0.1-alpha10",
        "1.0.1-aaa",
    ];
    for w in chosen.windows(2) {
        check(Ecosystem::NuGet, &[(w[0], w[1], Greater)]);
    }
    check(
        Ecosystem::NuGet,
        &[
            ("1.0.0-BETA", "1.0.0-beta", Equal),
            ("1.0.0-BETA+AA", "1.0.0-beta+aa", Equal),
            (
                "1.0.0-BETA.X.y.5.77.0+AA",
                "1.0.0-beta.x.y.5.77.0+aa",
                Equal,
            ),
            ("1.6.2-BeTa", "1.6.02-beta", Equal),
            ("1.0.0-BETA", "1.0.0-beta2", Less),
            ("1.0.0-beta+AA", "1.0.0+aa", Less),
            ("1.0.0-BETA", "1.0.0-beta.1+AA", Less),
            ("1.0.0-BETA.X.y.5.77.0+AA", "1.0.0-beta.x.y.5.79.0+aa", Less),
            (
                "1.0.0-BETA.X.y.5.79.0+AA",
                "1.0.0-beta.x.y.5.790.0+abc",
                Less,
            ),
            ("1.01-alpha", "1.10-beta", Less),
            ("1.01.0-RC-1", "1.10.0-rc-2", Less),
            ("1.01-RC-1", "1.01", Less),
            ("1.01", "1.2-preview", Less),
            ("1.0.0-2", "1.0.0-10", Less),
            ("1.0.0-10", "1.0.0-a", Less),
            ("1.0.0.5-alpha", "1.0.0.5", Less),
        ],
    );
}

#[test]
fn nuget_numeric_labels_are_what_int_try_parse_accepts() {
    // VersionComparer compares two labels as numbers when .NET's
    // int.TryParse accepts both: that includes a leading minus sign and
    // excludes values beyond 32 bits, which are then compared as text
    // (above every number).
    check(
        Ecosystem::NuGet,
        &[
            ("1.0.0--1", "1.0.0-0", Less),
            ("1.0.0--0", "1.0.0-0", Equal),
            ("1.0.0--05", "1.0.0--5", Equal),
            ("1.0.0-2147483647", "1.0.0-2147483646", Greater),
            ("1.0.0-2147483648", "1.0.0-2147483647", Greater),
            ("1.0.0-10000000000", "1.0.0-9000000000", Less),
            ("1.0.0-10000000000", "1.0.0-a", Less),
        ],
    );
}

#[test]
fn nuget_trims_and_allows_whitespace_around_numbers() {
    // TryParse trims the input, and its number parser skips whitespace on
    // either side of each number.
    check(
        Ecosystem::NuGet,
        &[
            ("  1.022-Beta", "1.22-beta", Equal),
            ("23.2.3-Alpha  ", "23.2.3-alpha", Equal),
            ("22.3.07     ", "22.3.7", Equal),
            ("1 . 2 . 3", "1.2.3", Equal),
            ("1.2.3 -rc", "1.2.3-rc", Equal),
        ],
    );
    invalid(
        Ecosystem::NuGet,
        &["1 2", "1.2.3- rc", "1.2.3-rc +m", "1. .2"],
    );
}

#[test]
fn nuget_rejects_what_try_parse_rejects() {
    invalid(
        Ecosystem::NuGet,
        &[
            "",
            "   ",
            "1beta",
            "$version$",
            "1.2Av^c",
            "1.2..",
            "1.2.3.4.5",
            "1.2.3.Beta",
            "So.is.this",
            "1.34.2Alpha",
            "1.34.2Release Candidate",
            "1.4.7-",
            "1.4.7-*",
            "1.4.7+*",
            "1.4.7-AA.01^",
            "1.4.7-AA.0A^",
            "1.4.7-A^A",
            "1.4.7+AA.01^",
            "1.4.7-01",
            "1.4.7-a..b",
            "1.4.7+",
            "1.4.7-a+",
            "1.",
            ".1",
            "2147483648.0",
            "v1.0.0",
        ],
    );
    for ok in [
        "2",
        "1.2.3-X.yZ.3.234.243.3242342+METADATA",
        "1.2.3-0",
        "1.2.3+0",
        "1.2.3-X+0",
        "1.3.2-CTP-2-Refresh-Alpha",
        "1.0.0009.01-1.1+A",
        "2147483647.2147483647.2147483647.2147483647",
        "1.0.0-0A+001.0",
    ] {
        assert_eq!(Ecosystem::NuGet.validate(ok), Ok(()), "{ok:?}");
    }
}
