//! Network reachability in the server: the network documents (the AWS
//! CLI's JSON, rules files) uploaded by admins, the `reachability` job that
//! runs `kensa-reach` over them and every asset's listeners, the
//! `NETWORK_REACHABILITY` findings it keeps, and an admin's override of an
//! asset's exposure. `docs/reachability.md` is the reference.
//!
//! The job recomputes every asset (the model needs the whole network to
//! follow load balancers and routes). An asset whose exposure or reachable
//! ports changed gets its evaluation queued at once, so that its package
//! findings are re-scored without waiting for a new inventory.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kensa_detect::{AdvisoryRef, Band, Detection, Finding, PackageRef, Status as VendorStatus};
use kensa_reach::{
    AssetReachability, AwsData, Exposure, Hop, Missing, Network, PortReachability, Protocol,
    RulesFile, Service, Verdict,
};
use kensa_store::{
    AssetId, Db, ExposureOverride, InternetExposure, NETWORK_KIND, Reachability, ReachableRange,
    Timestamp,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Principal, Role};
use crate::error::{Result, ServerError};
use crate::kit::{ApiError, ApiResult, AppState, authorize, with_db};

pub use kensa_store::REACHABILITY_JOB;

/// The vulnerability id of every reachability finding (its package name is
/// the port range, `tcp/22`).
pub const NETWORK_REACHABILITY: &str = "NETWORK_REACHABILITY";

/// Ports whose exposure to the internet is a finding of its own band:
/// remote administration, databases, caches, file sharing, container and
/// cluster control. Reachable with a listener, they are HIGH; other ports
/// with a listener MEDIUM (a service may well be meant to be public).
const SENSITIVE_PORTS: &[u16] = &[
    20, 21, 22, 23, 135, 139, 445, 1433, 1521, 2375, 2376, 2379, 3306, 3389, 5432, 5900, 5984,
    6379, 6443, 9200, 9300, 10250, 11211, 27017,
];

pub(crate) fn routes() -> axum::Router<Arc<AppState>> {
    use axum::routing::{delete, get, post, put};
    axum::Router::new()
        .route("/api/v1/network", get(list))
        .route("/api/v1/network/aws", post(upload_aws))
        .route("/api/v1/network/rules", post(upload_rules))
        .route("/api/v1/network/{id}", delete(remove))
        .route("/api/v1/assets/{id}/reachability", get(asset_reachability))
        .route("/api/v1/assets/{id}/exposure", put(set_override))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    name: Option<String>,
}

/// A document's name: what a later upload of the same name replaces.
fn doc_name(q: UploadQuery) -> ApiResult<String> {
    let name = q.name.unwrap_or_default();
    let name = name.trim();
    if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(ApiError::bad(
            "name: required, 1 to 200 characters without control characters \
             (?name=instances.json); an upload of the same name replaces the earlier one",
        ));
    }
    Ok(name.to_owned())
}

fn user_name(p: &Principal) -> String {
    match p {
        Principal::User { name, .. } => name.clone(),
        Principal::Agent { agent_id, .. } => format!("agent {agent_id}"),
    }
}

fn rejected(e: &kensa_reach::Error) -> Response {
    let at = match e {
        kensa_reach::Error::Json { line, column, .. } => json!({ "line": line, "column": column }),
        kensa_reach::Error::Field { path, .. } => json!({ "path": path }),
        kensa_reach::Error::Rules { line, .. } => json!({ "line": line }),
    };
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": format!("{e}; nothing was imported"), "at": at })),
    )
        .into_response()
}

