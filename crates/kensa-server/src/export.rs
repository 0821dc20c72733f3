//! Exports of a filtered finding list: CSV in Amazon Inspector's
//! findings-report columns, or JSON with the full finding objects.
//!
//! - `GET /api/v1/findings/export` streams the export as the response
//!   body: a blocking task writes it into a bounded channel that the body
//!   reads, so that memory stays flat whatever the size, and a slow client
//!   slows the export instead of filling the server's memory.
//! - `POST /api/v1/exports` queues a background job (the database queue,
//!   claimed by a dedicated export worker) whose result goes to a file
//!   kept for download, a path under the configured export directory, or
//!   an S3-compatible bucket (with SSE-KMS, or with client-side envelope
//!   encryption, [`crypto`]). One queued or running export per user.

pub mod crypto;
pub mod s3;

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::{Component, Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kensa_detect::report::inspector;
use kensa_store::{
    Asset, AssetKind, Db, EXPORT_JOB, ExportRecord, Filter, Job, JobId, JobInfo, Sort, Timestamp,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::kit::{ApiError, ApiResult, AppState, authorize, parse_json, with_db};

pub(crate) fn routes() -> axum::Router<Arc<AppState>> {
    use axum::routing::get;
    axum::Router::new()
        .route("/api/v1/findings/export", get(stream))
        .route("/api/v1/exports", get(list).post(create))
        .route("/api/v1/exports/{id}", get(status))
        .route("/api/v1/exports/{id}/download", get(download))
}
use crate::auth::{Principal, Role};
use crate::error::{Result, ServerError};
use crate::worker::Wake;

pub use crypto::{Kek, decrypt};
pub use s3::{S3, S3Config};

/// How exports are configured.
#[derive(Clone, Debug, Default)]
pub struct ExportConfig {
    /// Where `path` destinations may write (default `<data>/exports`).
    pub dir: Option<PathBuf>,
    /// The key-encryption key for client-side encryption
    /// (`--export-kek-file`).
    pub kek_file: Option<PathBuf>,
    /// The S3-compatible store, when exports may go to one.
    pub s3: Option<S3Config>,
}

/// What the API handlers and the export worker share.
pub struct Exports {
    pub dir: PathBuf,
    /// Finished downloads, by job id.
    pub downloads: PathBuf,
    pub kek: Option<Kek>,
    pub s3: Option<S3Config>,
    pub wake: Wake,
}

impl Exports {
    pub fn new(cfg: &ExportConfig, data_dir: &Path) -> Result<Exports> {
        let dir = cfg.dir.clone().unwrap_or_else(|| data_dir.join("exports"));
        let downloads = data_dir.join("export-downloads");
        for d in [&dir, &downloads] {
            std::fs::create_dir_all(d).map_err(|source| ServerError::Io {
                path: d.display().to_string(),
                source,
            })?;
        }
        let kek = cfg.kek_file.as_deref().map(Kek::from_file).transpose()?;
        Ok(Exports {
            dir,
            downloads,
            kek,
            s3: cfg.s3.clone(),
            wake: Wake::default(),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    fn parse(s: &str) -> ApiResult<Format> {
        match s {
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            _ => Err(ApiError::bad(format!("format {s:?}: expected csv or json"))),
        }
    }
    fn ext(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }
    fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
        }
    }
}

/// Inspector's "Resource ID" and the other resource columns for an asset.
fn resource_of(a: &Asset) -> inspector::Resource {
    let image = a.kind == AssetKind::Image;
    inspector::Resource {
        id: a
            .instance_id
            .clone()
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| a.id.0.to_string()),
        image,
        os_id: a.os_id.clone(),
        os_release: a.os_release.clone(),
        tags: a.management.tags.clone(),
        // An image asset is named by its first repository tag.
        image_tags: if image && a.name.contains(':') && !a.name.starts_with("sha256:") {
            vec![a.name.clone()]
        } else {
            Vec::new()
        },
        ip_addresses: a.ip_addresses.clone(),
        public_ipv4: Vec::new(),
        ports: a
            .management
            .exposed_ports
            .iter()
            .map(|p| match p.to_port {
                Some(to) if to != p.port => format!("{}-{to}/{}", p.port, p.protocol),
                _ => format!("{}/{}", p.port, p.protocol),
            })
            .collect(),
    }
}

fn observed_of(r: &ExportRecord, now_ms: i64) -> inspector::Observed {
    inspector::Observed {
        reference: format!("kensa:finding/{}", r.id.0),
        status: r.status.as_str().to_owned(),
        first_seen: r.first_observed.to_rfc3339(),
        last_seen: r.last_observed.to_rfc3339(),
        updated: r.updated_at.to_rfc3339(),
        age_days: (now_ms - r.first_observed.unix_ms()).max(0) / 86_400_000,
    }
}

/// The asset as a JSON export shows it with each finding.
#[derive(Serialize)]
struct AssetSummary<'a> {
    id: i64,
    kind: AssetKind,
    name: &'a str,
    hostname: Option<&'a str>,
    instance_id: Option<&'a str>,
    image_id: Option<&'a str>,
    os_id: Option<&'a str>,
    os_release: Option<&'a str>,
    ip_addresses: &'a [String],
    tags: &'a [String],
    owner: Option<&'a str>,
    team: Option<&'a str>,
    environment: Option<&'a str>,
    internet_exposure: Option<kensa_store::InternetExposure>,
}

#[derive(Serialize)]
struct JsonRecord<'a> {
    id: i64,
    status: kensa_store::Status,
    first_observed: Timestamp,
    last_observed: Timestamp,
    updated_at: Timestamp,
    closed_at: Option<Timestamp>,
    reopen_count: u32,
    occurrences: u32,
    triage: &'a kensa_store::Triage,
    asset: AssetSummary<'a>,
    finding: &'a kensa_detect::Finding,
}

