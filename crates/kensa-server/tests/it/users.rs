//! Users, sessions and CSRF against the real server on loopback (TLS), on
//! SQLite and on PostgreSQL: the cookie's attributes, what a session may
//! do with and without its CSRF token, roles, logout, expiry, disabled
//! users, identical answers for a wrong password and an unknown name, and
//! what the database keeps (argon2id hashes and digests, never a secret).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support;
use support::{Backend, TestServer, backends};

/// The test server with no knowledge base (nothing here is evaluated).
struct Server(TestServer);

impl std::ops::Deref for Server {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.0
    }
}

/// How a request authenticates.
#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    Bearer(&'a str),
    /// The session cookie, and the `X-CSRF-Token` header if given.
    Session(&'a Session, Option<&'a str>),
}

#[derive(Clone, Debug)]
struct Session {
    cookie: String,
    csrf: String,
}

struct Reply {
    status: u16,
    set_cookie: Option<String>,
    cache_control: Option<String>,
    text: String,
    json: Value,
}

fn start(backend: &Backend) -> Server {
    let s = TestServer::builder(backend).no_kb().workers(1).start();
    assert!(!s.admin.is_empty(), "first start: a token");
    assert!(!s.admin_password.is_empty(), "first start: a password");
    Server(s)
}

impl Server {
    fn call(&self, method: &str, path: &str, auth: Auth<'_>, body: Option<Value>) -> Reply {
        // A second cookie before the session's: the server must pick its
        // own out of the header.
        let cookie;
        let auth = match auth {
            Auth::None => support::Auth::None,
            Auth::Bearer(t) => support::Auth::Bearer(t),
            Auth::Session(s, csrf) => {
                cookie = format!("theme=dark; kensa_session={}", s.cookie);
                support::Auth::Cookie(&cookie, csrf)
            }
        };
        let r = self.0.call(method, path, auth, body);
        Reply {
            status: r.status,
            set_cookie: r.header("set-cookie").map(str::to_owned),
            cache_control: r.header("cache-control").map(str::to_owned),
            json: r.json(),
            text: r.text(),
        }
    }

    fn login_reply(&self, name: &str, password: &str) -> Reply {
        self.call(
            "POST",
            "/api/v1/session",
            Auth::None,
            Some(json!({"name": name, "password": password})),
        )
    }

    fn login(&self, name: &str, password: &str) -> Session {
        let r = self.login_reply(name, password);
        assert_eq!(r.status, 201, "login {name}: {}", r.text);
        let cookie = r.set_cookie.expect("Set-Cookie");
        let value = cookie
            .split(';')
            .next()
            .and_then(|kv| kv.strip_prefix("kensa_session="))
            .expect("kensa_session cookie");
        Session {
            cookie: value.to_owned(),
            csrf: r.json["csrf_token"]
                .as_str()
                .expect("csrf_token")
                .to_owned(),
        }
    }

