//! SemVer orderings against the real implementations, on real versions and
//! on generated tricky ones: npm's `semver` package (one batched node
//! process), Cargo's `semver` crate (in process) and Go's
//! `golang.org/x/mod/semver` and `module` (a small Go program, built once
//! into the oracle folder from Debian's Go and x/mod sources, offline).
#![allow(clippy::unwrap_used)]

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::process::Command;

use kensa_testkit::{corpus, oracle, pairs};
use kensa_version::Ecosystem;
use kensa_version::golang::GoVersion;

/// Pairs `a<TAB>b` on stdin; `!` where `semver.valid` rejects either side
/// (where `semver.compare` would throw), else the comparison.
const NPM: &str = r#"
const semver = require(process.argv[1]);
const lines = require("fs").readFileSync(0, "utf8").split("\n");
if (lines[lines.length - 1] === "") lines.pop();
const out = lines.map((line) => {
  const tab = line.indexOf("\t");
  const a = line.slice(0, tab), b = line.slice(tab + 1);
  if (semver.valid(a) === null || semver.valid(b) === null) return "!";
  return ["<", "=", ">"][semver.compare(a, b) + 1];
});
process.stdout.write(out.length ? out.join("\n") + "\n" : "");
"#;

/// Pairs mode: `!` where `semver.IsValid` rejects either side, else
/// `semver.Compare`. `pseudo` mode: one version per line, answered `-` when
/// `module.IsPseudoVersion` says no, else `<time> <rev>` from
/// `PseudoVersionTime` (`!` when it fails) and `PseudoVersionRev`.
const GO: &str = r#"package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	pseudo := len(os.Args) > 1 && os.Args[1] == "pseudo"
	for in.Scan() {
		line := in.Text()
		if pseudo {
			if !module.IsPseudoVersion(line) {
				fmt.Fprintln(out, "-")
				continue
			}
			ts := "!"
			if t, err := module.PseudoVersionTime(line); err == nil {
				ts = t.Format("20060102150405")
			}
			rev, err := module.PseudoVersionRev(line)
			if err != nil {
				rev = "!"
			}
			fmt.Fprintln(out, ts, rev)
			continue
		}
		a, b, _ := strings.Cut(line, "\t")
		if !semver.IsValid(a) || !semver.IsValid(b) {
			fmt.Fprintln(out, "!")
			continue
		}
		fmt.Fprintln(out, map[int]string{-1: "<", 0: "=", 1: ">"}[semver.Compare(a, b)])
	}
}
"#;

fn npm_oracle() -> Command {
    let semver = oracle::oracle_dir().join("node_modules/semver");
    assert!(
        semver.join("package.json").exists(),
        "npm semver is not installed in {} (run scripts/setup)",
        semver.display()
    );
    let mut cmd = Command::new("/usr/bin/node");
    cmd.arg("-e").arg(NPM).arg(semver);
    cmd
}

