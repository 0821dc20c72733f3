//! Crash and fault tests for the fleet: the real `kensa server` binary
//! (TLS, SQLite, and PostgreSQL when `KENSA_TEST_PG` is set), real
//! `kensa agent run --once` processes, Alpine 3.4 roots made from the data
//! folder's apk database, the knowledge base imported from the data folder.
//!
//! - `outage_spools_then_delivers`: the server stops (SIGTERM), the root
//!   changes, the agent spools (exit 3); the server comes back on the same
//!   data directory and port, the agent delivers (exit 0), the busybox
//!   findings close: nothing is lost.
//! - `kill_9_during_evaluation`: several agents report roots with
//!   thousands of findings (slow evaluations), the server is killed with
//!   SIGKILL as soon as their PUTs have returned 202 (their evaluation jobs
//!   queued, some claimed; an outside lock keeps the workers from finishing
//!   meanwhile); after a restart the unclaimed jobs are done within
//!   seconds, and every asset is evaluated and holds exactly the findings
//!   `kensa scan` gives its root.
//!   A job the killed process had claimed is claimed again only when its
//!   lease runs out: that wait is the behaviour under test. The servers
//!   here run with a lease of `LEASE` (`KENSA_JOB_LEASE`; two minutes by
//!   default), which the live workers renew, so a takeover takes seconds.
//! - `kill_9_during_ingest`: many agents report a changed root at once and
//!   the server is killed mid-way; after a restart the agents run again and
//!   every asset's latest inventory is stored (its hash is the root's) and
//!   evaluated (findings = `kensa scan` of the root), with nothing
//!   half-written: the server never logs a missing inventory or a panic.
//!
//! The backends of one test run side by side (one thread each), to keep
//! the wall time to one lease wait.
//!
//! A kill between storing an inventory and queueing its evaluation cannot
//! leave the inventory unevaluated: both commit in one transaction
//! (`Db::put_inventory_queued`), which this file's first version found
//! missing by hand (two transactions; the agent's retry then got `204`
//! from the hash check and the asset kept stale findings).

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kensa_testkit::db::{Backend, backends};
use kensa_testkit::roots::{AlpineRoot, add_apk_package};
use kensa_testkit::{free_port, now_ms};
use serde_json::Value;
use support::{kb, utf8};

const KENSA: &str = env!("CARGO_BIN_EXE_kensa");
/// The job lease of the servers under test (seconds): short, so that a
/// killed worker's job is taken over quickly; the workers renew it.
const LEASE: u64 = 3;
/// Longer than the lease a killed worker's job waits out, with room for
/// the evaluations themselves on a loaded machine.
const LEASE_WAIT: Duration = Duration::from_secs(LEASE + 120);

// ---------------------------------------------------------------- setup

fn text(o: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

// ------------------------------------------------------------- backends

fn psql(url: &str, sql: &str) -> Output {
    Command::new("psql")
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            url,
            "-c",
            sql,
        ])
        .output()
        .expect("psql runs")
}

/// Run `f` on every backend at once, one thread each.
fn on_backends(test: &str, f: impl Fn(&Backend) + Sync) {
    let backends = backends();
    std::thread::scope(|s| {
        let handles: Vec<_> = backends
            .iter()
            .map(|b| {
                let f = &f;
                std::thread::Builder::new()
                    .name(format!("{test}-{}", b.label()))
                    .spawn_scoped(s, move || {
                        let t = Instant::now();
                        f(b);
                        eprintln!("[{}] {test}: passed in {:.1?}", b.label(), t.elapsed());
                    })
                    .expect("thread")
            })
            .collect();
        let mut failed = Vec::new();
        for (h, b) in handles.into_iter().zip(&backends) {
            if h.join().is_err() {
                failed.push(b.label());
            }
        }
        assert!(failed.is_empty(), "{test} failed on {failed:?}");
    });
}

// --------------------------------------------------------------- server

