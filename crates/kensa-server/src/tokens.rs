//! API tokens: made by admins, owned by the user who made them, listed
//! and revoked by admins (API and console).
//!
//! A token acts with the lesser of its own role and its owner's current
//! role, and not at all once the owner is disabled (the store's
//! [`kensa_store::Db::live_api_token`] enforces that in the query), so
//! that disabling or demoting a user also disarms every token they made.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use kensa_store::{Db, LiveApiToken, Timestamp};
use serde_json::{Value, json};

use crate::api::{ApiError, ApiResult, AppState, principal, require, with_db};
use crate::auth::{self, Principal, Role};

/// The caller a live token stands for: its name, and the lesser of the
/// token's and the owner's roles.
pub(crate) fn principal_of(t: LiveApiToken) -> ApiResult<Principal> {
    let own = Role::parse(&t.role).ok_or_else(ApiError::unauthorized)?;
    let owner = Role::parse(&t.owner_role).ok_or_else(ApiError::unauthorized)?;
    Ok(Principal::User {
        name: t.name,
        role: own.min(owner),
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

fn actor(p: &Principal) -> String {
    match p {
        Principal::User { name, .. } => name.clone(),
        Principal::Agent { agent_id, .. } => format!("agent {agent_id}"),
    }
}

/// `GET /api/v1/api-tokens`: every token (never the secret), with its
/// owner, creation and last use (admins).
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        let p = principal(db, &headers)?;
        require(&p, Role::Admin, "listing API tokens needs the admin role")?;
        Ok(Json(json!({ "tokens": db.list_api_tokens()? })))
    })
    .await
}

/// `DELETE /api/v1/api-tokens/{id}`: revokes a token (admins); 404 when
/// it is unknown or already revoked.
pub(crate) async fn delete(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    with_db(&state, move |db| {
        let p = principal(db, &headers)?;
        require(&p, Role::Admin, "revoking API tokens needs the admin role")?;
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
