//! Observability against the real server on loopback, on SQLite and
//! PostgreSQL: `/metrics` parsed by the Prometheus project's own Python
//! client (`prometheus_client.parser`, installed by scripts/setup), its
//! values compared with the store after a real agent report and its
//! evaluation; who may read it (the metrics token, an admin, nobody else);
//! the separate `--metrics-listen` address; `/healthz` and `/readyz`.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use kensa_server::observe::ObserveConfig;
use kensa_store::{Db, Filter, FindingId, Status, Timestamp};
use kensa_testkit::db::backends;
use kensa_testkit::roots::AlpineRoot;
use kensa_testkit::server::{Auth, TestServer};
use serde_json::{Value, json};

const METRICS_TOKEN: &str = "kmt_observe_test_token_0123456789";

/// One sample as the parser read it.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses `text` with `prometheus_client.parser.text_string_to_metric_families`.
fn parse(text: &str) -> Vec<Sample> {
    let python = kensa_testkit::cache_dir().join("venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup",
        python.display()
    );
    let script = "import sys, json\n\
        from prometheus_client.parser import text_string_to_metric_families\n\
        out = []\n\
        for fam in text_string_to_metric_families(sys.stdin.read()):\n\
        \x20   for s in fam.samples:\n\
        \x20       out.append([s.name, s.labels, s.value, fam.type])\n\
        json.dump(out, sys.stdout)\n";
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write metrics");
    let out = child.wait_with_output().expect("python runs");
    assert!(
        out.status.success(),
        "prometheus_client refused the text: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Vec<Value> = serde_json::from_slice(&out.stdout).expect("parser output");
    v.into_iter()
        .map(|s| Sample {
            name: s[0].as_str().expect("name").to_owned(),
            labels: serde_json::from_value(s[1].clone()).expect("labels"),
            value: s[2].as_f64().expect("value"),
        })
        .collect()
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

fn metrics(s: &TestServer, auth: Auth<'_>) -> (u16, String) {
    let r = s.call("GET", "/metrics", auth, None);
    (r.status, r.text())
}

#[test]
#[ignore = "needs prometheus_client in the cache's venv (scripts/setup)"]
fn metrics_parse_and_match_the_store_on_both_backends() {
    for backend in backends() {
        let s = TestServer::builder(&backend)
            .observe(ObserveConfig {
                metrics_token: Some(METRICS_TOKEN.into()),
                metrics_listen: None,
            })
            .start();
        // A real report and its evaluation: the ingest, the evaluation job
        // and the findings all come from it.
        let dir = tempfile::tempdir().expect("dir");
        let root = AlpineRoot::new().write(&dir.path().join("root"));
        let cfg = s.agent_config(&root, &dir.path().join("state"));
        let creds = kensa_agent::enroll(&cfg, &s.enrollment_token()).expect("enroll");
        let asset: i64 = creds.asset_id.parse().expect("asset id");
        let t0 = Timestamp::now().unix_ms();
        kensa_agent::run_once(&cfg).expect("report");
        s.wait_evaluated(asset, t0);

        let db = Db::open(&s.running().backend).expect("db");
        // The job is marked done just after its findings are applied.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while db
            .jobs(Some("evaluate"))
            .expect("jobs")
            .iter()
            .any(|j| j.state != kensa_store::JobState::Done)
        {
            assert!(
                std::time::Instant::now() < deadline,
                "evaluation job not done"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        // Two findings suppressed, so that two statuses are counted.
        let page = s.get(&format!("/api/v1/findings?filter=asset_id={asset}&limit=2"));
        for f in page["findings"].as_array().expect("findings") {
            let id = f["id"].as_i64().expect("finding id");
            db.set_status(FindingId(id), Status::Suppressed, Timestamp::now())
                .expect("suppress");
        }
        // Jobs of a kind no worker claims: a queue that does not move.
        for i in 0..3 {
            db.enqueue("observe-test", &json!({ "i": i }), None)
                .expect("enqueue");
        }
        // Requests to a templated route, with two different ids.
        for path in ["/api/v1/assets/1", "/api/v1/assets/999999"] {
            s.call("GET", path, Auth::Bearer(&s.admin), None);
        }

        let (status, text) = metrics(&s, Auth::Bearer(METRICS_TOKEN));
        assert_eq!(status, 200, "{text}");
        let samples = parse(&text);

        // Findings by status: as the store counts them with the filter
        // language (another statement than the metrics' GROUP BY).
        for st in ["ACTIVE", "SUPPRESSED", "CLOSED"] {
            let want = db
                .count_findings(&Filter::parse(&format!("status={st}")).expect("filter"))
                .expect("count");
            let got = value(&samples, "kensa_findings", &[("status", st)]).unwrap_or(0.0);
            assert_eq!(
                got,
                want as f64,
                "{}: findings {st}\n{text}",
                s.running().backend
            );
        }
        assert_eq!(
            value(&samples, "kensa_findings", &[("status", "SUPPRESSED")]),
            Some(2.0)
        );
        assert!(value(&samples, "kensa_findings", &[("status", "ACTIVE")]).unwrap_or(0.0) > 0.0);
        // Queue depth and age of the jobs nobody claims.
        let queued = db
            .jobs(Some("observe-test"))
            .expect("jobs")
            .into_iter()
            .filter(|j| j.state == kensa_store::JobState::Queued)
            .count();
        assert_eq!(queued, 3);
        assert_eq!(
            value(
                &samples,
                "kensa_queue_jobs",
                &[("kind", "observe-test"), ("state", "queued")]
            ),
            Some(queued as f64),
            "{text}"
        );
        let age = value(
            &samples,
            "kensa_queue_oldest_age_seconds",
            &[("kind", "observe-test")],
        )
        .expect("oldest age");
        assert!((0.0..600.0).contains(&age), "age {age}");
        // The notification backlog: every state reported; the dead
        // letters (which nothing moves while no rule exists) as stored.
        let backlog = db.outbox_backlog().expect("backlog");
        for state in ["unmatched", "pending", "dead"] {
            assert!(
                value(&samples, "kensa_outbox_backlog", &[("state", state)]).is_some(),
                "kensa_outbox_backlog {state}\n{text}"
            );
        }
        assert_eq!(
            value(&samples, "kensa_outbox_backlog", &[("state", "dead")]),
            Some(backlog.dead as f64),
            "{text}"
        );
        // The report was an ingest, answered with a success, and timed.
        let ingested: f64 = samples
            .iter()
            .filter(|x| x.name == "kensa_ingest_reports_total")
            .filter(|x| x.labels.get("status").is_some_and(|c| c.starts_with('2')))
            .map(|x| x.value)
            .sum();
        assert!(ingested >= 1.0, "{text}");
        assert!(value(&samples, "kensa_ingest_duration_seconds_count", &[]).unwrap_or(0.0) >= 1.0);
        // The evaluation ran on this server and was timed.
        assert!(
            value(
                &samples,
                "kensa_jobs_finished_total",
                &[("kind", "evaluate"), ("outcome", "done")]
            )
            .unwrap_or(0.0)
                >= 1.0,
            "{text}"
        );
        assert!(
            value(
                &samples,
                "kensa_job_duration_seconds_count",
                &[("kind", "evaluate")]
            )
            .unwrap_or(0.0)
                >= 1.0
        );
        // Requests by route template and status, never by raw path (the
        // wait for the evaluation read the asset too).
        assert!(
            value(
                &samples,
                "kensa_http_requests_total",
                &[("route", "/api/v1/assets/{id}"), ("status", "200")]
            )
            .unwrap_or(0.0)
                >= 1.0,
            "{text}"
        );
        assert_eq!(
            value(
                &samples,
                "kensa_http_requests_total",
                &[("route", "/api/v1/assets/{id}"), ("status", "404")]
            ),
            Some(1.0)
        );
        assert!(
            !samples
                .iter()
                .any(|x| x.labels.get("route").is_some_and(|r| r.contains("999999"))),
            "a raw path became a label"
        );
        // The knowledge base was built by this test process: minutes old.
        let kb_age = value(&samples, "kensa_kb_age_seconds", &[]).expect("kb age");
        assert!((0.0..24.0 * 3600.0).contains(&kb_age), "kb age {kb_age}");
        assert_eq!(value(&samples, "kensa_store_read_ok", &[]), Some(1.0));
    }
}

#[test]
fn metrics_are_refused_without_the_token_or_an_admin() {
    for backend in backends() {
        let s = TestServer::builder(&backend)
            .no_kb()
            .observe(ObserveConfig {
                metrics_token: Some(METRICS_TOKEN.into()),
                metrics_listen: None,
            })
            .start();
        assert_eq!(metrics(&s, Auth::None).0, 401);
        assert_eq!(
            metrics(&s, Auth::Bearer("kmt_observe_test_token_0123456780")).0,
            401,
            "a token differing in its last character"
        );
        let viewer = s.api_token("vic", "viewer");
        assert_eq!(metrics(&s, Auth::Bearer(&viewer)).0, 403);
        let analyst = s.api_token("ann", "analyst");
        assert_eq!(metrics(&s, Auth::Bearer(&analyst)).0, 403);
        assert_eq!(metrics(&s, Auth::Bearer(&s.admin)).0, 200);
        let (status, text) = metrics(&s, Auth::Bearer(METRICS_TOKEN));
        assert_eq!(status, 200);
        assert!(
            text.contains("# TYPE kensa_http_requests_total counter"),
            "{text}"
        );
        // The refusals above were counted, under the route's template.
        assert!(
            text.contains(
                "kensa_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"401\"} 2"
            ),
            "{text}"
        );
    }
}

#[test]
fn a_separate_metrics_address_serves_only_metrics_and_probes() {
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port");
    let s = TestServer::builder(&kensa_testkit::db::Backend::Sqlite)
        .no_kb()
        .observe(ObserveConfig {
            metrics_token: Some(METRICS_TOKEN.into()),
            metrics_listen: Some(free),
        })
        .start();
    let addr = s.running().metrics_addr.expect("metrics address");
    let plain = ureq::AgentBuilder::new().build();
    let get = |path: &str, token: Option<&str>| {
        let mut r = plain.get(&format!("http://{addr}{path}"));
        if let Some(t) = token {
            r = r.set("Authorization", &format!("Bearer {t}"));
        }
        match r.call() {
            Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
            Err(ureq::Error::Status(c, r)) => (c, r.into_string().unwrap_or_default()),
            Err(e) => panic!("GET {path}: {e}"),
        }
    };
    let (status, text) = get("/metrics", Some(METRICS_TOKEN));
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("kensa_store_read_ok 1"), "{text}");
    assert_eq!(
        get("/metrics", None).0,
        401,
        "the token is asked for there too"
    );
    assert_eq!(
        get("/metrics", Some(&s.admin)).0,
        401,
        "only the metrics token"
    );
    assert_eq!(get("/healthz", None).0, 200);
    assert_eq!(get("/api/v1/assets", Some(&s.admin)).0, 404, "no API there");
    assert_eq!(get("/", None).0, 404, "no console there");
}

#[test]
fn readiness_needs_the_database_and_a_knowledge_base() {
    for backend in backends() {
        let s = TestServer::builder(&backend).no_kb().start();
        let r = s.call("GET", "/healthz", Auth::None, None);
        assert_eq!(r.status, 200);
        let r = s.call("GET", "/readyz", Auth::None, None);
        assert_eq!(r.status, 503, "{}", r.text());
        let reasons = r.json()["reasons"].to_string();
        assert!(reasons.contains("knowledge base"), "{reasons}");
        assert!(!reasons.contains("database"), "{reasons}");
    }
    let s = TestServer::start(&kensa_testkit::db::Backend::Sqlite);
    let r = s.call("GET", "/readyz", Auth::None, None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["ready"], true);
}

#[test]
fn readiness_fails_when_the_database_is_gone() {
    let Some(backend) = kensa_testkit::db::Backend::postgres() else {
        eprintln!("skipped: KENSA_TEST_PG is not set");
        return;
    };
    let s = TestServer::builder(&backend)
        .no_kb()
        .capacity(kensa_server::Capacity {
            db_wait: std::time::Duration::from_secs(2),
            ..Default::default()
        })
        .start();
    // The server's database dropped under it (connections ended first).
    let url = backend.url().expect("url");
    let name = url.rsplit('/').next().expect("db name").to_owned();
    let admin = std::env::var("KENSA_TEST_PG").expect("KENSA_TEST_PG");
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).expect("admin connection");
    c.execute(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"), &[])
        .expect("drop");
    let r = s.call("GET", "/readyz", Auth::None, None);
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(
        r.json()["reasons"].to_string().contains("database"),
        "{}",
        r.text()
    );
}
