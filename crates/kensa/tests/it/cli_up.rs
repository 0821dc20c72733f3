//! `kensa up`: one command from nothing to a summary of this machine's
//! findings, and the same data reused when it runs again. The agent reports
//! a root made from the data folder's real Alpine database (`--root`), so
//! that the expected findings are known: exactly what `kensa scan` finds.

use crate::support;

use kensa_testkit::free_port;
use std::process::{Command, Output};
use support::utf8;

fn kensa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kensa"))
        .args(args)
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

#[test]
fn up_from_nothing_then_again_with_the_same_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("lib/apk/db")).expect("mkdir");
    std::fs::create_dir_all(root.join("etc")).expect("mkdir");
    std::fs::copy(
        kensa_testkit::data_path("fixtures/apk/alpine/installed"),
        root.join("lib/apk/db/installed"),
    )
    .expect("copy");
    std::fs::write(root.join("etc/alpine-release"), "3.4.6\n").expect("write");
    let data = dir.path().join("data");
    let mirror = kensa_testkit::data_dir();
    let listen = format!("127.0.0.1:{}", free_port());
    let args = [
        "up",
        "--data",
        utf8(&data),
        "--mirror",
        utf8(&mirror),
        "--listen",
        &listen,
        "--root",
        utf8(&root),
        "--tls-name",
        "kensa.example.com",
        "--once",
    ];

    // What a scan of the root finds, for comparison.
    let scan = kensa(&[
        "scan",
        "--store",
        utf8(&data.join("kb")),
        "--root",
        utf8(&root),
        "--format",
        "json",
    ]);
    // The store does not exist yet: scan must fail, and `up` builds it.
    assert_eq!(scan.status.code(), Some(2), "{}", text(&scan));

    let first = kensa(&args);
    assert!(first.status.success(), "{}", text(&first));
    let out = String::from_utf8_lossy(&first.stdout);
    assert!(
        out.contains("knowledge base: importing the mirror"),
        "{out}"
    );
    assert!(
        out.contains(&format!("Kensa is up: https://{listen}")),
        "{out}"
    );
    assert!(
        out.contains("admin API token: kst_") && out.contains("(new;"),
        "{out}"
    );
    // The certificate covers the extra name beside loopback, so that agents
    // on other machines can enrol (openssl, an independent X.509 reader).
    let san = Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
        .arg(data.join("server/server.pem"))
        .output()
        .expect("openssl");
    let san = String::from_utf8_lossy(&san.stdout);
    assert!(
        san.contains("DNS:kensa.example.com") && san.contains("DNS:localhost"),
        "{san}"
    );
    let token = std::fs::read_to_string(data.join("server/admin-token")).expect("admin token file");
    assert!(out.contains(token.trim()));
    let password =
        std::fs::read_to_string(data.join("server/admin-password")).expect("admin password file");
    assert!(
        out.contains(&format!(
            "console login:   admin / {} (new;",
            password.trim()
        )),
        "{out}"
    );

    let scan = kensa(&[
        "scan",
        "--store",
        utf8(&data.join("kb")),
        "--root",
        utf8(&root),
        "--format",
        "json",
    ]);
    assert!(scan.status.success(), "{}", text(&scan));
    let report: serde_json::Value = serde_json::from_slice(&scan.stdout).expect("json");
    let expected = report["summary"]["findings"].as_u64().expect("count");
    assert!(expected > 50, "the Alpine 3.4 root has dozens of findings");
    assert!(
        out.contains(&format!("this host: {expected} open findings")),
        "the summary counts what `kensa scan` finds ({expected}): {out}"
    );

    // Again: the knowledge base, database, token and enrolment are reused.
    let second = kensa(&args);
    assert!(second.status.success(), "{}", text(&second));
    let out = String::from_utf8_lossy(&second.stdout);
    assert!(out.contains("(kept;"), "{out}");
    assert!(!out.contains("(new;") && out.contains("(from "), "{out}");
    assert!(
        out.contains(&format!("admin / {} (from ", password.trim())),
        "{out}"
    );
    assert!(
        out.contains("agent: unchanged: the server already holds this inventory"),
        "{out}"
    );
    assert!(
        out.contains(&format!("this host: {expected} open findings")),
        "{out}"
    );
}
