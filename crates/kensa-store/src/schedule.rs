//! Schedules: saved exports run on a cron expression, as their owner
//! (issue 19). The server computes due times (cron, time zone); the store
//! keeps them and makes each due time run once however many servers share
//! the database: [`Db::claim_schedule_run`] moves the schedule to its next
//! due time, records the run under the primary key (schedule, due time)
//! and queues the export job, all in one transaction.

use serde::Serialize;

use crate::error::{Result, StoreError};
use crate::export::EXPORT_JOB;
use crate::queue::{JobId, enqueue_in};
use crate::sql::{Row, p};
use crate::time::Timestamp;
use crate::{Db, Mode};

/// A stored schedule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Schedule {
    pub id: i64,
    pub name: String,
    /// The user it runs as (who made it).
    pub owner: String,
    pub cron: String,
    pub timezone: String,
    /// What to export and where (the server's schema).
    pub spec: serde_json::Value,
    pub enabled: bool,
    pub next_due: Timestamp,
    pub last_due: Option<Timestamp>,
    pub last_job: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What a schedule is made or changed with.
#[derive(Clone, Debug)]
pub struct ScheduleDef<'a> {
    pub name: &'a str,
    pub cron: &'a str,
    pub timezone: &'a str,
    pub spec: &'a serde_json::Value,
    pub enabled: bool,
    pub next_due: Timestamp,
}

const COLUMNS: &str = "id, name, owner, cron, timezone, spec, enabled, next_due, last_due, \
     last_job, created_at, updated_at";

fn schedule_of(r: &Row) -> Result<Schedule> {
    Ok(Schedule {
        id: r.i64(0)?,
        name: r.text(1)?,
        owner: r.text(2)?,
        cron: r.text(3)?,
        timezone: r.text(4)?,
        spec: r.json(5)?,
        enabled: r.bool(6)?,
        next_due: Timestamp::from_unix_ms(r.i64(7)?),
        last_due: r.opt_i64(8)?.map(Timestamp::from_unix_ms),
        last_job: r.opt_i64(9)?,
        created_at: Timestamp::from_unix_ms(r.i64(10)?),
        updated_at: Timestamp::from_unix_ms(r.i64(11)?),
    })
}

fn taken(name: &str) -> StoreError {
    StoreError::InvalidArgument(format!("name {name:?}: a schedule of that name exists"))
}

impl Db {
    /// A new schedule of `owner`'s; its id. A name in use is refused.
    pub fn create_schedule(&self, owner: &str, d: &ScheduleDef<'_>, at: Timestamp) -> Result<i64> {
        self.tx("create schedule", Mode::Write, |tx| {
            tx.query_opt(
                "INSERT INTO schedules (name, owner, cron, timezone, spec, enabled, next_due, \
                 created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (name) DO NOTHING RETURNING id",
                p![
                    d.name,
                    owner,
                    d.cron,
                    d.timezone,
                    d.spec.clone(),
                    d.enabled,
                    d.next_due.unix_ms(),
                    at.unix_ms(),
                    at.unix_ms()
                ],
            )?
            .ok_or_else(|| taken(d.name))?
            .i64(0)
        })
    }

