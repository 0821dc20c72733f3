//! The server's logs: `kensa server --log-format json` at `KENSA_LOG=trace`
//! writes one JSON object per line on standard error, and no secret the
//! server was given or handed out (tokens, passwords, the S3 secret key,
//! the export key, session cookies, Authorization headers) appears in
//! them, after a run that used each of them, failures included.

use std::ffi::OsStr;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::support::server::Server;

/// `curl` against the server: (status, body).
fn curl(server: &Server, args: &[&str]) -> (u16, String) {
    let o = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", "--cacert"])
        .arg(server.ca())
        .args(args)
        .output()
        .expect("curl runs");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let (body, code) = out.rsplit_once('\n').unwrap_or(("", &out));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

#[test]
fn json_logs_hold_no_secret_even_at_trace_level() {
    let dir = tempfile::tempdir().expect("dir");
    let metrics_token = "kmt_logtest_metrics_secret_0123456789abcdef";
    let token_file = dir.path().join("metrics-token");
    std::fs::write(&token_file, format!("{metrics_token}\n")).expect("token file");
    let kek_hex = "6b".repeat(32);
    let kek_file = dir.path().join("kek");
    std::fs::write(&kek_file, &kek_hex).expect("kek file");
    let s3_secret = "s3SecretKeyLogTest/abcdefghijklmnopqrstuvwx";
    let s3_access = "AKIALOGTESTACCESSKEY";
    let mut server = Server::start_with_env(
        dir.path(),
        None,
        &[
            OsStr::new("--log-format"),
            OsStr::new("json"),
            OsStr::new("--metrics-token-file"),
            token_file.as_os_str(),
            OsStr::new("--export-kek-file"),
            kek_file.as_os_str(),
        ],
        &[
            ("KENSA_LOG", "trace"),
            ("AWS_ACCESS_KEY_ID", s3_access),
            ("AWS_SECRET_ACCESS_KEY", s3_secret),
            ("AWS_REGION", "us-east-1"),
            // Nothing listens there: the export fails, and says so.
            ("KENSA_S3_ENDPOINT", "http://127.0.0.1:9"),
        ],
    );
    let admin = server.admin_token();
    let base = server.base();
    let password = std::fs::read_to_string(dir.path().join("server/admin-password"))
        .expect("admin-password")
        .trim()
        .to_owned();

    // Logged in, with the right password and a wrong one.
    let (code, body) = curl(
        &server,
        &[
            "-H",
            "Content-Type: application/json",
            "-D",
            "-",
            "--data-binary",
            &json!({"name": "admin", "password": password}).to_string(),
            &format!("{base}/api/v1/session"),
        ],
    );
    assert_eq!(code, 201, "{body}");
    let cookie = body
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_owned();
    let session = cookie
        .split_once('=')
        .map(|(_, v)| v.to_owned())
        .expect("cookie value");
    let wrong_password = "Wrong-Password-For-Log-Test-123";
    let (code, _) = curl(
        &server,
        &[
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            &json!({"name": "admin", "password": wrong_password}).to_string(),
            &format!("{base}/api/v1/session"),
        ],
    );
    assert_eq!(code, 401);
    let (code, _) = curl(
        &server,
        &["-H", &format!("Cookie: {cookie}"), &format!("{base}/")],
    );
    assert!(
        code == 200 || code == 303,
        "console with the session: {code}"
    );
    // Tokens made and used; a wrong one refused.
    let (code, v) = server.api(
        "POST",
        "/api/v1/api-tokens",
        Some(&json!({"name": "ci", "role": "analyst"})),
    );
    assert_eq!(code, 201, "{v}");
    let analyst = v["token"].as_str().expect("token").to_owned();
    let enrolment = server.enrollment_token(&json!({}));
    let wrong_token = "kst_0000000000000000000000000000000000000000000000000000000000000000";
    for t in [analyst.as_str(), wrong_token] {
        curl(
            &server,
            &[
                "-H",
                &format!("Authorization: Bearer {t}"),
                &format!("{base}/api/v1/assets"),
            ],
        );
    }
    // Metrics with their token, and with a wrong one.
    let (code, _) = curl(
        &server,
        &[
            "-H",
            &format!("Authorization: Bearer {metrics_token}"),
            &format!("{base}/metrics"),
        ],
    );
    assert_eq!(code, 200);
    curl(
        &server,
        &[
            "-H",
            "Authorization: Bearer kmt_wrong_metrics_token_000000",
            &format!("{base}/metrics"),
        ],
    );
    // An encrypted export to S3 that fails (the store is unreachable).
    let (code, v) = curl(
        &server,
        &[
            "-H",
            &format!("Authorization: Bearer {analyst}"),
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            &json!({"format": "csv", "destination": {"type": "s3", "bucket": "b", "prefix": "p",
                    "encryption": {"type": "client"}}})
            .to_string(),
            &format!("{base}/api/v1/exports"),
        ],
    );
    assert_eq!(code, 202, "{v}");
    let job = serde_json::from_str::<Value>(&v).expect("json")["id"]
        .as_i64()
        .expect("id");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, j) = server.api("GET", &format!("/api/v1/exports/{job}"), None);
        if j["status"] == "failed" {
            break;
        }
        assert!(Instant::now() < deadline, "the export did not fail: {j}");
        std::thread::sleep(Duration::from_millis(200));
    }
    server.stop();

    let log = server.stderr();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 3, "the server logged: {log}");
    for l in &lines {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(v["level"].is_string() && v["timestamp"].is_string(), "{l}");
    }
    assert!(
        log.contains("export") && log.contains("failed"),
        "the failed export is logged"
    );
    for (what, secret) in [
        ("admin token", admin.as_str()),
        ("admin password", password.as_str()),
        ("wrong password", wrong_password),
        ("session cookie", session.as_str()),
        ("analyst token", analyst.as_str()),
        ("enrolment token", enrolment.as_str()),
        ("wrong token", wrong_token),
        ("metrics token", metrics_token),
        ("S3 secret key", s3_secret),
        ("export key", kek_hex.as_str()),
    ] {
        assert!(!log.contains(secret), "the {what} is in the log");
    }
    for header in [
        "Bearer ",
        "authorization: ",
        "Authorization: ",
        "cookie: kensa",
    ] {
        assert!(!log.contains(header), "a header ({header:?}) is in the log");
    }
}
