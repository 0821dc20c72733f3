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
