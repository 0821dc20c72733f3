//! The test server: the real `kensa_server` on loopback, TLS from its own
//! CA, on a [`Backend`], and a client that pins that CA.
//!
//! ```no_run
//! use kensa_testkit::{db::backends, server::{Auth, TestServer}};
//! for backend in backends() {
//!     let s = TestServer::start(&backend);
//!     let r = s.call("GET", "/api/v1/assets", Auth::Bearer(&s.admin), None);
//!     assert_eq!(r.status, 200, "{}", r.text());
//! }
//! ```
//!
//! [`TestServer::builder`] changes what [`TestServer::start`] assumes
//! (two workers, the data folder's knowledge base, no export settings).
//! The server stops when the value is dropped.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::db::Backend;

/// How a request authenticates.
#[derive(Clone, Copy, Debug)]
pub enum Auth<'a> {
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(&'a str),
    /// A `Cookie` header as given, and `X-CSRF-Token` if `Some`.
    Cookie(&'a str, Option<&'a str>),
}

/// An answer: status, headers (names lowercased, the first value of
/// each) and the body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON, `Null` when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// What to start; see [`TestServer::builder`].
pub struct Builder {
    data: tempfile::TempDir,
    database: Option<String>,
    kb: Option<PathBuf>,
    workers: usize,
    exports: kensa_server::export::ExportConfig,
    agentless: kensa_server::agentless::AgentlessConfig,
    capacity: kensa_server::Capacity,
    timeout: Duration,
    redirects: u32,
    agent_dist: Option<PathBuf>,
    notify: kensa_server::notify::NotifyConfig,
    observe: kensa_server::observe::ObserveConfig,
    clock: kensa_server::schedule::Clock,
}

impl Builder {
    /// The test's scratch directory (removed with the server); the
    /// server's own data directory is [`Builder::server_dir`] inside it.
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// The server's `--data` directory, for a test that prepares the
    /// database before the server starts.
    pub fn server_dir(&self) -> PathBuf {
        self.data.path().join("server")
    }

    /// Evaluation worker threads (default 2).
    pub fn workers(mut self, n: usize) -> Builder {
        self.workers = n;
        self
    }

    /// The knowledge base (default [`crate::kb::shared`]).
    pub fn kb(mut self, dir: &Path) -> Builder {
        self.kb = Some(dir.to_owned());
        self
    }

    /// An empty knowledge base, for tests that evaluate nothing: no build
    /// of the data folder's feeds.
    pub fn no_kb(mut self) -> Builder {
        self.kb = Some(self.data.path().join("kb"));
        self
    }

    pub fn exports(mut self, cfg: kensa_server::export::ExportConfig) -> Builder {
        self.exports = cfg;
        self
    }

    /// Server-side agentless scan settings (default: daily, 10 at once).
    pub fn agentless(mut self, cfg: kensa_server::agentless::AgentlessConfig) -> Builder {
        self.agentless = cfg;
        self
    }

    /// Run on this PostgreSQL database instead of the backend's (a
    /// cluster of the test's own, [`crate::pg::Cluster`]).
    pub fn database(mut self, url: &str) -> Builder {
        self.database = Some(url.to_owned());
        self
    }

    /// How much load the server takes on (default
    /// [`kensa_server::Capacity::default`]).
    pub fn capacity(mut self, c: kensa_server::Capacity) -> Builder {
        self.capacity = c;
        self
    }

    /// The client's timeout per request (default 30 s).
    pub fn timeout(mut self, t: Duration) -> Builder {
        self.timeout = t;
        self
    }

    /// The agent artefacts directory (`--agent-dist`; default
    /// `<server dir>/agent-dist`).
    pub fn agent_dist(mut self, dir: &Path) -> Builder {
        self.agent_dist = Some(dir.to_owned());
        self
    }

    /// Notification pacing (default: [`kensa_server::notify::NotifyConfig::default`]).
    pub fn notify(mut self, cfg: kensa_server::notify::NotifyConfig) -> Builder {
        self.notify = cfg;
        self
    }

    /// Who may read `/metrics` and where (default: admins only, on the
    /// main listener).
    pub fn observe(mut self, cfg: kensa_server::observe::ObserveConfig) -> Builder {
        self.observe = cfg;
        self
    }

