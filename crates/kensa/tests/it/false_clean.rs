//! Never a false "clean" (`kensa scan` as a user runs it): a root whose OS
//! is identified but whose package database is missing or unreadable exits
//! 2 with the report written and the reason on standard error; a database
//! read in part (a damaged record skipped) is a warning naming it, and
//! `--exit-code` gates on it even when no finding remains.

use crate::support;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use support::{kb, utf8};

fn scan(root: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "scan",
        "--store",
        utf8(kb()),
        "--root",
        utf8(root),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    Command::new(env!("CARGO_BIN_EXE_kensa"))
        .args(&args)
        .output()
        .expect("kensa runs")
}

fn text(o: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let dest = root.join(rel);
    std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
    std::fs::write(dest, bytes).expect("write");
}

fn warnings_of_kind(doc: &Value, kind: &str) -> Vec<String> {
    doc["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter(|w| w["kind"] == kind)
        .map(|w| w["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

const DEBIAN10: &str = "PRETTY_NAME=\"Debian GNU/Linux 10 (buster)\"\nNAME=\"Debian GNU/Linux\"\n\
VERSION_ID=\"10\"\nVERSION=\"10 (buster)\"\nVERSION_CODENAME=buster\nID=debian\n";

/// Debian 10 with no `var/lib/dpkg/status`: before, 0 packages, 0
/// findings but the end of life, exit 0.
#[test]
fn a_missing_package_database_is_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "etc/os-release", DEBIAN10.as_bytes());
    for extra in [&[][..], &["--exit-code", "3"][..]] {
        let o = scan(dir.path(), extra);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", text(&o));
        let doc: Value = serde_json::from_slice(&o.stdout).expect("the report is still written");
        let unread = warnings_of_kind(&doc, "os-packages-unread");
        assert_eq!(unread.len(), 1, "{doc}");
        assert!(unread[0].contains("var/lib/dpkg/status"), "{unread:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("var/lib/dpkg/status"), "{err}");
    }
}

/// Alpine 3.4 whose `lib/apk/db/installed` is random bytes.
#[test]
fn random_bytes_as_the_database_are_exit_2() {
    let mut rng = kensa_testkit::Lcg(7);
    let bytes: Vec<u8> = (0..8192).map(|_| rng.below(256) as u8).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "etc/alpine-release", b"3.4.6\n");
    write(dir.path(), "lib/apk/db/installed", &bytes);
    let o = scan(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).expect("report");
    let unread = warnings_of_kind(&doc, "os-packages-unread");
    assert!(
        unread.iter().any(|m| m.contains("lib/apk/db/installed")),
        "{unread:?}"
    );
}

/// SUSE's real NDB database (the data folder's SLE 15 BCI image) with one
/// package blob damaged: 34 of 35 packages read, the damaged one named.
/// The knowledge base has no SUSE data, so no finding: `--exit-code` must
/// still gate on what was skipped.
#[test]
fn a_partial_read_is_named_and_gates_exit_code() {
    let mut db = std::fs::read(kensa_testkit::data_path(
        "fixtures/rpm/sle15-bci-ndb/Packages.db",
    ))
    .expect("fixture");
    let first_blob = u32::from_le_bytes(db[40..44].try_into().expect("4 bytes")) as usize * 16;
    db[first_blob + 100] ^= 0x01;
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "etc/os-release",
        b"NAME=\"SLES\"\nVERSION_ID=\"15.5\"\nID=\"sles\"\nPRETTY_NAME=\"SUSE Linux Enterprise Server 15 SP5\"\n",
    );
    write(dir.path(), "var/lib/rpm/Packages.db", &db);
    // A day SLES 15 SP5 was supported: no end-of-life finding either.
    let today = ["--today", "2024-01-01"];
    let o = scan(dir.path(), &today);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).expect("report");
    assert_eq!(doc["findings"].as_array().map(Vec::len), Some(0), "{doc}");
    assert_eq!(doc["target"]["packages"], 34, "{}", doc["target"]);
    assert!(warnings_of_kind(&doc, "os-packages-unread").is_empty());
    let skipped = warnings_of_kind(&doc, "inventory-problem");
    assert!(
        skipped
            .iter()
            .any(|m| m.contains("var/lib/rpm/Packages.db") && m.contains("skipped")),
        "{skipped:?}"
    );
    let o = scan(dir.path(), &["--today", "2024-01-01", "--exit-code", "3"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
}
