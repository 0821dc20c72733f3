//! The security audit trail: failed logins, API tokens made and revoked,
//! role changes, users disabled or enabled, agents enrolled. Each event
//! goes to the `security_audit` table (admins read it at
//! `GET /api/v1/audit`) and to `tracing` (target `kensa::audit`), never
//! with a secret in it.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use kensa_store::{Db, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Role;
use crate::kit::{ApiResult, AppState, authorize, with_db};

/// Records an event. A failure to record is logged, not returned: the
/// action it describes has already happened and must not be undone or
/// reported as failed for want of its trace.
pub(crate) fn record(db: &Db, actor: &str, action: &str, subject: &str, detail: &str) {
    tracing::info!(target: "kensa::audit", actor, action, subject, detail, "security event");
    if let Err(e) = db.record_security_event(Timestamp::now(), actor, action, subject, detail) {
        tracing::error!(target: "kensa::audit", action, subject, error = %e,
            "the security event above could not be stored");
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    limit: Option<usize>,
}

/// `GET /api/v1/audit?limit=N`: the newest events (admins).
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Admin,
            "reading the audit trail needs the admin role",
        )?;
        let events = db.security_events(q.limit.unwrap_or(100))?;
        Ok(Json(json!({ "events": events })))
    })
    .await
}
