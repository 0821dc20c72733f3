//! The console end to end in a real headless Chromium (Debian's
//! `chromium`, driven through `chromedriver` with the W3C WebDriver
//! protocol), against the real server on loopback with real data: an agent
//! enrolled with the data folder's real Alpine apk database, evaluated by
//! the knowledge base built from the data folder. On SQLite and on
//! PostgreSQL (`KENSA_TEST_PG`).
//!
//! A screenshot of every page visited is written to
//! `target/e2e-screenshots/<backend>/NN-name.png`.
//!
//! The WebDriver client is the few calls below over `ureq` (already the
//! tests' HTTP client): a session, navigation, elements, clicks, typing,
//! cookies and screenshots are all the test needs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kensa_testkit::roots::AlpineRoot;
use serde_json::{Value, json};

use crate::support;
use support::{Auth, Backend, TestServer, backends};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Whether the browser is here; in CI its absence fails the test.
fn browser_available() -> bool {
    let ok = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !ok {
        let msg = format!(
            "{CHROMIUM} or {CHROMEDRIVER} missing: install Debian's chromium and chromium-driver \
             (scripts/setup does)"
        );
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("console e2e skipped: {msg}");
    }
    ok
}

/// The real server with one agent's findings in it.
struct Server {
    srv: TestServer,
    /// The client, following no redirects.
    http: ureq::Agent,
    admin_token: String,
    admin_password: String,
}

impl std::ops::Deref for Server {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.srv
    }
}

impl Server {
    fn start(backend: &Backend) -> Server {
        let srv = TestServer::builder(backend).redirects(0).start();
        assert!(!srv.admin.is_empty(), "admin token");
        assert!(!srv.admin_password.is_empty(), "admin password");
        let s = Server {
            http: srv.client.clone(),
            admin_token: srv.admin.clone(),
            admin_password: srv.admin_password.clone(),
            srv,
        };
        s.enroll_alpine();
        s
    }

    fn api(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let r = self
            .srv
            .call(method, path, Auth::Bearer(&self.admin_token), body);
        (r.status, r.json())
    }

    /// A real agent reports the data folder's real Alpine 3.4 apk database;
    /// returns when its findings are in.
    fn enroll_alpine(&self) {
        let (s, b) = self.api("POST", "/api/v1/enrollment-tokens", Some(json!({})));
        assert_eq!(s, 201, "{b}");
        let dir = self.data_dir().join("agent");
        let root = AlpineRoot::new().write(&dir.join("root"));
        let cfg = self.agent_config(&root, &dir.join("state"));
        kensa_agent::enroll(&cfg, b["token"].as_str().expect("token")).expect("enroll");
        kensa_agent::run_once(&cfg).expect("run");
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let (_, b) = self.api("GET", "/api/v1/findings?limit=1", None);
            if b["findings"].as_array().is_some_and(|f| !f.is_empty()) {
                return;
            }
            assert!(Instant::now() < deadline, "no findings after 90 s");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// chromedriver on a free port, killed on drop.
struct Driver {
    child: Child,
    url: String,
    http: ureq::Agent,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let d = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            http: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(60))
                .build(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = d.http.get(&format!("{}/status", d.url)).call()
                && r.into_string()
                    .ok()
                    .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                    .is_some_and(|v| v["value"]["ready"] == true)
            {
                return d;
            }
            assert!(Instant::now() < deadline, "chromedriver not ready in 20 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn browser(&self, shots: PathBuf) -> Browser<'_> {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1400,1000",
                         "--lang=en-US"],
                "prefs": {"intl.accept_languages": "en-US,en"}
            }
        }}});
        let v = self.call("POST", "/session", Some(caps));
        let id = v["sessionId"].as_str().expect("session id").to_owned();
        // Only this run's pages.
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).expect("screenshot dir");
        Browser {
            d: self,
            id,
            shots,
            n: 0,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
    }

    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let req = self.http.request(method, &format!("{}{path}", self.url));
        let res = match body {
            Some(b) => req
                .set("Content-Type", "application/json")
                .send_string(&b.to_string()),
            None => req.call(),
        };
        let v: Value = match res {
            Ok(r) => serde_json::from_str(&r.into_string().map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?,
            Err(ureq::Error::Status(code, r)) => {
                return Err(format!("{code} {}", r.into_string().unwrap_or_default()));
            }
            Err(e) => return Err(e.to_string()),
        };
        Ok(v["value"].clone())
    }
}

struct Browser<'a> {
    d: &'a Driver,
    id: String,
    shots: PathBuf,
    n: u32,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Drop for Browser<'_> {
    fn drop(&mut self) {
        let _ = self
            .d
            .http
            .delete(&format!("{}/session/{}", self.d.url, self.id))
            .call();
    }
}