async fn upload(
    state: Arc<AppState>,
    headers: HeaderMap,
    q: UploadQuery,
    body: Bytes,
    kind: &'static str,
) -> ApiResult<Response> {
    let wake = Arc::clone(&state.wake);
    with_db(&state, move |db| {
        // The role before the body: a viewer learns nothing from it.
        let p = authorize(
            db,
            &headers,
            Role::Admin,
            "importing network data needs the admin role",
        )?;
        let name = doc_name(q)?;
        // Read whole before anything is kept: a document that fails leaves
        // what was imported before as it was.
        let checked = match kind {
            "aws" => AwsData::new().add_json(&name, &body),
            _ => match std::str::from_utf8(&body) {
                Ok(text) => RulesFile::parse(&name, text).map(|_| ()),
                Err(e) => Err(kensa_reach::Error::Rules {
                    source_name: name.clone(),
                    line: 1 + body[..e.valid_up_to()]
                        .iter()
                        .filter(|b| **b == b'\n')
                        .count(),
                    message: "not UTF-8".into(),
                }),
            },
        };
        if let Err(e) = checked {
            return Ok(rejected(&e));
        }
        let by = user_name(&p);
        let id = db.put_network_document(kind, &name, &body, &by, Timestamp::now())?;
        crate::audit::record(db, &by, "network.import", &name, kind);
        wake.notify();
        Ok((
            StatusCode::CREATED,
            Json(
                json!({ "id": id, "kind": kind, "name": name, "size": body.len(),
                         "queued": REACHABILITY_JOB }),
            ),
        )
            .into_response())
    })
    .await
}

/// `POST /api/v1/network/aws?name=NAME` (admin): one AWS CLI JSON document,
/// or several merged (`jq -s add`).
async fn upload_aws(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<UploadQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    upload(state, headers, q, body, "aws").await
}

/// `POST /api/v1/network/rules?name=NAME` (admin): a rules file.
async fn upload_rules(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<UploadQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    upload(state, headers, q, body, "rules").await
}

/// `GET /api/v1/network` (viewer): the documents and the job's state.
async fn list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Viewer,
            "network data needs a user token",
        )?;
        let docs: Vec<_> = db
            .network_documents()?
            .into_iter()
            .map(|(d, _)| d)
            .collect();
        // The state only: a failure's detail is for the server log.
        let job = db
            .jobs(Some(REACHABILITY_JOB))?
            .into_iter()
            .max_by_key(|j| j.id.0)
            .map(|j| json!({ "state": j.state, "updated_at": j.updated_at }));
        Ok(Json(json!({ "documents": docs, "last_job": job })))
    })
    .await
}

/// `DELETE /api/v1/network/{id}` (admin).
async fn remove(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let wake = Arc::clone(&state.wake);
    with_db(&state, move |db| {
        let p = authorize(
            db,
            &headers,
            Role::Admin,
            "removing network data needs the admin role",
        )?;
        let id: i64 = id
            .parse()
            .map_err(|_| ApiError::bad(format!("document id {id:?}: expected a number")))?;
        if !db.delete_network_document(id)? {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no network document {id}"),
            ));
        }
        crate::audit::record(db, &user_name(&p), "network.remove", &id.to_string(), "");
        wake.notify();
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

fn asset_id(id: &str) -> ApiResult<AssetId> {
    id.parse()
        .map(AssetId)
        .map_err(|_| ApiError::bad(format!("asset id {id:?}: expected a number")))
}

/// `GET /api/v1/assets/{id}/reachability` (viewer): what the model said,
/// the override, and the exposure that scores the findings.
async fn asset_reachability(
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
        let a = db
            .asset(id)?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("{id} not found")))?;
        let (exposure, source) = a.effective_exposure();
        Ok(Json(json!({
            "asset_id": a.id.0,
            "exposure": exposure,
            "exposure_source": source,
            "model": a.reachability,
            "override": a.exposure_override,
            "management": a.management.internet_exposure,
        })))
    })
    .await
}

