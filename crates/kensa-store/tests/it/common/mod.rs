//! Test support: every test runs on both backends. SQLite gets a file in a
//! temporary directory; PostgreSQL a fresh database (`kensa_test_…`) on the
//! server `KENSA_TEST_PG` names, dropped afterwards, so that tests never
//! see each other's rows.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use kensa_store::{Backend, Db};

pub struct TestDb {
    pub backend: Backend,
    guard: Guard,
}

enum Guard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Guard::Postgres { admin_url, name } = self {
            // FORCE: a test that panicked may still hold connections.
            match postgres::Client::connect(admin_url, postgres::NoTls) {
                Ok(mut c) => {
                    if let Err(e) =
                        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    {
                        eprintln!("could not drop the test database {name}: {e}");
                    }
                }
                Err(e) => eprintln!("could not drop the test database {name}: {e}"),
            }
        }
    }
}

impl TestDb {
    pub fn open(&self) -> Db {
        Db::open(&self.backend).unwrap_or_else(|e| panic!("open {}: {e}", self.backend))
    }

    pub fn name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Runs SQL outside Kensa's API, as another program (or a newer Kensa)
    /// would.
    pub fn raw(&self, sql: &str) {
        match &self.backend {
            Backend::Sqlite(path) => rusqlite::Connection::open(path)
                .and_then(|c| c.execute_batch(sql))
                .expect("raw SQLite"),
            Backend::Postgres(url) => postgres::Client::connect(url, postgres::NoTls)
                .and_then(|mut c| c.batch_execute(sql))
                .expect("raw PostgreSQL"),
        }
    }

    /// Every column of the first row, as integers.
    pub fn raw_ints(&self, sql: &str) -> Vec<i64> {
        match &self.backend {
            Backend::Sqlite(path) => rusqlite::Connection::open(path)
                .and_then(|c| {
                    c.query_row(sql, [], |r| {
                        (0..r.as_ref().column_count())
                            .map(|i| r.get(i))
                            .collect::<rusqlite::Result<Vec<i64>>>()
                    })
                })
                .expect("raw SQLite"),
            Backend::Postgres(url) => postgres::Client::connect(url, postgres::NoTls)
                .and_then(|mut c| c.query_one(sql, &[]))
                .map(|r| (0..r.len()).map(|i| r.get(i)).collect())
                .expect("raw PostgreSQL"),
        }
    }

    /// The first column of the first row, as an integer.
    pub fn raw_count(&self, sql: &str) -> i64 {
        match &self.backend {
            Backend::Sqlite(path) => rusqlite::Connection::open(path)
                .and_then(|c| c.query_row(sql, [], |r| r.get(0)))
                .expect("raw SQLite"),
            Backend::Postgres(url) => postgres::Client::connect(url, postgres::NoTls)
                .and_then(|mut c| c.query_one(sql, &[]).map(|r| r.get(0)))
                .expect("raw PostgreSQL"),
        }
    }
}

pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    TestDb {
        backend: Backend::Sqlite(dir.path().join("kensa.db")),
        guard: Guard::Sqlite(dir),
    }
}

/// A fresh PostgreSQL database, or `None` (with the reason printed) when
/// `KENSA_TEST_PG` is unset outside CI. In CI (`CI=true`) an unset
/// variable fails the test: the PostgreSQL backend must never go
/// untested silently.
pub fn postgres() -> Option<TestDb> {
    let Some(admin_url) = std::env::var("KENSA_TEST_PG")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "KENSA_TEST_PG is not set: CI must run the PostgreSQL tests (scripts/test starts a cluster and sets it)"
        );
        eprintln!("skipped: KENSA_TEST_PG is not set (scripts/test sets it)");
        return None;
    };
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!(
        "kensa_test_{}_{}_{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("connect to KENSA_TEST_PG={admin_url}: {e}"));
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create the test database");
    Some(TestDb {
        backend: Backend::Postgres(with_database(&admin_url, &name)),
        guard: Guard::Postgres { admin_url, name },
    })
}

/// The URL with its database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(i) => &base[..authority_end + i],
        None => base,
    };
    format!("{base}/{name}{query}")
}

/// `both!(f)`: tests `f::sqlite` and `f::postgres`, each calling `f(&TestDb)`.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name(&$crate::common::sqlite());
            }
            #[test]
            fn postgres() {
                if let Some(db) = $crate::common::postgres() {
                    super::$name(&db);
                }
            }
        }
    )*};
}

/// A hand-built finding: enough fields for the lifecycle, the rest empty.
pub fn finding(vulnerability: &str, package: &str, version: &str) -> kensa_model::Finding {
    use kensa_model::{Band, Detection, Finding, PackageRef, Status};
    Finding {
        vulnerability_id: vulnerability.into(),
        aliases: vec![],
        advisories: vec![],
        title: None,
        description: None,
        published: None,
        package: PackageRef {
            name: package.into(),
            kind: "deb".into(),
            version: version.into(),
            installed_version: version.into(),
            arch: Some("amd64".into()),
            purl: format!("pkg:deb/debian/{package}@{version}?arch=amd64"),
            path: "var/lib/dpkg/status".into(),
            ..PackageRef::default()
        },
        fixed_version: Some("99.0".into()),
        status: Status::Fixed,
        detection: Detection {
            method: "source-package".into(),
            namespace: "debian:12".into(),
            confidence: "high".into(),
            notes: vec![],
        },
        severity: Band::High,
        vendor_severity: None,
        cvss: vec![],
        score: None,
        epss: None,
        kev: None,
        references: vec![],
        remediation: None,
    }
}
