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
pub fn job_file_name(id: i64, ext: &str, encryption: Option<&Encryption>) -> String {
    match encryption {
        Some(Encryption::Client) => format!("kensa-export-{id}.{ext}.kenc"),
        _ => format!("kensa-export-{id}.{ext}"),
    }
}

/// Where a `path` destination writes for job `id`, checked; missing
/// directories under the export directory are made when `create` (the
/// worker, as it writes), only checked otherwise (the API, as it queues).
pub fn path_target(
    dir: &Path,
    path: Option<&str>,
    sub: Option<&str>,
    name: &str,
    create: bool,
) -> std::result::Result<PathBuf, String> {
    match (path, sub) {
        (Some(p), None) => resolve_path(dir, p, create),
        (None, sub) => {
            let sub = sub.unwrap_or("").trim_end_matches('/');
            if sub.is_empty() {
                resolve_path(dir, name, create)
            } else {
                resolve_path(dir, &format!("{sub}/{name}"), create)
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

/// A `path` destination inside the export directory, relative to it: no
/// absolute path, no `..`, no symbolic link out of it. Its directories
/// are made under the export directory when missing and `create` (a
/// schedule writing `reports/2026/week-1.csv` the first time); without
/// `create` a missing directory is fine, since the worker makes it.
pub fn resolve_path(
    dir: &Path,
    requested: &str,
    create: bool,
) -> std::result::Result<PathBuf, String> {
    let p = Path::new(requested);
    if requested.is_empty() || p.file_name().is_none() {
        return Err(format!("path {requested:?}: a file name is needed"));
    }
    for c in p.components() {
        match c {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return Err(format!("path {requested:?}: '..' is not allowed")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "path {requested:?}: give it relative to the export directory, not absolute"
                ));
            }
        }
    }
    let root = dir
        .canonicalize()
        .map_err(|e| format!("the export directory {}: {e}", dir.display()))?;
    let name = p
        .file_name()
        .ok_or_else(|| format!("path {requested:?}: a file name is needed"))?;
    let mut at = root.clone();
    // Once one directory is missing (and not made), the rest are too.
    let mut missing = false;
    for part in p.parent().into_iter().flat_map(Path::components) {
        let Component::Normal(part) = part else {
            continue;
        };
        let next = at.join(part);
        if missing {
            at = next;
            continue;
        }
        match std::fs::symlink_metadata(&next) {
            Ok(m) if m.is_symlink() => {
                // A link is followed only while it stays inside.
                let real = next
                    .canonicalize()
                    .map_err(|e| format!("path {requested:?}: {}: {e}", next.display()))?;
                if !real.starts_with(&root) || !real.is_dir() {
                    return Err(format!(
                        "path {requested:?} is outside the export directory {}",
                        root.display()
                    ));
                }
                at = real;
            }
            Ok(m) if m.is_dir() => at = next,
            Ok(_) => {
                return Err(format!(
                    "path {requested:?}: {} is not a directory",
                    next.display()
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if create {
                    match std::fs::create_dir(&next) {
                        Ok(()) => {}
                        // Another export made it meanwhile.
                        Err(e)
                            if e.kind() == std::io::ErrorKind::AlreadyExists && next.is_dir() => {}
                        Err(e) => {
                            return Err(format!(
                                "path {requested:?}: making {}: {e}",
                                next.display()
                            ));
                        }
                    }
                } else {
                    missing = true;
                }
                at = next;
            }
            Err(e) => return Err(format!("path {requested:?}: {}: {e}", next.display())),
        }
    }
    let target = at.join(name);
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

/// Whether `role` may send an export to `dest` under `settings`, and
/// whether `dest` is well formed: the caller's 400 or 403 up front, not a
/// failed job to find later. Shared by exports and schedules.
pub(crate) fn check_destination(
    exports: &Exports,
    settings: &ExportSettings,
    role: Role,
    dest: &Destination,
    ext: &str,
) -> ApiResult<()> {
    let named = |what: &str, instead: &str| {
        ApiError::forbidden(&format!(
            "naming the export ({what}): it is named by its job (kensa-export-<id>.<ext>); \
             give `{instead}` instead, or ask an admin to allow caller-chosen names \
             (export setting caller_names)"
        ))
    };
    // Checked now, so that a refused destination is the caller's 400 or
    // 403, not a failed job to find later.
    if !matches!(dest, Destination::Download) && !role.includes(settings.role()) {
        return Err(ApiError::forbidden(&format!(
            "sending an export to a path or S3 needs the {} role (export setting \
             destination_role); a download needs none",
            settings.destination_role
        )));
    }
    match dest {
        Destination::Download => {}
        Destination::Path { path, dir } => {
            if path.is_some() && !settings.caller_names {
                return Err(named("path", "dir"));
            }
            path_target(
                &exports.dir,
                path.as_deref(),
                dir.as_deref(),
                &job_file_name(0, ext, None),
                false,
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
    Ok(())
}

/// Checks a request from `p` against the settings and queues it; the
/// job's id. Shared by a new export and a retry.
fn queue(db: &Db, exports: &Exports, p: &Principal, req: ExportRequest) -> ApiResult<JobId> {
    let (owner, role) = owner_of(p)?;
    let format = Format::parse(&req.format)?;
    let filter = parse_filter(req.filter.as_deref())?;
    let sort = parse_sort(req.sort.as_deref())?;
    let settings = ExportSettings::load(db)?;
    check_destination(exports, &settings, role, &req.destination, format.ext())?;
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

/// Queues an export of `filter` in `format` to a download for `p` (the
/// console's form); the job's id. The caller wakes the worker.
pub(crate) fn queue_download(
    db: &Db,
    exports: &Exports,
    p: &Principal,
    format: &str,
    filter: Option<&str>,
) -> ApiResult<JobId> {
    let req = ExportRequest {
        format: format.to_owned(),
        filter: filter.map(str::to_owned),
        sort: None,
        destination: Destination::Download,
    };
    queue(db, exports, p, req)
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
        let p = authorize(db, &headers, Role::Viewer, "exports need a user token")?;
        retry_job(db, &ex, &p, id)
    })
    .await?;
    exports.wake.notify();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "id": new.0, "status": "queued", "retry_of": id })),
    ))
}

/// Queues export `id` again for `p` (the API's retry and the console's);
/// the new job's id. The caller wakes the worker.
pub(crate) fn retry_job(db: &Db, exports: &Exports, p: &Principal, id: i64) -> ApiResult<JobId> {
    let job = job_for(db, p, id)?;
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
    queue(db, exports, p, req)
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
        let p = authorize(db, &headers, Role::Viewer, "exports need a user token")?;
        let job = cancel_job(db, &exports, &p, id)?;
        Ok(Json(job_view(&job, &ExportSettings::load(db)?)))
    })
    .await
}

