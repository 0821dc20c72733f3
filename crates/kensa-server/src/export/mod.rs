//! Exports of a filtered finding list: CSV in Amazon Inspector's
//! findings-report columns, or JSON with the full finding objects.
//!
//! - `GET /api/v1/findings/export` ([`stream`]; the formats are [`format`]) streams the export as the response
//!   body: a blocking task writes it into a bounded channel that the body
//!   reads, so that memory stays flat whatever the size, and a slow client
//!   slows the export instead of filling the server's memory.
//! - `POST /api/v1/exports` ([`jobs`]) queues a background job (the database queue,
//!   claimed by a dedicated export worker, [`worker`]) whose result goes to a file
//!   kept for download, a path under the configured export directory, or
//!   an S3-compatible bucket (with SSE-KMS, or with client-side envelope
//!   encryption, [`crypto`]). One queued or running export per user; a
//!   job can be cancelled, retried and deleted. The export settings
//!   ([`settings`]) bound what a user keeps (retention, bytes), who may
//!   write to a path or S3, and whether the caller names the file; the
//!   worker's sweep deletes expired downloads and stale temporary files.

pub mod crypto;
mod format;
mod jobs;
mod report;
pub mod s3;
mod settings;
mod stream;
mod worker;

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
    Asset, AssetKind, Db, EXPORT_JOB, Enqueued, ExportJob, ExportRecord, Filter, Job, JobId,
    JobState, Sort, Timestamp,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::kit::{ApiError, ApiResult, AppState, authorize, parse_json, with_db};

pub(crate) fn routes() -> axum::Router<Arc<AppState>> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/v1/findings/export", get(stream))
        .route("/api/v1/exports", get(list).post(create))
        .route("/api/v1/exports/{id}", get(status).delete(jobs::delete))
        .route("/api/v1/exports/{id}/download", get(download))
        .route("/api/v1/exports/{id}/cancel", post(cancel))
        .route("/api/v1/exports/{id}/retry", post(retry))
        .route(
            "/api/v1/settings/exports",
            get(get_settings).put(put_settings),
        )
}
use crate::auth::{Principal, Role};
use crate::error::{Result, ServerError};
use crate::worker::Wake;

// The rooms of exports: writing the formats, streaming a response,
// export jobs and their API, the worker that runs them.
pub use format::*;
pub use jobs::*;
pub use report::Report;
pub use settings::*;
pub use stream::*;
pub use worker::*;

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

    /// The file kept for job `id`'s download.
    pub fn download_path(&self, id: i64, format: Format) -> PathBuf {
        self.downloads.join(format!("{id}.{}", format.ext()))
    }

    /// Deletes the file kept for a job: a download's (if the file is here:
    /// with several servers, on the one that ran it), or a `path` export's
    /// when the job named it (`kensa-export-<id>.<ext>`), since its bytes
    /// counted against its owner's limit until now. A file the caller
    /// named (`path`, allowed by an admin) is left: another job may have
    /// written it since.
    pub fn remove_kept(&self, id: i64, payload: &Value) {
        let Ok(report) = report::Report::of(payload) else {
            return;
        };
        let path = match serde_json::from_value::<Destination>(payload["destination"].clone()) {
            Ok(Destination::Download) => match report {
                report::Report::Findings { format, .. } => self.download_path(id, format),
                report::Report::Assets { .. } => return,
            },
            Ok(Destination::Path { path: None, dir }) => {
                match path_target(
                    &self.dir,
                    None,
                    dir.as_deref(),
                    &job_file_name(id, report.ext(), None),
                    false,
                ) {
                    Ok(t) => t,
                    Err(_) => return,
                }
            }
            _ => return,
        };
        match std::fs::remove_file(&path) {
            Ok(()) => tracing::info!("export {id}: {} deleted", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::error!("export {id}: deleting {}: {e}", path.display()),
        }
    }
}

impl Exports {
    /// Deletes the temporary file of job `id` (cancelled or deleted): a
    /// worker still writing it (another server's, on a shared database)
    /// finds its claim gone and keeps nothing.
    pub fn remove_temp(&self, id: i64, payload: &Value) {
        let dir = match serde_json::from_value::<Destination>(payload["destination"].clone()) {
            Ok(Destination::Path { path, dir }) => {
                let format = serde_json::from_value::<Format>(payload["format"].clone())
                    .unwrap_or(Format::Csv);
                match path_target(
                    &self.dir,
                    path.as_deref(),
                    dir.as_deref(),
                    &job_file_name(id, format.ext(), None),
                    false,
                ) {
                    Ok(t) => t.parent().map(Path::to_path_buf),
                    Err(_) => None,
                }
            }
            Ok(_) => Some(self.downloads.clone()),
            Err(_) => None,
        };
        if let Some(dir) = dir {
            let temp = temp_path(&dir, id);
            if std::fs::remove_file(&temp).is_ok() {
                tracing::info!("export {id}: {} deleted", temp.display());
            }
        }
    }
}

/// The temporary file an export writes in `dir` before it is complete:
/// named by job, so that a sweep can tell whose it is.
pub fn temp_path(dir: &Path, id: i64) -> PathBuf {
    dir.join(format!(".kensa-export-{id}.tmp"))
}

/// The job a temporary file of [`temp_path`] belongs to.
fn temp_job(name: &str) -> Option<i64> {
    name.strip_prefix(".kensa-export-")?
        .strip_suffix(".tmp")?
        .parse()
        .ok()
}
