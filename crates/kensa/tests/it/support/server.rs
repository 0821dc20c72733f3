//! A real `kensa server` on a loopback port for the agent's command-line
//! tests (SQLite in a temporary directory, or a PostgreSQL URL), spoken to
//! with `curl` as an admin would.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::kb;

pub const KENSA: &str = env!("CARGO_BIN_EXE_kensa");

pub struct Server {
    data: PathBuf,
    port: u16,
    child: Child,
}

impl Server {
    /// Start a server with its data directory in `dir`, on SQLite unless
    /// `database` is a PostgreSQL URL, and wait until it is healthy.
    pub fn start(dir: &Path, database: Option<&str>) -> Server {
        Server::start_with_kb(dir, database, kb())
    }

    /// [`Server::start`] with the knowledge base in `kb_dir` (an empty
    /// directory for a test that evaluates nothing).
    pub fn start_with_kb(dir: &Path, database: Option<&str>, kb_dir: &Path) -> Server {
        Server::launch(dir, database, kb_dir, &[], &[])
    }

    /// [`Server::start`] with more `kensa server` arguments
    /// (`--agent-dist DIR`).
    pub fn start_with(dir: &Path, database: Option<&str>, extra: &[&std::ffi::OsStr]) -> Server {
        Server::launch(dir, database, kb(), extra, &[])
    }

    /// [`Server::start_with`] with environment variables set for the
    /// server (`KENSA_LOG`, S3 credentials).
    pub fn start_with_env(
        dir: &Path,
        database: Option<&str>,
        extra: &[&std::ffi::OsStr],
        envs: &[(&str, &str)],
    ) -> Server {
        Server::launch(dir, database, kb(), extra, envs)
    }

    fn launch(
        dir: &Path,
        database: Option<&str>,
        kb_dir: &Path,
        extra: &[&std::ffi::OsStr],
        envs: &[(&str, &str)],
    ) -> Server {
        let data = dir.join("server");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind 127.0.0.1:0")
            .port();
        // Standard output (what the server tells its operator, the first
        // start's secrets included) apart from the log lines.
        let log = std::fs::File::create(dir.join("server.log")).expect("server log");
        let err = std::fs::File::create(dir.join("server.err")).expect("server stderr");
        let mut cmd = Command::new(KENSA);
        cmd.arg("server")
            .arg("--data")
            .arg(&data)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--kb")
            .arg(kb_dir)
            .args(["--tls-name", "127.0.0.1"])
            .env_remove("KENSA_DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        if let Some(url) = database {
            cmd.arg("--database").arg(url);
        }
        cmd.args(extra);
        let child = cmd.spawn().expect("kensa server starts");
        let mut s = Server { data, port, child };
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(status) = s.child.try_wait().expect("try_wait") {
                panic!("kensa server exited at start: {status}\n{}", s.log());
            }
            if s.data.join("admin-token").exists()
                && s.ca().exists()
                && s.get_status("/healthz") == 200
            {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "kensa server not healthy in 90 s\n{}",
                s.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn base(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    pub fn ca(&self) -> PathBuf {
        self.data.join("ca.pem")
    }

    /// What the server printed: its standard output, then its log lines.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.with_file_name("server.log")).unwrap_or_default()
            + &self.stderr()
    }

    /// The log lines alone (standard error).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.data.with_file_name("server.err")).unwrap_or_default()
    }

    /// Stops the server (SIGTERM, then waits), so that everything it
    /// logs is written.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(self.data.join("admin-token"))
            .expect("admin-token")
            .trim()
            .to_owned()
    }

    fn get_status(&self, path: &str) -> u16 {
        let o = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
            .arg(self.ca())
            .arg(format!("{}{path}", self.base()))
            .output()
            .expect("curl runs");
        String::from_utf8_lossy(&o.stdout).parse().unwrap_or(0)
    }

    /// An API call with the admin token: (status, JSON body or `Null`).
    pub fn api(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut cmd = Command::new("curl");
        cmd.args(["-s", "-w", "\n%{http_code}", "-X", method, "--cacert"])
            .arg(self.ca())
            .arg("-H")
            .arg(format!("Authorization: Bearer {}", self.admin_token()));
        if let Some(b) = body {
            cmd.args(["-H", "Content-Type: application/json", "--data-binary"])
                .arg(b.to_string());
        }
        let o = cmd
            .arg(format!("{}{path}", self.base()))
            .output()
            .expect("curl runs");
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let (body, code) = out.rsplit_once('\n').unwrap_or(("", &out));
        (
            code.trim().parse().unwrap_or(0),
            serde_json::from_str(body).unwrap_or(Value::Null),
        )
    }

    /// A new enrolment token from `POST /api/v1/enrollment-tokens`.
    pub fn enrollment_token(&self, request: &Value) -> String {
        let (code, v) = self.api("POST", "/api/v1/enrollment-tokens", Some(request));
        assert_eq!(code, 201, "create enrolment token: {v}\n{}", self.log());
        v["token"].as_str().expect("token").to_owned()
    }

    pub fn asset(&self, id: &str) -> Value {
        let (code, v) = self.api("GET", &format!("/api/v1/assets/{id}"), None);
        assert_eq!(code, 200, "asset {id}: {v}");
        v
    }

    /// Wait until asset `id` has been evaluated (its findings are
    /// current), and return it.
    pub fn evaluated(&self, id: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let a = self.asset(id);
            if !a["evaluated_at"].is_null() {
                return a;
            }
            assert!(
                Instant::now() < deadline,
                "asset {id} not evaluated in {timeout:?}: {a}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
