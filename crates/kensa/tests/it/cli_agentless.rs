//! `kensa scan --ssh` and `kensa inventory --ssh` as the docs show them,
//! against a real sshd on loopback (kensa_testkit::sshd), and `kensa
//! inventory push` against a real server.

use std::process::{Command, Output};

use kensa_testkit::sshd::{RootKind, Sshd, User};
use serde_json::Value;

use crate::support::{kb, utf8};

fn kensa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kensa"))
        .args(args)
        .output()
        .expect("kensa runs")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "status {}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// (vulnerability, package) of a JSON scan report.
fn findings(report: &str) -> Vec<(String, String)> {
    let v: Value = serde_json::from_str(report).expect("a JSON report");
    let mut out: Vec<(String, String)> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["vulnerability_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                f["package"]["name"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
#[ignore = "needs sshd (scripts/setup); scripts/test runs it"]
fn scan_over_ssh_finds_what_scan_of_the_root_finds() {
    let users = [
        User::new("cli-bookworm", RootKind::Bookworm),
        User::new("cli-bullseye", RootKind::Bullseye),
    ];
    let sshd = Sshd::start(&users);
    let kh = sshd.dir.join("cli_known_hosts");
    let key = utf8(&sshd.client_key).to_owned();
    let khs = utf8(&kh).to_owned();
    for u in &users {
        let target = format!("{}@127.0.0.1:{}", u.name, sshd.port);
        let base = ["--ssh", &target, "--identity", &key, "--known-hosts", &khs];

        // First contact with the host (the key is the host's, whichever
        // user): refused, and the message shows the key to check.
        if u.name == users[0].name {
            let o = kensa(&[&["inventory"][..], &base].concat());
            assert_eq!(o.status.code(), Some(2));
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.contains("host key not confirmed"), "{err}");
            assert!(err.contains(&sshd.fingerprint()), "{err}");
        }

        let fp = sshd.fingerprint();
        let mut args = vec![
            "scan",
            "--store",
            utf8(kb()),
            "--format",
            "json",
            "--today",
            "2099-01-01",
        ];
        args.extend_from_slice(&base);
        args.extend_from_slice(&["--trust-host-key", &fp]);
        let over_ssh = ok(&kensa(&args));
        let root = sshd.dir.join("roots").join(u.root.name());
        let by_root = ok(&kensa(&[
            "scan",
            "--store",
            utf8(kb()),
            "--format",
            "json",
            "--today",
            "2099-01-01",
            "--root",
            utf8(&root),
        ]));
        let (a, b) = (findings(&over_ssh), findings(&by_root));
        assert!(!b.is_empty(), "{}: the root has findings", u.name);
        assert_eq!(a, b, "{}", u.name);
    }
}

#[test]
fn inventory_push_sends_a_saved_inventory_to_the_server() {
    let dir = tempfile::tempdir().expect("dir");
    let root = kensa_testkit::debian_root("bookworm");
    let inv = ok(&kensa(&["inventory", "--root", utf8(&root)]));
    let file = dir.path().join("host.json");
    std::fs::write(&file, &inv).expect("write");
    let server = kensa_server::start(kensa_server::Config {
        data_dir: dir.path().join("server"),
        listen: "127.0.0.1:0".parse().expect("addr"),
        database: None,
        kb_dir: kb().to_owned(),
        tls_names: vec!["127.0.0.1".into()],
        workers: 1,
        exports: Default::default(),
        agentless: Default::default(),
        capacity: Default::default(),
        agent_dist: None,
        notify: Default::default(),
        observe: Default::default(),
        clock: Default::default(),
    })
    .expect("server");
    let url = format!("https://127.0.0.1:{}", server.addr.port());
    let token = server.admin_token.clone().expect("token");
    let ca = utf8(&server.ca_cert).to_owned();
    let push = |token: &str, file: &str| {
        kensa(&[
            "inventory",
            "push",
            "--server",
            &url,
            "--ca",
            &ca,
            "--token",
            token,
            "--asset",
            "vault-1",
            file,
        ])
    };
    let o = push(&token, utf8(&file));
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("evaluation queued"));
    // A bad token: exit 2 with the server's reason.
    let o = push("kat_wrong", utf8(&file));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("401"));
    // Not an inventory: refused before anything is sent, naming the file.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"schema_version\": 1,").expect("write");
    let o = push(&token, utf8(&bad));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad.json"));
    server.stop();
}