    /// An admin (by token) creates a user.
    fn create_user(&self, name: &str, role: &str, password: &str) {
        let r = self.call(
            "POST",
            "/api/v1/users",
            Auth::Bearer(&self.admin),
            Some(json!({"name": name, "role": role, "password": password})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
    }

    fn user_names(&self) -> Vec<String> {
        let r = self.call("GET", "/api/v1/users", Auth::Bearer(&self.admin), None);
        assert_eq!(r.status, 200, "{}", r.text);
        r.json["users"]
            .as_array()
            .expect("users")
            .iter()
            .map(|u| u["name"].as_str().expect("name").to_owned())
            .collect()
    }

    fn sqlite_path(&self) -> PathBuf {
        self.server_dir().join("kensa.db")
    }

    /// Runs SQL on the server's database, beside the server.
    fn raw_exec(&self, sql: &str) {
        match &self.database {
            None => rusqlite_exec(&self.sqlite_path(), sql),
            Some(url) => postgres::Client::connect(url, postgres::NoTls)
                .and_then(|mut c| c.batch_execute(sql))
                .expect("raw PostgreSQL"),
        }
    }

    /// The users table's password hashes.
    fn password_hashes(&self) -> Vec<String> {
        let sql = "SELECT password_hash FROM users ORDER BY name";
        match &self.database {
            None => rusqlite_strings(&self.sqlite_path(), sql),
            Some(url) => postgres::Client::connect(url, postgres::NoTls)
                .and_then(|mut c| c.query(sql, &[]))
                .expect("raw PostgreSQL")
                .iter()
                .map(|r| r.get(0))
                .collect(),
        }
    }

    /// Everything the database holds, as text: the SQLite files byte for
    /// byte (the write-ahead log included), or every row of every table
    /// of the PostgreSQL database as JSON.
    fn everything_stored(&self) -> String {
        match &self.database {
            None => {
                let mut all = String::new();
                for suffix in ["", "-wal"] {
                    let mut p = self.sqlite_path().into_os_string();
                    p.push(suffix);
                    if let Ok(b) = std::fs::read(&p) {
                        all.push_str(&String::from_utf8_lossy(&b));
                    }
                }
                all
            }
            Some(url) => {
                let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
                let tables: Vec<String> = c
                    .query(
                        "SELECT table_name::text FROM information_schema.tables \
                         WHERE table_schema = 'public'",
                        &[],
                    )
                    .expect("tables")
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                assert!(tables.iter().any(|t| t == "sessions"), "{tables:?}");
                let mut all = String::new();
                for t in tables {
                    for r in c
                        .query(&format!("SELECT row_to_json(x)::text FROM {t} x"), &[])
                        .expect("rows")
                    {
                        all.push_str(&r.get::<_, String>(0));
                    }
                }
                all
            }
        }
    }
}

fn rusqlite_exec(path: &std::path::Path, sql: &str) {
    sqlite(path).execute_batch(sql).expect("raw SQLite");
}

fn rusqlite_strings(path: &std::path::Path, sql: &str) -> Vec<String> {
    let c = sqlite(path);
    let mut stmt = c.prepare(sql).expect("prepare");
    stmt.query_map([], |r| r.get::<_, String>(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn sqlite(path: &std::path::Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).expect("open SQLite");
    c.busy_timeout(Duration::from_secs(10))
        .expect("busy timeout");
    c
}

/// Login sets a cookie the browser keeps to itself; the session reads
/// without a CSRF token but changes nothing without the right one; roles
/// hold; logout ends it.
#[test]
fn sessions_authenticate_and_csrf_guards_every_change() {
    for backend in backends() {
        let s = start(&backend);
        // The first start's admin user, its password beside the token.
        let file = s.server_dir().join("admin-password");
        assert_eq!(
            std::fs::read_to_string(&file)
                .expect("admin-password")
                .trim(),
            s.admin_password
        );
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(s.admin_password.len(), 20);

        let r = s.login_reply("admin", &s.admin_password);
        assert_eq!(r.status, 201, "{}", r.text);
        let cookie = r.set_cookie.clone().expect("Set-Cookie");
        let attrs: Vec<&str> = cookie.split(';').map(str::trim).collect();
        assert!(attrs[0].starts_with("kensa_session=kss_"), "{cookie}");
        for a in [
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/",
            "Max-Age=43200",
        ] {
            assert!(attrs.contains(&a), "{a} missing from {cookie}");
        }
        assert_eq!(r.cache_control.as_deref(), Some("no-store"));
        assert_eq!(r.json["user"], "admin");
        assert_eq!(r.json["role"], "admin");
        assert!(r.json["expires_at"].as_i64().is_some(), "{}", r.text);
        let admin = s.login("admin", &s.admin_password);
        assert!(admin.csrf.starts_with("ksc_"));

        // Reads need no CSRF token; who-am-I hands the token out again.
        let me = s.call("GET", "/api/v1/session", Auth::Session(&admin, None), None);
        assert_eq!(me.status, 200, "{}", me.text);
        assert_eq!(
            (me.json["user"].as_str(), me.json["role"].as_str()),
            (Some("admin"), Some("admin"))
        );
        assert_eq!(me.json["csrf_token"].as_str(), Some(admin.csrf.as_str()));
        let assets = s.call("GET", "/api/v1/assets", Auth::Session(&admin, None), None);
        assert_eq!(assets.status, 200, "{}", assets.text);
        // Without a cookie or with a made-up one: 401.
        assert_eq!(
            s.call("GET", "/api/v1/session", Auth::None, None).status,
            401
        );
        let forged = Session {
            cookie: "kss_00".into(),
            csrf: admin.csrf.clone(),
        };
        assert_eq!(
            s.call("GET", "/api/v1/assets", Auth::Session(&forged, None), None)
                .status,
            401
        );

        // A change without the CSRF token, or with another session's or a
        // wrong one: 403, and nothing changed.
        let other = s.login("admin", &s.admin_password);
        let vera = json!({"name": "vera", "role": "viewer", "password": "vera's long password"});
        for csrf in [None, Some("ksc_wrong"), Some(other.csrf.as_str()), Some("")] {
            let r = s.call(
                "POST",
                "/api/v1/users",
                Auth::Session(&admin, csrf),
                Some(vera.clone()),
            );
            assert_eq!(r.status, 403, "{csrf:?}: {}", r.text);
            assert!(
                r.json["error"]
                    .as_str()
                    .expect("error")
                    .contains("X-CSRF-Token")
            );
            let r = s.call(
                "POST",
                "/api/v1/api-tokens",
                Auth::Session(&admin, csrf),
                Some(json!({"name": "t", "role": "admin"})),
            );
            assert_eq!(r.status, 403, "{}", r.text);
        }
        assert_eq!(s.user_names(), ["admin"]);
        // With it: done.
        let r = s.call(
            "POST",
            "/api/v1/users",
            Auth::Session(&admin, Some(&admin.csrf)),
            Some(vera),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json["user"]["role"], "viewer");
        assert!(!r.text.contains("argon2"), "{}", r.text);
        let r = s.call(
            "POST",
            "/api/v1/api-tokens",
            Auth::Session(&admin, Some(&admin.csrf)),
            Some(json!({"name": "ci", "role": "viewer"})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        // A bearer token needs no CSRF token, cookie or not.
        let r = s.call(
            "POST",
            "/api/v1/enrollment-tokens",
            Auth::Bearer(&s.admin),
            Some(json!({})),
        );
        assert_eq!(r.status, 201, "{}", r.text);

        // A viewer's session reads, and administers nothing even with its
        // CSRF token.
        let v = s.login("vera", "vera's long password");
        let me = s.call("GET", "/api/v1/session", Auth::Session(&v, None), None);
        assert_eq!(me.json["role"], "viewer", "{}", me.text);
        assert_eq!(
            s.call("GET", "/api/v1/findings", Auth::Session(&v, None), None)
                .status,
            200
        );
        assert_eq!(
            s.call("GET", "/api/v1/users", Auth::Session(&v, None), None)
                .status,
            403
        );
        for (path, body) in [
            (
                "/api/v1/users",
                json!({"name": "mallory", "role": "admin", "password": "mallory's password"}),
            ),
            ("/api/v1/api-tokens", json!({"name": "m", "role": "admin"})),
            ("/api/v1/enrollment-tokens", json!({})),
        ] {
            let r = s.call("POST", path, Auth::Session(&v, Some(&v.csrf)), Some(body));
            assert_eq!(r.status, 403, "{path}: {}", r.text);
        }
        let r = s.call(
            "PATCH",
            "/api/v1/users/vera",
            Auth::Session(&v, Some(&v.csrf)),
            Some(json!({"role": "admin"})),
        );
        assert_eq!(r.status, 403, "{}", r.text);
        assert_eq!(s.user_names(), ["admin", "vera"]);

        // Logout needs the CSRF token too (no logging people out from
        // another site), then ends the session and expires the cookie.
        let r = s.call("DELETE", "/api/v1/session", Auth::Session(&v, None), None);
        assert_eq!(r.status, 403, "{}", r.text);
        let r = s.call(
            "DELETE",
            "/api/v1/session",
            Auth::Session(&v, Some(&v.csrf)),
            None,
        );
        assert_eq!(r.status, 204, "{}", r.text);
        let gone = r.set_cookie.expect("Set-Cookie on logout");
        assert!(
            gone.starts_with("kensa_session=;") && gone.contains("Max-Age=0"),
            "{gone}"
        );
        assert_eq!(
            s.call("GET", "/api/v1/session", Auth::Session(&v, None), None)
                .status,
            401
        );
        assert_eq!(
            s.call("GET", "/api/v1/findings", Auth::Session(&v, None), None)
                .status,
            401
        );
        // The admin's sessions are not affected.
        assert_eq!(
            s.call("GET", "/api/v1/session", Auth::Session(&admin, None), None)
                .status,
            200
        );
        // The API document describes all of it.
        let doc = s.call("GET", "/api/v1/openapi.json", Auth::None, None).json;
        for path in ["/api/v1/session", "/api/v1/users", "/api/v1/users/{name}"] {
            assert!(doc["paths"][path].is_object(), "{path} undocumented");
        }
        assert_eq!(
            doc["components"]["securitySchemes"]["session"]["name"],
            "kensa_session"
        );
    }
}

/// A wrong password, an unknown name and a disabled user get the same
/// answer; expired and disabled users' sessions are refused; the database
/// keeps argon2id hashes and digests, never a password or token.
#[test]
fn logins_reveal_nothing_and_sessions_end() {
    for backend in backends() {
        let s = start(&backend);
        s.create_user("anna", "analyst", "anna's first password");
        s.create_user("dave", "viewer", "dave's long password");

        let wrong = s.login_reply("anna", "not anna's password");
        let unknown = s.login_reply("nobody", "not anna's password");
        assert_eq!((wrong.status, unknown.status), (401, 401));
        assert_eq!(wrong.text, unknown.text);
        assert!(wrong.set_cookie.is_none());

        // Disabled: the live session stops working, logins fail alike.
        let d = s.login("dave", "dave's long password");
        let r = s.call(
            "PATCH",
            "/api/v1/users/dave",
            Auth::Bearer(&s.admin),
            Some(json!({"disabled": true})),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(
            r.json["user"]["disabled_at"].as_i64().is_some(),
            "{}",
            r.text
        );
        assert_eq!(
            s.call("GET", "/api/v1/session", Auth::Session(&d, None), None)
                .status,
            401
        );
        let disabled = s.login_reply("dave", "dave's long password");
        assert_eq!(disabled.status, 401);
        assert_eq!(disabled.text, unknown.text);
        let r = s.call(
            "PATCH",
            "/api/v1/users/dave",
            Auth::Bearer(&s.admin),
            Some(json!({"disabled": false})),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        s.login("dave", "dave's long password");

        // Expired: refused, by the session lookup and by the CSRF check
        // alike (a dead cookie carries no authority).
        let a = s.login("anna", "anna's first password");
        assert_eq!(
            s.call("GET", "/api/v1/session", Auth::Session(&a, None), None)
                .status,
            200
        );
        s.raw_exec("UPDATE sessions SET expires_at = 1");
        assert_eq!(
            s.call("GET", "/api/v1/session", Auth::Session(&a, None), None)
                .status,
            401
        );
        let r = s.call(
            "POST",
            "/api/v1/api-tokens",
            Auth::Session(&a, Some(&a.csrf)),
            Some(json!({"name": "x", "role": "viewer"})),
        );
        assert_eq!(r.status, 401, "{}", r.text);

        // One's own password: with the current one only; the other
        // sessions end, this one goes on.
        let a = s.login("anna", "anna's first password");
        let a2 = s.login("anna", "anna's first password");
        let change = |current: &str| {
            s.call(
                "PATCH",
                "/api/v1/users/anna",
                Auth::Session(&a, Some(&a.csrf)),
                Some(json!({"password": "anna's second password", "current_password": current})),
            )
        };
        assert_eq!(change("a wrong password!").status, 403);
        let r = change("anna's first password");
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(s.login_reply("anna", "anna's first password").status, 401);
        s.login("anna", "anna's second password");
        assert_eq!(
            s.call("GET", "/api/v1/session", Auth::Session(&a, None), None)
                .status,
            200
        );
        assert_eq!(
            s.call("GET", "/api/v1/session", Auth::Session(&a2, None), None)
                .status,
            401
        );
        // Not someone else's, not one's role, not too short.
        let r = s.call(
            "PATCH",
            "/api/v1/users/dave",
            Auth::Session(&a, Some(&a.csrf)),
            Some(json!({"password": "dave's new password", "current_password": "anna's second password"})),
        );
        assert_eq!(r.status, 403, "{}", r.text);
        let r = s.call(
            "PATCH",
            "/api/v1/users/anna",
            Auth::Session(&a, Some(&a.csrf)),
            Some(json!({"role": "admin"})),
        );
        assert_eq!(r.status, 403, "{}", r.text);
        let r = s.call(
            "POST",
            "/api/v1/users",
            Auth::Bearer(&s.admin),
            Some(json!({"name": "short", "role": "viewer", "password": "elevenchars"})),
        );
        assert_eq!(r.status, 400, "{}", r.text);
        let r = s.call(
            "POST",
            "/api/v1/users",
            Auth::Bearer(&s.admin),
            Some(json!({"name": "bad name", "role": "viewer", "password": "long enough password"})),
        );
        assert_eq!(r.status, 400, "{}", r.text);
        let r = s.call(
            "POST",
            "/api/v1/users",
            Auth::Bearer(&s.admin),
            Some(json!({"name": "anna", "role": "viewer", "password": "long enough password"})),
        );
        assert_eq!(r.status, 409, "{}", r.text);
        // The last enabled admin stays one.
        let r = s.call(
            "PATCH",
            "/api/v1/users/admin",
            Auth::Bearer(&s.admin),
            Some(json!({"role": "viewer"})),
        );
        assert_eq!(r.status, 409, "{}", r.text);
        let r = s.call(
            "PATCH",
            "/api/v1/users/nobody",
            Auth::Bearer(&s.admin),
            Some(json!({"disabled": true})),
        );
        assert_eq!(r.status, 404, "{}", r.text);

        // What the database keeps.
        let hashes = s.password_hashes();
        assert_eq!(hashes.len(), 3);
        for h in &hashes {
            assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        }
        let live = s.login("anna", "anna's second password");
        let stored = s.everything_stored();
        assert!(stored.contains(&hashes[0]), "the dump holds the table");
        for secret in [
            s.admin_password.as_str(),
            "anna's first password",
            "anna's second password",
            "dave's long password",
            live.cookie.as_str(),
            live.csrf.as_str(),
            a.cookie.as_str(),
            s.admin.as_str(),
        ] {
            assert!(!stored.contains(secret), "{secret:?} is stored");
        }
    }
}

/// Password guessing: past the limit of failures, logins for that name
/// from that address are refused before any password check, the right
/// password included; other names still log in.
#[test]
fn password_guessing_is_throttled() {
    for backend in backends() {
        let s = start(&backend);
        s.create_user("anna", "analyst", "anna's first password");
        for i in 0..kensa_server::session::FAILURES_PER_NAME {
            let r = s.login_reply("anna", &format!("guess number {i}"));
            assert_eq!(r.status, 401, "{}", r.text);
        }
        let r = s.login_reply("anna", "anna's first password");
        assert_eq!(r.status, 429, "{}", r.text);
        assert!(r.set_cookie.is_none());
        let again = s
            .client
            .post(&format!("{}/api/v1/session", s.base))
            .set("Content-Type", "application/json")
            .send_string(r#"{"name": "anna", "password": "anna's first password"}"#);
        match again {
            Err(ureq::Error::Status(429, res)) => {
                let secs: u64 = res
                    .header("retry-after")
                    .and_then(|v| v.parse().ok())
                    .expect("Retry-After in seconds");
                assert!((1..=900).contains(&secs), "{secs}");
            }
            other => panic!("expected 429, got {other:?}"),
        }
        s.login("admin", &s.admin_password);
    }
}
