//! Issue 14: enrolment tokens and agents in the console and the API, on
//! SQLite and PostgreSQL, against the real server on loopback.
//!
//! - the admin page lists enrolment tokens (expiry, uses / max uses,
//!   defaults, state) and agents (asset, version, last report, token used,
//!   revoked), creates a token from a CSRF-checked form under the API's
//!   rules (one TTL rule: a year at most, for both) and shows it once with
//!   the install one-liners (this server's address and CA fingerprint),
//!   and revokes tokens and agents; what admins typed is escaped;
//! - a revoked agent stops counting as "has an agent" in coverage;
//! - enrolment with an unknown, expired, used-up or revoked token is a
//!   401 that says which.

use serde_json::{Value, json};

use crate::support;
use support::{Auth, Backend, TestServer, backends};

fn start(backend: &Backend) -> TestServer {
    TestServer::builder(backend)
        .no_kb()
        .workers(1)
        .redirects(0)
        .start()
}

fn form(
    s: &TestServer,
    path: &str,
    cookie: &str,
    fields: &[(&str, &str)],
) -> kensa_testkit::server::Reply {
    let body = serde_urlencoded::to_string(fields).expect("form");
    s.send(
        "POST",
        path,
        Auth::Cookie(cookie, None),
        "application/x-www-form-urlencoded",
        body.as_bytes(),
    )
}

fn api(s: &TestServer, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let r = s.call(method, path, Auth::Bearer(&s.admin), body);
    (r.status, r.json())
}

