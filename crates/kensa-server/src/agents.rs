//! What enrolled agents call: enrolment with a single-use token, and the
//! hash-first inventory upload ([`crate::ingest`] reads the body).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use axum::{Json, Router};
use kensa_inventory::Inventory;
use kensa_store::{AssetKind, AssetUpsert, CanonicalInventory, InventoryChange, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth;
use crate::kit::{ApiError, ApiResult, AppState, agent_asset, parse_json, principal, with_db};

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/agents/enroll", post(enroll))
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
}

async fn enroll(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let req: EnrollRequest = parse_json(&body, "enrollment request")?;
    with_db(&state, move |db| {
        let now = Timestamp::now();
        if !db.consume_enrollment_token(&auth::digest(&req.enrollment_token), now)? {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "enrollment token unknown, used or expired: ask an admin for a new one",
            ));
        }
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
        let name = hostname
            .clone()
            .unwrap_or_else(|| "unnamed host".to_owned());
        // A machine imported from a register, that nothing reported for
        // yet, becomes this agent's asset (its management items kept).
        let adopted = match &hostname {
            Some(h) => db.adopt_registered_asset(h, &machine_id, now)?,
            None => None,
        };
        let asset = match adopted {
            Some(a) => a,
            None => db.upsert_asset(&AssetUpsert {
                kind: AssetKind::Host,
                name,
                hostname,
                machine_id: Some(machine_id),
                image_id: None,
                os_id: None,
                os_release: None,
                seen_at: now,
            })?,
        };
        let agent = db.create_agent(asset, &digest, req.agent_version.as_deref(), now)?;
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
