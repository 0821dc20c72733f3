//! The HTTP API (`/api/v1`), JSON in and out. Every route but enrolment,
//! login and the health check authenticates the caller and checks its
//! role here, on the server: the console's hiding of a control is a
//! convenience, this is the rule.
//!
//! Database work is synchronous (`kensa-store`): handlers run it on the
//! blocking pool with a pooled connection, never on the async workers.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kensa_inventory::Inventory;
use kensa_store::{
    AssetId, AssetKind, AssetUpsert, CanonicalInventory, Db, InventoryChange, Timestamp, TokenCheck,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{self, Principal, Role};
use crate::findings;
use crate::pool::Pool;

/// What every handler shares.
pub struct AppState {
    pub pool: Arc<Pool>,
    pub limits: Limits,
    /// Wakes the evaluation workers when a job is queued.
    pub wake: Arc<crate::worker::Wake>,
    pub login_throttle: Arc<crate::session::LoginThrottle>,
    /// The server's CA certificate (PEM), which the console hands to agents.
    pub ca_cert: std::path::PathBuf,
    pub exports: Arc<crate::export::Exports>,
}

/// Request size limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The largest request body accepted (compressed, as sent).
    pub body: usize,
    /// The largest inventory document accepted once decompressed.
    pub inventory: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            body: 16 << 20,
            inventory: 64 << 20,
        }
    }
}

/// An error as the API answers it: a status and `{"error": message}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
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

