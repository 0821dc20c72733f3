//! PEP 503 name normalisation against `packaging.utils.canonicalize_name`
//! (Debian's python3-packaging), on every PyPI project name of the real
//! PyPA advisory database and on names made of every separator run.

use std::io::Write;
use std::process::Stdio;

use kensa_testkit::{corpus, oracle};
use kensa_version::pep503::normalize;

const CANONICALIZE: &str = r#"
import sys
from packaging.utils import canonicalize_name
lines = sys.stdin.buffer.read().decode("utf-8").split("\n")
if lines and lines[-1] == "":
    lines.pop()
sys.stdout.write("".join(canonicalize_name(n) + "\n" for n in lines))
"#;

fn canonical(names: &[String]) -> Vec<String> {
    let mut child = oracle::python(CANONICALIZE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run /usr/bin/python3 (scripts/setup installs python3-packaging)");
    let input: String = names.iter().map(|n| format!("{n}\n")).collect();
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("oracle output");
    writer.join().expect("writer").expect("write names");
    assert!(out.status.success(), "canonicalize_name failed");
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn check(what: &str, names: &[String]) {
    let theirs = canonical(names);
    assert_eq!(
        theirs.len(),
        names.len(),
        "{what}: oracle answered every name"
    );
    let wrong: Vec<String> = names
        .iter()
        .zip(&theirs)
        .filter(|(n, t)| normalize(n) != **t)
        .map(|(n, t)| format!("{n:?}: ours {:?}, packaging {t:?}", normalize(n)))
        .collect();
    assert!(
        wrong.is_empty(),
        "{what}: {} differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    eprintln!("{what}: {} names agree", names.len());
}

#[test]
#[ignore = "needs python3-packaging (scripts/setup); scripts/test runs it"]
fn pep503_agrees_with_packaging_on_real_names() {
    let names = corpus::pypi::names();
    assert!(
        names.len() > 500,
        "only {} PyPI names in the corpus",
        names.len()
    );
    check("PyPA advisory names", &names);
}

#[test]
#[ignore = "needs python3-packaging (scripts/setup); scripts/test runs it"]
fn pep503_agrees_with_packaging_on_separator_runs() {
    let parts = ["", "-", "_", ".", "--", "_.", "-_.", "A", "b", "Ab"];
    let mut names = Vec::new();
    for a in parts {
        for b in parts {
            for c in parts {
                names.push(format!("{a}X{b}y{c}"));
            }
        }
    }
    check("generated names", &names);
}
