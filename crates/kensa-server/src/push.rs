//! Inventories pushed by people rather than agents: `kensa inventory push`
//! for hosts no network path reaches (the document collected on the host
//! with the portable binary, carried over). The document goes through the
//! same ingest as an agent's report: the same checks, the same content
//! hash, one evaluation job committed with it.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use kensa_inventory::Inventory;
use kensa_store::{AssetId, AssetUpsert, CanonicalInventory, Db, InventoryChange, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Role;
use crate::kit::{ApiError, ApiResult, AppState, parse_json, principal, require, with_db};

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/v1/inventories", post(push))
}

#[derive(Deserialize)]
pub(crate) struct PushQuery {
    /// The asset's name (case-insensitive); created when no asset has it.
    asset: String,
}

/// Store `inv` as `asset`'s latest inventory and queue its evaluation when
/// it changed: what an agent report does, for a document parsed here.
pub(crate) fn ingest_document(
    db: &Db,
    asset: AssetId,
    inv: &Inventory,
    facts: &AssetUpsert,
) -> ApiResult<bool> {
    if inv.schema_version != kensa_inventory::model::SCHEMA_VERSION {
        return Err(ApiError::bad(format!(
            "inventory schema {} is not this server's {}",
            inv.schema_version,
            kensa_inventory::model::SCHEMA_VERSION
        )));
    }
    let bytes = inv.content_bytes();
    let hash = kensa_inventory::model::content_hash_of(&bytes);
    let change = db.ingest_inventory(
        asset,
        facts,
        inv,
        CanonicalInventory {
            content: &bytes,
            hash: &hash,
            schema_version: inv.schema_version,
            package_count: inv.packages.len(),
            zlib: None,
        },
        Some(crate::worker::EVALUATE),
    )?;
    Ok(matches!(change, InventoryChange::Changed { .. }))
}

async fn push(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<PushQuery>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let limits = state.limits;
    let limit = limits.inventory;
    let wake = Arc::clone(&state.wake);
    let _slot = crate::kit::ingest_slot(&state).await?;
    let (asset, queued) = with_db(&state, move |db| {
        let p = principal(db, &headers)?;
        require(
            &p,
            Role::Analyst,
            "pushing an inventory needs the analyst or admin role",
        )?;
        let name = q.asset.trim();
        if name.is_empty() {
            return Err(ApiError::bad("asset: a name is required"));
        }
        if body.len() as u64 > limit {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("inventory larger than {limit} bytes"),
            ));
        }
        crate::agents::check_bounds(&body, &limits)?;
        let inv: Inventory = parse_json(&body, "inventory")?;
        let now = Timestamp::now();
        let mut facts = AssetUpsert::from_inventory(&inv, now);
        facts.name = name.to_owned();
        let existing = db
            .assets()?
            .into_iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .map(|a| a.id);
        let asset = match existing {
            Some(id) => id,
            None => db.upsert_asset(&facts)?,
        };
        let queued = ingest_document(db, asset, &inv, &facts)?;
        Ok((asset, queued))
    })
    .await?;
    if queued {
        wake.notify();
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "asset_id": asset.0.to_string(), "evaluation_queued": queued })),
    ))
}
