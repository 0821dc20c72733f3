//! One asset's record and its management items, the asset register
//! import, and the coverage reason of an asset.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kensa_store::{Asset, AssetId, Db, ExposedPort, InternetExposure, ManagementPatch, Timestamp};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::auth::Role;
use crate::kit::{ApiError, ApiResult, AppState, authorize, parse_json, with_db};

pub(crate) fn routes() -> axum::Router<Arc<AppState>> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/v1/assets", get(crate::asset_list::list))
        .route("/api/v1/assets/export", get(crate::asset_list::export))
        .route("/api/v1/assets/import", post(import))
        .route(
            "/api/v1/assets/{id}",
            get(detail)
                .patch(patch)
                .delete(crate::reviews::remove_asset),
        )
        .route("/api/v1/coverage", get(coverage))
}

/// Today, `YYYY-MM-DD` (UTC): what end-of-life dates are compared with.
pub(crate) fn today() -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    now.get(..10).unwrap_or_default().to_owned()
}

/// What coverage compares each asset with.
pub(crate) struct CoverageContext {
    pub now_ms: i64,
    pub stale_ms: i64,
    pub today: String,
    /// Assets that have (or had) an agent.
    pub agents: HashSet<AssetId>,
    /// Assets scanned over SSH by the server.
    pub targets: std::collections::HashMap<AssetId, kensa_store::AgentlessTarget>,
}

impl CoverageContext {
    pub(crate) fn new(db: &Db, stale_ms: i64) -> ApiResult<CoverageContext> {
        Ok(CoverageContext {
            now_ms: Timestamp::now().unix_ms(),
            stale_ms,
            today: today(),
            agents: db.assets_with_agents()?,
            targets: db
                .agentless_targets()?
                .into_iter()
                .map(|t| (t.asset_id, t))
                .collect(),
        })
    }

    /// How `a` is scanned (`agent`, `agentless`, `none`), when it last was
    /// successfully, and why the last agentless scan failed.
    pub(crate) fn scan_of(&self, a: &Asset) -> Value {
        let target = self.targets.get(&a.id);
        let agent = self.agents.contains(&a.id);
        let method = crate::agentless::method_of(agent, target);
        json!({
            "method": method,
            "last_success_at": match target {
                Some(t) if !agent => t.last_success_at,
                _ => a.inventory_at,
            },
            "last_attempt_at": target.and_then(|t| t.last_attempt_at),
            "error": target.and_then(|t| t.last_error.clone()),
            "error_detail": target.and_then(|t| t.last_error_detail.clone()),
            "offered_fingerprint": target.and_then(|t| t.offered_fingerprint.clone()),
            "ssh": target.map(|t| &t.address),
        })
    }
}

