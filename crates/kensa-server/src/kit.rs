//! What every room of the server shares: the state handlers get, the
//! API's error type, running database work off the async workers, and who
//! the caller is and what it may do.
//!
//! Every route but enrolment, login and the health check authenticates the
//! caller and checks its role with [`authorize`], on the server: the
//! console's hiding of a control is a convenience, this is the rule.
//!
//! Database work is synchronous (`kensa-store`): handlers run it on the
//! blocking pool with a pooled connection ([`with_db`]), never on the async
//! workers.

use std::sync::Arc;

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kensa_store::{AssetId, Db, Timestamp};
use serde_json::json;

use crate::auth::{self, Principal, Role};
use crate::pool::Pool;

pub struct AppState {
    pub pool: Arc<Pool>,
    pub limits: Limits,
    /// Wakes the evaluation workers when a job is queued.
    pub wake: Arc<crate::worker::Wake>,
    pub login_throttle: Arc<crate::session::LoginThrottle>,
    /// The server's CA certificate (PEM), which the console hands to agents.
    pub ca_cert: std::path::PathBuf,
    pub exports: Arc<crate::export::Exports>,
    /// Server-side agentless scans: credentials' key, settings, scheduler.
    pub agentless: Arc<crate::agentless::Agentless>,
    /// Inventory uploads decoded at once: each holds its body inflated
    /// (up to [`Limits::inventory`]) while it is checked and stored.
    pub ingests: Arc<tokio::sync::Semaphore>,
    /// Where the agent artefacts served at `/agent/…` are.
    pub agent_dist: std::path::PathBuf,
    /// Metrics, health and readiness.
    pub observe: crate::observe::Observe,
    /// The schedules' clock.
    pub clock: crate::schedule::Clock,
}

/// Request size limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The largest request body accepted (compressed, as sent).
    pub body: usize,
    /// The largest inventory document accepted once decompressed.
    pub inventory: u64,
    /// The most packages one inventory may list: what the evaluation of
    /// one inventory holds in memory grows with it (a million packages
    /// took 1.6 GiB), and the largest real hosts list tens of thousands.
    pub packages: usize,
    /// The most entries of each other list (listeners, problems, kernel
    /// modules and the like).
    pub entries: usize,
    /// The longest string anywhere in an inventory, in bytes (a path is
    /// at most 4096 on Linux; messages are shorter).
    pub string: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            body: 16 << 20,
            inventory: 64 << 20,
            packages: 100_000,
            entries: 10_000,
            string: 8192,
        }
    }
}

/// An error as the API answers it: a status and `{"error": message}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// Seconds for `Retry-After`, on a 503.
    retry_after: Option<u32>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }
    /// 503 with `Retry-After`: the server or its database is out of
    /// capacity or out of reach for now; the same request may succeed
    /// later (agents keep the report in their spool and retry).
    pub(crate) fn unavailable(message: impl Into<String>, retry_after: u32) -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: message.into(),
            retry_after: Some(retry_after),
        }
    }
    pub(crate) fn retry_after(&self) -> Option<u32> {
        self.retry_after
    }
    pub(crate) fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing, unknown or expired token or session (send Authorization: Bearer <token>, or log in)",
        )
    }
    pub(crate) fn forbidden(what: &str) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, format!("not allowed: {what}"))
    }
    pub(crate) fn bad(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }
    pub(crate) fn message(&self) -> &str {
        &self.message
    }
}

/// How long a client is told to wait when the database is out of reach
/// (a PostgreSQL restart takes seconds).
const RETRY_UNREACHABLE: u32 = 5;
/// ... and when every connection is busy: the queue moves in seconds.
const RETRY_BUSY: u32 = 2;

impl From<crate::pool::PoolError> for ApiError {
    fn from(e: crate::pool::PoolError) -> ApiError {
        match e {
            crate::pool::PoolError::Busy { max, wait } => {
                tracing::warn!(
                    "answered 503: all {max} database connections stayed busy for {} ms (--db-max-connections, --db-wait-ms)",
                    wait.as_millis()
                );
                ApiError::unavailable(
                    "the server is busy (every database connection is in use); retry later",
                    RETRY_BUSY,
                )
            }
            crate::pool::PoolError::KnowledgeBase(e) => ApiError::from(e),
        }
    }
}

