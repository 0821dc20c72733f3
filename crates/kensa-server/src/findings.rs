//! The findings API: filtered, sorted, keyset-paged lists; aggregations;
//! a finding's detail with its history; triage (one finding, in bulk over
//! a filter, or as a rule for the same vulnerability and package on every
//! asset); suppression rules; the SLA policy.
//!
//! Reading needs the viewer role, triage and suppression the analyst role,
//! the SLA policy the admin role. The filter language is
//! `kensa_store::filter`'s, the same everywhere.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use kensa_store::{
    Filter, FindingId, FindingQuery, GroupBy, SlaPolicy, Sort, Timestamp, TriageChange,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::kit::{ApiError, ApiResult, AppState, authorize, parse_json, with_db};

pub(crate) fn routes() -> axum::Router<Arc<AppState>> {
    use axum::routing::{delete, get, post};
    axum::Router::new()
        .route("/api/v1/findings", get(list))
        .route("/api/v1/findings/aggregate", get(aggregate))
        .route("/api/v1/findings/triage", post(triage_bulk))
        .route("/api/v1/findings/{id}", get(detail))
        .route("/api/v1/findings/{id}/triage", post(triage))
        .route("/api/v1/triage-rules", get(triage_rules))
        .route("/api/v1/triage-rules/{id}", delete(revoke_triage_rule))
        .route(
            "/api/v1/suppression-rules",
            get(suppression_rules).post(create_suppression_rule),
        )
        .route(
            "/api/v1/suppression-rules/{id}",
            delete(delete_suppression_rule),
        )
        .route("/api/v1/settings/sla", get(sla).put(set_sla))
}
use crate::auth::{Principal, Role};

fn actor(p: &Principal) -> String {
    match p {
        Principal::User { name, .. } => name.clone(),
        Principal::Agent { agent_id, .. } => format!("agent {agent_id}"),
    }
}

fn filter_of(text: Option<&str>) -> ApiResult<Filter> {
    Filter::parse(text.unwrap_or("")).map_err(|e| ApiError::bad(e.to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// The filter language (docs/findings.md).
    filter: Option<String>,
    /// `key:asc|desc`; default `severity:desc`.
    sort: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
    /// Also count every finding the filter selects.
    count: Option<bool>,
    /// Shorthands kept from the first API: `asset_id=N`, `status=S`.
    asset_id: Option<i64>,
    status: Option<String>,
}

/// `GET /api/v1/findings`
pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let mut filter = filter_of(q.filter.as_deref())?;
    let mut extra = Vec::new();
    if let Some(a) = q.asset_id {
        extra.push(format!("asset_id={a}"));
    }
    if let Some(s) = &q.status {
        extra.push(format!("status={s}"));
    }
    if !extra.is_empty() {
        filter = filter.and(&filter_of(Some(&extra.join(" ")))?);
    }
    let sort: Sort = match &q.sort {
        Some(s) => s
            .parse()
            .map_err(|e: kensa_store::StoreError| ApiError::bad(e.to_string()))?,
        None => Sort::default(),
    };
    let query = FindingQuery {
        filter,
        sort,
        limit: q.limit,
        cursor: q.cursor,
    };
    let count = q.count.unwrap_or(false);
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Viewer,
            "listing findings needs a user token",
        )?;
        let page = db.query_findings(&query)?;
        let total = if count {
            Some(db.count_findings(&query.filter)?)
        } else {
            None
        };
        Ok(Json(json!({
            "findings": page.findings,
            "next_cursor": page.next_cursor,
            "filter": query.filter.to_string(),
            "sort": query.sort.to_string(),
            "total": total,
        })))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregateQuery {
    by: String,
    filter: Option<String>,
    limit: Option<u32>,
    offset: Option<u64>,
}

/// `GET /api/v1/findings/aggregate?by=asset|vulnerability|package|os|image|team`
pub async fn aggregate(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<AggregateQuery>,
) -> ApiResult<Json<Value>> {
    let by: GroupBy =
        q.by.parse()
            .map_err(|e: kensa_store::StoreError| ApiError::bad(e.to_string()))?;
    let filter = filter_of(q.filter.as_deref())?;
    with_db(&state, move |db| {
        authorize(db, &headers, Role::Viewer, "aggregations need a user token")?;
        let groups =
            db.aggregate_findings(&filter, by, q.limit.unwrap_or(100), q.offset.unwrap_or(0))?;
        Ok(Json(json!({ "by": q.by, "groups": groups })))
    })
    .await
}

/// `GET /api/v1/findings/{id}`: the finding with the detection's record,
/// its triage, its lifecycle events and its triage audit trail.
pub async fn detail(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Viewer,
            "reading findings needs a user token",
        )?;
        let id = FindingId(id);
        let finding = db
            .finding(id)?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no finding {}", id.0)))?;
        Ok(Json(json!({
            "finding": finding,
            "triage": db.finding_triage(id)?,
            "events": db.finding_events(id)?,
            "audit": db.triage_audit(id)?,
        })))
    })
    .await
}

/// Splits a triage request into its change and the keys around it.
fn change_of(
    body: &[u8],
    keys: &[&str],
) -> ApiResult<(TriageChange, serde_json::Map<String, Value>)> {
    let v: Value = parse_json(body, "triage request")?;
    let Value::Object(mut map) = v else {
        return Err(ApiError::bad("triage request: expected a JSON object"));
    };
    let mut taken = serde_json::Map::new();
    for k in keys {
        if let Some(v) = map.remove(*k) {
            taken.insert((*k).to_owned(), v);
        }
    }
    let change: TriageChange = serde_json::from_value(Value::Object(map))
        .map_err(|e| ApiError::bad(format!("triage request: {e}")))?;
    change
        .validate()
        .map_err(|e| ApiError::bad(e.to_string()))?;
    Ok((change, taken))
}

