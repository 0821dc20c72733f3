//! Exports: every finding a filter selects, in a sort's order, handed to
//! the caller one record at a time.
//!
//! Memory stays flat whatever the count: the rows are read in keyset pages
//! (the list API's statement, [`crate::query::Keyset`]), each page in its
//! own short read transaction, so that an export of a million findings
//! neither holds a million rows nor keeps a transaction open for its whole
//! length (which would hold back SQLite's WAL checkpoints). Assets are read
//! once each and shared by their findings.
//!
//! Reading, decoding and the caller's work overlap: one thread reads the
//! pages, another decodes each finding's JSON record, and the caller's
//! thread handles the records (formats a CSV row, say). Each of the three
//! is a third of the work, so that the cores of a small server all work.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use kensa_model::Finding;
use serde::{Deserialize, Serialize};

use crate::asset::{ASSET_COLUMNS, Asset, AssetId, asset_of};
use crate::error::{Result, StoreError};
use crate::filter::Filter;
use crate::lifecycle::{FindingId, Status};
use crate::query::{Keyset, Sort};
use crate::queue::{JOB_COLUMNS, Job, JobId, JobInfo, OWNED, enqueue_in, info_of, owned};
use crate::sql::p;
use crate::sql::{Dialect, Row, Val};
use crate::time::Timestamp;
use crate::triage::{TRIAGE_COLUMNS, Triage, triage_of};
use crate::{Db, Mode};

/// The job kind of background exports.
pub const EXPORT_JOB: &str = "export";

/// Rows per page: big enough that a statement's fixed cost disappears,
/// small enough that a page is a few megabytes.
const PAGE: u32 = 1000;
/// Pages read ahead of the decoder.
const AHEAD: usize = 2;
/// Assets kept for reuse; past this the cache starts again, so that an
/// export over a huge fleet stays bounded too.
const ASSET_CACHE: usize = 50_000;

/// One exported finding: the stored finding with the detection's full
/// record, its triage and its asset.
#[derive(Clone, Debug, Serialize)]
pub struct ExportRecord {
    pub id: FindingId,
    pub status: Status,
    pub first_observed: Timestamp,
    pub last_observed: Timestamp,
    pub updated_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub reopen_count: u32,
    /// Installed copies of the package the latest evaluation matched.
    pub occurrences: u32,
    pub triage: Triage,
    /// Shared by every finding of the asset.
    #[serde(serialize_with = "shared")]
    pub asset: Arc<Asset>,
    pub finding: Finding,
}

fn shared<S: serde::Serializer>(a: &Arc<Asset>, s: S) -> std::result::Result<S::Ok, S::Error> {
    a.as_ref().serialize(s)
}

/// After the triage columns (13, `f.id` first).
const REST: &str = "f.asset_id, f.first_observed, f.last_observed, f.updated_at, f.closed_at, \
     f.reopen_count, f.occurrences";
const TRIAGE_WIDTH: usize = 13;
const DETAIL: usize = TRIAGE_WIDTH + 7;
const WIDTH: usize = DETAIL + 1;

/// A page as read: its rows and the assets they need that the reader had
/// not sent before.
struct Page {
    /// The reader forgot which assets it sent: so must the decoder.
    reset: bool,
    rows: Vec<Row>,
    assets: Vec<Asset>,
}