/// An asset's coverage: `(status, reason)` in Amazon Inspector's
/// vocabulary where it has a word for it.
///
/// - `UNMANAGED`: known (from a register) but nothing reports for it: no
///   agent, no inventory.
/// - `PENDING_INITIAL_SCAN`: an agent, no evaluated inventory yet.
/// - `STALE_INVENTORY`: silent longer than the threshold.
/// - `UNSUPPORTED_OS`: the OS is not identified or Kensa does not know its
///   vendor's advisories.
/// - `OS_END_OF_LIFE`: the OS is past its vendor's regular support end.
///   The asset is still scanned (its packages are checked, and the end of
///   life is a finding of its own), so it stays ACTIVE; the reason is
///   reported and counted so that such hosts are not mistaken for healthy.
/// - `INVENTORY_FAILED`: the latest report could not read the OS package
///   database (missing, unreadable): the asset's findings are those of its
///   previous inventory, kept, not closed. Until a readable report comes,
///   or the failure itself is older than the stale threshold.
/// - `SUCCESSFUL`: covered.
/// - For an asset scanned over SSH whose last scan failed, the failure
///   (`AUTHENTICATION_FAILED`, `HOST_KEY_CHANGED`, `HOST_KEY_UNCONFIRMED`,
///   `UNREACHABLE`, `TIMED_OUT`, `UNSUPPORTED_OS`, `INVENTORY_FAILED`):
///   what a person must fix, before anything the older inventory says.
pub(crate) fn coverage_of(a: &Asset, cx: &CoverageContext) -> (&'static str, &'static str) {
    let supported = match (&a.os_id, &a.os_release) {
        (Some(id), Some(release)) => {
            kensa_detect::distro::Distro::of(&kensa_inventory::model::Os {
                id: id.clone(),
                release: release.clone(),
                ..Default::default()
            })
            .is_some()
        }
        _ => false,
    };
    let scan_failed = cx
        .targets
        .get(&a.id)
        .and_then(|t| t.last_error.as_deref())
        .map(|e| {
            crate::agentless::FAILURE_CODES
                .iter()
                .find(|c| **c == e)
                .copied()
                .unwrap_or("INVENTORY_FAILED")
        });
    let failed = a
        .inventory_failure
        .as_ref()
        .is_some_and(|f| cx.now_ms - f.at.unix_ms() <= cx.stale_ms);
    let reason = if let Some(code) = scan_failed {
        code
    } else if failed {
        "INVENTORY_FAILED"
    } else if a.inventory_hash.is_none()
        && !cx.agents.contains(&a.id)
        && !cx.targets.contains_key(&a.id)
    {
        "UNMANAGED"
    } else if a.inventory_hash.is_none() || a.evaluated_at.is_none() {
        "PENDING_INITIAL_SCAN"
    } else if a
        .inventory_at
        .is_none_or(|t| cx.now_ms - t.unix_ms() > cx.stale_ms)
    {
        "STALE_INVENTORY"
    } else if !supported {
        "UNSUPPORTED_OS"
    } else if a.eol.as_ref().is_some_and(|e| e.ended_by(&cx.today)) {
        "OS_END_OF_LIFE"
    } else {
        "SUCCESSFUL"
    };
    let status = match reason {
        "SUCCESSFUL" | "OS_END_OF_LIFE" => "ACTIVE",
        _ => "INACTIVE",
    };
    (status, reason)
}

/// An asset as the API shows it: its support dates as of today (the
/// record is computed at evaluation time, and a release's end can pass
/// between two evaluations).
pub(crate) fn asset_json(a: &Asset, today: &str) -> Value {
    let mut v = serde_json::to_value(a).unwrap_or(Value::Null);
    if let (Value::Object(o), Some(e)) = (&mut v, &a.eol) {
        o.insert("eol".into(), json!(e.as_of(today)));
    }
    v
}

fn detail_of(a: &Asset, cx: &CoverageContext) -> Value {
    let (status, reason) = coverage_of(a, cx);
    let mut v = asset_json(a, &cx.today);
    if let Value::Object(o) = &mut v {
        o.insert("agent".into(), json!(cx.agents.contains(&a.id)));
        let (effective, source) = a.effective_exposure();
        o.insert(
            "exposure".into(),
            json!({
                "internet": effective.unwrap_or_default(),
                "source": source,
                "ports": a.management.exposed_ports,
                "reachable": a.reachability.as_ref().map(|r| &r.reachable),
            }),
        );
        o.insert(
            "coverage".into(),
            json!({ "status": status, "reason": reason }),
        );
        o.insert("scan".into(), cx.scan_of(a));
        o.insert(
            "end_of_life".into(),
            json!(a.eol.as_ref().map(|e| e.ended_by(&cx.today))),
        );
    }
    v
}

fn asset_id(id: &str) -> ApiResult<AssetId> {
    id.parse()
        .map(AssetId)
        .map_err(|_| ApiError::bad(format!("asset id {id:?}: expected a number")))
}

fn not_found(id: AssetId) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("{id} not found"))
}

