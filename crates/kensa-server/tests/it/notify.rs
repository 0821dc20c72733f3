//! Notifications end to end, on both backends: real evaluations (an agent
//! reporting the real Alpine 3.4 root) produce events; real receivers on
//! loopback get the messages: a Python webhook receiver that checks the
//! HMAC signature with the documented verifier, a UDP syslog listener,
//! and aiosmtpd with STARTTLS and authentication, whose messages are
//! parsed with Python's `email` package.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kensa_server::notify::NotifyConfig;
use kensa_testkit::roots::AlpineRoot;
use kensa_testkit::server::{Auth, TestServer};
use serde_json::{Value, json};

use crate::support::backends;

const SECRET: &str = "a-webhook-secret-of-some-length";

/// A receiver process on loopback and what it recorded.
struct Receiver {
    child: Child,
    port: u16,
    record: PathBuf,
    mode: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/support")
        .join(name)
}

impl Receiver {
    fn spawn(mut cmd: Command, dir: tempfile::TempDir) -> Receiver {
        let record = dir.path().join("record.jsonl");
        let mode = dir.path().join("mode");
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the receiver's port");
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{cmd:?} printed {line:?}, not its port"));
        Receiver {
            child,
            port,
            record,
            mode,
            _dir: dir,
        }
    }

    /// The webhook receiver; `redirect` is where its `redirect` mode points.
    fn webhook(redirect: &str) -> Receiver {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(script("webhook_receiver.py"))
            .arg(SECRET)
            .arg(dir.path().join("record.jsonl"))
            .arg(dir.path().join("mode"))
            .arg(redirect);
        Receiver::spawn(cmd, dir)
    }

