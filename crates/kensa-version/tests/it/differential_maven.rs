//! Maven ordering against `ComparableVersion` itself (the maven-artifact jar
//! of Debian's `maven` package, run by a single-file Java program), on every
//! real version string within reach and on generated versions that stress
//! the tokeniser. Each test runs the oracle once over all its pairs.

use std::path::{Path, PathBuf};
use std::process::Command;

use kensa_testkit::{corpus, oracle, pairs};
use kensa_version::Ecosystem;

const JAR: &str = "/usr/share/maven/lib/maven-artifact-3.x.jar";

/// Reads all of stdin as UTF-8 and splits on `\n` only (`readLine` would
/// also split on `\r`, and Java 17's default charset follows the locale).
const ORACLE: &str = r#"
import java.io.*;
import java.nio.charset.StandardCharsets;
import org.apache.maven.artifact.versioning.ComparableVersion;

public class MavenOracle {
    public static void main(String[] args) throws IOException {
        String data = new String(System.in.readAllBytes(), StandardCharsets.UTF_8);
        StringBuilder out = new StringBuilder();
        int from = 0;
        while (from < data.length()) {
            int end = data.indexOf('\n', from);
            if (end < 0) end = data.length();
            String line = data.substring(from, end);
            from = end + 1;
            int tab = line.indexOf('\t');
            String answer;
            try {
                ComparableVersion a = new ComparableVersion(line.substring(0, tab));
                ComparableVersion b = new ComparableVersion(line.substring(tab + 1));
                int c = a.compareTo(b);
                answer = c < 0 ? "<" : c > 0 ? ">" : "=";
            } catch (RuntimeException e) {
                answer = "!";
            }
            out.append(answer).append('\n');
        }
        System.out.write(out.toString().getBytes(StandardCharsets.US_ASCII));
        System.out.flush();
    }
}
"#;

/// The oracle's source, written where oracle helpers live (atomically, as
/// tests run in parallel processes).
fn oracle_source() -> PathBuf {
    assert!(
        Path::new(JAR).exists(),
        "{JAR} is missing: install Debian's maven package (scripts/setup)"
    );
    let dir = oracle::oracle_dir().join("maven");
    std::fs::create_dir_all(&dir).expect("create the oracle directory");
    let src = dir.join("MavenOracle.java");
    let tmp = dir.join(format!("MavenOracle.java.{}", std::process::id()));
    std::fs::write(&tmp, ORACLE).expect("write the oracle source");
    std::fs::rename(&tmp, &src).expect("move the oracle source into place");
    src
}

fn comparable_version() -> Command {
    let mut cmd = Command::new("java");
    cmd.arg("-cp").arg(JAR).arg(oracle_source());
    cmd
}

fn ours(a: &str, b: &str) -> char {
    Ecosystem::Maven
        .compare(a, b)
        .map(oracle::symbol)
        .unwrap_or('!')
}

fn check(what: &str, pairs: &[(String, String)], explained: &[(&str, &str)]) -> usize {
    let answers = oracle::run(comparable_version(), pairs);
    assert!(
        !answers.contains(&'!'),
        "ComparableVersion threw on some pair"
    );
    let n = oracle::assert_agrees(what, pairs, &answers, ours, explained);
    let rejected = answers.iter().filter(|&&a| a == '!').count();
    eprintln!("{what}: {n} pairs agree ({rejected} rejected by both)");
    n
}

#[test]
#[ignore = "needs Java and Maven's maven-artifact jar (scripts/setup); scripts/test runs it"]
fn maven_agrees_with_comparable_version_on_real_versions() {
    let versions = corpus::maven::versions();
    let pairs = pairs(&versions, 30_000);
    let distinct: std::collections::HashSet<&String> = versions.iter().collect();
    eprintln!("maven corpus: {} distinct versions", distinct.len());
    assert!(
        pairs.len() >= 10_000,
        "only {} Maven pairs harvested",
        pairs.len()
    );
    check("maven vs ComparableVersion (real)", &pairs, &[]);
}

#[test]
#[ignore = "needs Java and Maven's maven-artifact jar (scripts/setup); scripts/test runs it"]
fn maven_agrees_with_comparable_version_on_generated_versions() {
    let handpicked = handpicked();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for a in &handpicked {
        for b in &handpicked {
            pairs.push((a.clone(), b.clone()));
        }
    }
    pairs.extend(kensa_testkit::pairs(&generated(1_500), 6_000));
    assert!(pairs.len() >= 2_000, "only {} generated pairs", pairs.len());
    check("maven vs ComparableVersion (generated)", &pairs, &[]);
}