/// Cancels export `id` for `p` (the API's and the console's); the job as
/// it is now.
pub(crate) fn cancel_job(
    db: &Db,
    exports: &Exports,
    p: &Principal,
    id: i64,
) -> ApiResult<ExportJob> {
    let job = job_for(db, p, id)?;
    let (who, _) = owner_of(p)?;
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
    db.export_job(JobId(id))?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no export {id}")))
}

/// `DELETE /api/v1/exports/{id}`: the job and the file kept for its
/// download (a running one is stopped first).
pub async fn delete(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
) -> ApiResult<StatusCode> {
    let exports = Arc::clone(&state.exports);
    with_db(&state, move |db| {
        let p = authorize(db, &headers, Role::Viewer, "exports need a user token")?;
        delete_job(db, &exports, &p, id)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes export `id` for `p` (the API's and the console's), with its
/// temporary file and kept download.
pub(crate) fn delete_job(db: &Db, exports: &Exports, p: &Principal, id: i64) -> ApiResult<()> {
    let job = job_for(db, p, id)?;
    db.delete_export(JobId(id))?;
    exports.remove_temp(job.info.id.0, &job.info.payload);
    exports.remove_kept(job.info.id.0, &job.info.payload);
    Ok(())
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
        list_jobs(db, &p).map(Json)
    })
    .await
}

/// The jobs `p` sees (their own; an admin every one's) as the API lists
/// them, with the bytes their downloads hold and the limit.
pub(crate) fn list_jobs(db: &Db, p: &Principal) -> ApiResult<Value> {
    let (owner, role) = owner_of(p)?;
    let who = (role != Role::Admin).then_some(owner.as_str());
    let jobs = db.export_jobs(who, 200)?;
    let settings = ExportSettings::load(db)?;
    Ok(json!({
        "exports": jobs.iter().map(|j| job_view(j, &settings)).collect::<Vec<_>>(),
        "held_bytes": db.export_bytes_held(&owner)?,
        "max_bytes_per_user": settings.max_bytes_per_user,
    }))
}

/// The caller and the job, if the caller may see it (its owner, or an
/// admin).
pub(super) fn visible_job(
    db: &Db,
    headers: &HeaderMap,
    id: i64,
) -> ApiResult<(Principal, ExportJob)> {
    let p = authorize(db, headers, Role::Viewer, "exports need a user token")?;
    let job = job_for(db, &p, id)?;
    Ok((p, job))
}

/// Job `id` if `p` may see it (its owner, or an admin); 404 otherwise,
/// so that other users' jobs are not even confirmed to exist.
pub(crate) fn job_for(db: &Db, p: &Principal, id: i64) -> ApiResult<ExportJob> {
    let (owner, role) = owner_of(p)?;
    db.export_job(JobId(id))?
        .filter(|j| role == Role::Admin || j.info.payload.get("owner") == Some(&json!(owner)))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no export {id}")))
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
            resolve_path(&root, "a.csv", false).expect("plain"),
            root.join("a.csv")
        );
        assert_eq!(
            resolve_path(&root, "sub/a.csv", false).expect("sub"),
            root.join("sub/a.csv")
        );
        let abs = root.join("b.csv");
        assert!(
            resolve_path(&root, abs.to_str().expect("utf8"), true).is_err(),
            "absolute, even inside"
        );
        assert!(resolve_path(&root, "../x.csv", true).is_err());
        assert!(resolve_path(&root, "sub/../../x.csv", true).is_err());
        assert!(resolve_path(&root, "new/../x.csv", true).is_err());
        assert!(
            !root.join("new").exists(),
            "nothing made for a refused path"
        );
        assert!(resolve_path(&root, "/etc/passwd", true).is_err());
        assert!(resolve_path(&root, "/tmp/x.csv", true).is_err());
        assert!(resolve_path(&root, "", true).is_err());
        std::os::unix::fs::symlink("/tmp", root.join("out")).expect("symlink");
        assert!(resolve_path(&root, "out/x.csv", true).is_err());
        assert!(resolve_path(&root, "out/deeper/x.csv", true).is_err());
        std::fs::write(root.join("file"), "").expect("file");
        assert!(resolve_path(&root, "file/x.csv", true).is_err());
        // Missing directories: checked only, then made.
        assert_eq!(
            resolve_path(&root, "r/2026/w1.csv", false).expect("checked"),
            root.join("r/2026/w1.csv")
        );
        assert!(!root.join("r").exists(), "a check makes nothing");
        assert_eq!(
            resolve_path(&root, "r/2026/w1.csv", true).expect("made"),
            root.join("r/2026/w1.csv")
        );
        assert!(root.join("r/2026").is_dir());
        // A link inside that stays inside is followed.
        std::os::unix::fs::symlink(root.join("r"), root.join("alias")).expect("symlink");
        assert_eq!(
            resolve_path(&root, "alias/2026/w2.csv", true).expect("inside link"),
            root.join("r/2026/w2.csv")
        );
    }
}
