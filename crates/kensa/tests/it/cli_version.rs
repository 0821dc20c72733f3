//! The `kensa version` commands, run as a user runs them.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn kensa(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kensa"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kensa starts");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or("").as_bytes())
        .expect("write stdin");
    drop(input);
    child.wait_with_output().expect("kensa finishes")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn compare_prints_the_ordering() {
    for (a, b, want) in [
        ("1:1.0", "2.0", ">"),
        ("1.0~rc1", "1.0", "<"),
        ("1.0", "1.0-0", "="),
    ] {
        let o = kensa(&["version", "compare", "deb", a, b], None);
        assert!(o.status.success(), "{a} {b}: {o:?}");
        assert_eq!(stdout(&o).trim(), want, "{a} vs {b}");
    }
}

#[test]
fn compare_accepts_osv_ecosystem_names() {
    let o = kensa(
        &[
            "version",
            "compare",
            "Debian:12",
            "2.36-9+deb12u4",
            "2.36-9+deb12u10",
        ],
        None,
    );
    assert_eq!(stdout(&o).trim(), "<");
}

#[test]
fn invalid_version_exits_2_naming_it() {
    let o = kensa(&["version", "compare", "dpkg", "1:", "1.0"], None);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("\"1:\"") && err.contains("dpkg"), "{err}");
    assert!(o.stdout.is_empty());
}

#[test]
fn unknown_ecosystem_is_refused() {
    let o = kensa(&["version", "compare", "cobol", "1", "2"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown version ecosystem"));
}

#[test]
fn batch_answers_every_line_and_flags_bad_ones() {
    let input = "1.0\t1.1\n2:0 1:9\n1.0 1.0-0\n1:\t1\nonly-one\n";
    let o = kensa(&["version", "compare", "dpkg", "--batch"], Some(input));
    assert_eq!(stdout(&o), "<\n>\n=\n!\n!\n");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 4") && err.contains("line 5"), "{err}");

    let o = kensa(&["version", "compare", "dpkg", "--batch"], Some("1 2\n"));
    assert!(o.status.success());
    assert_eq!(stdout(&o), "<\n");
}

#[test]
fn affected_evaluates_an_osv_range() {
    let range = ["introduced=0", "fixed=2.36-9+deb12u4"];
    let mut args = vec!["version", "affected", "deb", "2.36-9+deb12u3"];
    args.extend(range);
    let o = kensa(&args, None);
    assert_eq!(
        (o.status.code(), stdout(&o).trim().to_owned()),
        (Some(0), "affected".to_owned())
    );
    args[3] = "2.36-9+deb12u4";
    let o = kensa(&args, None);
    assert_eq!(
        (o.status.code(), stdout(&o).trim().to_owned()),
        (Some(1), "not affected".to_owned())
    );
    let o = kensa(&["version", "affected", "deb", "1.0", "fixed"], None);
    assert_eq!(o.status.code(), Some(2));
}