impl Db {
    /// Calls `each` with every finding `filter` selects, in `sort`'s order;
    /// how many. An error from `each` stops the export and is returned.
    pub fn export_findings(
        &self,
        filter: &Filter,
        sort: Sort,
        mut each: impl FnMut(ExportRecord) -> Result<()>,
    ) -> Result<u64> {
        // PostgreSQL hands JSONB over as a parsed tree; as text it is
        // parsed once, straight into the record, on the decoding thread.
        let detail = match self.dialect() {
            Dialect::Sqlite => "f.detail",
            Dialect::Postgres => "CAST(f.detail AS TEXT)",
        };
        let ks = Keyset::new(
            self.dialect(),
            filter,
            sort,
            &format!("{TRIAGE_COLUMNS}, {REST}, {detail}"),
        )?;
        let (tx, rx) = sync_channel::<Page>(AHEAD);
        let (done_tx, done_rx) = sync_channel::<Vec<ExportRecord>>(AHEAD);
        std::thread::scope(|s| {
            let reader = s.spawn(|| self.read_pages(&ks, tx));
            let decoder = s.spawn(move || decode(rx, done_tx));
            let mut n = 0u64;
            let mut out = Ok(());
            'batches: for batch in done_rx {
                for r in batch {
                    if let Err(e) = each(r) {
                        out = Err(e);
                        break 'batches;
                    }
                    n += 1;
                }
            }
            // Dropping `done_rx` (the loop consumed it) stops the decoder
            // at its next send, and the decoder's end stops the reader.
            let decoded = decoder
                .join()
                .unwrap_or_else(|_| Err(StoreError::Corrupt("export decoder panicked".into())));
            let read = reader
                .join()
                .unwrap_or_else(|_| Err(StoreError::Corrupt("export reader panicked".into())));
            // The first failure along the line is the one to report: a read
            // error ends the pages early, a decoding error the records.
            read?;
            decoded?;
            out?;
            Ok(n)
        })
    }

    /// Queues an export job for `owner`, unless one of theirs is queued or
    /// running, or the files of theirs the server keeps (downloads and
    /// `path` files, [`Db::export_bytes_held`]) hold `max_bytes` or more. The job's dedupe key names the owner, which is
    /// how their jobs are listed.
    pub fn enqueue_export(
        &self,
        owner: &str,
        payload: &serde_json::Value,
        max_bytes: u64,
    ) -> Result<Enqueued> {
        let key = format!("export:{owner}");
        let dialect = self.dialect();
        self.tx("queue export", Mode::Write, |tx| {
            // SQLite's write transaction is already exclusive; PostgreSQL's
            // are not, so two requests of one user take turns here.
            if dialect == Dialect::Postgres {
                tx.query(
                    "SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtext(?))) AS l",
                    p![key.as_str()],
                )?;
            }
            let busy = tx.query_opt(
                "SELECT id FROM jobs WHERE kind = ? AND dedupe_key = ? \
                 AND state IN ('queued', 'running')",
                p![EXPORT_JOB, key.as_str()],
            )?;
            if let Some(r) = busy {
                return Ok(Enqueued::Busy(JobId(r.i64(0)?)));
            }
            let held = held_bytes(tx, &key)?;
            if held >= max_bytes {
                return Ok(Enqueued::OverQuota { held });
            }
            // One attempt: an export whose worker died is reported failed
            // (and started again by its owner), not silently redone later.
            enqueue_in(tx, EXPORT_JOB, payload, Some(&key), 1).map(Enqueued::Queued)
        })
    }

    /// The bytes of `owner`'s finished exports the server still keeps on
    /// its disk: downloads not expired, and files written to a `path`
    /// destination whose job is kept.
    pub fn export_bytes_held(&self, owner: &str) -> Result<u64> {
        let key = format!("export:{owner}");
        self.tx("export bytes held", Mode::Read, |tx| held_bytes(tx, &key))
    }

    /// Export jobs, newest first: `owner`'s, or everyone's when `None`.
    pub fn export_jobs(&self, owner: Option<&str>, limit: u32) -> Result<Vec<ExportJob>> {
        self.tx("list exports", Mode::Read, |tx| {
            let rows = match owner {
                Some(o) => tx.query(
                    &format!(
                        "SELECT {JOB_COLUMNS}, expired_at FROM jobs WHERE kind = ? \
                         AND dedupe_key = ? ORDER BY id DESC LIMIT ?"
                    ),
                    p![EXPORT_JOB, format!("export:{o}"), limit],
                )?,
                None => tx.query(
                    &format!(
                        "SELECT {JOB_COLUMNS}, expired_at FROM jobs WHERE kind = ? \
                         ORDER BY id DESC LIMIT ?"
                    ),
                    p![EXPORT_JOB, limit],
                )?,
            };
            rows.iter().map(export_job_of).collect()
        })
    }

    /// One export job.
    pub fn export_job(&self, id: JobId) -> Result<Option<ExportJob>> {
        self.tx("read export", Mode::Read, |tx| {
            tx.query_opt(
                &format!("SELECT {JOB_COLUMNS}, expired_at FROM jobs WHERE id = ? AND kind = ?"),
                p![id.0, EXPORT_JOB],
            )?
            .map(|r| export_job_of(&r))
            .transpose()
        })
    }

    /// Stops a queued or running export: it is failed, `cancelled_by`
    /// recorded in its payload, and its worker, which finds its claim gone
    /// at its next check, stops writing. `false` when it was not queued or
    /// running.
    pub fn cancel_export(&self, id: JobId, by: &str) -> Result<bool> {
        let lock = match self.dialect() {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        };
        self.tx("cancel export", Mode::Write, |tx| {
            let Some(r) = tx.query_opt(
                &format!(
                    "SELECT payload FROM jobs WHERE id = ? AND kind = ? \
                     AND state IN ('queued', 'running'){lock}"
                ),
                p![id.0, EXPORT_JOB],
            )?
            else {
                return Ok(false);
            };
            let mut payload = r.json(0)?;
            payload["cancelled_by"] = serde_json::Value::from(by);
            tx.exec(
                "UPDATE jobs SET state = 'failed', payload = ?, last_error = ?, \
                 locked_by = NULL, lease_until = NULL, finished_at = NOW_MS, \
                 updated_at = NOW_MS WHERE id = ?",
                p![payload, format!("cancelled by {by}"), id.0],
            )?;
            Ok(true)
        })
    }

    /// Deletes an export job whatever its state (a running one's worker
    /// stops at its next check); `false` when there was none.
    pub fn delete_export(&self, id: JobId) -> Result<bool> {
        self.tx("delete export", Mode::Write, |tx| {
            Ok(tx.exec(
                "DELETE FROM jobs WHERE id = ? AND kind = ?",
                p![id.0, EXPORT_JOB],
            )? > 0)
        })
    }

    /// Marks expired the finished downloads older than `retention`; the
    /// jobs marked, whose files the caller deletes.
    pub fn expire_exports(&self, retention: std::time::Duration) -> Result<Vec<JobInfo>> {
        let ms = crate::time::duration_ms(retention);
        let download = match self.dialect() {
            Dialect::Sqlite => "json_extract(payload, '$.destination.type') = 'download'",
            Dialect::Postgres => "payload->'destination'->>'type' = 'download'",
        };
        self.tx("expire exports", Mode::Write, |tx| {
            tx.query(
                &format!(
                    "UPDATE jobs SET expired_at = NOW_MS, updated_at = NOW_MS \
                     WHERE kind = ? AND state = 'done' AND expired_at IS NULL \
                     AND finished_at <= NOW_MS - ? AND {download} RETURNING {JOB_COLUMNS}"
                ),
                p![EXPORT_JOB, ms],
            )?
            .iter()
            .map(info_of)
            .collect()
        })
    }

    /// Fails the export jobs still marked running (SQLite only, at the
    /// start of the one server process that uses the file: whatever ran
    /// them died with the previous process); how many.
    pub fn fail_interrupted_exports(&self) -> Result<u64> {
        if self.dialect() != Dialect::Sqlite {
            return Ok(0);
        }
        self.tx("fail interrupted exports", Mode::Write, |tx| {
            tx.exec(
                "UPDATE jobs SET state = 'failed', locked_by = NULL, lease_until = NULL, \
                 last_error = 'interrupted: the server stopped during the export', \
                 finished_at = NOW_MS, updated_at = NOW_MS \
                 WHERE kind = ? AND state = 'running'",
                p![EXPORT_JOB],
            )
        })
    }

    /// The export settings as stored (`None`: never set, the defaults).
    pub fn export_settings(&self) -> Result<Option<serde_json::Value>> {
        self.tx("read export settings", Mode::Read, |tx| {
            tx.query_opt("SELECT value FROM settings WHERE key = 'exports'", &[])?
                .map(|r| r.json(0))
                .transpose()
        })
    }

    /// Replaces the export settings.
    pub fn set_export_settings(&self, value: &serde_json::Value, at: Timestamp) -> Result<()> {
        self.tx("set export settings", Mode::Write, |tx| {
            tx.exec(
                "INSERT INTO settings (key, value, updated_at) VALUES ('exports', ?, ?) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, \
                 updated_at = excluded.updated_at",
                &[Val::Json(value.clone()), Val::from(at.unix_ms())],
            )?;
            Ok(())
        })
    }

    /// Whether the caller's claim still holds the job (not cancelled,
    /// deleted, or taken over).
    pub fn job_held(&self, job: &Job) -> Result<bool> {
        self.tx("job held", Mode::Read, |tx| {
            Ok(tx
                .query_opt(&format!("SELECT 1 FROM jobs WHERE {OWNED}"), &owned(job))?
                .is_some())
        })
    }

    /// Replaces a running job's payload (an export's progress and result),
    /// while the caller's claim holds it.
    pub fn set_job_payload(&self, job: &Job, payload: &serde_json::Value) -> Result<()> {
        self.tx("job progress", Mode::Write, |tx| {
            let mut params = vec![Val::Json(payload.clone())];
            params.extend(owned(job));
            let n = tx.exec(
                &format!("UPDATE jobs SET payload = ?, updated_at = NOW_MS WHERE {OWNED}"),
                &params,
            )?;
            if n == 0 {
                return Err(StoreError::LeaseLost {
                    job: job.id.0,
                    worker: job.worker.clone(),
                    attempt: job.attempt,
                });
            }
            Ok(())
        })
    }

    fn read_pages(&self, ks: &Keyset, tx: SyncSender<Page>) -> Result<()> {
        let mut after = None;
        let mut sent: std::collections::HashSet<i64> = std::collections::HashSet::new();
        loop {
            let reset = sent.len() + PAGE as usize > ASSET_CACHE;
            if reset {
                sent.clear();
            }
            let (sql, params) = ks.page(after.take(), PAGE);
            let page = self.tx("export findings", Mode::Read, |t| {
                let rows = t.query(&sql, &params)?;
                let mut ids: Vec<i64> = Vec::new();
                for r in &rows {
                    let id = r.i64(TRIAGE_WIDTH)?;
                    if !sent.contains(&id) && !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                let assets = if ids.is_empty() {
                    Vec::new()
                } else {
                    let params: Vec<Val> = ids.iter().map(|i| Val::I64(*i)).collect();
                    t.query(
                        &format!(
                            "SELECT {ASSET_COLUMNS} FROM assets WHERE id IN ({})",
                            vec!["?"; ids.len()].join(", ")
                        ),
                        &params,
                    )?
                    .iter()
                    .map(asset_of)
                    .collect::<Result<Vec<_>>>()?
                };
                Ok(Page {
                    reset,
                    rows,
                    assets,
                })
            })?;
            sent.extend(page.assets.iter().map(|a| a.id.0));
            let last = page.rows.len() < PAGE as usize;
            after = match page.rows.last() {
                Some(r) => Some(Keyset::after(r, WIDTH, ks.cols.len())?),
                None => None,
            };
            if tx.send(page).is_err() {
                // The decoder stopped (the caller's error): nothing to do.
                return Ok(());
            }
            if last || after.is_none() {
                return Ok(());
            }
        }
    }
}