impl From<crate::error::ServerError> for ApiError {
    fn from(e: crate::error::ServerError) -> ApiError {
        // The detail goes to the log; the client learns only that it was
        // the server's fault (it may name files or the database).
        eprintln!("kensa server: {e}");
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
            kensa_store::StoreError::NotFound { what } => {
                ApiError::new(StatusCode::NOT_FOUND, format!("no {what}"))
            }
            e => ApiError::from(crate::error::ServerError::from(e)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// Run `f` with a pooled connection on the blocking pool.
pub(crate) async fn with_db<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(&Db) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let pool = Arc::clone(&state.pool);
    tokio::task::spawn_blocking(move || {
        let db = pool.get()?;
        f(&db)
    })
    .await
    .map_err(|e| ApiError::from(crate::error::ServerError::Internal(e.to_string())))?
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
    match db.api_token(&digest, Timestamp::now())? {
        Some((name, role)) => Ok(Principal::User {
            name,
            role: Role::parse(&role).ok_or_else(ApiError::unauthorized)?,
        }),
        None => Err(ApiError::unauthorized()),
    }
}

pub(crate) fn require(p: &Principal, role: Role, what: &str) -> ApiResult<()> {
    match p {
        Principal::User { role: r, .. } if *r >= role => Ok(()),
        _ => Err(ApiError::forbidden(what)),
    }
}

fn agent_asset(p: &Principal) -> ApiResult<AssetId> {
    match p {
        Principal::Agent { asset_id, .. } => Ok(AssetId(*asset_id)),
        Principal::User { .. } => Err(ApiError::forbidden(
            "only an enrolled agent reports inventories",
        )),
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.limits.body;
    let csrf = axum::middleware::from_fn_with_state(Arc::clone(&state), crate::session::csrf);
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/v1/openapi.json", get(openapi))
        .route(
            "/api/v1/enrollment-tokens",
            get(list_enrollment_tokens).post(create_enrollment_token),
        )
        .route(
            "/api/v1/enrollment-tokens/{id}",
            axum::routing::delete(revoke_enrollment_token),
        )
        .route("/api/v1/api-tokens", post(create_api_token))
        .route("/api/v1/agents/enroll", post(enroll))
        .route("/api/v1/agents", get(list_agents))
        .route("/api/v1/agents/{id}", axum::routing::delete(revoke_agent))
        .route(
            "/api/v1/agent/inventory/{hash}",
            axum::routing::head(inventory_known).put(put_inventory),
        )
        .route("/api/v1/assets", get(list_assets))
        .route("/api/v1/assets/import", post(crate::assets::import))
        .route(
            "/api/v1/assets/{id}",
            get(crate::assets::detail).patch(crate::assets::patch),
        )
        .route("/api/v1/findings", get(findings::list))
        .route("/api/v1/findings/aggregate", get(findings::aggregate))
        .route("/api/v1/findings/export", get(crate::export::stream))
        .route(
            "/api/v1/exports",
            get(crate::export::list).post(crate::export::create),
        )
        .route("/api/v1/exports/{id}", get(crate::export::status))
        .route(
            "/api/v1/exports/{id}/download",
            get(crate::export::download),
        )
        .route("/api/v1/findings/triage", post(findings::triage_bulk))
        .route("/api/v1/findings/{id}", get(findings::detail))
        .route("/api/v1/findings/{id}/triage", post(findings::triage))
        .route("/api/v1/triage-rules", get(findings::triage_rules))
        .route(
            "/api/v1/triage-rules/{id}",
            axum::routing::delete(findings::revoke_triage_rule),
        )
        .route(
            "/api/v1/suppression-rules",
            get(findings::suppression_rules).post(findings::create_suppression_rule),
        )
        .route(
            "/api/v1/suppression-rules/{id}",
            axum::routing::delete(findings::delete_suppression_rule),
        )
        .route(
            "/api/v1/settings/sla",
            get(findings::sla).put(findings::set_sla),
        )
        .route("/api/v1/coverage", get(coverage))
        .merge(crate::session::routes())
        .merge(crate::console::routes())
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
        // Outermost, so that it covers every route, whatever order they
        // are added in.
        .layer(csrf)
}

async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
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
            eprintln!("kensa server: audit: enrollment token {id} revoked by {name}");
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
    let role = Role::parse(&req.role).ok_or_else(|| {
        ApiError::bad(format!(
            "role {:?}: expected viewer, analyst or admin",
            req.role
        ))
    })?;
    if req.name.trim().is_empty() || req.name.len() > 200 {
        return Err(ApiError::bad("name: 1 to 200 characters"));
    }
    with_db(&state, move |db| {
        let p = principal(db, &headers)?;
        require(&p, Role::Admin, "creating API tokens needs the admin role")?;
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrollRequest {
    enrollment_token: String,
    hostname: Option<String>,
    machine_id: Option<String>,
    agent_version: Option<String>,
    /// The agent token this host held before (its `agent.json`), which
    /// proves that a re-enrolment comes from the agent already reporting
    /// for the asset.
    previous_token: Option<String>,
}

/// `POST /api/v1/agents/enroll`.
///
/// An enrolment never hands over an asset that a live agent reports for
/// (issue 13): a host enrolling with the machine id of such an asset is
/// refused (`409`, nothing used or written) unless it proves to be that
/// agent (`previous_token`: then the old credential is revoked and the new
/// one takes its place). An asset without a live agent (registered, or
/// its agent revoked by an admin) is adopted. Either way the asset keeps
/// its facts, coverage and findings: enrolment only binds a credential,
/// the next inventory updates the facts. Every outcome is logged.
async fn enroll(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let req: EnrollRequest = parse_json(&body, "enrollment request")?;
    with_db(&state, move |db| {
        let now = Timestamp::now();
        let token_digest = auth::digest(&req.enrollment_token);
        let refused = |why: &str| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                format!("enrollment token {why}: ask an admin for a new one"),
            )
        };
        let token_info = match db.check_enrollment_token(&token_digest, now)? {
            TokenCheck::Live(info) => info,
            TokenCheck::Unknown => return Err(refused("unknown")),
            TokenCheck::Expired => return Err(refused("expired")),
            TokenCheck::Exhausted => return Err(refused("used up (its maximum number of uses reached)")),
            TokenCheck::Revoked => return Err(refused("revoked")),
        };
        let non_empty = |s: &Option<String>| s.clone().filter(|v| !v.trim().is_empty());
        let hostname = non_empty(&req.hostname);
        let token = auth::new_token("kat_")?;
        let digest = auth::digest(&token);
        // A host is the same asset when it enrols again with the same
        // machine id. One that reports none (a root without
        // /etc/machine-id) gets an identity of its own from this
        // enrolment, so that two such agents never share an asset.
        let machine_id =
            non_empty(&req.machine_id).unwrap_or_else(|| format!("enrolment:{}", &digest[..16]));
        let known = db.host_by_machine_id(&machine_id)?;
        let mut replaced = None;
        if let Some((asset, live)) = &known
            && !live.is_empty()
        {
            let proof = req.previous_token.as_deref().map(auth::digest);
            match live.iter().find(|(_, d)| Some(d) == proof.as_ref()) {
                Some((id, _)) => replaced = Some(*id),
                None => {
                    eprintln!(
                        "kensa server: audit: enrolment refused: {asset} (machine id {machine_id}) has a live agent ({}); hostname {:?}",
                        live.iter().map(|(id, _)| format!("agent {id}")).collect::<Vec<_>>().join(", "),
                        hostname.as_deref().unwrap_or("")
                    );
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        format!(
                            "{asset} already has an agent reporting for machine id {machine_id}; \
                             re-enrol from that agent's state directory, or have an admin revoke \
                             its agent (DELETE /api/v1/agents/{{id}}) first"
                        ),
                    ));
                }
            }
        }
        if !db.consume_enrollment_token(&token_digest, now)? {
            // Used up, revoked or expired since the check above.
            return Err(refused("no longer valid"));
        }
        let asset = match known {
            // Known host: keep its facts (the next inventory updates them).
            Some((asset, _)) => asset,
            None => {
                // A machine imported from a register, that nothing
                // reported for yet, becomes this agent's asset (its
                // management items kept).
                let adopted = match &hostname {
                    Some(h) => db.adopt_registered_asset(h, &machine_id, now)?,
                    None => None,
                };
                match adopted {
                    Some(a) => a,
                    None => db.upsert_asset(&AssetUpsert {
                        kind: AssetKind::Host,
                        name: hostname
                            .clone()
                            .unwrap_or_else(|| "unnamed host".to_owned()),
                        hostname: hostname.clone(),
                        machine_id: Some(machine_id.clone()),
                        image_id: None,
                        os_id: None,
                        os_release: None,
                        seen_at: now,
                    })?,
                }
            }
        };
        apply_defaults(db, asset, &token_info.defaults, now)?;
        let agent = db.create_agent_with_token(
            asset,
            &digest,
            req.agent_version.as_deref(),
            Some(token_info.id.as_str()),
            now,
        )?;
        if let Some(old) = replaced {
            db.revoke_agent(old, now)?;
        }
        eprintln!(
            "kensa server: audit: agent {agent} enrolled for {asset} (machine id {machine_id}){}",
            match replaced {
                Some(old) => format!(", replacing agent {old} (revoked)"),
                None => String::new(),
            }
        );
        Ok((
            StatusCode::CREATED,
            Json(json!({
                "agent_id": agent.to_string(),
                "asset_id": asset.0.to_string(),
                "token": token
            })),
        ))
    })
    .await
}

/// The enrolment token's defaults on an enrolled asset: each item the
/// asset has no value for (a register's or a person's value wins), and its
/// tags added.
fn apply_defaults(
    db: &kensa_store::Db,
    asset: AssetId,
    d: &kensa_store::EnrollmentDefaults,
    now: Timestamp,
) -> ApiResult<()> {
    if *d == kensa_store::EnrollmentDefaults::default() {
        return Ok(());
    }
    let Some(a) = db.asset(asset)? else {
        return Ok(());
    };
    let mut m = a.management.clone();
    for (item, default) in [
        (&mut m.owner, &d.owner),
        (&mut m.team, &d.team),
        (&mut m.environment, &d.environment),
    ] {
        if item.is_none() {
            item.clone_from(default);
        }
    }
    for t in &d.tags {
        if !m.tags.contains(t) {
            m.tags.push(t.clone());
        }
    }
    if m != a.management {
        db.set_management(asset, &m, now)?;
    }
    Ok(())
}

/// `GET /api/v1/agents` (admin): every agent credential, live or revoked,
/// with its asset and that asset's last report.
async fn list_agents(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        let p = principal(db, &headers)?;
        require(&p, Role::Admin, "listing agents needs the admin role")?;
        Ok(Json(json!({ "agents": db.agents()? })))
    })
    .await
}