/// A `kensa server` process; restartable on the same data directory and
/// port. Its stdout and stderr of every start are appended to files.
struct Server {
    label: &'static str,
    data: PathBuf,
    port: u16,
    database: Option<String>,
    child: Option<Child>,
    /// More environment for the next start (the notification settings).
    env: Vec<(&'static str, String)>,
}

impl Server {
    fn new(label: &'static str, dir: &Path, backend: &Backend) -> Server {
        let mut s = Server {
            label,
            data: dir.join("server"),
            port: free_port(),
            database: backend.url(),
            child: None,
            env: Vec::new(),
        };
        s.start();
        s
    }

    fn base(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    fn ca(&self) -> PathBuf {
        self.data.join("ca.pem")
    }

    fn log(&self, stream: &str) -> PathBuf {
        self.data
            .parent()
            .expect("parent")
            .join(format!("server.{stream}"))
    }

    /// Everything the server wrote to stderr, over all its starts.
    fn stderr(&self) -> String {
        std::fs::read_to_string(self.log("stderr")).unwrap_or_default()
    }

    fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let append = |stream: &str| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.log(stream))
                .expect("log file")
        };
        let mut err = append("stderr");
        writeln!(err, "---- start at {} ----", now_ms()).expect("log");
        let mut cmd = Command::new(KENSA);
        cmd.arg("server")
            .arg("--data")
            .arg(&self.data)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--store")
            .arg(kb())
            .args(["--tls-name", "127.0.0.1", "--tls-name", "localhost"])
            .env_remove("KENSA_DATABASE_URL")
            .env("KENSA_JOB_LEASE", LEASE.to_string())
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(append("stdout"))
            .stderr(err);
        if let Some(url) = &self.database {
            cmd.arg("--database").arg(url);
        }
        let mut child = cmd.spawn().expect("kensa server starts");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                panic!(
                    "[{}] kensa server exited at start: {status}\n{}",
                    self.label,
                    self.stderr()
                );
            }
            if self.ca().exists() && self.data.join("admin-token").exists() {
                let o = Command::new("curl")
                    .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
                    .arg(self.ca())
                    .arg(format!("{}/healthz", self.base()))
                    .output()
                    .expect("curl runs");
                if o.stdout == b"200" {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "[{}] kensa server not healthy in 60 s\n{}",
                self.label,
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child = Some(child);
    }

    /// SIGTERM, and wait for a clean exit.
    fn terminate(&mut self) {
        let mut child = self.child.take().expect("running");
        let o = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .output()
            .expect("kill runs");
        assert!(o.status.success(), "kill -TERM: {}", text(&o));
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = child.try_wait().expect("try_wait") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("[{}] kensa server ignored SIGTERM for 30 s", self.label);
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(
            status.success(),
            "[{}] kensa server after SIGTERM: {status}\n{}",
            self.label,
            self.stderr()
        );
    }

    /// SIGKILL (`kill -9`).
    fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("wait");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "[{}] the server died of SIGKILL, not {status}",
            self.label
        );
    }

    fn admin(&self) -> String {
        std::fs::read_to_string(self.data.join("admin-token"))
            .expect("admin-token")
            .trim()
            .to_owned()
    }

    /// An admin API call with curl: the status and the JSON body.
    fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let mut cmd = Command::new("curl");
        cmd.args([
            "-s",
            "-S",
            "--max-time",
            "30",
            "-w",
            "\n%{http_code}",
            "--cacert",
        ])
        .arg(self.ca())
        .arg("-H")
        .arg(format!("Authorization: Bearer {}", self.admin()))
        .args(["-X", method]);
        if let Some(b) = body {
            cmd.args(["-H", "Content-Type: application/json", "-d", b]);
        }
        let o = cmd
            .arg(format!("{}{path}", self.base()))
            .output()
            .expect("curl runs");
        assert!(o.status.success(), "curl {method} {path}: {}", text(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        let (json, status) = out.rsplit_once('\n').expect("status line");
        (
            status.trim().parse().expect("status"),
            serde_json::from_str(json).unwrap_or(Value::Null),
        )
    }

    fn enrollment_token(&self) -> String {
        let (s, b) = self.call("POST", "/api/v1/enrollment-tokens", Some("{}"));
        assert_eq!(s, 201, "{b}");
        b["token"].as_str().expect("token").to_owned()
    }

    /// Every asset by id.
    fn assets(&self) -> BTreeMap<String, Value> {
        let (s, b) = self.call("GET", "/api/v1/assets", None);
        assert_eq!(s, 200, "[{}] GET /api/v1/assets: {b}", self.label);
        b["assets"]
            .as_array()
            .expect("assets")
            .iter()
            .map(|a| (a["id"].to_string(), a.clone()))
            .collect()
    }

    /// Every finding of the asset, following the pages.
    fn findings(&self, asset: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        loop {
            let (s, b) = self.call(
                "GET",
                &format!("/api/v1/findings?asset_id={asset}&limit=100{cursor}"),
                None,
            );
            assert_eq!(s, 200, "[{}] findings of asset {asset}: {b}", self.label);
            out.extend(b["findings"].as_array().expect("findings").iter().cloned());
            match b["next_cursor"].as_str() {
                Some(c) => cursor = format!("&cursor={c}"),
                None => return out,
            }
        }
    }

    /// The job queue as the database has it, for the log (the server may
    /// be down).
    fn jobs(&self) -> String {
        let sql = "SELECT state, count(*) FROM jobs GROUP BY state ORDER BY state";
        let o = match &self.database {
            Some(url) => psql(url, sql),
            None => Command::new("sqlite3")
                .arg(self.data.join("kensa.db"))
                .arg(sql)
                .output()
                .expect("sqlite3 runs"),
        };
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The assets whose evaluation job is claimed (`running`), by id.
    fn claimed_assets(&self) -> BTreeSet<String> {
        let o = match &self.database {
            Some(url) => psql(
                url,
                "SELECT payload->>'asset' FROM jobs WHERE state = 'running'",
            ),
            None => Command::new("sqlite3")
                .arg(self.data.join("kensa.db"))
                .arg("SELECT json_extract(payload, '$.asset') FROM jobs WHERE state = 'running'")
                .output()
                .expect("sqlite3 runs"),
        };
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    /// Fail on what a crash must never leave behind.
    fn assert_clean_log(&self) {
        let log = self.stderr();
        for bad in [
            "is not stored",
            "panicked",
            "decompress inventory",
            "Corrupt",
        ] {
            assert!(
                !log.contains(bad),
                "[{}] the server logged {bad:?}:\n{log}",
                self.label
            );
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

// ---------------------------------------------------------------- roots

/// An Alpine 3.4.6 root from the data folder's apk database, with busybox
/// at `busybox` and a marker package (no advisories) at `marker`, so that
/// roots differ in content hash.
fn alpine_root(root: &Path, busybox: &str, marker: u32) {
    AlpineRoot::new()
        .version("busybox", busybox)
        .package(
            "kensa-fault-marker",
            &format!("{marker}.0-r0"),
            "kensa-fault-marker",
        )
        .write(root);
}

/// Add `n` copies of busybox (origin `busybox`, so each carries busybox's
/// advisories) to the root's apk database: thousands of findings, an
/// evaluation slow enough to be caught by a kill.
fn add_busybox_copies(root: &Path, n: usize) {
    for i in 0..n {
        add_apk_package(root, &format!("busybox-copy-{i}"), "1.24.2-r9", "busybox");
    }
}

/// Busybox versions with different secdb findings (r9: the fixture's).
const BUSYBOX: [&str; 4] = ["1.24.2-r9", "1.24.2-r11", "1.24.2-r12", "1.24.2-r14"];

/// What `kensa scan` finds in `root`: (vulnerability, package).
fn expected(root: &Path) -> BTreeSet<(String, String)> {
    let o = Command::new(KENSA)
        .args(["scan", "--format", "json", "--store", utf8(kb()), "--root"])
        .arg(root)
        .output()
        .expect("kensa scan runs");
    assert!(o.status.success(), "kensa scan: {}", text(&o));
    let report: Value = serde_json::from_slice(&o.stdout).expect("scan json");
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["vulnerability_id"].as_str().expect("id").to_owned(),
                f["package"]["name"].as_str().expect("package").to_owned(),
            )
        })
        .collect()
}

/// The inventory hash the agent reports for `root`.
fn root_hash(root: &Path) -> String {
    kensa_inventory::collect(&kensa_agent::Target::Root(root.to_owned()))
        .expect("inventory")
        .content_hash()
}

// ---------------------------------------------------------------- agents

/// One agent: its root and state directory, enrolled with the library so
/// that the root (which has no machine id) gets an asset of its own (`kensa
/// agent enroll` identifies the host it runs on: all agents of this
/// machine would share one asset).
struct Agent {
    root: PathBuf,
    state: PathBuf,
    asset: String,
}

fn enroll(server: &Server, dir: &Path, busybox: &str, marker: u32) -> Agent {
    let root = dir.join("root");
    let state = dir.join("state");
    alpine_root(&root, busybox, marker);
    let mut cfg = kensa_agent::Config::new(
        server.base(),
        kensa_agent::CaSource::Pinned(server.ca()),
        &state,
    );
    cfg.target = kensa_agent::Target::Root(root.clone());
    let creds = kensa_agent::enroll(&cfg, &server.enrollment_token()).expect("enroll");
    Agent {
        root,
        state,
        asset: creds.asset_id,
    }
}

/// `kensa agent run --once` for `agent`: exit code and output.
fn run_once(ca: &Path, agent: &Agent) -> (i32, String) {
    let o = Command::new(KENSA)
        .args(["agent", "run", "--once", "--state"])
        .arg(&agent.state)
        .arg("--ca")
        .arg(ca)
        .arg("--root")
        .arg(&agent.root)
        .output()
        .expect("kensa agent runs");
    (o.status.code().unwrap_or(-1), text(&o))
}

/// Every agent's `run --once` at the same time (one process each).
fn run_all(ca: &Path, agents: &[Agent], done: &AtomicUsize) -> Vec<(i32, String)> {
    std::thread::scope(|s| {
        let handles: Vec<_> = agents
            .iter()
            .map(|a| {
                s.spawn(move || {
                    let r = run_once(ca, a);
                    done.fetch_add(1, Ordering::SeqCst);
                    r
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("agent thread"))
            .collect()
    })
}

// ---------------------------------------------------------- consistency

/// What is wrong with `asset` now (`None`: consistent): evaluated at or
/// after `since` and after its inventory arrived (when `inventory_order`),
/// holding `hash`, its ACTIVE findings exactly `want`, no finding twice.
fn problem(
    server: &Server,
    assets: &BTreeMap<String, Value>,
    agent: &Agent,
    want: &BTreeSet<(String, String)>,
    hash: &str,
    since: i64,
    inventory_order: bool,
) -> Option<String> {
    let Some(a) = assets.get(&agent.asset) else {
        return Some(format!("asset {} missing", agent.asset));
    };
    if a["inventory_hash"].as_str() != Some(hash) {
        return Some(format!(
            "asset {} holds inventory {} not {hash}",
            agent.asset, a["inventory_hash"]
        ));
    }
    let Some(evaluated) = a["evaluated_at"].as_i64() else {
        return Some(format!("asset {} never evaluated", agent.asset));
    };
    if evaluated < since {
        return Some(format!(
            "asset {} last evaluated at {evaluated}, before {since}",
            agent.asset
        ));
    }
    if inventory_order && a["inventory_at"].as_i64().is_none_or(|t| evaluated < t) {
        return Some(format!(
            "asset {} evaluated at {evaluated} before its inventory ({})",
            agent.asset, a["inventory_at"]
        ));
    }
    let findings = server.findings(&agent.asset);
    let mut seen = BTreeSet::new();
    for f in &findings {
        let key = (
            f["vulnerability_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            f["package_name"].as_str().unwrap_or_default().to_owned(),
        );
        if !seen.insert(key.clone()) {
            // A duplicate is never healed by waiting: fail at once.
            panic!(
                "[{}] asset {}: finding {key:?} twice",
                server.label, agent.asset
            );
        }
    }
    let active: BTreeSet<_> = findings
        .iter()
        .filter(|f| f["status"] == "ACTIVE")
        .map(|f| {
            (
                f["vulnerability_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                f["package_name"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    if active != *want {
        return Some(format!(
            "asset {}: ACTIVE findings differ from kensa scan: missing {:?}, extra {:?}",
            agent.asset,
            want.difference(&active).collect::<Vec<_>>(),
            active.difference(want).collect::<Vec<_>>()
        ));
    }
    None
}

/// Wait until every agent's asset is consistent ([`problem`]); how long it
/// took.
fn settle(
    server: &Server,
    agents: &[Agent],
    since: i64,
    inventory_order: bool,
    timeout: Duration,
) -> Duration {
    let want: Vec<_> = agents
        .iter()
        .map(|a| (expected(&a.root), root_hash(&a.root)))
        .collect();
    let start = Instant::now();
    loop {
        let assets = server.assets();
        let problems: Vec<String> = agents
            .iter()
            .zip(&want)
            .filter_map(|(a, (w, h))| problem(server, &assets, a, w, h, since, inventory_order))
            .collect();
        if problems.is_empty() {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < timeout,
            "[{}] not consistent after {timeout:?} (jobs: {}):\n{}\nserver log:\n{}",
            server.label,
            server.jobs(),
            problems.join("\n"),
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

// ------------------------------------------------------------------ tests

#[test]
fn outage_spools_then_delivers() {
    on_backends("outage", |backend| {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = Server::new(backend.label(), dir.path(), backend);
        let root = dir.path().join("root");
        let state = dir.path().join("state");
        alpine_root(&root, BUSYBOX[0], 0);

        // `kensa agent enroll`, as a user runs it.
        let o = Command::new(KENSA)
            .args(["agent", "enroll", "--server", &server.base(), "--ca"])
            .arg(server.ca())
            .arg("--state")
            .arg(&state)
            .args(["--token", &server.enrollment_token()])
            .output()
            .expect("kensa agent enroll runs");
        assert!(o.status.success(), "enroll: {}", text(&o));
        let creds: Value =
            serde_json::from_slice(&std::fs::read(state.join("agent.json")).expect("agent.json"))
                .expect("agent.json is JSON");
        let asset = creds["asset_id"].as_str().expect("asset_id").to_owned();
        let agent = Agent {
            root: root.clone(),
            state,
            asset: asset.clone(),
        };

        let t0 = now_ms();
        let (code, out) = run_once(&server.ca(), &agent);
        assert_eq!(code, 0, "first report: {out}");
        settle(
            &server,
            std::slice::from_ref(&agent),
            t0,
            true,
            Duration::from_secs(60),
        );
        let busybox = |server: &Server| -> Vec<(String, String)> {
            let mut v: Vec<_> = server
                .findings(&asset)
                .iter()
                .filter(|f| f["package_name"] == "busybox")
                .map(|f| {
                    (
                        f["vulnerability_id"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        f["status"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            v.sort();
            v
        };
        let before = busybox(&server);
        assert!(!before.is_empty(), "busybox 1.24.2-r9 has secdb findings");
        assert!(before.iter().all(|(_, s)| s == "ACTIVE"), "{before:?}");

        // The outage: the agent keeps the changed inventory.
        server.terminate();
        alpine_root(&root, "1.24.2-r14", 0);
        let (code, out) = run_once(&server.ca(), &agent);
        assert_eq!(code, 3, "spooled while the server is down: {out}");
        let spooled = std::fs::read_dir(agent.state.join("spool"))
            .expect("spool dir")
            .count();
        assert!(spooled >= 1, "the spool holds the inventory");
        let (code, out) = run_once(&server.ca(), &agent);
        assert_eq!(code, 3, "still down, still spooled: {out}");

        // Back on the same data directory and port: delivered.
        server.start();
        let t1 = now_ms();
        let (code, out) = run_once(&server.ca(), &agent);
        assert_eq!(code, 0, "delivered after the outage: {out}");
        assert!(out.contains("delivered 1 inventory"), "{out}");
        let took = settle(
            &server,
            std::slice::from_ref(&agent),
            t1,
            true,
            Duration::from_secs(60),
        );
        let after = busybox(&server);
        assert_eq!(
            after.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            before.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            "the same busybox findings, kept as history"
        );
        assert!(after.iter().all(|(_, s)| s == "CLOSED"), "{after:?}");
        // Delivered means unspooled: the next run has nothing to send.
        let (code, out) = run_once(&server.ca(), &agent);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("unchanged: the server already holds"), "{out}");
        eprintln!(
            "[{}] outage: evaluated {took:?} after delivery",
            backend.label()
        );
        server.assert_clean_log();
        server.terminate();
    });
}

/// A lock held from outside the server that lets agents report but holds
/// the evaluation workers back: on PostgreSQL an EXCLUSIVE lock on
/// `findings` (ingest does not write it; `apply_evaluation` does, so a
/// worker blocks there with its job claimed); on SQLite the write lock
/// (taken only once the reports are in: ingest needs it too).
struct Hold {
    child: Child,
}

impl Hold {
    fn take(server: &Server) -> Hold {
        let (mut child, check): (Child, Box<dyn Fn() -> bool>) = match &server.database {
            Some(url) => {
                let child = Command::new("psql")
                    .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", url])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .spawn()
                    .expect("psql runs");
                let url = url.clone();
                (
                    child,
                    Box::new(move || {
                        let o = psql(
                            &url,
                            "SELECT count(*) FROM pg_locks WHERE granted AND \
                             relation = 'findings'::regclass AND mode = 'ExclusiveLock'",
                        );
                        String::from_utf8_lossy(&o.stdout).trim() == "1"
                    }),
                )
            }
            None => {
                let db = server.data.join("kensa.db");
                let child = Command::new("sqlite3")
                    .arg(&db)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .spawn()
                    .expect("sqlite3 runs");
                (
                    child,
                    Box::new(move || {
                        // Busy at once (no timeout) while the lock is held.
                        let o = Command::new("sqlite3")
                            .arg(&db)
                            .arg("BEGIN IMMEDIATE; ROLLBACK;")
                            .output()
                            .expect("sqlite3 runs");
                        String::from_utf8_lossy(&o.stderr).contains("locked")
                    }),
                )
            }
        };
        let stmt = match &server.database {
            Some(_) => "BEGIN; LOCK TABLE findings IN EXCLUSIVE MODE;\n",
            None => ".timeout 10000\nBEGIN IMMEDIATE;\n",
        };
        child
            .stdin
            .as_mut()
            .expect("stdin")
            .write_all(stmt.as_bytes())
            .expect("write");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !check() {
            assert!(
                child.try_wait().expect("try_wait").is_none(),
                "the lock holder exited"
            );
            assert!(Instant::now() < deadline, "lock not taken in 20 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        Hold { child }
    }

    fn release(mut self) {
        let mut stdin = self.child.stdin.take().expect("stdin");
        stdin.write_all(b"ROLLBACK;\n").expect("write");
        drop(stdin);
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "lock holder: {status}");
    }
}

#[test]
fn kill_9_during_evaluation() {
    const AGENTS: u32 = 6;
    const COPIES: usize = 1000;
    on_backends("evaluation", |backend| {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = Server::new(backend.label(), dir.path(), backend);
        let agents: Vec<Agent> = (0..AGENTS)
            .map(|i| {
                let d = dir.path().join(format!("agent-{i}"));
                let a = enroll(&server, &d, BUSYBOX[i as usize % BUSYBOX.len()], i);
                add_busybox_copies(&a.root, COPIES);
                a
            })
            .collect();

        let t0 = now_ms();
        let pg = server.database.is_some();
        let hold = pg.then(|| Hold::take(&server));
        let results = run_all(&server.ca(), &agents, &AtomicUsize::new(0));
        let hold = hold.unwrap_or_else(|| Hold::take(&server));
        // Every PUT returned 202 (exit 0): the evaluations are queued in the
        // database; on PostgreSQL both workers hold a claimed job, blocked
        // on the lock. Kill the server before they are done.
        server.kill9();
        hold.release();
        for (code, out) in &results {
            assert_eq!(*code, 0, "delivered before the kill: {out}");
        }
        let jobs = server.jobs();
        let claimed = server.claimed_assets();
        eprintln!(
            "[{}] evaluation: jobs at the kill: {jobs}; claimed for assets {claimed:?}",
            backend.label()
        );
        assert!(
            jobs.contains("queued|") || jobs.contains("running|"),
            "the kill left evaluations to do: {jobs}"
        );
        if pg {
            assert!(!claimed.is_empty(), "the workers had claimed jobs: {jobs}");
        }

        server.start();
        // Jobs nobody had claimed are done at once...
        let (unclaimed, leased): (Vec<Agent>, Vec<Agent>) = agents
            .into_iter()
            .partition(|a| !claimed.contains(&a.asset));
        // (With a lease of seconds, the claimed jobs compete with these for
        // the workers: the deadline allows for all of them on a busy
        // machine.)
        let quick = settle(&server, &unclaimed, t0, true, Duration::from_secs(120));
        // ...a job the dead process had claimed waits for its lease.
        let took = settle(&server, &leased, t0, true, LEASE_WAIT);
        settle(&server, &unclaimed, t0, true, Duration::ZERO);
        eprintln!(
            "[{}] evaluation: {} unclaimed assets consistent {quick:.1?} after the restart, \
             {} claimed ones {took:.1?} after (jobs now: {})",
            backend.label(),
            unclaimed.len(),
            leased.len(),
            server.jobs()
        );
        server.assert_clean_log();
        server.terminate();
    });
}

#[test]
fn kill_9_during_ingest() {
    const AGENTS: u32 = 16;
    on_backends("ingest", |backend| {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = Server::new(backend.label(), dir.path(), backend);
        let agents: Vec<Agent> = (0..AGENTS)
            .map(|i| {
                let d = dir.path().join(format!("agent-{i}"));
                enroll(&server, &d, BUSYBOX[0], i)
            })
            .collect();
        // A first inventory everywhere, evaluated.
        let t0 = now_ms();
        for (code, out) in run_all(&server.ca(), &agents, &AtomicUsize::new(0)) {
            assert_eq!(code, 0, "{out}");
        }
        settle(&server, &agents, t0, true, Duration::from_secs(60));

        // Every root changes; all agents report at once; the server is
        // killed once a third of them are done.
        for (i, a) in agents.iter().enumerate() {
            alpine_root(
                &a.root,
                BUSYBOX[1 + i % (BUSYBOX.len() - 1)],
                1000 + i as u32,
            );
        }
        let t1 = now_ms();
        let done = AtomicUsize::new(0);
        let ca = server.ca();
        let results = std::thread::scope(|s| {
            let runs = s.spawn(|| run_all(&ca, &agents, &done));
            let deadline = Instant::now() + Duration::from_secs(60);
            while done.load(Ordering::SeqCst) < AGENTS as usize / 3 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            server.kill9();
            runs.join().expect("agents")
        });
        let mut codes: BTreeMap<i32, usize> = BTreeMap::new();
        for (code, out) in &results {
            assert!(
                *code == 0 || *code == 3,
                "[{}] an agent neither delivered nor spooled: {out}",
                backend.label()
            );
            *codes.entry(*code).or_default() += 1;
        }
        eprintln!(
            "[{}] ingest: exit codes at the kill {codes:?}; jobs: {}",
            backend.label(),
            server.jobs()
        );

        // Back up: the agents run again and deliver what they spooled.
        server.start();
        for (code, out) in run_all(&server.ca(), &agents, &AtomicUsize::new(0)) {
            assert_eq!(code, 0, "[{}] after the restart: {out}", backend.label());
        }
        // `inventory_at` is also the last report (a HEAD answered 204 moves
        // it), so only "evaluated since the roots changed" is asserted.
        let took = settle(&server, &agents, t1, false, LEASE_WAIT);
        eprintln!(
            "[{}] ingest: all {AGENTS} assets consistent {took:.1?} after the re-run (jobs: {})",
            backend.label(),
            server.jobs()
        );
        server.assert_clean_log();
        server.terminate();
    });
}

// -------------------------------------------------------- notifications

/// The webhook receiver of the server's notification tests: it checks the
/// signature and records each delivery as a JSON line.
struct Receiver {
    child: Child,
    port: u16,
    record: PathBuf,
}

impl Receiver {
    fn start(dir: &Path) -> Receiver {
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../kensa-server/tests/it/support/webhook_receiver.py");
        let record = dir.join("deliveries.jsonl");
        let mut child = Command::new("/usr/bin/python3")
            .arg(script)
            .arg(NOTIFY_SECRET)
            .arg(&record)
            .arg(dir.join("mode"))
            .arg("http://127.0.0.2:9/")
            .stdout(Stdio::piped())
            .spawn()
            .expect("the webhook receiver starts");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
            &mut line,
        )
        .expect("its port");
        Receiver {
            child,
            port: line.trim().parse().expect("a port"),
            record,
        }
    }

    fn deliveries(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const NOTIFY_SECRET: &str = "the-kill-9-test-webhook-secret";

/// Events recorded, then the server killed before it delivers them
/// (delivery paused by the undocumented `KENSA_NOTIFY_PAUSED`): after the
/// restart the message arrives once, with every event. On PostgreSQL a
/// second server on the same database runs beside the restarted one, and
/// the message still arrives once.
#[test]
fn kill_9_between_event_and_delivery_delivers_once() {
    on_backends("notify", |backend| {
        let dir = tempfile::tempdir().expect("temp dir");
        let receiver = Receiver::start(dir.path());
        let mut server = Server::new(backend.label(), dir.path(), backend);
        server.terminate();
        let fast = [
            ("KENSA_NOTIFY_WINDOW_MS", "500".to_owned()),
            ("KENSA_NOTIFY_POLL_MS", "100".to_owned()),
        ];
        server.env = fast.to_vec();
        server.env.push(("KENSA_NOTIFY_PAUSED", "1".to_owned()));
        server.start();
        let (s, c) = server.call(
            "POST",
            "/api/v1/notifications/channels",
            Some(&format!(
                r#"{{"name": "hook", "kind": "webhook", "config": {{"url": "http://127.0.0.1:{}/"}}, "secret": "{NOTIFY_SECRET}"}}"#,
                receiver.port
            )),
        );
        assert_eq!(s, 201, "{c}");
        let (s, r) = server.call(
            "POST",
            "/api/v1/notifications/rules",
            Some(&format!(
                r#"{{"name": "all opened", "event_types": ["finding.opened"], "channel_id": {}}}"#,
                c["id"]
            )),
        );
        assert_eq!(s, 201, "{r}");
        let t0 = now_ms();
        let agent = enroll(&server, &dir.path().join("agent"), BUSYBOX[0], 1);
        let (code, out) = run_once(&server.ca(), &agent);
        assert_eq!(code, 0, "{out}");
        settle(
            &server,
            std::slice::from_ref(&agent),
            t0,
            true,
            Duration::from_secs(120),
        );
        let opened = server.findings(&agent.asset).len();
        assert!(opened > 0);
        std::thread::sleep(Duration::from_secs(1));
        assert!(receiver.deliveries().is_empty(), "paused, yet delivered");
        server.kill9();

        // Restarted with deliveries on; on PostgreSQL, a second server too.
        server.env = fast.to_vec();
        server.start();
        let mut second = server.database.is_some().then(|| {
            // Its own data directory (CA, port), the shared database's
            // admin token.
            let data = dir.path().join("second/server");
            std::fs::create_dir_all(&data).expect("mkdir");
            std::fs::copy(server.data.join("admin-token"), data.join("admin-token"))
                .expect("admin token");
            let mut s = Server {
                label: "second",
                data,
                port: free_port(),
                database: server.database.clone(),
                child: None,
                env: fast.to_vec(),
            };
            s.start();
            s
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        while receiver.deliveries().is_empty() {
            assert!(
                Instant::now() < deadline,
                "nothing delivered after the restart"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // Time for a duplicate to show up, were there one.
        std::thread::sleep(Duration::from_secs(3));
        let got = receiver.deliveries();
        assert_eq!(got.len(), 1, "delivered more than once: {got:?}");
        assert_eq!(got[0]["valid"], true);
        assert_eq!(got[0]["body"]["event_count"].as_u64(), Some(opened as u64));
        if let Some(s) = second.as_mut() {
            s.terminate();
        }
        server.terminate();
    });
}