    /// Replaces schedule `id`'s definition (its owner stays).
    pub fn update_schedule(&self, id: i64, d: &ScheduleDef<'_>, at: Timestamp) -> Result<()> {
        self.tx("update schedule", Mode::Write, |tx| {
            if tx
                .query_opt(
                    "SELECT id FROM schedules WHERE name = ? AND id <> ?",
                    p![d.name, id],
                )?
                .is_some()
            {
                return Err(taken(d.name));
            }
            let n = tx.exec(
                "UPDATE schedules SET name = ?, cron = ?, timezone = ?, spec = ?, enabled = ?, \
                 next_due = ?, updated_at = ? WHERE id = ?",
                p![
                    d.name,
                    d.cron,
                    d.timezone,
                    d.spec.clone(),
                    d.enabled,
                    d.next_due.unix_ms(),
                    at.unix_ms(),
                    id
                ],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound {
                    what: format!("schedule {id}"),
                });
            }
            Ok(())
        })
    }

    /// Deletes schedule `id` (its run records go with it); whether it was
    /// there.
    pub fn delete_schedule(&self, id: i64) -> Result<bool> {
        self.tx("delete schedule", Mode::Write, |tx| {
            Ok(tx.exec("DELETE FROM schedules WHERE id = ?", p![id])? > 0)
        })
    }

    pub fn schedule(&self, id: i64) -> Result<Option<Schedule>> {
        self.tx("schedule", Mode::Read, |tx| {
            tx.query_opt(
                &format!("SELECT {COLUMNS} FROM schedules WHERE id = ?"),
                p![id],
            )?
            .as_ref()
            .map(schedule_of)
            .transpose()
        })
    }

    /// Every schedule, by name.
    pub fn schedules(&self) -> Result<Vec<Schedule>> {
        self.tx("schedules", Mode::Read, |tx| {
            tx.query(
                &format!("SELECT {COLUMNS} FROM schedules ORDER BY name"),
                &[],
            )?
            .iter()
            .map(schedule_of)
            .collect()
        })
    }

    /// The enabled schedules due at `now`, earliest first.
    pub fn due_schedules(&self, now: Timestamp) -> Result<Vec<Schedule>> {
        self.tx("due schedules", Mode::Read, |tx| {
            tx.query(
                &format!(
                    "SELECT {COLUMNS} FROM schedules WHERE enabled = ? AND next_due <= ? \
                     ORDER BY next_due, id"
                ),
                p![true, now.unix_ms()],
            )?
            .iter()
            .map(schedule_of)
            .collect()
        })
    }

    /// Runs schedule `id`'s occurrence due at `due`: its next due time
    /// becomes `next`, the run is recorded, and `payload` is queued as an
    /// export job (`None` payload: the occurrence is skipped, recorded
    /// without a job, as when its owner may no longer export). `Ok(None)`
    /// when another server claimed this occurrence first, or the schedule
    /// changed meanwhile: nothing was done.
    pub fn claim_schedule_run(
        &self,
        id: i64,
        due: Timestamp,
        next: Timestamp,
        worker: &str,
        payload: Option<&serde_json::Value>,
        now: Timestamp,
    ) -> Result<Option<Option<JobId>>> {
        self.tx("claim schedule run", Mode::Write, |tx| {
            // The row lock orders concurrent claimers on PostgreSQL: the
            // second finds `next_due` moved and does nothing.
            let moved = tx.exec(
                "UPDATE schedules SET next_due = ?, last_due = ?, updated_at = ? \
                 WHERE id = ? AND next_due = ? AND enabled = ?",
                p![
                    next.unix_ms(),
                    due.unix_ms(),
                    now.unix_ms(),
                    id,
                    due.unix_ms(),
                    true
                ],
            )?;
            if moved == 0 {
                return Ok(None);
            }
            let claimed = tx.query_opt(
                "INSERT INTO schedule_runs (schedule_id, due_at, claimed_by, claimed_at) \
                 VALUES (?, ?, ?, ?) ON CONFLICT (schedule_id, due_at) DO NOTHING \
                 RETURNING schedule_id",
                p![id, due.unix_ms(), worker, now.unix_ms()],
            )?;
            if claimed.is_none() {
                return Ok(None);
            }
            let Some(payload) = payload else {
                return Ok(Some(None));
            };
            // Keyed by occurrence: never merged with another queued export.
            let key = format!("schedule:{id}:{}", due.unix_ms());
            let job = enqueue_in(tx, EXPORT_JOB, payload, Some(&key), 1)?;
            tx.exec(
                "UPDATE schedule_runs SET job_id = ? WHERE schedule_id = ? AND due_at = ?",
                p![job.0, id, due.unix_ms()],
            )?;
            tx.exec(
                "UPDATE schedules SET last_job = ? WHERE id = ?",
                p![job.0, id],
            )?;
            Ok(Some(Some(job)))
        })
    }

    /// The runs of schedule `id`, newest first: (due time, job).
    pub fn schedule_runs(&self, id: i64, limit: u32) -> Result<Vec<(Timestamp, Option<i64>)>> {
        self.tx("schedule runs", Mode::Read, |tx| {
            tx.query(
                "SELECT due_at, job_id FROM schedule_runs WHERE schedule_id = ? \
                 ORDER BY due_at DESC LIMIT ?",
                p![id, limit],
            )?
            .iter()
            .map(|r| Ok((Timestamp::from_unix_ms(r.i64(0)?), r.opt_i64(1)?)))
            .collect()
        })
    }
}
