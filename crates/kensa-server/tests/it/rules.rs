//! The API and the console's forms share one set of rules for what they
//! create (`src/rules.rs`): the same request is refused by both. They had
//! drifted: the console took an API token named only with spaces.

use serde_json::json;

use crate::support::{Auth, TestServer, backends};

#[test]
fn api_and_console_refuse_a_token_name_of_spaces() {
    for backend in backends() {
        let s = TestServer::builder(&backend).no_kb().workers(1).start();
        let admin = Auth::Bearer(&s.admin);

        let api = |name: &str| {
            s.call(
                "POST",
                "/api/v1/api-tokens",
                admin,
                Some(json!({"name": name, "role": "viewer"})),
            )
        };
        let r = api("   ");
        assert_eq!(r.status, 400, "API, name of spaces: {}", r.text());
        assert!(r.text().contains("name"), "{}", r.text());
        let r = api("ci");
        assert_eq!(r.status, 201, "API, a real name: {}", r.text());

        let (cookie, csrf) = s.admin_session();
        let console = |name: &str| {
            let body = format!("csrf_token={csrf}&name={name}&role=viewer");
            s.send(
                "POST",
                "/admin/tokens",
                Auth::Cookie(&cookie, None),
                "application/x-www-form-urlencoded",
                body.as_bytes(),
            )
        };
        let r = console("+++");
        assert_eq!(r.status, 400, "console, name of spaces: {}", r.text());
        assert!(!r.text().contains("kst_"), "no token was made");
        // The same form with a real name makes a token: the refusal above
        // is the rule's, not a malformed request's.
        let r = console("ci+console");
        assert_eq!(r.status, 200, "console, a real name: {}", r.text());
        assert!(r.text().contains("kst_"), "{}", r.text());
    }
}
