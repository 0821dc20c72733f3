//! Reviews over the API (issue 17): an admin opens a review of the assets
//! a filter selects, owners (analysts) answer each asset's checklist, an
//! auditor signs each answer off or sends it back, an admin closes it, and
//! everyone reads the frozen report (JSON, CSV, XLSX, printable HTML).
//!
//! Who may do what is decided here, on the server, for the API and the
//! console alike ([`may_answer`], [`may_sign`]); the store keeps the
//! states straight and records every step in the review's events.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kensa_store::{AssetId, Checklist, Db, Decision, OwnerSign, ReviewAsset, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Principal, Role};
use crate::console::Lang;
use crate::kit::{ApiError, ApiResult, AppState, authorize, parse_json, with_db};
use crate::review_render::ReportFormat;

pub(crate) fn routes() -> axum::Router<Arc<AppState>> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/v1/reviews", get(list).post(open))
        .route("/api/v1/reviews/{id}", get(detail))
        .route("/api/v1/reviews/{id}/events", get(events))
        .route(
            "/api/v1/reviews/{id}/assets/{asset}/answer",
            post(answer_asset),
        )
        .route("/api/v1/reviews/{id}/assets/{asset}/sign", post(sign))
        .route(
            "/api/v1/reviews/{id}/assets/{asset}/send-back",
            post(send_back),
        )
        .route("/api/v1/reviews/{id}/close", post(close))
        .route("/api/v1/reviews/{id}/report", get(report))
}

/// The user a caller acts for: a session's user, or a token's owner (a
/// token's own name is a label, not a person, and ownership of assets is
/// by person).
pub(crate) fn user_of(db: &Db, headers: &HeaderMap) -> ApiResult<String> {
    crate::tokens::owner_of_caller(db, headers)
}

fn role_of(p: &Principal) -> Role {
    match p {
        Principal::User { role, .. } => *role,
        Principal::Agent { .. } => Role::Viewer,
    }
}

/// Whether `user` with `role` may answer for `asset` now: owners answer
/// for their own assets (analysts), admins for any.
pub(crate) fn may_answer(
    role: Role,
    user: &str,
    asset: &ReviewAsset,
    owner_now: Option<&str>,
) -> ApiResult<()> {
    if !role.includes(Role::Analyst) {
        return Err(ApiError::forbidden(
            "answering a review needs the analyst role (the asset's owner) or admin",
        ));
    }
    let owner = owner_now.or(asset.snapshot.management.owner.as_deref());
    if role != Role::Admin && owner != Some(user) {
        return Err(ApiError::forbidden(&format!(
            "{:?} is owned by {}: an analyst answers for the assets they own",
            asset.name,
            owner.unwrap_or("nobody")
        )));
    }
    Ok(())
}

/// Whether `user` with `role` may sign `asset` off (or send it back)
/// under the review's owner rule.
pub(crate) fn may_sign(
    role: Role,
    user: &str,
    rule: OwnerSign,
    asset: &ReviewAsset,
    owner_now: Option<&str>,
) -> ApiResult<()> {
    if !role.includes(Role::Auditor) {
        return Err(ApiError::forbidden(
            "signing a review needs the auditor role",
        ));
    }
    let owner = owner_now.or(asset.snapshot.management.owner.as_deref());
    if owner == Some(user) {
        let allowed = match rule {
            OwnerSign::Any => true,
            OwnerSign::Auditor => role == Role::Auditor,
            OwnerSign::Never => false,
        };
        if !allowed {
            return Err(ApiError::forbidden(&format!(
                "{:?} is yours: its owner cannot sign it off (review setting owner_sign={})",
                asset.name,
                rule.as_str()
            )));
        }
    }
    Ok(())
}

fn review_not_found(id: i64) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("no review {id}"))
}

/// `GET /api/v1/reviews` (viewer): every review, newest first.
async fn list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Viewer,
            "reading reviews needs a user token",
        )?;
        Ok(Json(json!({ "reviews": db.reviews()? })))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenRequest {
    name: String,
    /// A filter in the findings' language, on asset keys (`team=web`);
    /// empty for every asset.
    #[serde(default)]
    scope: String,
    #[serde(default)]
    owner_sign: Option<String>,
}

/// Opens a review for `user`; its id. Shared with the console.
pub(crate) fn open_review(
    db: &Db,
    user: &str,
    name: &str,
    scope: &str,
    owner_sign: Option<&str>,
) -> ApiResult<i64> {
    let rule = owner_sign
        .map(OwnerSign::parse)
        .transpose()?
        .unwrap_or_default();
    let id = db.open_review(name, scope, rule, user, Timestamp::now())?;
    crate::audit::record(
        db,
        user,
        "review.opened",
        &format!("review {id}"),
        &format!(
            "name {name:?}, scope {scope:?}, owner_sign {}",
            rule.as_str()
        ),
    );
    Ok(id)
}

