//! The job queue: background work (evaluations, feed updates, exports)
//! that any server process sharing the database may do.
//!
//! Semantics: at least once. A claim leases the job to one worker until
//! `lease_until`; a worker that dies simply stops renewing, and the job is
//! claimable again once the lease has run out, so no work is lost when a
//! process is killed. Jobs must therefore be idempotent. Every claim
//! counts as an attempt and fences the job: `complete`, `fail` and
//! `extend_lease` apply only while the job is still in the claim the
//! caller holds (same worker, same attempt), so a worker that lost its
//! lease cannot overwrite the new owner's result. All times are the
//! database's clock.
//!
//! Claiming: PostgreSQL picks the oldest ready job with `FOR UPDATE SKIP
//! LOCKED`, so concurrent claimers never wait on each other nor take the
//! same job; SQLite runs one `UPDATE … RETURNING` inside an IMMEDIATE
//! transaction, which holds the only write lock.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::sql::{Dialect, Row, Sql, Val, p};
use crate::time::{Timestamp, duration_ms};
use crate::{Db, Mode};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct JobId(pub i64);

/// A claimed job: the claim is the caller's until `lease_until`.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub payload: serde_json::Value,
    pub dedupe_key: Option<String>,
    /// This claim's number: 1 for the first.
    pub attempt: u32,
    pub worker: String,
    pub lease_until: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for `run_at`.
    Queued,
    /// Claimed; claimable again once the lease has run out.
    Running,
    Done,
    /// Gave up: out of attempts, or its retry was superseded by a queued
    /// job for the same work.
    Failed,
}

impl JobState {
    fn parse(s: &str) -> Result<JobState> {
        match s {
            "queued" => Ok(JobState::Queued),
            "running" => Ok(JobState::Running),
            "done" => Ok(JobState::Done),
            "failed" => Ok(JobState::Failed),
            _ => Err(StoreError::Corrupt(format!("job state {s:?}"))),
        }
    }
}

/// Everything about a job, for inspection.
#[derive(Clone, Debug, PartialEq)]
pub struct JobInfo {
    pub id: JobId,
    pub kind: String,
    pub payload: serde_json::Value,
    pub dedupe_key: Option<String>,
    pub state: JobState,
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_at: Timestamp,
    pub locked_by: Option<String>,
    pub lease_until: Option<Timestamp>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

/// What [`Db::fail`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOutcome {
    /// Queued again, claimable from `at`.
    Retry { at: Timestamp },
    /// Out of attempts (or superseded): the job is `failed`.
    GaveUp,
}

/// How failed jobs are retried: after `base`, then twice as long after
/// each further failure, never longer than `max`; at most `max_attempts`
/// claims in all (a worker dying mid-job counts as one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base: Duration::from_secs(30),
            max: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// The wait after the `attempt`th claim failed.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(30);
        self.base.saturating_mul(1 << doublings).min(self.max)
    }
}

pub(crate) const JOB_COLUMNS: &str = "id, kind, payload, dedupe_key, state, attempts, max_attempts, run_at, \
     locked_by, lease_until, last_error, created_at, updated_at, finished_at";

pub(crate) fn info_of(r: &Row) -> Result<JobInfo> {
    Ok(JobInfo {
        id: JobId(r.i64(0)?),
        kind: r.text(1)?,
        payload: r.json(2)?,
        dedupe_key: r.opt_text(3)?,
        state: JobState::parse(&r.text(4)?)?,
        attempts: r.u32(5)?,
        max_attempts: r.u32(6)?,
        run_at: Timestamp::from_unix_ms(r.i64(7)?),
        locked_by: r.opt_text(8)?,
        lease_until: r.opt_i64(9)?.map(Timestamp::from_unix_ms),
        last_error: r.opt_text(10)?,
        created_at: Timestamp::from_unix_ms(r.i64(11)?),
        updated_at: Timestamp::from_unix_ms(r.i64(12)?),
        finished_at: r.opt_i64(13)?.map(Timestamp::from_unix_ms),
    })
}

fn lease_lost(job: &Job) -> StoreError {
    StoreError::LeaseLost {
        job: job.id.0,
        worker: job.worker.clone(),
        attempt: job.attempt,
    }
}

/// The claim fence: the job is still running in the caller's claim.
pub(crate) const OWNED: &str = "id = ? AND state = 'running' AND locked_by = ? AND attempts = ?";

pub(crate) fn owned(job: &Job) -> [Val; 3] {
    [
        Val::from(job.id.0),
        Val::from(job.worker.as_str()),
        Val::from(job.attempt),
    ]
}

impl Db {
    /// Queues a job, ready now. With a `dedupe_key`, a job of the same
    /// kind and key that is still queued (not yet started) absorbs this
    /// one: it takes the new payload and its id is returned. A job already
    /// running does not: the new request may carry newer data than the
    /// running job read.
    pub fn enqueue(
        &self,
        kind: &str,
        payload: &serde_json::Value,
        dedupe_key: Option<&str>,
    ) -> Result<JobId> {
        let max_attempts = self.retry.max_attempts;
        self.tx("enqueue job", Mode::Write, |tx| {
            enqueue_in(tx, kind, payload, dedupe_key, max_attempts)
        })
    }

