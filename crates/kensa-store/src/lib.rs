//! The fleet database: assets, their inventories, the finding lifecycle
//! and the background job queue, on SQLite (one file, the default) or
//! PostgreSQL (several server processes sharing one database).
//!
//! [`Db::open`] connects and brings the schema up to date: one numbered
//! list of migrations ([`migrate::MIGRATIONS`]), written once per dialect,
//! applied in order inside one transaction and recorded in
//! `schema_migrations`; a database migrated by a newer Kensa is refused.
//!
//! - Assets ([`Db::upsert_asset`]) are hosts and images, with the facts the
//!   agent reports and the management items people set; machines without
//!   an agent come from an asset register ([`Db::import_register`]).
//! - Inventories ([`Db::put_inventory`]) are stored once per content hash,
//!   compressed, so that identical servers share one copy and any asset
//!   can be evaluated again later ([`Db::inventory`]).
//! - Findings ([`Db::apply_evaluation`]) follow Amazon Inspector's
//!   lifecycle: identified by (asset, vulnerability, package name, package
//!   arch), so that a version change keeps the finding; `ACTIVE`,
//!   `SUPPRESSED` or `CLOSED`; closed when absent from the asset's latest
//!   evaluation, reopened (first observation kept) when it returns.
//! - Jobs ([`Db::enqueue`], [`Db::claim`]) are leased, so that work claimed
//!   by a process that dies is claimed again when the lease runs out.
//!
//! Every operation is one transaction. The API is synchronous: the server
//! runs it on worker threads, one [`Db`] (one connection) per thread.

pub mod agentless;
mod asset;
mod asset_list;
mod auth;
mod dashboard;
pub mod error;
mod export;
pub mod filter;
pub mod ingest;
mod lifecycle;
pub mod migrate;
pub mod notify;
mod observe;
mod pg_tls;
mod query;
mod queue;
mod reach;
mod register;
pub mod review;
pub mod review_report;
mod schedule;
mod security;
mod sql;
mod time;
mod triage;
mod users;
mod views;

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

pub use crate::agentless::{
    AgentlessTarget, HostKeyInfo, NewSshCredential, ScanOutcome, SshAddress, SshCredentialInfo,
};
pub use crate::asset::{
    Asset, AssetId, AssetKind, AssetUpsert, InternetExposure, InventoryChange, InventoryFailure,
    Management,
};
pub use crate::asset_list::{
    AssetPage, AssetQuery, AssetRow, AssetSort, AssetSortKey, MAX_ASSET_PAGE, OpenFindings,
    OverdueFinding,
};
pub use crate::auth::{
    AgentInfo, EnrollmentDefaults, EnrollmentTokenInfo, NewEnrollmentToken, TOKEN_ID_LEN,
    TokenCheck,
};
pub use crate::dashboard::{BANDS, OpenCounts};
pub use crate::error::{DbError, Result, StoreError};
pub use crate::export::{EXPORT_JOB, Enqueued, ExportJob, ExportRecord};
pub use crate::filter::Filter;
pub use crate::ingest::CanonicalInventory;
pub use crate::lifecycle::{FindingEvent, FindingId, LifecycleCounts, Status, StoredFinding};
pub use crate::migrate::SCHEMA_VERSION;
pub use crate::notify::{
    Channel, DeadLetter, Delivery, Event, NewRule, OutboxBacklog, Pacing, Rule, SweepCounts,
    SweepPolicy,
};
pub use crate::observe::QueueDepth;
pub use crate::query::{
    Aggregate, FindingPage, FindingQuery, FindingSummary, GroupBy, GroupSort, GroupSortKey, Sort,
    SortKey,
};
pub use crate::queue::{FailOutcome, Job, JobId, JobInfo, JobState, RetryPolicy};
pub use crate::reach::{
    ExposureOverride, NETWORK_KIND, NetworkDocument, REACHABILITY_JOB, Reachability, ReachableRange,
};
pub use crate::register::{
    AssetSource, ExposedPort, ImportCounts, ImportError, ManagementPatch, Middleware,
    RegisterRecord, middleware_of, valid_date,
};
pub use crate::review::{
    AssetFacts, Checklist, Decision, OwnerSign, Review, ReviewAsset, ReviewEvent, VerifiedReport,
};
pub use crate::schedule::{Schedule, ScheduleDef};
pub use crate::security::{AUDIT_PAGE, ApiTokenInfo, LiveApiToken, SecurityEvent};
pub use crate::time::Timestamp;
pub use crate::triage::{
    AuditEntry, BULK_LIMIT, Justification, Response, SlaPolicy, SuppressionRule, Triage,
    TriageChange, TriageRule, TriageState,
};
pub use crate::users::{LoginUser, SessionUser, User};
pub use crate::views::{MAX_SAVED_VIEWS, SavedView};

