//! Export jobs: `POST /api/v1/exports` queues one, the caller (or an
//! admin) follows and downloads it; where a `path` destination may write.

#[allow(unused_imports)]
use super::*;

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
    /// A file under the export directory: named by the job inside `dir`
    /// (default: the export directory itself), or `path` when the export
    /// settings let callers name files.
    Path {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dir: Option<String>,
    },
    /// An object: named by the job after `prefix`, or `key` when the
    /// export settings let callers name objects.
    S3 {
        bucket: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        encryption: Option<Encryption>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExportRequest {
    format: String,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    sort: Option<String>,
    destination: Destination,
}

/// The name of what job `id` writes when the caller does not name it.
pub fn job_file_name(id: i64, format: Format, encryption: Option<&Encryption>) -> String {
    match encryption {
        Some(Encryption::Client) => format!("kensa-export-{id}.{}.kenc", format.ext()),
        _ => format!("kensa-export-{id}.{}", format.ext()),
    }
}

/// Where a `path` destination writes for job `id`, checked.
pub fn path_target(
    dir: &Path,
    path: Option<&str>,
    sub: Option<&str>,
    name: &str,
) -> std::result::Result<PathBuf, String> {
    match (path, sub) {
        (Some(p), None) => resolve_path(dir, p),
        (None, sub) => {
            let sub = sub.unwrap_or("").trim_end_matches('/');
            if sub.is_empty() {
                resolve_path(dir, name)
            } else {
                resolve_path(dir, &format!("{sub}/{name}"))
            }
        }
        (Some(_), Some(_)) => Err("path: give `path` or `dir`, not both".into()),
    }
}

/// The object key job `id` writes.
pub fn s3_key(key: Option<&str>, prefix: Option<&str>, name: &str) -> String {
    match (key, prefix) {
        (Some(k), _) => k.to_owned(),
        (None, Some(p)) if !p.is_empty() => format!("{}/{name}", p.trim_end_matches('/')),
        (None, _) => name.to_owned(),
    }
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

pub(super) fn owner_of(p: &Principal) -> ApiResult<(String, Role)> {
    match p {
        Principal::User { name, role } => Ok((name.clone(), *role)),
        Principal::Agent { .. } => Err(ApiError::forbidden("exports need a user token")),
    }
}

/// Checks a request from `p` against the settings and queues it; the
/// job's id. Shared by a new export and a retry.
fn queue(db: &Db, exports: &Exports, p: &Principal, req: ExportRequest) -> ApiResult<JobId> {
    let (owner, role) = owner_of(p)?;
    let format = Format::parse(&req.format)?;
    let filter = parse_filter(req.filter.as_deref())?;
    let sort = parse_sort(req.sort.as_deref())?;
    let settings = ExportSettings::load(db)?;
    let named = |what: &str, instead: &str| {
        ApiError::forbidden(&format!(
            "naming the export ({what}): it is named by its job (kensa-export-<id>.<ext>); \
             give `{instead}` instead, or ask an admin to allow caller-chosen names \
             (export setting caller_names)"
        ))
    };
    // Checked now, so that a refused destination is the caller's 400 or
    // 403, not a failed job to find later.
    if !matches!(req.destination, Destination::Download) && role < settings.role() {
        return Err(ApiError::forbidden(&format!(
            "sending an export to a path or S3 needs the {} role (export setting \
             destination_role); a download needs none",
            settings.destination_role
        )));
    }
    match &req.destination {
        Destination::Download => {}
        Destination::Path { path, dir } => {
            if path.is_some() && !settings.caller_names {
                return Err(named("path", "dir"));
            }
            path_target(
                &exports.dir,
                path.as_deref(),
                dir.as_deref(),
                &job_file_name(0, format, None),
            )
            .map_err(ApiError::bad)?;
        }
        Destination::S3 {
            bucket,
            key,
            prefix,
            encryption,
        } => {
            if exports.s3.is_none() {
                return Err(ApiError::bad(
                    "no S3-compatible store is configured (KENSA_S3_ENDPOINT)",
                ));
            }
            if key.is_some() && !settings.caller_names {
                return Err(named("key", "prefix"));
            }
            if key.is_some() && prefix.is_some() {
                return Err(ApiError::bad("s3: give `key` or `prefix`, not both"));
            }
            if bucket.is_empty() || key.as_deref() == Some("") {
                return Err(ApiError::bad("s3: bucket and key may not be empty"));
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
    // The byte limit is on what the server keeps on its own disk: files
    // kept for download and files written into the export directory.
    let max_bytes = match req.destination {
        Destination::Download | Destination::Path { .. } => settings.max_bytes_per_user,
        Destination::S3 { .. } => u64::MAX,
    };
    let payload = json!({
        "owner": owner,
        "format": format,
        "filter": filter.to_string(),
        "sort": sort.to_string(),
        "destination": req.destination,
    });
    match db.enqueue_export(&owner, &payload, max_bytes)? {
        Enqueued::Queued(id) => Ok(id),
        Enqueued::Busy(other) => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "{owner} has export {} queued or running: one at a time per user \
                 (cancel it with POST /api/v1/exports/{}/cancel)",
                other.0, other.0
            ),
        )),
        Enqueued::OverQuota { held } => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{owner}'s kept downloads and export-directory files hold {held} bytes, \
                 at or over the limit of {} (export setting max_bytes_per_user): delete some \
                 (DELETE /api/v1/exports/<id>) or wait until downloads expire",
                settings.max_bytes_per_user
            ),
        )),
    }
}