/// `PUT /api/v1/assets/{id}/exposure` (admin): `{"internet_exposure":
/// "yes"|"no"|"unknown", "reason": "…"}` overrides the model, recorded
/// with who and why; `{"internet_exposure": null}` removes the override.
/// Either way the asset's findings are re-scored by a queued evaluation.
async fn set_override(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let id = asset_id(&id)?;
    let wake = Arc::clone(&state.wake);
    with_db(&state, move |db| {
        let p = authorize(
            db,
            &headers,
            Role::Admin,
            "overriding exposure needs the admin role",
        )?;
        let v: Value = crate::kit::parse_json(&body, "exposure override")?;
        let Value::Object(o) = v else {
            return Err(ApiError::bad(
                "exposure override: expected {\"internet_exposure\": \"no\", \"reason\": \"…\"}",
            ));
        };
        if let Some(k) = o
            .keys()
            .find(|k| !["internet_exposure", "reason"].contains(&k.as_str()))
        {
            return Err(ApiError::bad(format!(
                "unknown field {k:?} (internet_exposure, reason)"
            )));
        }
        let by = user_name(&p);
        let over = match o.get("internet_exposure") {
            Some(Value::Null) => None,
            Some(Value::String(s)) => {
                let exposure = match s.as_str() {
                    "yes" => InternetExposure::Yes,
                    "no" => InternetExposure::No,
                    "unknown" => InternetExposure::Unknown,
                    _ => {
                        return Err(ApiError::bad(format!(
                            "internet_exposure {s:?}: expected yes, no, unknown or null"
                        )));
                    }
                };
                let reason = o
                    .get("reason")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|r| !r.is_empty() && r.len() <= 1000)
                    .ok_or_else(|| {
                        ApiError::bad("reason: required with an override (1 to 1000 characters)")
                    })?;
                Some(ExposureOverride {
                    exposure,
                    by: by.clone(),
                    reason: reason.to_owned(),
                    at: Timestamp::now(),
                })
            }
            _ => {
                return Err(ApiError::bad(
                    "internet_exposure: required, yes, no, unknown or null",
                ));
            }
        };
        db.asset(id)?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("{id} not found")))?;
        db.set_exposure_override(id, over.as_ref(), crate::worker::EVALUATE)?;
        crate::audit::record(
            db,
            &by,
            "asset.exposure_override",
            &id.to_string(),
            &over.as_ref().map_or_else(
                || "removed".to_owned(),
                |o| format!("{}: {}", o.exposure.as_str(), o.reason),
            ),
        );
        wake.notify();
        let a = db
            .asset(id)?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("{id} not found")))?;
        let (exposure, source) = a.effective_exposure();
        Ok(Json(json!({
            "asset_id": a.id.0,
            "exposure": exposure,
            "exposure_source": source,
            "override": a.exposure_override,
        })))
    })
    .await
}

// ---- the job ---------------------------------------------------------------

/// An inventory listener as the model reads it; `None` when its address
/// is not an address (then the flags say where it is bound).
fn listener_of(l: &kensa_inventory::model::Listener) -> Option<kensa_reach::Listener> {
    let protocol = match l.protocol.to_ascii_lowercase().as_str() {
        "tcp" | "tcp6" => Protocol::Tcp,
        "udp" | "udp6" => Protocol::Udp,
        _ => return None,
    };
    let text = l
        .address
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let address: IpAddr = match text.parse() {
        Ok(a) => a,
        Err(_) if l.loopback => IpAddr::from([127, 0, 0, 1]),
        Err(_) if l.all_interfaces || text == "*" => IpAddr::from([0, 0, 0, 0]),
        Err(_) => return None,
    };
    Some(kensa_reach::Listener {
        protocol,
        address,
        port: l.port,
        process: l.process.clone(),
    })
}

/// Which instance of the data is the asset: its instance id, else one of
/// its private addresses, else its hostname as the instance's private DNS
/// name (or that name's first label) or `Name` tag.
fn match_instance(a: &kensa_store::Asset, aws: &AwsData) -> Option<(String, &'static str)> {
    if let Some(id) = &a.instance_id
        && aws.instances.contains_key(id)
    {
        return Some((id.clone(), "instance_id"));
    }
    let ips: Vec<IpAddr> = a
        .ip_addresses
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    if !ips.is_empty() {
        for (id, inst) in &aws.instances {
            if inst
                .interfaces
                .iter()
                .any(|i| i.private_ipv4.is_some_and(|p| ips.contains(&p)))
            {
                return Some((id.clone(), "private_ip"));
            }
        }
    }
    let host = a
        .hostname
        .as_deref()
        .unwrap_or(&a.name)
        .to_ascii_lowercase();
    for (id, inst) in &aws.instances {
        if let Some(dns) = &inst.private_dns {
            let dns = dns.to_ascii_lowercase();
            if dns == host || dns.split('.').next() == Some(host.as_str()) {
                return Some((id.clone(), "hostname"));
            }
        }
    }
    for (id, inst) in &aws.instances {
        if inst
            .name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(&a.name))
        {
            return Some((id.clone(), "name"));
        }
    }
    // An instance id the data does not have: the model says so (unknown).
    a.instance_id.clone().map(|id| (id, "instance_id"))
}