impl From<crate::error::ServerError> for ApiError {
    fn from(e: crate::error::ServerError) -> ApiError {
        if let crate::error::ServerError::KnowledgeBase(s) = &e
            && s.is_unavailable()
        {
            tracing::warn!("answered 503: {e}");
            return ApiError::unavailable(
                "the database is unavailable for now; retry later",
                RETRY_UNREACHABLE,
            );
        }
        // The detail goes to the log; the client learns only that it was
        // the server's fault (it may name files or the database).
        tracing::error!("{e}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error (see the server log)",
        )
    }
}

impl From<kensa_store::StoreError> for ApiError {
    fn from(e: kensa_store::StoreError) -> ApiError {
        match e {
            // The caller's mistake, worded for the caller.
            kensa_store::StoreError::InvalidArgument(m) => ApiError::bad(m),
            kensa_store::StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, m),
            // Logged where it was found; the caller learns what and why.
            e @ kensa_store::StoreError::Tampered { .. } => {
                ApiError::new(StatusCode::CONFLICT, e.to_string())
            }
            kensa_store::StoreError::NotFound { what } => {
                ApiError::new(StatusCode::NOT_FOUND, format!("no {what}"))
            }
            e => ApiError::from(crate::error::ServerError::from(e)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, Json(json!({ "error": self.message }))).into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(s));
        }
        r
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// Run `f` with a pooled connection on the blocking pool.
pub(crate) async fn with_db<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(&Db) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let pool = Arc::clone(&state.pool);
    let permit = pool.permit().await?;
    tokio::task::spawn_blocking(move || {
        let db = pool.get(permit)?;
        f(&db)
    })
    .await
    .map_err(|e| ApiError::from(crate::error::ServerError::Internal(e.to_string())))?
}

/// How long an upload waits for an ingest slot before it is answered 503
/// (the agent keeps the report and retries).
pub const INGEST_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// One of the few slots for decoding an inventory upload, waited for up
/// to [`INGEST_WAIT`].
pub(crate) async fn ingest_slot(
    state: &Arc<AppState>,
) -> ApiResult<tokio::sync::OwnedSemaphorePermit> {
    match tokio::time::timeout(INGEST_WAIT, Arc::clone(&state.ingests).acquire_owned()).await {
        Ok(Ok(p)) => Ok(p),
        _ => {
            tracing::warn!(
                "answered 503: every ingest slot stayed busy for {} s (--max-ingests)",
                INGEST_WAIT.as_secs()
            );
            Err(ApiError::unavailable(
                "the server is busy decoding other inventories; retry later",
                RETRY_BUSY,
            ))
        }
    }
}

/// The caller, from its bearer token or, without an `Authorization`
/// header, its session cookie (CSRF is checked before, in
/// [`crate::session::csrf`]).
pub(crate) fn principal(db: &Db, headers: &HeaderMap) -> ApiResult<Principal> {
    if !headers.contains_key(header::AUTHORIZATION) {
        return crate::session::principal_of_session(db, headers);
    }
    let token = auth::bearer(
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    )
    .ok_or_else(ApiError::unauthorized)?;
    let digest = auth::digest(token);
    if let Some((agent_id, asset_id)) = db.agent_by_token(&digest)? {
        return Ok(Principal::Agent { agent_id, asset_id });
    }
    match db.live_api_token(&digest, Timestamp::now())? {
        Some(t) => crate::tokens::principal_of(t),
        None => Err(ApiError::unauthorized()),
    }
}

pub(crate) fn require(p: &Principal, role: Role, what: &str) -> ApiResult<()> {
    match p {
        Principal::User { role: r, .. } if r.includes(role) => Ok(()),
        _ => Err(ApiError::forbidden(what)),
    }
}

pub(crate) fn agent_asset(p: &Principal) -> ApiResult<AssetId> {
    match p {
        Principal::Agent { asset_id, .. } => Ok(AssetId(*asset_id)),
        Principal::User { .. } => Err(ApiError::forbidden(
            "only an enrolled agent reports inventories",
        )),
    }
}

/// The value of the request's cookie `name` (the first one, over every
/// `Cookie` header), as sent.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .and_then(|c| c.value_raw())
}

/// The caller, if it has at least `role` (agents have none): one call for
/// authentication and authorization. `what` says what was refused, for the
/// 403 answer.
pub(crate) fn authorize(
    db: &Db,
    headers: &HeaderMap,
    role: Role,
    what: &str,
) -> ApiResult<Principal> {
    let p = principal(db, headers)?;
    require(&p, role, what)?;
    Ok(p)
}

/// Parse a JSON body, naming what it should be and where it went wrong.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> ApiResult<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad(format!(
            "{what}: {e} (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}
