//! API tokens and enrolment tokens, made by an admin. What a valid request
//! is lives in [`crate::rules`], shared with the console's forms.
//!
//! An API token is owned by the user who made it (a token making a token
//! passes its owner on), listed and revoked by admins (API and console).
//! It acts with the lesser of its own role and its owner's current role,
//! and not at all once the owner is disabled (the store's
//! [`kensa_store::Db::live_api_token`] enforces that in the query), so
//! that disabling or demoting a user also disarms every token they made.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{delete, get};
use axum::{Json, Router};
use kensa_store::{Db, LiveApiToken, Timestamp};
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
        .route("/api/v1/api-tokens", get(list).post(create_api_token))
        .route("/api/v1/api-tokens/{id}", delete(revoke_api_token))
        .route("/api/v1/audit", get(crate::audit::list))
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

async fn create_enrollment_token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let req: EnrollmentTokenRequest = parse_json(&body, "enrollment token request")?;
    let spec =
        crate::rules::enrollment_token_spec(req.name, req.ttl_hours, req.max_uses, req.defaults)?;
    with_db(&state, move |db| {
        let p = principal(db, &headers)?;
        require(
            &p,
            Role::Admin,
            "creating enrollment tokens needs the admin role",
        )?;
        let made = create_enrollment(db, &actor(&p), &spec)?;
        Ok((
            StatusCode::CREATED,
            Json(json!({
                "token": made.token,
                "id": made.id,
                "name": spec.name,
                "max_uses": spec.max_uses,
                "defaults": spec.defaults,
                "expires_at": made.expires_at.unix_ms(),
            })),
        ))
    })
    .await
}

/// An enrolment token just made: the secret (shown once), its public id
/// and its expiry.
pub(crate) struct NewEnrollment {
    pub token: String,
    pub id: String,
    pub expires_at: Timestamp,
}

/// Makes and records an enrolment token for an admin already authorised
/// by the caller (API or console), and audits it.
pub(crate) fn create_enrollment(
    db: &Db,
    actor: &str,
    spec: &crate::rules::EnrollmentTokenSpec,
) -> ApiResult<NewEnrollment> {
    let token = auth::new_token("ket_")?;
    let digest = auth::digest(&token);
    let now = Timestamp::now();
    let expires_at = Timestamp::from_unix_ms(now.unix_ms() + spec.ttl_ms);
    db.create_enrollment_token_with(&kensa_store::NewEnrollmentToken {
        digest: &digest,
        name: spec.name.as_deref(),
        max_uses: spec.max_uses,
        defaults: &spec.defaults,
        created_at: now,
        expires_at,
    })?;
    let id = digest[..kensa_store::TOKEN_ID_LEN].to_owned();
    crate::audit::record(
        db,
        actor,
        "enrollment-token.created",
        &format!("enrollment-token {id}"),
        &format!(
            "name {:?}, max uses {}, expires {}",
            spec.name.as_deref().unwrap_or(""),
            spec.max_uses,
            expires_at.to_rfc3339()
        ),
    );
    Ok(NewEnrollment {
        token,
        id,
        expires_at,
    })
}

/// Revokes the enrolment token of public id `id` and records it; `false`
/// when there is no such unrevoked token.
pub(crate) fn revoke_enrollment(db: &Db, actor: &str, id: &str) -> ApiResult<bool> {
    let done = db.revoke_enrollment_token(id, Timestamp::now())?;
    if done {
        crate::audit::record(
            db,
            actor,
            "enrollment-token.revoked",
            &format!("enrollment-token {id}"),
            "",
        );
    }
    Ok(done)
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
        if !revoke_enrollment(db, &actor(&p), &id)? {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("enrollment token {id:?}: no such unrevoked token"),
            ));
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
        let p = authorize(
            db,
            &headers,
            Role::Admin,
            "creating API tokens needs the admin role",
        )?;
        let owner = owner_of_caller(db, &headers)?;
        let (id, token) = create(db, &actor(&p), &owner, &req.name, role)?;
        Ok((
            StatusCode::CREATED,
            Json(json!({
                "id": id,
                "token": token,
                "name": req.name,
                "role": role.as_str(),
                "owner": owner,
            })),
        ))
    })
    .await
}

/// The caller a live token stands for: its name, and the lesser of the
/// token's and the owner's roles ([`Role::meet`]).
pub(crate) fn principal_of(t: LiveApiToken) -> ApiResult<Principal> {
    let own = Role::parse(&t.role).ok_or_else(ApiError::unauthorized)?;
    let owner = Role::parse(&t.owner_role).ok_or_else(ApiError::unauthorized)?;
    Ok(Principal::User {
        name: t.name,
        role: own.meet(owner),
    })
}

/// The user a request acts for: the session's user, or the owner of the
/// bearer token (a token making a token passes its owner on).
pub(crate) fn owner_of_caller(db: &Db, headers: &HeaderMap) -> ApiResult<String> {
    match auth::bearer(
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    ) {
        Some(token) => db
            .api_token_owner(&auth::digest(token))?
            .ok_or_else(ApiError::unauthorized),
        None => {
            let token =
                crate::session::session_cookie(headers).ok_or_else(ApiError::unauthorized)?;
            Ok(db
                .session(&auth::digest(token), Timestamp::now())?
                .ok_or_else(ApiError::unauthorized)?
                .name)
        }
    }
}

/// Makes a token for `owner` (already authorised as an admin by the
/// caller) and records it; the token, shown once.
pub(crate) fn create(
    db: &Db,
    actor: &str,
    owner: &str,
    name: &str,
    role: Role,
) -> ApiResult<(i64, String)> {
    let token = auth::new_token("kst_")?;
    let id = db.create_owned_api_token(
        name,
        role.as_str(),
        owner,
        &auth::digest(&token),
        Timestamp::now(),
    )?;
    crate::audit::record(
        db,
        actor,
        "token.created",
        &format!("api-token {id}"),
        &format!("name {name:?}, role {}, owner {owner}", role.as_str()),
    );
    Ok((id, token))
}

/// Revokes token `id` and records it; `false` when it was unknown or
/// already revoked.
pub(crate) fn revoke(db: &Db, actor: &str, id: i64) -> ApiResult<bool> {
    let info = db.api_token_info(id)?;
    let done = db.revoke_api_token(id, Timestamp::now())?;
    if done {
        let name = info.map(|t| t.name).unwrap_or_default();
        crate::audit::record(
            db,
            actor,
            "token.revoked",
            &format!("api-token {id}"),
            &format!("name {name:?}"),
        );
    }
    Ok(done)
}

pub(crate) fn actor(p: &Principal) -> String {
    match p {
        Principal::User { name, .. } => name.clone(),
        Principal::Agent { agent_id, .. } => format!("agent {agent_id}"),
    }
}

/// `GET /api/v1/api-tokens`: every token (never the secret), with its
/// owner, creation and last use (admins).
async fn list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Admin,
            "listing API tokens needs the admin role",
        )?;
        Ok(Json(json!({ "tokens": db.list_api_tokens()? })))
    })
    .await
}

/// `DELETE /api/v1/api-tokens/{id}`: revokes a token (admins); 404 when
/// it is unknown or already revoked.
async fn revoke_api_token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    with_db(&state, move |db| {
        let p = authorize(
            db,
            &headers,
            Role::Admin,
            "revoking API tokens needs the admin role",
        )?;
        if revoke(db, &actor(&p), id)? {
            Ok(StatusCode::NO_CONTENT)
        } else {
            Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no live API token {id}"),
            ))
        }
    })
    .await
}