fn port_text(p: &PortReachability) -> String {
    format!("{}/{}", p.ports, p.protocol)
}

/// The hops people name in a title: gateways, load balancers, groups and
/// rules files, in path order, each once.
fn through(paths: &[kensa_reach::Path]) -> String {
    let mut names: Vec<String> = Vec::new();
    if let Some(path) = paths.first() {
        for h in &path.0 {
            let n = match h {
                Hop::InternetGateway { id } => id.clone(),
                Hop::LoadBalancer {
                    name,
                    port,
                    protocol,
                } => format!("load balancer {name} ({protocol}:{port})"),
                Hop::SecurityGroup { id, .. } => id.clone(),
                Hop::RulesFile { file, line } => format!("{file} line {line}"),
                _ => continue,
            };
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    match names.len() {
        0 => "an open path".into(),
        1 => names.remove(0),
        _ => {
            let last = names.pop().unwrap_or_default();
            format!("{} and {last}", names.join(", "))
        }
    }
}

/// The source addresses the path's rules let in (`0.0.0.0/0`).
fn sources(paths: &[kensa_reach::Path]) -> String {
    let mut out: Vec<String> = Vec::new();
    for h in paths.iter().flat_map(|p| &p.0) {
        if let Hop::SecurityGroup { source, .. } = h
            && !out.contains(source)
        {
            out.push(source.clone());
        }
    }
    if out.is_empty() {
        "the internet".into()
    } else {
        out.join(", ")
    }
}

fn listener_text(ls: &[kensa_reach::Listener]) -> (String, Option<String>) {
    let mut procs: Vec<String> = Vec::new();
    let mut parts = Vec::new();
    for l in ls {
        let addr = match l.address {
            IpAddr::V6(a) => format!("[{a}]:{}", l.port),
            IpAddr::V4(a) => format!("{a}:{}", l.port),
        };
        let who = l.process.clone().unwrap_or_else(|| "a process".into());
        parts.push(format!("{who} listening on {addr}"));
        if let Some(p) = &l.process
            && !procs.contains(p)
        {
            procs.push(p.clone());
        }
    }
    let procs = if procs.is_empty() {
        Some("unknown".to_owned())
    } else {
        Some(procs.join(","))
    };
    (parts.join(", "), procs)
}

/// The reachability finding of one row, if it is one: a reachable port
/// range (with a listener, listeners unknown, or nothing listening).
pub fn finding_of(row: &PortReachability, namespace: &str) -> Option<Finding> {
    let Verdict::Reachable { via } = &row.verdict else {
        return None;
    };
    let port = port_text(row);
    let sensitive = SENSITIVE_PORTS
        .iter()
        .any(|p| row.ports.from() <= *p && *p <= row.ports.to());
    let (severity, title, process) = match (&row.service, row.exposure()) {
        (Service::Listening { listeners }, _) => {
            let (text, procs) = listener_text(listeners);
            (
                if sensitive { Band::High } else { Band::Medium },
                format!(
                    "port {port} reachable from the internet through {}, {text}",
                    through(via)
                ),
                procs,
            )
        }
        (_, Exposure::ReachableListenersUnknown) => (
            Band::Medium,
            format!(
                "port {port} reachable from the internet through {}; what listens there was not collected",
                through(via)
            ),
            None,
        ),
        (Service::LoopbackOnly { listeners }, _) => (
            Band::Low,
            format!(
                "port {port} open to {} through {} but nothing listens beyond loopback ({})",
                sources(via),
                through(via),
                listener_text(listeners).0
            ),
            None,
        ),
        _ => (
            Band::Low,
            format!(
                "port {port} open to {} through {} but nothing listens",
                sources(via),
                through(via)
            ),
            None,
        ),
    };
    let paths: Vec<String> = via.iter().map(ToString::to_string).collect();
    let mut description = format!("{title}.");
    for (i, p) in paths.iter().enumerate() {
        description.push_str(&format!("\nPath {}: {p}", i + 1));
    }
    let ports = row.ports.to_string();
    Some(Finding {
        vulnerability_id: NETWORK_REACHABILITY.into(),
        aliases: Vec::new(),
        advisories: vec![AdvisoryRef {
            id: format!("{namespace}:{port}"),
            feed: "kensa-reach".into(),
        }],
        title: Some(title),
        description: Some(description),
        published: None,
        package: PackageRef {
            name: format!("{}/{}", row.protocol, ports),
            kind: NETWORK_KIND.into(),
            version: ports.clone(),
            installed_version: ports,
            source_name: process,
            ..PackageRef::default()
        },
        fixed_version: None,
        status: VendorStatus::Affected,
        detection: Detection {
            method: "network-reachability".into(),
            namespace: namespace.into(),
            confidence: "high".into(),
            notes: paths,
        },
        severity,
        vendor_severity: None,
        cvss: Vec::new(),
        score: None,
        epss: None,
        kev: None,
        references: Vec::new(),
        remediation: Some(match row.service {
            Service::Listening { .. } => format!(
                "If {port} need not be reachable from the internet, remove or narrow the rule that opens it (the path above); else keep the service patched"
            ),
            _ => format!(
                "Nothing needs {port} open: remove or narrow the rule that opens it (the path above)"
            ),
        }),
    })
}

/// Whether any data names the asset: every row unknown for lack of any
/// network data means none does.
fn named(r: &AssetReachability) -> bool {
    !r.ports.iter().all(|p| {
        matches!(&p.verdict, Verdict::Unknown { missing } if missing.iter().all(|m| *m == Missing::NetworkData))
    })
}

/// What the model gives one asset: the stored record and the findings.
pub fn summarise(
    r: &AssetReachability,
    instance: Option<(String, &'static str)>,
    at: Timestamp,
) -> Option<(Reachability, Vec<Finding>)> {
    if !named(r) {
        return None;
    }
    let mut exposure = InternetExposure::No;
    let mut reachable = Vec::new();
    let mut findings = Vec::new();
    let namespace = if instance.is_some() { "aws" } else { "rules" };
    for row in &r.ports {
        match &row.verdict {
            Verdict::Reachable { via } => {
                exposure = InternetExposure::Yes;
                reachable.push(ReachableRange {
                    protocol: row.protocol.to_string(),
                    from: row.ports.from(),
                    to: row.ports.to(),
                    via: via
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                    listening: matches!(row.service, Service::Listening { .. }),
                });
            }
            Verdict::Unknown { .. } if exposure == InternetExposure::No => {
                exposure = InternetExposure::Unknown;
            }
            _ => {}
        }
        findings.extend(finding_of(row, namespace));
    }
    let (instance, matched_by) = match instance {
        Some((i, how)) => (Some(i), Some(how.to_owned())),
        None => (None, None),
    };
    Some((
        Reachability {
            exposure,
            instance,
            matched_by,
            reachable,
            ports: serde_json::to_value(&r.ports).unwrap_or(Value::Null),
            computed_at: at,
        },
        findings,
    ))
}

/// Whether two records score findings alike (the time and the rows' words
/// aside).
fn same_scoring(a: Option<&Reachability>, b: Option<&Reachability>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.exposure == b.exposure && a.reachable == b.reachable,
        _ => false,
    }
}

/// The `reachability` job: the model over every asset, the records and
/// findings stored, and evaluations queued for the assets whose scoring
/// inputs changed.
pub fn run(db: &Db) -> Result<()> {
    // Before the documents are read: a record computed from newer ones
    // (by a job that started later) is never overwritten with this one's.
    let started = Timestamp::now();
    let docs = db.network_documents()?;
    let mut aws = AwsData::new();
    let mut rules = Vec::new();
    for (d, content) in &docs {
        let parsed = match d.kind.as_str() {
            "aws" => aws.add_json(&d.name, content),
            _ => std::str::from_utf8(content)
                .map_err(|e| kensa_reach::Error::Rules {
                    source_name: d.name.clone(),
                    line: 0,
                    message: e.to_string(),
                })
                .and_then(|t| RulesFile::parse(&d.name, t))
                .map(|f| rules.push(f)),
        };
        // Each was read when uploaded: failing now means the stored copy
        // changed, which the job must not paper over.
        parsed.map_err(|e| ServerError::Internal(format!("network document {}: {e}", d.id)))?;
    }
    let network = Network::new(aws, rules);
    let assets = db.assets()?;
    let mut inputs = Vec::with_capacity(assets.len());
    let mut matched = Vec::with_capacity(assets.len());
    let mut listeners_of: HashMap<String, Option<Vec<kensa_reach::Listener>>> = HashMap::new();
    for a in &assets {
        let instance = if docs.is_empty() {
            None
        } else {
            match_instance(a, &network.aws)
        };
        let listeners = match &a.inventory_hash {
            None => None,
            Some(h) => match listeners_of.get(h) {
                Some(l) => l.clone(),
                None => {
                    let l = db.load_inventory(h)?.and_then(|inv| {
                        (inv.source.kind == kensa_inventory::model::SourceKind::Host)
                            .then(|| inv.listeners.iter().filter_map(listener_of).collect())
                    });
                    listeners_of.insert(h.clone(), l.clone());
                    l
                }
            },
        };
        inputs.push(kensa_reach::Asset {
            name: a.name.clone(),
            instance_id: instance.as_ref().map(|(i, _)| i.clone()),
            tags: a.management.tags.clone(),
            listeners,
        });
        matched.push(instance);
    }
    let results = if docs.is_empty() {
        Vec::new()
    } else {
        network.evaluate(&inputs)
    };
    let now = started;
    let (mut rescored, mut total) = (0usize, 0usize);
    for (i, a) in assets.iter().enumerate() {
        // Two jobs can run at once (one queued while another runs): the
        // one that read older documents must not have the last word.
        let Some(a) = db.asset(a.id)? else {
            continue;
        };
        if a.reachability
            .as_ref()
            .is_some_and(|r| r.computed_at > started)
        {
            continue;
        }
        let a = &a;
        let got = results
            .get(i)
            .and_then(|r| summarise(r, matched[i].clone(), now));
        let (record, findings) = match got {
            Some((r, f)) => (Some(r), f),
            None => (None, Vec::new()),
        };
        let changed_scoring = !same_scoring(a.reachability.as_ref(), record.as_ref());
        // Written even when unchanged: its time tells a job that started
        // earlier that it is late (above).
        if record.is_some() || a.reachability.is_some() {
            db.set_reachability(a.id, record.as_ref())?;
        }
        if record.is_some() || a.reachability.is_some() {
            total += 1;
            match db.apply_network_findings(a.id, &findings, now) {
                Ok(_) | Err(kensa_store::StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if changed_scoring && let Some(hash) = &a.inventory_hash {
            db.enqueue(
                crate::worker::EVALUATE,
                &json!({ "asset": a.id.0, "inventory": hash }),
                Some(&format!("{}:{}", crate::worker::EVALUATE, a.id.0)),
            )?;
            rescored += 1;
        }
    }
    tracing::info!(
        "reachability: {} documents, {total} assets covered, {rescored} re-scored",
        docs.len()
    );
    Ok(())
}

/// What the evaluation of an asset reads: the exposure and, when the
/// model decided the asset's ports, the reachable ones.
pub(crate) fn scoring_inputs(
    a: &kensa_store::Asset,
) -> (
    kensa_detect::Exposure,
    Option<Vec<kensa_detect::ReachablePort>>,
) {
    let (exposure, source) = a.effective_exposure();
    let exposure = match exposure {
        Some(InternetExposure::Yes) => kensa_detect::Exposure::Internet,
        Some(InternetExposure::No) => kensa_detect::Exposure::Internal,
        Some(InternetExposure::Unknown) | None => kensa_detect::Exposure::Unknown,
    };
    // Per service only from a model that decided: an admin's override is
    // about the whole host, and an unknown leaves the ports undecided.
    let reachable = match (&a.reachability, source) {
        (Some(r), "model") => Some(
            r.reachable
                .iter()
                .map(|p| kensa_detect::ReachablePort {
                    protocol: p.protocol.clone(),
                    from: p.from,
                    to: p.to,
                    via: p.via.clone(),
                })
                .collect(),
        ),
        _ => None,
    };
    (exposure, reachable)
}
