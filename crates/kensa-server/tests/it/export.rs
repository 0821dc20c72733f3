//! Exports against the real server on loopback (TLS), on SQLite and on
//! PostgreSQL: 100,000 stored findings exported as CSV through the API and
//! parsed back (header = Amazon Inspector's columns from the reference
//! list; every row matched with the store), JSON parsed back to the same
//! findings, background jobs (one at a time per user, downloads, local
//! paths confined to the export directory), who may export; and the S3
//! destination against a real S3-compatible server, s3s-fs, started here
//! on a loopback port: SSE-KMS headers, and client-side envelope
//! encryption that decrypts back to exactly the export.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kensa_detect::{Band, Detection, Finding, PackageRef, Status as VendorStatus};
use kensa_server::export::{ExportConfig, Kek, S3, S3Config};
use kensa_store::{AssetKind, AssetUpsert, Backend, Db, Management, Timestamp};
use kensa_testkit::Lcg;
use kensa_testkit::db::Backend as TestBackend;
use kensa_testkit::server::{Auth, Reply, TestServer};

use crate::support::{s3s_fs, start_s3};
use serde_json::{Value, json};

fn finding(rng: &mut Lcg, i: usize) -> Finding {
    let bands = [
        Band::Critical,
        Band::High,
        Band::Medium,
        Band::Low,
        Band::Informational,
        Band::Untriaged,
    ];
    let name = format!("pkg{}", rng.below(300));
    let version = format!("1.{}-{}", rng.below(20), rng.below(5));
    let mut cvss = Vec::new();
    if rng.below(4) > 0 {
        cvss.push(kensa_detect::CvssScore {
            source: "nvd@nist.gov".into(),
            version: "3.1".into(),
            vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into(),
            base_score: rng.below(101) as f64 / 10.0,
            temporal_score: None,
            environmental_score: None,
        });
    }
    Finding {
        vulnerability_id: format!("CVE-2026-{i:06}"),
        aliases: vec![],
        advisories: vec![],
        title: Some(format!("{name}: a flaw, \"quoted\", with a comma")),
        description: i
            .is_multiple_of(7)
            .then(|| "line one\nline two, with \"quotes\"".to_owned()),
        published: None,
        package: PackageRef {
            name: name.clone(),
            kind: "deb".into(),
            version: version.clone(),
            installed_version: version.clone(),
            arch: (!i.is_multiple_of(3)).then(|| "amd64".to_owned()),
            purl: format!("pkg:deb/debian/{name}@{version}"),
            path: "var/lib/dpkg/status".into(),
            ..PackageRef::default()
        },
        fixed_version: (rng.below(4) > 0).then(|| "99.0".to_owned()),
        status: VendorStatus::Fixed,
        detection: Detection {
            method: "source-package".into(),
            namespace: "debian:12".into(),
            confidence: "high".into(),
            notes: vec![],
        },
        severity: bands[rng.below(6) as usize],
        vendor_severity: None,
        cvss,
        score: None,
        epss: (rng.below(2) == 0).then(|| kensa_detect::EpssScore {
            score: rng.below(1000) as f64 / 1000.0,
            percentile: 0.5,
            date: "2026-11-29".into(),
        }),
        kev: None,
        references: vec!["https://example.org/a".into()],
        remediation: Some(format!("apt-get install --only-upgrade {name}")),
    }
}

/// `assets` assets with `per_asset` findings each, through the real write
/// path; a few findings suppressed so that statuses vary.
fn populate(db: &Db, assets: usize, per_asset: usize) {
    let mut rng = Lcg(7);
    let mut n = 0;
    for a in 0..assets {
        let id = db
            .upsert_asset(&AssetUpsert {
                kind: if a % 10 == 9 {
                    AssetKind::Image
                } else {
                    AssetKind::Host
                },
                name: if a % 10 == 9 {
                    format!("registry.example/app{a}:1.{a}")
                } else {
                    format!("host{a}")
                },
                hostname: Some(format!("host{a}")),
                machine_id: Some(format!("{a:032x}")),
                image_id: (a % 10 == 9).then(|| format!("sha256:{a:064x}")),
                os_id: Some("debian".into()),
                os_release: Some("12".into()),
                seen_at: Timestamp::now(),
            })
            .expect("asset");
        if a % 4 == 0 {
            db.set_management(
                id,
                &Management {
                    tags: vec![format!("team=t{}", a % 3), "env=prod".into()],
                    ..Management::default()
                },
                Timestamp::now(),
            )
            .expect("management");
        }
        let fs: Vec<Finding> = (0..per_asset)
            .map(|_| {
                n += 1;
                finding(&mut rng, n)
            })
            .collect();
        db.apply_evaluation(id, &fs, Timestamp::now())
            .expect("evaluation");
    }
    // Some suppressed, so that the Status column is checked for real.
    for f in db
        .findings(None, None)
        .expect("findings")
        .iter()
        .step_by(97)
    {
        db.set_status(f.id, kensa_store::Status::Suppressed, Timestamp::now())
            .expect("suppress");
    }
}

/// The test server, with the directory its path exports go to.
struct Server {
    srv: TestServer,
    export_dir: PathBuf,
}

impl std::ops::Deref for Server {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.srv
    }
}

