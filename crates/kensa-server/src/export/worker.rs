//! The export worker: claims export jobs from the database queue, writes
//! them to a temporary file, and delivers them (kept for download, a path,
//! or S3, encrypted if asked).

#[allow(unused_imports)]
use super::*;

/// A temporary file in `dir` that is removed unless kept.
pub(super) struct Temp {
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
pub(super) struct Hashing<W> {
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

/// Refuses to write past `limit` bytes: an export to a file on the server
/// stops at the user's quota instead of filling the disk.
pub(super) struct Capped<W> {
    inner: W,
    written: u64,
    limit: u64,
}

impl<W: Write> Write for Capped<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.written.saturating_add(b.len() as u64) > self.limit {
            return Err(std::io::Error::other(format!(
                "the export would pass {} bytes, the room left under the user's limit \
                 (export setting max_bytes_per_user)",
                self.limit
            )));
        }
        let n = self.inner.write(b)?;
        self.written += n as u64;
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
    /// Where export durations are counted for `/metrics`.
    pub metrics: Arc<crate::observe::Metrics>,
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
        let started = Instant::now();
        let result = crate::lease::run_leased(&self.db, &job, || self.run_job(&job));
        self.metrics
            .job(&job.kind, result.is_ok(), started.elapsed());
        match result {
            Ok(()) => {
                if let Err(e) = self.db.complete(&job) {
                    // Cancelled or deleted as it finished: what it wrote for
                    // download goes too.
                    self.exports.remove_kept(job.id.0, &job.payload);
                    return Err(e.into());
                }
            }
            Err(e) if !self.db.job_held(&job)? => {
                tracing::info!(
                    "export {} stopped: it was cancelled or deleted ({e})",
                    job.id.0
                );
            }
            Err(e) => {
                tracing::error!("export {} failed: {e}", job.id.0);
                self.db.fail(&job, &e.to_string())?;
            }
        }
        Ok(true)
    }