/// `POST /api/v1/reviews` (admin): `{name, scope, owner_sign}`.
async fn open(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Admin,
            "opening a review needs the admin role",
        )?;
        let req: OpenRequest = parse_json(&body, "review")?;
        let user = user_of(db, &headers)?;
        let id = open_review(db, &user, &req.name, &req.scope, req.owner_sign.as_deref())?;
        let r = db.review(id)?.ok_or_else(|| review_not_found(id))?;
        Ok((StatusCode::CREATED, Json(json!(r))))
    })
    .await
}

fn path_ids(id: &str, asset: Option<&str>) -> ApiResult<(i64, i64)> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad(format!("review id {id:?}: expected a number")))?;
    let asset = match asset {
        Some(a) => a
            .parse()
            .map_err(|_| ApiError::bad(format!("asset id {a:?}: expected a number")))?,
        None => 0,
    };
    Ok((id, asset))
}

/// One asset of a review as the API shows it: the review's record, and
/// whether the asset's management items changed since the review opened.
pub(crate) fn asset_json(db: &Db, a: &ReviewAsset) -> ApiResult<Value> {
    let now = if a.removed_at.is_none() {
        db.asset(AssetId(a.asset_id))?
    } else {
        None
    };
    let mut v = json!(a);
    v["owner"] = json!(a.owner(now.as_ref().map(|x| &x.management)));
    v["management_changed"] = json!(
        now.as_ref()
            .is_some_and(|x| x.management != a.snapshot.management)
    );
    Ok(v)
}

/// `GET /api/v1/reviews/{id}` (viewer): the review and its assets.
async fn detail(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (id, _) = path_ids(&id, None)?;
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Viewer,
            "reading reviews needs a user token",
        )?;
        let r = db.review(id)?.ok_or_else(|| review_not_found(id))?;
        let assets = db
            .review_assets(id)?
            .iter()
            .map(|a| asset_json(db, a))
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(Json(json!({ "review": r, "assets": assets })))
    })
    .await
}

/// `GET /api/v1/reviews/{id}/events` (viewer): what happened, in order.
async fn events(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (id, _) = path_ids(&id, None)?;
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Viewer,
            "reading reviews needs a user token",
        )?;
        db.review(id)?.ok_or_else(|| review_not_found(id))?;
        Ok(Json(json!({ "events": db.review_events(id, None)? })))
    })
    .await
}

/// Records `user`'s answer after the role and owner checks. Shared with
/// the console.
pub(crate) fn answer(
    db: &Db,
    role: Role,
    user: &str,
    id: i64,
    asset: i64,
    checklist: &Checklist,
) -> ApiResult<()> {
    let a = db.review_asset(id, asset)?;
    let now = db.asset(AssetId(asset))?;
    may_answer(
        role,
        user,
        &a,
        now.as_ref().and_then(|x| x.management.owner.as_deref()),
    )?;
    db.answer_review(id, asset, checklist, user, Timestamp::now())?;
    Ok(())
}

/// Signs or sends back after the role and owner checks. Shared with the
/// console.
pub(crate) fn decide(
    db: &Db,
    role: Role,
    user: &str,
    id: i64,
    asset: i64,
    decision: &Decision,
) -> ApiResult<()> {
    let r = db.review(id)?.ok_or_else(|| review_not_found(id))?;
    let a = db.review_asset(id, asset)?;
    let now = db.asset(AssetId(asset))?;
    may_sign(
        role,
        user,
        r.owner_sign,
        &a,
        now.as_ref().and_then(|x| x.management.owner.as_deref()),
    )?;
    db.decide_review(id, asset, decision, user, Timestamp::now())?;
    Ok(())
}