/// Starts a server whose database already holds `assets × per_asset`
/// findings.
fn start(
    backend: &TestBackend,
    assets: usize,
    per_asset: usize,
    s3: Option<S3Config>,
    kek: Option<PathBuf>,
) -> Server {
    let b = TestServer::builder(backend).no_kb().workers(1);
    let server_dir = b.server_dir();
    std::fs::create_dir_all(&server_dir).expect("mkdir");
    let store = match backend.url() {
        Some(url) => Backend::Postgres(url),
        None => Backend::Sqlite(server_dir.join("kensa.db")),
    };
    let t = Instant::now();
    populate(&Db::open(&store).expect("open"), assets, per_asset);
    eprintln!(
        "{} findings stored in {:.1} s",
        assets * per_asset,
        t.elapsed().as_secs_f64()
    );
    let export_dir = b.data_dir().join("exports");
    let srv = b
        .exports(ExportConfig {
            dir: Some(export_dir.clone()),
            kek_file: kek,
            s3,
        })
        .timeout(Duration::from_secs(300))
        .start();
    assert!(!srv.admin.is_empty(), "first start: a token");
    Server { srv, export_dir }
}

fn auth(token: Option<&str>) -> Auth<'_> {
    token.map_or(Auth::None, Auth::Bearer)
}

