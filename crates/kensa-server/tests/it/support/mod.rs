//! What the server's integration tests share: the knowledge base built
//! once per test process from the data folder, and the database backends
//! every test runs on.

#![allow(dead_code)]

use std::path::Path;

/// The knowledge base, built once per test process from the data folder.
pub fn kb() -> &'static Path {
    static KB: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    KB.get_or_init(|| {
        let dir = kensa_testkit::process_tempdir();
        let mut b = kensa_kb::store::StoreBuilder::create(dir.path()).expect("builder");
        kensa_kb::mirror::import(&kensa_testkit::data_dir(), &mut b).expect("import");
        b.finish().expect("finish");
        dir
    })
    .path()
}

/// A database for one test: SQLite in the server's data directory, or a
/// fresh PostgreSQL database on `KENSA_TEST_PG` (dropped at the end).
pub enum Backend {
    Sqlite,
    Postgres { admin: String, name: String },
}

impl Backend {
    /// The server's `--database`: `None` for its SQLite default.
    pub fn url(&self) -> Option<String> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres { admin, name } => {
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                Some(format!("{base}/{name}"))
            }
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres { .. } => "postgres",
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Backend::Postgres { admin, name } = self
            && let Ok(mut c) = postgres::Client::connect(admin, postgres::NoTls)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// SQLite, and PostgreSQL when `KENSA_TEST_PG` names a server (in CI it
/// must: an untested backend is a failure there, not a skip).
pub fn backends() -> Vec<Backend> {
    let mut out = vec![Backend::Sqlite];
    match std::env::var("KENSA_TEST_PG") {
        Ok(admin) => {
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let name = format!(
                "kensa_server_{}_{}_{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or_default(),
                N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            );
            let mut c = postgres::Client::connect(&admin, postgres::NoTls)
                .unwrap_or_else(|e| panic!("KENSA_TEST_PG {admin}: {e}"));
            c.batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("create database");
            out.push(Backend::Postgres { admin, name });
        }
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("KENSA_TEST_PG is not set: scripts/test starts PostgreSQL for these tests")
        }
        Err(_) => {
            eprintln!("KENSA_TEST_PG is not set: PostgreSQL not tested (scripts/test sets it)")
        }
    }
    out
}

/// A real server on loopback (TLS from its own CA) and a client that pins
/// that CA; stopped when dropped.
pub struct Fleet {
    pub server: Option<kensa_server::Running>,
    pub _data: tempfile::TempDir,
    pub base: String,
    pub client: ureq::Agent,
    /// The admin API token the first start created.
    pub admin: String,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop();
        }
    }
}

/// A server on `backend` with the data folder's knowledge base.
pub fn start(backend: &Backend) -> Fleet {
    start_with(backend, kb())
}

pub fn start_with(backend: &Backend, kb_dir: &Path) -> Fleet {
    let data = tempfile::tempdir().expect("temp dir");
    let server = kensa_server::start(kensa_server::Config {
        data_dir: data.path().join("server"),
        listen: "127.0.0.1:0".parse().expect("addr"),
        database: backend.url(),
        kb_dir: kb_dir.to_owned(),
        tls_names: vec!["localhost".into(), "127.0.0.1".into()],
        workers: 2,
        exports: Default::default(),
    })
    .expect("server starts");
    let ca = kensa_agent::CaSource::Pinned(server.ca_cert.clone());
    let tls = kensa_agent::tls::client_config(&ca).expect("client TLS");
    let client = ureq::AgentBuilder::new()
        .tls_config(tls)
        .timeout(std::time::Duration::from_secs(30))
        .build();
    // Only the start that created the database creates the admin token.
    let admin = server.admin_token.clone().unwrap_or_default();
    Fleet {
        base: format!("https://127.0.0.1:{}", server.addr.port()),
        server: Some(server),
        _data: data,
        client,
        admin,
    }
}
