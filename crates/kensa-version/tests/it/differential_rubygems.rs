//! RubyGems ordering and validity against `Gem::Version` (Debian's Ruby 3.1
//! with RubyGems 3.3), on real versions (installed gems, Ruby and Rails
//! releases, and the PyPI, Go and endoflife.date strings that RubyGems
//! accepts) and on generated versions. Each test runs Ruby once over all its
//! pairs.

use std::process::Command;

use kensa_testkit::{corpus, oracle, pairs};
use kensa_version::Ecosystem;

/// Answers `!` when `Gem::Version.correct?` rejects either side. Reads raw
/// bytes and splits on `\n` only, so other whitespace reaches RubyGems.
const GEM_VERSION: &str = r#"
data = STDIN.binmode.read.force_encoding(Encoding::UTF_8)
lines = data.split("\n", -1)
lines.pop if lines.last == ""
out = lines.map do |line|
  a, b = line.split("\t", -1)
  if Gem::Version.correct?(a) && Gem::Version.correct?(b)
    c = Gem::Version.new(a) <=> Gem::Version.new(b)
    c < 0 ? "<" : c > 0 ? ">" : "="
  else
    "!"
  end
end
STDOUT.binmode.write(out.map { |c| c + "\n" }.join)
"#;

fn gem_version() -> Command {
    let mut cmd = Command::new("ruby");
    cmd.arg("-e").arg(GEM_VERSION);
    cmd
}

fn ours(a: &str, b: &str) -> char {
    Ecosystem::RubyGems
        .compare(a, b)
        .map(oracle::symbol)
        .unwrap_or('!')
}

fn check(what: &str, pairs: &[(String, String)]) -> usize {
    let answers = oracle::run(gem_version(), pairs);
    let n = oracle::assert_agrees(what, pairs, &answers, ours, &[]);
    let rejected = answers.iter().filter(|&&a| a == '!').count();
    eprintln!("{what}: {n} pairs agree ({rejected} rejected by both)");
    n
}

#[test]
#[ignore = "needs Ruby (scripts/setup); scripts/test runs it"]
fn rubygems_agrees_with_gem_version_on_real_versions() {
    let versions = corpus::rubygems::versions();
    let pairs = pairs(&versions, 30_000);
    let distinct: std::collections::HashSet<&String> = versions.iter().collect();
    eprintln!("rubygems corpus: {} distinct versions", distinct.len());
    assert!(
        pairs.len() >= 10_000,
        "only {} RubyGems pairs harvested",
        pairs.len()
    );
    check("rubygems vs Gem::Version (real)", &pairs);
}

/// Every distinct harvested string, before the corpus's own `correct?`
/// filter, paired with itself: `!` exactly where RubyGems rejects it. This
/// also checks that filter.
#[test]
#[ignore = "needs Ruby (scripts/setup); scripts/test runs it"]
fn rubygems_validity_agrees_with_gem_version_on_every_candidate() {
    let mut candidates = corpus::rubygems::candidates();
    candidates.sort();
    candidates.dedup();
    let pairs: Vec<_> = candidates.iter().map(|v| (v.clone(), v.clone())).collect();
    let answers = oracle::run(gem_version(), &pairs);
    let n = oracle::assert_agrees(
        "rubygems validity vs Gem::Version",
        &pairs,
        &answers,
        ours,
        &[],
    );
    for ((v, _), answer) in pairs.iter().zip(&answers) {
        assert_eq!(
            corpus::rubygems::gem_correct(v),
            *answer != '!',
            "corpus filter on {v:?}"
        );
    }
    let rejected = answers.iter().filter(|&&a| a == '!').count();
    eprintln!("rubygems validity: {n} candidates agree ({rejected} rejected by both)");
    assert!(rejected > 0 && rejected < n, "{rejected} of {n} rejected");
}

#[test]
#[ignore = "needs Ruby (scripts/setup); scripts/test runs it"]
fn rubygems_agrees_with_gem_version_on_generated_versions() {
    let handpicked = handpicked();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for a in &handpicked {
        for b in &handpicked {
            pairs.push((a.clone(), b.clone()));
        }
    }
    pairs.extend(kensa_testkit::pairs(&generated(1_000), 4_000));
    assert!(pairs.len() >= 2_000, "only {} generated pairs", pairs.len());
    check("rubygems vs Gem::Version (generated)", &pairs);
}

fn handpicked() -> Vec<String> {
    [
        "",
        " ",
        "0",
        "0.0",
        "0.a",
        "1",
        "1.0",
        "1.0.0",
        "01",
        "1.01",
        "1.0.0.0.1",
        "1.a",
        "1.0.a",
        "1.0a",
        "1.0.a.0",
        "1.0.a.1",
        "1.a.0.b",
        "1.a.b",
        "1.0-a",
        "1.0-1",
        "1.0.pre",
        "1.0.pre.1",
        "1.0.rc1",
        "1.0.RC1",
        "1.0.b",
        "1.0.beta",
        "1.0.Z",
        "1.0.z",
        "1.0--",
        "1.0-a.-b",
        "1.0-a-b",
        "1.0.0.a1b2",
        "2",
        "1 ",
        " 1",
        "1\u{b}",
        "\r1.0",
        "1.0\u{c}",
        "99999999999999999999.0",
        "100000000000000000000",
        "1a",
        "a",
        "1.",
        ".1",
        "1.-a",
        "1.a-",
        "1..0",
        "1.0-",
        "1,0",
        "1 0",
        "1.0.\u{a0}",
        "v1.0",
        "1.0+1",
        "1_0",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

/// Versions assembled from random numbers and letter runs in the shape
/// RubyGems accepts, one in six then spoilt by a separator or character it
/// does not accept.
fn generated(n: usize) -> Vec<String> {
    const FIRST: &[&str] = &["0", "1", "2", "10", "00", "01", "99999999999999999999"];
    const TOKENS: &[&str] = &[
        "0",
        "1",
        "2",
        "00",
        "01",
        "10",
        "99999999999999999999",
        "a",
        "b",
        "pre",
        "rc",
        "RC",
        "beta",
        "Z",
        "z",
        "a1",
        "1a",
        "0a",
    ];
    const EDGES: &[&str] = &["", "", "", "", "", " ", "\u{b}", "\r"];
    const SPOILERS: &[&str] = &["..", "_", "+", "a", ".", "-", " ", "1"];
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    (0..n)
        .map(|_| {
            let mut v = String::from(FIRST[rng.below(FIRST.len())]);
            for _ in 0..rng.below(5) {
                v.push('.');
                v.push_str(TOKENS[rng.below(TOKENS.len())]);
            }
            if rng.below(3) == 0 {
                for i in 0..1 + rng.below(3) {
                    v.push_str(if i == 0 || rng.below(3) == 0 {
                        "-"
                    } else {
                        "."
                    });
                    v.push_str(TOKENS[rng.below(TOKENS.len())]);
                }
            }
            if rng.below(6) == 0 {
                let at = rng.below(v.len() + 1);
                if v.is_char_boundary(at) {
                    v.insert_str(at, SPOILERS[rng.below(SPOILERS.len())]);
                }
            }
            let edge = EDGES[rng.below(EDGES.len())];
            format!("{edge}{v}{}", EDGES[rng.below(EDGES.len())])
        })
        .collect()
}

struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}