/// The two deliberate differences, each confirmed against the jar so that
/// the pin fails if the jar changes.
#[test]
#[ignore = "needs Java and Maven's maven-artifact jar (scripts/setup); scripts/test runs it"]
fn maven_pinned_differences() {
    let pairs: Vec<(String, String)> = [
        // Kensa rejects the empty string (missing data); the jar reads it as 0.
        ("", "0"),
        // Java lower-cases a word-final capital sigma to a final sigma using
        // word-break rules; Kensa lower-cases it to an ordinary sigma.
        ("1-\u{391}\u{3a3}", "1-\u{3b1}\u{3c2}"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    let answers = oracle::run(comparable_version(), &pairs);
    assert_eq!(answers, ['=', '=']);
    assert_eq!(ours("", "0"), '!');
    assert_eq!(ours("1-\u{391}\u{3a3}", "1-\u{3b1}\u{3c2}"), '>');
}

/// `ComparableVersion` is not transitive: these two cycles are the jar's
/// answers, and Kensa's (a total-order property cannot hold for Maven).
#[test]
#[ignore = "needs Java and Maven's maven-artifact jar (scripts/setup); scripts/test runs it"]
fn maven_cycles_are_the_jars() {
    let cycles = [["5-alpha", "5", "5.sp.1"], ["5alpha", "5", "5.a-"]];
    let pairs: Vec<(String, String)> = cycles
        .iter()
        .flat_map(|c| [(c[0], c[1]), (c[1], c[2]), (c[2], c[0])])
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
    let answers = oracle::run(comparable_version(), &pairs);
    assert_eq!(answers, ['<'; 6], "the jar no longer cycles");
    check("maven cycles vs ComparableVersion", &pairs, &[]);
}

fn handpicked() -> Vec<String> {
    [
        "0",
        "1",
        "1.0",
        "1.0.0",
        "1-0",
        "1.0-0",
        "1-0.1",
        "1-0.alpha",
        "1.0000000000.1",
        "1.000000000",
        "1.0.1",
        "1.1",
        "1-1",
        "1-0-1",
        "1..2",
        "1--2",
        ".1",
        "-1",
        "1-",
        "1.",
        "1.999999999",
        "1.1000000000",
        "1.999999999999999999",
        "1.1000000000000000000",
        "1.12345678901234567890123",
        "1-alpha",
        "1-a1",
        "1a1",
        "1.a1",
        "1-a",
        "1-b",
        "1-beta-2",
        "1-m1",
        "1-milestone",
        "1-rc",
        "1-cr",
        "1-RC1",
        "1-SNAPSHOT",
        "1.0-SNAPSHOT",
        "1-ga",
        "1-final",
        "1.Final",
        "1-release",
        "1-sp",
        "1-sp1",
        "1-foo",
        "1-Foo",
        "1.foo",
        "1foo",
        "1-xyz",
        "1.0.0.x1",
        "1.0.0-x2",
        "a",
        "alpha",
        "ga",
        "-",
        ".",
        " ",
        "1 ",
        "\u{661}.\u{662}",
        "1.\u{ff12}",
        "1-\u{e9}",
        "1-\u{c9}",
        "1-\u{130}",
        "1-i\u{307}",
        "1-\u{212a}",
        "1-k",
        "1.\u{1d7cf}",
        "1-\u{e000}",
        "1-\u{10000}",
        "2.0.0.RELEASE",
        "5.3.39",
        "31.1-jre",
        "9.0.0.M1",
        "1.0-alpha-1-SNAPSHOT",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

/// Versions assembled from random tokens and separators (an empty
/// separator glues letters to digits, which is where the tokeniser opens
/// nested lists).
fn generated(n: usize) -> Vec<String> {
    const TOKENS: &[&str] = &[
        "1",
        "0",
        "2",
        "00",
        "10",
        "000000000",
        "0000000000",
        "1234567890",
        "1234567890123456789",
        "9",
        "a",
        "b",
        "m",
        "alpha",
        "beta",
        "milestone",
        "rc",
        "cr",
        "snapshot",
        "SNAPSHOT",
        "ga",
        "final",
        "Release",
        "sp",
        "foo",
        "x",
        "RC",
        "\u{e9}",
        "\u{663}",
        "\u{e000}",
        "\u{10000}",
    ];
    const SEPARATORS: &[&str] = &[".", ".", "-", "-", "", ""];
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    (0..n)
        .map(|_| {
            let len = 1 + rng.below(6);
            let mut v = String::new();
            for i in 0..len {
                if i > 0 || rng.below(8) == 0 {
                    v.push_str(SEPARATORS[rng.below(SEPARATORS.len())]);
                }
                v.push_str(TOKENS[rng.below(TOKENS.len())]);
            }
            if rng.below(8) == 0 {
                v.push_str(SEPARATORS[rng.below(SEPARATORS.len())]);
            }
            v
        })
        .filter(|v| !v.is_empty())
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