/// `POST /api/v1/reviews/{id}/assets/{asset}/answer` (the owner, an
/// analyst; or an admin): the checklist.
async fn answer_asset(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((id, asset)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let (id, asset) = path_ids(&id, Some(&asset))?;
    with_db(&state, move |db| {
        let p = authorize(db, &headers, Role::Viewer, "answering needs a user token")?;
        // The role before the body: a viewer learns nothing from it.
        if !role_of(&p).includes(Role::Analyst) {
            return Err(ApiError::forbidden(
                "answering a review needs the analyst role (the asset's owner) or admin",
            ));
        }
        let checklist: Checklist = parse_json(&body, "review checklist")?;
        let user = user_of(db, &headers)?;
        answer(db, role_of(&p), &user, id, asset, &checklist)?;
        asset_json(db, &db.review_asset(id, asset)?).map(Json)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionRequest {
    #[serde(default)]
    comment: Option<String>,
}

async fn decide_route(
    state: Arc<AppState>,
    headers: HeaderMap,
    id: String,
    asset: String,
    body: Bytes,
    send_back: bool,
) -> ApiResult<Json<Value>> {
    let (id, asset) = path_ids(&id, Some(&asset))?;
    with_db(&state, move |db| {
        let p = authorize(
            db,
            &headers,
            Role::Auditor,
            "signing a review needs the auditor role",
        )?;
        let req: DecisionRequest = if body.is_empty() {
            DecisionRequest { comment: None }
        } else {
            parse_json(&body, "decision")?
        };
        let decision = if send_back {
            Decision::SendBack {
                comment: req
                    .comment
                    .ok_or_else(|| ApiError::bad("comment: say why it goes back to its owner"))?,
            }
        } else {
            Decision::Sign {
                comment: req.comment,
            }
        };
        let user = user_of(db, &headers)?;
        decide(db, role_of(&p), &user, id, asset, &decision)?;
        asset_json(db, &db.review_asset(id, asset)?).map(Json)
    })
    .await
}

/// `POST /api/v1/reviews/{id}/assets/{asset}/sign` (auditor): `{comment}`
/// optional.
async fn sign(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((id, asset)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    decide_route(state, headers, id, asset, body, false).await
}

/// `POST /api/v1/reviews/{id}/assets/{asset}/send-back` (auditor):
/// `{comment}` required.
async fn send_back(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((id, asset)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    decide_route(state, headers, id, asset, body, true).await
}

/// Closes a review for `user`; the digest. Shared with the console.
pub(crate) fn close_review(db: &Db, user: &str, id: i64) -> ApiResult<String> {
    let digest = db.close_review(id, user, Timestamp::now())?;
    crate::audit::record(
        db,
        user,
        "review.closed",
        &format!("review {id}"),
        &format!("report sha256 {digest}"),
    );
    Ok(digest)
}

/// `POST /api/v1/reviews/{id}/close` (admin): freezes it; every asset must
/// be signed off (or removed).
async fn close(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (id, _) = path_ids(&id, None)?;
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Admin,
            "closing a review needs the admin role",
        )?;
        let user = user_of(db, &headers)?;
        let digest = close_review(db, &user, id)?;
        let r = db.review(id)?.ok_or_else(|| review_not_found(id))?;
        Ok(Json(json!({ "review": r, "digest": digest })))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportQuery {
    format: Option<String>,
    lang: Option<String>,
}

/// `GET /api/v1/reviews/{id}/report?format=json|csv|xlsx|html&lang=en|ja`
/// (viewer): the frozen report, checked against its digest (409 when the
/// stored bytes were altered). JSON is the stored bytes themselves.
async fn report(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Response> {
    let (id, _) = path_ids(&id, None)?;
    let format = ReportFormat::parse(q.format.as_deref().unwrap_or("json"))?;
    let lang = match q.lang.as_deref() {
        Some(l) => {
            Lang::parse(l).ok_or_else(|| ApiError::bad(format!("lang {l:?}: expected en or ja")))?
        }
        None => Lang::of(&headers),
    };
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Viewer,
            "reading reviews needs a user token",
        )?;
        let verified = db.review_report(id)?;
        let body = crate::review_render::render(&verified, format, lang)?;
        let name = format!("kensa-review-{id}.{}", format.ext());
        Ok((
            [
                (header::CONTENT_TYPE, format.content_type().to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    if format == ReportFormat::Html {
                        "inline".to_owned()
                    } else {
                        format!("attachment; filename=\"{name}\"")
                    },
                ),
                (header::CACHE_CONTROL, "no-store".to_owned()),
                (
                    header::HeaderName::from_static("x-kensa-report-sha256"),
                    verified.digest.clone(),
                ),
            ],
            body,
        )
            .into_response())
    })
    .await
}

/// `DELETE /api/v1/assets/{id}` (admin): removes an asset, its findings
/// and agents. Open reviews keep it, marked removed.
pub(crate) async fn remove_asset(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad(format!("asset id {id:?}: expected a number")))?;
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Admin,
            "removing assets needs the admin role",
        )?;
        let user = user_of(db, &headers)?;
        if !db.remove_asset(AssetId(id), &user, Timestamp::now())? {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no asset {id}"),
            ));
        }
        crate::audit::record(db, &user, "asset.removed", &format!("asset {id}"), "");
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}
