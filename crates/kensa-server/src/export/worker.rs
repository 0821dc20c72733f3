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
                tracing::error!("export {} failed: {e}", job.id.0);
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
                    tracing::error!("export worker {}: {e}", self.name);
                    self.exports.wake.wait(Duration::from_secs(2));
                }
            }
        }
    }
}