/// What [`Db::enqueue_export`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enqueued {
    Queued(JobId),
    /// The owner's export that is queued or running.
    Busy(JobId),
    /// The owner's kept downloads already hold `held` bytes.
    OverQuota {
        held: u64,
    },
}

/// An export job, and when its kept file expired.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportJob {
    pub info: JobInfo,
    pub expired_at: Option<Timestamp>,
}

fn export_job_of(r: &Row) -> Result<ExportJob> {
    Ok(ExportJob {
        info: info_of(r)?,
        expired_at: r.opt_i64(14)?.map(Timestamp::from_unix_ms),
    })
}

/// The bytes of the finished, unexpired downloads of the owner whose
/// dedupe key is `key`.
fn held_bytes(tx: &mut dyn crate::sql::Sql, key: &str) -> Result<u64> {
    let rows = tx.query(
        "SELECT payload FROM jobs WHERE kind = ? AND dedupe_key = ? AND state = 'done' \
         AND expired_at IS NULL",
        p![EXPORT_JOB, key],
    )?;
    let mut held = 0u64;
    for r in &rows {
        let p = r.json(0)?;
        // Files written into the export directory take the server's disk
        // as downloads do, so they count alike (issue 13): a path export
        // cannot write past the limit a download is held to.
        if matches!(p["destination"]["type"].as_str(), Some("download" | "path")) {
            held = held.saturating_add(p["bytes"].as_u64().unwrap_or(0));
        }
    }
    Ok(held)
}

