//! API tokens and enrolment tokens, made by an admin. What a valid request
//! is lives in [`crate::rules`], shared with the console's forms.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use kensa_store::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{self, Principal, Role};
use crate::kit::{
    ApiError, ApiResult, AppState, authorize, parse_json, principal, require, with_db,
};

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/v1/enrollment-tokens",
            get(list_enrollment_tokens).post(create_enrollment_token),
        )
        .route(
            "/api/v1/enrollment-tokens/{id}",
            axum::routing::delete(revoke_enrollment_token),
        )
        .route("/api/v1/api-tokens", post(create_api_token))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrollmentTokenRequest {
    /// Hours until it expires (default 24, at most 8760: a year, for an
    /// image or a launch template).
    ttl_hours: Option<u32>,
    /// How many enrolments it allows (default 1, at most 1,000,000).
    max_uses: Option<i64>,
    /// A name for the list (`web fleet launch template`).
    name: Option<String>,
    /// Management items set on every asset enrolled with it.
    defaults: Option<kensa_store::EnrollmentDefaults>,
}

/// The most uses one enrolment token may allow.
const MAX_TOKEN_USES: i64 = 1_000_000;

async fn create_enrollment_token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let req: EnrollmentTokenRequest = parse_json(&body, "enrollment token request")?;
    let ttl = u64::from(req.ttl_hours.unwrap_or(24).clamp(1, 8760));
    let max_uses = req.max_uses.unwrap_or(1);
    if !(1..=MAX_TOKEN_USES).contains(&max_uses) {
        return Err(ApiError::bad(format!(
            "max_uses: {max_uses}: expected 1 to {MAX_TOKEN_USES}"
        )));
    }
    let name = req
        .name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
        return Err(ApiError::bad("name: at most 200 characters"));
    }
    let mut defaults = req.defaults.unwrap_or_default();
    for (key, v) in [
        ("defaults.owner", &mut defaults.owner),
        ("defaults.team", &mut defaults.team),
        ("defaults.environment", &mut defaults.environment),
    ] {
        *v = v
            .take()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        if v.as_ref().is_some_and(|s| s.chars().count() > 200) {
            return Err(ApiError::bad(format!("{key}: at most 200 characters")));
        }
    }
    defaults.tags = defaults
        .tags
        .iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    if defaults.tags.len() > 50 || defaults.tags.iter().any(|t| t.chars().count() > 100) {
        return Err(ApiError::bad(
            "defaults.tags: at most 50 tags of at most 100 characters",
        ));
    }
    with_db(&state, move |db| {
        let p = principal(db, &headers)?;
        require(
            &p,
            Role::Admin,
            "creating enrollment tokens needs the admin role",
        )?;
        let token = auth::new_token("ket_")?;
        let digest = auth::digest(&token);
        let now = Timestamp::now();
        let expires = Timestamp::from_unix_ms(now.unix_ms() + (ttl * 3_600_000) as i64);
        db.create_enrollment_token_with(&kensa_store::NewEnrollmentToken {
            digest: &digest,
            name: name.as_deref(),
            max_uses,
            defaults: &defaults,
            created_at: now,
            expires_at: expires,
        })?;
        Ok((
            StatusCode::CREATED,
            Json(json!({
                "token": token,
                "id": &digest[..kensa_store::TOKEN_ID_LEN],
                "name": name,
                "max_uses": max_uses,
                "defaults": defaults,
                "expires_at": expires.unix_ms(),
            })),
        ))
    })
    .await
}

/// `GET /api/v1/enrollment-tokens` (admin): every enrolment token (never
/// the token itself), with its uses and state.
async fn list_enrollment_tokens(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        let p = principal(db, &headers)?;
        require(
            &p,
            Role::Admin,
            "listing enrollment tokens needs the admin role",
        )?;
        Ok(Json(
            json!({ "enrollment_tokens": db.enrollment_tokens(Timestamp::now())? }),
        ))
    })
    .await
}

/// `DELETE /api/v1/enrollment-tokens/{id}` (admin): no more enrolments
/// with it; agents it enrolled keep working.
async fn revoke_enrollment_token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    with_db(&state, move |db| {
        let p = principal(db, &headers)?;
        require(
            &p,
            Role::Admin,
            "revoking enrollment tokens needs the admin role",
        )?;
        if !db.revoke_enrollment_token(&id, Timestamp::now())? {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("enrollment token {id:?}: no such unrevoked token"),
            ));
        }
        if let Principal::User { name, .. } = &p {
            tracing::info!(target: "audit", "enrollment token {id} revoked by {name}");
        }
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiTokenRequest {
    name: String,
    role: String,
}

async fn create_api_token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let req: ApiTokenRequest = parse_json(&body, "API token request")?;
    let role = crate::rules::parse_role(&req.role)?;
    crate::rules::check_token_name(&req.name)?;
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Admin,
            "creating API tokens needs the admin role",
        )?;
        let token = auth::new_token("kst_")?;
        db.create_api_token(
            &req.name,
            role.as_str(),
            &auth::digest(&token),
            Timestamp::now(),
        )?;
        Ok((
            StatusCode::CREATED,
            Json(json!({ "token": token, "name": req.name, "role": role.as_str() })),
        ))
    })
    .await
}
