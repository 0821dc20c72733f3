//! What operators watch: `GET /metrics` (Prometheus text format),
//! `GET /healthz` (the process answers) and `GET /readyz` (the database
//! answers and a knowledge base is in place), and the request counter
//! every route goes through (docs/operations.md).
//!
//! `/metrics` is for the operator's scraper only: on the main listener it
//! takes the metrics token (`--metrics-token-file`, compared in constant
//! time) or an admin's credentials; `--metrics-listen` serves it (with
//! the probes) on a separate plain-HTTP address, for a private interface,
//! where the token is asked for too when one is set.

mod registry;
mod store;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::Role;
use crate::error::{Result, ServerError};
use crate::kit::{ApiError, ApiResult, AppState, authorize, with_db};

pub use registry::Metrics;
pub use store::StoreGauges;

/// How `/metrics` is reached.
#[derive(Clone, Debug, Default)]
pub struct ObserveConfig {
    /// The bearer token a scraper sends (read from `--metrics-token-file`
    /// or `KENSA_METRICS_TOKEN`); admins' tokens and sessions work too.
    pub metrics_token: Option<String>,
    /// A second, plain-HTTP listener serving only `/metrics`, `/healthz`
    /// and `/readyz`.
    pub metrics_listen: Option<SocketAddr>,
}

impl ObserveConfig {
    /// The token from a file (first line, trimmed), naming the file when
    /// it is unreadable or empty.
    pub fn token_from_file(path: &Path) -> Result<String> {
        let text = std::fs::read_to_string(path).map_err(|source| ServerError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let token = text.lines().next().unwrap_or("").trim().to_owned();
        if token.len() < 16 {
            return Err(ServerError::Internal(format!(
                "{}: the metrics token must be at least 16 characters",
                path.display()
            )));
        }
        Ok(token)
    }
}

/// What the observability routes share, kept in [`AppState`].
pub struct Observe {
    pub metrics: Arc<Metrics>,
    pub gauges: StoreGauges,
    /// The digest of the metrics token: compared, never the token itself.
    token_digest: Option<String>,
    pub kb_dir: PathBuf,
}

impl Observe {
    pub fn new(cfg: &ObserveConfig, metrics: Arc<Metrics>, kb_dir: PathBuf) -> Observe {
        Observe {
            metrics,
            gauges: StoreGauges::default(),
            token_digest: cfg.metrics_token.as_deref().map(crate::auth::digest),
            kb_dir,
        }
    }

    fn token_matches(&self, headers: &HeaderMap) -> bool {
        let given = crate::auth::bearer(
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
        );
        match (&self.token_digest, given) {
            (Some(want), Some(given)) => {
                crate::auth::same_digest(want, &crate::auth::digest(given))
            }
            _ => false,
        }
    }
}

pub(crate) fn routes() -> axum::Router<Arc<AppState>> {
    use axum::routing::get;
    axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The separate listener's routes: no API, no console.
pub(crate) fn private_router(state: Arc<AppState>) -> axum::Router {
    use axum::routing::get;
    axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(private_metrics))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

/// 200 when the database answers and a knowledge base generation is in
/// place; 503 naming what is missing otherwise. Unauthenticated, like the
/// health check: load balancers and orchestrators call it, and it tells
/// nothing but that.
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let database = match with_db(&state, |db| Ok(db.ping()?)).await {
        Ok(()) => Ok(()),
        Err(e) => Err(format!("database: {}", e.message())),
    };
    let kb = store::kb_built_at(&state.observe.kb_dir)
        .map(|_| ())
        .map_err(|e| format!("knowledge base: {e}"));
    let problems: Vec<String> = [database, kb].into_iter().filter_map(|r| r.err()).collect();
    if problems.is_empty() {
        (StatusCode::OK, axum::Json(json!({ "ready": true }))).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "ready": false, "reasons": problems })),
        )
            .into_response()
    }
}

/// `GET /metrics` on the main listener: the metrics token, else an admin.
async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult<Response> {
    if !state.observe.token_matches(&headers) {
        with_db(&state, move |db| {
            authorize(
                db,
                &headers,
                Role::Admin,
                "metrics need the metrics token or the admin role",
            )
            .map(|_| ())
        })
        .await?;
    }
    render(&state).await
}

/// `GET /metrics` on `--metrics-listen`: open unless a token is set.
async fn private_metrics(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if state.observe.token_digest.is_some() && !state.observe.token_matches(&headers) {
        return Err(ApiError::unauthorized());
    }
    render(&state).await
}

async fn render(state: &Arc<AppState>) -> ApiResult<Response> {
    let snapshot = state.observe.gauges.get(state).await;
    let mut out = String::with_capacity(16 << 10);
    state.observe.metrics.write(&mut out);
    store::write(&mut out, &snapshot, &state.observe.kb_dir);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response())
}

/// Counts every answered request by its route template and status.
pub(crate) async fn count(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        // Unrouted paths (404s, scanners' probes) share one series.
        .unwrap_or_else(|| "unmatched".to_owned());
    let res = next.run(req).await;
    state
        .observe
        .metrics
        .http(&method, &route, res.status().as_u16(), started.elapsed());
    res
}