/// `DELETE /api/v1/agents/{id}` (admin): the agent's token stops working
/// at once, and its asset no longer counts as having an agent.
async fn revoke_agent(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad(format!("agent id {id:?}: expected a number")))?;
    with_db(&state, move |db| {
        let p = principal(db, &headers)?;
        require(&p, Role::Admin, "revoking agents needs the admin role")?;
        if !db.revoke_agent(id, Timestamp::now())? {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("agent {id}: no such live agent"),
            ));
        }
        let who = match &p {
            Principal::User { name, .. } => name.clone(),
            Principal::Agent { .. } => String::new(),
        };
        eprintln!("kensa server: audit: agent {id} revoked by {who}");
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

async fn inventory_known(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> ApiResult<StatusCode> {
    with_db(&state, move |db| {
        let p = principal(db, &headers)?;
        let asset = agent_asset(&p)?;
        let known = db
            .asset(asset)?
            .and_then(|a| a.inventory_hash)
            .is_some_and(|h| h == hash);
        if known {
            db.touch_inventory(asset, Timestamp::now())?;
            Ok(StatusCode::NO_CONTENT)
        } else {
            Ok(StatusCode::NOT_FOUND)
        }
    })
    .await
}

async fn put_inventory(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(hash): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let limit = state.limits.inventory;
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let wake = Arc::clone(&state.wake);
    let queued = with_db(&state, move |db| {
        // Authenticate before reading a byte of the body.
        let p = principal(db, &headers)?;
        let asset = agent_asset(&p)?;
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("inventory larger than {limit} bytes uncompressed"),
            )
        };
        let (json, zlib) = if gzip {
            match crate::ingest::gunzip(&body, limit) {
                Ok(g) => (g.content, Some(g.zlib)),
                Err(crate::ingest::GunzipError::TooLarge) => return Err(too_large()),
                Err(crate::ingest::GunzipError::Invalid(e)) => {
                    return Err(ApiError::bad(format!("body is not valid gzip: {e}")));
                }
            }
        } else {
            (body.to_vec(), None)
        };
        if json.len() as u64 > limit {
            return Err(too_large());
        }
        let check_schema = |v: u32| {
            if v == kensa_inventory::model::SCHEMA_VERSION {
                Ok(())
            } else {
                Err(ApiError::bad(format!(
                    "inventory schema {v} is not this server's {}",
                    kensa_inventory::model::SCHEMA_VERSION
                )))
            }
        };
        let now = Timestamp::now();
        let digest = kensa_inventory::model::content_hash_of(&json);
        // The fast path: the body is the document's canonical bytes (what
        // agents send), so its own hash is the content hash; only the
        // asset's facts are read from it, and it is stored as it came.
        let head = if digest == hash {
            let head: crate::ingest::Head = parse_json(&json, "inventory")?;
            head.is_canonical().then_some(head)
        } else {
            None
        };
        let change = match head {
            Some(head) => {
                check_schema(head.schema_version)?;
                let head_inv = head.to_inventory();
                db.ingest_inventory(
                    asset,
                    &AssetUpsert::from_inventory(&head_inv, now),
                    &head_inv,
                    CanonicalInventory {
                        content: &json,
                        hash: &digest,
                        schema_version: head.schema_version,
                        package_count: head.packages.0,
                        zlib: zlib.as_deref(),
                    },
                    Some(crate::worker::EVALUATE),
                )?
            }
            None => {
                let inv: Inventory = parse_json(&json, "inventory")?;
                check_schema(inv.schema_version)?;
                let bytes = inv.content_bytes();
                let actual = kensa_inventory::model::content_hash_of(&bytes);
                if actual != hash {
                    return Err(ApiError::bad(format!(
                        "content hash is {actual}, not {hash} as the URL says"
                    )));
                }
                db.ingest_inventory(
                    asset,
                    &AssetUpsert::from_inventory(&inv, now),
                    &inv,
                    CanonicalInventory {
                        content: &bytes,
                        hash: &actual,
                        schema_version: inv.schema_version,
                        package_count: inv.packages.len(),
                        zlib: None,
                    },
                    Some(crate::worker::EVALUATE),
                )?
            }
        };
        // The facts, the inventory and its evaluation job commit together:
        // a crash between two commits would leave the new inventory as the
        // asset's latest (so the agent's retry is answered "already have
        // it") with nothing queued to evaluate it.
        Ok(matches!(change, InventoryChange::Changed { .. }))
    })
    .await?;
    if queued {
        wake.notify();
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "evaluation_queued": queued })),
    ))
}

