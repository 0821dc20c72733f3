//! Schedules against the real server on loopback with an injected clock
//! (a file the test advances, `TestServer::builder(..).clock_file`): a
//! register report delivered to a real S3-compatible store (s3s-fs on a
//! loopback port) at its time and not before, on SQLite and PostgreSQL; a
//! findings export into subdirectories of the export directory that the
//! first run makes; who may schedule; and two servers sharing one
//! PostgreSQL running each due time once.

use std::path::Path;
use std::time::{Duration, Instant};

use kensa_server::export::{ExportConfig, S3, S3Config};
use kensa_store::{AssetKind, AssetUpsert, Db, Timestamp};
use kensa_testkit::db::{Backend, backends};
use kensa_testkit::server::{Auth, Reply, TestServer};
use serde_json::{Value, json};

use crate::support::{s3s_fs, start_s3};

fn set_clock(file: &Path, at: &str) {
    std::fs::write(file, at).expect("clock file");
}

/// An instant as the API writes it.
fn iso(at: &str) -> String {
    Timestamp::parse_rfc3339(at).expect("time").to_rfc3339()
}

fn post(s: &TestServer, token: &str, body: &Value) -> Reply {
    s.call(
        "POST",
        "/api/v1/schedules",
        Auth::Bearer(token),
        Some(body.clone()),
    )
}

fn schedule(s: &TestServer, id: i64) -> Value {
    s.get(&format!("/api/v1/schedules/{id}"))
}