    /// The schedules' clock: a file holding an RFC 3339 instant, which
    /// the test advances (default: the system clock).
    pub fn clock_file(mut self, file: &Path) -> Builder {
        self.clock = kensa_server::schedule::Clock::file(file.to_owned());
        self
    }

    /// Redirects the client follows (default 5; 0 to see them).
    pub fn redirects(mut self, n: u32) -> Builder {
        self.redirects = n;
        self
    }

    pub fn start(self) -> TestServer {
        let kb = self.kb.unwrap_or_else(|| crate::kb::shared().to_owned());
        let running = kensa_server::start(kensa_server::Config {
            data_dir: self.data.path().join("server"),
            listen: "127.0.0.1:0".parse().expect("addr"),
            database: self.database.clone(),
            kb_dir: kb,
            tls_names: vec!["localhost".into(), "127.0.0.1".into()],
            workers: self.workers,
            exports: self.exports,
            agentless: self.agentless,
            capacity: self.capacity,
            agent_dist: self.agent_dist,
            notify: self.notify,
            observe: self.observe,
            clock: self.clock,
        })
        .expect("server starts");
        let ca = kensa_agent::CaSource::Pinned(running.ca_cert.clone());
        let tls = kensa_agent::tls::client_config(&ca).expect("client TLS");
        let client = ureq::AgentBuilder::new()
            .tls_config(tls)
            .redirects(self.redirects)
            .timeout(self.timeout)
            .build();
        TestServer {
            base: format!("https://127.0.0.1:{}", running.addr.port()),
            // Only the start that created the database creates these.
            admin: running.admin_token.clone().unwrap_or_default(),
            admin_password: running.admin_password.clone().unwrap_or_default(),
            database: self.database,
            running: Some(running),
            data: self.data,
            client,
        }
    }
}

/// A running test server; stopped when dropped.
pub struct TestServer {
    running: Option<kensa_server::Running>,
    data: tempfile::TempDir,
    /// `https://127.0.0.1:PORT`.
    pub base: String,
    /// A client that trusts the server's CA (and nothing else).
    pub client: ureq::Agent,
    /// The admin API token the first start created.
    pub admin: String,
    /// The password of the user `admin` the first start created.
    pub admin_password: String,
    /// The PostgreSQL URL, `None` on SQLite.
    pub database: Option<String>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.running.take() {
            s.stop();
        }
    }
}

impl TestServer {
    /// A server on `backend` with the data folder's knowledge base and two
    /// evaluation workers.
    pub fn start(backend: &Backend) -> TestServer {
        TestServer::builder(backend).start()
    }

    /// A server to configure before [`Builder::start`].
    pub fn builder(backend: &Backend) -> Builder {
        Builder {
            data: tempfile::tempdir().expect("temp dir"),
            database: backend.url(),
            kb: None,
            workers: 2,
            exports: Default::default(),
            agentless: Default::default(),
            capacity: Default::default(),
            timeout: Duration::from_secs(30),
            redirects: 5,
            agent_dist: None,
            notify: Default::default(),
            observe: Default::default(),
            clock: Default::default(),
        }
    }

    /// The running server (its address, CA, backend).
    pub fn running(&self) -> &kensa_server::Running {
        self.running.as_ref().expect("running")
    }

    /// The test's scratch directory (see [`Builder::data_dir`]).
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// The server's data directory.
    pub fn server_dir(&self) -> PathBuf {
        self.data.path().join("server")
    }

    /// The CA certificate agents pin.
    pub fn ca(&self) -> PathBuf {
        self.running().ca_cert.clone()
    }

    /// A request to `path` (from `/`), authenticated as `auth`.
    pub fn request(&self, method: &str, path: &str, auth: Auth<'_>) -> ureq::Request {
        let mut req = self.client.request(method, &format!("{}{path}", self.base));
        match auth {
            Auth::None => {}
            Auth::Bearer(t) => req = req.set("Authorization", &format!("Bearer {t}")),
            Auth::Cookie(cookie, csrf) => {
                req = req.set("Cookie", cookie);
                if let Some(c) = csrf {
                    req = req.set("X-CSRF-Token", c);
                }
            }
        }
        req
    }

