//! `kensa agent enroll` and `kensa agent run` as a user types them, against
//! a real `kensa server` on loopback:
//!
//! - after `enroll --server … --ca FILE --token …`, `run` needs neither
//!   flag (the systemd unit's `ExecStart` is `kensa agent run`): the server
//!   URL is in `agent.json` and the CA is copied to `<state>/ca.pem`, so
//!   the file given at enrolment may even be gone;
//! - `enroll --root DIR` enrols that root under its own identity (its
//!   hostname and machine id), and `run` then reports that root;
//! - `run --once` prints a sentence, not a Rust debug value;
//! - one reusable enrolment token enrols three roots (`--root`) as three
//!   assets carrying the token's defaults, and once revoked enrols no
//!   fourth.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::json;

use crate::support::server::{KENSA, Server};

fn text(o: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// An Alpine 3.4 root (the data folder's apk database) with its own
/// hostname and machine id.
pub fn alpine_root(root: &Path, hostname: &str, machine_id: &str) {
    std::fs::create_dir_all(root.join("lib/apk/db")).expect("mkdir");
    std::fs::create_dir_all(root.join("etc")).expect("mkdir");
    std::fs::write(root.join("etc/alpine-release"), "3.4.6\n").expect("write");
    std::fs::write(root.join("etc/hostname"), format!("{hostname}\n")).expect("write");
    std::fs::write(root.join("etc/machine-id"), format!("{machine_id}\n")).expect("write");
    std::fs::copy(
        kensa_testkit::data_path("fixtures/apk/alpine/installed"),
        root.join("lib/apk/db/installed"),
    )
    .expect("copy the apk database");
}

#[test]
fn enrolled_agent_runs_with_no_flags_for_its_own_root() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), None);
    let root = dir.path().join("root");
    alpine_root(&root, "web-7", "5f0c1e2d3b4a59687766554433221100");
    // The CA where the unit's comment puts it; removed after enrolment,
    // so that only the agent's own copy can make `run` work.
    let etc = dir.path().join("etc-kensa");
    std::fs::create_dir_all(&etc).expect("mkdir");
    std::fs::copy(server.ca(), etc.join("ca.pem")).expect("copy CA");
    let state = dir.path().join("state");

    let o = Command::new(KENSA)
        .args(["agent", "enroll", "--server", &server.base(), "--ca"])
        .arg(etc.join("ca.pem"))
        .arg("--state")
        .arg(&state)
        .arg("--root")
        .arg(&root)
        .args(["--token", &server.enrollment_token(&json!({}))])
        .output()
        .expect("kensa agent enroll runs");
    assert!(o.status.success(), "enroll: {}", text(&o));
    std::fs::remove_dir_all(&etc).expect("remove the CA given to enroll");
    assert_eq!(
        std::fs::read(state.join("ca.pem")).expect("<state>/ca.pem"),
        std::fs::read(server.ca()).expect("server CA"),
        "enroll keeps a copy of the CA"
    );
    let creds: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.join("agent.json")).expect("agent.json"))
            .expect("agent.json is JSON");
    let asset_id = creds["asset_id"].as_str().expect("asset_id").to_owned();

    // No --server, --ca or --root: all from the enrolment.
    let run = || {
        Command::new(KENSA)
            .args(["agent", "run", "--once", "--state"])
            .arg(&state)
            .output()
            .expect("kensa agent run runs")
    };
    let o = run();
    assert!(o.status.success(), "first run: {}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "delivered 1 inventory",
        "{}",
        text(&o)
    );
    let asset = server.evaluated(&asset_id, Duration::from_secs(60));
    assert_eq!(asset["hostname"], "web-7", "the root's identity: {asset}");
    assert_eq!(asset["machine_id"], "5f0c1e2d3b4a59687766554433221100");
    assert_eq!(asset["os_id"], "alpine", "the root was reported: {asset}");
    let o = run();
    assert!(o.status.success(), "second run: {}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "unchanged: the server already holds this inventory"
    );
}

#[test]
fn two_roots_enrol_as_two_assets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), None);
    let mut assets = Vec::new();
    for (i, host) in ["db-1", "db-2"].iter().enumerate() {
        let root = dir.path().join(host);
        alpine_root(&root, host, &format!("{i:032x}"));
        let state = dir.path().join(format!("state-{host}"));
        let o = Command::new(KENSA)
            .args(["agent", "enroll", "--server", &server.base(), "--ca"])
            .arg(server.ca())
            .arg("--state")
            .arg(&state)
            .arg("--root")
            .arg(&root)
            .args(["--token", &server.enrollment_token(&json!({}))])
            .output()
            .expect("kensa agent enroll runs");
        assert!(o.status.success(), "enroll {host}: {}", text(&o));
        let creds: serde_json::Value =
            serde_json::from_slice(&std::fs::read(state.join("agent.json")).expect("agent.json"))
                .expect("JSON");
        let id = creds["asset_id"].as_str().expect("asset_id").to_owned();
        let a = server.asset(&id);
        assert_eq!(a["hostname"], *host, "{a}");
        assert_eq!(a["machine_id"], format!("{i:032x}"), "{a}");
        assets.push(id);
    }
    assert_ne!(assets[0], assets[1], "one asset per root");
}