fn json_of(r: &ExportRecord) -> JsonRecord<'_> {
    let a = &r.asset;
    let m = &a.management;
    JsonRecord {
        id: r.id.0,
        status: r.status,
        first_observed: r.first_observed,
        last_observed: r.last_observed,
        updated_at: r.updated_at,
        closed_at: r.closed_at,
        reopen_count: r.reopen_count,
        occurrences: r.occurrences,
        triage: &r.triage,
        asset: AssetSummary {
            id: a.id.0,
            kind: a.kind,
            name: &a.name,
            hostname: a.hostname.as_deref(),
            instance_id: a.instance_id.as_deref(),
            image_id: a.image_id.as_deref(),
            os_id: a.os_id.as_deref(),
            os_release: a.os_release.as_deref(),
            ip_addresses: &a.ip_addresses,
            tags: &m.tags,
            owner: m.owner.as_deref(),
            team: m.team.as_deref(),
            environment: m.environment.as_deref(),
            internet_exposure: m.internet_exposure,
        },
        finding: &r.finding,
    }
}

/// Counts what passes through.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(b)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// What an export wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Written {
    pub rows: u64,
    pub bytes: u64,
}

fn io_err(e: std::io::Error) -> kensa_store::StoreError {
    // The writer's failure (a client gone, a disk full) ends the export.
    kensa_store::StoreError::InvalidArgument(format!("writing the export: {e}"))
}