    /// A request with an optional JSON body; any status is an answer,
    /// only a transport failure panics.
    pub fn call(&self, method: &str, path: &str, auth: Auth<'_>, body: Option<Value>) -> Reply {
        let req = self.request(method, path, auth);
        let res = match body {
            Some(b) => req
                .set("Content-Type", "application/json")
                .send_string(&b.to_string()),
            None => req.call(),
        };
        reply(res, method, path)
    }

    /// A request with a raw body of `content_type`.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        auth: Auth<'_>,
        content_type: &str,
        body: &[u8],
    ) -> Reply {
        let res = self
            .request(method, path, auth)
            .set("Content-Type", content_type)
            .send_bytes(body);
        reply(res, method, path)
    }

    /// `GET path` as the admin; panics unless 200.
    pub fn get(&self, path: &str) -> Value {
        let r = self.call("GET", path, Auth::Bearer(&self.admin), None);
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        r.json()
    }

    /// Logs `name` in through the API: the session's `Cookie` header
    /// value and its CSRF token.
    pub fn login(&self, name: &str, password: &str) -> (String, String) {
        let r = self.call(
            "POST",
            "/api/v1/session",
            Auth::None,
            Some(json!({"name": name, "password": password})),
        );
        assert_eq!(r.status, 201, "login {name}: {}", r.text());
        let cookie = r
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_owned();
        let csrf = r.json()["csrf_token"]
            .as_str()
            .expect("a CSRF token")
            .to_owned();
        (cookie, csrf)
    }

    /// A new API token with `role`, made by the admin.
    pub fn api_token(&self, name: &str, role: &str) -> String {
        let r = self.call(
            "POST",
            "/api/v1/api-tokens",
            Auth::Bearer(&self.admin),
            Some(json!({ "name": name, "role": role })),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["token"].as_str().expect("token").to_owned()
    }

    /// The user `admin`'s session, from the login API: the `Cookie`
    /// header value and the CSRF token, for console pages and forms.
    pub fn admin_session(&self) -> (String, String) {
        let r = self.call(
            "POST",
            "/api/v1/session",
            Auth::None,
            Some(json!({"name": "admin", "password": self.admin_password})),
        );
        assert_eq!(r.status, 201, "login: {}", r.text());
        let cookie = r
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .expect("kensa_session cookie")
            .to_owned();
        let csrf = r.json()["csrf_token"]
            .as_str()
            .expect("csrf_token")
            .to_owned();
        (cookie, csrf)
    }

    /// A new enrolment token, made by the admin.
    pub fn enrollment_token(&self) -> String {
        let r = self.call(
            "POST",
            "/api/v1/enrollment-tokens",
            Auth::Bearer(&self.admin),
            Some(json!({})),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["token"].as_str().expect("token").to_owned()
    }

    /// An agent's configuration for this server, collecting `root`, its
    /// state in `state`; no nice level or memory limit (tests run many).
    pub fn agent_config(&self, root: &Path, state: &Path) -> kensa_agent::Config {
        let mut cfg = kensa_agent::Config::new(
            self.base.clone(),
            kensa_agent::CaSource::Pinned(self.ca()),
            state,
        );
        cfg.target = kensa_agent::Target::Root(root.to_owned());
        cfg.nice = None;
        cfg.address_space_limit = None;
        cfg
    }

    /// Waits (60 s at most) until asset `id` was evaluated at or after
    /// `since` (unix ms).
    pub fn wait_evaluated(&self, id: i64, since: i64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let d = self.get(&format!("/api/v1/assets/{id}"));
            if d["evaluated_at"].as_i64().is_some_and(|t| t >= since) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "asset {id} not evaluated in 60 s: {d}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn reply(res: Result<ureq::Response, ureq::Error>, method: &str, path: &str) -> Reply {
    let res = match res {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    let status = res.status();
    let headers = res
        .headers_names()
        .into_iter()
        .filter_map(|n| {
            res.header(&n)
                .map(|v| (n.to_ascii_lowercase(), v.to_owned()))
        })
        .collect();
    let mut body = Vec::new();
    res.into_reader()
        .read_to_end(&mut body)
        .unwrap_or_else(|e| panic!("{method} {path}: reading the body: {e}"));
    Reply {
        status,
        headers,
        body,
    }
}
