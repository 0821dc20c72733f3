//! Reviews over the real server (TLS on loopback, SQLite and PostgreSQL):
//! who may open, answer, sign and close (a viewer cannot answer, an
//! analyst cannot sign or answer for another owner's asset, an auditor
//! cannot triage, edit assets or make tokens, an owner cannot sign their
//! own asset unless an auditor); management edits and removals during a
//! review land in it; the closed report is served in every format with
//! its digest, and refused once its row is altered in the database.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::{Auth, Backend, TestServer, backends};

const REGISTER: &str = "\
name,os,os_release,operation_start,support_end,owner,team,environment,internet_exposure,exposed_ports
web-1,debian,12,2023-06-01,2027-05-31,alice@example.com,web,production,yes,443/tcp
web-2,debian,12,2015-06-01,2020-01-31,alice@example.com,web,production,no,
db-1,rhel,9,2022-11-15,,bob@example.com,data,production,no,
legacy-1,centos,7,2016-03-01,2024-06-30,carol@example.com,data,production,no,
own-1,debian,12,2024-01-01,,admin,ops,staging,no,
";

const PASSWORD: &str = "a long enough passphrase";

struct Who {
    cookie: String,
    csrf: String,
}

impl Who {
    fn auth(&self) -> Auth<'_> {
        Auth::Cookie(&self.cookie, Some(&self.csrf))
    }
}

fn user(s: &TestServer, name: &str, role: &str) -> Who {
    let r = s.call(
        "POST",
        "/api/v1/users",
        Auth::Bearer(&s.admin),
        Some(json!({"name": name, "role": role, "password": PASSWORD})),
    );
    assert_eq!(r.status, 201, "{name}: {}", r.text());
    let (cookie, csrf) = s.login(name, PASSWORD);
    Who { cookie, csrf }
}

fn checklist(plan: bool) -> Value {
    let mut c = json!({
        "management": {
            "operation_start": true, "support_end": true, "owner": true, "team": true,
            "environment": true, "tags": true, "internet_exposure": true, "exposed_ports": true,
        },
        "exposure_confirmed": true,
        "findings_acknowledged": true,
        "acceptances_valid": true,
    });
    if plan {
        c["eol_plan"] = json!({"action": "accept", "until": "2027-06-30"});
    }
    c
}

fn raw_sql(s: &TestServer, backend: &Backend, sql: &str) {
    match backend.url() {
        Some(u) => {
            let mut c = postgres::Client::connect(&u, postgres::NoTls).expect("connect");
            c.batch_execute(sql).expect("raw PostgreSQL");
        }
        None => {
            let c = rusqlite::Connection::open(s.server_dir().join("kensa.db")).expect("open");
            c.execute_batch(sql).expect("raw SQLite");
        }
    }
}

