//! PEP 440 ordering and validity against `packaging.version.Version`
//! (Debian's python3-packaging), on the real PyPI advisory versions and on
//! generated versions that combine every spelling the pattern allows. Each
//! test runs the oracle once over all its pairs.

use kensa_testkit::{corpus, oracle, pairs};
use kensa_version::Ecosystem;

/// Answers `!` for a pair where either side is rejected: `InvalidVersion`,
/// or the `ValueError` that Python's `int()` raises past 4300 digits (both
/// are `ValueError`s). Reads raw bytes and splits on `\n` only, so that a
/// `\r` or other whitespace inside a version reaches `Version` unchanged.
const PACKAGING: &str = r#"
import sys
from packaging.version import Version
cache = {}
def parse(s):
    if s not in cache:
        try:
            cache[s] = Version(s)
        except ValueError:
            cache[s] = None
    return cache[s]
lines = sys.stdin.buffer.read().decode("utf-8").split("\n")
if lines and lines[-1] == "":
    lines.pop()
out = []
for line in lines:
    a, b = line.split("\t")
    va, vb = parse(a), parse(b)
    if va is None or vb is None:
        out.append("!")
    elif va < vb:
        out.append("<")
    elif va == vb:
        out.append("=")
    else:
        out.append(">")
sys.stdout.write("".join(c + "\n" for c in out))
"#;

fn ours(a: &str, b: &str) -> char {
    Ecosystem::Pypi
        .compare(a, b)
        .map(oracle::symbol)
        .unwrap_or('!')
}

fn check(what: &str, pairs: &[(String, String)]) -> usize {
    let answers = oracle::run(oracle::python(PACKAGING), pairs);
    let n = oracle::assert_agrees(what, pairs, &answers, ours, &[]);
    let rejected = answers.iter().filter(|&&a| a == '!').count();
    eprintln!("{what}: {n} pairs agree ({rejected} rejected by both)");
    n
}

#[test]
#[ignore = "needs python3-packaging (scripts/setup); scripts/test runs it"]
fn pep440_agrees_with_packaging_on_real_versions() {
    let versions = corpus::pypi::versions();
    let pairs = pairs(&versions, 30_000);
    let distinct: std::collections::HashSet<&String> = versions.iter().collect();
    eprintln!("pypi corpus: {} distinct versions", distinct.len());
    assert!(
        pairs.len() >= 10_000,
        "only {} PyPI pairs harvested",
        pairs.len()
    );
    check("pep440 vs packaging (PyPI advisories)", &pairs);
}

/// Every distinct corpus string, paired with itself: `!` exactly where
/// `packaging` rejects it.
#[test]
#[ignore = "needs python3-packaging (scripts/setup); scripts/test runs it"]
fn pep440_validity_agrees_with_packaging_on_every_real_version() {
    let mut versions = corpus::pypi::versions();
    versions.sort();
    versions.dedup();
    let pairs: Vec<_> = versions.iter().map(|v| (v.clone(), v.clone())).collect();
    let n = check("pep440 validity vs packaging", &pairs);
    let rejected = pairs.iter().filter(|(v, _)| ours(v, v) == '!').count();
    assert!(
        rejected > 0 && rejected < n / 2,
        "{rejected} of {n} rejected"
    );
}

#[test]
#[ignore = "needs python3-packaging (scripts/setup); scripts/test runs it"]
fn pep440_agrees_with_packaging_on_generated_versions() {
    let handpicked = handpicked();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for a in &handpicked {
        for b in &handpicked {
            pairs.push((a.clone(), b.clone()));
        }
    }
    let generated = generated(600);
    pairs.extend(kensa_testkit::pairs(&generated, 4_000));
    assert!(pairs.len() >= 2_000, "only {} generated pairs", pairs.len());
    check("pep440 vs packaging (generated)", &pairs);
}