async fn list_assets(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        let p = principal(db, &headers)?;
        require(&p, Role::Viewer, "listing assets needs a user token")?;
        Ok(Json(json!({ "assets": db.assets()? })))
    })
    .await
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CoverageQuery {
    /// An asset silent longer than this is STALE_INVENTORY (default 24).
    stale_hours: Option<u32>,
}

/// Whether each asset is covered, in Amazon Inspector's vocabulary
/// ([`crate::assets::coverage_of`] says how each reason is decided), with
/// counts per reason, the inactive ones first.
async fn coverage(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<CoverageQuery>,
) -> ApiResult<Json<Value>> {
    let stale_ms = i64::from(q.stale_hours.unwrap_or(24)) * 3_600_000;
    with_db(&state, move |db| {
        let p = principal(db, &headers)?;
        require(&p, Role::Viewer, "coverage needs a user token")?;
        let cx = crate::assets::CoverageContext::new(db, stale_ms)?;
        let mut rows = Vec::new();
        let mut counts = std::collections::BTreeMap::<&str, usize>::new();
        for a in db.assets()? {
            let (status, reason) = crate::assets::coverage_of(&a, &cx);
            *counts.entry(reason).or_default() += 1;
            rows.push(json!({
                "asset_id": a.id.0,
                "name": a.name,
                "os": a.os_id,
                "os_release": a.os_release,
                "status": status,
                "reason": reason,
                "source": a.source,
                "agent": cx.agents.contains(&a.id),
                "eol": a.eol,
                "inventory_at": a.inventory_at,
                "evaluated_at": a.evaluated_at,
            }));
        }
        rows.sort_by_key(|r| (r["status"] == "ACTIVE", r["asset_id"].as_i64()));
        Ok(Json(json!({ "assets": rows, "counts": counts })))
    })
    .await
}