#[test]
#[ignore = "needs PostgreSQL (scripts/setup); scripts/test runs it"]
fn review_roles_and_the_frozen_report_over_the_api() {
    for backend in backends() {
        let label = backend.label();
        let s = TestServer::builder(&backend).no_kb().workers(1).start();
        let admin = s.admin.clone();
        let r = s.send(
            "POST",
            "/api/v1/assets/import?format=csv",
            Auth::Bearer(&admin),
            "text/csv",
            REGISTER.as_bytes(),
        );
        assert_eq!(r.status, 200, "{label}: {}", r.text());
        let alice = user(&s, "alice@example.com", "analyst");
        let bob = user(&s, "bob@example.com", "analyst");
        let audrey = user(&s, "audrey", "auditor");
        let carol = user(&s, "carol@example.com", "auditor");
        let vera = user(&s, "vera", "viewer");

        // Only an admin opens a review.
        let open = json!({"name": "2026 Q4", "scope": ""});
        for (who, w) in [("viewer", &vera), ("analyst", &alice), ("auditor", &audrey)] {
            let r = s.call("POST", "/api/v1/reviews", w.auth(), Some(open.clone()));
            assert_eq!(
                r.status,
                403,
                "{label}: {who} opened a review: {}",
                r.text()
            );
        }
        let r = s.call(
            "POST",
            "/api/v1/reviews",
            Auth::Bearer(&admin),
            Some(json!({"name": "x", "scope": "colour=blue"})),
        );
        assert_eq!(r.status, 400, "{label}: {}", r.text());
        assert!(r.text().contains("scope"), "{}", r.text());
        let r = s.call("POST", "/api/v1/reviews", Auth::Bearer(&admin), Some(open));
        assert_eq!(r.status, 201, "{label}: {}", r.text());
        let id = r.json()["id"].as_i64().expect("id");
        assert_eq!(r.json()["counts"]["assets"], 5);

        let detail = |w: Auth<'_>| -> Value {
            let r = s.call("GET", &format!("/api/v1/reviews/{id}"), w, None);
            assert_eq!(r.status, 200, "{}", r.text());
            r.json()
        };
        // Everyone reads it, an auditor and a viewer included.
        let d = detail(vera.auth());
        let asset = |name: &str| -> i64 {
            d["assets"]
                .as_array()
                .expect("assets")
                .iter()
                .find(|a| a["name"] == name)
                .and_then(|a| a["asset_id"].as_i64())
                .unwrap_or_else(|| panic!("{name} in {d}"))
        };
        let (web1, web2, db1, legacy, own) = (
            asset("web-1"),
            asset("web-2"),
            asset("db-1"),
            asset("legacy-1"),
            asset("own-1"),
        );
        let path = |a: i64, what: &str| format!("/api/v1/reviews/{id}/assets/{a}/{what}");

        // Answers: a viewer and an auditor cannot; an analyst only for
        // the assets they own.
        for (who, w) in [("viewer", &vera), ("auditor", &audrey)] {
            let r = s.call(
                "POST",
                &path(web1, "answer"),
                w.auth(),
                Some(checklist(true)),
            );
            assert_eq!(r.status, 403, "{label}: {who} answered: {}", r.text());
        }
        let r = s.call(
            "POST",
            &path(web1, "answer"),
            bob.auth(),
            Some(checklist(true)),
        );
        assert_eq!(
            r.status,
            403,
            "{label}: bob answered alice's asset: {}",
            r.text()
        );
        assert!(r.text().contains("alice@example.com"), "{}", r.text());
        // Bad input: located, nothing stored.
        let mut unknown = checklist(true);
        unknown["management"]["colour"] = json!(true);
        let r = s.call("POST", &path(web1, "answer"), alice.auth(), Some(unknown));
        assert_eq!(r.status, 400, "{label}: {}", r.text());
        assert!(r.text().contains("colour"), "{}", r.text());
        let r = s.call(
            "POST",
            &path(web2, "answer"),
            alice.auth(),
            Some(checklist(false)),
        );
        assert_eq!(r.status, 400, "{label}: {}", r.text());
        assert!(r.text().contains("eol_plan"), "{}", r.text());
        for a in [web1, web2] {
            let r = s.call(
                "POST",
                &path(a, "answer"),
                alice.auth(),
                Some(checklist(true)),
            );
            assert_eq!(r.status, 200, "{label}: {}", r.text());
            assert_eq!(r.json()["state"], "answered");
        }
        let r = s.call(
            "POST",
            &path(db1, "answer"),
            bob.auth(),
            Some(checklist(false)),
        );
        assert_eq!(r.status, 200, "{label}: {}", r.text());
        // Assets owned by no analyst: the admin answers.
        for a in [legacy, own] {
            let r = s.call(
                "POST",
                &path(a, "answer"),
                Auth::Bearer(&admin),
                Some(checklist(true)),
            );
            assert_eq!(r.status, 200, "{label}: {}", r.text());
        }

        // Signing: an analyst cannot; an auditor can; a send-back needs a
        // reason.
        let r = s.call("POST", &path(web1, "sign"), alice.auth(), None);
        assert_eq!(r.status, 403, "{label}: an analyst signed: {}", r.text());
        let r = s.call(
            "POST",
            &path(web1, "send-back"),
            audrey.auth(),
            Some(json!({})),
        );
        assert_eq!(r.status, 400, "{label}: {}", r.text());
        let r = s.call(
            "POST",
            &path(web1, "send-back"),
            audrey.auth(),
            Some(json!({"comment": "443 is open: say why"})),
        );
        assert_eq!(r.status, 200, "{label}: {}", r.text());
        assert_eq!(r.json()["state"], "sent_back");
        let r = s.call("POST", &path(web1, "sign"), audrey.auth(), None);
        assert_eq!(
            r.status,
            409,
            "{label}: signed a sent-back asset: {}",
            r.text()
        );
        let r = s.call(
            "POST",
            &path(web1, "answer"),
            alice.auth(),
            Some(checklist(true)),
        );
        assert_eq!(r.status, 200, "{label}: {}", r.text());
        for a in [web1, web2, db1] {
            let r = s.call(
                "POST",
                &path(a, "sign"),
                audrey.auth(),
                Some(json!({"comment": "ok"})),
            );
            assert_eq!(r.status, 200, "{label}: {}", r.text());
            assert_eq!(r.json()["signed_by"], "audrey");
        }
        // Owners and signing: carol, an auditor, may sign her own asset
        // (owner_sign=auditor); the admin owns own-1 and is no auditor.
        let r = s.call("POST", &path(own, "sign"), Auth::Bearer(&admin), None);
        assert_eq!(
            r.status,
            403,
            "{label}: the owner signed own-1: {}",
            r.text()
        );
        assert!(r.text().contains("owner"), "{}", r.text());
        let r = s.call("POST", &path(legacy, "sign"), carol.auth(), None);
        assert_eq!(r.status, 200, "{label}: an auditor owner: {}", r.text());

        // An auditor changes nothing else.
        let r = s.call(
            "POST",
            "/api/v1/findings/triage",
            audrey.auth(),
            Some(json!({"filter": "severity=CRITICAL", "state": "in_triage"})),
        );
        assert_eq!(r.status, 403, "{label}: an auditor triaged: {}", r.text());
        let r = s.call(
            "PATCH",
            &format!("/api/v1/assets/{web1}"),
            audrey.auth(),
            Some(json!({"owner": "audrey"})),
        );
        assert_eq!(
            r.status,
            403,
            "{label}: an auditor edited an asset: {}",
            r.text()
        );
        let r = s.call(
            "POST",
            "/api/v1/api-tokens",
            audrey.auth(),
            Some(json!({"name": "mine", "role": "auditor"})),
        );
        assert_eq!(
            r.status,
            403,
            "{label}: an auditor made a token: {}",
            r.text()
        );
        let r = s.call(
            "POST",
            &format!("/api/v1/reviews/{id}/close"),
            audrey.auth(),
            None,
        );
        assert_eq!(r.status, 403, "{label}: an auditor closed: {}", r.text());
        // During the review: an edit is recorded, a removal keeps the
        // asset in the review.
        let r = s.call(
            "PATCH",
            &format!("/api/v1/assets/{db1}"),
            Auth::Bearer(&admin),
            Some(json!({"internet_exposure": "yes", "exposed_ports": ["5432/tcp"]})),
        );
        assert_eq!(r.status, 200, "{label}: {}", r.text());
        let ev = s.call(
            "GET",
            &format!("/api/v1/reviews/{id}/events"),
            vera.auth(),
            None,
        );
        let changed = ev.json()["events"]
            .as_array()
            .expect("events")
            .iter()
            .find(|e| e["action"] == "management_changed" && e["asset_id"] == db1)
            .cloned()
            .unwrap_or_else(|| panic!("{label}: no change recorded: {}", ev.text()));
        assert_eq!(changed["detail"]["internet_exposure"]["after"], "yes");
        assert_eq!(changed["actor"], "admin");
        let r = s.call(
            "POST",
            &format!("/api/v1/reviews/{id}/close"),
            Auth::Bearer(&admin),
            None,
        );
        assert_eq!(
            r.status,
            409,
            "{label}: closed with own-1 unsigned: {}",
            r.text()
        );
        assert!(r.text().contains("own-1"), "{}", r.text());
        let r = s.call(
            "DELETE",
            &format!("/api/v1/assets/{own}"),
            audrey.auth(),
            None,
        );
        assert_eq!(r.status, 403, "{label}: {}", r.text());
        let r = s.call(
            "DELETE",
            &format!("/api/v1/assets/{own}"),
            Auth::Bearer(&admin),
            None,
        );
        assert_eq!(r.status, 204, "{label}: {}", r.text());
        let d = detail(Auth::Bearer(&admin));
        let own_row = d["assets"]
            .as_array()
            .expect("assets")
            .iter()
            .find(|a| a["asset_id"] == own)
            .cloned()
            .expect("own-1 stays in the review");
        assert!(own_row["removed_at"].is_i64(), "{own_row}");
        assert_eq!(d["assets"].as_array().map(Vec::len), Some(5));
        // The security audit has the review's milestones.
        let audit = s.get("/api/v1/audit").to_string();
        assert!(
            audit.contains("review.opened") && audit.contains("asset.removed"),
            "{audit}"
        );

        let r = s.call(
            "POST",
            &format!("/api/v1/reviews/{id}/close"),
            Auth::Bearer(&admin),
            None,
        );
        assert_eq!(r.status, 200, "{label}: {}", r.text());
        let digest = r.json()["digest"].as_str().expect("digest").to_owned();
        let r = s.call(
            "POST",
            &path(web1, "answer"),
            alice.auth(),
            Some(checklist(true)),
        );
        assert_eq!(
            r.status,
            409,
            "{label}: a closed review changed: {}",
            r.text()
        );

        // The report: JSON is the stored bytes, with their digest.
        let r = s.call(
            "GET",
            &format!("/api/v1/reviews/{id}/report"),
            vera.auth(),
            None,
        );
        assert_eq!(r.status, 200, "{label}: {}", r.text());
        let body = r.text();
        assert_eq!(hex::encode(Sha256::digest(body.as_bytes())), digest);
        assert_eq!(r.header("x-kensa-report-sha256"), Some(digest.as_str()));
        let v: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["summary"]["assets"], 5);
        assert_eq!(v["summary"]["removed"], 1);
        let every: Vec<String> = v["teams"]
            .as_array()
            .expect("teams")
            .iter()
            .flat_map(|t| t["assets"].as_array().cloned().unwrap_or_default())
            .map(|a| a["name"].as_str().unwrap_or_default().to_owned())
            .collect();
        let mut sorted = every.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), every.len(), "an asset twice: {every:?}");
        assert_eq!(every.len(), 5);
        // HTML (both languages), CSV, XLSX of the same content.
        for (lang, heading, past) in [
            ("en", "Review report", "2020-01-31"),
            ("ja", "レビュー報告書", "2020-01-31"),
        ] {
            let r = s.call(
                "GET",
                &format!("/api/v1/reviews/{id}/report?format=html&lang={lang}"),
                vera.auth(),
                None,
            );
            assert_eq!(r.status, 200, "{label}: {}", r.text());
            let html = r.text();
            assert!(html.contains(heading), "{lang}: {html}");
            assert!(
                html.contains("class=\"past\" title=") && html.contains(past),
                "{lang}: past dates not highlighted"
            );
            assert!(
                html.contains("@media print") && html.contains("<svg"),
                "{lang}"
            );
            assert_eq!(
                html.matches("data-asset=").count(),
                5,
                "{lang}: every asset once"
            );
        }
        let r = s.call(
            "GET",
            &format!("/api/v1/reviews/{id}/report?format=csv&lang=ja"),
            vera.auth(),
            None,
        );
        assert_eq!(r.status, 200, "{label}: {}", r.text());
        let csv = r.text();
        assert!(csv.starts_with("チーム,資産"), "{csv}");
        assert_eq!(csv.lines().count(), 6, "{csv}");
        let r = s.call(
            "GET",
            &format!("/api/v1/reviews/{id}/report?format=xlsx"),
            vera.auth(),
            None,
        );
        assert_eq!(r.status, 200, "{label}: {}", r.text());
        // Read back with a real reader: a header row and one per asset,
        // the same names as the JSON.
        let mut book: Xlsx<_> = Xlsx::new(Cursor::new(r.body.clone())).expect("an XLSX file");
        let range = book.worksheet_range("Review").expect("the sheet");
        let rows: Vec<Vec<String>> = range
            .rows()
            .map(|r| {
                r.iter()
                    .map(|c| match c {
                        Data::String(s) => s.clone(),
                        Data::Empty => String::new(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .collect();
        assert_eq!(rows.len(), 6, "{rows:?}");
        assert_eq!(rows[0][0], "Team");
        let mut xlsx_names: Vec<String> = rows[1..].iter().map(|r| r[1].clone()).collect();
        xlsx_names.sort();
        assert_eq!(xlsx_names, sorted);
        let r = s.call(
            "GET",
            &format!("/api/v1/reviews/{id}/report?format=pdf"),
            vera.auth(),
            None,
        );
        assert_eq!(r.status, 400, "{label}: {}", r.text());

        // Altered in the database: refused as tampered, in every format.
        raw_sql(
            &s,
            &backend,
            &format!(
                "UPDATE reviews SET report = replace(report, 'audrey', 'mallory') WHERE id = {id}"
            ),
        );
        for f in ["json", "html", "csv"] {
            let r = s.call(
                "GET",
                &format!("/api/v1/reviews/{id}/report?format={f}"),
                vera.auth(),
                None,
            );
            assert_eq!(
                r.status,
                409,
                "{label}: a tampered report served as {f}: {}",
                r.text()
            );
            assert!(r.text().contains("tampered"), "{}", r.text());
            assert!(!r.text().contains("mallory"));
        }
    }
}
