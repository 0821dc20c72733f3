//! docs/cli.md is the reference `kensa cli-reference` writes from the clap
//! definitions; this fails when the checked-in page is behind them.

use std::process::Command;

#[test]
fn docs_cli_md_is_current() {
    let o = Command::new(env!("CARGO_BIN_EXE_kensa"))
        .arg("cli-reference")
        .output()
        .expect("kensa runs");
    assert!(o.status.success(), "{o:?}");
    let fresh = String::from_utf8(o.stdout).expect("utf-8 Markdown");
    // A generator that wrote nothing would match an emptied page.
    for want in [
        "## kensa db import",
        "`--mirror <MIRROR>`",
        "## kensa scan",
        "`--format <FORMAT>`",
    ] {
        assert!(fresh.contains(want), "the reference lacks {want:?}");
    }
    let path = kensa_testkit::repo_root().join("docs/cli.md");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    if checked_in != fresh {
        let first = checked_in
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| checked_in.lines().count().min(fresh.lines().count()));
        panic!(
            "{} is not what the clap definitions say (first difference at line {}: \
             checked in {:?}, generated {:?}); regenerate it from the repository root with\n    {}",
            path.display(),
            first + 1,
            checked_in.lines().nth(first).unwrap_or("<end>"),
            fresh.lines().nth(first).unwrap_or("<end>"),
            "cargo run -p kensa -- cli-reference > docs/cli.md"
        );
    }
}
