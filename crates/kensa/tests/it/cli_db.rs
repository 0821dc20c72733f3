//! `kensa db`, run as a user runs it, on the data folder as a mirror.

use std::path::Path;
use std::process::{Command, Output};

fn kensa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kensa"))
        .args(args)
        .output()
        .expect("kensa runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn import(mirror: &Path, store: &Path) -> Output {
    kensa(&[
        "db",
        "import",
        "--mirror",
        mirror.to_str().expect("utf-8"),
        "--store",
        store.to_str().expect("utf-8"),
    ])
}

#[test]
fn import_status_show_and_an_interrupted_update() {
    let mirror = kensa_testkit::data_dir();
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("kb");
    let s = store.to_str().expect("utf-8");

    let o = import(&mirror, &store);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for feed in [
        "osv:AlmaLinux",
        "osv:Go",
        "osv:PyPI",
        "rustsec",
        "debian",
        "alpine",
        "amazon",
        "oval",
        "nvd",
        "kev",
        "eol",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(feed)),
            "{feed} missing from:\n{out}"
        );
    }

    let o = kensa(&["db", "status", "--store", s]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("kev"));

    // A KEV CVE shows its catalog entry next to the advisories naming it.
    let o = kensa(&["db", "show", "CVE-2025-48384", "--store", s]);
    assert!(o.status.success(), "{}", text(&o));
    let shown: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let records = shown.as_array().expect("records");
    assert!(
        records
            .iter()
            .any(|r| r["Kev"]["dueDate"] == "2025-09-15" || r["Kev"]["due_date"] == "2025-09-15"),
        "{shown}"
    );
    assert!(records.iter().any(|r| {
        r["Advisory"]["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("ALSA-"))
    }));

    let o = kensa(&["db", "show", "CVE-1900-0001", "--store", s]);
    assert_eq!(o.status.code(), Some(1));

    // An import from a mirror that is not there fails and changes nothing.
    let before = std::fs::read_link(store.join("current")).expect("current");
    let o = import(Path::new("/nonexistent/mirror"), &store);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        std::fs::read_link(store.join("current")).expect("current"),
        before
    );

    // An import killed midway leaves the previous store answering.
    let mut child = Command::new(env!("CARGO_BIN_EXE_kensa"))
        .args([
            "db",
            "import",
            "--mirror",
            mirror.to_str().expect("utf-8"),
            "--store",
            s,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(150));
    child.kill().expect("kill");
    child.wait().expect("wait");
    assert_eq!(
        std::fs::read_link(store.join("current")).expect("current"),
        before
    );
    let o = kensa(&["db", "show", "CVE-2025-48384", "--store", s]);
    assert!(o.status.success(), "{}", text(&o));
    // The next import clears what the killed one left behind.
    let o = import(&mirror, &store);
    assert!(o.status.success(), "{}", text(&o));
    let names: Vec<String> = std::fs::read_dir(&store)
        .expect("list")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    assert!(
        names.iter().filter(|n| n.starts_with("gen-")).count() <= 2,
        "{names:?}"
    );
}

#[test]
fn no_store_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = kensa(&[
        "db",
        "status",
        "--store",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("kensa db import"), "{}", text(&o));
}