use crate::sql::{Dialect, PgSql, Sql, SqliteSql};

/// Where the database is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file, created when missing.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (`postgres://user@host:port/db` or
    /// `host=/tmp port=5432 user=kensa dbname=kensa`). The database must
    /// exist; its tables are created.
    Postgres(String),
}

impl std::str::FromStr for Backend {
    type Err = StoreError;

    /// What a user writes for `--db`: a `postgres://` or `postgresql://`
    /// URL, else a SQLite file path (`sqlite:` in front allowed).
    fn from_str(s: &str) -> Result<Backend> {
        if s.is_empty() {
            return Err(StoreError::InvalidArgument(
                "an empty database location".into(),
            ));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            // The TLS settings are checked now, so that a mistyped sslmode
            // stops the server at start rather than at its first query.
            pg_tls::PgTarget::parse(s)?;
            return Ok(Backend::Postgres(s.to_owned()));
        }
        Ok(Backend::Sqlite(PathBuf::from(
            s.strip_prefix("sqlite:").unwrap_or(s),
        )))
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            // Only the part after the credentials: a password never reaches
            // an error message.
            Backend::Postgres(url) => match url.rsplit_once('@') {
                Some((_, host)) => write!(f, "postgres://…@{host}"),
                None => f.write_str("postgres"),
            },
        }
    }
}

/// How long a SQLite writer waits for another to finish before giving up.
/// Writers hold the lock for one short transaction, so a long wait means
/// something is wrong, not that the queue is busy.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::Client),
}

/// One connection to the fleet database. `Db` is `Send` and `Sync`, but
/// its operations take turns on the one connection: open one per thread
/// for parallel work.
pub struct Db {
    backend: Backend,
    conn: Mutex<Conn>,
    retry: RetryPolicy,
}

/// Whether a transaction writes: SQLite takes the write lock at `BEGIN`
/// for those, so that a reader never has to upgrade (and fail with
/// `SQLITE_BUSY` instead of waiting).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Read,
    Write,
}

impl Db {
    /// Connects and runs the pending migrations.
    pub fn open(backend: &Backend) -> Result<Db> {
        let conn = connect(backend)?;
        let db = Db {
            backend: backend.clone(),
            conn: Mutex::new(conn),
            retry: RetryPolicy::default(),
        };
        db.tx("migrate", Mode::Write, migrate::migrate)?;
        Ok(db)
    }

    /// Connects without the migration check, for the connections a
    /// process opens after its first [`Db::open`] of the same database
    /// (a server's pool): the check reads the migration table and takes
    /// a lock, which is not worth paying per connection under load.
    pub fn connect(backend: &Backend) -> Result<Db> {
        Ok(Db {
            backend: backend.clone(),
            conn: Mutex::new(connect(backend)?),
            retry: RetryPolicy::default(),
        })
    }

    /// Whether the connection is known to be dead (a PostgreSQL server
    /// that restarted or dropped it): a pool drops such a connection
    /// instead of keeping it. The next operation on it reconnects anyway.
    pub fn is_closed(&self) -> bool {
        match &*self.conn.lock().unwrap_or_else(PoisonError::into_inner) {
            Conn::Sqlite(_) => false,
            Conn::Postgres(c) => c.is_closed(),
        }
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The schema version the database is at.
    pub fn schema_version(&self) -> Result<i64> {
        self.tx("schema version", Mode::Read, |tx| {
            tx.query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )?
            .i64(0)
        })
    }

    /// Refreshes the planner's statistics, so that it picks the right
    /// index for each filter and sort. PostgreSQL's autovacuum does this by
    /// itself; SQLite never does, so the server calls this now and then.
    /// `analysis_limit` samples rows, so that it stays fast at any size.
    pub fn analyze(&self) -> Result<()> {
        let sql = match self.dialect() {
            Dialect::Sqlite => "PRAGMA analysis_limit = 2000; ANALYZE;",
            Dialect::Postgres => "ANALYZE;",
        };
        self.tx("analyze", Mode::Write, |tx| tx.batch(sql))
    }

    /// How failed jobs are retried (see [`RetryPolicy`]).
    pub fn set_retry_policy(&mut self, retry: RetryPolicy) {
        self.retry = retry;
    }

