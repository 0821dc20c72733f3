//! The real server on loopback (TLS, SQLite and PostgreSQL), real agents
//! (`kensa_agent`, the library `kensa agent` runs) enrolled against a root
//! filesystem made from the data folder's real Alpine database, the real
//! knowledge base built from the data folder: the finding lifecycle walked
//! end to end, and the API's refusals.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kensa_agent::{Config, Outcome, Status, Target};
use serde_json::{Value, json};

use kensa_testkit::now_ms;
use kensa_testkit::roots::{AlpineRoot, set_apk_version as set_version};

use crate::support;
use support::{Fleet, backends, start, start_with};

/// An Alpine 3.4 root from the data folder's real apk database.
fn alpine_root(dir: &Path) -> PathBuf {
    AlpineRoot::new().write(&dir.join("root"))
}

impl Fleet {
    /// A request; the status and the JSON body (Null when none).
    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.client.request(method, &format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        let res = match body {
            Some(b) => req
                .set("Content-Type", "application/json")
                .send_string(&b.to_string()),
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

    fn agent(&self, root: &Path, state: &Path) -> Config {
        self.agent_config(root, state)
    }

    fn evaluated_at(&self, asset: &str) -> Option<i64> {
        let (_, body) = self.call("GET", "/api/v1/assets", Some(&self.admin), None);
        body["assets"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["id"].as_i64().map(|i| i.to_string()).as_deref() == Some(asset))
            .and_then(|a| a["evaluated_at"].as_i64())
    }

    /// Every finding of the asset, following the pages.
    fn findings(&self, asset: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        loop {
            let (status, body) = self.call(
                "GET",
                &format!("/api/v1/findings?asset_id={asset}&limit=100{cursor}"),
                Some(&self.admin),
                None,
            );
            assert_eq!(status, 200, "{body}");
            out.extend(body["findings"].as_array().cloned().unwrap_or_default());
            match body["next_cursor"].as_str() {
                Some(c) => cursor = format!("&cursor={c}"),
                None => return out,
            }
        }
    }

    /// Wait until the asset's latest inventory has been evaluated.
    fn evaluated(&self, asset: &str, since: i64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (_, body) = self.call("GET", "/api/v1/assets", Some(&self.admin), None);
            let done = body["assets"].as_array().into_iter().flatten().any(|a| {
                a["id"].as_i64().map(|i| i.to_string()).as_deref() == Some(asset)
                    && a["evaluated_at"].as_i64().is_some_and(|t| t >= since)
            });
            if done {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "asset {asset} not evaluated in 60 s: {body}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn busybox(findings: &[Value]) -> Vec<(String, String, i64)> {
    let mut v: Vec<_> = findings
        .iter()
        .filter(|f| f["package_name"] == "busybox")
        .map(|f| {
            (
                f["vulnerability_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                f["status"].as_str().unwrap_or_default().to_owned(),
                f["reopen_count"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn lifecycle_upgrade_closes_downgrade_reopens() {
    for backend in backends() {
        let fleet = start(&backend);
        let dir = tempfile::tempdir().expect("temp dir");
        let root = alpine_root(dir.path());
        let cfg = fleet.agent(&root, &dir.path().join("state"));
        let creds = kensa_agent::enroll(&cfg, &fleet.enrollment_token()).expect("enroll");

        let t0 = now_ms();
        let outcome = kensa_agent::run_once(&cfg).expect("run");
        assert!(matches!(outcome, Outcome::Delivered { .. }), "{outcome:?}");
        fleet.evaluated(&creds.asset_id, t0);
        let first = busybox(&fleet.findings(&creds.asset_id));
        assert!(!first.is_empty(), "busybox 1.24.2-r9 has secdb fixes");
        assert!(first.iter().all(|(_, s, _)| s == "ACTIVE"), "{first:?}");

        // Unchanged: nothing new is sent.
        assert!(matches!(
            kensa_agent::run_once(&cfg).expect("run"),
            Outcome::Unchanged
        ));

        // Upgraded past every fix: the findings close, and are kept.
        set_version(&root, "busybox", "1.24.2-r14");
        let t1 = now_ms();
        assert!(matches!(
            kensa_agent::run_once(&cfg).expect("run"),
            Outcome::Delivered { .. }
        ));
        fleet.evaluated(&creds.asset_id, t1);
        let closed = busybox(&fleet.findings(&creds.asset_id));
        assert_eq!(
            closed.len(),
            first.len(),
            "closed findings are history, not deleted"
        );
        assert!(closed.iter().all(|(_, s, _)| s == "CLOSED"), "{closed:?}");

        // Downgraded again: the same findings reopen.
        set_version(&root, "busybox", "1.24.2-r9");
        let t2 = now_ms();
        assert!(matches!(
            kensa_agent::run_once(&cfg).expect("run"),
            Outcome::Delivered { .. }
        ));
        fleet.evaluated(&creds.asset_id, t2);
        let reopened = busybox(&fleet.findings(&creds.asset_id));
        assert_eq!(
            reopened.iter().map(|(id, _, _)| id).collect::<Vec<_>>(),
            first.iter().map(|(id, _, _)| id).collect::<Vec<_>>()
        );
        assert!(
            reopened.iter().all(|(_, s, n)| s == "ACTIVE" && *n == 1),
            "{reopened:?}"
        );
    }
}

#[test]
fn the_api_refuses_what_it_must() {
    for backend in backends() {
        let fleet = start(&backend);
        let dir = tempfile::tempdir().expect("temp dir");
        let root = alpine_root(dir.path());
        let cfg = fleet.agent(&root, &dir.path().join("state"));
        let token = fleet.enrollment_token();
        let creds = kensa_agent::enroll(&cfg, &token).expect("enroll");
        let agent_token = creds.token.expose().to_owned();

        // An enrolment token works once.
        let (s, b) = fleet.call(
            "POST",
            "/api/v1/agents/enroll",
            None,
            Some(json!({"enrollment_token": token})),
        );
        assert_eq!(s, 401, "{b}");
        // No token, a wrong one, an agent's where a user's is needed.
        assert_eq!(fleet.call("GET", "/api/v1/findings", None, None).0, 401);
        assert_eq!(
            fleet
                .call("GET", "/api/v1/findings", Some("kst_wrong"), None)
                .0,
            401
        );
        assert_eq!(
            fleet
                .call("GET", "/api/v1/findings", Some(&agent_token), None)
                .0,
            403
        );
        assert_eq!(
            fleet
                .call(
                    "POST",
                    "/api/v1/enrollment-tokens",
                    Some(&agent_token),
                    Some(json!({}))
                )
                .0,
            403
        );
        // A viewer reads but does not administer.
        let (s, b) = fleet.call(
            "POST",
            "/api/v1/api-tokens",
            Some(&fleet.admin),
            Some(json!({"name": "v", "role": "viewer"})),
        );
        assert_eq!(s, 201, "{b}");
        let viewer = b["token"].as_str().expect("token").to_owned();
        assert_eq!(
            fleet.call("GET", "/api/v1/findings", Some(&viewer), None).0,
            200
        );
        assert_eq!(
            fleet
                .call(
                    "POST",
                    "/api/v1/enrollment-tokens",
                    Some(&viewer),
                    Some(json!({}))
                )
                .0,
            403
        );
        // A user cannot report an inventory; bad bodies change nothing.
        let put = |token: &str, hash: &str, body: &[u8]| {
            let res = fleet
                .client
                .put(&format!("{}/api/v1/agent/inventory/{hash}", fleet.base))
                .set("Authorization", &format!("Bearer {token}"))
                .set("Content-Type", "application/json")
                .send_bytes(body);
            match res {
                Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
                Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(put(&viewer, "sha256:00", b"{}").0, 403);
        let (s, msg) = put(&agent_token, "sha256:00", b"{not json");
        assert_eq!(s, 400, "{msg}");
        assert!(msg.contains("line 1"), "{msg}");
        let inv = kensa_inventory::collect(&Target::Root(root.clone())).expect("inventory");
        let body = serde_json::to_vec(&inv).expect("json");
        let (s, msg) = put(&agent_token, "sha256:0000", &body);
        assert_eq!(s, 400, "hash mismatch: {msg}");
        let (s, _) = fleet.call("GET", "/api/v1/assets", Some(&fleet.admin), None);
        assert_eq!(s, 200);
        assert!(
            fleet.findings(&creds.asset_id).is_empty(),
            "nothing was stored"
        );
        // Too large: the server answers 413 as soon as the limit is
        // passed and closes the connection without reading the rest, so
        // the client may see the 413 or, still sending, a broken pipe.
        let res = fleet
            .client
            .put(&format!("{}/api/v1/agent/inventory/sha256:00", fleet.base))
            .set("Authorization", &format!("Bearer {agent_token}"))
            .set("Content-Type", "application/json")
            .send_bytes(&vec![b' '; 17 << 20]);
        match res {
            Err(ureq::Error::Status(413, _)) => {}
            Err(ureq::Error::Transport(t))
                if t.to_string().contains("Broken pipe")
                    || t.to_string().contains("Connection reset") => {}
            Ok(r) => panic!("an oversized body was accepted: {}", r.status()),
            Err(e) => panic!("oversized body: {e}"),
        }
        assert!(
            fleet.findings(&creds.asset_id).is_empty(),
            "nothing was stored"
        );
        // The OpenAPI document is served.
        let (s, doc) = fleet.call("GET", "/api/v1/openapi.json", None, None);
        assert_eq!(s, 200);
        assert_eq!(doc["openapi"], "3.1.0");
    }
}

/// A report on the fast path (the canonical bytes agents send: hashed, not
/// parsed in full, stored as they came) and one on the full parse (the
/// whole document, as older agents sent it) store the same bytes, which
/// both readers accept; a body that is not what its hash says is refused
/// with 400 on either path and stores nothing.
#[test]
fn reports_store_their_canonical_bytes_on_either_path() {
    use std::io::Write;
    for backend in backends() {
        let fleet = start(&backend);
        let dir = tempfile::tempdir().expect("temp dir");
        let root = alpine_root(dir.path());
        let enrol = |machine: &str| {
            let (s, b) = fleet.call(
                "POST",
                "/api/v1/agents/enroll",
                None,
                Some(json!({"enrollment_token": fleet.enrollment_token(),
                            "hostname": machine, "machine_id": machine})),
            );
            assert_eq!(s, 201, "{b}");
            (
                b["token"].as_str().expect("token").to_owned(),
                b["asset_id"]
                    .as_str()
                    .expect("asset")
                    .parse::<i64>()
                    .expect("id"),
            )
        };
        let gzip = |bytes: &[u8]| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(bytes).expect("gzip");
            e.finish().expect("gzip")
        };
        let put = |token: &str, hash: &str, body: &[u8]| {
            let res = fleet
                .client
                .put(&format!(
                    "{}/api/v1/agent/inventory/{}",
                    fleet.base,
                    hash.replace(':', "%3A")
                ))
                .set("Authorization", &format!("Bearer {token}"))
                .set("Content-Type", "application/json")
                .set("Content-Encoding", "gzip")
                .send_bytes(&gzip(body));
            match res {
                Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
                Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
                Err(e) => panic!("{e}"),
            }
        };
        let db = kensa_store::Db::open(&match backend.url() {
            Some(url) => kensa_store::Backend::Postgres(url),
            None => kensa_store::Backend::Sqlite(fleet.server_dir().join("kensa.db")),
        })
        .expect("open the server's database");
        let latest = |asset: i64| {
            db.asset(kensa_store::AssetId(asset))
                .expect("asset")
                .and_then(|a| a.inventory_hash)
        };

        let mut inv = kensa_inventory::collect(&Target::Root(root.clone())).expect("inventory");
        assert!(!inv.collection.started_at.is_empty());
        let (fast_token, fast_asset) = enrol("fast");
        let (slow_token, slow_asset) = enrol("slow");

        // Tampered: the canonical bytes of another document under this
        // document's hash; the whole document, one version changed.
        let hash = inv.content_hash();
        let mut other = inv.clone();
        other.packages[0].version.push_str("-tampered");
        let (s, msg) = put(&fast_token, &hash, &other.content_bytes());
        assert_eq!(s, 400, "{msg}");
        assert!(msg.contains("content hash"), "{msg}");
        let (s, msg) = put(
            &slow_token,
            &hash,
            &serde_json::to_vec(&other).expect("json"),
        );
        assert_eq!(s, 400, "{msg}");
        // Bytes that hash to the URL's hash but are no inventory, or are
        // not canonical (a `collection` block, which the content hash
        // leaves out).
        let junk = br#"{"schema_version": 1}"#;
        let (s, msg) = put(
            &fast_token,
            &kensa_inventory::model::content_hash_of(junk),
            junk,
        );
        assert_eq!(s, 400, "{msg}");
        let whole = serde_json::to_vec(&inv).expect("json");
        let (s, msg) = put(
            &fast_token,
            &kensa_inventory::model::content_hash_of(&whole),
            &whole,
        );
        assert_eq!(s, 400, "{msg}");
        assert!(msg.contains("content hash"), "{msg}");
        assert_eq!(latest(fast_asset), None, "nothing was stored");
        assert_eq!(latest(slow_asset), None, "nothing was stored");
        assert_eq!(db.inventory_count().expect("count"), 0);

        // The fast path, then the same document on the full parse.
        let (s, msg) = put(&fast_token, &hash, &inv.content_bytes());
        assert_eq!(s, 202, "{msg}");
        assert_eq!(latest(fast_asset).as_deref(), Some(hash.as_str()));
        let fast = db.inventory_bytes(&hash).expect("read").expect("stored");
        assert_eq!(fast, inv.content_bytes());
        let (s, msg) = put(&slow_token, &hash, &whole);
        assert_eq!(s, 202, "{msg}");
        assert_eq!(latest(slow_asset).as_deref(), Some(hash.as_str()));
        assert_eq!(db.inventory_count().expect("count"), 1, "one copy");

        // A new document on the full parse first: the same bytes again.
        inv.packages[0].version.push_str("-r1");
        let hash = inv.content_hash();
        let (s, msg) = put(&slow_token, &hash, &serde_json::to_vec(&inv).expect("json"));
        assert_eq!(s, 202, "{msg}");
        let slow = db.inventory_bytes(&hash).expect("read").expect("stored");
        assert_eq!(slow, inv.content_bytes());
        // The full reader (which serialises the document to check it)
        // accepts what either path stored.
        inv.collection = Default::default();
        assert_eq!(db.inventory(&hash).expect("read").as_ref(), Some(&inv));
        assert_eq!(db.load_inventory(&hash).expect("read").as_ref(), Some(&inv));
        let first = kensa_inventory::model::content_hash_of(&fast);
        assert!(db.inventory(&first).expect("read").is_some());
    }
}

/// A new advisory for Alpine 3.4's zlib: the Alpine asset holds it, the
/// asset made of a Cargo.lock does not. After the update only the first is
/// evaluated again, and gets the new finding.
#[test]
fn a_knowledge_update_reevaluates_only_the_assets_it_concerns() {
    use kensa_kb::model::{Advisory, Affected, Event, Feed, FixStatus, Record};
    for backend in backends() {
        let kb_dir = tempfile::tempdir().expect("temp dir");
        kensa_testkit::kb::build(kb_dir.path(), Vec::new());
        let fleet = start_with(&backend, kb_dir.path());
        let dir = tempfile::tempdir().expect("temp dir");
        let alpine = alpine_root(dir.path());
        let cargo = dir.path().join("cargo-root");
        std::fs::create_dir_all(cargo.join("srv/app")).expect("mkdir");
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../kensa/tests/truth/old-lock/Cargo.lock"),
            cargo.join("srv/app/Cargo.lock"),
        )
        .expect("copy");
        let a = fleet.agent(&alpine, &dir.path().join("state-a"));
        let b = fleet.agent(&cargo, &dir.path().join("state-b"));
        let ca = kensa_agent::enroll(&a, &fleet.enrollment_token()).expect("enroll a");
        let cb = kensa_agent::enroll(&b, &fleet.enrollment_token()).expect("enroll b");
        let t0 = now_ms();
        kensa_agent::run_once(&a).expect("run a");
        kensa_agent::run_once(&b).expect("run b");
        fleet.evaluated(&ca.asset_id, t0);
        fleet.evaluated(&cb.asset_id, t0);
        let b_before = fleet.evaluated_at(&cb.asset_id);
        assert!(
            !fleet.findings(&cb.asset_id).is_empty(),
            "the old lock file has findings"
        );

        let t1 = now_ms();
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
        fleet.evaluated(&ca.asset_id, t1);
        let new: Vec<_> = fleet
            .findings(&ca.asset_id)
            .into_iter()
            .filter(|f| f["vulnerability_id"] == "CVE-2099-0001")
            .collect();
        assert_eq!(
            new.len(),
            1,
            "the new advisory is found on the Alpine asset"
        );
        assert_eq!(new[0]["package_name"], "zlib");
        // Give a wrongly queued evaluation of B time to happen.
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(
            fleet.evaluated_at(&cb.asset_id),
            b_before,
            "the Cargo asset was not re-evaluated"
        );
    }
}

/// Two server processes' worth of workers (two servers started on one
/// PostgreSQL database) share the queue: 200 evaluation jobs are each
/// claimed exactly once, and both servers take part.
#[test]
fn two_servers_on_one_postgresql_never_run_a_job_twice() {
    for backend in backends() {
        let Some(url) = backend.url() else { continue };
        let one = start(&backend);
        let two = start(&backend);
        assert!(
            !one.admin.is_empty() && two.admin.is_empty(),
            "one admin token per database"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let root = alpine_root(dir.path());
        let cfg = one.agent(&root, &dir.path().join("state"));
        let creds = kensa_agent::enroll(&cfg, &one.enrollment_token()).expect("enroll");
        let t0 = now_ms();
        kensa_agent::run_once(&cfg).expect("run");
        one.evaluated(&creds.asset_id, t0);

        let db = kensa_store::Db::open(&kensa_store::Backend::Postgres(url)).expect("db");
        let asset: i64 = creds.asset_id.parse().expect("id");
        let hash = db
            .asset(kensa_store::AssetId(asset))
            .expect("asset")
            .and_then(|a| a.inventory_hash)
            .expect("inventory");
        let ids: Vec<_> = (0..200)
            .map(|_| {
                db.enqueue(
                    kensa_server::worker::EVALUATE,
                    &json!({ "asset": asset, "inventory": hash }),
                    None,
                )
                .expect("enqueue")
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(120);
        let jobs = loop {
            let jobs: Vec<_> = ids
                .iter()
                .map(|id| db.job(*id).expect("job").expect("exists"))
                .collect();
            if jobs.iter().all(|j| j.finished_at.is_some()) {
                break jobs;
            }
            assert!(Instant::now() < deadline, "jobs not done in 120 s");
            std::thread::sleep(Duration::from_millis(200));
        };
        assert!(
            jobs.iter()
                .all(|j| j.attempts == 1 && j.last_error.is_none()),
            "every job claimed once and done: {:?}",
            jobs.iter()
                .filter(|j| j.attempts != 1 || j.last_error.is_some())
                .collect::<Vec<_>>()
        );
        let mut instances: Vec<String> = jobs
            .iter()
            .filter_map(|j| j.locked_by.clone())
            .map(|w| w.rsplit_once(':').map(|(i, _)| i.to_owned()).unwrap_or(w))
            .collect();
        instances.sort();
        instances.dedup();
        assert_eq!(
            instances.len(),
            2,
            "both servers' workers took jobs: {instances:?}"
        );
        // The findings are still one set, not doubled.
        let findings = one.findings(&creds.asset_id);
        let mut keys: Vec<_> = findings
            .iter()
            .map(|f| {
                (
                    f["vulnerability_id"].to_string(),
                    f["package_name"].to_string(),
                )
            })
            .collect();
        let n = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }
}

/// Coverage in Inspector's vocabulary: enrolled but not reported yet is
/// PENDING_INITIAL_SCAN; an evaluated Alpine host is ACTIVE; a root with
/// no identifiable OS is UNSUPPORTED_OS (its OS packages are not checked);
/// silent longer than the threshold is STALE_INVENTORY.
#[test]
fn coverage_says_which_assets_are_checked_and_why_not() {
    for backend in backends() {
        let fleet = start(&backend);
        let dir = tempfile::tempdir().expect("temp dir");
        let alpine = alpine_root(dir.path());
        let bare = dir.path().join("bare");
        std::fs::create_dir_all(bare.join("srv")).expect("mkdir");
        let a = fleet.agent(&alpine, &dir.path().join("state-a"));
        let b = fleet.agent(&bare, &dir.path().join("state-b"));
        let ca = kensa_agent::enroll(&a, &fleet.enrollment_token()).expect("enroll a");
        let cb = kensa_agent::enroll(&b, &fleet.enrollment_token()).expect("enroll b");
        let reasons = |query: &str| {
            let (status, body) = fleet.call(
                "GET",
                &format!("/api/v1/coverage{query}"),
                Some(&fleet.admin),
                None,
            );
            assert_eq!(status, 200, "{body}");
            let of = |id: &str| {
                body["assets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|r| r["asset_id"].as_i64().map(|i| i.to_string()).as_deref() == Some(id))
                    .map(|r| {
                        (
                            r["status"].as_str().unwrap_or_default().to_owned(),
                            r["reason"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
            };
            (of(&ca.asset_id), of(&cb.asset_id), body["counts"].clone())
        };
        let pending = ("INACTIVE".to_owned(), "PENDING_INITIAL_SCAN".to_owned());
        let (ra, rb, _) = reasons("");
        assert_eq!((ra, rb), (Some(pending.clone()), Some(pending)));

        let t0 = now_ms();
        kensa_agent::run_once(&a).expect("run a");
        kensa_agent::run_once(&b).expect("run b");
        fleet.evaluated(&ca.asset_id, t0);
        fleet.evaluated(&cb.asset_id, t0);
        let (ra, rb, counts) = reasons("");
        // Alpine 3.4 is past its end of life: scanned all the same, so
        // ACTIVE, with the reason said.
        assert_eq!(ra, Some(("ACTIVE".to_owned(), "OS_END_OF_LIFE".to_owned())));
        assert_eq!(
            rb,
            Some(("INACTIVE".to_owned(), "UNSUPPORTED_OS".to_owned()))
        );
        assert_eq!(counts["OS_END_OF_LIFE"], 1);
        assert_eq!(counts["UNSUPPORTED_OS"], 1);
        std::thread::sleep(Duration::from_millis(20));
        let (ra, _, _) = reasons("?stale_hours=0");
        assert_eq!(
            ra,
            Some(("INACTIVE".to_owned(), "STALE_INVENTORY".to_owned()))
        );
        // A viewer may read it; an agent may not.
        let agent = kensa_agent::StateDir::open(dir.path().join("state-a"))
            .and_then(|s| s.credentials())
            .expect("credentials");
        assert_eq!(
            fleet
                .call("GET", "/api/v1/coverage", Some(agent.token.expose()), None)
                .0,
            403
        );
    }
}

/// A user token with `role`, made by the admin.
fn token(fleet: &Fleet, name: &str, role: &str) -> String {
    let (s, b) = fleet.call(
        "POST",
        "/api/v1/api-tokens",
        Some(&fleet.admin),
        Some(json!({"name": name, "role": role})),
    );
    assert_eq!(s, 201, "{b}");
    b["token"].as_str().expect("token").to_owned()
}

#[test]
fn findings_are_queried_triaged_and_suppressed_through_the_api() {
    for backend in backends() {
        let fleet = start(&backend);
        let dir = tempfile::tempdir().expect("temp dir");
        let root = alpine_root(dir.path());
        let cfg = fleet.agent(&root, &dir.path().join("state"));
        let creds = kensa_agent::enroll(&cfg, &fleet.enrollment_token()).expect("enroll");
        let t0 = now_ms();
        kensa_agent::run_once(&cfg).expect("run");
        fleet.evaluated(&creds.asset_id, t0);
        let all = fleet.findings(&creds.asset_id);
        assert!(all.len() > 20, "{} findings", all.len());
        let viewer = token(&fleet, "v", "viewer");
        let analyst = token(&fleet, "a", "analyst");

        // Filtered, sorted, paged: every busybox finding, highest score
        // first, three per page, the pages joined equal one query.
        let q = "/api/v1/findings?filter=package%3Dbusybox&sort=score:desc&limit=3&count=true";
        let (s, page) = fleet.call("GET", q, Some(&viewer), None);
        assert_eq!(s, 200, "{page}");
        let busybox_total = all
            .iter()
            .filter(|f| f["package_name"] == "busybox")
            .count();
        assert_eq!(page["total"], busybox_total as u64);
        assert_eq!(page["findings"].as_array().map(Vec::len), Some(3));
        let mut seen: Vec<Value> = page["findings"].as_array().cloned().unwrap_or_default();
        let mut cursor = page["next_cursor"].as_str().map(str::to_owned);
        while let Some(c) = cursor {
            let (s, p) = fleet.call("GET", &format!("{q}&cursor={c}"), Some(&viewer), None);
            assert_eq!(s, 200, "{p}");
            seen.extend(p["findings"].as_array().cloned().unwrap_or_default());
            cursor = p["next_cursor"].as_str().map(str::to_owned);
        }
        assert_eq!(seen.len(), busybox_total);
        let scores: Vec<f64> = seen
            .iter()
            .map(|f| f["score"].as_f64().unwrap_or(-1.0))
            .collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

        // A bad filter is a 400 naming the term.
        let (s, b) = fleet.call(
            "GET",
            "/api/v1/findings?filter=colour%3Dred",
            Some(&viewer),
            None,
        );
        assert_eq!(s, 400);
        assert!(
            b["error"].as_str().is_some_and(|e| e.contains("colour")),
            "{b}"
        );

        // Aggregation by package agrees with the list.
        let (s, agg) = fleet.call(
            "GET",
            "/api/v1/findings/aggregate?by=package",
            Some(&viewer),
            None,
        );
        assert_eq!(s, 200, "{agg}");
        let bb = agg["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|g| g["key"] == "busybox")
            .expect("a busybox group");
        assert_eq!(bb["total"], busybox_total as u64);

        // A viewer cannot triage; an analyst can, and the audit says who.
        let id = seen[0]["id"].as_i64().expect("id");
        let path = format!("/api/v1/findings/{id}/triage");
        let body = json!({"state": "exploitable", "assignee": "alice"});
        let (s, _) = fleet.call("POST", &path, Some(&viewer), Some(body.clone()));
        assert_eq!(s, 403);
        let (s, b) = fleet.call("POST", &path, Some(&analyst), Some(body));
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["triage"]["state"], "exploitable");
        let (s, d) = fleet.call(
            "GET",
            &format!("/api/v1/findings/{id}"),
            Some(&viewer),
            None,
        );
        assert_eq!(s, 200, "{d}");
        assert_eq!(d["audit"][0]["actor"], "a");
        assert_eq!(d["audit"][0]["after"]["assignee"], "alice");
        assert!(
            d["finding"]["finding"]["vulnerability_id"].is_string(),
            "{d}"
        );
        // Bad triage input: 400 with the reason, nothing changed.
        for bad in [
            json!({"state": "risk_accepted"}),
            json!({"state": "maybe"}),
            json!({"colour": "red"}),
            json!({}),
        ] {
            let (s, b) = fleet.call("POST", &path, Some(&analyst), Some(bad.clone()));
            assert_eq!(s, 400, "{bad}: {b}");
            assert!(b["error"].is_string(), "{b}");
        }
        let (_, d2) = fleet.call(
            "GET",
            &format!("/api/v1/findings/{id}"),
            Some(&viewer),
            None,
        );
        assert_eq!(d2["audit"].as_array().map(Vec::len), Some(1));
        let (s, _) = fleet.call(
            "POST",
            "/api/v1/findings/999999999/triage",
            Some(&analyst),
            Some(json!({"comment": "x"})),
        );
        assert_eq!(s, 404);

        // Bulk over a filter needs a filter.
        let (s, b) = fleet.call(
            "POST",
            "/api/v1/findings/triage",
            Some(&analyst),
            Some(json!({"state": "in_triage"})),
        );
        assert_eq!(s, 400, "{b}");
        let (s, b) = fleet.call(
            "POST",
            "/api/v1/findings/triage",
            Some(&analyst),
            Some(json!({"filter": "package=busybox triage_state!=exploitable", "state": "in_triage"})),
        );
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["findings_changed"], (busybox_total - 1) as u64);

        // A suppression rule: a viewer may not, an analyst may; the
        // findings it selects are suppressed, and come back when it goes.
        let rule = json!({"name": "busybox", "filter": "package=busybox", "reason": "not installed in production images"});
        let (s, _) = fleet.call(
            "POST",
            "/api/v1/suppression-rules",
            Some(&viewer),
            Some(rule.clone()),
        );
        assert_eq!(s, 403);
        let (s, b) = fleet.call(
            "POST",
            "/api/v1/suppression-rules",
            Some(&analyst),
            Some(rule),
        );
        assert_eq!(s, 201, "{b}");
        assert_eq!(b["findings_suppressed"], busybox_total as u64);
        let rule_id = b["rule"]["id"].as_i64().expect("rule id");
        let (_, p) = fleet.call(
            "GET",
            "/api/v1/findings?filter=status%3DSUPPRESSED&count=true",
            Some(&viewer),
            None,
        );
        assert_eq!(p["total"], busybox_total as u64);
        let (s, b) = fleet.call(
            "DELETE",
            &format!("/api/v1/suppression-rules/{rule_id}"),
            Some(&analyst),
            None,
        );
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["findings_released"], busybox_total as u64);

        // The SLA policy is the admin's.
        let sla = json!({"critical": 3, "high": 14, "medium": 60, "low": 120});
        let (s, _) = fleet.call(
            "PUT",
            "/api/v1/settings/sla",
            Some(&analyst),
            Some(sla.clone()),
        );
        assert_eq!(s, 403);
        let (s, b) = fleet.call("PUT", "/api/v1/settings/sla", Some(&fleet.admin), Some(sla));
        assert_eq!(s, 200, "{b}");
        let (_, got) = fleet.call("GET", "/api/v1/settings/sla", Some(&viewer), None);
        assert_eq!(got["critical"], 3);
    }
}

/// Issue 14 and issue 13 (asset takeover): enrolling again from the same
/// state directory keeps the asset's facts, coverage and findings and
/// replaces the old credential; another agent enrolling with the same
/// machine id is refused (409, its token left unused) while the first one
/// is live, and adopts the asset (facts kept) once an admin revoked it; a
/// revoked agent is refused and stops counting as "has an agent".
#[test]
fn reenrolment_keeps_the_asset_and_takeover_needs_a_revocation() {
    for backend in backends() {
        let fleet = start(&backend);
        let dir = tempfile::tempdir().expect("temp dir");
        let root = alpine_root(dir.path());
        std::fs::write(
            root.join("etc/machine-id"),
            "7a7e0000111122223333444455556666\n",
        )
        .expect("machine-id");
        let cfg = fleet.agent(&root, &dir.path().join("state-a"));
        let first = kensa_agent::enroll(&cfg, &fleet.enrollment_token()).expect("enroll");
        let t0 = now_ms();
        kensa_agent::run_once(&cfg).expect("report");
        fleet.evaluated(&first.asset_id, t0);
        let facts = |fleet: &Fleet| {
            let (s, a) = fleet.call(
                "GET",
                &format!("/api/v1/assets/{}", first.asset_id),
                Some(&fleet.admin),
                None,
            );
            assert_eq!(s, 200, "{a}");
            (
                a["os_id"].clone(),
                a["os_release"].clone(),
                a["coverage"]["status"].clone(),
                a["agent"].clone(),
            )
        };
        let open = |fleet: &Fleet| {
            let mut v: Vec<String> = fleet
                .findings(&first.asset_id)
                .iter()
                .filter(|f| f["status"] == "ACTIVE")
                .map(|f| format!("{} {}", f["vulnerability_id"], f["package_name"]))
                .collect();
            v.sort();
            v
        };
        let before = facts(&fleet);
        assert_eq!(before.0, "alpine", "{before:?}");
        assert_eq!(before.2, "ACTIVE", "{before:?}");
        let findings = open(&fleet);
        assert!(!findings.is_empty(), "the Alpine 3.4 root has findings");

        // Re-enrolment from the same state: same asset, facts and findings
        // kept, the old credential replaced.
        let again = kensa_agent::enroll(&cfg, &fleet.enrollment_token()).expect("re-enroll");
        assert_eq!(again.asset_id, first.asset_id);
        assert_ne!(again.agent_id, first.agent_id);
        assert_eq!(
            facts(&fleet),
            before,
            "re-enrolment keeps the facts and coverage"
        );
        assert_eq!(open(&fleet), findings, "re-enrolment keeps the findings");
        let hash = std::fs::read_to_string(dir.path().join("state-a/last.json")).expect("last");
        let hash: Value = serde_json::from_str(&hash).expect("JSON");
        let head = |token: &str| {
            fleet
                .call(
                    "HEAD",
                    &format!(
                        "/api/v1/agent/inventory/{}",
                        hash["hash"].as_str().expect("hash").replace(':', "%3A")
                    ),
                    Some(token),
                    None,
                )
                .0
        };
        assert_eq!(
            head(first.token.expose()),
            401,
            "the replaced credential is revoked"
        );
        assert!(matches!(
            kensa_agent::run_once(&cfg).expect("report"),
            Outcome::Unchanged
        ));
        assert_eq!(facts(&fleet), before);

        assert_eq!(
            kensa_agent::status(&cfg).expect("the server answers"),
            Status::Live {
                server: fleet.base.clone(),
                agent_id: again.agent_id.clone(),
                asset_id: first.asset_id.clone(),
            },
            "GET /api/v1/agent/self names the live credential"
        );

        // Another agent with the same machine id: refused, token unused.
        let thief = fleet.agent(&root, &dir.path().join("state-b"));
        let token = fleet.enrollment_token();
        let err = kensa_agent::enroll(&thief, &token).expect_err("takeover refused");
        assert!(err.to_string().contains("409"), "{err}");
        assert!(err.to_string().contains("already has an agent"), "{err}");
        assert_eq!(
            head(again.token.expose()),
            204,
            "the live agent keeps working"
        );
        assert_eq!(open(&fleet), findings);

        // An admin lists the agents and revokes the live one.
        let (s, list) = fleet.call("GET", "/api/v1/agents", Some(&fleet.admin), None);
        assert_eq!(s, 200, "{list}");
        let agents = list["agents"].as_array().expect("agents");
        let live: Vec<&Value> = agents
            .iter()
            .filter(|a| a["revoked_at"].is_null())
            .collect();
        assert_eq!(live.len(), 1, "{list}");
        assert_eq!(live[0]["id"].to_string(), again.agent_id, "{list}");
        assert_eq!(live[0]["asset_id"].to_string(), first.asset_id, "{list}");
        assert!(live[0]["last_report"].is_i64(), "{list}");
        assert_eq!(live[0]["version"], env!("CARGO_PKG_VERSION"), "{list}");
        let (s, _) = fleet.call("GET", "/api/v1/agents", None, None);
        assert_eq!(s, 401);
        let (s, b) = fleet.call(
            "DELETE",
            &format!("/api/v1/agents/{}", again.agent_id),
            Some(&fleet.admin),
            None,
        );
        assert_eq!(s, 204, "{b}");
        assert_eq!(
            head(again.token.expose()),
            401,
            "a revoked agent is refused"
        );
        // `kensa agent status` (what install.sh asks before it decides
        // that a host is enrolled) says so, without reporting anything.
        match kensa_agent::status(&cfg).expect("the server answers") {
            Status::Refused { reason, .. } => assert!(reason.contains("401"), "{reason}"),
            live => panic!("a revoked agent is not live: {live}"),
        }
        let (s, me) = fleet.call("GET", "/api/v1/agent/self", Some(&fleet.admin), None);
        assert_eq!(s, 403, "a user's token is not an agent: {me}");
        assert_eq!(
            facts(&fleet).3,
            json!(false),
            "a revoked agent does not count as an agent"
        );
        let (s, _) = fleet.call(
            "DELETE",
            &format!("/api/v1/agents/{}", again.agent_id),
            Some(&fleet.admin),
            None,
        );
        assert_eq!(s, 404, "revoked already");

        // Now the other agent may adopt the asset, with the same (unused)
        // token: the facts and findings stay until it reports.
        let adopted = kensa_agent::enroll(&thief, &token).expect("adopt after revocation");
        assert_eq!(adopted.asset_id, first.asset_id);
        assert_eq!(
            kensa_agent::status(&thief).expect("the server answers"),
            Status::Live {
                server: fleet.base.clone(),
                agent_id: adopted.agent_id.clone(),
                asset_id: adopted.asset_id.clone(),
            },
            "the adopting agent is live"
        );
        let after = facts(&fleet);
        assert_eq!(
            (&after.0, &after.1, &after.3),
            (&before.0, &before.1, &before.3)
        );
        assert_eq!(open(&fleet), findings);
    }
}

/// Issue 14: one reusable enrolment token enrols three roots with
/// distinct identities, each asset carrying the token's defaults; the
/// agents list names the token; once revoked (or used up) it is refused
/// with a 401 that says why.
#[test]
fn a_reusable_token_enrols_many_with_its_defaults_until_revoked() {
    for backend in backends() {
        let fleet = start(&backend);
        let dir = tempfile::tempdir().expect("temp dir");
        let (s, created) = fleet.call(
            "POST",
            "/api/v1/enrollment-tokens",
            Some(&fleet.admin),
            Some(json!({
                "name": "web launch template",
                "ttl_hours": 720,
                "max_uses": 10,
                "defaults": {"team": "web", "environment": "prod", "owner": "ops@example.com", "tags": ["autoscaled"]}
            })),
        );
        assert_eq!(s, 201, "{created}");
        let token = created["token"].as_str().expect("token").to_owned();
        let id = created["id"].as_str().expect("id").to_owned();
        let mut assets = Vec::new();
        for i in 0..3 {
            let host = dir.path().join(format!("host{i}"));
            let root = alpine_root(&host);
            std::fs::write(root.join("etc/hostname"), format!("web-{i}\n")).expect("hostname");
            std::fs::write(root.join("etc/machine-id"), format!("{i:032x}\n")).expect("machine-id");
            let cfg = fleet.agent(&root, &host.join("state"));
            let c = kensa_agent::enroll(&cfg, &token).expect("enroll with a reusable token");
            let (s, a) = fleet.call(
                "GET",
                &format!("/api/v1/assets/{}", c.asset_id),
                Some(&fleet.admin),
                None,
            );
            assert_eq!(s, 200, "{a}");
            assert_eq!(a["hostname"], format!("web-{i}"), "{a}");
            let m = &a["management"];
            assert_eq!(
                (&m["team"], &m["environment"], &m["owner"], &m["tags"]),
                (
                    &json!("web"),
                    &json!("prod"),
                    &json!("ops@example.com"),
                    &json!(["autoscaled"])
                ),
                "{a}"
            );
            assets.push(c.asset_id);
        }
        assets.sort();
        assets.dedup();
        assert_eq!(assets.len(), 3, "three identities, three assets");
        let (_, list) = fleet.call("GET", "/api/v1/enrollment-tokens", Some(&fleet.admin), None);
        let t = list["enrollment_tokens"]
            .as_array()
            .expect("list")
            .iter()
            .find(|t| t["id"] == id.as_str())
            .cloned()
            .expect("the token is listed");
        assert_eq!(
            (&t["uses"], &t["max_uses"], &t["state"]),
            (&json!(3), &json!(10), &json!("live")),
            "{t}"
        );
        assert_eq!(t["name"], "web launch template");
        assert!(
            !list.to_string().contains(&token),
            "the list never shows a token"
        );
        let (_, agents) = fleet.call("GET", "/api/v1/agents", Some(&fleet.admin), None);
        assert!(
            agents["agents"]
                .as_array()
                .expect("agents")
                .iter()
                .all(|a| a["enrollment_token"] == id.as_str()),
            "{agents}"
        );
        // Viewers and agents may not manage tokens.
        let (s, _) = fleet.call("GET", "/api/v1/enrollment-tokens", None, None);
        assert_eq!(s, 401);

        let (s, b) = fleet.call(
            "DELETE",
            &format!("/api/v1/enrollment-tokens/{id}"),
            Some(&fleet.admin),
            None,
        );
        assert_eq!(s, 204, "{b}");
        let fourth = dir.path().join("host3");
        let root = alpine_root(&fourth);
        std::fs::write(root.join("etc/machine-id"), format!("{:032x}\n", 3)).expect("machine-id");
        let err = kensa_agent::enroll(&fleet.agent(&root, &fourth.join("state")), &token)
            .expect_err("a revoked token enrols nobody");
        assert!(
            err.to_string().contains("HTTP 401") && err.to_string().contains("revoked"),
            "{err}"
        );

        // Used up: a single-use token's second use.
        let once = fleet.enrollment_token();
        let (s, b) = fleet.call(
            "POST",
            "/api/v1/agents/enroll",
            None,
            Some(json!({"enrollment_token": once, "machine_id": "a1"})),
        );
        assert_eq!(s, 201, "{b}");
        let (s, b) = fleet.call(
            "POST",
            "/api/v1/agents/enroll",
            None,
            Some(json!({"enrollment_token": once, "machine_id": "a2"})),
        );
        assert_eq!(s, 401, "{b}");
        assert!(b.to_string().contains("used up"), "{b}");
        let (s, b) = fleet.call(
            "POST",
            "/api/v1/agents/enroll",
            None,
            Some(json!({"enrollment_token": "ket_nonsense"})),
        );
        assert_eq!(s, 401, "{b}");
        assert!(b.to_string().contains("unknown"), "{b}");
        let (s, b) = fleet.call(
            "POST",
            "/api/v1/enrollment-tokens",
            Some(&fleet.admin),
            Some(json!({"max_uses": 0})),
        );
        assert_eq!(s, 400, "{b}");
    }
}