fn handpicked() -> Vec<String> {
    [
        "1",
        "1.0",
        "1.0.0",
        "01.00",
        "v1.0",
        "V1.0",
        " 1.0\u{b}",
        "\u{1c}1.0\u{3000}",
        "\u{a0}1.0",
        "0!1.0",
        "1!1.0",
        "1!",
        "1.0a",
        "1.0a0",
        "1.0a1",
        "1.0-a1",
        "1.0_a_1",
        "1.0.a.1",
        "1.0alpha1",
        "1.0ALPHA1",
        "1.0b2",
        "1.0beta2",
        "1.0c1",
        "1.0rc1",
        "1.0pre1",
        "1.0preview1",
        "1.0prev\u{130}ew1",
        "1.0prev\u{131}ew1",
        "1.0a-",
        "1.0a-1",
        "1.0a..dev",
        "1.0.dev",
        "1.0.dev0",
        "1.0dev1",
        "1.0-dev-1",
        "1.0.dev.",
        "1.0a1.dev1",
        "1.0-1",
        "1.0-0",
        "1.0.post",
        "1.0.post1",
        "1.0post.",
        "1.0-r1",
        "1.0rev1",
        "1.0.po\u{17f}t1",
        "1.0.post1.dev1",
        "1.0a1.post1",
        "1.0+abc",
        "1.0+ABC",
        "1.0+abc.5",
        "1.0+abc-5",
        "1.0+5",
        "1.0+05",
        "1.0+0",
        "1.0+\u{130}",
        "1.0+\u{131}",
        "1.0+\u{17f}",
        "1.0+\u{212a}",
        "1.0+k",
        "1.0+",
        "1.0+a..b",
        "1.0-",
        "1.0.",
        "1..0",
        "",
        "a",
        "1.0 a",
        "1.0_1",
        "1.0.0.0.0.0.1",
        "99999999999999999999999.1",
        "100000000000000000000000",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

/// Versions assembled from random parts: every prefix, separator, spelling
/// and local label shape, valid and not.
fn generated(n: usize) -> Vec<String> {
    const PREFIX: &[&str] = &["", "", "", "v", "V", " ", "\r"];
    const EPOCH: &[&str] = &["", "", "", "0!", "1!", "2!", "00!"];
    const RELEASE: &[&str] = &[
        "1",
        "1.0",
        "1.0.0",
        "01.0",
        "1.2",
        "0",
        "0.0",
        "1.0.0.0.1",
        "10",
        "1.10",
        "2.0.1",
    ];
    const PRE: &[&str] = &[
        "",
        "",
        "",
        "a",
        "a1",
        "A1",
        "alpha2",
        ".a.1",
        "-b",
        "_beta_3",
        "c",
        "rc1",
        "RC01",
        "pre",
        "preview2",
        "-a-",
        "a.",
        "b_",
        "prev\u{130}ew",
        "prev\u{131}ew1",
        "rc",
    ];
    const POST: &[&str] = &[
        "",
        "",
        "",
        "-1",
        ".post",
        "post2",
        "-r3",
        "rev",
        ".post-4",
        "po\u{17f}t1",
        "_post_",
        "-0",
        "r",
        ".POST1",
    ];
    const DEV: &[&str] = &[
        "", "", "", ".dev", "dev1", "-dev-2", "_DEV", "dev0", ".dev.", "dev",
    ];
    const LOCAL: &[&str] = &[
        "",
        "",
        "",
        "",
        "+abc",
        "+ABC.5",
        "+5",
        "+0",
        "+00",
        "+a-b_c",
        "+\u{130}",
        "+\u{131}x",
        "+\u{212a}",
        "+\u{17f}",
        "+abc.5.x",
        "+",
        "+a..b",
        "+1.a",
        "+a.1",
    ];
    const SUFFIX: &[&str] = &["", "", "", "", " ", "\u{2003}", ".", "-", "x"];
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    (0..n)
        .map(|_| {
            [PREFIX, EPOCH, RELEASE, PRE, POST, DEV, LOCAL, SUFFIX]
                .iter()
                .map(|parts| rng.pick(parts))
                .collect()
        })
        .collect()
}

struct XorShift(u64);

impl XorShift {
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        from[(self.0 % from.len() as u64) as usize]
    }
}