impl Browser<'_> {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.d
            .call(method, &format!("/session/{}{path}", self.id), body)
    }

    fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    fn url(&self) -> String {
        self.call("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn find_all(&self, css: &str) -> Vec<String> {
        self.call(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e[ELEMENT].as_str().map(str::to_owned))
        .collect()
    }

    fn find(&self, css: &str) -> String {
        self.find_all(css)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no element {css} on {}", self.url()))
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/click"), Some(json!({})));
    }

    /// Clicks what submits a form or follows a link, and waits for the
    /// next page: the clicked element gone stale, the new one loaded.
    fn submit(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/click"), Some(json!({})));
        let deadline = Instant::now() + Duration::from_secs(20);
        while self
            .d
            .try_call(
                "GET",
                &format!("/session/{}/element/{e}/name", self.id),
                None,
            )
            .is_ok()
        {
            assert!(Instant::now() < deadline, "{css}: no new page in 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        while self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": "return document.readyState", "args": []})),
        ) != "complete"
        {
            assert!(Instant::now() < deadline, "{css}: page not loaded in 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn type_in(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/clear"), Some(json!({})));
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.text_of(&e)
    }

    fn text_of(&self, e: &str) -> String {
        self.call("GET", &format!("/element/{e}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn attr(&self, css: &str, name: &str) -> String {
        let e = self.find(css);
        self.call("GET", &format!("/element/{e}/property/{name}"), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn attrs(&self, css: &str, name: &str) -> Vec<String> {
        self.find_all(css)
            .iter()
            .map(|e| {
                self.call("GET", &format!("/element/{e}/attribute/{name}"), None)
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }

    fn texts(&self, css: &str) -> Vec<String> {
        self.find_all(css).iter().map(|e| self.text_of(e)).collect()
    }

    fn cookie(&self, name: &str) -> String {
        self.call("GET", &format!("/cookie/{name}"), None)["value"]
            .as_str()
            .expect("cookie")
            .to_owned()
    }

    /// A PNG of the page, saved as the next numbered screenshot.
    fn shot(&mut self, name: &str) {
        self.n += 1;
        let b64 = self.call("GET", "/screenshot", None);
        let png = base64_decode(b64.as_str().expect("screenshot"));
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let path = self.shots.join(format!("{:02}-{name}.png", self.n));
        std::fs::write(&path, png).expect("write screenshot");
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter_map(val) {
        acc = (acc << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn screenshots(backend: &str) -> PathBuf {
    // CARGO_MANIFEST_DIR is crates/kensa-server; the artifacts go to the
    // workspace's target directory (git-ignored).
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/e2e-screenshots")
        .join(backend)
}

fn login(b: &mut Browser<'_>, base: &str, name: &str, password: &str) {
    b.go(&format!("{base}/login"));
    b.type_in("input[name=name]", name);
    b.type_in("input[name=password]", password);
    b.submit("#login-submit");
    assert!(
        b.find_all("#login-error").is_empty(),
        "login as {name} failed"
    );
}

#[test]
fn the_console_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let driver = Driver::start();
    for backend in backends() {
        let server = Server::start(&backend);
        let base = server.base.clone();
        let mut b = driver.browser(screenshots(backend.label()));

        // Not logged in: the login page, which says what went wrong.
        b.go(&format!("{base}/findings"));
        assert!(b.url().contains("/login?next=%2Ffindings"), "{}", b.url());
        b.type_in("input[name=name]", "admin");
        b.type_in("input[name=password]", "wrong password");
        b.submit("#login-submit");
        assert!(
            b.text("#login-error")
                .contains("Wrong user name or password")
        );
        b.shot("login-failed");
        // The failed login kept the way back.
        b.type_in("input[name=name]", "admin");
        b.type_in("input[name=password]", &server.admin_password);
        b.submit("#login-submit");
        assert!(
            b.url().ends_with("/findings"),
            "back where it was: {}",
            b.url()
        );

        // The dashboard.
        b.go(&format!("{base}/"));
        assert!(b.find_all("#card-severity svg").len() == 1);
        assert!(b.find_all("#card-trend svg polyline").len() == 1);
        let total: u64 = b.text("#card-severity .big").parse().expect("a count");
        assert!(total > 0, "the Alpine root has open findings");
        let (_, counted) = server.api(
            "GET",
            "/api/v1/findings?filter=status=ACTIVE&count=true&limit=1",
            None,
        );
        assert_eq!(Some(total), counted["total"].as_u64(), "{counted}");
        let sum = |css: &str| -> u64 {
            b.texts(css)
                .iter()
                .map(|t| t.parse::<u64>().expect("a count"))
                .sum()
        };
        assert_eq!(sum("#card-severity svg text.num"), total, "every band");
        assert_eq!(sum("#card-base svg text.num"), total, "every base band");
        // Nothing closed yet: today's point of the trend is every open one.
        let today = b.find_all("#card-trend svg circle").pop().expect("a point");
        let label = b.call(
            "GET",
            &format!("/element/{today}/property/textContent"),
            None,
        );
        assert!(
            label
                .as_str()
                .is_some_and(|l| l.ends_with(&format!(": {total}"))),
            "{label}"
        );
        b.shot("dashboard");

        // Filter by severity and package, with the quick filters.
        let (_, listed) = server.api(
            "GET",
            "/api/v1/findings?filter=package=busybox&limit=1",
            None,
        );
        let severity = listed["findings"][0]["severity"]
            .as_str()
            .expect("busybox has findings")
            .to_owned();
        b.go(&format!("{base}/findings"));
        b.shot("findings");
        b.type_in("#quick-package", "busybox");
        b.click(&format!("#quick-severity option[value={severity}]"));
        b.submit("#apply-filters");
        let url = b.url();
        assert!(
            url.contains(&format!("severity={severity}")) && url.contains("package=busybox"),
            "{url}"
        );
        let packages = b.texts("#findings td.pkg");
        assert!(
            !packages.is_empty(),
            "busybox {severity} findings are listed"
        );
        assert!(
            packages.iter().all(|p| p.starts_with("busybox")),
            "{packages:?}"
        );
        // The badge names the band in the reader's language; the band's
        // API word is its `data-band`.
        let bands = b.attrs("#findings .sev", "data-band");
        assert!(bands.iter().all(|s| *s == severity), "{bands:?}");
        let expected = server.api(
            "GET",
            &format!("/api/v1/findings?filter=status=ACTIVE+severity={severity}+package^=busybox&limit=1000"),
            None,
        ).1["findings"].as_array().map_or(0, Vec::len);
        assert_eq!(
            packages.len(),
            expected.min(50),
            "the page lists what the API selects"
        );
        b.shot("findings-filtered");

        // The same address reproduces the view; saved under a name, it is
        // one click away.
        b.go(&url);
        assert_eq!(b.texts("#findings td.pkg"), packages);
        b.type_in("#view-name", "busybox <e2e>");
        b.submit("#view-save");
        b.go(&format!("{base}/findings"));
        assert_eq!(b.texts("a.saved-view"), ["busybox <e2e>"]);
        b.submit("a.saved-view");
        // The canonical address: empty parameters dropped.
        assert_eq!(b.url(), url.replace("q=&", ""));
        assert_eq!(b.texts("#findings td.pkg"), packages);

        // Sort by package (a first click on a text column sorts it
        // ascending), then turn it round; by score, most-first.
        b.go(&format!("{base}/findings"));
        b.submit("a.sort[data-key=package]");
        assert!(b.url().contains("sort=package%3Aasc"), "{}", b.url());
        let names = |b: &Browser<'_>| -> Vec<String> {
            b.texts("#findings td.pkg")
                .iter()
                .map(|t| t.split_whitespace().next().unwrap_or_default().to_owned())
                .collect()
        };
        let asc = names(&b);
        assert!(asc.len() > 1 && asc.first() != asc.last(), "{asc:?}");
        assert!(asc.windows(2).all(|w| w[0] <= w[1]), "ascending: {asc:?}");
        assert!(b.text("a.sort[data-key=package]").ends_with('▲'));
        b.shot("findings-sorted-package");
        b.submit("a.sort[data-key=package]");
        assert!(b.url().contains("sort=package%3Adesc"), "{}", b.url());
        let desc = names(&b);
        assert!(
            desc.windows(2).all(|w| w[0] >= w[1]),
            "descending: {desc:?}"
        );
        assert_ne!(asc.first(), desc.first());
        b.submit("a.sort[data-key=score]");
        assert!(b.url().contains("sort=score%3Adesc"), "{}", b.url());
        let scores: Vec<f64> = b
            .texts("#findings tbody tr td:nth-child(9)")
            .iter()
            .map(|s| s.parse().unwrap_or(-1.0))
            .collect();
        assert!(
            scores.windows(2).all(|w| w[0] >= w[1]),
            "descending: {scores:?}"
        );

        // Keyset paging: the next page starts after the first.
        b.go(&format!("{base}/findings"));
        if !b.find_all("#next-page").is_empty() {
            let ids_1 = b.attrs("#findings tbody tr", "data-id");
            b.submit("#next-page");
            assert!(b.url().contains("cursor="));
            let ids_2 = b.attrs("#findings tbody tr", "data-id");
            assert_eq!(ids_1.len(), 50);
            assert!(!ids_2.is_empty());
            assert!(ids_2.iter().all(|i| !ids_1.contains(i)), "no row twice");
            b.shot("findings-page-2");
        }

        // The grouped views.
        for view in ["vulnerability", "asset", "package"] {
            b.go(&format!("{base}/findings"));
            b.submit(&format!("#view-{view}"));
            assert!(b.url().contains(&format!("view={view}")));
            assert!(!b.find_all("#groups tbody tr").is_empty(), "{view}");
            b.shot(&format!("findings-by-{view}"));
        }

        // Open a finding, triage it, see the audit entry.
        b.go(&url);
        b.submit("#findings a.finding-link");
        let finding_url = b.url();
        let id: i64 = finding_url
            .rsplit('/')
            .next()
            .and_then(|s| s.parse().ok())
            .expect("finding id");
        assert!(b.text("#finding-title").contains("busybox"));
        assert!(!b.text("#fix-command").is_empty(), "the fix command");
        b.shot("finding");
        b.click("#triage-state option[value=exploitable]");
        b.type_in("#triage-assignee", "alice");
        b.type_in("#triage-comment", "seen in the <b>e2e</b> test");
        b.submit("#triage-submit");
        assert_eq!(b.url(), finding_url);
        let audit = b.texts("#audit tr.audit-entry");
        assert!(
            audit.first().is_some_and(|a| a.contains("admin")
                && a.contains("exploitable")
                && a.contains("alice")
                && a.contains("<b>e2e</b>")),
            "escaped, shown as written: {audit:?}"
        );
        assert!(
            b.find_all("#audit b").is_empty(),
            "no markup from a comment"
        );
        assert_eq!(b.attr("#triage-assignee", "value"), "alice");
        b.shot("finding-triaged");
        let (_, detail) = server.api("GET", &format!("/api/v1/findings/{id}"), None);
        assert_eq!(detail["triage"]["state"], "exploitable");
        assert_eq!(detail["triage"]["assignee"], "alice");

        // Export: the link carries the view's filter.
        b.go(&url);
        let href = b.attr("#export-csv", "href");
        assert!(
            href.contains("/api/v1/findings/export?format=csv&filter="),
            "{href}"
        );
        assert!(
            href.contains(&format!("severity%3D{severity}"))
                && href.contains("package%5E%3Dbusybox"),
            "{href}"
        );
        let cookie = b.cookie("kensa_session");
        let res = server
            .http
            .get(&href)
            .set("Cookie", &format!("kensa_session={cookie}"))
            .call();
        match res {
            Ok(r) => {
                let text = r.into_string().expect("CSV");
                let mut csv = csv::Reader::from_reader(text.as_bytes());
                let header = csv.headers().expect("header").clone();
                assert_eq!(header.get(0), Some("AWS Account Id"), "{header:?}");
                assert_eq!(header.get(1), Some("Severity"), "{header:?}");
                let rows: Vec<csv::StringRecord> = csv.records().map(|r| r.expect("row")).collect();
                assert_eq!(rows.len(), expected, "one row per finding the view selects");
                assert!(
                    rows.iter().all(|r| r.get(1) == Some(severity.as_str())),
                    "{rows:?}"
                );
            }
            // Without the export route, `/api/v1/findings/{id}` answers:
            // "export" is not a finding id.
            Err(ureq::Error::Status(400, r)) => {
                let text = r.into_string().unwrap_or_default();
                assert!(text.contains("Cannot parse"), "export: 400 {text}");
                eprintln!("the export endpoint is not on this branch: only the link was checked");
            }
            Err(e) => panic!("export: {e}"),
        }

        // Bulk-suppress what the filter selects: chosen explicitly, and
        // confirmed with the number it changes.
        b.go(&url);
        b.click("#bulk-suppress");
        b.type_in("#bulk-reason", "accepted in the e2e test");
        b.click("#bulk-scope-filter");
        b.submit("#bulk-submit");
        assert_eq!(b.text("#bulk-n"), expected.to_string());
        b.submit("#bulk-confirm-submit");
        assert_eq!(b.text("#changed"), format!("{expected} findings changed."));
        assert!(
            !b.find_all("#no-findings").is_empty(),
            "none of them is ACTIVE now"
        );
        b.shot("bulk-suppressed");
        let (_, after) = server.api(
            "GET",
            &format!("/api/v1/findings?filter=severity={severity}+package^=busybox&limit=1000"),
            None,
        );
        let after = after["findings"].as_array().cloned().unwrap_or_default();
        assert!(!after.is_empty());
        assert!(
            after
                .iter()
                .filter(|f| f["status"] != "CLOSED")
                .all(|f| f["status"] == "SUPPRESSED"),
            "{after:?}"
        );

        // The other pages.
        // A suppression rule, from its form: the filter's open findings
        // become SUPPRESSED at once.
        b.go(&format!("{base}/rules"));
        b.type_in("#rule-form input[name=name]", "libcrypto in the e2e test");
        b.type_in("#rule-form input[name=filter]", "package=libcrypto1.0");
        b.type_in("#rule-form input[name=reason]", "only libssl is used");
        b.submit("#rule-form button");
        let (_, open) = server.api(
            "GET",
            "/api/v1/findings?filter=package=libcrypto1.0+status=ACTIVE&limit=10",
            None,
        );
        assert_eq!(open["findings"].as_array().map(Vec::len), Some(0), "{open}");
        let (_, gone) = server.api(
            "GET",
            "/api/v1/findings?filter=package=libcrypto1.0+status=SUPPRESSED&count=true&limit=1",
            None,
        );
        let n = gone["total"].as_u64().expect("count");
        assert!(n > 0);
        assert_eq!(b.text("#changed"), format!("{n} findings changed."));
        assert!(b.text("#rules").contains("libcrypto in the e2e test"));
        b.shot("rules");
        b.go(&format!("{base}/coverage"));
        assert!(!b.texts("#coverage td.reason").is_empty());
        b.shot("coverage");
        b.go(&format!("{base}/findings/{id}"));
        b.submit("#finding-title ~ .cards a[href^='/assets/']");
        assert!(b.text("#asset-title").contains("Asset"));
        b.type_in("#inventory-search", "busy");
        b.submit("#inventory-submit");
        let inv = b.texts("#inventory tbody td:first-child");
        assert!(
            !inv.is_empty() && inv.iter().all(|n| n.contains("busy")),
            "{inv:?}"
        );
        b.shot("asset");
        // Management items, edited by an admin.
        b.type_in("#management-form input[name=owner]", "ops <team>");
        b.click("#management-form select[name=internet_exposure] option[value=yes]");
        b.type_in(
            "#management-form input[name=exposed_ports]",
            "22/tcp, 8000-8080/tcp",
        );
        b.submit("#management-submit");
        assert_eq!(b.text("#asset-exposure"), "yes");
        assert_eq!(
            b.attr("#management-form input[name=owner]", "value"),
            "ops <team>"
        );
        assert_eq!(
            b.attr("#management-form input[name=exposed_ports]", "value"),
            "22/tcp, 8000-8080/tcp"
        );
        b.shot("asset-managed");
        b.go(&format!("{base}/admin"));
        b.submit("#enroll-submit");
        let cmd = b.text("#enroll-manual");
        assert!(
            cmd.starts_with("kensa agent enroll --server https://127.0.0.1:")
                && cmd.contains("--ca ca.pem --token ket_"),
            "{cmd}"
        );
        let line = b.text("#enroll-oneliner");
        assert!(
            line.starts_with("curl -fsS --cacert ca.pem https://127.0.0.1:")
                && line.contains("/install.sh | sh -s -- --ca ca.pem --token ket_"),
            "{line}"
        );
        assert!(
            b.text("#enroll-pinned").contains("--ca-sha256 "),
            "the pinned one-liner"
        );
        b.shot("admin-enroll");

        // The admin's session: a form post needs the form's CSRF token,
        // and every answer carries the content security policy.
        let csrf = b.attr("input[name=csrf_token]", "value");
        let cookie = b.cookie("kensa_session");
        let form_post = |body: &str| match server
            .http
            .post(&format!("{base}/rules"))
            .set("Cookie", &format!("kensa_session={cookie}"))
            .set("Content-Type", "application/x-www-form-urlencoded")
            .send_string(body)
        {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(s, _)) => s,
            Err(e) => panic!("/rules: {e}"),
        };
        let rule = "name=e2e&filter=severity%3DLOW&reason=checked";
        assert_eq!(form_post(rule), 403, "no CSRF token");
        assert_eq!(form_post(&format!("csrf_token=ksc_wrong&{rule}")), 403);
        let (_, rules) = server.api("GET", "/api/v1/suppression-rules", None);
        assert_eq!(rules["rules"].as_array().map(Vec::len), Some(1), "{rules}");
        assert_eq!(form_post(&format!("csrf_token={csrf}&{rule}")), 303);
        let (_, rules) = server.api("GET", "/api/v1/suppression-rules", None);
        assert_eq!(rules["rules"].as_array().map(Vec::len), Some(2), "{rules}");
        let page = server
            .http
            .get(&format!("{base}/login"))
            .call()
            .expect("login page");
        assert!(
            page.header("content-security-policy")
                .is_some_and(|c| c.starts_with("default-src 'self'")),
            "CSP"
        );

        // A viewer, created here, logs in.
        b.go(&format!("{base}/admin"));
        b.type_in("#user-form input[name=name]", "vera");
        b.click("#user-form select[name=role] option[value=viewer]");
        b.type_in("#user-form input[name=password]", "viewer password 1");
        b.submit("#user-form button");
        assert!(b.texts("#users td").iter().any(|t| t == "vera"));
        b.submit("header form button");
        login(&mut b, &base, "vera", "viewer password 1");
        b.go(&format!("{base}/findings"));
        assert!(b.find_all("#bulk").is_empty(), "no bulk form for a viewer");
        assert!(
            b.find_all("input.pick").is_empty(),
            "no check boxes for a viewer"
        );
        assert!(
            !b.find_all("#findings tbody tr").is_empty(),
            "a viewer reads"
        );
        b.shot("viewer-findings");
        b.go(&format!("{base}/findings/{id}"));
        assert!(
            b.find_all("#triage-form").is_empty(),
            "no triage form for a viewer"
        );
        assert!(b.text("#triage-readonly").contains("exploitable"));
        b.shot("viewer-finding");
        // The server refuses a crafted triage anyway, CSRF token and all.
        let csrf = b.attr("input[name=csrf_token]", "value");
        let cookie = b.cookie("kensa_session");
        let post = |path: &str, body: &str| match server
            .http
            .post(&format!("{base}{path}"))
            .set("Cookie", &format!("kensa_session={cookie}"))
            .set("Content-Type", "application/x-www-form-urlencoded")
            .send_string(body)
        {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(s, _)) => s,
            Err(e) => panic!("{path}: {e}"),
        };
        assert_eq!(
            post(
                &format!("/findings/{id}/triage"),
                &format!("csrf_token={csrf}&state=resolved")
            ),
            403
        );
        assert_eq!(
            post(
                "/findings/bulk",
                &format!("csrf_token={csrf}&filter=status%3DSUPPRESSED&state=resolved")
            ),
            403
        );
        assert_eq!(
            post(
                "/rules",
                &format!("csrf_token={csrf}&name=x&filter=severity%3DLOW&reason=x")
            ),
            403
        );
        // Without the CSRF token nobody gets anywhere, whatever the role.
        assert_eq!(
            post(&format!("/findings/{id}/triage"), "state=resolved"),
            403
        );
        let (_, detail) = server.api("GET", &format!("/api/v1/findings/{id}"), None);
        assert_eq!(detail["triage"]["state"], "exploitable", "nothing changed");

        // Japanese, by the switch.
        b.submit("#lang-switch");
        assert!(b.text("header nav").contains("検出結果"));
        assert!(b.url().ends_with(&format!("/findings/{id}")), "{}", b.url());
        b.shot("viewer-finding-ja");
        b.go(&format!("{base}/"));
        b.shot("dashboard-ja");
    }
}

/// Issue 13: the language switch's `back=` and the login form's `next=`
/// with ways back that a browser reads as another site (it drops tabs and
/// newlines, reads `\` as `/`): the real browser must end on this server.
#[test]
#[ignore = "needs Chromium and chromedriver (scripts/setup); scripts/test runs it"]
fn the_browser_stays_on_this_site_after_lang_and_login() {
    if !browser_available() {
        return;
    }
    let s = TestServer::builder(&Backend::Sqlite)
        .no_kb()
        .workers(1)
        .start();
    let origin = s.base.clone();
    let d = Driver::start();
    let mut b = d.browser(screenshots("redirects"));
    let loaded = |b: &Browser<'_>| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while b.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": "return document.readyState", "args": []})),
        ) != "complete"
        {
            assert!(Instant::now() < deadline, "page not loaded in 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let on_site = |b: &Browser<'_>, what: &str| {
        let url = b.url();
        assert!(
            url.starts_with(&format!("{origin}/")),
            "{what}: the browser left the site for {url}"
        );
    };
    let off_site = [
        "/%09/evil.example/",
        "/%0A/evil.example/",
        "/%0D/evil.example/",
        "/%5Cevil.example/",
        "//evil.example/",
        "https://evil.example/",
    ];
    for back in off_site {
        b.go(&format!("{origin}/lang?set=ja&back={back}"));
        loaded(&b);
        on_site(&b, &format!("/lang?back={back}"));
    }
    b.shot("after-lang");
    // A path on this site is kept.
    b.go(&format!("{origin}/lang?set=en&back=/login%3Fnext%3D%2F"));
    loaded(&b);
    assert!(
        b.url().starts_with(&format!("{origin}/login?next=")),
        "{}",
        b.url()
    );

    for next in off_site {
        // Logged out each time: the login form is what is tested.
        b.call("DELETE", "/cookie", None);
        b.go(&format!("{origin}/login?next={next}"));
        loaded(&b);
        b.type_in("input[name=name]", "admin");
        b.type_in("input[name=password]", &s.admin_password);
        b.submit("#login-submit");
        loaded(&b);
        on_site(&b, &format!("login next={next}"));
        assert!(b.find_all("#login-error").is_empty(), "login failed");
    }
    b.shot("after-login");
}

/// The register page (`/assets`) in the browser: the 20 servers of
/// `assets::register_csv`, two of them reporting through real agents,
/// with the dates that need attention highlighted, sorted, filtered,
/// saved as a view, a count followed to its findings, and the page in
/// Japanese. Screenshots in `target/e2e-screenshots/assets-<backend>/`.
#[test]
fn the_assets_page_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let driver = Driver::start();
    for backend in backends() {
        let srv = TestServer::builder(&backend).redirects(0).start();
        let password = srv.admin_password.clone();
        let reg = crate::assets::Register::with(srv, &backend);
        let base = reg.srv.base.clone();
        let mut b = driver.browser(screenshots(&format!("assets-{}", backend.label())));
        // Wide enough for the whole register in the screenshots.
        b.call(
            "POST",
            "/window/rect",
            Some(json!({"width": 2200, "height": 1300})),
        );
        login(&mut b, &base, "admin", &password);
        b.go(&format!("{base}/assets"));
        let row = |name: &str| format!("#assets tr[data-id=\"{}\"]", reg.id_of(name));
        assert_eq!(
            b.find_all("#assets tbody tr").len(),
            20,
            "every server once"
        );
        assert!(
            b.text("#asset-count").contains("20"),
            "{}",
            b.text("#asset-count")
        );
        // Past and near dates stand out; the rest do not.
        assert_eq!(
            b.find_all(&format!("{} td.support-end .date-past", row("db-01")))
                .len(),
            1
        );
        assert_eq!(
            b.find_all(&format!("{} td.support-end .date-soon", row("web-02")))
                .len(),
            1
        );
        assert_eq!(
            b.find_all(&format!("{} td.support-end .date-ok", row("web-01")))
                .len(),
            1
        );
        assert_eq!(
            b.find_all(&format!("{} td.os-eol .date-past", row("legacy-01")))
                .len(),
            1
        );
        assert_eq!(
            b.text(&format!("{} td.os-eol .os-state", row("legacy-01"))),
            "ended"
        );
        assert_eq!(
            b.text(&format!("{} td.os-eol .os-state", row("app-03"))),
            "ended"
        );
        // Register-only machines are there, with nothing to count.
        assert!(
            b.text(&format!("{} td.coverage", row("lab-16")))
                .contains("unmanaged")
        );
        assert!(
            b.text(&format!("{} td.coverage", row("app-04")))
                .contains("agent")
        );
        // The oldest overdue finding, a link to it.
        let overdue = reg
            .srv
            .get(&format!("/api/v1/assets/{}", reg.id_of("app-03")))["findings"]["oldest_overdue"]
            .clone();
        assert_eq!(
            b.text(&format!("{} a.overdue", row("app-03"))),
            overdue["vulnerability_id"]
                .as_str()
                .expect("an overdue finding")
        );
        b.shot("assets-en");

        // Sorted by hardware/contract support end: the earliest first.
        b.submit("a.sort[data-key=support_end]");
        assert!(b.url().contains("sort=support_end%3Aasc"), "{}", b.url());
        let first = b.attrs("#assets tbody tr", "data-id")[0].clone();
        assert_eq!(
            first,
            reg.id_of("ci-13").to_string(),
            "2024-02-29 is the earliest"
        );

        // The quick filter for support ending soon or past, then the
        // filter language.
        b.go(&format!("{base}/assets"));
        b.click("#quick-ending option[value=support]");
        b.submit("#apply-asset-filters");
        let ends: Vec<String> = b.texts("#assets td.support-end .date");
        assert!(
            ends.len() >= 2,
            "db-01 (past) and web-02 (soon) at least: {ends:?}"
        );
        assert_eq!(
            b.find_all("#assets td.support-end .date-ok").len(),
            0,
            "only past or near support ends"
        );
        b.go(&format!("{base}/assets"));
        b.type_in("#asset-q", "team=payments");
        b.submit("#apply-asset-filters");
        assert_eq!(b.find_all("#assets tbody tr").len(), 1);
        assert_eq!(b.text("#assets a.asset-link"), "db-01");
        // Saved as a view, which comes back from the list of views.
        b.type_in("#view-name", "payments servers");
        b.submit("#view-save");
        b.go(&format!("{base}/findings"));
        let views = b.attrs("a.saved-view", "href");
        assert!(
            views.iter().any(|v| v.starts_with("/assets?q=team")),
            "{views:?}"
        );
        b.submit("a.saved-view");
        assert_eq!(b.find_all("#assets tbody tr").len(), 1);

        // A count is a link to the findings it counts: the first band
        // app-03 has findings of (critical, high, medium, low are the
        // 14th to 17th cells).
        b.go(&format!("{base}/assets"));
        let counts: Vec<u64> = b
            .texts(&format!("{} td.num a", row("app-03")))
            .iter()
            .map(|t| t.parse().expect("a count"))
            .collect();
        let band = counts[..4]
            .iter()
            .position(|n| *n > 0)
            .expect("app-03 has open findings");
        let sev = ["CRITICAL", "HIGH", "MEDIUM", "LOW"][band];
        b.submit(&format!(
            "{} td:nth-of-type({}) a",
            row("app-03"),
            14 + band
        ));
        assert!(b.url().contains("/findings?q=asset_id"), "{}", b.url());
        let sevs = b.attrs("#findings tbody .sev", "data-band");
        assert_eq!(sevs.len() as u64, counts[band].min(50));
        assert!(sevs.iter().all(|s| s == sev), "{sevs:?}");

        // In Japanese: hardware/contract support and OS support are told
        // apart there too.
        b.go(&format!("{base}/assets"));
        b.submit("#lang-switch");
        assert!(b.text("h1").contains("資産台帳"));
        let heads = b.texts("#assets thead th");
        assert!(
            heads
                .iter()
                .any(|h| h.contains("ハードウェア・保守契約の終了日")),
            "{heads:?}"
        );
        assert!(
            heads.iter().any(|h| h.contains("OS サポート終了")),
            "{heads:?}"
        );
        assert_eq!(
            b.text(&format!("{} td.os-eol .os-state", row("legacy-01"))),
            "サポート終了"
        );
        b.shot("assets-ja");
        b.submit("#lang-switch");
    }
}

/// The console where users tripped (issue 17, item 5) and the exports
/// page and rule errors (issue 13), in the browser on both backends, in
/// English and Japanese: language packages with their ecosystem and file,
/// the bulk form acting on the ticked rows unless everything the filter
/// selects is chosen and confirmed with its number, grouped views sorted
/// by a column with the vulnerability's title or the asset's OS and owner,
/// the audit history as dated changes, the dashboard's numbers as links to
/// what they count, a rule's last error where rules are listed, and the
/// caller's exports with download, retry and delete. Screenshots in
/// `target/e2e-screenshots/finish-<backend>/`.
#[test]
fn the_console_finish_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let driver = Driver::start();
    for backend in backends() {
        let server = Server::start(&backend);
        let base = server.base.clone();
        let count = |filter: &str| -> u64 {
            let (s, b) = server.api(
                "GET",
                &format!("/api/v1/findings?filter={}&count=true&limit=1", enc(filter)),
                None,
            );
            assert_eq!(s, 200, "{b}");
            b["total"].as_u64().expect("a count")
        };

        // A rule the database will refuse from now on (injected, as no
        // rule can be made to fail through the API: see
        // `security::refuse_rule`); the next evaluation skips it and
        // records why.
        let (s, r) = server.api(
            "POST",
            "/api/v1/suppression-rules",
            Some(json!({"name": "busybox accepted", "filter": "package=busybox", "reason": "e2e"})),
        );
        assert_eq!(s, 201, "{r}");
        let rule = r["rule"]["id"].as_i64().expect("rule id");
        crate::security::refuse_rule(&server, rule);

        // A second host, with a Python package beside its apk database.
        let dir = server.data_dir().join("py-agent");
        let root = AlpineRoot::new()
            .hostname("py-host")
            .machine_id("e2e0py0host0000000000000000000001")
            .write(&dir.join("root"));
        let meta = root.join("usr/lib/python3.5/site-packages/vantage6_server-4.1.0.dist-info");
        std::fs::create_dir_all(&meta).expect("mkdir");
        std::fs::write(
            meta.join("METADATA"),
            "Metadata-Version: 2.1\nName: vantage6-server\nVersion: 4.1.0\n",
        )
        .expect("write");
        let cfg = server.agent_config(&root, &dir.join("state"));
        let creds = kensa_agent::enroll(&cfg, &server.enrollment_token()).expect("enroll");
        let t0 = kensa_testkit::now_ms();
        kensa_agent::run_once(&cfg).expect("run");
        let py: i64 = creds.asset_id.parse().expect("asset id");
        server.wait_evaluated(py, t0);
        let python = count("package_kind=python status=ACTIVE");
        assert!(python > 0, "vantage6-server 4.1.0 has PyPI advisories");

        let mut b = driver.browser(screenshots(&format!("finish-{}", backend.label())));
        b.call(
            "POST",
            "/window/rect",
            Some(json!({"width": 1800, "height": 1200})),
        );
        login(&mut b, &base, "admin", &server.admin_password);

        // Language packages: their ecosystem and the file they were found
        // in; OS packages neither.
        b.go(&format!("{base}/findings?q=package_kind%3Dpython"));
        let ecos = b.texts("#findings td.pkg .eco");
        assert_eq!(ecos.len() as u64, python.min(50), "{ecos:?}");
        assert!(ecos.iter().all(|e| e == "python"), "{ecos:?}");
        let paths = b.texts("#findings td.pkg .path");
        assert_eq!(paths.len(), ecos.len());
        assert!(
            paths
                .iter()
                .all(|p| p.contains("site-packages/vantage6_server-4.1.0.dist-info")),
            "{paths:?}"
        );
        b.shot("language-packages");
        b.go(&format!("{base}/findings?q=package_kind%3Dapk"));
        assert!(!b.find_all("#findings tbody tr").is_empty());
        assert!(b.find_all("#findings td.pkg .eco").is_empty());

        // Bulk: the ticked rows by default.
        let ids = b.attrs("#findings tbody tr", "data-id");
        assert!(ids.len() >= 3, "{ids:?}");
        let checked = |b: &Browser<'_>, css: &str| {
            let e = b.find(css);
            b.call("GET", &format!("/element/{e}/property/checked"), None) == json!(true)
        };
        assert!(checked(&b, "#bulk-scope-ticked"), "the default scope");
        assert!(!checked(&b, "#bulk-scope-filter"));
        for id in &ids[..2] {
            b.click(&format!("#findings tr[data-id=\"{id}\"] input.pick"));
        }
        b.type_in("#bulk-assignee", "ticked-two");
        b.submit("#bulk-submit");
        assert_eq!(b.text("#changed"), "2 findings changed.");
        let (_, two) = server.api(
            "GET",
            "/api/v1/findings?filter=assignee%3Dticked-two&limit=10",
            None,
        );
        let mut got: Vec<String> = two["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| f["id"].to_string())
            .collect();
        got.sort();
        let mut want = ids[..2].to_vec();
        want.sort();
        assert_eq!(got, want, "exactly the ticked findings");
        // Nothing ticked: refused, nothing changed.
        b.go(&format!("{base}/findings?q=package_kind%3Dapk"));
        b.type_in("#bulk-assignee", "nobody");
        b.submit("#bulk-submit");
        assert!(
            b.text("p.error").contains("no finding is ticked"),
            "{}",
            b.text("main")
        );
        assert_eq!(count("assignee=nobody"), 0);
        // Everything the filter selects: chosen, then confirmed with its
        // number.
        b.go(&format!("{base}/findings?q=package_kind%3Dpython"));
        b.type_in("#bulk-assignee", "whole-filter");
        b.click("#bulk-scope-filter");
        b.submit("#bulk-submit");
        assert_eq!(b.text("#bulk-n"), python.to_string());
        assert_eq!(count("assignee=whole-filter"), 0, "not before confirming");
        b.shot("bulk-confirm");
        b.submit("#bulk-confirm-submit");
        assert_eq!(b.text("#changed"), format!("{python} findings changed."));
        assert_eq!(count("assignee=whole-filter"), python);

        // Grouped views: by asset with OS and owner, sortable.
        b.go(&format!("{base}/assets/{py}"));
        b.type_in("#management-form input[name=owner]", "py-owner@example.com");
        b.submit("#management-submit");
        b.go(&format!("{base}/findings?view=asset"));
        let row = format!("#groups tr[data-key=\"{py}\"]");
        // The OS as the asset names it (this root's os-release has no
        // pretty name: id and release).
        assert_eq!(
            b.text(&format!("{row} td.os")),
            "alpine 3.4",
            "{}",
            b.text(&row)
        );
        assert_eq!(b.text(&format!("{row} td.owner")), "py-owner@example.com");
        b.shot("by-asset");
        let totals = |b: &Browser<'_>| -> Vec<u64> {
            b.texts("#groups td.total")
                .iter()
                .map(|t| t.parse().expect("a count"))
                .collect()
        };
        b.submit("a.sort[data-key=total]");
        assert!(b.url().contains("sort=total%3Adesc"), "{}", b.url());
        let desc = totals(&b);
        assert!(desc.len() == 2 && desc[0] >= desc[1], "{desc:?}");
        b.submit("a.sort[data-key=total]");
        assert!(b.url().contains("sort=total%3Aasc"), "{}", b.url());
        let asc = totals(&b);
        assert_eq!(asc, desc.iter().rev().copied().collect::<Vec<_>>());
        // By vulnerability, with titles, sorted by id.
        b.go(&format!("{base}/findings?view=vulnerability"));
        assert!(
            b.texts("#groups td.title").iter().any(|t| !t.is_empty()),
            "titles"
        );
        b.submit("a.sort[data-key=key]");
        assert!(b.url().contains("sort=key%3Aasc"), "{}", b.url());
        let keys = b.attrs("#groups tbody tr", "data-key");
        assert!(
            keys.len() > 1 && keys.windows(2).all(|w| w[0] <= w[1]),
            "{keys:?}"
        );
        b.submit("a.sort[data-key=assets]");
        let assets: Vec<u64> = b
            .texts("#groups td.assets")
            .iter()
            .map(|t| t.parse().expect("a count"))
            .collect();
        assert!(assets.windows(2).all(|w| w[0] >= w[1]), "{assets:?}");
        b.shot("by-vulnerability-sorted");

        // The audit history: dated changes, no JSON, no epoch
        // milliseconds.
        let finding = ids[2].clone();
        b.go(&format!("{base}/findings/{finding}"));
        b.click("#triage-state option[value=in_triage]");
        b.type_in("#triage-form input[name=due_date]", "2027-03-01");
        b.submit("#triage-submit");
        let entry = b.text("#audit tr.audit-entry");
        assert!(entry.contains("2027-03-01"), "{entry}");
        assert!(entry.contains("in_triage"), "{entry}");
        assert!(entry.contains("Due"), "{entry}");
        assert!(!entry.contains('{') && !entry.contains("\":"), "{entry}");
        assert!(
            !entry
                .split(|c: char| !c.is_ascii_digit())
                .any(|n| n.len() >= 12),
            "no epoch milliseconds: {entry}"
        );
        b.shot("audit-history");

        // The dashboard: every band's number links to its findings.
        b.go(&format!("{base}/"));
        let links = b.attrs("#card-severity a.bar-link", "href");
        assert_eq!(links.len(), 6, "{links:?}");
        let numbers: Vec<u64> = b
            .texts("#card-severity a.bar-link text.num")
            .iter()
            .map(|t| t.parse().expect("a count"))
            .collect();
        let bands = [
            "CRITICAL",
            "HIGH",
            "MEDIUM",
            "LOW",
            "INFORMATIONAL",
            "UNTRIAGED",
        ];
        for ((href, n), band) in links.iter().zip(&numbers).zip(bands) {
            assert!(href.contains(&format!("severity%3D{band}")), "{href}");
            assert_eq!(
                *n,
                count(&format!("status=ACTIVE severity={band}")),
                "{band}"
            );
        }
        assert_eq!(
            b.texts("#card-severity text.lbl")[5],
            "Untriaged (no score yet)"
        );
        b.shot("dashboard");
        let i = numbers.iter().position(|n| *n > 0).expect("an open band");
        b.go(&format!("{base}{}", links[i]));
        let shown = b.attrs("#findings tbody .sev", "data-band");
        assert_eq!(shown.len() as u64, numbers[i].min(50));
        assert!(shown.iter().all(|s| s == bands[i]), "{shown:?}");
        // The coverage bars link to the assets of each reason.
        b.go(&format!("{base}/"));
        let cov = b.attrs("#card-coverage a.bar-link", "href");
        let cov_n: Vec<usize> = b
            .texts("#card-coverage a.bar-link text.num")
            .iter()
            .map(|t| t.parse().expect("a count"))
            .collect();
        assert!(!cov.is_empty());
        for (href, n) in cov.iter().zip(&cov_n) {
            b.go(&format!("{base}{href}"));
            assert_eq!(b.find_all("#coverage tbody tr").len(), *n, "{href}");
        }

        // The refused rule, where rules are listed.
        b.go(&format!("{base}/rules"));
        let err = b.text("#rules td.last-error");
        assert!(err.contains("skipped"), "{err}");
        assert!(err.contains("injected: the database refuses"), "{err}");
        b.shot("rules-last-error");

        // Exports: queued from the page, listed with status, size and
        // expiry, downloaded, retried and deleted.
        b.go(&format!("{base}/exports"));
        assert_eq!(b.find_all("#no-exports").len(), 1);
        b.type_in("#export-filter", "package_kind=python");
        b.submit("#export-submit");
        let wait_done = |b: &Browser<'_>, n: usize| {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                b.go(&format!("{base}/exports"));
                let states = b.attrs("#exports tr.export", "data-status");
                if states.len() == n && states.iter().all(|s| s == "done") {
                    return b.attrs("#exports tr.export", "data-id");
                }
                assert!(Instant::now() < deadline, "exports not done: {states:?}");
                std::thread::sleep(Duration::from_millis(200));
            }
        };
        let first = wait_done(&b, 1);
        let row = format!("#exports tr[data-id=\"{}\"]", first[0]);
        assert_ne!(b.text(&format!("{row} td.size")), "0 B");
        assert!(!b.text(&format!("{row} td.expires")).is_empty());
        assert!(
            b.find_all(&format!("{row} button.cancel")).is_empty(),
            "done"
        );
        b.shot("exports");
        let href = b.attr(&format!("{row} a.download"), "href");
        let cookie = b.cookie("kensa_session");
        let csv = server
            .http
            .get(&href)
            .set("Cookie", &format!("kensa_session={cookie}"))
            .call()
            .expect("download")
            .into_string()
            .expect("CSV");
        assert_eq!(
            csv::Reader::from_reader(csv.as_bytes()).records().count() as u64,
            count("package_kind=python"),
            "one row per finding of the filter"
        );
        b.submit(&format!("{row} button.retry"));
        assert!(b.text("#done").contains("Queued export"));
        let both = wait_done(&b, 2);
        assert!(both.contains(&first[0]));
        b.submit(&format!("{row} button.delete"));
        assert_eq!(b.attrs("#exports tr.export", "data-id").len(), 1);
        let (s, _) = server.api("GET", &format!("/api/v1/exports/{}", first[0]), None);
        assert_eq!(s, 404, "deleted");

        // In Japanese: severity names, coverage reasons, yes/no, export
        // states and the untriaged band's name.
        b.go(&format!("{base}/findings?q=package_kind%3Dpython"));
        b.submit("#lang-switch");
        let names = b.texts("#findings .sev");
        let ja = ["緊急", "高", "中", "低", "情報", "未評価（スコアなし）"];
        assert!(
            !names.is_empty() && names.iter().all(|n| ja.contains(&n.as_str())),
            "{names:?}"
        );
        assert_eq!(
            b.text("#quick-severity option[value=UNTRIAGED]"),
            "未評価（スコアなし）"
        );
        b.shot("language-packages-ja");
        b.go(&format!("{base}/coverage"));
        let reasons = b.texts("#coverage td.reason");
        assert!(
            !reasons.is_empty() && reasons.iter().all(|r| !r.is_ascii()),
            "{reasons:?}"
        );
        let agents = b.texts("#coverage tbody td:nth-child(7)");
        assert!(
            agents.iter().all(|a| a == "はい" || a == "いいえ"),
            "{agents:?}"
        );
        b.shot("coverage-ja");
        b.go(&format!("{base}/findings/{finding}"));
        assert!(b.text("#audit tr.audit-entry").contains("期限"));
        b.shot("audit-history-ja");
        b.go(&format!("{base}/findings?view=asset"));
        b.shot("by-asset-ja");
        b.go(&format!("{base}/"));
        assert_eq!(b.texts("#card-severity text.lbl")[0], "緊急");
        b.shot("dashboard-ja");
        b.go(&format!("{base}/exports"));
        assert_eq!(b.text("#exports td.status"), "完了");
        b.shot("exports-ja");
        b.go(&format!("{base}/rules"));
        assert!(b.text("#rules td.last-error").contains("スキップ"));
        b.shot("rules-ja");
        b.submit("#lang-switch");
    }
}

