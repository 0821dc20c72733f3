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
//!   encryption, [`crypto`]). One queued or running export per user.

pub mod crypto;
mod format;
mod jobs;
pub mod s3;
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

// The rooms of exports: writing the formats, streaming a response,
// export jobs and their API, the worker that runs them.
pub use format::*;
pub use jobs::*;
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
}