/// `POST /api/v1/findings/{id}/triage` (analyst): a triage change, and
/// with `"apply_to_other_assets": true` also a rule that applies it to
/// this vulnerability in this package on every asset, now and later.
pub async fn triage(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let (change, extra) = change_of(&body, &["apply_to_other_assets"])?;
    let everywhere = match extra.get("apply_to_other_assets") {
        None | Some(Value::Bool(false)) => false,
        Some(Value::Bool(true)) => true,
        Some(_) => return Err(ApiError::bad("apply_to_other_assets: true or false")),
    };
    with_db(&state, move |db| {
        let p = authorize(db, &headers, Role::Analyst, "triage needs the analyst role")?;
        let who = actor(&p);
        let id = FindingId(id);
        let f = db
            .finding(id)?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no finding {}", id.0)))?;
        let now = Timestamp::now();
        let triage = db.triage(id, &change, &who, now)?;
        let rule = if everywhere {
            let (rule, changed) =
                db.create_triage_rule(&f.vulnerability_id, &f.package_name, &change, &who, now)?;
            Some(json!({ "id": rule, "findings_changed": changed }))
        } else {
            None
        };
        Ok(Json(json!({ "triage": triage, "rule": rule })))
    })
    .await
}

/// `POST /api/v1/findings/triage` (analyst): `{"filter": "...", <change>}`
/// applied to every finding the filter selects.
pub async fn triage_bulk(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let (change, extra) = change_of(&body, &["filter"])?;
    let text = match extra.get("filter") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            return Err(ApiError::bad(
                "filter: a bulk change needs a non-empty filter (the filter language)",
            ));
        }
    };
    let filter = filter_of(Some(&text))?;
    with_db(&state, move |db| {
        let p = authorize(db, &headers, Role::Analyst, "triage needs the analyst role")?;
        let n = db.triage_bulk(&filter, &change, &actor(&p), Timestamp::now())?;
        Ok(Json(
            json!({ "filter": filter.to_string(), "findings_changed": n }),
        ))
    })
    .await
}

/// `GET /api/v1/triage-rules`
pub async fn triage_rules(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Viewer,
            "reading rules needs a user token",
        )?;
        Ok(Json(json!({ "rules": db.triage_rules()? })))
    })
    .await
}

/// `DELETE /api/v1/triage-rules/{id}` (analyst): later findings are no
/// longer triaged by it; those it triaged keep their triage.
pub async fn revoke_triage_rule(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Analyst,
            "revoking rules needs the analyst role",
        )?;
        db.revoke_triage_rule(id, Timestamp::now())?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// `GET /api/v1/suppression-rules`
pub async fn suppression_rules(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Viewer,
            "reading rules needs a user token",
        )?;
        Ok(Json(json!({ "rules": db.suppression_rules()? })))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuppressionRequest {
    name: String,
    filter: String,
    reason: String,
}

/// `POST /api/v1/suppression-rules` (analyst): applied at once and to
/// every later evaluation.
pub async fn create_suppression_rule(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let req: SuppressionRequest = parse_json(&body, "suppression rule")?;
    let filter = filter_of(Some(&req.filter))?;
    with_db(&state, move |db| {
        let p = authorize(
            db,
            &headers,
            Role::Analyst,
            "suppression rules need the analyst role",
        )?;
        let (rule, n) = db.create_suppression_rule(
            &req.name,
            &filter,
            &req.reason,
            &actor(&p),
            Timestamp::now(),
        )?;
        Ok((
            StatusCode::CREATED,
            Json(json!({ "rule": rule, "findings_suppressed": n })),
        ))
    })
    .await
}

/// `DELETE /api/v1/suppression-rules/{id}` (analyst): what only it
/// suppressed becomes active again.
pub async fn delete_suppression_rule(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Analyst,
            "suppression rules need the analyst role",
        )?;
        let n = db.delete_suppression_rule(id, Timestamp::now())?;
        Ok(Json(json!({ "findings_released": n })))
    })
    .await
}

/// `GET /api/v1/settings/sla`
pub async fn sla(State(state): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Viewer,
            "reading settings needs a user token",
        )?;
        Ok(Json(json!(db.sla_policy()?)))
    })
    .await
}

/// `PUT /api/v1/settings/sla` (admin): days per severity (`null`: no due
/// date); open findings' due dates follow unless set by hand.
pub async fn set_sla(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let policy: SlaPolicy = parse_json(&body, "SLA policy")?;
    for (name, d) in [
        ("critical", policy.critical),
        ("high", policy.high),
        ("medium", policy.medium),
        ("low", policy.low),
        ("informational", policy.informational),
        ("untriaged", policy.untriaged),
    ] {
        if d.is_some_and(|d| d == 0 || d > 3650) {
            return Err(ApiError::bad(format!("{name}: 1 to 3650 days, or null")));
        }
    }
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Admin,
            "the SLA policy needs the admin role",
        )?;
        let n = db.set_sla_policy(&policy, Timestamp::now())?;
        Ok(Json(json!({ "policy": policy, "findings_updated": n })))
    })
    .await
}