/// Writes the export of `filter` in `sort`'s order to `out`, calling
/// `tick` every 10,000 rows (a job's lease and progress).
pub fn write_export(
    db: &Db,
    filter: &Filter,
    sort: Sort,
    format: Format,
    out: impl Write,
    mut tick: impl FnMut(u64) -> Result<()>,
) -> Result<Written> {
    let mut out = Counting {
        inner: BufWriter::with_capacity(256 << 10, out),
        bytes: 0,
    };
    let now = Timestamp::now().unix_ms();
    let mut rows = 0u64;
    let mut tick_err = None;
    let mut tick_of = |rows: u64| -> kensa_store::Result<()> {
        if rows.is_multiple_of(10_000)
            && let Err(e) = tick(rows)
        {
            let msg = e.to_string();
            tick_err = Some(e);
            return Err(kensa_store::StoreError::InvalidArgument(msg));
        }
        Ok(())
    };
    let result = match format {
        Format::Csv => {
            let mut w = inspector::Writer::new(&mut out)
                .map_err(|e| ServerError::Internal(e.to_string()))?;
            // Resources repeat across an asset's findings: built once each.
            let mut resources: HashMap<i64, inspector::Resource> = HashMap::new();
            let r = db.export_findings(filter, sort, |rec| {
                if resources.len() > 50_000 {
                    resources.clear();
                }
                let res = resources
                    .entry(rec.asset.id.0)
                    .or_insert_with(|| resource_of(&rec.asset));
                w.write(&rec.finding, res, &observed_of(&rec, now))
                    .map_err(io_err)?;
                rows += 1;
                tick_of(rows)
            });
            w.finish()
                .map_err(|e| ServerError::Internal(e.to_string()))?;
            r
        }
        Format::Json => {
            out.write_all(b"[")
                .map_err(|e| ServerError::Internal(e.to_string()))?;
            let r = db.export_findings(filter, sort, |rec| {
                if rows > 0 {
                    out.write_all(b",\n").map_err(io_err)?;
                } else {
                    out.write_all(b"\n").map_err(io_err)?;
                }
                serde_json::to_writer(&mut out, &json_of(&rec))
                    .map_err(|e| io_err(std::io::Error::other(e)))?;
                rows += 1;
                tick_of(rows)
            });
            out.write_all(b"\n]\n")
                .map_err(|e| ServerError::Internal(e.to_string()))?;
            r
        }
    };
    if let Some(e) = tick_err {
        return Err(e);
    }
    result?;
    out.flush()
        .map_err(|e| ServerError::Internal(format!("writing the export: {e}")))?;
    Ok(Written {
        rows,
        bytes: out.bytes,
    })
}

// ------------------------------------------------------------ streaming

/// A `Write` that hands 64 KiB chunks to the response body.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    buf: Vec<u8>,
}

const CHUNK: usize = 64 << 10;

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

struct Chunks(tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>);

impl futures_core::Stream for Chunks {
    type Item = std::io::Result<Bytes>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().0.poll_recv(cx)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    format: Option<String>,
    filter: Option<String>,
    sort: Option<String>,
}

fn parse_sort(s: Option<&str>) -> ApiResult<Sort> {
    match s {
        Some(s) => s
            .parse()
            .map_err(|e: kensa_store::StoreError| ApiError::bad(e.to_string())),
        None => Ok(Sort::default()),
    }
}

fn parse_filter(s: Option<&str>) -> ApiResult<Filter> {
    Filter::parse(s.unwrap_or("")).map_err(|e| ApiError::bad(e.to_string()))
}

fn attachment(format: Format) -> String {
    let day = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    format!(
        "attachment; filename=\"kensa-findings-{}.{}\"",
        &day[..10],
        format.ext()
    )
}

/// `GET /api/v1/findings/export?format=csv|json&filter=…&sort=…`
pub async fn stream(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<ExportQuery>,
) -> ApiResult<Response> {
    let format = Format::parse(q.format.as_deref().unwrap_or("csv"))?;
    let filter = parse_filter(q.filter.as_deref())?;
    let sort = parse_sort(q.sort.as_deref())?;
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Viewer,
            "exporting findings needs a user token",
        )
        .map(drop)
    })
    .await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(8);
    let pool = Arc::clone(&state.pool);
    tokio::task::spawn_blocking(move || {
        let db = match pool.get() {
            Ok(db) => db,
            Err(e) => {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                return;
            }
        };
        let mut w = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        if let Err(e) = write_export(&db, &filter, sort, format, &mut w, |_| Ok(()))
            .and_then(|_| w.flush().map_err(|e| ServerError::Internal(e.to_string())))
        {
            // The headers are sent: all that is left is to cut the body
            // short, which the client sees as an incomplete response.
            eprintln!("kensa server: streamed export failed: {e}");
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, attachment(format)),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(Chunks(rx)),
    )
        .into_response())
}

