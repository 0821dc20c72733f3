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
pub(super) struct ExportRequest {
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

pub(super) fn owner_of(p: &Principal) -> ApiResult<(String, Role)> {
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

pub(super) fn job_view(j: &JobInfo) -> Value {
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
pub(super) fn visible_job(db: &Db, headers: &HeaderMap, id: i64) -> ApiResult<JobInfo> {
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
