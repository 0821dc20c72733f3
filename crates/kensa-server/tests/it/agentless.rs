//! What the server knows of machines without an agent (issue 15): register
//! rows' OS end of life, and inventories pushed by people for air-gapped
//! hosts. On the real server over loopback, SQLite and PostgreSQL.

use std::time::{Duration, Instant};

use kensa_inventory::Target;
use serde_json::{Value, json};

use crate::support::{Fleet, backends, start};

fn send(f: &Fleet, method: &str, path: &str, token: &str, body: Option<&str>) -> (u16, Value) {
    let req = f
        .client
        .request(method, &format!("{}{path}", f.base))
        .set("Authorization", &format!("Bearer {token}"));
    let res = match body {
        Some(b) => req
            .set("Content-Type", "application/octet-stream")
            .send_string(b),
        None => req.call(),
    };
    let res = match res {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    let status = res.status();
    let text = res.into_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn token(f: &Fleet, role: &str) -> String {
    let body = json!({ "name": format!("agentless {role}"), "role": role }).to_string();
    let (status, b) = send(f, "POST", "/api/v1/api-tokens", &f.admin, Some(&body));
    assert_eq!(status, 201, "{b}");
    b["token"].as_str().expect("token").to_owned()
}

/// The asset's ACTIVE findings' (vulnerability, package) pairs, once the
/// asset has been evaluated.
fn findings_of(f: &Fleet, asset: &str) -> Vec<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, a) = send(f, "GET", &format!("/api/v1/assets/{asset}"), &f.admin, None);
        if a["evaluated_at"].as_i64().is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "asset {asset} never evaluated: {a}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/api/v1/findings?limit=500".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = send(f, "GET", &path, &f.admin, None);
        assert_eq!(status, 200, "{page}");
        for x in page["findings"].as_array().cloned().unwrap_or_default() {
            if x["asset_id"].to_string().trim_matches('"') == asset {
                out.push((
                    x["vulnerability_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    x["package_name"].as_str().unwrap_or_default().to_owned(),
                ));
            }
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    out.sort();
    out.dedup();
    out
}

fn coverage_row(f: &Fleet, name: &str) -> Value {
    let (_, c) = send(f, "GET", "/api/v1/coverage", &f.admin, None);
    c["assets"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["name"] == name).cloned())
        .unwrap_or_else(|| panic!("{name} not in coverage: {c}"))
}

#[test]
fn register_only_assets_get_their_os_end_of_life() {
    for backend in backends() {
        let fleet = start(&backend);
        let csv = "name,os,os_release\nold-centos,centos,6\nold-amzn,amzn,2018.03\nno-os,,\n";
        let (status, body) = send(
            &fleet,
            "POST",
            "/api/v1/assets/import?format=csv",
            &fleet.admin,
            Some(csv),
        );
        assert_eq!(status, 200, "{}: {body}", backend.label());
        let id_of = |line: usize| {
            body["assets"][line]["asset_id"]
                .to_string()
                .trim_matches('"')
                .to_owned()
        };
        for (line, name, eol) in [
            (0, "old-centos", "EOL-centos-6"),
            (1, "old-amzn", "EOL-amazon-linux-2018.03"),
        ] {
            let found = findings_of(&fleet, &id_of(line));
            assert!(
                found.iter().any(|(v, _)| v == eol),
                "{}: {name}: {found:?}",
                backend.label()
            );
            let row = coverage_row(&fleet, name);
            assert_eq!(row["reason"], "UNMANAGED", "{row}");
            assert_eq!(row["eol"]["status"], "ended", "{row}");
        }
        let row = coverage_row(&fleet, "no-os");
        assert_eq!(row["reason"], "UNMANAGED", "{row}");
        assert!(row["eol"].is_null(), "{row}");
    }
}

#[test]
fn a_pushed_inventory_is_ingested_and_evaluated_like_an_agent_report() {
    let root = kensa_testkit::debian_root("bookworm");
    let inv = kensa_inventory::collect(&Target::Root(root)).expect("inventory");
    let doc = serde_json::to_string(&inv).expect("json");
    for backend in backends() {
        let fleet = start(&backend);
        let viewer = token(&fleet, "viewer");
        let analyst = token(&fleet, "analyst");
        let path = "/api/v1/inventories?asset=air-gapped-1";
        let (status, b) = send(&fleet, "POST", path, &viewer, Some(&doc));
        assert_eq!(status, 403, "a viewer cannot push: {b}");
        let (status, b) = send(&fleet, "POST", path, "not-a-token", Some(&doc));
        assert_eq!(status, 401, "{b}");
        let (status, b) = send(
            &fleet,
            "POST",
            path,
            &analyst,
            Some("{\"schema_version\": 1"),
        );
        assert_eq!(status, 400, "{b}");
        assert!(
            b["error"].as_str().unwrap_or_default().contains("line"),
            "{b}"
        );

        let (status, b) = send(&fleet, "POST", path, &analyst, Some(&doc));
        assert_eq!(status, 202, "{b}");
        assert_eq!(b["evaluation_queued"], true);
        let asset = b["asset_id"].as_str().expect("asset id").to_owned();
        let found = findings_of(&fleet, &asset);
        // What `kensa scan --root` finds in the same root.
        let store = kensa_kb::base::KnowledgeBase::open(kensa_testkit::kb::shared()).expect("kb");
        let report =
            kensa_detect::scan(&inv, &store, &kensa_detect::Options::default()).expect("scan");
        let mut expected: Vec<(String, String)> = report
            .findings
            .iter()
            .map(|f| (f.vulnerability_id.clone(), f.package.name.clone()))
            .collect();
        expected.sort();
        expected.dedup();
        assert!(!expected.is_empty());
        assert_eq!(found, expected, "{}", backend.label());

        // The same document again changes nothing; the name finds the asset.
        let (status, b) = send(&fleet, "POST", path, &analyst, Some(&doc));
        assert_eq!(status, 202, "{b}");
        assert_eq!(b["evaluation_queued"], false);
        assert_eq!(b["asset_id"].as_str(), Some(asset.as_str()));
    }
}

/// Server-side agentless targets against the real sshd harness.
mod over_ssh {
    use std::time::{Duration, Instant};

    use kensa_inventory::Target;
    use kensa_testkit::server::{Auth, TestServer};
    use kensa_testkit::sshd::{RootKind, Sshd, User};
    use serde_json::{Value, json};

    use crate::support::backends;

    /// Every answer the test read, to prove none holds the private key.
    #[derive(Default)]
    struct Seen(Vec<String>);

    impl Seen {
        fn call(
            &mut self,
            s: &TestServer,
            method: &str,
            path: &str,
            body: Option<Value>,
        ) -> (u16, Value) {
            let r = s.call(method, path, Auth::Bearer(&s.admin), body);
            self.0.push(r.text());
            (r.status, r.json())
        }

        fn send(&mut self, s: &TestServer, path: &str, csv: &str) -> (u16, Value) {
            let r = s.send(
                "POST",
                path,
                Auth::Bearer(&s.admin),
                "text/csv",
                csv.as_bytes(),
            );
            self.0.push(r.text());
            (r.status, r.json())
        }
    }

    /// The coverage row of `name` once `done` holds (60 s at most).
    fn wait_row(
        seen: &mut Seen,
        s: &TestServer,
        name: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let (_, c) = seen.call(s, "GET", "/api/v1/coverage", None);
            let row = c["assets"]
                .as_array()
                .and_then(|a| a.iter().find(|r| r["name"] == name).cloned())
                .unwrap_or(Value::Null);
            if done(&row) {
                return row;
            }
            assert!(Instant::now() < deadline, "{name}: gave up waiting: {row}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The asset's ACTIVE (vulnerability, package) pairs.
    fn active(seen: &mut Seen, s: &TestServer, asset: i64) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/findings?limit=500&asset_id={asset}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let (status, page) = seen.call(s, "GET", &path, None);
            assert_eq!(status, 200, "{page}");
            for f in page["findings"].as_array().cloned().unwrap_or_default() {
                if f["asset_id"].as_i64() == Some(asset) && f["status"] == "ACTIVE" {
                    out.push((
                        f["vulnerability_id"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        f["package_name"].as_str().unwrap_or_default().to_owned(),
                    ));
                }
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The base64 lines of a private key file (what a leak would show).
    fn key_body(path: &std::path::Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .expect("key")
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() > 20)
            .map(str::to_owned)
            .collect()
    }

    #[test]
    #[ignore = "needs sshd (scripts/setup); scripts/test runs it"]
    fn registered_targets_are_scanned_after_host_key_confirmation() {
        let users = [User::new("srv-bookworm", RootKind::Bookworm)];
        let mut sshd = Sshd::start(&users);
        let root = sshd.dir.join("roots").join(RootKind::Bookworm.name());
        let inv = kensa_inventory::collect(&Target::Root(root)).expect("inventory --root");
        let store = kensa_kb::base::KnowledgeBase::open(kensa_testkit::kb::shared()).expect("kb");
        let report =
            kensa_detect::scan(&inv, &store, &kensa_detect::Options::default()).expect("scan");
        let mut expected: Vec<(String, String)> = report
            .findings
            .iter()
            .map(|f| (f.vulnerability_id.clone(), f.package.name.clone()))
            .collect();
        expected.sort();
        expected.dedup();
        assert!(!expected.is_empty(), "the root has findings");
        let secret = key_body(&sshd.client_key);
        assert!(!secret.is_empty());

        for backend in backends().iter() {
            let label = backend.label();
            let s = TestServer::builder(backend)
                .agentless(kensa_server::agentless::AgentlessConfig {
                    // Only registration, confirmation and "scan now" make
                    // a scan due within the test.
                    interval: Duration::from_secs(3600),
                    concurrency: 3,
                    total_timeout: Duration::from_secs(60),
                    ..Default::default()
                })
                .start();
            let mut seen = Seen::default();
            let key = std::fs::read_to_string(&sshd.client_key).expect("key");
            let wrong = std::fs::read_to_string(&sshd.wrong_key).expect("key");
            for (name, k) in [("scan-key", &key), ("wrong-key", &wrong)] {
                let (status, b) = seen.call(
                    &s,
                    "POST",
                    "/api/v1/ssh-credentials",
                    Some(json!({ "name": name, "private_key": k })),
                );
                assert_eq!(status, 201, "{label}: {b}");
                assert!(
                    b["fingerprint"]
                        .as_str()
                        .is_some_and(|f| f.starts_with("SHA256:")),
                    "{b}"
                );
            }
            // A viewer may not see credentials; garbage is no key.
            let viewer = s.api_token("viewer", "viewer");
            let r = s.call(
                "GET",
                "/api/v1/ssh-credentials",
                Auth::Bearer(&viewer),
                None,
            );
            assert_eq!(r.status, 403, "{}", r.text());
            let (status, b) = seen.call(
                &s,
                "POST",
                "/api/v1/ssh-credentials",
                Some(json!({ "name": "junk", "private_key": "not a key" })),
            );
            assert_eq!(status, 400, "{b}");
            assert!(
                b["error"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("private_key"),
                "{b}"
            );

            // An unknown credential is refused by line; nothing imported.
            let port = sshd.port;
            let bad = format!(
                "name,ssh_host,ssh_port,ssh_user,ssh_credential\nagl-x,127.0.0.1,{port},kagl-srv-bookworm,nope\n"
            );
            let (status, b) = seen.send(&s, "/api/v1/assets/import?format=csv", &bad);
            assert_eq!(status, 400, "{label}: {b}");
            assert!(b.to_string().contains("nope"), "{b}");

            let csv = format!(
                "name,ssh_host,ssh_port,ssh_user,ssh_credential\n\
                 agl-bookworm,127.0.0.1,{port},kagl-srv-bookworm,scan-key\n\
                 agl-wrong-key,127.0.0.1,{port},kagl-srv-bookworm,wrong-key\n"
            );
            let (status, b) = seen.send(&s, "/api/v1/assets/import?format=csv", &csv);
            assert_eq!(status, 200, "{label}: {b}");

            // First contact: the key is offered, nothing is scanned.
            let row = wait_row(&mut seen, &s, "agl-bookworm", |r| {
                r["reason"] == "HOST_KEY_UNCONFIRMED"
            });
            assert_eq!(row["scan"]["method"], "agentless", "{row}");
            assert_eq!(
                row["scan"]["offered_fingerprint"],
                sshd.fingerprint().as_str()
            );
            assert!(row["inventory_at"].is_null(), "{row}");
            let (_, keys) = seen.call(&s, "GET", "/api/v1/ssh-host-keys", None);
            let offered = &keys["host_keys"][0];
            assert_eq!(offered["status"], "pending", "{keys}");
            assert_eq!(
                offered["fingerprint"],
                sshd.fingerprint().as_str(),
                "{keys}"
            );
            // Only the key the host offered can be confirmed.
            let (status, _) = seen.call(
                &s,
                "POST",
                "/api/v1/ssh-host-keys/confirm",
                Some(json!({ "host": "127.0.0.1", "port": port, "fingerprint": "SHA256:forged" })),
            );
            assert_eq!(status, 404);
            let (status, b) = seen.call(
                &s,
                "POST",
                "/api/v1/ssh-host-keys/confirm",
                Some(
                    json!({ "host": "127.0.0.1", "port": port, "fingerprint": sshd.fingerprint() }),
                ),
            );
            assert_eq!(status, 200, "{b}");

            // Confirmed: scanned, ingested and evaluated as an agent report.
            let row = wait_row(&mut seen, &s, "agl-bookworm", |r| {
                // The asset had no inventory: any evaluation is the
                // scanned one's.
                r["scan"]["last_success_at"].is_i64() && r["evaluated_at"].is_i64()
            });
            assert!(row["scan"]["error"].is_null(), "{row}");
            let asset = row["asset_id"].as_i64().expect("id");
            let found = active(&mut seen, &s, asset);
            assert_eq!(
                found, expected,
                "{label}: findings after the scheduled scan"
            );

            // The wrong key: authentication failed, shown in coverage.
            let row = wait_row(&mut seen, &s, "agl-wrong-key", |r| {
                r["reason"] == "AUTHENTICATION_FAILED"
            });
            assert_eq!(row["status"], "INACTIVE", "{row}");
            assert!(row["inventory_at"].is_null(), "{row}");

            // The host is reinstalled (a new key): refused, shown, and the
            // findings of the last good scan stay.
            sshd = sshd.change_host_key(&users);
            let (status, b) = seen.call(&s, "POST", &format!("/api/v1/assets/{asset}/scan"), None);
            assert_eq!(status, 202, "{b}");
            let row = wait_row(&mut seen, &s, "agl-bookworm", |r| {
                r["reason"] == "HOST_KEY_CHANGED"
            });
            assert_eq!(
                row["scan"]["offered_fingerprint"],
                sshd.fingerprint().as_str(),
                "{row}"
            );
            assert!(
                row["scan"]["error_detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("refused"),
                "{row}"
            );
            assert_eq!(
                active(&mut seen, &s, asset),
                expected,
                "{label}: findings kept"
            );
            let (_, d) = seen.call(&s, "GET", &format!("/api/v1/assets/{asset}"), None);
            assert_eq!(d["coverage"]["reason"], "HOST_KEY_CHANGED", "{d}");

            // Every answer read: lists, assets, audit; no key material.
            for path in [
                "/api/v1/ssh-credentials",
                "/api/v1/agentless-targets",
                "/api/v1/assets",
                "/api/v1/audit",
            ] {
                let (status, b) = seen.call(&s, "GET", path, None);
                assert_eq!(status, 200, "{path}: {b}");
            }
            let (_, creds) = seen.call(&s, "GET", "/api/v1/ssh-credentials", None);
            let used: Vec<&Value> = creds["credentials"]
                .as_array()
                .expect("list")
                .iter()
                .filter(|c| c["name"] == "scan-key")
                .collect();
            assert_eq!(used[0]["used_by"], json!(["agl-bookworm"]), "{creds}");
            for text in &seen.0 {
                for line in &secret {
                    assert!(
                        !text.contains(line.as_str()),
                        "{label}: the key leaked: {text}"
                    );
                }
                assert!(!text.contains("PRIVATE KEY"), "{label}: {text}");
            }

            // At rest: the database holds no key in the clear, the
            // key-encryption key is the owner's only, no opened key is
            // left behind.
            use std::os::unix::fs::PermissionsExt;
            let dir = s.server_dir();
            let kek = std::fs::metadata(dir.join("ssh-credentials.kek")).expect("kek");
            assert_eq!(kek.permissions().mode() & 0o777, 0o600);
            if s.database.is_none() {
                let mut all = Vec::new();
                for f in ["kensa.db", "kensa.db-wal"] {
                    all.extend(std::fs::read(dir.join(f)).unwrap_or_default());
                }
                assert!(all.len() > 4096);
                let hay = String::from_utf8_lossy(&all);
                for line in &secret {
                    assert!(
                        !hay.contains(line.as_str()),
                        "plaintext key in the database"
                    );
                }
            }
            let left: Vec<_> = std::fs::read_dir(dir.join("agentless"))
                .expect("scratch")
                .collect();
            assert!(left.is_empty(), "{label}: scan files left: {left:?}");
        }
    }

    /// The target rows of the API, by asset name.
    fn targets(seen: &mut Seen, s: &TestServer) -> Vec<Value> {
        let (status, t) = seen.call(s, "GET", "/api/v1/agentless-targets", None);
        assert_eq!(status, 200, "{t}");
        t["targets"].as_array().cloned().unwrap_or_default()
    }

    fn credential(seen: &mut Seen, s: &TestServer, key: &std::path::Path) {
        let key = std::fs::read_to_string(key).expect("key");
        let (status, b) = seen.call(
            s,
            "POST",
            "/api/v1/ssh-credentials",
            Some(json!({ "name": "scan-key", "private_key": key })),
        );
        assert_eq!(status, 201, "{b}");
    }

    fn confirm(seen: &mut Seen, s: &TestServer, port: u16, fingerprint: &str) {
        let (status, b) = seen.call(
            s,
            "POST",
            "/api/v1/ssh-host-keys/confirm",
            Some(json!({ "host": "127.0.0.1", "port": port, "fingerprint": fingerprint })),
        );
        assert_eq!(status, 200, "{b}");
    }

    /// A target behind a bastion (register column `ssh_jump`): the
    /// bastion is a second real sshd with its own host key, which is
    /// offered and confirmed before anything goes through it; then the
    /// target's key, learnt through the bastion; then the scan, whose
    /// packages are the root's.
    #[test]
    #[ignore = "needs sshd (scripts/setup); scripts/test runs it"]
    fn a_target_behind_a_bastion_is_scanned_through_it_after_both_keys_are_confirmed() {
        let target_user = User::new("srv-behind", RootKind::Bookworm);
        let jump_user = User::new("srv-jump", RootKind::Bookworm);
        let inner = Sshd::start(std::slice::from_ref(&target_user));
        let bastion = Sshd::start(std::slice::from_ref(&jump_user));
        // One credential for both, as with a bastion sharing the fleet's key.
        bastion.authorize(&jump_user.name, &inner.client_key);
        assert_ne!(inner.fingerprint(), bastion.fingerprint());
        let root = inner.dir.join("roots").join(RootKind::Bookworm.name());
        let inv = kensa_inventory::collect(&Target::Root(root)).expect("inventory --root");
        let store = kensa_kb::base::KnowledgeBase::open(kensa_testkit::kb::shared()).expect("kb");
        let report =
            kensa_detect::scan(&inv, &store, &kensa_detect::Options::default()).expect("scan");
        let mut expected: Vec<(String, String)> = report
            .findings
            .iter()
            .map(|f| (f.vulnerability_id.clone(), f.package.name.clone()))
            .collect();
        expected.sort();
        expected.dedup();
        assert!(!expected.is_empty(), "the root has findings");

        for backend in backends().iter() {
            let label = backend.label();
            let s = TestServer::builder(backend)
                .agentless(kensa_server::agentless::AgentlessConfig {
                    interval: Duration::from_secs(3600),
                    concurrency: 2,
                    total_timeout: Duration::from_secs(60),
                    ..Default::default()
                })
                .start();
            let mut seen = Seen::default();
            credential(&mut seen, &s, &inner.client_key);
            // A bastion that is no [user@]host[:port] names its column.
            let bad = format!(
                "name,ssh_host,ssh_port,ssh_user,ssh_credential,ssh_jump\n\
                 agl-behind,127.0.0.1,{},{},scan-key,-oProxyCommand=x\n",
                inner.port, target_user.name
            );
            let (status, b) = seen.send(&s, "/api/v1/assets/import?format=csv", &bad);
            assert_eq!(status, 400, "{label}: {b}");
            assert!(b.to_string().contains("ssh_jump"), "{b}");
            let csv = format!(
                "name,ssh_host,ssh_port,ssh_user,ssh_credential,ssh_jump\n\
                 agl-behind,127.0.0.1,{},{},scan-key,{}@127.0.0.1:{}\n",
                inner.port, target_user.name, jump_user.name, bastion.port
            );
            let (status, b) = seen.send(&s, "/api/v1/assets/import?format=csv", &csv);
            assert_eq!(status, 200, "{label}: {b}");
            let t = targets(&mut seen, &s);
            assert_eq!(
                t[0]["jump"],
                format!("{}@127.0.0.1:{}", jump_user.name, bastion.port),
                "{t:?}"
            );

            // The bastion first: its key is offered, nothing goes through.
            let row = wait_row(&mut seen, &s, "agl-behind", |r| {
                r["reason"] == "HOST_KEY_UNCONFIRMED"
            });
            assert_eq!(
                row["scan"]["offered_fingerprint"],
                bastion.fingerprint().as_str(),
                "{label}: {row}"
            );
            assert!(
                row["scan"]["error_detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("bastion"),
                "{row}"
            );
            confirm(&mut seen, &s, bastion.port, &bastion.fingerprint());
            // Then the target's, learnt through the bastion.
            let row = wait_row(&mut seen, &s, "agl-behind", |r| {
                r["reason"] == "HOST_KEY_UNCONFIRMED"
                    && r["scan"]["offered_fingerprint"] == inner.fingerprint().as_str()
            });
            assert!(row["inventory_at"].is_null(), "{row}");
            confirm(&mut seen, &s, inner.port, &inner.fingerprint());
            let row = wait_row(&mut seen, &s, "agl-behind", |r| {
                r["scan"]["last_success_at"].is_i64() && r["evaluated_at"].is_i64()
            });
            assert!(row["scan"]["error"].is_null(), "{row}");
            let asset = row["asset_id"].as_i64().expect("id");
            assert_eq!(
                active(&mut seen, &s, asset),
                expected,
                "{label}: findings of the scan through the bastion"
            );
            // The bastion's log shows the jump user's logins (`ssh -W`
            // opens no session: only the forwarding).
            let log = bastion.log();
            assert!(
                log.contains(&format!("Accepted publickey for {}", jump_user.name)),
                "{log}"
            );
        }
    }

    /// A short interval: after its first scan each target is scanned again
    /// one interval plus its own jitter (up to a tenth of the interval)
    /// later, never before, and targets due together spread out.
    #[test]
    #[ignore = "needs sshd (scripts/setup); scripts/test runs it"]
    fn targets_are_rescanned_after_the_interval_with_jitter() {
        let users: Vec<User> = (0..3)
            .map(|i| User::new(&format!("srv-timed{i}"), RootKind::Alpine))
            .collect();
        let sshd = Sshd::start(&users);
        let interval = Duration::from_secs(20);
        let ms = |d: Duration| d.as_millis() as i64;
        for backend in backends().iter() {
            let label = backend.label();
            let s = TestServer::builder(backend)
                .agentless(kensa_server::agentless::AgentlessConfig {
                    interval,
                    concurrency: 3,
                    total_timeout: Duration::from_secs(30),
                    ..Default::default()
                })
                .start();
            let mut seen = Seen::default();
            credential(&mut seen, &s, &sshd.client_key);
            let mut csv = "name,ssh_host,ssh_port,ssh_user,ssh_credential\n".to_owned();
            for (i, u) in users.iter().enumerate() {
                csv.push_str(&format!(
                    "agl-timed{i},127.0.0.1,{},{},scan-key\n",
                    sshd.port, u.name
                ));
            }
            let (status, b) = seen.send(&s, "/api/v1/assets/import?format=csv", &csv);
            assert_eq!(status, 200, "{label}: {b}");
            wait_row(&mut seen, &s, "agl-timed0", |r| {
                r["reason"] == "HOST_KEY_UNCONFIRMED"
            });
            // Confirming the key makes the three due at once: one pass of
            // the scheduler queues them together.
            confirm(&mut seen, &s, sshd.port, &sshd.fingerprint());
            let first: Vec<Value> = (0..3)
                .map(|i| {
                    wait_row(&mut seen, &s, &format!("agl-timed{i}"), |r| {
                        r["scan"]["last_success_at"].is_i64()
                    })
                })
                .collect();
            let t = targets(&mut seen, &s);
            let mut next = Vec::new();
            for row in &first {
                let id = row["asset_id"].as_i64().expect("id");
                let target = t
                    .iter()
                    .find(|x| x["asset_id"].as_i64() == Some(id))
                    .expect("target");
                let attempt = target["last_attempt_at"].as_i64().expect("attempted");
                let due = target["next_scan_at"].as_i64().expect("scheduled");
                // Queued just before the scan: due one interval plus up to
                // a tenth of it after.
                let wait = due - attempt;
                assert!(
                    wait > ms(interval) - 5_000 && wait <= ms(interval) + ms(interval) / 10,
                    "{label}: next scan {wait} ms after the last"
                );
                next.push((id, due));
            }
            let dues: Vec<i64> = next.iter().map(|(_, d)| *d).collect();
            let spread = dues.iter().max().expect("max") - dues.iter().min().expect("min");
            assert!(spread > 0, "{label}: no jitter: {dues:?}");
            assert!(spread <= ms(interval) / 10, "{label}: {dues:?}");
            // The second scan of each: not before its time, and soon after
            // (the scheduler looks every 2 s; the scan itself takes a
            // moment on this shared machine).
            for (id, due) in next {
                let name = first
                    .iter()
                    .find(|r| r["asset_id"].as_i64() == Some(id))
                    .and_then(|r| r["name"].as_str())
                    .expect("name")
                    .to_owned();
                let before = first
                    .iter()
                    .find(|r| r["asset_id"].as_i64() == Some(id))
                    .and_then(|r| r["scan"]["last_attempt_at"].as_i64())
                    .expect("attempt");
                let row = wait_row(&mut seen, &s, &name, |r| {
                    r["scan"]["last_attempt_at"]
                        .as_i64()
                        .is_some_and(|a| a > before)
                });
                let again = row["scan"]["last_attempt_at"].as_i64().expect("attempt");
                assert!(
                    again >= due,
                    "{label}: {name} rescanned {} ms early",
                    due - again
                );
                assert!(
                    again <= due + 20_000,
                    "{label}: {name} rescanned {} ms late",
                    again - due
                );
                assert!(row["scan"]["error"].is_null(), "{row}");
            }
        }
    }
}