    /// Claims the oldest ready job of one of `kinds` (any kind when empty)
    /// for `lease`; `None` when there is none. Ready: queued and due, or
    /// running under a lease that has run out (its worker died or hung).
    pub fn claim(&self, worker: &str, kinds: &[&str], lease: Duration) -> Result<Option<Job>> {
        let lease_ms = duration_ms(lease);
        let dialect = self.dialect();
        self.tx("claim job", Mode::Write, |tx| {
            // A job whose worker died on each of its attempts would be
            // claimed forever (and may be what kills the workers): give up.
            tx.exec(
                "UPDATE jobs SET state = 'failed', finished_at = NOW_MS, updated_at = NOW_MS, \
                 last_error = 'lease expired on the last attempt (worker ' || locked_by || ')' \
                 WHERE state = 'running' AND lease_until <= NOW_MS AND attempts >= max_attempts",
                &[],
            )?;
            let mut params = vec![Val::from(worker), Val::from(lease_ms)];
            let kind_filter = if kinds.is_empty() {
                String::new()
            } else {
                format!("kind IN ({}) AND ", vec!["?"; kinds.len()].join(", "))
            };
            let queued = "state = 'queued' AND run_at <= NOW_MS";
            let expired = "state = 'running' AND lease_until <= NOW_MS AND attempts < max_attempts";
            let pick = match dialect {
                // SQLite plans the OR of the two cases as two index searches
                // whose union it sorts, visiting every queued job on every
                // claim (quadratic when a knowledge update queues thousands
                // at once): the first of each case instead, by its index,
                // and the first of the two.
                Dialect::Sqlite => {
                    for _ in 0..2 {
                        params.extend(kinds.iter().map(|k| Val::from(*k)));
                    }
                    format!(
                        "SELECT id FROM (\
                         SELECT * FROM (SELECT id, run_at FROM jobs WHERE {kind_filter}{queued} \
                         ORDER BY run_at, id LIMIT 1) UNION ALL \
                         SELECT * FROM (SELECT id, run_at FROM jobs WHERE {kind_filter}{expired} \
                         ORDER BY run_at, id LIMIT 1)) ORDER BY run_at, id LIMIT 1"
                    )
                }
                Dialect::Postgres => {
                    params.extend(kinds.iter().map(|k| Val::from(*k)));
                    format!(
                        "SELECT id FROM jobs WHERE {kind_filter}(({queued}) OR ({expired})) \
                         ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED"
                    )
                }
            };
            let sql = format!(
                "UPDATE jobs SET state = 'running', locked_by = ?, lease_until = NOW_MS + ?, \
                 attempts = attempts + 1, updated_at = NOW_MS WHERE id = ({pick}) \
                 RETURNING id, kind, payload, dedupe_key, attempts, lease_until"
            );
            let Some(r) = tx.query_opt(&sql, &params)? else {
                return Ok(None);
            };
            Ok(Some(Job {
                id: JobId(r.i64(0)?),
                kind: r.text(1)?,
                payload: r.json(2)?,
                dedupe_key: r.opt_text(3)?,
                attempt: r.u32(4)?,
                worker: worker.to_owned(),
                lease_until: Timestamp::from_unix_ms(r.i64(5)?),
            }))
        })
    }

    /// Marks the job done, if the caller's claim still holds it
    /// ([`StoreError::LeaseLost`] otherwise). A lease that ran out but
    /// that nobody claimed since still holds: the work is done and nobody
    /// else has started it.
    pub fn complete(&self, job: &Job) -> Result<()> {
        self.tx("complete job", Mode::Write, |tx| {
            let n = tx.exec(
                &format!(
                    "UPDATE jobs SET state = 'done', lease_until = NULL, finished_at = NOW_MS, \
                     updated_at = NOW_MS WHERE {OWNED}"
                ),
                &owned(job),
            )?;
            if n == 0 {
                return Err(lease_lost(job));
            }
            export_event(tx, job, crate::notify::EXPORT_FINISHED, None)
        })
    }