// ------------------------------------------------------------ jobs

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Encryption {
    /// Server-side encryption by a named KMS key.
    #[serde(rename = "sse-kms")]
    SseKms { key_id: String },
    /// Client-side envelope encryption with the configured KEK.
    Client,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Destination {
    Download,
    Path {
        path: String,
    },
    S3 {
        bucket: String,
        key: String,
        #[serde(default)]
        encryption: Option<Encryption>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportRequest {
    format: String,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    sort: Option<String>,
    destination: Destination,
}

/// A `path` destination inside the export directory: relative to it, or
/// absolute under it; no `..`, and no symbolic link out of it.
pub fn resolve_path(dir: &Path, requested: &str) -> std::result::Result<PathBuf, String> {
    let p = Path::new(requested);
    if requested.is_empty() || p.file_name().is_none() {
        return Err(format!("path {requested:?}: a file name is needed"));
    }
    if p.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!("path {requested:?}: '..' is not allowed"));
    }
    let root = dir
        .canonicalize()
        .map_err(|e| format!("the export directory {}: {e}", dir.display()))?;
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        root.join(p)
    };
    let parent = joined
        .parent()
        .ok_or_else(|| format!("path {requested:?}: no directory"))?;
    // The parent must exist and resolve inside the export directory (a
    // link inside it that points out counts as out).
    let parent = parent
        .canonicalize()
        .map_err(|e| format!("path {requested:?}: its directory: {e}"))?;
    if !parent.starts_with(&root) {
        return Err(format!(
            "path {requested:?} is outside the export directory {}",
            root.display()
        ));
    }
    let name = joined
        .file_name()
        .ok_or_else(|| format!("path {requested:?}: a file name is needed"))?;
    let target = parent.join(name);
    if target.is_symlink() || target.is_dir() {
        return Err(format!(
            "path {requested:?}: exists and is not a regular file"
        ));
    }
    Ok(target)
}

fn owner_of(p: &Principal) -> ApiResult<(String, Role)> {
    match p {
        Principal::User { name, role } => Ok((name.clone(), *role)),
        Principal::Agent { .. } => Err(ApiError::forbidden("exports need a user token")),
    }
}

/// `POST /api/v1/exports`
pub async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let req: ExportRequest = parse_json(&body, "export request")?;
    let format = Format::parse(&req.format)?;
    let filter = parse_filter(req.filter.as_deref())?;
    let sort = parse_sort(req.sort.as_deref())?;
    let exports = Arc::clone(&state.exports);
    // Checked now, so that a refused destination is a 400 to the caller,
    // not a failed job to find later.
    match &req.destination {
        Destination::Download => {}
        Destination::Path { path } => {
            resolve_path(&exports.dir, path).map_err(ApiError::bad)?;
        }
        Destination::S3 {
            bucket,
            key,
            encryption,
        } => {
            if exports.s3.is_none() {
                return Err(ApiError::bad(
                    "no S3-compatible store is configured (KENSA_S3_ENDPOINT)",
                ));
            }
            if bucket.is_empty() || key.is_empty() {
                return Err(ApiError::bad("s3: bucket and key are needed"));
            }
            match encryption {
                Some(Encryption::Client) if exports.kek.is_none() => {
                    return Err(ApiError::bad(
                        "client-side encryption needs a key-encryption key (--export-kek-file)",
                    ));
                }
                Some(Encryption::SseKms { key_id }) if key_id.is_empty() => {
                    return Err(ApiError::bad("sse-kms: key_id is needed"));
                }
                _ => {}
            }
        }
    }
    let id = with_db(&state, move |db| {
        let p = authorize(
            db,
            &headers,
            Role::Viewer,
            "exporting findings needs a user token",
        )?;
        let (owner, _) = owner_of(&p)?;
        let payload = json!({
            "owner": owner,
            "format": format,
            "filter": filter.to_string(),
            "sort": sort.to_string(),
            "destination": req.destination,
        });
        db.enqueue_export(&owner, &payload)?.ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                format!("{owner} has an export queued or running: one at a time per user"),
            )
        })
    })
    .await?;
    exports.wake.notify();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "id": id.0, "status": "queued" })),
    ))
}

