//! `kensa inventory`, run as a user runs it.

use std::process::Command;

use kensa_testkit::debian_root;

fn kensa(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kensa"))
        .args(args)
        .output()
        .expect("kensa runs")
}

#[test]
fn root_as_json_is_the_documented_schema() {
    let root = debian_root("bookworm");
    let o = kensa(&["inventory", "--root", root.to_str().expect("utf-8 path")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json document");
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["source"]["kind"], "root");
    assert_eq!(doc["os"]["id"], "debian");
    assert_eq!(doc["os"]["release"], "12");
    let pkgs = doc["packages"].as_array().expect("packages");
    assert!(pkgs.len() > 50);
    let libc = pkgs.iter().find(|p| p["name"] == "libc6").expect("libc6");
    assert_eq!(libc["source_name"], "glibc");
    assert!(
        libc["purl"]
            .as_str()
            .expect("purl")
            .starts_with("pkg:deb/debian/libc6@")
    );
    // A root has no live facts.
    assert!(doc["kernels"]["running"].is_null());
    assert_eq!(doc["listeners"].as_array().map(Vec::len), Some(0));
}

#[test]
fn table_for_people() {
    let root = debian_root("bullseye");
    let o = kensa(&[
        "inventory",
        "--root",
        root.to_str().expect("utf-8 path"),
        "--format",
        "table",
    ]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.starts_with("OS        debian 11"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("deb ") && l.contains(" libc6 ") && l.ends_with("glibc")),
        "{text}"
    );
}

#[test]
fn missing_root_exits_2_naming_it() {
    let o = kensa(&["inventory", "--root", "/nonexistent/kensa-root"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/kensa-root"));
}
