//! What enrolled agents call: enrolment with an enrolment token, and the
//! hash-first inventory upload ([`crate::ingest`] reads the body); and the
//! admins' list and revocation of agent credentials.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use kensa_inventory::Inventory;
use kensa_store::{
    AssetId, AssetKind, AssetUpsert, CanonicalInventory, InventoryChange, Timestamp, TokenCheck,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{self, Role};
use crate::kit::{
    ApiError, ApiResult, AppState, agent_asset, parse_json, principal, require, with_db,
};

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/agents/enroll", post(enroll))
        .route("/api/v1/agents", get(list_agents))
        .route("/api/v1/agents/{id}", axum::routing::delete(revoke_agent))
        .route("/api/v1/agent/self", get(agent_self))
        .route(
            "/api/v1/agent/inventory/{hash}",
            axum::routing::head(inventory_known).put(put_inventory),
        )
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
                    tracing::warn!(
                        target: "audit",
                        "enrolment refused: {asset} (machine id {machine_id}) has a live agent ({}); hostname {:?}",
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
        tracing::info!(
            target: "audit",
            "agent {agent} enrolled for {asset} (machine id {machine_id}){}",
            match replaced {
                Some(old) => format!(", replacing agent {old} (revoked)"),
                None => String::new(),
            }
        );
        crate::audit::record(
            db,
            &format!("agent {agent}"),
            "agent.enrolled",
            &asset.to_string(),
            &format!(
                "machine id {machine_id}{}",
                replaced.map_or_else(String::new, |old| format!(", replacing agent {old}"))
            ),
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
        if !revoke(db, &crate::tokens::actor(&p), id)? {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("agent {id}: no such live agent"),
            ));
        }
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// Refuses an inventory over the per-inventory limits (413, naming the
/// limit) or one that is not JSON (400), before anything is parsed into
/// packages or stored.
pub(crate) fn check_bounds(json: &[u8], limits: &crate::kit::Limits) -> ApiResult<()> {
    let bounds = crate::ingest::Bounds {
        packages: limits.packages,
        entries: limits.entries,
        string: limits.string,
    };
    match crate::ingest::check_bounds(json, bounds) {
        Ok(()) => Ok(()),
        Err(crate::ingest::BoundsError::Limit(m)) => {
            Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, m))
        }
        Err(crate::ingest::BoundsError::Json(e)) => Err(ApiError::bad(format!(
            "inventory: {e} (line {}, column {})",
            e.line(),
            e.column()
        ))),
    }
}

/// Revokes agent `id` for an admin already authorised by the caller (API
/// or console) and records it; `false` when it is unknown or revoked
/// already.
pub(crate) fn revoke(db: &kensa_store::Db, actor: &str, id: i64) -> ApiResult<bool> {
    let done = db.revoke_agent(id, Timestamp::now())?;
    if done {
        crate::audit::record(db, actor, "agent.revoked", &format!("agent {id}"), "");
    }
    Ok(done)
}

/// `GET /api/v1/agent/self` (agent): which agent and asset this
/// credential is, so that an agent (and `install.sh` through `kensa agent
/// status`) can tell a live enrolment from a revoked one without reporting
/// anything: a revoked or unknown token gets the `401` of every agent
/// call, a user's token a `403`.
async fn agent_self(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| match principal(db, &headers)? {
        auth::Principal::Agent { agent_id, asset_id } => Ok(Json(json!({
            "agent_id": agent_id.to_string(),
            "asset_id": asset_id.to_string(),
        }))),
        auth::Principal::User { .. } => Err(ApiError::forbidden(
            "only an enrolled agent asks who it is (GET /api/v1/agent/self)",
        )),
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
    body: axum::body::Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let limits = state.limits;
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let wake = Arc::clone(&state.wake);
    // Authenticate before reading a byte of the body.
    let asset = with_db(&state, move |db| agent_asset(&principal(db, &headers)?)).await?;
    // Then wait for an ingest slot: the body, inflated, is held only by
    // the few uploads decoded at once, however many agents report at once.
    let _slot = crate::kit::ingest_slot(&state).await?;
    let body = axum::body::to_bytes(body, limits.body).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "request body larger than {} bytes (or cut short)",
                limits.body
            ),
        )
    })?;
    // Inflate, bound and parse before taking a database connection: the
    // walk of a large document takes long enough that holding a pool slot
    // for it starved other requests (issue 13), and a refused document
    // needs no connection at all.
    let upload = tokio::task::spawn_blocking(move || decode_upload(body, gzip, &hash, &limits))
        .await
        .map_err(|e| ApiError::from(crate::error::ServerError::Internal(e.to_string())))??;
    let queued = with_db(&state, move |db| {
        let now = Timestamp::now();
        let change = match &upload {
            Upload::Canonical {
                json,
                zlib,
                digest,
                head,
            } => {
                let head_inv = head.to_inventory();
                db.ingest_inventory(
                    asset,
                    &AssetUpsert::from_inventory(&head_inv, now),
                    &head_inv,
                    CanonicalInventory {
                        content: json,
                        hash: digest,
                        schema_version: head.schema_version,
                        package_count: head.packages.0,
                        zlib: zlib.as_deref(),
                    },
                    Some(crate::worker::EVALUATE),
                )?
            }
            Upload::Parsed { inv, bytes, hash } => db.ingest_inventory(
                asset,
                &AssetUpsert::from_inventory(inv, now),
                inv,
                CanonicalInventory {
                    content: bytes,
                    hash,
                    schema_version: inv.schema_version,
                    package_count: inv.packages.len(),
                    zlib: None,
                },
                Some(crate::worker::EVALUATE),
            )?,
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

/// An agent's upload, inflated, within the limits and parsed: ready to be
/// stored.
enum Upload {
    /// The body is the document's canonical bytes (what agents send), so
    /// its own hash is the content hash; only the asset's facts are read
    /// from it, and it is stored as it came.
    Canonical {
        json: Vec<u8>,
        zlib: Option<Vec<u8>>,
        digest: String,
        head: Box<crate::ingest::Head>,
    },
    /// Any other spelling of the document: parsed whole and stored in its
    /// canonical form.
    Parsed {
        inv: Box<Inventory>,
        bytes: Vec<u8>,
        hash: String,
    },
}

/// Everything `PUT /agent/inventory` checks of a body before it needs the
/// database: size inflated, the per-inventory limits, JSON, the schema
/// version, and the content hash the URL names.
fn decode_upload(
    body: axum::body::Bytes,
    gzip: bool,
    hash: &str,
    limits: &crate::kit::Limits,
) -> ApiResult<Upload> {
    let limit = limits.inventory;
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
    drop(body);
    if json.len() as u64 > limit {
        return Err(too_large());
    }
    check_bounds(&json, limits)?;
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
    let digest = kensa_inventory::model::content_hash_of(&json);
    if digest == hash {
        let head: crate::ingest::Head = parse_json(&json, "inventory")?;
        if head.is_canonical() {
            check_schema(head.schema_version)?;
            return Ok(Upload::Canonical {
                json,
                zlib,
                digest,
                head: Box::new(head),
            });
        }
    }
    let inv: Inventory = parse_json(&json, "inventory")?;
    check_schema(inv.schema_version)?;
    let bytes = inv.content_bytes();
    let actual = kensa_inventory::model::content_hash_of(&bytes);
    if actual != hash {
        return Err(ApiError::bad(format!(
            "content hash is {actual}, not {hash} as the URL says"
        )));
    }
    Ok(Upload::Parsed {
        inv: Box::new(inv),
        bytes,
        hash: actual,
    })
}