/// `GET /api/v1/assets/{id}`.
pub(crate) async fn detail(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = asset_id(&id)?;
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Viewer,
            "reading assets needs a user token",
        )?;
        let r = db.asset_row(id)?.ok_or_else(|| not_found(id))?;
        let cx = crate::asset_list::RowContext::new(db, std::slice::from_ref(&r))?;
        Ok(Json(crate::asset_list::row_json(&r, &cx)))
    })
    .await
}

/// A nullable text item of a PATCH body.
fn text_item(o: &Map<String, Value>, key: &str) -> ApiResult<Option<Option<String>>> {
    match o.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.trim().to_owned()))),
        Some(other) => Err(ApiError::bad(format!(
            "{key}: expected a string or null, found {other}"
        ))),
    }
}

fn port_item(v: &Value, i: usize) -> ApiResult<ExposedPort> {
    let bad = |m: &str| ApiError::bad(format!("exposed_ports[{i}]: {m}"));
    match v {
        Value::String(s) => {
            let (port, protocol) = s.split_once('/').unwrap_or((s, "tcp"));
            Ok(ExposedPort {
                port: port
                    .parse()
                    .map_err(|_| bad(&format!("{s:?}: expected PORT/PROTOCOL, as 443/tcp")))?,
                to_port: None,
                protocol: protocol.to_ascii_lowercase(),
                source: "api".into(),
            })
        }
        Value::Object(o) => {
            if let Some(k) = o
                .keys()
                .find(|k| !["port", "to_port", "protocol", "source"].contains(&k.as_str()))
            {
                return Err(bad(&format!(
                    "unknown field {k:?} (port, to_port, protocol, source)"
                )));
            }
            let port = |k: &str| -> ApiResult<Option<u16>> {
                match o.get(k) {
                    None | Some(Value::Null) => Ok(None),
                    Some(v) => v
                        .as_u64()
                        .and_then(|n| u16::try_from(n).ok())
                        .map(Some)
                        .ok_or_else(|| bad(&format!("{k}: a number from 0 to 65535"))),
                }
            };
            let text = |k: &str, default: &str| -> ApiResult<String> {
                match o.get(k) {
                    None | Some(Value::Null) => Ok(default.to_owned()),
                    Some(Value::String(s)) => Ok(s.clone()),
                    Some(_) => Err(bad(&format!("{k}: expected a string"))),
                }
            };
            Ok(ExposedPort {
                port: port("port")?.ok_or_else(|| bad("port: required"))?,
                to_port: port("to_port")?,
                protocol: text("protocol", "tcp")?.to_ascii_lowercase(),
                source: text("source", "api")?,
            })
        }
        _ => Err(bad(
            "expected \"443/tcp\" or {\"port\": 443, \"protocol\": \"tcp\"}",
        )),
    }
}

