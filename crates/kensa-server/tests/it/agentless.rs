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
        let store = kensa_kb::store::Store::open(kensa_testkit::kb::shared()).expect("kb");
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
