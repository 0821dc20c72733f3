//! The fleet databases tests run on: SQLite in the server's data directory,
//! and a fresh PostgreSQL database on `KENSA_TEST_PG` (which `scripts/test`
//! sets), dropped when the test ends.

use std::sync::atomic::{AtomicU32, Ordering};

/// A database for one test.
pub enum Backend {
    /// The server's default: `kensa.db` in its data directory.
    Sqlite,
    /// A database created on the `KENSA_TEST_PG` server for this test.
    Postgres { admin: String, name: String },
}

impl Backend {
    /// A fresh PostgreSQL database, or `None` when `KENSA_TEST_PG` is not
    /// set. In CI (`CI` set) it must be: an untested backend is a failure
    /// there, not a skip.
    pub fn postgres() -> Option<Backend> {
        let admin = match std::env::var("KENSA_TEST_PG") {
            Ok(a) if !a.is_empty() => a,
            _ if std::env::var_os("CI").is_some() => {
                panic!("KENSA_TEST_PG is not set: scripts/test starts PostgreSQL for these tests")
            }
            _ => {
                eprintln!("KENSA_TEST_PG is not set: PostgreSQL not tested (scripts/test sets it)");
                return None;
            }
        };
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "kensa_test_{}_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or_default(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut c = postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap_or_else(|e| panic!("KENSA_TEST_PG {admin}: {e}"));
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name} on KENSA_TEST_PG: {e}"));
        Some(Backend::Postgres { admin, name })
    }

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

/// SQLite, and PostgreSQL when `KENSA_TEST_PG` names a server (see
/// [`Backend::postgres`]).
pub fn backends() -> Vec<Backend> {
    let mut out = vec![Backend::Sqlite];
    out.extend(Backend::postgres());
    out
}
