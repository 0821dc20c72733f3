//! API tokens and enrolment tokens, made by an admin. What a valid request
//! is lives in [`crate::rules`], shared with the console's forms.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use kensa_store::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{self, Role};
use crate::kit::{ApiResult, AppState, authorize, parse_json, with_db};

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/enrollment-tokens", post(create_enrollment_token))
        .route("/api/v1/api-tokens", post(create_api_token))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrollmentTokenRequest {
    /// Hours until it expires (default 24, at most 720).
    ttl_hours: Option<u32>,
}

async fn create_enrollment_token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let req: EnrollmentTokenRequest = parse_json(&body, "enrollment token request")?;
    let ttl = crate::rules::enrollment_ttl_ms(req.ttl_hours);
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Admin,
            "creating enrollment tokens needs the admin role",
        )?;
        let token = auth::new_token("ket_")?;
        let now = Timestamp::now();
        let expires = Timestamp::from_unix_ms(now.unix_ms() + ttl);
        db.create_enrollment_token(&auth::digest(&token), now, expires)?;
        Ok((
            StatusCode::CREATED,
            Json(json!({ "token": token, "expires_at": expires.unix_ms() })),
        ))
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