    fn run_job(&self, job: &Job) -> Result<()> {
        let bad = |what: &str| ServerError::Internal(format!("export {}: {what}", job.id.0));
        let p = &job.payload;
        let report = Report::of(p)?;
        let dest: Destination =
            serde_json::from_value(p["destination"].clone()).map_err(|e| bad(&e.to_string()))?;
        let settings = ExportSettings::load(&self.db)?;
        let id = job.id;
        let mut reported = Instant::now();
        let db = &self.db;
        // Every 10,000 rows: stop if the job was cancelled or deleted, and
        // progress for the status API every 20 s or so.
        let mut tick = |rows: u64| -> Result<()> {
            if !db.job_held(job)? {
                return Err(bad("cancelled or deleted while it ran"));
            }
            if reported.elapsed() >= Duration::from_secs(20) {
                reported = Instant::now();
                let mut progress = job.payload.clone();
                progress["rows"] = json!(rows);
                db.set_job_payload(job, &progress)?;
            }
            Ok(())
        };
        // Downloads and path files share the owner's room on this disk.
        let room = || -> Result<u64> {
            let owner = p["owner"].as_str().unwrap_or_default();
            Ok(settings
                .max_bytes_per_user
                .saturating_sub(db.export_bytes_held(owner)?))
        };
        let (written, extra) = match &dest {
            Destination::Download => {
                let Report::Findings { format, .. } = &report else {
                    return Err(bad(
                        "a register report goes to a path or S3, not a download",
                    ));
                };
                let room = room()?;
                let path = self.exports.download_path(id.0, *format);
                let w = self.to_file(job, &path, room, &report, &mut tick)?;
                (w, json!({}))
            }
            Destination::Path { path, dir } => {
                let name = job_file_name(id.0, report.ext(), None);
                let target = path_target(
                    &self.exports.dir,
                    path.as_deref(),
                    dir.as_deref(),
                    &name,
                    true,
                )
                .map_err(|e| bad(&e))?;
                let w = self.to_file(job, &target, room()?, &report, &mut tick)?;
                (w, json!({ "written_to": target }))
            }
            Destination::S3 {
                bucket,
                key,
                prefix,
                encryption,
            } => {
                let name = job_file_name(id.0, report.ext(), encryption.as_ref());
                let key = s3_key(key.as_deref(), prefix.as_deref(), &name);
                self.to_s3(id, bucket, &key, encryption.as_ref(), &report, &mut tick)?
            }
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

    /// Writes to a temporary file beside `target` (named by the job, so
    /// that a sweep after a crash knows whose it is), renamed into place
    /// once complete: a reader never sees half an export. At most `limit`
    /// bytes.
    fn to_file(
        &self,
        job: &Job,
        target: &Path,
        limit: u64,
        report: &Report,
        tick: &mut impl FnMut(u64) -> Result<()>,
    ) -> Result<Written> {
        let dir = target.parent().unwrap_or(Path::new("."));
        let io = |source| ServerError::Io {
            path: target.display().to_string(),
            source,
        };
        let temp = Temp {
            path: temp_path(dir, job.id.0),
            keep: false,
        };
        let file = std::fs::File::create(&temp.path).map_err(io)?;
        let mut out = Capped {
            inner: &file,
            written: 0,
            limit,
        };
        let w = report.write(&self.db, &mut out, tick)?;
        file.sync_all().map_err(io)?;
        // Not put in place for a job cancelled or deleted meanwhile.
        if !self.db.job_held(job)? {
            return Err(ServerError::Internal(format!(
                "export {}: cancelled or deleted while it ran",
                job.id.0
            )));
        }
        std::fs::rename(&temp.path, target).map_err(io)?;
        Ok(w)
    }
    fn to_s3(
        &self,
        id: JobId,
        bucket: &str,
        key: &str,
        encryption: Option<&Encryption>,
        report: &Report,
        tick: &mut impl FnMut(u64) -> Result<()>,
    ) -> Result<(Written, Value)> {
        let cfg =
            self.exports.s3.clone().ok_or_else(|| {
                ServerError::Internal("no S3-compatible store is configured".into())
            })?;
        let path = temp_path(&self.exports.downloads, id.0);
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
            format!("{} rows", report.ext()),
        )];
        let written = match encryption {
            Some(Encryption::Client) => {
                let kek = self.exports.kek.as_ref().ok_or_else(|| {
                    ServerError::Internal("client-side encryption needs --export-kek-file".into())
                })?;
                let mut enc = crypto::Encryptor::new(&mut out, kek)?;
                let w = report.write(&self.db, &mut enc, tick)?;
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
                report.write(&self.db, &mut out, tick)?
            }
            None => report.write(&self.db, &mut out, tick)?,
        };
        out.flush().map_err(io)?;
        let sha = hex::encode(out.hash.finalize());
        let len = std::fs::metadata(&path).map_err(io)?.len();
        amz[0].1 = format!("{} {} rows", report.ext(), written.rows);
        let content_type = if matches!(encryption, Some(Encryption::Client)) {
            "application/octet-stream"
        } else {
            report.content_type()
        };
        let file = std::fs::File::open(&path).map_err(io)?;
        let stored = S3::new(cfg).put(
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
            json!({ "object": format!("s3://{bucket}/{key}"), "etag": stored.etag }),
        ))
    }

    /// Deletes what exports left behind: the downloads past the retention
    /// period (their jobs marked expired), files of jobs deleted or
    /// expired, and temporary files of jobs no longer running (a crash
    /// leaves them). Run at start and then every few seconds to a minute.
    pub fn sweep(&self) -> Result<()> {
        let settings = ExportSettings::load(&self.db)?;
        for job in self.db.expire_exports(settings.retention())? {
            self.exports.remove_kept(job.id.0, &job.payload);
        }
        self.sweep_dir(&self.exports.downloads, true, 0)?;
        self.sweep_dir(&self.exports.dir, false, 0)
    }

    /// `downloads`: the server's own directory, where every file is an
    /// export's; else the export directory, where only the temporary files
    /// named by [`temp_path`] are ours. Subdirectories to a small depth,
    /// symbolic links not followed.
    fn sweep_dir(&self, dir: &Path, downloads: bool, depth: u32) -> Result<()> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(ServerError::Io {
                    path: dir.display().to_string(),
                    source,
                });
            }
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                if !downloads && depth < 8 {
                    self.sweep_dir(&path, false, depth + 1)?;
                }
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let stale = if let Some(id) = temp_job(&name) {
                // A running job's claim may be another server's (sharing
                // PostgreSQL and this directory): left until it is not.
                !self
                    .db
                    .export_job(JobId(id))?
                    .is_some_and(|j| j.info.state == JobState::Running)
            } else if downloads {
                match name
                    .split_once('.')
                    .and_then(|(id, _)| id.parse::<i64>().ok())
                {
                    Some(id) => match self.db.export_job(JobId(id))? {
                        None => true,
                        Some(j) => j.expired_at.is_some() || j.info.state == JobState::Failed,
                    },
                    // Temporary files of earlier versions (`.tmpXXXXXX`,
                    // `<id>.s3.tmp`) and anything else: only exports
                    // belong here.
                    None => true,
                }
            } else {
                false
            };
            if stale {
                match std::fs::remove_file(&path) {
                    Ok(()) => tracing::info!("exports: deleted {}", path.display()),
                    Err(e) => tracing::error!("exports: deleting {}: {e}", path.display()),
                }
            }
        }
        Ok(())
    }

    /// Work until `stop`.
    pub fn run(mut self, stop: Arc<AtomicBool>) {
        let mut swept: Option<Instant> = None;
        while !stop.load(Ordering::Relaxed) {
            let every = ExportSettings::load(&self.db)
                .map(|s| (s.retention() / 4).clamp(Duration::from_secs(1), Duration::from_secs(60)))
                .unwrap_or(Duration::from_secs(60));
            if swept.is_none_or(|t| t.elapsed() >= every) {
                swept = Some(Instant::now());
                if let Err(e) = self.sweep() {
                    tracing::error!("export sweep: {e}");
                }
            }
            match self.step() {
                Ok(true) => {}
                Ok(false) => self.exports.wake.wait(Duration::from_secs(2)),
                Err(e) => {
                    tracing::error!("export worker {}: {e}", self.name);
                    self.exports.wake.wait(Duration::from_secs(2));
                }
            }
        }
    }
}