/// A PATCH body: the management items to change; absent ones stay, null
/// clears.
fn patch_of(body: &[u8]) -> ApiResult<ManagementPatch> {
    let v: Value = parse_json(body, "management items")?;
    let Value::Object(o) = v else {
        return Err(ApiError::bad(
            "management items: expected a JSON object such as {\"owner\": \"alice\"}",
        ));
    };
    const KEYS: &[&str] = &[
        "operation_start",
        "support_end",
        "owner",
        "team",
        "environment",
        "tags",
        "internet_exposure",
        "exposed_ports",
    ];
    if let Some(k) = o.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(ApiError::bad(format!(
            "unknown management item {k:?} (known: {})",
            KEYS.join(", ")
        )));
    }
    let mut p = ManagementPatch {
        operation_start: text_item(&o, "operation_start")?,
        support_end: text_item(&o, "support_end")?,
        owner: text_item(&o, "owner")?,
        team: text_item(&o, "team")?,
        environment: text_item(&o, "environment")?,
        ..ManagementPatch::default()
    };
    p.tags = match o.get("tags") {
        None => None,
        Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(|t| {
                    t.as_str()
                        .map(|s| s.trim().to_owned())
                        .ok_or_else(|| ApiError::bad(format!("tags: expected strings, found {t}")))
                })
                .collect::<ApiResult<Vec<_>>>()?,
        ),
        Some(other) => {
            return Err(ApiError::bad(format!(
                "tags: expected an array of strings, found {other}"
            )));
        }
    };
    p.internet_exposure = match o.get("internet_exposure") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(match s.as_str() {
            "yes" => InternetExposure::Yes,
            "no" => InternetExposure::No,
            "unknown" => InternetExposure::Unknown,
            _ => {
                return Err(ApiError::bad(format!(
                    "internet_exposure {s:?}: expected yes, no, unknown or null"
                )));
            }
        })),
        Some(other) => {
            return Err(ApiError::bad(format!(
                "internet_exposure: expected yes, no, unknown or null, found {other}"
            )));
        }
    };
    p.exposed_ports = match o.get("exposed_ports") {
        None => None,
        Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(a)) => Some(
            a.iter()
                .enumerate()
                .map(|(i, v)| port_item(v, i))
                .collect::<ApiResult<Vec<_>>>()?,
        ),
        Some(other) => {
            return Err(ApiError::bad(format!(
                "exposed_ports: expected an array, found {other}"
            )));
        }
    };
    p.validate().map_err(ApiError::bad)?;
    Ok(p)
}

/// `PATCH /api/v1/assets/{id}`: changes management items (admin).
pub(crate) async fn patch(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let id = asset_id(&id)?;
    with_db(&state, move |db| {
        // The role before the body: a viewer learns nothing from it.
        let p = authorize(
            db,
            &headers,
            Role::Admin,
            "changing management items needs the admin role",
        )?;
        let patch = patch_of(&body)?;
        let a = db.asset(id)?.ok_or_else(|| not_found(id))?;
        let m = patch.apply(&a.management);
        if let (Some(s), Some(e)) = (&m.operation_start, &m.support_end)
            && e < s
        {
            return Err(ApiError::bad(format!(
                "support_end {e} is before operation_start {s}"
            )));
        }
        if m != a.management {
            let now = Timestamp::now();
            db.set_management(id, &m, now)?;
            // An open review holding the asset records the change: the
            // auditor signs what the owner confirmed, not a moving target.
            db.note_management_change(id, &a.management, &m, &crate::tokens::actor(&p), now)?;
        }
        let a = db.asset(id)?.ok_or_else(|| not_found(id))?;
        let cx = CoverageContext::new(db, 24 * 3_600_000)?;
        Ok(Json(detail_of(&a, &cx)))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImportQuery {
    format: Option<String>,
}

/// `POST /api/v1/assets/import?format=csv|ec2` (admin): the body is the
/// register. All of it applies or none: any error answers 400 with every
/// problem located and stores nothing.
pub(crate) async fn import(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<ImportQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    let format = q.format.unwrap_or_default();
    if !matches!(format.as_str(), "csv" | "ec2") {
        return Err(ApiError::bad(format!(
            "format {format:?}: expected format=csv or format=ec2"
        )));
    }
    let wake = Arc::clone(&state.wake);
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Admin,
            "importing assets needs the admin role",
        )?;
        let parsed = match format.as_str() {
            "csv" => crate::register::parse_csv(&body),
            _ => crate::register::parse_ec2(&body),
        };
        let parsed = match parsed {
            Ok(p) => p,
            Err(errors) => return Ok(rejected(&format, &errors)),
        };
        let counts = match db.import_register(&parsed.records, Timestamp::now())? {
            Ok(c) => c,
            Err(errors) => {
                let errors: Vec<crate::register::InputError> = errors
                    .into_iter()
                    .map(|e| crate::register::InputError {
                        line: (format == "csv").then_some(e.line),
                        column: (format == "ec2")
                            .then(|| parsed.locations.get(&e.line).cloned())
                            .flatten(),
                        message: e.message,
                    })
                    .collect();
                return Ok(rejected(&format, &errors));
            }
        };
        // Assets nothing reports for get their OS's end of life from the
        // register's os/os_release (crate::unmanaged); one that has an
        // inventory is skipped by the job.
        crate::unmanaged::queue(db, counts.assets.iter().map(|(_, id, _)| *id))?;
        // New or renamed assets may be named by the network data.
        if db.has_network_documents()? {
            db.enqueue(
                crate::network::REACHABILITY_JOB,
                &json!({}),
                Some(crate::network::REACHABILITY_JOB),
            )?;
        }
        wake.notify();
        let assets: Vec<Value> = counts
            .assets
            .iter()
            .map(|(line, id, action)| {
                json!({
                    "at": parsed.locations.get(line),
                    "asset_id": id.0,
                    "action": action,
                })
            })
            .collect();
        Ok((
            StatusCode::OK,
            Json(json!({
                "created": counts.created,
                "updated": counts.updated,
                "unchanged": counts.unchanged,
                "assets": assets,
                "skipped": parsed.skipped,
            })),
        )
            .into_response())
    })
    .await
}