/// The Go oracle binary, built on first use. Debian's `golang-go` and
/// `golang-golang-x-mod-dev` provide the compiler and the x/mod sources in
/// `/usr/share/gocode`, so GOPATH mode builds it without the network. The
/// binary is named after its source's hash and renamed into place, so
/// concurrent test processes neither clash nor use a stale build.
fn go_oracle() -> PathBuf {
    let dir = oracle::oracle_dir().join("go-semver");
    let mut h = DefaultHasher::new();
    GO.hash(&mut h);
    let bin = dir.join(format!("oracle-{:016x}", h.finish()));
    if bin.exists() {
        return bin;
    }
    let work = dir.join(format!("build-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("main.go"), GO).unwrap();
    let status = Command::new("go")
        .args(["build", "-o", "oracle", "main.go"])
        .current_dir(&work)
        .env("GO111MODULE", "off")
        .env("GOPATH", "/usr/share/gocode")
        .env("GOCACHE", dir.join("cache"))
        .env("GOFLAGS", "")
        .env("GOPROXY", "off")
        .env("GOENV", "off")
        .status()
        .unwrap_or_else(|e| {
            panic!("cannot run go: {e} (install golang-go and golang-golang-x-mod-dev: run scripts/setup)")
        });
    assert!(
        status.success(),
        "building the Go oracle failed: {status} (are golang-go and golang-golang-x-mod-dev installed? run scripts/setup)"
    );
    std::fs::rename(work.join("oracle"), &bin).unwrap();
    std::fs::remove_dir_all(&work).unwrap();
    bin
}

/// The `semver` crate: `Version::parse`, ordered by `cmp_precedence`, the
/// ordering Kensa chose for Cargo (build metadata ignored).
fn cargo_crate(pairs: &[(String, String)]) -> Vec<char> {
    pairs
        .iter()
        .map(
            |(a, b)| match (::semver::Version::parse(a), ::semver::Version::parse(b)) {
                (Ok(x), Ok(y)) => oracle::symbol(x.cmp_precedence(&y)),
                _ => '!',
            },
        )
        .collect()
}

fn ours(eco: Ecosystem) -> impl Fn(&str, &str) -> char {
    move |a, b| eco.compare(a, b).map(oracle::symbol).unwrap_or('!')
}

fn real_pairs() -> Vec<(String, String)> {
    let pairs = pairs(&corpus::semver::versions(), 30_000);
    assert!(
        pairs.len() >= 10_000,
        "only {} semver pairs harvested",
        pairs.len()
    );
    pairs
}

#[test]
#[ignore = "needs Node.js semver and Go x/mod (scripts/setup); scripts/test runs it"]
fn npm_agrees_with_npm_semver_on_real_versions() {
    let pairs = real_pairs();
    let answers = oracle::run(npm_oracle(), &pairs);
    let valid = answers.iter().filter(|c| **c != '!').count();
    assert!(valid >= 10_000, "only {valid} pairs npm accepts");
    oracle::assert_agrees(
        "npm vs npm semver",
        &pairs,
        &answers,
        ours(Ecosystem::Npm),
        &[],
    );
}

#[test]
fn cargo_agrees_with_the_semver_crate_on_real_versions() {
    let pairs = real_pairs();
    let answers = cargo_crate(&pairs);
    oracle::assert_agrees(
        "cargo vs semver crate",
        &pairs,
        &answers,
        ours(Ecosystem::Cargo),
        &[],
    );
}

#[test]
#[ignore = "needs Node.js semver and Go x/mod (scripts/setup); scripts/test runs it"]
fn npm_and_cargo_agree_with_their_oracles_on_tricky_versions() {
    let pairs = tricky_semver_pairs();
    assert!(pairs.len() >= 5_000, "only {} tricky pairs", pairs.len());
    let npm = oracle::run(npm_oracle(), &pairs);
    oracle::assert_agrees(
        "npm vs npm semver (tricky)",
        &pairs,
        &npm,
        ours(Ecosystem::Npm),
        &[],
    );
    let cargo = cargo_crate(&pairs);
    oracle::assert_agrees(
        "cargo vs semver crate (tricky)",
        &pairs,
        &cargo,
        ours(Ecosystem::Cargo),
        &[],
    );
    // Both sides must have exercised comparisons, not only rejections.
    for (what, answers) in [("npm", &npm), ("cargo", &cargo)] {
        let compared = answers.iter().filter(|c| **c != '!').count();
        assert!(
            compared >= 2_000,
            "{what}: only {compared} tricky pairs valid"
        );
    }
}

#[test]
fn cargo_orders_by_precedence_not_by_the_crates_total_order() {
    // The crate's `Ord` breaks ties on build metadata; a range boundary must
    // not, so Kensa matches `cmp_precedence` (see kensa_version::semver).
    let (a, b) = ("1.2.3+build.2", "1.2.3+build.10");
    let (x, y) = (
        ::semver::Version::parse(a).unwrap(),
        ::semver::Version::parse(b).unwrap(),
    );
    assert_eq!(x.cmp(&y), std::cmp::Ordering::Less);
    assert_eq!(x.cmp_precedence(&y), std::cmp::Ordering::Equal);
    assert_eq!(
        Ecosystem::Cargo.compare(a, b),
        Ok(std::cmp::Ordering::Equal)
    );
}

#[test]
#[ignore = "needs Node.js semver and Go x/mod (scripts/setup); scripts/test runs it"]
fn go_agrees_with_x_mod_semver_on_real_versions() {
    let mut versions = corpus::semver::go_versions();
    // Other real SemVer strings, as Go would tag them.
    versions.extend(corpus::semver::versions().iter().map(|v| format!("v{v}")));
    let pairs = pairs(&versions, 30_000);
    assert!(pairs.len() >= 10_000, "only {} Go pairs", pairs.len());
    let answers = oracle::run(Command::new(go_oracle()), &pairs);
    oracle::assert_agrees(
        "go vs x/mod/semver",
        &pairs,
        &answers,
        ours(Ecosystem::Go),
        &[],
    );
}

#[test]
#[ignore = "needs Node.js semver and Go x/mod (scripts/setup); scripts/test runs it"]
fn go_agrees_with_x_mod_semver_on_tricky_versions() {
    let pairs = tricky_go_pairs();
    let answers = oracle::run(Command::new(go_oracle()), &pairs);
    let compared = answers.iter().filter(|c| **c != '!').count();
    assert!(compared >= 2_000, "only {compared} tricky Go pairs valid");
    oracle::assert_agrees(
        "go vs x/mod/semver (tricky)",
        &pairs,
        &answers,
        ours(Ecosystem::Go),
        &[],
    );
}

#[test]
#[ignore = "needs Node.js semver and Go x/mod (scripts/setup); scripts/test runs it"]
fn go_pseudo_versions_agree_with_x_mod_module() {
    let mut versions = corpus::semver::go_versions();
    versions.extend(tricky_go_versions());
    versions.sort();
    versions.dedup();
    let mut cmd = Command::new(go_oracle());
    cmd.arg("pseudo");
    let answers = run_lines(cmd, &versions);
    let mut pseudo = 0;
    let mut bad = Vec::new();
    for (v, want) in versions.iter().zip(&answers) {
        let got = match GoVersion::parse(v) {
            Ok(p) if p.is_pseudo() => {
                let time = p.pseudo_time().map_or("!".to_owned(), |t| {
                    format!(
                        "{:04}{:02}{:02}{:02}{:02}{:02}",
                        t.year, t.month, t.day, t.hour, t.minute, t.second
                    )
                });
                format!("{time} {}", p.pseudo_revision().unwrap_or("!"))
            }
            _ => "-".to_owned(),
        };
        assert_eq!(
            kensa_version::golang::is_pseudo_version(v),
            got != "-",
            "{v:?}"
        );
        pseudo += usize::from(got != "-");
        if got != *want {
            bad.push(format!("  {v:?}: kensa {got:?}, x/mod {want:?}"));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} disagree:\n{}",
        bad.len(),
        versions.len(),
        bad.join("\n")
    );
    assert!(pseudo >= 300, "only {pseudo} pseudo-versions checked");
}

/// Run an oracle that answers one line per input line.
fn run_lines(mut cmd: Command, lines: &[String]) -> Vec<String> {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = lines.join("\n");
    input.push('\n');
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success());
    let answers: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(answers.len(), lines.len());
    answers
}

/// A fixed-seed xorshift: reproducible without a rand dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

/// Pre-release identifiers that stress the rules: digits against letters,
/// leading zeros, hyphens, case, numbers around 2^53 and 2^64, characters
/// outside the grammar.
const PRE_IDS: &[&str] = &[
    "alpha",
    "beta",
    "rc",
    "0",
    "1",
    "2",
    "9",
    "10",
    "11",
    "01",
    "00",
    "0a",
    "a0",
    "1a",
    "a1",
    "-",
    "--",
    "-1",
    "1-",
    "x-y",
    "A",
    "Z",
    "a",
    "z",
    "alpha-1",
    "Alpha",
    "9007199254740990",
    "9007199254740991",
    "9007199254740992",
    "9007199254740993",
    "9007199254740994",
    "18446744073709551615",
    "18446744073709551616",
    "123456789012345678901234567890",
    "123456789012345678901234567891",
    "",
    "é",
    "a_b",
    "incompatible",
];

const BUILD_IDS: &[&str] = &[
    "build",
    "1",
    "01",
    "001",
    "0",
    "sha",
    "x-y",
    "",
    "Z",
    "é",
    "incompatible",
];

fn dotted(rng: &mut Rng, ids: &[&str], max: usize) -> String {
    let n = 1 + rng.below(max);
    (0..n).map(|_| rng.pick(ids)).collect::<Vec<_>>().join(".")
}

/// npm and Cargo tricky versions: mostly `1.0.0` with a random pre-release
/// (so that pairs reach the pre-release walk), with prefixes npm trims or
/// rejects, out-of-range and malformed main numbers, build metadata and
/// inputs around npm's 256-unit limit.
fn tricky_semver_versions() -> Vec<String> {
    let prefixes = [
        "v", "=", " ", "  v", "V", "\u{A0}", "\u{FEFF}", "\u{85}", "v ", "\u{3000}", "\r",
        "\u{0B}", "vv",
    ];
    let mains = [
        "1.2.3",
        "0.0.0",
        "0.0.1",
        "1.0.1",
        "01.0.0",
        "1.00.0",
        "1.0.00",
        "1.0",
        "1",
        "1.0.0.0",
        "9007199254740991.0.0",
        "9007199254740992.0.0",
        "18446744073709551615.0.0",
        "18446744073709551616.0.0",
        "1.9007199254740991.9007199254740991",
        "99999999999999999999.0.0",
        "1.0.0rc1",
    ];
    let suffixes = [
        " ", "\u{A0}", "\u{85}", "\u{2028}", "\u{FEFF}", "\u{180E}", "-", "+",
    ];
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut out = Vec::new();
    for _ in 0..4_000 {
        let mut v = String::new();
        if rng.below(5) == 0 {
            v.push_str(rng.pick(&prefixes));
        }
        v.push_str(if rng.below(10) < 6 {
            "1.0.0"
        } else {
            rng.pick(&mains)
        });
        if rng.below(10) < 7 {
            v.push('-');
            v.push_str(&dotted(&mut rng, PRE_IDS, 4));
        }
        if rng.below(4) == 0 {
            v.push('+');
            v.push_str(&dotted(&mut rng, BUILD_IDS, 3));
        }
        if rng.below(12) == 0 {
            v.push_str(rng.pick(&suffixes));
        }
        out.push(v);
    }
    // Around npm's 256-unit limit: the length counts before trimming.
    for len in [249, 250, 251] {
        let long = format!("1.0.0-{}", "a".repeat(len));
        out.push(format!(" {long}"));
        out.push(format!("\u{3000}{long}"));
        out.push(long);
    }
    out.push(format!("1.0.0+{}", "0".repeat(250)));
    out.push(format!("1.0.0-{}", "9".repeat(250)));
    out.push(format!("1.0.0-{}", "9".repeat(249)));
    out
}

fn tricky_semver_pairs() -> Vec<(String, String)> {
    let mut out = pairs(&tricky_semver_versions(), 20_000);
    // Every single-identifier pre-release against every other.
    for x in PRE_IDS {
        for y in PRE_IDS {
            out.push((format!("1.0.0-{x}"), format!("1.0.0-{y}")));
        }
    }
    out
}

/// Go tricky versions: shorthands (with and without forbidden suffixes),
/// missing or wrong `v`, huge numbers, `+incompatible`, and pseudo-versions
/// of every form with good and bad timestamps and revisions.
fn tricky_go_versions() -> Vec<String> {
    let prefixes = ["", "V", " v", "vv", "v="];
    let mains = [
        "1.2.3",
        "0.0.0",
        "1.0.0",
        "2.0.0",
        "1",
        "1.2",
        "01.0.0",
        "1.02",
        "1.2.03",
        "99999999999999999999999.0.0",
        "100000000000000000000000.0.0",
        "1.2.3.4",
    ];
    let stamps = [
        "20210101000000",
        "20201231235959",
        "20240229120000",
        "20230229120000",
        "21000229000000",
        "20001301000000",
        "20000100000000",
        "20000431000000",
        "20000101240000",
        "20000101006000",
        "20000101000060",
        "00000101000000",
        "2021010100000",
        "202101010000000",
    ];
    let revs = ["abcdef123456", "ABC", "0", "abc-def", "", "a_b"];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::new();
    for _ in 0..3_000 {
        let mut v = String::from(if rng.below(12) == 0 {
            rng.pick(&prefixes)
        } else {
            "v"
        });
        v.push_str(if rng.below(10) < 4 {
            "1.0.0"
        } else {
            rng.pick(&mains)
        });
        match rng.below(6) {
            0 => {}
            1 | 2 => {
                v.push('-');
                v.push_str(&dotted(&mut rng, PRE_IDS, 3));
            }
            _ => {
                // A pseudo-version tail, well or badly formed.
                let head = ["", "0.", "pre.0.", "rc.1.0.", "1.", "pre.", "0.0."][rng.below(7)];
                v.push('-');
                v.push_str(head);
                v.push_str(rng.pick(&stamps));
                v.push('-');
                v.push_str(rng.pick(&revs));
            }
        }
        if rng.below(4) == 0 {
            v.push('+');
            v.push_str(if rng.below(2) == 0 {
                "incompatible"
            } else {
                rng.pick(BUILD_IDS)
            });
        }
        out.push(v);
    }
    out
}

fn tricky_go_pairs() -> Vec<(String, String)> {
    pairs(&tricky_go_versions(), 20_000)
}