fn tokens(s: &TestServer) -> Vec<Value> {
    let (code, v) = api(s, "GET", "/api/v1/enrollment-tokens", None);
    assert_eq!(code, 200, "{v}");
    v["enrollment_tokens"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn coverage_of(s: &TestServer, asset: &str) -> Value {
    let (code, v) = api(s, "GET", "/api/v1/coverage", None);
    assert_eq!(code, 200, "{v}");
    v["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .find(|a| a["asset_id"].as_i64().map(|i| i.to_string()).as_deref() == Some(asset))
        .cloned()
        .unwrap_or_else(|| panic!("asset {asset} in coverage: {v}"))
}

fn enroll(s: &TestServer, token: &str, machine_id: &str) -> (u16, Value) {
    let r = s.call(
        "POST",
        "/api/v1/agents/enroll",
        Auth::None,
        Some(json!({
            "enrollment_token": token, "machine_id": machine_id,
            "hostname": format!("host-{machine_id}"), "agent_version": "0.1.0"
        })),
    );
    (r.status, r.json())
}

const HOUR_MS: i64 = 3_600_000;

#[test]
fn the_console_creates_lists_and_revokes_enrollment_tokens_and_agents() {
    for backend in backends() {
        let s = start(&backend);
        let (cookie, csrf) = s.login("admin", &s.admin_password);
        let fields = [
            ("name", "<script>alert(1)</script> ASG"),
            ("ttl_hours", "100000"),
            ("max_uses", "3"),
            ("team", "web"),
            ("environment", "prod"),
            ("owner", "ops@example.com"),
            ("tags", "asg; blue"),
        ];

        // Without the form's CSRF token: refused, nothing made.
        let r = form(&s, "/admin/enroll", &cookie, &fields);
        assert_eq!(r.status, 403, "{}", r.text());
        assert!(tokens(&s).is_empty());

        let mut with_csrf = vec![("csrf_token", csrf.as_str())];
        with_csrf.extend_from_slice(&fields);
        let before = kensa_testkit::now_ms();
        let r = form(&s, "/admin/enroll", &cookie, &with_csrf);
        assert_eq!(r.status, 200, "{}", r.text());
        let page = r.text();
        assert!(
            !page.contains("<script>alert(1)</script>")
                && page.contains("&lt;script&gt;alert(1)&lt;/script&gt; ASG"),
            "the name is escaped"
        );
        let token = page
            .split("id=\"enroll-token\">")
            .nth(1)
            .and_then(|t| t.split('<').next())
            .expect("the token is shown")
            .to_owned();
        assert!(token.starts_with("ket_"), "{token}");
        let fingerprint = kensa_server::agent_dist::ca_sha256(&s.ca()).expect("CA");
        let host = s.base.trim_start_matches("https://");
        let (with_ca, pinned) = kensa_server::agent_dist::one_liners(host, &fingerprint, &token);
        assert!(
            with_ca.contains(&format!("https://{host}/install.sh")),
            "{with_ca}"
        );
        assert!(pinned.contains(&fingerprint), "{pinned}");
        // The page shows exactly these lines (HTML-escaped).
        let shown = |id: &str| {
            page.split(&format!("id=\"{id}\">"))
                .nth(1)
                .and_then(|t| t.split("</pre>").next())
                .map(|t| {
                    t.replace("&lt;", "<")
                        .replace("&gt;", ">")
                        .replace("&quot;", "\"")
                        .replace("&#39;", "'")
                        .replace("&amp;", "&")
                })
                .unwrap_or_else(|| panic!("#{id} on the page"))
        };
        assert_eq!(shown("enroll-oneliner"), with_ca);
        assert_eq!(shown("enroll-pinned"), pinned);
        assert!(page.contains(&fingerprint), "the CA fingerprint is shown");

        // One rule for the lifetime: the console's 100000 h is a year, as
        // the API's is.
        let listed = tokens(&s);
        assert_eq!(listed.len(), 1, "{listed:?}");
        let t = &listed[0];
        let id = t["id"].as_str().expect("id").to_owned();
        let ttl = t["expires_at"].as_i64().expect("expires") - before;
        assert!(
            (8759 * HOUR_MS..=8761 * HOUR_MS).contains(&ttl),
            "console TTL clamped to 8760 h: {t}"
        );
        let (code, api_made) = api(
            &s,
            "POST",
            "/api/v1/enrollment-tokens",
            Some(json!({"ttl_hours": 100000})),
        );
        assert_eq!(code, 201, "{api_made}");
        let api_ttl = api_made["expires_at"].as_i64().expect("expires") - before;
        assert!(
            (8759 * HOUR_MS..=8761 * HOUR_MS).contains(&api_ttl),
            "API TTL clamped to 8760 h: {api_made}"
        );
        assert_eq!(
            (&t["max_uses"], &t["uses"], &t["state"]),
            (&json!(3), &json!(0), &json!("live"))
        );
        assert_eq!(
            t["defaults"],
            json!({"owner": "ops@example.com", "team": "web", "environment": "prod", "tags": ["asg", "blue"]})
        );
        // A bad number is a clear 400, nothing made.
        let mut bad = with_csrf.clone();
        bad.retain(|(k, _)| *k != "max_uses");
        bad.push(("max_uses", "lots"));
        let r = form(&s, "/admin/enroll", &cookie, &bad);
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(r.text().contains("max_uses"), "{}", r.text());
        assert_eq!(tokens(&s).len(), 2);

        // An agent enrols with it: listed on the page with its token;
        // counted as an agent in coverage.
        let (code, agent) = enroll(&s, &token, "c0ffee");
        assert_eq!(code, 201, "{agent}");
        let agent_id = agent["agent_id"].as_str().expect("agent_id").to_owned();
        let asset_id = agent["asset_id"].as_str().expect("asset_id").to_owned();
        let page = s
            .call("GET", "/admin", Auth::Cookie(&cookie, None), None)
            .text();
        let agents_table = page
            .split("id=\"agents\"")
            .nth(1)
            .expect("the agents table")
            .to_owned();
        assert!(
            agents_table.contains("host-c0ffee") && agents_table.contains(&id),
            "{agents_table}"
        );
        let tokens_table = page
            .split("id=\"enrollment-tokens\"")
            .nth(1)
            .and_then(|t| t.split("</table>").next())
            .expect("the tokens table")
            .to_owned();
        assert!(tokens_table.contains("1 / 3"), "{tokens_table}");
        assert!(tokens_table.contains("team=web"), "{tokens_table}");
        let c = coverage_of(&s, &asset_id);
        assert_eq!(
            (&c["agent"], &c["reason"]),
            (&json!(true), &json!("PENDING_INITIAL_SCAN")),
            "{c}"
        );

        // A viewer may not revoke.
        let r = s.call(
            "POST",
            "/api/v1/users",
            Auth::Bearer(&s.admin),
            Some(json!({"name": "vic", "role": "viewer", "password": "vic's long password"})),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        let (vcookie, vcsrf) = s.login("vic", "vic's long password");
        let r = form(
            &s,
            "/admin/agents/revoke",
            &vcookie,
            &[("csrf_token", &vcsrf), ("id", &agent_id)],
        );
        assert_eq!(r.status, 403, "{}", r.text());

        // Revoked from the console: the agent stops counting in coverage,
        // its token stops working.
        let r = form(
            &s,
            "/admin/agents/revoke",
            &cookie,
            &[("csrf_token", &csrf), ("id", &agent_id)],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        let c = coverage_of(&s, &asset_id);
        assert_eq!(
            (&c["agent"], &c["reason"]),
            (&json!(false), &json!("UNMANAGED")),
            "a revoked agent is no agent: {c}"
        );
        let (code, d) = api(&s, "GET", &format!("/api/v1/assets/{asset_id}"), None);
        assert_eq!((code, &d["agent"]), (200, &json!(false)), "{d}");
        let agent_token = agent["token"].as_str().expect("token");
        let r = s.call(
            "HEAD",
            &format!("/api/v1/agent/inventory/{}", "0".repeat(64)),
            Auth::Bearer(agent_token),
            None,
        );
        assert_eq!(r.status, 401);
        let (_, list) = api(&s, "GET", "/api/v1/agents", None);
        assert!(!list["agents"][0]["revoked_at"].is_null(), "{list}");
        let page = s
            .call("GET", "/admin", Auth::Cookie(&cookie, None), None)
            .text();
        assert!(
            !page.contains("class=\"revoke-agent\""),
            "no revoke button left"
        );

        // The token, revoked from the console: the next enrolment is
        // refused with the reason.
        let r = form(
            &s,
            "/admin/enroll/revoke",
            &cookie,
            &[("csrf_token", &csrf), ("id", &id)],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        let (code, b) = enroll(&s, &token, "c0ffee2");
        assert_eq!(code, 401, "{b}");
        assert!(b["error"].as_str().unwrap_or("").contains("revoked"), "{b}");
        let r = form(
            &s,
            "/admin/enroll/revoke",
            &cookie,
            &[("csrf_token", &csrf), ("id", &id)],
        );
        assert_eq!(r.status, 404, "revoked already: {}", r.text());
    }
}

#[test]
fn enrolment_refusals_say_why() {
    for backend in backends() {
        let s = start(&backend);
        // Expired: a token whose expiry has passed (written as the store
        // writes it; the API cannot make one in the past).
        let expired = "ket_expired_for_the_test";
        {
            let db = kensa_store::Db::open(&s.running().backend).expect("db");
            let now = kensa_store::Timestamp::now();
            db.create_enrollment_token(
                &kensa_server::auth::digest(expired),
                kensa_store::Timestamp::from_unix_ms(now.unix_ms() - 2 * HOUR_MS),
                kensa_store::Timestamp::from_unix_ms(now.unix_ms() - HOUR_MS),
            )
            .expect("token");
        }
        let (code, b) = enroll(&s, expired, "e1");
        assert_eq!(code, 401, "{b}");
        let why = b["error"].as_str().unwrap_or("");
        assert!(
            why.contains("expired") && why.contains("ask an admin"),
            "{b}"
        );

        // Used up: the second use of a two-use token's third.
        let (_, made) = api(
            &s,
            "POST",
            "/api/v1/enrollment-tokens",
            Some(json!({"max_uses": 2})),
        );
        let two = made["token"].as_str().expect("token");
        assert_eq!(enroll(&s, two, "u1").0, 201);
        assert_eq!(enroll(&s, two, "u2").0, 201);
        let (code, b) = enroll(&s, two, "u3");
        assert_eq!(code, 401, "{b}");
        assert!(b["error"].as_str().unwrap_or("").contains("used up"), "{b}");

        // Revoked through the API.
        let (_, made) = api(&s, "POST", "/api/v1/enrollment-tokens", Some(json!({})));
        let (tok, id) = (
            made["token"].as_str().expect("token"),
            made["id"].as_str().expect("id"),
        );
        let (code, _) = api(
            &s,
            "DELETE",
            &format!("/api/v1/enrollment-tokens/{id}"),
            None,
        );
        assert_eq!(code, 204);
        let (code, b) = enroll(&s, tok, "r1");
        assert_eq!(code, 401, "{b}");
        assert!(b["error"].as_str().unwrap_or("").contains("revoked"), "{b}");

        let (code, b) = enroll(&s, "ket_never_made", "n1");
        assert_eq!(code, 401, "{b}");
        assert!(b["error"].as_str().unwrap_or("").contains("unknown"), "{b}");

        // None of the refusals made an asset.
        let (_, assets) = api(&s, "GET", "/api/v1/assets", None);
        assert_eq!(
            assets["assets"].as_array().map(Vec::len),
            Some(2),
            "{assets}"
        );
    }
}