/// `POST /api/v1/exports`
pub async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let req: ExportRequest = parse_json(&body, "export request")?;
    let exports = Arc::clone(&state.exports);
    let ex = Arc::clone(&exports);
    let id = with_db(&state, move |db| {
        let p = authorize(
            db,
            &headers,
            Role::Viewer,
            "exporting findings needs a user token",
        )?;
        queue(db, &ex, &p, req)
    })
    .await?;
    exports.wake.notify();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "id": id.0, "status": "queued" })),
    ))
}

/// `POST /api/v1/exports/{id}/retry`: the same export again, as a new
/// job of the caller's (a failed, cancelled or expired one, or a done one
/// to refresh).
pub async fn retry(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let exports = Arc::clone(&state.exports);
    let ex = Arc::clone(&exports);
    let new = with_db(&state, move |db| {
        let (p, job) = visible_job(db, &headers, id)?;
        if matches!(job.info.state, JobState::Queued | JobState::Running) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("export {id} is {}: nothing to retry", state_name(&job)),
            ));
        }
        let pl = &job.info.payload;
        let req = ExportRequest {
            format: pl["format"].as_str().unwrap_or("csv").to_owned(),
            filter: pl["filter"].as_str().map(str::to_owned),
            sort: pl["sort"].as_str().map(str::to_owned),
            destination: serde_json::from_value(pl["destination"].clone())
                .map_err(|e| ApiError::bad(format!("export {id}: destination: {e}")))?,
        };
        queue(db, &ex, &p, req)
    })
    .await?;
    exports.wake.notify();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "id": new.0, "status": "queued", "retry_of": id })),
    ))
}

/// `POST /api/v1/exports/{id}/cancel`: a queued or running export stops
/// (its worker at its next check, within 10,000 rows) and is reported
/// `cancelled`; the owner may start another at once.
pub async fn cancel(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
) -> ApiResult<Json<Value>> {
    let exports = Arc::clone(&state.exports);
    with_db(&state, move |db| {
        let (p, job) = visible_job(db, &headers, id)?;
        let (who, _) = owner_of(&p)?;
        if !db.cancel_export(JobId(id), &who)? {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "export {id} is {}: only a queued or running export can be cancelled",
                    state_name(&job)
                ),
            ));
        }
        exports.remove_temp(id, &job.info.payload);
        let settings = ExportSettings::load(db)?;
        let job = db
            .export_job(JobId(id))?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no export {id}")))?;
        Ok(Json(job_view(&job, &settings)))
    })
    .await
}

/// `DELETE /api/v1/exports/{id}`: the job and the file kept for its
/// download (a running one is stopped first).
pub async fn delete(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
) -> ApiResult<StatusCode> {
    let exports = Arc::clone(&state.exports);
    let job = with_db(&state, move |db| {
        let (_, job) = visible_job(db, &headers, id)?;
        db.delete_export(JobId(id))?;
        Ok(job)
    })
    .await?;
    tokio::task::spawn_blocking(move || {
        exports.remove_temp(job.info.id.0, &job.info.payload);
        exports.remove_kept(job.info.id.0, &job.info.payload);
    })
    .await
    .map_err(|e| ApiError::from(ServerError::Internal(e.to_string())))?;
    Ok(StatusCode::NO_CONTENT)
}