fn rejected(format: &str, errors: &[crate::register::InputError]) -> Response {
    let first = errors.first().map(ToString::to_string).unwrap_or_default();
    let more = match errors.len() {
        0 | 1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "error": format!("{format} register: {first}{more}; nothing was imported"),
            "errors": errors,
        })),
    )
        .into_response()
}

/// Internet-reachable first, then unknown, then internal.
pub(crate) fn exposure_rank(e: Option<&str>) -> u8 {
    match e {
        Some("yes") => 0,
        Some("no") => 2,
        _ => 1,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CoverageQuery {
    /// An asset silent longer than this is STALE_INVENTORY (default 24).
    stale_hours: Option<u32>,
}

/// Whether each asset is covered, in Amazon Inspector's vocabulary
/// ([`coverage_of`] says how each reason is decided), with
/// counts per reason, the inactive ones first.
async fn coverage(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<CoverageQuery>,
) -> ApiResult<Json<Value>> {
    let stale_ms = i64::from(q.stale_hours.unwrap_or(24)) * 3_600_000;
    with_db(&state, move |db| {
        authorize(db, &headers, Role::Viewer, "coverage needs a user token")?;
        let cx = CoverageContext::new(db, stale_ms)?;
        let mut rows = Vec::new();
        let mut counts = std::collections::BTreeMap::<&str, usize>::new();
        for a in db.assets()? {
            let (status, reason) = coverage_of(&a, &cx);
            *counts.entry(reason).or_default() += 1;
            let (exposure, exposure_source) = a.effective_exposure();
            rows.push(json!({
                "exposure": exposure.unwrap_or_default(),
                "exposure_source": exposure_source,
                "asset_id": a.id.0,
                "name": a.name,
                "os": a.os_id,
                "os_release": a.os_release,
                "status": status,
                "reason": reason,
                "source": a.source,
                "agent": cx.agents.contains(&a.id),
                "eol": a.eol.as_ref().map(|e| e.as_of(&cx.today)),
                "inventory_at": a.inventory_at,
                "inventory_failure": a.inventory_failure,
                "evaluated_at": a.evaluated_at,
                "scan": cx.scan_of(&a),
            }));
        }
        // Where to install next first: the assets nothing checks, the
        // internet-reachable ones before the unknown and the internal.
        rows.sort_by_key(|r| {
            (
                r["status"] == "ACTIVE",
                exposure_rank(r["exposure"].as_str()),
                r["asset_id"].as_i64(),
            )
        });
        Ok(Json(json!({ "assets": rows, "counts": counts })))
    })
    .await
}
