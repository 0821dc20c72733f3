//! Property tests: every comparator is a total order. Each case draws a set
//! of versions, some from the real corpora and some generated to stress the
//! grammar, sorts it with the comparator, then checks every pair of the
//! sorted set: reflexivity, antisymmetry, and transitivity (a sorted
//! sequence where a later element compares below an earlier one means the
//! order is not transitive), and that equal versions compare alike with
//! every other version.

use std::cmp::Ordering;

use kensa_testkit::corpus;
use kensa_version::Ecosystem;
use proptest::prelude::*;
use proptest::sample::select;

const SEMVER: &str = "(0|[1-9][0-9]{0,2})\\.(0|[1-9][0-9]{0,2})\\.(0|[1-9][0-9]{0,2})(-(0|[1-9][0-9]?|[0-9A-Za-z-]{1,4})(\\.(0|[1-9][0-9]?|[0-9A-Za-z-]{1,4})){0,2})?(\\+[0-9a-z]{1,4})?";

fn generator(eco: Ecosystem) -> String {
    match eco {
        Ecosystem::Dpkg => "([0-9]{1,2}:)?[0-9][0-9a-z.+~]{0,8}(-[0-9a-z.+~]{1,6})?".into(),
        Ecosystem::Rpm => "([0-9]:)?[0-9a-z.~^_+]{1,8}(-[0-9a-z.~^_+]{1,6})?".into(),
        Ecosystem::Apk => {
            "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}[a-z]?(_(alpha|beta|pre|rc|p|cvs|svn|git|hg)[0-9]{0,2}){0,2}(-r[0-9]{1,2})?".into()
        }
        Ecosystem::Npm | Ecosystem::Cargo => SEMVER.into(),
        Ecosystem::Go => format!("v{SEMVER}"),
        Ecosystem::Pypi => {
            "([0-9]!)?[0-9]{1,3}(\\.[0-9]{1,3}){0,3}((a|b|rc|alpha|beta|c|pre)[0-9]{0,2})?(\\.post[0-9]{1,2}|-[0-9])?(\\.dev[0-9]{1,2})?(\\+[a-z0-9]{1,4}(\\.[a-z0-9]{1,3})?)?".into()
        }
        // Release numbers with at most one qualifier: the shapes Java
        // projects publish. (Free-form strings are checked separately, see
        // `maven_is_antisymmetric_on_anything`.)
        Ecosystem::Maven => "[0-9]{1,2}(\\.[0-9]{1,2}){0,3}([-.]?(alpha|beta|milestone|rc|cr|snapshot|ga|final|release|sp|a|b|m)[.-]?[0-9]{0,2})?".into(),
        Ecosystem::RubyGems => "[0-9]{1,3}(\\.[0-9a-z]{1,4}){0,4}(-[a-z0-9]{1,3})?".into(),
        Ecosystem::NuGet => {
            "[0-9]{1,3}(\\.[0-9]{1,3}){1,3}(-[0-9A-Za-z]{1,4}(\\.[0-9A-Za-z]{1,4}){0,2})?(\\+[0-9a-z]{1,4})?".into()
        }
    }
}

/// The valid versions of the ecosystem's real corpus. Nextest runs each
/// test in its own process, so each loads only its own corpus, once.
fn real(eco: Ecosystem) -> Vec<String> {
    let raw = match eco {
        Ecosystem::Maven => corpus::maven::java_versions(),
        _ => corpus::for_ecosystem(eco.name()),
    };
    valid(eco, raw)
}

fn valid(eco: Ecosystem, raw: Vec<String>) -> Vec<String> {
    let mut valid: Vec<String> = raw
        .into_iter()
        .filter(|v| eco.validate(v).is_ok())
        .collect();
    valid.sort();
    valid.dedup();
    valid
}

fn versions(eco: Ecosystem) -> impl Strategy<Value = Vec<String>> {
    let real = real(eco);
    assert!(
        real.len() >= 10,
        "{eco}: the real corpus has only {} valid versions",
        real.len()
    );
    let one = prop_oneof![
        select(real),
        proptest::string::string_regex(&generator(eco))
            .expect("generator regex")
            .prop_filter("valid", move |v: &String| eco.validate(v).is_ok())
    ];
    prop::collection::vec(one, 2..24)
}

fn check_total_order(eco: Ecosystem, mut vs: Vec<String>) -> Result<(), TestCaseError> {
    let cmp = |a: &str, b: &str| eco.compare(a, b).expect("validated versions compare");
    // A comparator that is not a total order may make the sort panic (Rust's
    // sort detects some violations): that, too, fails the property.
    vs.sort_by(|a, b| cmp(a, b));
    for (i, a) in vs.iter().enumerate() {
        prop_assert_eq!(
            cmp(a, a),
            Ordering::Equal,
            "{} {:?} is not equal to itself",
            eco,
            a
        );
        for (j, b) in vs.iter().enumerate() {
            let ab = cmp(a, b);
            prop_assert_eq!(
                ab,
                cmp(b, a).reverse(),
                "{}: {:?} vs {:?} is not antisymmetric",
                eco,
                a,
                b
            );
            if i < j {
                prop_assert_ne!(
                    ab,
                    Ordering::Greater,
                    "{}: {:?} sorted before {:?} yet compares above it",
                    eco,
                    a,
                    b
                );
            }
            if ab == Ordering::Equal {
                for c in &vs {
                    prop_assert_eq!(
                        cmp(a, c),
                        cmp(b, c),
                        "{}: {:?} == {:?} but they differ against {:?}",
                        eco,
                        a,
                        b,
                        c
                    );
                }
            }
        }
    }
    Ok(())
}

// Maven's `ComparableVersion` is not transitive on every string: the jar
// itself answers `5-alpha < 5 < 5.sp.1 < 5-alpha` (pinned against the jar in
// `differential_maven.rs`), and Kensa matches the jar. The total-order
// property above is therefore checked on Java projects' real versions and
// release-shaped ones; on anything at all (every corpus, arbitrary strings)
// Kensa still guarantees reflexivity and antisymmetry.
proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn maven_is_antisymmetric_on_anything(vs in prop::collection::vec(
        prop_oneof![select(valid(Ecosystem::Maven, corpus::maven::versions())), "[0-9a-z.-]{1,12}"],
        2..24,
    )) {
        let cmp = |a: &str, b: &str| Ecosystem::Maven.compare(a, b).expect("every non-empty string is a Maven version");
        for a in &vs {
            prop_assert_eq!(cmp(a, a), Ordering::Equal);
            for b in &vs {
                prop_assert_eq!(cmp(a, b), cmp(b, a).reverse(), "{:?} vs {:?}", a, b);
            }
        }
    }
}

macro_rules! total_order {
    ($($name:ident => $eco:expr),* $(,)?) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]
            $(
                #[test]
                fn $name(vs in versions($eco)) {
                    check_total_order($eco, vs)?;
                }
            )*
        }
    };
}

total_order! {
    dpkg_is_a_total_order => Ecosystem::Dpkg,
    rpm_is_a_total_order => Ecosystem::Rpm,
    apk_is_a_total_order => Ecosystem::Apk,
    npm_is_a_total_order => Ecosystem::Npm,
    cargo_is_a_total_order => Ecosystem::Cargo,
    pypi_is_a_total_order => Ecosystem::Pypi,
    maven_is_a_total_order => Ecosystem::Maven,
    go_is_a_total_order => Ecosystem::Go,
    rubygems_is_a_total_order => Ecosystem::RubyGems,
    nuget_is_a_total_order => Ecosystem::NuGet,
}