/// A filter as a query value.
fn enc(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .unwrap_or_default()
        .trim_start_matches('=')
        .to_owned()
}

/// A review in the browser (issue 17), on both backends: the 20 servers
/// of `assets::register_csv` (two reporting through real agents, the rest
/// register-only; `db-01` past its hardware support end, `legacy-01` on
/// CentOS 7, past its end of life), a review opened by the admin, answered
/// by an analyst who owns web-01, signed by an auditor, closed; the report
/// lists every asset once and highlights the past dates, in English and
/// Japanese; the next quarter's review shows what changed. Screenshots in
/// `target/e2e-screenshots/review-<backend>/`.
#[test]
fn a_review_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let driver = Driver::start();
    for backend in backends() {
        let srv = TestServer::builder(&backend).redirects(0).start();
        let password = srv.admin_password.clone();
        let reg = crate::assets::Register::with(srv, &backend);
        let s = &reg.srv;
        let base = s.base.clone();
        let admin = Auth::Bearer(&s.admin);
        let pw = "a long enough passphrase";
        for (name, role) in [("alice@example.com", "analyst"), ("audrey", "auditor")] {
            let r = s.call(
                "POST",
                "/api/v1/users",
                Auth::Bearer(&s.admin),
                Some(json!({"name": name, "role": role, "password": pw})),
            );
            assert_eq!(r.status, 201, "{}", r.text());
        }
        let (acookie, acsrf) = s.login("audrey", pw);
        let auditor = Auth::Cookie(&acookie, Some(&acsrf));
        let mut b = driver.browser(screenshots(&format!("review-{}", backend.label())));
        b.call(
            "POST",
            "/window/rect",
            Some(json!({"width": 1800, "height": 1300})),
        );

        // The admin opens "2026 Q4" over every asset.
        login(&mut b, &base, "admin", &password);
        b.go(&format!("{base}/reviews"));
        b.type_in("#review-open input[name=name]", "2026 Q4");
        b.submit("#review-open button[type=submit]");
        assert!(b.text("#review-name").contains("2026 Q4"));
        let rows = b.attrs("#review-assets tbody tr", "data-asset");
        assert_eq!(rows.len(), 20, "every server once");
        let id: i64 = b
            .url()
            .rsplit('/')
            .next()
            .and_then(|x| x.parse().ok())
            .expect("the review's id in the address");
        b.shot("review-open");

        // alice, an analyst, answers for web-01 in the browser; she sees
        // no answer form for the servers she does not own.
        login(&mut b, &base, "alice@example.com", pw);
        b.go(&format!("{base}/reviews/{id}"));
        let web01 = reg.id_of("web-01");
        let row = |a: i64| format!("#review-assets tr[data-asset=\"{a}\"]");
        assert!(
            b.find_all(&format!("{} form.answer-form", row(reg.id_of("db-01"))))
                .is_empty(),
            "an answer form on bob's server"
        );
        b.click(&format!("{} details.answer summary", row(web01)));
        for cb in b.find_all(&format!("{} input[type=checkbox]", row(web01))) {
            b.call("POST", &format!("/element/{cb}/click"), Some(json!({})));
        }
        b.click(&format!(
            "{} select[name=plan] option[value=replace]",
            row(web01)
        ));
        b.shot("review-answer-form");
        b.submit(&format!(
            "{} form.answer-form button[type=submit]",
            row(web01)
        ));
        assert_eq!(
            b.attrs(&row(web01), "data-state"),
            ["answered"],
            "web-01 answered"
        );
        let a = s.get(&format!("/api/v1/reviews/{id}"));
        let web01_row = a["assets"]
            .as_array()
            .expect("assets")
            .iter()
            .find(|x| x["asset_id"] == web01)
            .cloned()
            .expect("web-01");
        assert_eq!(web01_row["answers"]["management"]["owner"], true);
        assert_eq!(web01_row["answers"]["eol_plan"]["action"], "replace");
        assert_eq!(web01_row["answered_by"], "alice@example.com");

        // The other owners have no users here: the admin answers for them.
        let checklist = json!({
            "management": {"operation_start": true, "support_end": true, "owner": true, "team": true,
                           "environment": true, "tags": true, "internet_exposure": true, "exposed_ports": true},
            "eol_plan": {"action": "upgrade", "until": "2027-06-30"},
            "exposure_confirmed": true, "findings_acknowledged": true, "acceptances_valid": true,
        });
        let answer_and_sign = |review: i64, skip: &[i64], sign: bool| {
            let d = s.get(&format!("/api/v1/reviews/{review}"));
            for x in d["assets"].as_array().expect("assets") {
                let a = x["asset_id"].as_i64().expect("id");
                if skip.contains(&a) || !x["removed_at"].is_null() {
                    continue;
                }
                let r = s.call(
                    "POST",
                    &format!("/api/v1/reviews/{review}/assets/{a}/answer"),
                    Auth::Bearer(&s.admin),
                    Some(checklist.clone()),
                );
                assert_eq!(r.status, 200, "{}", r.text());
                if sign {
                    let r = s.call(
                        "POST",
                        &format!("/api/v1/reviews/{review}/assets/{a}/sign"),
                        Auth::Cookie(&acookie, Some(&acsrf)),
                        None,
                    );
                    assert_eq!(r.status, 200, "{}", r.text());
                }
            }
        };
        answer_and_sign(id, &[web01], true);

        // audrey, the auditor, signs web-01 in the browser.
        login(&mut b, &base, "audrey", pw);
        b.go(&format!("{base}/reviews/{id}"));
        assert!(
            b.find_all("form.answer-form").is_empty(),
            "an auditor is offered to answer"
        );
        b.submit(&format!("{} form.sign-form button", row(web01)));
        assert_eq!(b.attrs(&row(web01), "data-state"), ["signed"]);
        assert!(
            b.find_all("#review-close").is_empty(),
            "an auditor may close"
        );
        let r = s.call(
            "POST",
            "/api/v1/findings/triage",
            auditor,
            Some(json!({"filter": "severity=CRITICAL", "state": "in_triage"})),
        );
        assert_eq!(r.status, 403, "an auditor triaged: {}", r.text());

        // The admin closes it; the report is one click away.
        login(&mut b, &base, "admin", &password);
        b.go(&format!("{base}/reviews/{id}"));
        b.submit("#review-close button");
        assert!(b.find_all("#report-link").len() == 1, "no report link");
        b.submit("#report-link");
        let names = b.texts("tr[data-asset] td.name");
        assert_eq!(names.len(), 20, "{names:?}");
        let mut uniq = names.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(uniq.len(), 20, "an asset twice: {names:?}");
        let past_of = |name: &str| -> Vec<String> {
            b.texts(&format!("tr[data-asset=\"{}\"] td.past", reg.id_of(name)))
        };
        assert_eq!(past_of("db-01"), ["⚠ 2024-06-30"], "db-01's support end");
        let legacy = past_of("legacy-01");
        assert_eq!(legacy.len(), 1, "legacy-01's OS end of life: {legacy:?}");
        assert!(legacy[0].starts_with("⚠ 20"), "{legacy:?}");
        assert!(past_of("lab-17").is_empty(), "lab-17 has no past date");
        assert!(b.find_all("#no-previous").len() == 1);
        assert_eq!(b.find_all("svg.chart").len(), 2);
        b.shot("report-en");
        b.go(&format!(
            "{base}/api/v1/reviews/{id}/report?format=html&lang=ja"
        ));
        assert!(b.text("#report-title").contains("レビュー報告書"));
        assert_eq!(b.texts("tr[data-asset] td.name").len(), 20);
        b.shot("report-ja");

        // The next quarter: lab-16 gone, a new server, db-01 exposed.
        let r = s.call(
            "DELETE",
            &format!("/api/v1/assets/{}", reg.id_of("lab-16")),
            Auth::Bearer(&s.admin),
            None,
        );
        assert_eq!(r.status, 204, "{}", r.text());
        let r = s.send(
            "POST",
            "/api/v1/assets/import?format=csv",
            Auth::Bearer(&s.admin),
            "text/csv",
            b"name,os,os_release,support_end,owner,team,internet_exposure\nnew-19,debian,12,2030-01-31,kim@example.com,hr,no\n",
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let r = s.call(
            "PATCH",
            &format!("/api/v1/assets/{}", reg.id_of("db-01")),
            Auth::Bearer(&s.admin),
            Some(json!({"internet_exposure": "yes", "exposed_ports": ["5432/tcp"]})),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let r = s.call(
            "POST",
            "/api/v1/reviews",
            admin,
            Some(json!({"name": "2027 Q1", "scope": ""})),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        let next = r.json()["id"].as_i64().expect("id");
        answer_and_sign(next, &[], true);
        let r = s.call(
            "POST",
            &format!("/api/v1/reviews/{next}/close"),
            Auth::Bearer(&s.admin),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text());
        b.go(&format!(
            "{base}/api/v1/reviews/{next}/report?format=html&lang=en"
        ));
        let changes = b.text("#changes");
        assert!(changes.contains("new-19"), "{changes}");
        assert!(changes.contains("lab-16"), "{changes}");
        assert!(changes.contains("db-01: no"), "{changes}");
        assert!(changes.contains("5432/tcp"), "{changes}");
        b.shot("report-next-en");
        b.go(&format!(
            "{base}/api/v1/reviews/{next}/report?format=html&lang=ja"
        ));
        assert!(b.text("#changes").contains("new-19"));
        b.shot("report-next-ja");
    }
}

#[test]
fn the_schedules_page_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let driver = Driver::start();
    for backend in backends() {
        let dir = tempfile::tempdir().expect("dir");
        let clock = dir.path().join("clock");
        std::fs::write(&clock, "2026-12-07T09:59:00Z").expect("clock");
        let exports = dir.path().join("exports");
        let srv = TestServer::builder(&backend)
            .no_kb()
            .redirects(0)
            .exports(kensa_server::export::ExportConfig {
                dir: Some(exports.clone()),
                ..Default::default()
            })
            .clock_file(&clock)
            .start();
        let base = srv.base.clone();
        let mut b = driver.browser(screenshots(&format!("schedules-{}", backend.label())));
        login(&mut b, &base, "admin", &srv.admin_password);
        b.go(&format!("{base}/schedules"));
        assert!(b.find_all("#schedules tbody tr").is_empty());
        b.type_in("#schedule-form input[name=name]", "daily from the console");
        b.type_in("#schedule-form input[name=cron]", "0 10 * * *");
        b.type_in("#schedule-form input[name=filter]", "severity>=HIGH");
        b.type_in("#schedule-form input[name=dir]", "console/daily");
        b.submit("#schedule-form button[type=submit]");
        assert!(
            b.text("#made").contains("Schedule created"),
            "{}",
            b.text("body")
        );
        assert_eq!(b.find_all("#schedules tbody tr").len(), 1);
        assert!(b.text("#schedules").contains("daily from the console"));
        b.shot("made");
        // Its time comes: the file appears where the form said.
        std::fs::write(&clock, "2026-12-07T10:00:03Z").expect("clock");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let n = std::fs::read_dir(exports.join("console/daily"))
                .map(|r| {
                    r.filter_map(Result::ok)
                        .filter(|e| e.file_name().to_string_lossy().ends_with(".csv"))
                        .count()
                })
                .unwrap_or(0);
            if n == 1 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no scheduled export file in 60 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        // In Japanese.
        b.go(&format!("{base}/lang?set=ja&back=/schedules"));
        assert_eq!(b.text("h1"), "定期エクスポート");
        b.shot("ja");
        b.submit("#schedules button.danger");
        assert!(b.find_all("#schedules tbody tr").is_empty());
        let r = srv.call("GET", "/api/v1/schedules", Auth::Bearer(&srv.admin), None);
        assert_eq!(r.json()["schedules"].as_array().map(Vec::len), Some(0));
    }
}