impl Server {
    fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.srv.call("GET", path, auth(token), None)
    }

    fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.srv.call("POST", path, auth(token), Some(body.clone()))
    }

    fn token(&self, name: &str, role: &str) -> String {
        self.api_token(name, role)
    }

    fn agent_token(&self) -> String {
        let et = self.enrollment_token();
        let r = self.post(
            "/api/v1/agents/enroll",
            None,
            &json!({"enrollment_token": et, "hostname": "agent-host", "machine_id": "ffff"}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["token"].as_str().expect("token").to_owned()
    }

    /// Polls an export job until it is done or failed.
    fn wait(&self, id: i64, token: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let r = self.get(&format!("/api/v1/exports/{id}"), Some(token));
            assert_eq!(r.status, 200, "{}", r.text());
            let v = r.json();
            if v["status"] == "done" || v["status"] == "failed" {
                return v;
            }
            assert!(Instant::now() < deadline, "export {id} never finished: {v}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn reference_columns() -> Vec<String> {
    let path = kensa_testkit::reference_dir().join("inspector-findings-report-columns.txt");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

type Key = (String, String, String);

/// What the store says each CSV row must carry, by (Resource ID,
/// Vulnerability Id, Affected Packages).
fn expected_rows(db: &Db) -> HashMap<Key, (String, String, String)> {
    db.findings(None, None)
        .expect("findings")
        .into_iter()
        .map(|f| {
            let p = &f.finding.package;
            let arch = p
                .arch
                .as_deref()
                .map(|a| format!(".{a}"))
                .unwrap_or_default();
            (
                (
                    f.asset.0.to_string(),
                    f.vulnerability_id.clone(),
                    format!("{}-{}{arch}", p.name, p.installed_version),
                ),
                (
                    f.severity.as_str().to_owned(),
                    f.status.as_str().to_owned(),
                    f.fixed_version
                        .clone()
                        .unwrap_or_else(|| "NotAvailable".into()),
                ),
            )
        })
        .collect()
}

/// Streams the CSV export through the API and checks it against the store
/// row by row; the number of rows.
fn check_csv(srv: &Server, token: &str, store: &Db, filter: &str, want_rows: usize) {
    let res = srv
        .request(
            "GET",
            &format!("/api/v1/findings/export?format=csv&filter={filter}"),
            Auth::Bearer(token),
        )
        .call()
        .expect("export");
    assert_eq!(res.status(), 200);
    assert!(
        res.header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment;") && d.contains(".csv")),
        "{:?}",
        res.header("content-disposition")
    );
    assert_eq!(res.header("content-type"), Some("text/csv; charset=utf-8"));
    let mut rd = csv::Reader::from_reader(res.into_reader());
    let header: Vec<String> = rd
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        reference_columns(),
        "the header is Inspector's, in order"
    );
    let col = |name: &str| header.iter().position(|c| c == name).expect(name);
    let (rid, vid, pkg, sev, st, fix, rt, tags, platform) = (
        col("Resource ID"),
        col("Vulnerability Id"),
        col("Affected Packages"),
        col("Severity"),
        col("Status"),
        col("Fixed in Version"),
        col("Resource Type"),
        col("Resource Tags"),
        col("Platform"),
    );
    let mut want = expected_rows(store);
    let mut rows = 0;
    let mut images = 0;
    let mut tagged = 0;
    for rec in rd.records() {
        let rec = rec.expect("a CSV record");
        assert_eq!(rec.len(), 55);
        let key = (
            rec[rid].to_owned(),
            rec[vid].to_owned(),
            rec[pkg].to_owned(),
        );
        let (severity, status, fixed) = want
            .remove(&key)
            .unwrap_or_else(|| panic!("row {rows}: {key:?} is not a stored finding (or twice)"));
        assert_eq!(rec[sev], severity, "{key:?}");
        assert_eq!(rec[st], status, "{key:?}");
        assert_eq!(rec[fix], fixed, "{key:?}");
        assert_eq!(rec[platform], *"DEBIAN_12");
        images += usize::from(&rec[rt] == "CONTAINER_IMAGE");
        tagged += usize::from(rec[tags].contains("env=prod"));
        rows += 1;
    }
    assert_eq!(rows, want_rows);
    if want_rows == store.findings(None, None).expect("findings").len() {
        assert!(want.is_empty(), "{} findings missing", want.len());
        assert!(images > 0 && tagged > 0);
    }
}

/// Runs the whole export suite on one backend.
fn exports_on(backend: TestBackend) {
    let srv = start(&backend, 100, 1000, None, None);
    let store = Db::open(&match backend.url() {
        Some(u) => Backend::Postgres(u),
        None => Backend::Sqlite(srv.server_dir().join("kensa.db")),
    })
    .expect("open");
    let viewer = srv.token("vera", "viewer");

    // 100,000 findings as CSV, parsed back.
    let t = Instant::now();
    check_csv(&srv, &viewer, &store, "", 100_000);
    eprintln!(
        "CSV of 100,000 findings exported and checked in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // JSON: the full finding objects, the same as stored.
    let r = srv.get(
        "/api/v1/findings/export?format=json&filter=severity%3DCRITICAL&sort=vulnerability_id",
        Some(&viewer),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let arr: Vec<Value> = serde_json::from_slice(&r.body).expect("a JSON array");
    let stored: HashMap<i64, kensa_store::StoredFinding> = store
        .findings(None, None)
        .expect("findings")
        .into_iter()
        .map(|f| (f.id.0, f))
        .collect();
    let critical = stored
        .values()
        .filter(|f| f.severity == Band::Critical)
        .count();
    assert!(critical > 1000);
    assert_eq!(arr.len(), critical);
    let mut last = String::new();
    for v in &arr {
        let id = v["id"].as_i64().expect("id");
        let s = &stored[&id];
        let f: Finding = serde_json::from_value(v["finding"].clone()).expect("a Finding");
        assert_eq!(f, s.finding);
        assert_eq!(v["status"], s.status.as_str());
        assert_eq!(v["asset"]["id"], s.asset.0);
        assert_eq!(v["first_observed"], json!(s.first_observed));
        assert!(v["triage"].is_object());
        let vid = v["finding"]["vulnerability_id"].as_str().expect("id");
        assert!(*vid >= *last, "sorted by vulnerability id");
        last = vid.to_owned();
    }

    // Who may export.
    assert_eq!(srv.get("/api/v1/findings/export", None).status, 401);
    let agent = srv.agent_token();
    assert_eq!(srv.get("/api/v1/findings/export", Some(&agent)).status, 403);
    let r = srv.post(
        "/api/v1/exports",
        Some(&agent),
        &json!({"format": "csv", "destination": {"type": "download"}}),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(
        srv.get("/api/v1/findings/export?format=xml", Some(&viewer))
            .status,
        400
    );

    // Background jobs: one at a time per user.
    let r = srv.post(
        "/api/v1/exports",
        Some(&viewer),
        &json!({"format": "csv", "destination": {"type": "download"}}),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let first = r.json()["id"].as_i64().expect("id");
    let r = srv.post(
        "/api/v1/exports",
        Some(&viewer),
        &json!({"format": "json", "destination": {"type": "download"}}),
    );
    assert_eq!(
        r.status,
        429,
        "a second export while the first is queued or running: {}",
        r.text()
    );
    assert!(r.text().contains("one at a time"), "{}", r.text());
    // Another user is not held up by vera's; an analyst may write to the
    // export directory, a file named by the job.
    let other = srv.token("otto", "analyst");
    let r = srv.post(
        "/api/v1/exports",
        Some(&other),
        &json!({"format": "csv", "filter": "severity=LOW", "destination": {"type": "path"}}),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let low_job = r.json()["id"].as_i64().expect("id");
    // A third user's job waits behind the other two, and is cancelled
    // while it waits: cancelled, and its owner may queue another at once.
    let cara = srv.token("cara", "viewer");
    let r = srv.post(
        "/api/v1/exports",
        Some(&cara),
        &json!({"format": "csv", "destination": {"type": "download"}}),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let waiting = r.json()["id"].as_i64().expect("id");
    let r = srv.post(
        &format!("/api/v1/exports/{waiting}/cancel"),
        Some(&cara),
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "cancelled", "{}", r.text());
    assert_eq!(r.json()["cancelled_by"], "cara");
    let r = srv.post(
        &format!("/api/v1/exports/{waiting}/cancel"),
        Some(&cara),
        &json!({}),
    );
    assert_eq!(r.status, 409, "cancelled once: {}", r.text());
    let r = srv.post(
        "/api/v1/exports",
        Some(&cara),
        &json!({"format": "csv", "destination": {"type": "download"}}),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let queued_again = r.json()["id"].as_i64().expect("id");
    let r = srv.call(
        "DELETE",
        &format!("/api/v1/exports/{queued_again}"),
        auth(Some(&cara)),
        None,
    );
    assert_eq!(r.status, 204, "{}", r.text());
    // Nobody else's job is visible to a viewer; an admin sees all.
    assert_eq!(
        srv.get(&format!("/api/v1/exports/{low_job}"), Some(&viewer))
            .status,
        404
    );
    let done = srv.wait(first, &viewer);
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["rows"], 100_000);
    let dl = srv.get(&format!("/api/v1/exports/{first}/download"), Some(&viewer));
    assert_eq!(dl.status, 200);
    assert_eq!(done["bytes"], dl.body.len());
    assert!(dl.headers["content-disposition"].starts_with("attachment;"));
    let mut rd = csv::Reader::from_reader(dl.body.as_slice());
    assert_eq!(
        rd.headers()
            .expect("header")
            .iter()
            .map(str::to_owned)
            .collect::<Vec<_>>(),
        reference_columns()
    );
    assert_eq!(rd.records().count(), 100_000);
    let low = srv.wait(low_job, &other);
    assert_eq!(low["status"], "done", "{low}");
    let low_file = srv.export_dir.join(format!("kensa-export-{low_job}.csv"));
    assert_eq!(
        low["written_to"].as_str().map(Path::new),
        Some(low_file.canonicalize().expect("canonical").as_path())
    );
    let low_text = std::fs::read_to_string(&low_file).expect("the job's file");
    let low_rows = csv::Reader::from_reader(low_text.as_bytes())
        .records()
        .count();
    let want_low = stored.values().filter(|f| f.severity == Band::Low).count();
    assert_eq!(low_rows, want_low);
    assert_eq!(low["rows"], want_low);
    // Now that vera's export is done, she may start another.
    let r = srv.post(
        "/api/v1/exports",
        Some(&viewer),
        &json!({"format": "json", "filter": "severity=CRITICAL", "destination": {"type": "download"}}),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let second = r.json()["id"].as_i64().expect("id");
    assert_eq!(srv.wait(second, &viewer)["status"], "done");
    let dl = srv.get(&format!("/api/v1/exports/{second}/download"), Some(&viewer));
    let arr: Vec<Value> = serde_json::from_slice(&dl.body).expect("JSON download");
    assert_eq!(arr.len(), critical);
    let mine = srv.get("/api/v1/exports", Some(&viewer)).json();
    let ids: Vec<i64> = mine["exports"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e["id"].as_i64())
        .collect();
    assert_eq!(ids, vec![second, first], "own jobs, newest first");
    let all = srv.get("/api/v1/exports", Some(&srv.admin)).json();
    assert_eq!(
        all["exports"].as_array().expect("list").len(),
        4,
        "vera's two, otto's, cara's cancelled one (the deleted one gone)"
    );

    // Local paths stay inside the export directory, named by the caller
    // once an admin allows it, or in a directory given.
    let r = srv.srv.call(
        "PUT",
        "/api/v1/settings/exports",
        Auth::Bearer(&srv.admin),
        Some(json!({"caller_names": true})),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    for bad in ["../escape.csv", "/tmp/escape.csv", "sub/../../escape.csv"] {
        let r = srv.post(
            "/api/v1/exports",
            Some(&other),
            &json!({"format": "csv", "destination": {"type": "path", "path": bad}}),
        );
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
    for bad in ["..", "/tmp"] {
        let r = srv.post(
            "/api/v1/exports",
            Some(&other),
            &json!({"format": "csv", "destination": {"type": "path", "dir": bad}}),
        );
        assert_eq!(r.status, 400, "dir {bad}: {}", r.text());
    }
    assert!(!srv.export_dir.join("../escape.csv").exists());
    // Without a store configured, S3 is refused up front.
    let r = srv.post(
        "/api/v1/exports",
        Some(&other),
        &json!({"format": "csv", "destination": {"type": "s3", "bucket": "b", "key": "k"}}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
}

#[test]
fn exports_on_sqlite() {
    exports_on(TestBackend::Sqlite);
}

#[test]
fn exports_on_postgres() {
    if let Some(pg) = TestBackend::postgres() {
        exports_on(pg);
    }
}

// ------------------------------------------------------------ S3

#[test]
fn s3_destinations_with_sse_kms_and_client_side_encryption() {
    let Some(bin) = s3s_fs() else {
        return;
    };
    let s3srv = start_s3(&bin);
    let s3 = S3::new(s3srv.cfg.clone());
    s3.create_bucket("exports").expect("create bucket");
    let keys = tempfile::tempdir().expect("keys");
    let kek_path = keys.path().join("kek");
    std::fs::write(&kek_path, hex::encode([42u8; 32])).expect("kek");
    let srv = start(
        &TestBackend::Sqlite,
        20,
        500,
        Some(s3srv.cfg.clone()),
        Some(kek_path.clone()),
    );
    let viewer = srv.token("vera", "analyst");
    let streamed = srv.get("/api/v1/findings/export?format=csv", Some(&viewer));
    assert_eq!(streamed.status, 200);
    // The first object is named by the caller, which an admin allows.
    let r = srv.srv.call(
        "PUT",
        "/api/v1/settings/exports",
        Auth::Bearer(&srv.admin),
        Some(json!({"caller_names": true})),
    );
    assert_eq!(r.status, 200, "{}", r.text());

    // SSE-KMS: the headers go with the PUT and are accepted. s3s-fs does
    // not encrypt at rest (nor keep the headers): the object reads back as
    // sent; AWS S3 would encrypt it under the named key.
    let r = srv.post(
        "/api/v1/exports",
        Some(&viewer),
        &json!({"format": "csv", "destination": {"type": "s3", "bucket": "exports",
            "key": "reports/kms.csv", "encryption": {"type": "sse-kms", "key_id": "alias/kensa-exports"}}}),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let job = srv.wait(r.json()["id"].as_i64().expect("id"), &viewer);
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["rows"], 10_000);
    let obj = s3
        .get("exports", "reports/kms.csv")
        .expect("GET the object");
    assert_eq!(obj.body, streamed.body, "the object is the export");
    assert_eq!(job["bytes"], obj.body.len());
    // Verified after the upload: the store's HEAD answered the PUT's ETag.
    let head = s3.head("exports", "reports/kms.csv").expect("HEAD");
    assert_eq!(head.len, Some(obj.body.len() as u64));
    assert!(head.etag.is_some(), "s3s-fs answers an ETag");

    // Client-side envelope encryption: what is stored is ciphertext, and
    // it decrypts with the KEK to exactly the export. Named by the job,
    // after the prefix given.
    let r = srv.post(
        "/api/v1/exports",
        Some(&viewer),
        &json!({"format": "csv", "destination": {"type": "s3", "bucket": "exports",
            "prefix": "reports/", "encryption": {"type": "client"}}}),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["id"].as_i64().expect("id");
    let job = srv.wait(id, &viewer);
    assert_eq!(job["status"], "done", "{job}");
    let key = format!("reports/kensa-export-{id}.csv.kenc");
    assert_eq!(job["object"], format!("s3://exports/{key}"));
    let obj = s3.get("exports", &key).expect("GET the object");
    assert!(obj.body.starts_with(b"KENSAEX1"));
    assert!(
        !obj.body
            .windows(b"Vulnerability Id".len())
            .any(|w| w == b"Vulnerability Id"),
        "the stored object is not plaintext"
    );
    let kek = Kek::from_file(&kek_path).expect("kek");
    assert_eq!(obj.header("x-amz-meta-kensa-kek-id"), Some(kek.id.as_str()));
    assert!(obj.header("x-amz-meta-kensa-wrapped-key").is_some());
    let mut plain = Vec::new();
    kensa_server::export::decrypt(obj.body.as_slice(), &mut plain, &kek).expect("decrypts");
    assert_eq!(plain, streamed.body, "decrypts to exactly the export");
    let wrong = Kek::new([43u8; 32]);
    let err = kensa_server::export::decrypt(obj.body.as_slice(), Vec::new(), &wrong)
        .expect_err("a wrong KEK must not decrypt");
    assert!(
        err.to_string().contains("wrong key-encryption key"),
        "{err}"
    );
    let mut cut = obj.body.clone();
    cut.truncate(cut.len() - 20);
    assert!(kensa_server::export::decrypt(cut.as_slice(), Vec::new(), &kek).is_err());

    // Wrong credentials: the job fails and says why.
    let bad = S3::new(S3Config {
        secret_key: "not-the-secret".into(),
        ..s3srv.cfg.clone()
    });
    assert!(bad.get("exports", "reports/kms.csv").is_err());
}

// ------------------------------------------------------- limits (issue 13)

impl Server {
    fn put_settings(&self, token: &str, body: Value) -> Reply {
        self.srv.call(
            "PUT",
            "/api/v1/settings/exports",
            Auth::Bearer(token),
            Some(body),
        )
    }

    fn delete(&self, path: &str, token: &str) -> Reply {
        self.srv.call("DELETE", path, Auth::Bearer(token), None)
    }

    /// The server's directory of files kept for download: what is in it.
    fn kept(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.server_dir().join("export-downloads"))
            .expect("export-downloads")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// Polls job `id` until `status` (30 s at most).
    fn wait_for(&self, id: i64, token: &str, status: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let v = self
                .get(&format!("/api/v1/exports/{id}"), Some(token))
                .json();
            if v["status"] == status {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "export {id} not {status} in 30 s: {v}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Who may write where, how files are named, the settings, the per-user
/// byte limit, deletion with the file, retention: through the API of a
/// real server.
fn export_limits_on(backend: TestBackend) {
    let srv = start(&backend, 5, 200, None, None);
    let viewer = srv.token("vera", "viewer");
    let analyst = srv.token("ana", "analyst");
    let csv = json!({"format": "csv", "destination": {"type": "download"}});

    // A viewer downloads, but writes neither to the export directory nor
    // to S3: a path or S3 destination needs the analyst role.
    for dest in [
        json!({"type": "path"}),
        json!({"type": "path", "path": "mine.csv"}),
        json!({"type": "s3", "bucket": "b", "prefix": "p"}),
    ] {
        let r = srv.post(
            "/api/v1/exports",
            Some(&viewer),
            &json!({"format": "csv", "destination": dest}),
        );
        assert_eq!(r.status, 403, "{dest}: {}", r.text());
        assert!(r.text().contains("destination_role"), "{}", r.text());
    }
    // An analyst's file is named by the job unless an admin allows names.
    let r = srv.post(
        "/api/v1/exports",
        Some(&analyst),
        &json!({"format": "csv", "destination": {"type": "path", "path": "mine.csv"}}),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("caller_names"), "{}", r.text());
    let r = srv.post(
        "/api/v1/exports",
        Some(&analyst),
        &json!({"format": "csv", "destination": {"type": "path"}}),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["id"].as_i64().expect("id");
    assert_eq!(srv.wait(id, &analyst)["status"], "done");
    let names: Vec<String> = std::fs::read_dir(&srv.export_dir)
        .expect("export dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec![format!("kensa-export-{id}.csv")]);

    // The settings: anyone reads them, only an admin changes them, and a
    // bad value is a 400 naming the field.
    let r = srv.get("/api/v1/settings/exports", Some(&viewer));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"retention_seconds": 86400, "max_bytes_per_user": 1u64 << 30,
            "destination_role": "analyst", "caller_names": false})
    );
    let r = srv.put_settings(&analyst, json!({"caller_names": true}));
    assert_eq!(r.status, 403, "{}", r.text());
    for (bad, field) in [
        (json!({"retention_seconds": 0}), "retention_seconds"),
        (json!({"max_bytes_per_user": 0}), "max_bytes_per_user"),
        (json!({"destination_role": "agent"}), "destination_role"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let r = srv.put_settings(&srv.admin, bad.clone());
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        assert!(r.text().contains(field), "{bad}: {}", r.text());
    }

    // The byte limit: an export bigger than the room left fails, naming
    // the limit, and keeps nothing.
    let whole = srv.get("/api/v1/findings/export?format=csv", Some(&viewer));
    assert_eq!(whole.status, 200);
    let size = whole.body.len() as u64;
    let r = srv.put_settings(&srv.admin, json!({"max_bytes_per_user": size / 2}));
    assert_eq!(r.status, 200, "{}", r.text());
    let r = srv.post("/api/v1/exports", Some(&viewer), &csv);
    assert_eq!(r.status, 202, "{}", r.text());
    let big = srv.wait(r.json()["id"].as_i64().expect("id"), &viewer);
    assert_eq!(big["status"], "failed", "{big}");
    assert!(
        big["error"]
            .as_str()
            .is_some_and(|e| e.contains("max_bytes_per_user")),
        "{big}"
    );
    assert!(srv.kept().is_empty(), "{:?}", srv.kept());
    // Room for it: done and kept. Once what is kept reaches the limit, a
    // new export is refused up front.
    let r = srv.put_settings(&srv.admin, json!({"max_bytes_per_user": size + size / 2}));
    assert_eq!(r.status, 200, "{}", r.text());
    let r = srv.post("/api/v1/exports", Some(&viewer), &csv);
    assert_eq!(r.status, 202, "{}", r.text());
    let first = r.json()["id"].as_i64().expect("id");
    let done = srv.wait(first, &viewer);
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["bytes"], size);
    assert!(done["expires_at"].as_i64().is_some(), "{done}");
    assert_eq!(srv.kept(), vec![format!("{first}.csv")]);
    let r = srv.put_settings(&srv.admin, json!({"max_bytes_per_user": size}));
    assert_eq!(r.status, 200, "{}", r.text());
    let r = srv.post("/api/v1/exports", Some(&viewer), &csv);
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.text().contains("max_bytes_per_user"), "{}", r.text());
    let list = srv.get("/api/v1/exports", Some(&viewer)).json();
    assert_eq!(list["held_bytes"], size, "{list}");
    let r = srv.put_settings(&srv.admin, json!({"max_bytes_per_user": size + size / 2}));
    assert_eq!(r.status, 200, "{}", r.text());

    // Deleting the job deletes its file (its owner or an admin only).
    let other = srv.token("otto", "viewer");
    let r = srv.delete(&format!("/api/v1/exports/{first}"), &other);
    assert_eq!(r.status, 404, "{}", r.text());
    let r = srv.delete(&format!("/api/v1/exports/{first}"), &viewer);
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(srv.kept().is_empty(), "{:?}", srv.kept());
    assert_eq!(
        srv.get(&format!("/api/v1/exports/{first}"), Some(&viewer))
            .status,
        404
    );
    let r = srv.post("/api/v1/exports", Some(&viewer), &csv);
    assert_eq!(r.status, 202, "room again: {}", r.text());
    let second = r.json()["id"].as_i64().expect("id");
    assert_eq!(srv.wait(second, &viewer)["status"], "done");
    assert_eq!(srv.kept(), vec![format!("{second}.csv")]);

    // Retention: past it, the file is deleted and the job expired.
    let r = srv.put_settings(&srv.admin, json!({"retention_seconds": 1}));
    assert_eq!(r.status, 200, "{}", r.text());
    let expired = srv.wait_for(second, &viewer, "expired");
    assert!(expired["expired_at"].as_i64().is_some(), "{expired}");
    assert!(srv.kept().is_empty(), "{:?}", srv.kept());
    let r = srv.get(&format!("/api/v1/exports/{second}/download"), Some(&viewer));
    assert_eq!(r.status, 410, "{}", r.text());
    assert!(r.text().contains("retention_seconds"), "{}", r.text());
    let list = srv.get("/api/v1/exports", Some(&viewer)).json();
    assert_eq!(list["held_bytes"], 0, "{list}");
    // Retried: the same export again, a new job (kept a day this time, so
    // that it is seen done before it expires).
    let r = srv.put_settings(&srv.admin, json!({"retention_seconds": 86400}));
    assert_eq!(r.status, 200, "{}", r.text());
    let r = srv.post(
        &format!("/api/v1/exports/{second}/retry"),
        Some(&viewer),
        &json!({}),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let again = r.json()["id"].as_i64().expect("id");
    assert_ne!(again, second);
    assert_eq!(srv.wait(again, &viewer)["bytes"], size);

    // Each change of the settings is in the audit trail.
    let audit = srv.get("/api/v1/audit?limit=100", Some(&srv.admin)).json();
    let changes = audit["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["action"] == "export.settings")
        .count();
    assert_eq!(changes, 6, "{audit}");
}

#[test]
fn export_limits_on_sqlite() {
    export_limits_on(TestBackend::Sqlite);
}

#[test]
#[ignore = "needs PostgreSQL (scripts/setup); scripts/test runs it"]
fn export_limits_on_postgres() {
    if let Some(pg) = TestBackend::postgres() {
        export_limits_on(pg);
    }
}

/// Files written to a `path` destination take the server's disk as
/// downloads do (issue 13): they count against the owner's
/// `max_bytes_per_user` while their job is kept, share the room with
/// downloads, and deleting the job deletes the file it named and gives
/// the room back.
fn path_exports_count_against_the_byte_limit_on(backend: TestBackend) {
    let srv = start(&backend, 5, 200, None, None);
    let analyst = srv.token("ana", "analyst");
    let to_path = json!({"format": "csv", "destination": {"type": "path"}});
    let whole = srv.get("/api/v1/findings/export?format=csv", Some(&analyst));
    assert_eq!(whole.status, 200);
    let size = whole.body.len() as u64;
    assert!(size > 10_000, "{size} bytes");
    let r = srv.put_settings(&srv.admin, json!({"max_bytes_per_user": size + size / 2}));
    assert_eq!(r.status, 200, "{}", r.text());
    let files = || -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&srv.export_dir)
            .expect("export dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("kensa-export-"))
            .collect();
        v.sort();
        v
    };

    // The first file fits, and what it holds is counted.
    let r = srv.post("/api/v1/exports", Some(&analyst), &to_path);
    assert_eq!(r.status, 202, "{}", r.text());
    let first = r.json()["id"].as_i64().expect("id");
    let done = srv.wait(first, &analyst);
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["bytes"], size);
    assert_eq!(files(), vec![format!("kensa-export-{first}.csv")]);
    let list = srv.get("/api/v1/exports", Some(&analyst)).json();
    assert_eq!(list["held_bytes"], size, "{list}");

    // A second one does not fit in the half left: it fails naming the
    // limit and leaves no file, not even a temporary one.
    let r = srv.post("/api/v1/exports", Some(&analyst), &to_path);
    assert_eq!(r.status, 202, "{}", r.text());
    let second = srv.wait(r.json()["id"].as_i64().expect("id"), &analyst);
    assert_eq!(second["status"], "failed", "{second}");
    assert!(
        second["error"]
            .as_str()
            .is_some_and(|e| e.contains("max_bytes_per_user")),
        "{second}"
    );
    assert_eq!(files(), vec![format!("kensa-export-{first}.csv")]);

    // At the limit, a new export is refused up front, to a path or for
    // download alike: one room per user.
    let r = srv.put_settings(&srv.admin, json!({"max_bytes_per_user": size}));
    assert_eq!(r.status, 200, "{}", r.text());
    for body in [
        to_path.clone(),
        json!({"format": "csv", "destination": {"type": "download"}}),
    ] {
        let r = srv.post("/api/v1/exports", Some(&analyst), &body);
        assert_eq!(r.status, 413, "{body}: {}", r.text());
        assert!(r.text().contains("max_bytes_per_user"), "{}", r.text());
    }
    // Another user's room is their own.
    let other = srv.token("otto", "analyst");
    let r = srv.post("/api/v1/exports", Some(&other), &to_path);
    assert_eq!(r.status, 202, "{}", r.text());
    let others = r.json()["id"].as_i64().expect("id");
    assert_eq!(srv.wait(others, &other)["status"], "done");

    // Deleting the job deletes the file it named and frees the room.
    let r = srv.delete(&format!("/api/v1/exports/{first}"), &analyst);
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(files(), vec![format!("kensa-export-{others}.csv")]);
    let list = srv.get("/api/v1/exports", Some(&analyst)).json();
    assert_eq!(list["held_bytes"], 0, "{list}");
    let r = srv.post("/api/v1/exports", Some(&analyst), &to_path);
    assert_eq!(r.status, 202, "room again: {}", r.text());
    let third = r.json()["id"].as_i64().expect("id");
    assert_eq!(srv.wait(third, &analyst)["status"], "done");
}

#[test]
fn path_exports_count_against_the_byte_limit_on_sqlite() {
    path_exports_count_against_the_byte_limit_on(TestBackend::Sqlite);
}

#[test]
#[ignore = "needs PostgreSQL (scripts/setup); scripts/test runs it"]
fn path_exports_count_against_the_byte_limit_on_postgres() {
    if let Some(pg) = TestBackend::postgres() {
        path_exports_count_against_the_byte_limit_on(pg);
    }
}

/// A running export cancelled by its owner stops: no file is kept and no
/// temporary file is left, and the job stays cancelled.
fn cancel_a_running_export_on(backend: TestBackend) {
    let srv = start(&backend, 50, 1000, None, None);
    let viewer = srv.token("vera", "viewer");
    let r = srv.post(
        "/api/v1/exports",
        Some(&viewer),
        &json!({"format": "json", "destination": {"type": "download"}}),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["id"].as_i64().expect("id");
    srv.wait_for(id, &viewer, "running");
    let r = srv.post(
        &format!("/api/v1/exports/{id}/cancel"),
        Some(&viewer),
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "cancelled");
    // The worker notices within 10,000 rows and removes its temporary file.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !srv.kept().is_empty() {
        assert!(Instant::now() < deadline, "left behind: {:?}", srv.kept());
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    let v = srv
        .get(&format!("/api/v1/exports/{id}"), Some(&viewer))
        .json();
    assert_eq!(v["status"], "cancelled", "{v}");
    assert!(srv.kept().is_empty(), "{:?}", srv.kept());
    let r = srv.post(
        "/api/v1/exports",
        Some(&viewer),
        &json!({"format": "csv", "filter": "severity=CRITICAL", "destination": {"type": "download"}}),
    );
    assert_eq!(r.status, 202, "{}", r.text());
}

#[test]
fn cancel_a_running_export_on_sqlite() {
    cancel_a_running_export_on(TestBackend::Sqlite);
}

#[test]
#[ignore = "needs PostgreSQL (scripts/setup); scripts/test runs it"]
fn cancel_a_running_export_on_postgres() {
    if let Some(pg) = TestBackend::postgres() {
        cancel_a_running_export_on(pg);
    }
}

/// A loopback HTTP server that answers as an S3 store must not be
/// believed: a redirect (S3's answer for a bucket in another region), or
/// an object acknowledged but then missing or short. Not a real S3: no S3
/// implementation here can be made to answer so, and the point is the
/// client's reading of those answers; s3s-fs above is the real store.
struct FakeS3 {
    port: u16,
    mode: std::sync::Arc<std::sync::Mutex<&'static str>>,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl FakeS3 {
    fn start() -> FakeS3 {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mode = std::sync::Arc::new(std::sync::Mutex::new("301"));
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (m, sn) = (mode.clone(), seen.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut rd = BufReader::new(conn.try_clone().expect("clone"));
                let mut line = String::new();
                if rd.read_line(&mut line).is_err() {
                    continue;
                }
                let mut len = 0usize;
                loop {
                    let mut h = String::new();
                    if rd.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let method = line.split(' ').next().unwrap_or("").to_owned();
                if method != "HEAD" {
                    let mut body = vec![0u8; len];
                    let _ = rd.read_exact(&mut body);
                }
                sn.lock().expect("seen").push(line.trim().to_owned());
                let mode = *m.lock().expect("mode");
                let xml = |code: &str, msg: &str| {
                    format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
                         <Message>{msg}</Message><Endpoint>exports.s3.eu-west-1.amazonaws.com</Endpoint></Error>"
                    )
                };
                let reply = match (mode, method.as_str()) {
                    ("301", _) => {
                        let b = xml(
                            "PermanentRedirect",
                            "The bucket you are attempting to access must be addressed using the specified endpoint.",
                        );
                        format!("HTTP/1.1 301 Moved Permanently\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{b}", b.len())
                    }
                    ("307", _) => {
                        let b = xml("TemporaryRedirect", "Please re-send this request to the specified temporary endpoint.");
                        format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{port}/elsewhere/exports/x\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{b}", b.len())
                    }
                    (_, "PUT") => "HTTP/1.1 200 OK\r\nETag: \"0123456789abcdef\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned(),
                    ("lost", _) => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned(),
                    // "short": the store holds one byte of it.
                    _ => "HTTP/1.1 200 OK\r\nETag: \"0123456789abcdef\"\r\nContent-Length: 1\r\nConnection: close\r\n\r\n".to_owned(),
                };
                let _ = conn.write_all(reply.as_bytes());
            }
        });
        FakeS3 { port, mode, seen }
    }
}

#[test]
fn s3_redirects_and_objects_not_stored_are_failures() {
    let fake = FakeS3::start();
    let srv = start(
        &TestBackend::Sqlite,
        2,
        100,
        Some(S3Config {
            endpoint: format!("http://127.0.0.1:{}", fake.port),
            region: "us-east-1".into(),
            access_key: "ak".into(),
            secret_key: "sk".into(),
        }),
        None,
    );
    let analyst = srv.token("ana", "analyst");
    for (mode, says) in [
        ("301", "HTTP 301 PermanentRedirect"),
        ("307", "HTTP 307 TemporaryRedirect"),
        ("lost", "HEAD"),
        ("short", "1 bytes"),
    ] {
        *fake.mode.lock().expect("mode") = mode;
        fake.seen.lock().expect("seen").clear();
        let r = srv.post(
            "/api/v1/exports",
            Some(&analyst),
            &json!({"format": "csv", "destination": {"type": "s3", "bucket": "exports", "prefix": "r"}}),
        );
        assert_eq!(r.status, 202, "{}", r.text());
        let job = srv.wait(r.json()["id"].as_i64().expect("id"), &analyst);
        assert_eq!(job["status"], "failed", "{mode}: {job}");
        assert!(
            job["error"].as_str().is_some_and(|e| e.contains(says)),
            "{mode}: {job}"
        );
        let seen = fake.seen.lock().expect("seen").clone();
        assert!(
            seen.iter().all(|l| !l.contains("/elsewhere/")),
            "{mode}: a redirect was followed: {seen:?}"
        );
        assert!(
            seen[0].starts_with("PUT /exports/r/kensa-export-"),
            "{seen:?}"
        );
    }
    // Nothing left on the server's disk by the failed uploads.
    let left: Vec<_> = std::fs::read_dir(srv.server_dir().join("export-downloads"))
        .expect("dir")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