/// Turns pages into records, on a thread of its own: decoding the JSON
/// records is as much work as reading them.
fn decode(rx: Receiver<Page>, out: SyncSender<Vec<ExportRecord>>) -> Result<()> {
    let mut assets: HashMap<i64, Arc<Asset>> = HashMap::new();
    for page in rx {
        if page.reset {
            assets.clear();
        }
        for a in page.assets {
            assets.insert(a.id.0, Arc::new(a));
        }
        let batch = page
            .rows
            .iter()
            .map(|r| record_of(r, &assets))
            .collect::<Result<Vec<_>>>()?;
        if out.send(batch).is_err() {
            // The caller stopped: nothing more is wanted.
            return Ok(());
        }
    }
    Ok(())
}

fn record_of(r: &Row, assets: &HashMap<i64, Arc<Asset>>) -> Result<ExportRecord> {
    let (id, triage) = triage_of(r)?;
    let asset_id = r.i64(TRIAGE_WIDTH)?;
    let asset = assets
        .get(&asset_id)
        .cloned()
        .ok_or_else(|| StoreError::NotFound {
            what: format!("{} of finding {id}", AssetId(asset_id)),
        })?;
    let finding: Finding = match r.val(DETAIL)? {
        Val::Text(s) => serde_json::from_str(s),
        Val::Json(v) => Finding::deserialize(v),
        _ => return Err(StoreError::Corrupt(format!("finding {id}: no detail"))),
    }
    .map_err(|e| StoreError::Corrupt(format!("finding {id}: detail: {e}")))?;
    let status = triage
        .status
        .ok_or_else(|| StoreError::Corrupt(format!("finding {id}: no status")))?;
    Ok(ExportRecord {
        id: FindingId(id),
        status,
        first_observed: Timestamp::from_unix_ms(r.i64(TRIAGE_WIDTH + 1)?),
        last_observed: Timestamp::from_unix_ms(r.i64(TRIAGE_WIDTH + 2)?),
        updated_at: Timestamp::from_unix_ms(r.i64(TRIAGE_WIDTH + 3)?),
        closed_at: r.opt_i64(TRIAGE_WIDTH + 4)?.map(Timestamp::from_unix_ms),
        reopen_count: r.u32(TRIAGE_WIDTH + 5)?,
        occurrences: r.u32(TRIAGE_WIDTH + 6)?,
        triage,
        asset,
        finding,
    })
}