    /// Records a failure: queued again after the [`RetryPolicy`]'s backoff,
    /// or failed for good when out of attempts.
    pub fn fail(&self, job: &Job, error: &str) -> Result<FailOutcome> {
        let retry = self.retry;
        let lock = match self.dialect() {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        };
        self.tx("fail job", Mode::Write, |tx| {
            let row = tx
                .query_opt(
                    &format!(
                        "SELECT attempts, max_attempts, kind, dedupe_key FROM jobs WHERE {OWNED}{lock}"
                    ),
                    &owned(job),
                )?
                .ok_or_else(|| lease_lost(job))?;
            let (attempts, max_attempts) = (row.u32(0)?, row.u32(1)?);
            let superseded = match row.opt_text(3)? {
                None => None,
                Some(key) => tx
                    .query_opt(
                        "SELECT id FROM jobs WHERE kind = ? AND dedupe_key = ? AND state = 'queued'",
                        p![row.text(2)?, key],
                    )?
                    .map(|r| r.i64(0))
                    .transpose()?,
            };
            if attempts >= max_attempts || superseded.is_some() {
                let why = match superseded {
                    Some(other) => format!("{error} (not retried: job {other} is queued for the same work)"),
                    None => error.to_owned(),
                };
                tx.exec(
                    "UPDATE jobs SET state = 'failed', last_error = ?, lease_until = NULL, \
                     finished_at = NOW_MS, updated_at = NOW_MS WHERE id = ?",
                    p![why.clone(), job.id.0],
                )?;
                export_event(tx, job, crate::notify::EXPORT_FAILED, Some(&why))?;
                return Ok(FailOutcome::GaveUp);
            }
            let wait = duration_ms(retry.backoff(attempts));
            let at = tx
                .query_one(
                    "UPDATE jobs SET state = 'queued', run_at = NOW_MS + ?, locked_by = NULL, \
                     lease_until = NULL, last_error = ?, updated_at = NOW_MS WHERE id = ? \
                     RETURNING run_at",
                    p![wait, error, job.id.0],
                )?
                .i64(0)?;
            Ok(FailOutcome::Retry {
                at: Timestamp::from_unix_ms(at),
            })
        })
    }

    /// Renews the caller's lease for a long job: `lease` from now.
    pub fn extend_lease(&self, job: &mut Job, lease: Duration) -> Result<()> {
        let lease_ms = duration_ms(lease);
        let until = self.tx("extend lease", Mode::Write, |tx| {
            let mut params = vec![Val::from(lease_ms)];
            params.extend(owned(job));
            tx.query_opt(
                &format!(
                    "UPDATE jobs SET lease_until = NOW_MS + ?, updated_at = NOW_MS WHERE {OWNED} \
                     RETURNING lease_until"
                ),
                &params,
            )?
            .ok_or_else(|| lease_lost(job))?
            .i64(0)
        })?;
        job.lease_until = Timestamp::from_unix_ms(until);
        Ok(())
    }

    pub fn job(&self, id: JobId) -> Result<Option<JobInfo>> {
        self.tx("read job", Mode::Read, |tx| {
            tx.query_opt(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?"),
                p![id.0],
            )?
            .map(|r| info_of(&r))
            .transpose()
        })
    }

    /// Jobs of a kind (all when `None`), in id order.
    pub fn jobs(&self, kind: Option<&str>) -> Result<Vec<JobInfo>> {
        self.tx("list jobs", Mode::Read, |tx| {
            let rows = match kind {
                Some(k) => tx.query(
                    &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE kind = ? ORDER BY id"),
                    p![k],
                )?,
                None => tx.query(&format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY id"), &[])?,
            };
            rows.iter().map(info_of).collect()
        })
    }
}

/// Queue a job inside the caller's transaction (see [`Db::enqueue`]), so
/// that the job commits with the change it is about, or not at all.
/// An export's end, in the transaction that records it: an event for the
/// notification rules (the format and job only: destinations may name
/// private paths and buckets, which the API shows to the export's owner).
fn export_event(tx: &mut dyn Sql, job: &Job, kind: &str, error: Option<&str>) -> Result<()> {
    if job.kind != crate::export::EXPORT_JOB {
        return Ok(());
    }
    let payload = serde_json::json!({
        "job": job.id.0,
        "format": job.payload.get("format"),
        "error": error,
    });
    let key = format!("{kind}:{}", job.id.0);
    crate::notify::emit(
        tx,
        kind,
        &format!("export:{}", job.id.0),
        None,
        &payload,
        Some(&key),
    )
}

pub(crate) fn enqueue_in(
    tx: &mut dyn Sql,
    kind: &str,
    payload: &serde_json::Value,
    dedupe_key: Option<&str>,
    max_attempts: u32,
) -> Result<JobId> {
    let row = tx.query_one(
        "INSERT INTO jobs (kind, payload, dedupe_key, state, attempts, max_attempts, \
         run_at, created_at, updated_at) \
         VALUES (?, ?, ?, 'queued', 0, ?, NOW_MS, NOW_MS, NOW_MS) \
         ON CONFLICT (kind, dedupe_key) WHERE state = 'queued' AND dedupe_key IS NOT NULL \
         DO UPDATE SET payload = excluded.payload, updated_at = excluded.updated_at \
         RETURNING id",
        p![kind, payload.clone(), dedupe_key, max_attempts],
    )?;
    Ok(JobId(row.i64(0)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let r = RetryPolicy {
            max_attempts: 10,
            base: Duration::from_secs(30),
            max: Duration::from_secs(300),
        };
        let waits: Vec<u64> = (1..=6).map(|a| r.backoff(a).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 300, 300]);
        assert_eq!(r.backoff(u32::MAX), Duration::from_secs(300));
    }
}