#[test]
fn run_before_enrolment_says_what_to_do() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = Command::new(KENSA)
        .args(["agent", "run", "--once", "--state"])
        .arg(dir.path().join("state"))
        .output()
        .expect("kensa agent run runs");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("not enrolled") && err.contains("kensa agent enroll"),
        "{err}"
    );
}

/// Issue 14's "prove it", as docs/agent-install.md tells it: one
/// reusable token (created through the API with defaults) enrols three
/// mounted roots with `kensa agent enroll --root`, each under its own
/// identity and carrying the defaults; after `DELETE
/// /api/v1/enrollment-tokens/{id}` a fourth enrolment is refused with the
/// reason, and the three agents keep reporting.
#[test]
fn one_reusable_token_enrols_three_roots_until_revoked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), None);
    let (code, created) = server.api(
        "POST",
        "/api/v1/enrollment-tokens",
        Some(&json!({
            "name": "web ASG", "ttl_hours": 8760, "max_uses": 5000,
            "defaults": {"team": "web", "environment": "prod", "owner": "ops@example.com", "tags": ["asg"]}
        })),
    );
    assert_eq!(code, 201, "{created}");
    let token = created["token"].as_str().expect("token").to_owned();
    let id = created["id"].as_str().expect("id").to_owned();
    let enroll = |host: &str, machine_id: &str| -> (Output, std::path::PathBuf) {
        let root = dir.path().join(host);
        alpine_root(&root, host, machine_id);
        let state = dir.path().join(format!("state-{host}"));
        let o = Command::new(KENSA)
            .args(["agent", "enroll", "--server", &server.base(), "--ca"])
            .arg(server.ca())
            .arg("--state")
            .arg(&state)
            .arg("--root")
            .arg(&root)
            .args(["--token", &token])
            .output()
            .expect("kensa agent enroll runs");
        (o, state)
    };
    let mut assets = Vec::new();
    let mut states = Vec::new();
    for i in 0..3 {
        let host = format!("asg-{i}");
        let (o, state) = enroll(&host, &format!("a5a{i:029x}"));
        assert!(o.status.success(), "enroll {host}: {}", text(&o));
        let creds: serde_json::Value =
            serde_json::from_slice(&std::fs::read(state.join("agent.json")).expect("agent.json"))
                .expect("JSON");
        let asset_id = creds["asset_id"].as_str().expect("asset_id").to_owned();
        let a = server.asset(&asset_id);
        assert_eq!(a["hostname"], host.as_str(), "{a}");
        assert_eq!(a["machine_id"], format!("a5a{i:029x}"), "{a}");
        let m = &a["management"];
        assert_eq!(
            (&m["team"], &m["environment"], &m["owner"], &m["tags"]),
            (
                &json!("web"),
                &json!("prod"),
                &json!("ops@example.com"),
                &json!(["asg"])
            ),
            "{a}"
        );
        assets.push(asset_id);
        states.push(state);
    }
    let mut distinct = assets.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        3,
        "three identities, three assets: {assets:?}"
    );

    let (code, b) = server.api("DELETE", &format!("/api/v1/enrollment-tokens/{id}"), None);
    assert_eq!(code, 204, "{b}");
    let (o, state) = enroll("asg-3", &format!("a5a{:029x}", 3));
    assert_eq!(o.status.code(), Some(2), "refused: {}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("401") && err.contains("revoked"), "{err}");
    assert!(
        !state.join("agent.json").exists(),
        "no credentials after a refusal"
    );
    let (_, list) = server.api("GET", "/api/v1/assets", None);
    assert_eq!(list["assets"].as_array().map(Vec::len), Some(3), "{list}");

    // The agents it enrolled keep reporting.
    for state in &states {
        let o = Command::new(KENSA)
            .args(["agent", "run", "--once", "--state"])
            .arg(state)
            .output()
            .expect("kensa agent run runs");
        assert!(o.status.success(), "run after revocation: {}", text(&o));
    }
}

