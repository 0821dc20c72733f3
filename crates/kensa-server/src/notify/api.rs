//! `/api/v1/notifications/…`: channels, rules, "send a test", the
//! dead-letter list and the outbox, for admins only. A channel's secret
//! (HMAC key, password, Slack URL) is written, never read back.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use kensa_store::{NewRule, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Role;
use crate::kit::{ApiError, ApiResult, AppState, authorize, parse_json, with_db};

const ADMIN: &str = "notifications need the admin role";

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/v1/notifications/channels",
            get(list_channels).post(create_channel),
        )
        .route(
            "/api/v1/notifications/channels/{id}",
            put(update_channel).delete(delete_channel),
        )
        .route(
            "/api/v1/notifications/rules",
            get(list_rules).post(create_rule),
        )
        .route(
            "/api/v1/notifications/rules/{id}",
            get(read_rule).put(update_rule).delete(delete_rule),
        )
        .route("/api/v1/notifications/rules/{id}/test", post(test_rule))
        .route("/api/v1/notifications/dead-letters", get(dead_letters))
        .route(
            "/api/v1/notifications/dead-letters/{id}/retry",
            post(retry_dead_letter),
        )
        .route("/api/v1/notifications/events", get(events))
        .route("/api/v1/notifications/backlog", get(backlog))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelRequest {
    name: String,
    kind: String,
    #[serde(default)]
    config: Value,
    /// Kept as it is on an update when absent.
    secret: Option<String>,
}

fn actor(p: &crate::auth::Principal) -> String {
    crate::tokens::actor(p)
}

async fn list_channels(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        authorize(db, &headers, Role::Admin, ADMIN)?;
        Ok(Json(json!({ "channels": db.channels()? })))
    })
    .await
}

async fn put_channel(
    state: Arc<AppState>,
    headers: HeaderMap,
    id: Option<i64>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let req: ChannelRequest = parse_json(&body, "channel")?;
    with_db(&state, move |db| {
        let p = authorize(db, &headers, Role::Admin, ADMIN)?;
        // On an update without a secret, the stored one is checked.
        let stored = match (id, &req.secret) {
            (Some(id), None) => db.channel(id)?.and_then(|c| c.secret),
            _ => None,
        };
        let secret = req.secret.as_deref().or(stored.as_deref());
        super::channel::check(&req.kind, &req.config, secret).map_err(ApiError::bad)?;
        let new_id = db.put_channel(
            id,
            &req.name,
            &req.kind,
            &req.config,
            req.secret.as_deref(),
            Timestamp::now(),
        )?;
        crate::audit::record(
            db,
            &actor(&p),
            if id.is_some() {
                "notification-channel.updated"
            } else {
                "notification-channel.created"
            },
            &format!("notification-channel {new_id}"),
            &format!("name {:?}, kind {}", req.name, req.kind),
        );
        let channel = db.channel(new_id)?;
        let status = if id.is_some() {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        Ok((status, Json(json!(channel))))
    })
    .await
}

async fn create_channel(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    put_channel(state, headers, None, body).await
}

async fn update_channel(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    put_channel(state, headers, Some(id), body).await
}

async fn delete_channel(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    with_db(&state, move |db| {
        let p = authorize(db, &headers, Role::Admin, ADMIN)?;
        if !db.delete_channel(id)? {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no channel {id}"),
            ));
        }
        crate::audit::record(
            db,
            &actor(&p),
            "notification-channel.deleted",
            &format!("notification-channel {id}"),
            "",
        );
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

async fn list_rules(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        authorize(db, &headers, Role::Admin, ADMIN)?;
        Ok(Json(json!({ "rules": db.rules()? })))
    })
    .await
}

async fn read_rule(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        authorize(db, &headers, Role::Admin, ADMIN)?;
        let rule = db
            .rule(id)?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no rule {id}")))?;
        Ok(Json(json!(rule)))
    })
    .await
}

async fn put_rule(
    state: Arc<AppState>,
    headers: HeaderMap,
    id: Option<i64>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let req: NewRule = parse_json(&body, "rule")?;
    with_db(&state, move |db| {
        let p = authorize(db, &headers, Role::Admin, ADMIN)?;
        let rule = db.put_rule(id, &req, &actor(&p), Timestamp::now())?;
        crate::audit::record(
            db,
            &actor(&p),
            if id.is_some() {
                "notification-rule.updated"
            } else {
                "notification-rule.created"
            },
            &format!("notification-rule {}", rule.id),
            &format!("name {:?}, filter {:?}", rule.name, rule.filter),
        );
        let status = if id.is_some() {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        Ok((status, Json(json!(rule))))
    })
    .await
}

async fn create_rule(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    put_rule(state, headers, None, body).await
}

async fn update_rule(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    put_rule(state, headers, Some(id), body).await
}

async fn delete_rule(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    with_db(&state, move |db| {
        let p = authorize(db, &headers, Role::Admin, ADMIN)?;
        if !db.delete_rule(id)? {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no rule {id}"),
            ));
        }
        crate::audit::record(
            db,
            &actor(&p),
            "notification-rule.deleted",
            &format!("notification-rule {id}"),
            "",
        );
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// `POST …/rules/{id}/test`: sends a test message through the rule's
/// channel now and answers whether it arrived (the receiver's answer or
/// the error), without using the outbox.
async fn test_rule(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    let delivery = with_db(&state, move |db| {
        authorize(db, &headers, Role::Admin, ADMIN)?;
        let rule = db
            .rule(id)?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no rule {id}")))?;
        let channel = db.channel(rule.channel_id)?.ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no channel {}", rule.channel_id),
            )
        })?;
        Ok(super::channel::test_delivery(&rule.name, channel))
    })
    .await?;
    let timeout = super::NotifyConfig::default().timeout;
    let result = tokio::task::spawn_blocking(move || {
        let r = super::channel::send(&delivery, timeout);
        (delivery.message_id, r)
    })
    .await
    .map_err(|e| ApiError::from(crate::error::ServerError::Internal(e.to_string())))?;
    Ok(Json(match result {
        (id, Ok(())) => json!({ "sent": true, "id": id }),
        (id, Err(e)) => json!({ "sent": false, "id": id, "error": e.to_string() }),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    after: Option<i64>,
    limit: Option<u32>,
}

async fn dead_letters(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<Page>,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        authorize(db, &headers, Role::Admin, ADMIN)?;
        let limit = q.limit.unwrap_or(100).clamp(1, 1000);
        Ok(Json(json!({ "dead_letters": db.dead_letters(limit)? })))
    })
    .await
}

async fn retry_dead_letter(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    with_db(&state, move |db| {
        let p = authorize(db, &headers, Role::Admin, ADMIN)?;
        if !db.retry_dead_letter(id)? {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no dead letter {id}"),
            ));
        }
        crate::audit::record(
            db,
            &actor(&p),
            "notification.retried",
            &format!("notification {id}"),
            "",
        );
        Ok(StatusCode::ACCEPTED)
    })
    .await
}

/// `GET …/events?after=N&limit=M`: the outbox in id order.
async fn events(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<Page>,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        authorize(db, &headers, Role::Admin, ADMIN)?;
        let limit = q.limit.unwrap_or(100).clamp(1, 1000);
        Ok(Json(
            json!({ "events": db.outbox_events(q.after.unwrap_or(0), limit)? }),
        ))
    })
    .await
}

async fn backlog(State(state): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        authorize(db, &headers, Role::Admin, ADMIN)?;
        Ok(Json(json!(db.outbox_backlog()?)))
    })
    .await
}
