//! One error type for the store, each variant saying what was being done.

/// A failure of the database client itself, whichever backend it is.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("{}", pg_message(.0))]
    Postgres(#[from] postgres::Error),
}

/// The server's own message: `postgres::Error` displays a bare "db error"
/// for everything the server reports.
fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{}: {} ({})", db.severity(), db.message(), db.code().code());
            // The detail can hold a whole failing row (a finding's JSON):
            // enough of it to recognise the row.
            if let Some(detail) = db.detail() {
                s.push_str(": ");
                let cut = detail
                    .char_indices()
                    .nth(200)
                    .map_or(detail.len(), |(i, _)| i);
                s.push_str(&detail[..cut]);
                if cut < detail.len() {
                    s.push('…');
                }
            }
            if let Some(c) = db.constraint() {
                s.push_str(&format!(" [constraint {c}]"));
            }
            s
        }
        None => e.to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A statement failed. `statement` is its first words, enough to find
    /// it in the source.
    #[error("database: {op}: {statement}: {source}")]
    Database {
        op: String,
        statement: String,
        #[source]
        source: DbError,
    },
    #[error("cannot open the database {target}: {source}")]
    Open {
        target: String,
        #[source]
        source: DbError,
    },
    /// The database was migrated by a newer Kensa: opening it with this
    /// one could misread or damage data it does not know about.
    #[error(
        "the database has schema version {found}, this Kensa knows versions up to {supported}: upgrade Kensa (a database is never downgraded)"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("migration {version:04}_{name}: {source}")]
    Migration {
        version: i64,
        name: &'static str,
        #[source]
        source: Box<StoreError>,
    },
    #[error("{what} not found")]
    NotFound { what: String },
    /// `complete`, `fail` or `extend_lease` by a worker whose lease ran out
    /// and whose job was claimed again (or finished) since: its result must
    /// not overwrite the new owner's.
    #[error("job {job}: worker {worker:?} no longer holds its lease (claim {attempt})")]
    LeaseLost {
        job: i64,
        worker: String,
        attempt: u32,
    },
    /// An evaluation older than the one already applied to the asset: two
    /// workers raced and the slower one carries older knowledge or an
    /// older inventory.
    #[error("asset {asset}: evaluation at {at} is older than the one applied at {applied}")]
    StaleEvaluation {
        asset: i64,
        at: String,
        applied: String,
    },
    #[error("{0}")]
    InvalidArgument(String),
    /// The request is valid but the thing is not in a state that allows
    /// it (a closed review changed, an unanswered asset signed).
    #[error("{0}")]
    Conflict(String),
    /// Stored bytes no longer match the digest stored with them.
    #[error(
        "{what} does not match its SHA-256 digest (stored {stored}, computed {computed}): refused as tampered"
    )]
    Tampered {
        what: String,
        stored: String,
        computed: String,
    },
    /// A stored value that this code cannot read back (a corrupt row or a
    /// value written by other software).
    #[error("corrupt data: {0}")]
    Corrupt(String),
    #[error("{context}: {source}")]
    Json {
        context: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    /// Whether the database is out of reach or out of capacity for now
    /// (not reachable, restarting, out of connection slots, or SQLite
    /// still locked after its busy timeout), so that the same request can
    /// succeed later: a server answers these with 503 and `Retry-After`,
    /// not 500.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Open { .. } => true,
            StoreError::Database { source, .. } => source.is_unavailable(),
            StoreError::Migration { source, .. } => source.is_unavailable(),
            _ => false,
        }
    }
}

impl DbError {
    /// See [`StoreError::is_unavailable`].
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ),
            DbError::Sqlite(_) => false,
            DbError::Postgres(e) => {
                if e.is_closed() {
                    return true;
                }
                match e.as_db_error() {
                    // Class 08: connection exceptions; 53300: too many
                    // connections; 57P01-57P03: the server is shutting down
                    // or starting up.
                    Some(db) => {
                        let code = db.code().code();
                        code.starts_with("08")
                            || matches!(code, "53300" | "57P01" | "57P02" | "57P03")
                    }
                    // Not an answer from the server: the socket failed.
                    None => std::error::Error::source(e)
                        .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some()),
                }
            }
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
