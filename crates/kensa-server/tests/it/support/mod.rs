//! What the server's integration tests share. The test server, the
//! databases and the knowledge base are `kensa_testkit`'s (one harness for
//! every crate); `Fleet` wraps the test server so that each test file can
//! add the calls it needs as methods.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kensa_server::export::S3Config;

pub use kensa_testkit::db::{Backend, backends};
pub use kensa_testkit::server::{Auth, TestServer};

/// A test server; its methods are [`TestServer`]'s and each test file's.
pub struct Fleet(pub TestServer);

impl std::ops::Deref for Fleet {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.0
    }
}

/// A server on `backend` with the data folder's knowledge base.
pub fn start(backend: &Backend) -> Fleet {
    Fleet(TestServer::start(backend))
}

/// A server on `backend` with the knowledge base in `kb_dir`.
pub fn start_with(backend: &Backend, kb_dir: &Path) -> Fleet {
    Fleet(TestServer::builder(backend).kb(kb_dir).start())
}

/// s3s-fs, the S3 protocol server over a directory, from the cache that
/// scripts/setup fills.
pub fn s3s_fs() -> Option<PathBuf> {
    let cache = std::env::var("KENSA_CACHE").unwrap_or_else(|_| "/var/tmp/kensa-cache".into());
    let p = Path::new(&cache).join("bin/s3s-fs");
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} is missing: scripts/setup installs s3s-fs (cargo install s3s-fs@0.14.1)",
        p.display()
    );
    eprintln!(
        "skipped: {} is missing (scripts/setup installs it)",
        p.display()
    );
    None
}

pub struct S3Server {
    child: std::process::Child,
    /// The directory s3s-fs keeps objects in: `<root>/<bucket>/<key>`.
    pub root: tempfile::TempDir,
    pub cfg: S3Config,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_s3(bin: &Path) -> S3Server {
    let root = tempfile::tempdir().expect("s3 root");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = std::process::Command::new(bin)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args([
            "--access-key",
            "kensa-test-ak",
            "--secret-key",
            "kensa-test-secret",
        ])
        .arg(root.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start s3s-fs");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "s3s-fs did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    S3Server {
        child,
        root,
        cfg: S3Config {
            endpoint: format!("http://127.0.0.1:{port}"),
            region: "us-east-1".into(),
            access_key: "kensa-test-ak".into(),
            secret_key: "kensa-test-secret".into(),
        },
    }
}