/// What the API calls a job's state: the queue's, or `cancelled` (failed
/// by a person) or `expired` (done, its download deleted).
pub(super) fn state_name(j: &ExportJob) -> &'static str {
    match j.info.state {
        JobState::Queued => "queued",
        JobState::Running => "running",
        JobState::Done if j.expired_at.is_some() => "expired",
        JobState::Done => "done",
        JobState::Failed if j.info.payload.get("cancelled_by").is_some() => "cancelled",
        JobState::Failed => "failed",
    }
}

pub(super) fn job_view(job: &ExportJob, settings: &ExportSettings) -> Value {
    let j = &job.info;
    let p = &j.payload;
    let download = p.get("destination") == Some(&json!({"type": "download"}));
    let retention_ms = i64::try_from(settings.retention_seconds)
        .unwrap_or(i64::MAX)
        .saturating_mul(1000);
    let expires_at = match (download, j.state, j.finished_at, job.expired_at) {
        (true, JobState::Done, Some(t), None) => Some(Timestamp::from_unix_ms(
            t.unix_ms().saturating_add(retention_ms),
        )),
        _ => None,
    };
    json!({
        "id": j.id.0,
        "owner": p.get("owner"),
        "format": p.get("format"),
        "filter": p.get("filter"),
        "sort": p.get("sort"),
        "destination": p.get("destination"),
        "status": state_name(job),
        "rows": p.get("rows").cloned().unwrap_or(json!(0)),
        "bytes": p.get("bytes").cloned().unwrap_or(json!(0)),
        "written_to": p.get("written_to"),
        "object": p.get("object"),
        "cancelled_by": p.get("cancelled_by"),
        "error": j.last_error,
        "created_at": j.created_at,
        "finished_at": j.finished_at,
        "expires_at": expires_at,
        "expired_at": job.expired_at,
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
        let settings = ExportSettings::load(db)?;
        Ok(Json(json!({
            "exports": jobs.iter().map(|j| job_view(j, &settings)).collect::<Vec<_>>(),
            "held_bytes": db.export_bytes_held(&owner)?,
            "max_bytes_per_user": settings.max_bytes_per_user,
        })))
    })
    .await
}

/// The caller and the job, if the caller may see it (its owner, or an
/// admin).
pub(super) fn visible_job(
    db: &Db,
    headers: &HeaderMap,
    id: i64,
) -> ApiResult<(Principal, ExportJob)> {
    let p = authorize(db, headers, Role::Viewer, "exports need a user token")?;
    let (owner, role) = owner_of(&p)?;
    let job = db
        .export_job(JobId(id))?
        .filter(|j| role == Role::Admin || j.info.payload.get("owner") == Some(&json!(owner)))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no export {id}")))?;
    Ok((p, job))
}

/// `GET /api/v1/exports/{id}`
pub async fn status(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        let (_, job) = visible_job(db, &headers, id)?;
        Ok(Json(job_view(&job, &ExportSettings::load(db)?)))
    })
    .await
}

/// `GET /api/v1/exports/{id}/download`
pub async fn download(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
) -> ApiResult<Response> {
    let (_, job) = with_db(&state, move |db| visible_job(db, &headers, id)).await?;
    if job.info.payload.get("destination") != Some(&json!({"type": "download"})) {
        return Err(ApiError::bad(format!(
            "export {id} went to its destination, not to a download"
        )));
    }
    if job.expired_at.is_some() {
        return Err(ApiError::new(
            StatusCode::GONE,
            format!(
                "export {id} expired: its file was deleted after the retention period \
                 (export setting retention_seconds); retry it with POST /api/v1/exports/{id}/retry"
            ),
        ));
    }
    if job.info.state != JobState::Done {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("export {id} is {}, not done", state_name(&job)),
        ));
    }
    let format: Format = serde_json::from_value(job.info.payload["format"].clone())
        .map_err(|e| ApiError::bad(format!("export {id}: {e}")))?;
    let path = state.exports.download_path(id, format);
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