fn job_view(j: &JobInfo) -> Value {
    let p = &j.payload;
    json!({
        "id": j.id.0,
        "owner": p.get("owner"),
        "format": p.get("format"),
        "filter": p.get("filter"),
        "sort": p.get("sort"),
        "destination": p.get("destination"),
        "status": j.state,
        "rows": p.get("rows").cloned().unwrap_or(json!(0)),
        "bytes": p.get("bytes").cloned().unwrap_or(json!(0)),
        "error": j.last_error,
        "created_at": j.created_at,
        "finished_at": j.finished_at,
    })
}

/// `GET /api/v1/exports`: the caller's jobs, every one's for an admin.
pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        let p = authorize(db, &headers, Role::Viewer, "exports need a user token")?;
        let (owner, role) = owner_of(&p)?;
        let who = (role != Role::Admin).then_some(owner.as_str());
        let jobs = db.export_jobs(who, 200)?;
        Ok(Json(
            json!({ "exports": jobs.iter().map(job_view).collect::<Vec<_>>() }),
        ))
    })
    .await
}

/// The job, if the caller may see it (its owner, or an admin).
fn visible_job(db: &Db, headers: &HeaderMap, id: i64) -> ApiResult<JobInfo> {
    let p = authorize(db, headers, Role::Viewer, "exports need a user token")?;
    let (owner, role) = owner_of(&p)?;
    let job = db
        .job(JobId(id))?
        .filter(|j| j.kind == EXPORT_JOB)
        .filter(|j| role == Role::Admin || j.payload.get("owner") == Some(&json!(owner)))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no export {id}")))?;
    Ok(job)
}

/// `GET /api/v1/exports/{id}`
pub async fn status(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        Ok(Json(job_view(&visible_job(db, &headers, id)?)))
    })
    .await
}

/// `GET /api/v1/exports/{id}/download`
pub async fn download(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
) -> ApiResult<Response> {
    let job = with_db(&state, move |db| visible_job(db, &headers, id)).await?;
    if job.payload.get("destination") != Some(&json!({"type": "download"})) {
        return Err(ApiError::bad(format!(
            "export {id} went to its destination, not to a download"
        )));
    }
    if job.state != kensa_store::JobState::Done {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("export {id} is not done"),
        ));
    }
    let format: Format = serde_json::from_value(job.payload["format"].clone())
        .map_err(|e| ApiError::bad(format!("export {id}: {e}")))?;
    let path = state
        .exports
        .downloads
        .join(format!("{id}.{}", format.ext()));
    let file = tokio::task::spawn_blocking(move || std::fs::File::open(&path))
        .await
        .map_err(|e| ApiError::from(ServerError::Internal(e.to_string())))?
        .map_err(|_| ApiError::new(StatusCode::GONE, format!("export {id}: the file is gone")))?;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(8);
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut file = file;
        loop {
            let mut buf = vec![0u8; CHUNK];
            match file.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, attachment(format)),
        ],
        Body::from_stream(Chunks(rx)),
    )
        .into_response())
}

// ------------------------------------------------------------ the worker