    /// Runs `f` in one transaction: committed when it returns `Ok`, rolled
    /// back otherwise (also when the closure panics: the transaction
    /// guards roll back on drop).
    pub(crate) fn tx<T>(
        &self,
        op: &str,
        mode: Mode,
        f: impl FnOnce(&mut dyn Sql) -> Result<T>,
    ) -> Result<T> {
        // A panic in another thread's transaction rolled that transaction
        // back; the connection itself is fine to go on with.
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        if let Conn::Postgres(c) = &*conn
            && c.is_closed()
        {
            // The server restarted or the network dropped: one new attempt
            // per operation, so that a long-lived process heals itself.
            *conn = connect(&self.backend)?;
        }
        let begin = |e: DbError| StoreError::Database {
            op: op.to_owned(),
            statement: "BEGIN".into(),
            source: e,
        };
        let commit = |e: DbError| StoreError::Database {
            op: op.to_owned(),
            statement: "COMMIT".into(),
            source: e,
        };
        match &mut *conn {
            Conn::Sqlite(c) => {
                let behavior = match mode {
                    Mode::Read => rusqlite::TransactionBehavior::Deferred,
                    Mode::Write => rusqlite::TransactionBehavior::Immediate,
                };
                let t = c
                    .transaction_with_behavior(behavior)
                    .map_err(|e| begin(e.into()))?;
                let out = f(&mut SqliteSql { conn: &t, op })?;
                t.commit().map_err(|e| commit(e.into()))?;
                Ok(out)
            }
            Conn::Postgres(c) => {
                let mut t = c.transaction().map_err(|e| begin(e.into()))?;
                let out = f(&mut PgSql { tx: &mut t, op })?;
                t.commit().map_err(|e| commit(e.into()))?;
                Ok(out)
            }
        }
    }

    pub(crate) fn dialect(&self) -> Dialect {
        match self.backend {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }
}

fn connect(backend: &Backend) -> Result<Conn> {
    let open_err = |e: DbError| StoreError::Open {
        target: backend.to_string(),
        source: e,
    };
    match backend {
        Backend::Sqlite(path) => {
            let c = rusqlite::Connection::open(path).map_err(|e| open_err(e.into()))?;
            c.busy_timeout(SQLITE_BUSY_TIMEOUT)
                .map_err(|e| open_err(e.into()))?;
            // WAL: readers never block the writer nor the writer them.
            // synchronous=NORMAL is durable across process crashes in WAL
            // mode (only an OS crash can lose the last commits).
            //
            // Switching a new file to WAL needs an exclusive lock, and SQLite
            // answers SQLITE_BUSY at once, without its busy handler, when
            // another connection is doing the same (several processes
            // opening a fresh database together): retry that one, within
            // the busy timeout.
            let deadline = std::time::Instant::now() + SQLITE_BUSY_TIMEOUT;
            loop {
                match c.pragma_update(None, "journal_mode", "WAL") {
                    Ok(()) => break,
                    Err(rusqlite::Error::SqliteFailure(f, _))
                        if f.code == rusqlite::ErrorCode::DatabaseBusy
                            && std::time::Instant::now() < deadline =>
                    {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(e) => return Err(open_err(e.into())),
                }
            }
            for (pragma, value) in [("synchronous", "NORMAL"), ("foreign_keys", "ON")] {
                c.pragma_update(None, pragma, value)
                    .map_err(|e| open_err(e.into()))?;
            }
            Ok(Conn::Sqlite(c))
        }
        Backend::Postgres(url) => match pg_tls::PgTarget::parse(url)?.connect() {
            Ok(c) => Ok(Conn::Postgres(c)),
            Err(pg_tls::ConnectError::Db(e)) => Err(open_err(e)),
            Err(pg_tls::ConnectError::Config(e)) => Err(StoreError::InvalidArgument(e)),
        },
    }
}

#[cfg(test)]
mod tests {
    /// The server shares a `Db` between threads or moves one into each.
    #[test]
    fn backends_parse_from_what_users_write() {
        use super::Backend;
        let pg = "postgres://kensa:secret@db.internal:5432/kensa";
        assert_eq!(
            pg.parse::<Backend>().ok(),
            Some(Backend::Postgres(pg.into()))
        );
        let b: Backend = pg.parse().expect("parses");
        assert_eq!(b.to_string(), "postgres://…@db.internal:5432/kensa");
        assert_eq!(
            "sqlite:/var/lib/kensa/kensa.db".parse::<Backend>().ok(),
            Some(Backend::Sqlite("/var/lib/kensa/kensa.db".into()))
        );
        assert_eq!(
            "kensa.db".parse::<Backend>().ok(),
            Some(Backend::Sqlite("kensa.db".into()))
        );
        assert!("".parse::<Backend>().is_err());
    }

    #[test]
    fn db_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<super::Db>();
    }
}