/// `kensa agent status` as `install.sh` uses it, and enrolment after a
/// revocation: a live credential is 0 with the agent and asset named; once
/// an admin revokes the agent it is 4 ("refused", the server's 401), and
/// `run` is refused too; the old single-use token cannot enrol it again,
/// a new one can, from the same state directory: the same asset, a new
/// agent, live again (0). Then the takeover rule of issue 13 holds again:
/// another host with the same machine id is refused (409). Not enrolled
/// is 5; a server that cannot be reached is 3.
#[test]
fn status_tells_a_revoked_agent_which_enrols_again_only_with_a_new_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), None);
    let root = dir.path().join("root");
    let machine_id = "5eed5eed5eed5eed5eed5eed5eed5eed";
    alpine_root(&root, "revoked-1", machine_id);
    let state = dir.path().join("state");
    let kensa = |args: &[&str], state: &Path| -> Output {
        Command::new(KENSA)
            .args(["agent"])
            .args(args)
            .arg("--state")
            .arg(state)
            .output()
            .expect("kensa agent runs")
    };
    let enroll = |token: &str, root: &Path, state: &Path| -> Output {
        Command::new(KENSA)
            .args(["agent", "enroll", "--server", &server.base(), "--ca"])
            .arg(server.ca())
            .arg("--state")
            .arg(state)
            .arg("--root")
            .arg(root)
            .args(["--token", token])
            .output()
            .expect("kensa agent enroll runs")
    };

    let o = kensa(&["status"], &state);
    assert_eq!(o.status.code(), Some(5), "not enrolled: {}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not enrolled"),
        "{}",
        text(&o)
    );

    let first_token = server.enrollment_token(&json!({}));
    let o = enroll(&first_token, &root, &state);
    assert!(o.status.success(), "enroll: {}", text(&o));
    let creds = |state: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(state.join("agent.json")).expect("agent.json"))
            .expect("JSON")
    };
    let first = creds(&state);
    let (agent_id, asset_id) = (
        first["agent_id"].as_str().expect("agent_id").to_owned(),
        first["asset_id"].as_str().expect("asset_id").to_owned(),
    );
    let o = kensa(&["run", "--once"], &state);
    assert!(o.status.success(), "run: {}", text(&o));
    server.evaluated(&asset_id, Duration::from_secs(60));
    let reports = |server: &Server| {
        let (_, list) = server.api("GET", "/api/v1/agents", None);
        list["agents"]
            .as_array()
            .expect("agents")
            .iter()
            .map(|a| (a["id"].to_string(), a["last_report"].clone()))
            .collect::<Vec<_>>()
    };
    let before = reports(&server);

    let o = kensa(&["status"], &state);
    assert_eq!(o.status.code(), Some(0), "live: {}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!(
            "enrolled: agent {agent_id} for asset {asset_id}; {} accepts its credential",
            server.base()
        )
    );
    assert_eq!(reports(&server), before, "status reports nothing");

    // An admin revokes it.
    let (code, b) = server.api("DELETE", &format!("/api/v1/agents/{agent_id}"), None);
    assert_eq!(code, 204, "{b}");
    let o = kensa(&["status"], &state);
    assert_eq!(o.status.code(), Some(4), "revoked: {}", text(&o));
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.starts_with("refused:")
            && said.contains("401")
            && said.contains("new enrolment token"),
        "{said}"
    );
    let o = kensa(&["run", "--once"], &state);
    assert!(
        !o.status.success(),
        "a revoked agent cannot report: {}",
        text(&o)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("401"),
        "{}",
        text(&o)
    );

    // The old token was single-use: refused, and the state stays as it was.
    let o = enroll(&first_token, &root, &state);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("401"),
        "{}",
        text(&o)
    );
    assert_eq!(creds(&state), first, "a refused enrolment changes nothing");

    // A new token: the same asset, a new agent, live.
    let o = enroll(&server.enrollment_token(&json!({})), &root, &state);
    assert!(o.status.success(), "enrol again: {}", text(&o));
    let second = creds(&state);
    assert_eq!(second["asset_id"], asset_id.as_str(), "{second}");
    assert_ne!(second["agent_id"], agent_id.as_str(), "{second}");
    let o = kensa(&["status"], &state);
    assert_eq!(o.status.code(), Some(0), "live again: {}", text(&o));
    let o = kensa(&["run", "--once"], &state);
    assert!(o.status.success(), "reports again: {}", text(&o));
    let asset = server.asset(&asset_id);
    assert_eq!(asset["coverage"]["status"], "ACTIVE", "{asset}");

    // Issue 13's rule holds again: the asset has a live agent, so another
    // host claiming its machine id is refused, and its token left unused.
    let other_root = dir.path().join("impostor");
    alpine_root(&other_root, "impostor", machine_id);
    let other_state = dir.path().join("state-impostor");
    let o = enroll(
        &server.enrollment_token(&json!({})),
        &other_root,
        &other_state,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("409") && err.contains("already has an agent"),
        "{err}"
    );
    assert!(!other_state.join("agent.json").exists());
    let o = kensa(&["status"], &state);
    assert_eq!(o.status.code(), Some(0), "still live: {}", text(&o));

    // A server that cannot be reached: 3, "cannot tell", not "revoked".
    let o = Command::new(KENSA)
        .args([
            "agent",
            "status",
            "--server",
            "https://127.0.0.1:1",
            "--state",
        ])
        .arg(&state)
        .output()
        .expect("kensa agent status runs");
    assert_eq!(o.status.code(), Some(3), "unreachable: {}", text(&o));
}
