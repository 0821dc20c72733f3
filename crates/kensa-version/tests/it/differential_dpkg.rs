//! dpkg ordering against two real implementations, on real Debian and Ubuntu
//! versions: libapt-pkg (python3-apt, batched over every pair) and dpkg
//! itself (`dpkg --compare-versions`, one process per pair, on a sample).

use std::process::Command;

use kensa_testkit::{corpus, oracle, pairs};
use kensa_version::Ecosystem;

const LIBAPT: &str = r#"
import sys, apt_pkg
apt_pkg.init_system()
for line in sys.stdin:
    a, b = line.rstrip("\n").split("\t")
    c = apt_pkg.version_compare(a, b)
    print("<" if c < 0 else ">" if c > 0 else "=")
"#;

fn ours(a: &str, b: &str) -> char {
    Ecosystem::Dpkg
        .compare(a, b)
        .map(oracle::symbol)
        .unwrap_or('!')
}

#[test]
#[ignore = "needs dpkg and python3-apt (scripts/setup); scripts/test runs it"]
fn dpkg_agrees_with_libapt_on_real_versions() {
    let versions = corpus::dpkg::versions();
    let pairs = pairs(&versions, 30_000);
    assert!(
        pairs.len() >= 10_000,
        "only {} dpkg pairs harvested",
        pairs.len()
    );
    let answers = oracle::run(oracle::python(LIBAPT), &pairs);
    oracle::assert_agrees("dpkg vs libapt", &pairs, &answers, ours, &[]);
}

#[test]
#[ignore = "needs dpkg and python3-apt (scripts/setup); scripts/test runs it"]
fn dpkg_agrees_with_dpkg_itself_on_a_sample() {
    let versions = corpus::dpkg::versions();
    let pairs = pairs(&versions, 30_000);
    // dpkg has no batch mode: every 30th pair keeps this under a few seconds.
    let sample: Vec<_> = pairs.iter().step_by(30).cloned().collect();
    let answers: Vec<char> = sample
        .iter()
        .map(|(a, b)| {
            let lt = Command::new("dpkg")
                .args(["--compare-versions", a, "lt", b])
                .status()
                .expect("dpkg runs");
            let eq = Command::new("dpkg")
                .args(["--compare-versions", a, "eq", b])
                .status()
                .expect("dpkg runs");
            match (lt.success(), eq.success()) {
                (true, _) => '<',
                (_, true) => '=',
                _ => '>',
            }
        })
        .collect();
    oracle::assert_agrees(
        "dpkg vs dpkg --compare-versions",
        &sample,
        &answers,
        ours,
        &[],
    );
}