    /// aiosmtpd with the test server's own certificate for 127.0.0.1.
    fn smtp(server_dir: &Path, tls: bool) -> Receiver {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cmd = Command::new(kensa_testkit::cache_dir().join("venv/bin/python"));
        cmd.arg(script("smtp_receiver.py"))
            .arg(dir.path().join("record.jsonl"))
            .arg("smtp-password")
            .arg(server_dir.join("server.pem"))
            .arg(server_dir.join("server.key"));
        if !tls {
            cmd.arg("--no-tls");
        }
        Receiver::spawn(cmd, dir)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn set_mode(&self, mode: &str) {
        std::fs::write(&self.mode, mode).expect("mode");
    }

    fn records(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    /// Waits (`secs` at most) for `n` records, then a little more to catch
    /// any extra one.
    fn wait_for(&self, n: usize, secs: u64) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while self.records().len() < n {
            assert!(
                Instant::now() < deadline,
                "{} of {n} deliveries in {secs} s: {:?}",
                self.records().len(),
                self.records()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(1500));
        self.records()
    }
}

/// Pacing for tests: a short collection window, quick retries.
fn fast() -> NotifyConfig {
    let mut c = NotifyConfig::default();
    c.pacing.window = Duration::from_millis(300);
    c.pacing.max_window = Duration::from_secs(5);
    c.pacing.backoff = Duration::from_millis(100);
    c.pacing.max_backoff = Duration::from_millis(400);
    c.pacing.max_attempts = 3;
    c.timeout = Duration::from_secs(1);
    c.poll = Duration::from_millis(100);
    c.sweep_every = Duration::from_millis(200);
    c.paused = false;
    c
}

fn post(srv: &TestServer, path: &str, body: Value) -> Value {
    let r = srv.call("POST", path, Auth::Bearer(&srv.admin), Some(body));
    assert!(
        r.status == 201 || r.status == 200,
        "{path}: {} {}",
        r.status,
        r.text()
    );
    r.json()
}

fn channel(srv: &TestServer, name: &str, kind: &str, config: Value, secret: Option<&str>) -> i64 {
    let mut body = json!({ "name": name, "kind": kind, "config": config });
    if let Some(s) = secret {
        body["secret"] = json!(s);
    }
    let c = post(srv, "/api/v1/notifications/channels", body);
    c["id"].as_i64().expect("channel id")
}

fn rule(srv: &TestServer, name: &str, types: &[&str], filter: &str, channel: i64) -> i64 {
    let r = post(
        srv,
        "/api/v1/notifications/rules",
        json!({ "name": name, "event_types": types, "filter": filter, "channel_id": channel }),
    );
    r["id"].as_i64().expect("rule id")
}

/// Enrols an agent for the Alpine root and has it report once; the asset
/// id once evaluated.
fn report_alpine(srv: &TestServer, host: &str, n: u32) -> i64 {
    let dir = srv.data_dir().join(host);
    let root = AlpineRoot::new()
        .hostname(host)
        .machine_id(&format!("{n:032x}"))
        .write(&dir.join("root"));
    let cfg = srv.agent_config(&root, &dir.join("state"));
    let creds = kensa_agent::enroll(&cfg, &srv.enrollment_token()).expect("enroll");
    let since = kensa_testkit::now_ms();
    kensa_agent::run_once(&cfg).expect("report");
    let id: i64 = creds.asset_id.parse().expect("asset id");
    srv.wait_evaluated(id, since);
    id
}

/// The asset's findings the filter selects, from the query API.
fn count(srv: &TestServer, asset: i64, filter: &str) -> u64 {
    let q = format!("asset_id={asset} status=ACTIVE {filter}");
    let page = srv.get(&format!(
        "/api/v1/findings?limit=1000&filter={}",
        percent_encoding::utf8_percent_encode(&q, percent_encoding::NON_ALPHANUMERIC)
    ));
    page["findings"].as_array().expect("findings").len() as u64
}

#[test]
fn a_real_evaluation_reaches_a_signed_webhook_and_syslog_as_one_digest() {
    for backend in backends() {
        let srv = TestServer::builder(&backend).notify(fast()).start();
        let hook = Receiver::webhook("http://127.0.0.2:9/");
        let syslog = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
        syslog
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let web = channel(
            &srv,
            "hook",
            "webhook",
            json!({ "url": hook.url() }),
            Some(SECRET),
        );
        let sys = channel(
            &srv,
            "siem",
            "syslog",
            json!({ "address": syslog.local_addr().expect("addr").to_string(), "protocol": "udp" }),
            None,
        );
        // Secrets are written, never read back.
        let listed = srv.call(
            "GET",
            "/api/v1/notifications/channels",
            Auth::Bearer(&srv.admin),
            None,
        );
        assert_eq!(listed.status, 200);
        assert!(!listed.text().contains(SECRET), "{}", listed.text());
        assert_eq!(listed.json()["channels"][0]["has_secret"], true);

        rule(
            &srv,
            "untriaged",
            &["finding.opened"],
            "severity=UNTRIAGED",
            web,
        );
        rule(
            &srv,
            "high to the SIEM",
            &["finding.opened"],
            "severity>=HIGH",
            sys,
        );
        let asset = report_alpine(&srv, "alpine-notify", 1);
        let critical = count(&srv, asset, "severity=UNTRIAGED");
        let high = count(&srv, asset, "severity>=HIGH");
        // The data folder scores few of the Alpine root's findings: most
        // are UNTRIAGED (one digest of them), one is HIGH (one event).
        assert!(
            critical >= 2 && high >= 1,
            "{critical} untriaged, {high} high"
        );

        // One message for the evaluation's untriaged findings, signed.
        let got = hook.wait_for(1, 30);
        assert_eq!(got.len(), 1, "{got:?}");
        let d = &got[0];
        assert_eq!(d["valid"], true, "signature: {d}");
        let body = &d["body"];
        assert_eq!(body["schema"], "kensa.notification/v1");
        assert_eq!(d["id"], body["id"]);
        assert_eq!(d["idempotency_key"], body["id"]);
        assert_eq!(body["event_count"].as_u64(), Some(critical), "{body}");
        assert_eq!(body["counts"]["finding.opened"].as_u64(), Some(critical));
        let events = body["events"].as_array().expect("events");
        assert!(
            events
                .iter()
                .all(|e| e["finding"]["severity"] == "UNTRIAGED"
                    && e["asset"]["id"] == asset
                    && e["type"] == "finding.opened")
        );

        // The SIEM got one RFC 5424 line for the high-or-worse ones.
        let mut buf = [0u8; 8192];
        let (n, _) = syslog.recv_from(&mut buf).expect("a syslog datagram");
        let line = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(line.contains(&format!("count=\"{high}\"")), "{line}");
        if high == 1 {
            // local0 (16) and error (3, a HIGH finding): <131>; one event.
            assert!(line.starts_with("<131>1 "), "{line}");
            assert!(
                line.contains(" kensa - EVENT [kensa@32473 id=\"evt-"),
                "{line}"
            );
        }

        // "Send a test" goes through the rule's channel at once.
        let rules = srv.get("/api/v1/notifications/rules");
        let id = rules["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .find(|r| r["name"] == "untriaged")
            .and_then(|r| r["id"].as_i64())
            .expect("rule");
        let t = post(
            &srv,
            &format!("/api/v1/notifications/rules/{id}/test"),
            json!({}),
        );
        assert_eq!(t["sent"], true, "{t}");
        let got = hook.wait_for(2, 10);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1]["body"]["events"][0]["type"], "test");
        assert_eq!(got[1]["valid"], true);
        drop(backend);
    }
}

#[test]
fn rules_are_admin_only_and_an_invalid_filter_names_the_term() {
    for backend in backends() {
        let srv = TestServer::builder(&backend).no_kb().notify(fast()).start();
        let web = channel(
            &srv,
            "hook",
            "webhook",
            json!({ "url": "http://127.0.0.1:9/" }),
            Some(SECRET),
        );
        let bad = srv.call(
            "POST",
            "/api/v1/notifications/rules",
            Auth::Bearer(&srv.admin),
            Some(json!({ "name": "x", "event_types": ["finding.opened"],
                         "filter": "severity>=HIGH colour=blue", "channel_id": web })),
        );
        assert_eq!(bad.status, 400, "{}", bad.text());
        assert!(
            bad.json()["error"]
                .as_str()
                .expect("error")
                .contains("colour"),
            "{}",
            bad.text()
        );
        // A webhook without its key, an unknown kind: refused, field named.
        let r = srv.call(
            "POST",
            "/api/v1/notifications/channels",
            Auth::Bearer(&srv.admin),
            Some(json!({ "name": "y", "kind": "webhook", "config": { "url": "http://x/" } })),
        );
        assert_eq!(r.status, 400);
        assert!(r.text().contains("secret"), "{}", r.text());
        let analyst = srv.api_token("analyst", "analyst");
        for (method, path) in [
            ("GET", "/api/v1/notifications/rules"),
            ("GET", "/api/v1/notifications/channels"),
            ("GET", "/api/v1/notifications/dead-letters"),
        ] {
            let r = srv.call(method, path, Auth::Bearer(&analyst), None);
            assert_eq!(r.status, 403, "{method} {path}");
            let r = srv.call(method, path, Auth::None, None);
            assert_eq!(r.status, 401, "{method} {path}");
        }
        drop(backend);
    }
}

/// A receiver that answers 500, one that never answers in time and one
/// that redirects to another host: each message is tried three times,
/// then dead-lettered; the host redirected to is never contacted, and the
/// evaluation is not held up.
#[test]
fn failing_receivers_are_retried_then_dead_lettered() {
    for backend in backends() {
        let srv = TestServer::builder(&backend).notify(fast()).start();
        let elsewhere = Receiver::webhook("http://127.0.0.2:9/");
        let receivers: Vec<(&str, Receiver)> = ["500", "sleep", "redirect"]
            .into_iter()
            .map(|mode| {
                let r = Receiver::webhook(&elsewhere.url());
                r.set_mode(mode);
                (mode, r)
            })
            .collect();
        for (mode, r) in &receivers {
            let c = channel(
                &srv,
                mode,
                "webhook",
                json!({ "url": r.url() }),
                Some(SECRET),
            );
            rule(&srv, mode, &["finding.opened"], "severity=UNTRIAGED", c);
        }
        let started = Instant::now();
        report_alpine(&srv, "alpine-faults", 2);
        // Evaluated while the sleeping receiver holds its first attempt.
        assert!(started.elapsed() < Duration::from_secs(60));
        let deadline = Instant::now() + Duration::from_secs(60);
        let dead = loop {
            let d = srv.get("/api/v1/notifications/dead-letters");
            if d["dead_letters"].as_array().is_some_and(|l| l.len() == 3) {
                break d;
            }
            assert!(Instant::now() < deadline, "not all dead-lettered: {d}");
            std::thread::sleep(Duration::from_millis(200));
        };
        for (mode, r) in &receivers {
            let got = r.records();
            assert_eq!(got.len(), 3, "{mode}: {got:?}");
            // The same message each time.
            assert!(got.iter().all(|g| g["id"] == got[0]["id"]), "{mode}");
            let entry = dead["dead_letters"]
                .as_array()
                .expect("list")
                .iter()
                .find(|d| d["rule"] == *mode)
                .unwrap_or_else(|| panic!("{mode} not dead-lettered: {dead}"));
            assert_eq!(entry["attempts"], 3);
            let err = entry["last_error"].as_str().expect("error");
            let want = match *mode {
                "500" => "answered 500",
                "sleep" => "127.0.0.1",
                _ => "not followed",
            };
            assert!(err.contains(want), "{mode}: {err}");
            assert!(!err.contains(SECRET));
        }
        assert!(elsewhere.records().is_empty(), "a redirect was followed");
        let backlog = srv.get("/api/v1/notifications/backlog");
        assert_eq!(backlog["dead"], 3, "{backlog}");
        drop(backend);
    }
}

/// An agent that stops reporting: the sweep notices once.
#[test]
fn a_silent_agent_is_reported_once() {
    for backend in backends() {
        let mut cfg = fast();
        cfg.sweep.silent_after = Duration::from_secs(2);
        let srv = TestServer::builder(&backend).notify(cfg).start();
        let hook = Receiver::webhook("http://127.0.0.2:9/");
        let web = channel(
            &srv,
            "hook",
            "webhook",
            json!({ "url": hook.url() }),
            Some(SECRET),
        );
        rule(&srv, "silent", &["asset.silent"], "", web);
        let asset = report_alpine(&srv, "alpine-quiet", 3);
        let got = hook.wait_for(1, 30);
        std::thread::sleep(Duration::from_secs(2));
        let got_later = hook.records();
        assert_eq!(got_later.len(), 1, "{got_later:?}");
        let e = &got[0]["body"]["events"][0];
        assert_eq!(e["type"], "asset.silent");
        assert_eq!(e["asset"]["id"], asset);
        drop(backend);
    }
}

#[test]
#[ignore = "needs aiosmtpd in the test cache's venv (scripts/setup)"]
fn mail_goes_over_starttls_with_auth_in_each_recipients_language() {
    for backend in backends() {
        let srv = TestServer::builder(&backend).notify(fast()).start();
        let smtp = Receiver::smtp(&srv.server_dir(), true);
        let mail = channel(
            &srv,
            "mail",
            "smtp",
            json!({
                "host": "127.0.0.1",
                "port": smtp.port,
                "username": "kensa",
                "from": "Kensa <kensa@example.org>",
                "ca_file": srv.server_dir().join("ca.pem"),
                "recipients": [
                    { "address": "ops@example.org", "language": "en" },
                    { "address": "unyou@example.jp", "language": "ja" },
                ],
            }),
            Some("smtp-password"),
        );
        rule(
            &srv,
            "重大",
            &["finding.opened"],
            "severity=UNTRIAGED",
            mail,
        );
        let asset = report_alpine(&srv, "alpine-mail", 4);
        let critical = count(&srv, asset, "severity=UNTRIAGED");
        let got = smtp.wait_for(2, 30);
        assert_eq!(got.len(), 2, "{got:?}");
        for m in &got {
            assert_eq!(m["tls"], true, "{m}");
            assert_eq!(m["authenticated"], true, "{m}");
            assert_eq!(m["content_type"], "multipart/alternative", "{m}");
            let types: Vec<&str> = m["parts"]
                .as_array()
                .expect("parts")
                .iter()
                .filter_map(|p| p["type"].as_str())
                .collect();
            assert_eq!(types, ["text/plain", "text/html"], "{m}");
        }
        let en = got
            .iter()
            .find(|m| m["to"][0] == "ops@example.org")
            .expect("en");
        let ja = got
            .iter()
            .find(|m| m["to"][0] == "unyou@example.jp")
            .expect("ja");
        assert_eq!(
            en["subject"],
            format!("[Kensa] {critical} events for rule 重大"),
            "{en}"
        );
        // The Japanese subject is RFC 2047-encoded on the wire and decodes
        // to the Japanese text.
        assert_eq!(
            ja["subject"],
            format!("[Kensa] ルール「重大」の通知 {critical} 件"),
            "{ja}"
        );
        assert!(
            ja["raw_subject"]
                .as_str()
                .expect("raw")
                .contains("=?utf-8?"),
            "{ja}"
        );
        let html = &ja["parts"][1]["text"];
        assert!(
            html.as_str().expect("html").contains("<li>新規検出: "),
            "{ja}"
        );

        // A server that offers no STARTTLS: an error, no plain-text mail.
        let plain = Receiver::smtp(&srv.server_dir(), false);
        let c = channel(
            &srv,
            "plain",
            "smtp",
            json!({
                "host": "127.0.0.1", "port": plain.port, "username": "kensa",
                "from": "kensa@example.org",
                "recipients": [{ "address": "ops@example.org" }],
            }),
            Some("smtp-password"),
        );
        let r = rule(&srv, "plain", &["kb.updated"], "", c);
        let t = post(
            &srv,
            &format!("/api/v1/notifications/rules/{r}/test"),
            json!({}),
        );
        assert_eq!(t["sent"], false, "{t}");
        assert!(
            !t["error"]
                .as_str()
                .expect("error")
                .contains("smtp-password")
        );
        std::thread::sleep(Duration::from_millis(500));
        assert!(plain.records().is_empty(), "{:?}", plain.records());
        drop(backend);
    }
}

/// A knowledge update that adds an advisory for Alpine 3.4's zlib: its
/// `kb.updated` event (with counts) and the findings it opens on two
/// assets share the update's cause, so the rule sends one digest.
#[test]
fn a_knowledge_update_is_one_digest_with_its_counts() {
    use kensa_kb::model::{Advisory, Affected, Event, Feed, FixStatus, Record};
    for backend in backends() {
        let kb_dir = tempfile::tempdir().expect("temp dir");
        kensa_testkit::kb::build(kb_dir.path(), Vec::new());
        // The cause's events come from several jobs (the update's, each
        // asset's re-evaluation): a quiet time longer than they take.
        let mut cfg = fast();
        cfg.pacing.window = Duration::from_secs(8);
        cfg.pacing.max_window = Duration::from_secs(60);
        let srv = TestServer::builder(&backend)
            .kb(kb_dir.path())
            .notify(cfg)
            .start();
        let hook = Receiver::webhook("http://127.0.0.2:9/");
        let web = channel(
            &srv,
            "hook",
            "webhook",
            json!({ "url": hook.url() }),
            Some(SECRET),
        );
        rule(
            &srv,
            "update",
            &["kb.updated", "finding.opened"],
            "vulnerability_id=CVE-2099-0001",
            web,
        );
        let a = report_alpine(&srv, "alpine-kb-a", 5);
        let b = report_alpine(&srv, "alpine-kb-b", 6);
        // The first evaluations opened findings the filter leaves out.
        std::thread::sleep(Duration::from_secs(2));
        assert!(hook.records().is_empty(), "{:?}", hook.records());

        kensa_testkit::kb::build(
            kb_dir.path(),
            vec![Record::Advisory(Advisory {
                id: "CVE-2099-0001".into(),
                feed: Feed::AlpineSecdb,
                aliases: Vec::new(),
                published: None,
                modified: None,
                summary: Some("a flaw added by the update".into()),
                severity: None,
                cvss: Vec::new(),
                references: Vec::new(),
                affected: vec![Affected {
                    namespace: "alpine:3.4".into(),
                    package: "zlib".into(),
                    status: FixStatus::Fixed,
                    ranges: vec![vec![
                        Event::Introduced("0".into()),
                        Event::Fixed("1.2.8-r99".into()),
                    ]],
                    versions: Vec::new(),
                    fixed: Some("1.2.8-r99".into()),
                    note: None,
                    module: None,
                    arches: Vec::new(),
                }],
            })],
        );
        let got = hook.wait_for(1, 90);
        assert_eq!(got.len(), 1, "{got:?}");
        let body = &got[0]["body"];
        assert_eq!(got[0]["valid"], true);
        assert_eq!(body["kind"], "digest", "{body}");
        assert_eq!(body["counts"]["kb.updated"], 1, "{body}");
        assert_eq!(body["counts"]["finding.opened"], 2, "{body}");
        let events = body["events"].as_array().expect("events");
        let kb = events
            .iter()
            .find(|e| e["type"] == "kb.updated")
            .expect("the update");
        assert_eq!(kb["detail"]["assets"], 2, "{kb}");
        assert_eq!(kb["detail"]["assets_to_reevaluate"], 2, "{kb}");
        let mut on: Vec<i64> = events
            .iter()
            .filter(|e| e["type"] == "finding.opened")
            .map(|e| e["asset"]["id"].as_i64().expect("asset"))
            .collect();
        on.sort_unstable();
        assert_eq!(on, [a.min(b), a.max(b)]);
        drop(backend);
    }
}