/// Waits (60 s at most) until schedule `id`'s last export is done; its id.
fn wait_export(s: &TestServer, id: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let v = schedule(s, id);
        if let Some(job) = v["last_export"].as_i64() {
            let e = s.get(&format!("/api/v1/exports/{job}"));
            match e["status"].as_str() {
                Some("done") => return e,
                Some("failed") => panic!("scheduled export failed: {e}"),
                _ => {}
            }
        }
        assert!(
            Instant::now() < deadline,
            "schedule {id} delivered nothing in 60 s: {v}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn add_asset(backend: &kensa_store::Backend, name: &str) {
    let db = Db::open(backend).expect("db");
    db.upsert_asset(&AssetUpsert {
        kind: AssetKind::Host,
        name: name.into(),
        hostname: Some(name.into()),
        machine_id: Some(format!("{:032x}", name.len())),
        image_id: None,
        os_id: Some("debian".into()),
        os_release: Some("12".into()),
        seen_at: Timestamp::now(),
    })
    .expect("asset");
}

fn start(backend: &Backend, clock: &Path, export_dir: &Path, s3: Option<S3Config>) -> TestServer {
    TestServer::builder(backend)
        .no_kb()
        .workers(1)
        .exports(ExportConfig {
            dir: Some(export_dir.to_owned()),
            kek_file: None,
            s3,
        })
        .clock_file(clock)
        .start()
}

#[test]
#[ignore = "needs s3s-fs (scripts/setup)"]
fn a_register_report_reaches_s3_at_its_time_on_both_backends() {
    let Some(bin) = s3s_fs() else {
        return;
    };
    let s3srv = start_s3(&bin);
    let s3 = S3::new(s3srv.cfg.clone());
    s3.create_bucket("reports").expect("bucket");
    for (n, backend) in backends().into_iter().enumerate() {
        let dir = tempfile::tempdir().expect("dir");
        let clock = dir.path().join("clock");
        // 08:58 in Tokyo.
        set_clock(&clock, "2026-12-07T23:58:00Z");
        let s = start(
            &backend,
            &clock,
            &dir.path().join("exports"),
            Some(s3srv.cfg.clone()),
        );
        add_asset(&s.running().backend, "web-1");
        let analyst = s.api_token("ana", "analyst");
        let viewer = s.api_token("vic", "viewer");
        let prefix = format!("register/{n}");
        let def = json!({
            "name": "daily register",
            "cron": "0 9 * * *",
            "timezone": "Asia/Tokyo",
            "source": "assets",
            "format": "csv",
            "lang": "ja",
            "delivery": {"type": "s3", "bucket": "reports", "prefix": prefix},
        });
        // The export role rule: a viewer may not send exports to S3.
        let r = post(&s, &viewer, &def);
        assert_eq!(r.status, 403, "{}", r.text());
        // Bad definitions are refused naming the field.
        for (field, bad) in [
            ("cron", json!("0 25 * * *")),
            ("cron", json!("0 9 * *")),
            ("timezone", json!("Mars/Olympus")),
            ("filter", json!("severity>>HIGH")),
        ] {
            let mut d = def.clone();
            d[field] = bad;
            let r = post(&s, &analyst, &d);
            assert_eq!(r.status, 400, "{field}: {}", r.text());
            assert!(
                r.json()["error"].as_str().unwrap_or("").starts_with(field),
                "{field}: {}",
                r.text()
            );
        }
        let r = post(&s, &analyst, &def);
        assert_eq!(r.status, 201, "{}", r.text());
        let id = r.json()["id"].as_i64().expect("id");
        assert_eq!(
            r.json()["next_due"],
            iso("2026-12-08T00:00:00Z"),
            "09:00 Tokyo"
        );
        // Before its time: nothing runs.
        std::thread::sleep(Duration::from_secs(5));
        assert!(schedule(&s, id)["last_export"].is_null());
        // Past it: delivered, once.
        set_clock(&clock, "2026-12-08T00:00:20Z");
        let done = wait_export(&s, id);
        let job = done["id"].as_i64().expect("job");
        let key = format!("{prefix}/kensa-export-{job}.csv");
        assert_eq!(done["object"], format!("s3://reports/{key}"), "{done}");
        let obj = s3.get("reports", &key).expect("the object is in the store");
        let text = String::from_utf8(obj.body).expect("utf-8");
        assert!(text.lines().count() >= 2, "a header and the asset: {text}");
        assert!(text.contains("web-1"), "{text}");
        let v = schedule(&s, id);
        assert_eq!(v["next_due"], iso("2026-12-09T00:00:00Z"));
        assert_eq!(v["runs"].as_array().expect("runs").len(), 1, "{v}");
        // The analyst who made it sees it; the viewer does not.
        let r = s.call(
            "GET",
            &format!("/api/v1/schedules/{id}"),
            Auth::Bearer(&viewer),
            None,
        );
        assert_eq!(r.status, 404);
        let r = s.call("GET", "/api/v1/schedules", Auth::Bearer(&analyst), None);
        assert_eq!(r.json()["schedules"].as_array().expect("list").len(), 1);
        std::thread::sleep(Duration::from_secs(3));
        assert_eq!(
            schedule(&s, id)["runs"].as_array().expect("runs").len(),
            1,
            "still once"
        );
    }
}

#[test]
fn a_path_delivery_makes_its_subdirectories_under_the_export_directory() {
    for backend in backends() {
        let dir = tempfile::tempdir().expect("dir");
        let clock = dir.path().join("clock");
        set_clock(&clock, "2026-12-07T09:59:00Z");
        let exports = dir.path().join("exports");
        let s = start(&backend, &clock, &exports, None);
        let analyst = s.api_token("ana", "analyst");
        let def = |d: &str| {
            json!({
                "name": format!("weekly {d}"),
                "cron": "0 10 * * *",
                "source": "findings",
                "format": "json",
                "filter": "severity>=HIGH",
                "delivery": {"type": "path", "dir": d},
            })
        };
        for bad in ["../out", "/tmp", "a/../../out"] {
            let r = post(&s, &analyst, &def(bad));
            assert_eq!(r.status, 400, "{bad}: {}", r.text());
        }
        assert!(!dir.path().join("out").exists());
        let r = post(&s, &analyst, &def("weekly/2026"));
        assert_eq!(r.status, 201, "{}", r.text());
        let id = r.json()["id"].as_i64().expect("id");
        assert!(
            !exports.join("weekly").exists(),
            "made by the run, not before"
        );
        set_clock(&clock, "2026-12-07T10:00:05Z");
        let done = wait_export(&s, id);
        let job = done["id"].as_i64().expect("job");
        let file = exports.join(format!("weekly/2026/kensa-export-{job}.json"));
        let body = std::fs::read_to_string(&file).expect("the export file");
        let v: Value = serde_json::from_str(&body).expect("JSON");
        assert!(v.is_array(), "{body}");
    }
}

#[test]
fn two_servers_on_one_postgresql_run_each_due_time_once() {
    let Some(backend) = Backend::postgres() else {
        eprintln!("skipped: KENSA_TEST_PG is not set");
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let clock = dir.path().join("clock");
    set_clock(&clock, "2026-12-07T10:04:30Z");
    let a = start(&backend, &clock, &dir.path().join("a"), None);
    let b = start(&backend, &clock, &dir.path().join("b"), None);
    let analyst = a.api_token("ana", "analyst");
    let r = post(
        &a,
        &analyst,
        &json!({
            "name": "every five minutes",
            "cron": "*/5 * * * *",
            "source": "findings",
            "format": "csv",
            "delivery": {"type": "path", "dir": "five"},
        }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_i64().expect("id");
    for (i, at) in ["2026-12-07T10:05:01Z", "2026-12-07T10:10:01Z"]
        .iter()
        .enumerate()
    {
        set_clock(&clock, at);
        let deadline = Instant::now() + Duration::from_secs(60);
        while schedule(&a, id)["runs"].as_array().map_or(0, Vec::len) < i + 1 {
            assert!(Instant::now() < deadline, "run {} never came", i + 1);
            std::thread::sleep(Duration::from_millis(200));
        }
        wait_export(&a, id);
        // Both schedulers polled past the due time several times.
        std::thread::sleep(Duration::from_secs(5));
    }
    let v = schedule(&a, id);
    let runs = v["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2, "{v}");
    let db = Db::open(&a.running().backend).expect("db");
    let jobs: Vec<_> = db
        .jobs(Some(kensa_store::EXPORT_JOB))
        .expect("jobs")
        .into_iter()
        .filter(|j| j.payload["schedule"] == id)
        .collect();
    assert_eq!(jobs.len(), 2, "one export per due time: {jobs:?}");
    let files: usize = ["a", "b"]
        .iter()
        .map(|d| {
            std::fs::read_dir(dir.path().join(d).join("five"))
                .map(|r| {
                    r.filter_map(Result::ok)
                        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                        .count()
                })
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(files, 2, "two files between the two servers");
    drop(b);
}