/// A temporary file in `dir` that is removed unless kept.
struct Temp {
    path: PathBuf,
    keep: bool,
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Hashes what it writes (the S3 payload hash is computed on the way to
/// the temporary file, not by reading it again).
struct Hashing<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(b)?;
        self.hash.update(&b[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

pub struct ExportWorker {
    pub name: String,
    pub db: Db,
    pub exports: Arc<Exports>,
}

impl ExportWorker {
    /// Claim and run one export; `false` when none is waiting.
    pub fn step(&mut self) -> Result<bool> {
        let Some(job) = self
            .db
            .claim(&self.name, &[EXPORT_JOB], crate::lease::duration())?
        else {
            return Ok(false);
        };
        // Renewed for the whole job, the upload of a large object included.
        let result = crate::lease::run_leased(&self.db, &job, || self.run_job(&job));
        match result {
            Ok(()) => self.db.complete(&job)?,
            Err(e) => {
                eprintln!("kensa server: export {} failed: {e}", job.id.0);
                self.db.fail(&job, &e.to_string())?;
            }
        }
        Ok(true)
    }

    fn run_job(&self, job: &Job) -> Result<()> {
        let bad = |what: &str| ServerError::Internal(format!("export {}: {what}", job.id.0));
        let p = &job.payload;
        let format: Format =
            serde_json::from_value(p["format"].clone()).map_err(|e| bad(&e.to_string()))?;
        let filter = Filter::parse(p["filter"].as_str().unwrap_or(""))?;
        let sort: Sort = p["sort"].as_str().unwrap_or("severity:desc").parse()?;
        let dest: Destination =
            serde_json::from_value(p["destination"].clone()).map_err(|e| bad(&e.to_string()))?;
        let id = job.id;
        let mut reported = Instant::now();
        let db = &self.db;
        // Progress for the status API, every 20 s or so.
        let mut tick = |rows: u64| -> Result<()> {
            if reported.elapsed() >= Duration::from_secs(20) {
                reported = Instant::now();
                let mut progress = job.payload.clone();
                progress["rows"] = json!(rows);
                db.set_job_payload(job, &progress)?;
            }
            Ok(())
        };
        let (written, extra) = match &dest {
            Destination::Download => {
                let path = self
                    .exports
                    .downloads
                    .join(format!("{}.{}", id.0, format.ext()));
                let w = self.to_file(&path, &filter, sort, format, &mut tick)?;
                (w, json!({}))
            }
            Destination::Path { path } => {
                let target = resolve_path(&self.exports.dir, path).map_err(|e| bad(&e))?;
                let w = self.to_file(&target, &filter, sort, format, &mut tick)?;
                (w, json!({ "written_to": target }))
            }
            Destination::S3 {
                bucket,
                key,
                encryption,
            } => self.to_s3(
                id,
                bucket,
                key,
                encryption.as_ref(),
                &filter,
                sort,
                format,
                &mut tick,
            )?,
        };
        let mut done = job.payload.clone();
        done["rows"] = json!(written.rows);
        done["bytes"] = json!(written.bytes);
        if let (Some(d), Some(e)) = (done.as_object_mut(), extra.as_object()) {
            d.extend(e.clone());
        }
        self.db.set_job_payload(job, &done)?;
        Ok(())
    }

    /// Writes to a temporary file beside `target`, renamed into place once
    /// complete: a reader never sees half an export.
    fn to_file(
        &self,
        target: &Path,
        filter: &Filter,
        sort: Sort,
        format: Format,
        tick: &mut impl FnMut(u64) -> Result<()>,
    ) -> Result<Written> {
        let dir = target.parent().unwrap_or(Path::new("."));
        let io = |source| ServerError::Io {
            path: target.display().to_string(),
            source,
        };
        let tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        let w = write_export(&self.db, filter, sort, format, tmp.as_file(), tick)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(target).map_err(|e| io(e.error))?;
        Ok(w)
    }

    #[allow(clippy::too_many_arguments)]
    fn to_s3(
        &self,
        id: JobId,
        bucket: &str,
        key: &str,
        encryption: Option<&Encryption>,
        filter: &Filter,
        sort: Sort,
        format: Format,
        tick: &mut impl FnMut(u64) -> Result<()>,
    ) -> Result<(Written, Value)> {
        let cfg =
            self.exports.s3.clone().ok_or_else(|| {
                ServerError::Internal("no S3-compatible store is configured".into())
            })?;
        let path = self.exports.downloads.join(format!("{}.s3.tmp", id.0));
        let _temp = Temp {
            path: path.clone(),
            keep: false,
        };
        let io = |source| ServerError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = std::fs::File::create(&path).map_err(io)?;
        let mut out = Hashing {
            inner: BufWriter::new(file),
            hash: Sha256::new(),
        };
        let mut amz: Vec<(String, String)> = vec![(
            "x-amz-meta-kensa-export".into(),
            format!("{} rows", format.ext()),
        )];
        let written = match encryption {
            Some(Encryption::Client) => {
                let kek = self.exports.kek.as_ref().ok_or_else(|| {
                    ServerError::Internal("client-side encryption needs --export-kek-file".into())
                })?;
                let mut enc = crypto::Encryptor::new(&mut out, kek)?;
                let w = write_export(&self.db, filter, sort, format, &mut enc, tick)?;
                let env = enc.envelope.clone();
                enc.finish().map_err(io)?;
                amz.extend([
                    ("x-amz-meta-kensa-encryption".into(), crypto::SCHEME.into()),
                    ("x-amz-meta-kensa-kek-id".into(), env.kek_id),
                    ("x-amz-meta-kensa-wrapped-key".into(), env.wrapped_key),
                    ("x-amz-meta-kensa-wrap-nonce".into(), env.wrap_nonce),
                    (
                        "x-amz-meta-kensa-plaintext-length".into(),
                        w.bytes.to_string(),
                    ),
                ]);
                w
            }
            Some(Encryption::SseKms { key_id }) => {
                amz.extend([
                    ("x-amz-server-side-encryption".into(), "aws:kms".into()),
                    (
                        "x-amz-server-side-encryption-aws-kms-key-id".into(),
                        key_id.clone(),
                    ),
                ]);
                write_export(&self.db, filter, sort, format, &mut out, tick)?
            }
            None => write_export(&self.db, filter, sort, format, &mut out, tick)?,
        };
        out.flush().map_err(io)?;
        let sha = hex::encode(out.hash.finalize());
        let len = std::fs::metadata(&path).map_err(io)?.len();
        amz[0].1 = format!("{} {} rows", format.ext(), written.rows);
        let content_type = if matches!(encryption, Some(Encryption::Client)) {
            "application/octet-stream"
        } else {
            format.content_type()
        };
        let file = std::fs::File::open(&path).map_err(io)?;
        S3::new(cfg).put(
            bucket,
            key,
            s3::Upload {
                body: file,
                len,
                sha256: sha,
            },
            content_type,
            &amz,
        )?;
        Ok((
            Written {
                rows: written.rows,
                bytes: len,
            },
            json!({ "object": format!("s3://{bucket}/{key}") }),
        ))
    }

    /// Work until `stop`.
    pub fn run(mut self, stop: Arc<AtomicBool>) {
        while !stop.load(Ordering::Relaxed) {
            match self.step() {
                Ok(true) => {}
                Ok(false) => self.exports.wake.wait(Duration::from_secs(2)),
                Err(e) => {
                    eprintln!("kensa server: export worker {}: {e}", self.name);
                    self.exports.wake.wait(Duration::from_secs(2));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_export_directory() {
        let d = tempfile::tempdir().expect("dir");
        let root = d.path().canonicalize().expect("canon");
        std::fs::create_dir(root.join("sub")).expect("mkdir");
        assert_eq!(
            resolve_path(&root, "a.csv").expect("plain"),
            root.join("a.csv")
        );
        assert_eq!(
            resolve_path(&root, "sub/a.csv").expect("sub"),
            root.join("sub/a.csv")
        );
        let abs = root.join("b.csv");
        assert_eq!(
            resolve_path(&root, abs.to_str().expect("utf8")).expect("absolute inside"),
            abs
        );
        assert!(resolve_path(&root, "../x.csv").is_err());
        assert!(resolve_path(&root, "sub/../../x.csv").is_err());
        assert!(resolve_path(&root, "/etc/passwd").is_err());
        assert!(resolve_path(&root, "/tmp/x.csv").is_err());
        assert!(resolve_path(&root, "").is_err());
        assert!(resolve_path(&root, "missing-dir/x.csv").is_err());
        std::os::unix::fs::symlink("/tmp", root.join("out")).expect("symlink");
        assert!(resolve_path(&root, "out/x.csv").is_err());
    }
}
