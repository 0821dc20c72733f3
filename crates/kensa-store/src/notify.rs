//! Notifications: the event outbox, the rules that match its events and
//! the deliveries that carry them to a channel.
//!
//! Events are written in the transaction of the change that causes them
//! (an evaluation, a knowledge update, an export, a sweep), so a crash
//! loses none and a rolled-back change emits none. The delivery worker
//! then matches pending events against the rules ([`Db::match_events`]):
//! the events of one rule and one cause (each mode), or of one hour or day
//! (digest modes), collect in one delivery row, which is one message. A
//! flood (a knowledge update opening thousands of findings) is therefore
//! one digest. Deliveries are claimed under a lease ([`Db::claim_delivery`],
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL), retried with backoff and
//! dead-lettered after the last attempt. Each message carries a stable id
//! (`evt-N` for one event, `dig-N` for a digest), so a receiver can drop
//! the copy a crash between sending and recording may cause.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::filter::Filter;
use crate::sql::{Dialect, Sql, Val, p};
use crate::time::{Timestamp, duration_ms};
use crate::{AssetId, Db, Mode};

/// Every event type, as rules name them.
pub const EVENT_TYPES: &[&str] = &[
    FINDING_OPENED,
    FINDING_REOPENED,
    FINDING_CLOSED,
    SEVERITY_CHANGED,
    KEV_CHANGED,
    DUE_APPROACHING,
    DUE_PASSED,
    ASSET_SILENT,
    COVERAGE_LOST,
    EOL_APPROACHING,
    KB_UPDATED,
    EXPORT_FINISHED,
    EXPORT_FAILED,
];
pub const FINDING_OPENED: &str = "finding.opened";
pub const FINDING_REOPENED: &str = "finding.reopened";
pub const FINDING_CLOSED: &str = "finding.closed";
pub const SEVERITY_CHANGED: &str = "finding.severity_changed";
pub const KEV_CHANGED: &str = "finding.kev_changed";
pub const DUE_APPROACHING: &str = "finding.due_approaching";
pub const DUE_PASSED: &str = "finding.due_passed";
pub const ASSET_SILENT: &str = "asset.silent";
pub const COVERAGE_LOST: &str = "asset.coverage_lost";
pub const EOL_APPROACHING: &str = "asset.eol_approaching";
pub const KB_UPDATED: &str = "kb.updated";
pub const EXPORT_FINISHED: &str = "export.finished";
pub const EXPORT_FAILED: &str = "export.failed";

/// Events matched per transaction: bounded so that one match never holds
/// the outbox for long, large enough that a flood takes few rounds.
const MATCH_BATCH: usize = 5000;
/// Events a digest lists one by one; the rest are counted.
pub const DIGEST_LIST: usize = 50;

/// What the delivery worker is told to send: one rule's message.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Delivery {
    pub id: i64,
    /// The idempotency key: `evt-N` for one event, `dig-N` for a digest.
    pub message_id: String,
    pub rule: String,
    pub mode: String,
    pub channel: Channel,
    pub attempt: u32,
    pub worker: String,
    /// How many events the message is about.
    pub event_count: u64,
    /// Per event type, how many.
    pub counts: Vec<(String, u64)>,
    /// The first [`DIGEST_LIST`] events, oldest first.
    pub events: Vec<Event>,
}

/// One event as a message shows it: the finding and asset as they are
/// when the message is built.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: i64,
    pub kind: String,
    pub at: Timestamp,
    pub cause: String,
    pub asset_id: Option<i64>,
    pub asset_name: Option<String>,
    pub finding_id: Option<i64>,
    pub vulnerability_id: Option<String>,
    pub package_name: Option<String>,
    pub severity: Option<String>,
    pub kev: Option<bool>,
    pub detail: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub id: i64,
    pub name: String,
    /// `webhook`, `slack`, `teams`, `smtp` or `syslog`.
    pub kind: String,
    /// The settings that are not secret (URL, host, recipients...).
    pub config: serde_json::Value,
    /// The HMAC key, SMTP password...: never serialised, never logged.
    #[serde(skip)]
    pub secret: Option<String>,
    pub has_secret: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: i64,
    pub name: String,
    pub event_types: Vec<String>,
    pub filter: String,
    pub channel_id: i64,
    /// `each`, `hour` or `day`.
    pub mode: String,
    pub enabled: bool,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A rule as an admin writes it.
#[derive(Clone, Debug, Deserialize)]
pub struct NewRule {
    pub name: String,
    pub event_types: Vec<String>,
    #[serde(default)]
    pub filter: String,
    pub channel_id: i64,
    #[serde(default = "each")]
    pub mode: String,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn each() -> String {
    "each".into()
}
fn yes() -> bool {
    true
}

/// A delivery that failed for good, for the admins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    pub id: i64,
    pub rule_id: i64,
    pub rule: String,
    pub message_id: Option<String>,
    pub event_count: u64,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub failed_at: Timestamp,
}

/// The outbox's backlog, for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OutboxBacklog {
    /// Events not yet matched against the rules.
    pub unmatched: u64,
    /// Messages waiting to be sent (collecting, retrying or in flight).
    pub pending: u64,
    /// Messages that failed for good.
    pub dead: u64,
}

/// How the delivery worker paces messages.
#[derive(Clone, Copy, Debug)]
pub struct Pacing {
    /// Quiet time after a cause's last event before its message goes.
    pub window: Duration,
    /// The longest a message of each mode collects, however busy.
    pub max_window: Duration,
    pub max_attempts: u32,
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for Pacing {
    fn default() -> Pacing {
        Pacing {
            window: Duration::from_secs(10),
            max_window: Duration::from_secs(300),
            max_attempts: 6,
            backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(3600),
        }
    }
}

/// The thresholds of the sweeps.
#[derive(Clone, Copy, Debug)]
pub struct SweepPolicy {
    /// An asset whose last inventory is older than this is silent.
    pub silent_after: Duration,
    /// A due date this close is approaching.
    pub due_within: Duration,
    /// An end of life this many days ahead is approaching.
    pub eol_within_days: u32,
}

impl Default for SweepPolicy {
    fn default() -> SweepPolicy {
        SweepPolicy {
            silent_after: Duration::from_secs(24 * 3600),
            due_within: Duration::from_secs(7 * 24 * 3600),
            eol_within_days: 90,
        }
    }
}

/// What one sweep emitted, per event type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SweepCounts {
    pub due_approaching: u64,
    pub due_passed: u64,
    pub silent: u64,
    pub coverage_lost: u64,
    pub eol_approaching: u64,
}

/// `payload` written as the backend's JSON from a SQL text expression.
fn json_expr(d: Dialect, text_expr: &str) -> String {
    match d {
        Dialect::Sqlite => text_expr.to_owned(),
        Dialect::Postgres => format!("CAST({text_expr} AS JSONB)"),
    }
}

/// Records one event in the caller's transaction. With a `dedupe_key`, an
/// event already recorded under it is not recorded again.
pub(crate) fn emit(
    tx: &mut dyn Sql,
    kind: &str,
    cause: &str,
    asset: Option<i64>,
    payload: &serde_json::Value,
    dedupe_key: Option<&str>,
) -> Result<()> {
    tx.exec(
        "INSERT INTO outbox_events (kind, at, cause, asset_id, payload, dedupe_key) \
         VALUES (?, NOW_MS, ?, ?, ?, ?) \
         ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING",
        p![kind, cause, asset, payload.clone(), dedupe_key],
    )?;
    Ok(())
}

/// The lifecycle events of one evaluation, in one statement: every
/// `opened`, `reopened` and `closed` step the evaluation wrote to the
/// findings' history (those after `since`, the history's last id before
/// it began) becomes an outbox event of the same cause.
pub(crate) fn emit_lifecycle(
    tx: &mut dyn Sql,
    asset: AssetId,
    since: i64,
    cause: &str,
) -> Result<u64> {
    let payload = json_expr(tx.dialect(), "'{}'");
    tx.exec(
        &format!(
            "INSERT INTO outbox_events (kind, at, cause, asset_id, finding_id, payload) \
             SELECT 'finding.' || e.event, e.at, CAST(? AS TEXT), f.asset_id, f.id, {payload} \
             FROM finding_events e JOIN findings f ON f.id = e.finding_id \
             WHERE e.id > ? AND f.asset_id = ? AND e.event IN ('opened', 'reopened', 'closed') \
             ORDER BY e.id"
        ),
        p![cause, since, asset.0],
    )
}

/// The history's last id, before an evaluation writes to it.
pub(crate) fn last_history_id(tx: &mut dyn Sql) -> Result<i64> {
    Ok(tx
        .query_one("SELECT COALESCE(MAX(id), 0) FROM finding_events", &[])?
        .opt_i64(0)?
        .unwrap_or(0))
}

/// A change of severity or KEV status of a finding that stayed open.
pub(crate) struct Change {
    pub finding: i64,
    pub kind: &'static str,
    pub from: serde_json::Value,
    pub to: serde_json::Value,
}

/// The changes of one evaluation, in as few statements as the parameter
/// limits allow (they are few: most re-evaluations change nothing).
pub(crate) fn emit_changes(
    tx: &mut dyn Sql,
    asset: AssetId,
    cause: &str,
    at: Timestamp,
    changes: &[Change],
) -> Result<()> {
    for chunk in changes.chunks(500) {
        let mut sql = String::from(
            "INSERT INTO outbox_events (kind, at, cause, asset_id, finding_id, payload) VALUES ",
        );
        let mut params = Vec::with_capacity(chunk.len() * 6);
        for (i, c) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str("(?, ?, ?, ?, ?, ?)");
            params.extend([
                Val::from(c.kind),
                Val::from(at.unix_ms()),
                Val::from(cause),
                Val::from(asset.0),
                Val::from(c.finding),
                Val::Json(serde_json::json!({ "from": c.from, "to": c.to })),
            ]);
        }
        tx.exec(&sql, &params)?;
    }
    Ok(())
}

fn rule_of(r: &crate::sql::Row) -> Result<Rule> {
    let types: Vec<String> = serde_json::from_value(r.json(2)?)
        .map_err(|e| StoreError::Corrupt(format!("rule event types: {e}")))?;
    Ok(Rule {
        id: r.i64(0)?,
        name: r.text(1)?,
        event_types: types,
        filter: r.text(3)?,
        channel_id: r.i64(4)?,
        mode: r.text(5)?,
        enabled: r.bool(6)?,
        created_by: r.text(7)?,
        created_at: Timestamp::from_unix_ms(r.i64(8)?),
        updated_at: Timestamp::from_unix_ms(r.i64(9)?),
    })
}

const RULE_COLUMNS: &str =
    "id, name, event_types, filter, channel_id, mode, enabled, created_by, created_at, updated_at";

fn channel_of(r: &crate::sql::Row) -> Result<Channel> {
    let secret = r.opt_text(4)?;
    Ok(Channel {
        id: r.i64(0)?,
        name: r.text(1)?,
        kind: r.text(2)?,
        config: r.json(3)?,
        has_secret: secret.is_some(),
        secret,
    })
}

const CHANNEL_COLUMNS: &str = "id, name, kind, config, secret";

/// Checks a rule as written: its name, event types, mode and filter (an
/// invalid filter's error names the term).
fn check_rule(r: &NewRule) -> Result<String> {
    let name = r.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(StoreError::InvalidArgument(
            "name: 1 to 200 characters".into(),
        ));
    }
    if r.event_types.is_empty() {
        return Err(StoreError::InvalidArgument(
            "event_types: at least one event type".into(),
        ));
    }
    if let Some(t) = r
        .event_types
        .iter()
        .find(|t| !EVENT_TYPES.contains(&t.as_str()))
    {
        return Err(StoreError::InvalidArgument(format!(
            "event_types: unknown event type {t:?} (known: {})",
            EVENT_TYPES.join(", ")
        )));
    }
    if !matches!(r.mode.as_str(), "each" | "hour" | "day") {
        return Err(StoreError::InvalidArgument(format!(
            "mode: {:?} is not each, hour or day",
            r.mode
        )));
    }
    let filter = Filter::parse(&r.filter)
        .map_err(|e| StoreError::InvalidArgument(format!("filter: {e}")))?;
    Ok(filter.to_string())
}

/// Channel kinds this version sends to.
pub const CHANNEL_KINDS: &[&str] = &["webhook", "slack", "teams", "smtp", "syslog"];

impl Db {
    /// Records an event outside any other change (a knowledge update, an
    /// export's end).
    pub fn record_event(
        &self,
        kind: &str,
        cause: &str,
        payload: &serde_json::Value,
        dedupe_key: Option<&str>,
    ) -> Result<()> {
        if !EVENT_TYPES.contains(&kind) {
            return Err(StoreError::InvalidArgument(format!(
                "unknown event type {kind:?}"
            )));
        }
        self.tx("record event", Mode::Write, |tx| {
            emit(tx, kind, cause, None, payload, dedupe_key)
        })
    }

    /// Looks for due dates approaching or passed, silent assets, lost
    /// coverage and ends of life within the policy's days; each fact is
    /// emitted once (its `dedupe_key` names the finding or asset and the
    /// date it is about), however often the sweep runs.
    pub fn sweep_events(&self, policy: &SweepPolicy, now: Timestamp) -> Result<SweepCounts> {
        let t = now.unix_ms();
        let horizon = now
            .plus(Duration::from_secs(
                u64::from(policy.eol_within_days) * 86_400,
            ))
            .to_rfc3339()[..10]
            .to_owned();
        self.tx("sweep events", Mode::Write, |tx| {
            let d = tx.dialect();
            let payload_due = json_expr(d, "'{}'");
            let conflict = "ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING";
            let cat = |parts: &[&str]| parts.join(" || ");
            let mut counts = SweepCounts::default();
            let due_key = |prefix: &str| {
                cat(&[
                    &format!("'{prefix}:'"),
                    "CAST(f.id AS TEXT)",
                    "':'",
                    "CAST(f.due_at AS TEXT)",
                ])
            };
            counts.due_passed = tx.exec(
                &format!(
                    "INSERT INTO outbox_events (kind, at, cause, asset_id, finding_id, payload, \
                     dedupe_key) SELECT '{DUE_PASSED}', CAST(? AS BIGINT), 'sweep', f.asset_id, f.id, \
                     {payload_due}, {} FROM findings f WHERE f.status = 'ACTIVE' \
                     AND f.due_at IS NOT NULL AND f.due_at <= ? {conflict}",
                    due_key("due-passed")
                ),
                p![t, t],
            )?;
            counts.due_approaching = tx.exec(
                &format!(
                    "INSERT INTO outbox_events (kind, at, cause, asset_id, finding_id, payload, \
                     dedupe_key) SELECT '{DUE_APPROACHING}', CAST(? AS BIGINT), 'sweep', f.asset_id, f.id, \
                     {payload_due}, {} FROM findings f WHERE f.status = 'ACTIVE' \
                     AND f.due_at > ? AND f.due_at <= ? {conflict}",
                    due_key("due-soon")
                ),
                p![t, t, t + duration_ms(policy.due_within)],
            )?;
            counts.silent = tx.exec(
                &format!(
                    "INSERT INTO outbox_events (kind, at, cause, asset_id, payload, dedupe_key) \
                     SELECT '{ASSET_SILENT}', CAST(? AS BIGINT), 'sweep', a.id, {}, {} FROM assets a \
                     WHERE a.source IN ('agent', 'agentless') AND a.inventory_at IS NOT NULL \
                     AND a.inventory_at < ? {conflict}",
                    json_expr(
                        d,
                        &cat(&["'{\"last_inventory_ms\":'", "CAST(a.inventory_at AS TEXT)", "'}'"])
                    ),
                    cat(&["'silent:'", "CAST(a.id AS TEXT)", "':'", "CAST(a.inventory_at AS TEXT)"])
                ),
                p![t, t - duration_ms(policy.silent_after)],
            )?;
            counts.coverage_lost = tx.exec(
                &format!(
                    "INSERT INTO outbox_events (kind, at, cause, asset_id, payload, dedupe_key) \
                     SELECT '{COVERAGE_LOST}', CAST(? AS BIGINT), 'sweep', a.id, {}, {} FROM assets a \
                     WHERE a.inventory_failed_at IS NOT NULL \
                     AND (a.inventory_at IS NULL OR a.inventory_failed_at > a.inventory_at) {conflict}",
                    json_expr(d, "'{}'"),
                    cat(&[
                        "'coverage:'",
                        "CAST(a.id AS TEXT)",
                        "':'",
                        "CAST(a.inventory_failed_at AS TEXT)"
                    ])
                ),
                p![t],
            )?;
            counts.eol_approaching = tx.exec(
                &format!(
                    "INSERT INTO outbox_events (kind, at, cause, asset_id, payload, dedupe_key) \
                     SELECT '{EOL_APPROACHING}', CAST(? AS BIGINT), 'sweep', a.id, {}, {} FROM assets a \
                     WHERE a.os_eol IS NOT NULL AND a.os_eol <= ? {conflict}",
                    json_expr(d, &cat(&["'{\"os_eol\":\"'", "a.os_eol", "'\"}'"])),
                    cat(&["'eol:'", "CAST(a.id AS TEXT)", "':'", "a.os_eol"])
                ),
                p![t, horizon.clone()],
            )?;
            Ok(counts)
        })
    }

    /// Matches up to one batch of pending events against the enabled rules
    /// and adds them to their rules' collecting messages; how many events
    /// it took (0: none pending). Several servers may run this at once:
    /// on PostgreSQL each takes events the others have not locked.
    pub fn match_events(&self, pacing: &Pacing, now: Timestamp) -> Result<u64> {
        let t = now.unix_ms();
        let dialect = self.dialect();
        self.tx("match events", Mode::Write, |tx| {
            let lock = match dialect {
                Dialect::Sqlite => "",
                Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
            };
            let ids: Vec<i64> = tx
                .query(
                    &format!(
                        "SELECT id FROM outbox_events WHERE matched_at IS NULL ORDER BY id \
                         LIMIT {MATCH_BATCH}{lock}"
                    ),
                    &[],
                )?
                .iter()
                .map(|r| r.i64(0))
                .collect::<Result<_>>()?;
            if ids.is_empty() {
                return Ok(0);
            }
            let (lo, hi) = (ids[0], ids[ids.len() - 1]);
            // The batch as a range plus "not yet matched": on PostgreSQL a
            // row in the range locked by another matcher is skipped by the
            // IN list below.
            let id_list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            let rules: Vec<Rule> = tx
                .query(
                    &format!("SELECT {RULE_COLUMNS} FROM notification_rules WHERE enabled = ?"),
                    p![true],
                )?
                .iter()
                .map(rule_of)
                .collect::<Result<_>>()?;
            for rule in &rules {
                match_rule(tx, rule, &id_list, pacing, t)?;
            }
            tx.exec(
                &format!(
                    "UPDATE outbox_events SET matched_at = ? WHERE id IN ({id_list}) \
                     AND id BETWEEN ? AND ?"
                ),
                p![t, lo, hi],
            )?;
            Ok(ids.len() as u64)
        })
    }

    /// Claims the next message due (collected long enough, or due for a
    /// retry, or in flight under a lease that ran out) for `lease`.
    pub fn claim_delivery(&self, worker: &str, lease: Duration) -> Result<Option<Delivery>> {
        let dialect = self.dialect();
        self.tx("claim delivery", Mode::Write, |tx| {
            let lock = match dialect {
                Dialect::Sqlite => "",
                Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
            };
            let pick = format!(
                "SELECT id FROM notification_deliveries WHERE \
                 (state IN ('collecting', 'retry') AND run_at <= NOW_MS) \
                 OR (state = 'sending' AND lease_until <= NOW_MS) \
                 ORDER BY run_at, id LIMIT 1{lock}"
            );
            let Some(r) = tx.query_opt(
                &format!(
                    "UPDATE notification_deliveries SET state = 'sending', locked_by = ?, \
                     lease_until = NOW_MS + ?, attempts = attempts + 1, updated_at = NOW_MS \
                     WHERE id = ({pick}) RETURNING id, rule_id, attempts, event_count, message_id"
                ),
                p![worker, duration_ms(lease)],
            )?
            else {
                return Ok(None);
            };
            let id = r.i64(0)?;
            let rule_id = r.i64(1)?;
            let attempt = r.u32(2)?;
            let event_count = u64::try_from(r.i64(3)?).unwrap_or(0);
            let rule = tx
                .query_one(
                    &format!("SELECT {RULE_COLUMNS} FROM notification_rules WHERE id = ?"),
                    p![rule_id],
                )
                .and_then(|r| rule_of(&r))?;
            let channel = tx
                .query_one(
                    &format!("SELECT {CHANNEL_COLUMNS} FROM notification_channels WHERE id = ?"),
                    p![rule.channel_id],
                )
                .and_then(|r| channel_of(&r))?;
            let events = delivery_events(tx, id)?;
            let message_id = match r.opt_text(4)? {
                Some(m) => m,
                None => {
                    // Fixed on the first attempt, so every retry carries it.
                    let m = match (event_count, events.first()) {
                        (1, Some(e)) => format!("evt-{}", e.id),
                        _ => format!("dig-{id}"),
                    };
                    tx.exec(
                        "UPDATE notification_deliveries SET message_id = ? WHERE id = ?",
                        p![m.clone(), id],
                    )?;
                    m
                }
            };
            let counts = tx
                .query(
                    "SELECT e.kind, COUNT(*) FROM notification_delivery_events d \
                     JOIN outbox_events e ON e.id = d.event_id WHERE d.delivery_id = ? \
                     GROUP BY e.kind ORDER BY e.kind",
                    p![id],
                )?
                .iter()
                .map(|r| Ok((r.text(0)?, u64::try_from(r.i64(1)?).unwrap_or(0))))
                .collect::<Result<_>>()?;
            Ok(Some(Delivery {
                id,
                message_id,
                rule: rule.name,
                mode: rule.mode,
                channel,
                attempt,
                worker: worker.to_owned(),
                event_count,
                counts,
                events,
            }))
        })
    }

    /// Records the message as sent, if this worker's claim still holds it.
    pub fn delivery_sent(&self, d: &Delivery) -> Result<bool> {
        self.tx("delivery sent", Mode::Write, |tx| {
            Ok(tx.exec(
                "UPDATE notification_deliveries SET state = 'sent', sent_at = NOW_MS, \
                 lease_until = NULL, last_error = NULL, updated_at = NOW_MS \
                 WHERE id = ? AND state = 'sending' AND locked_by = ? AND attempts = ?",
                p![d.id, d.worker.as_str(), d.attempt],
            )? == 1)
        })
    }

    /// Records a failed attempt: retried after the backoff, or dead after
    /// the last attempt. `true` when the message is now dead.
    pub fn delivery_failed(&self, d: &Delivery, error: &str, pacing: &Pacing) -> Result<bool> {
        let dead = d.attempt >= pacing.max_attempts;
        let doublings = d.attempt.saturating_sub(1).min(30);
        let backoff = pacing
            .backoff
            .saturating_mul(1 << doublings)
            .min(pacing.max_backoff);
        let error: String = error.chars().take(2000).collect();
        self.tx("delivery failed", Mode::Write, |tx| {
            tx.exec(
                "UPDATE notification_deliveries SET state = ?, run_at = NOW_MS + ?, \
                 lease_until = NULL, last_error = ?, updated_at = NOW_MS \
                 WHERE id = ? AND state = 'sending' AND locked_by = ? AND attempts = ?",
                p![
                    if dead { "dead" } else { "retry" },
                    duration_ms(backoff),
                    error,
                    d.id,
                    d.worker.as_str(),
                    d.attempt
                ],
            )?;
            Ok(dead)
        })
    }

    /// The messages that failed for good, newest first.
    pub fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>> {
        self.tx("dead letters", Mode::Read, |tx| {
            tx.query(
                "SELECT d.id, d.rule_id, r.name, d.message_id, d.event_count, d.attempts, \
                 d.last_error, d.created_at, d.updated_at FROM notification_deliveries d \
                 JOIN notification_rules r ON r.id = d.rule_id WHERE d.state = 'dead' \
                 ORDER BY d.updated_at DESC, d.id DESC LIMIT ?",
                p![i64::from(limit)],
            )?
            .iter()
            .map(|r| {
                Ok(DeadLetter {
                    id: r.i64(0)?,
                    rule_id: r.i64(1)?,
                    rule: r.text(2)?,
                    message_id: r.opt_text(3)?,
                    event_count: u64::try_from(r.i64(4)?).unwrap_or(0),
                    attempts: r.u32(5)?,
                    last_error: r.opt_text(6)?,
                    created_at: Timestamp::from_unix_ms(r.i64(7)?),
                    failed_at: Timestamp::from_unix_ms(r.i64(8)?),
                })
            })
            .collect()
        })
    }

    /// Sends a dead message again (same message id): `false` when no
    /// dead message has that id.
    pub fn retry_dead_letter(&self, id: i64) -> Result<bool> {
        self.tx("retry dead letter", Mode::Write, |tx| {
            Ok(tx.exec(
                "UPDATE notification_deliveries SET state = 'retry', attempts = 0, \
                 run_at = NOW_MS, updated_at = NOW_MS WHERE id = ? AND state = 'dead'",
                p![id],
            )? == 1)
        })
    }

    /// The outbox's backlog, for `/metrics`.
    pub fn outbox_backlog(&self) -> Result<OutboxBacklog> {
        self.tx("outbox backlog", Mode::Read, |tx| {
            let unmatched = tx
                .query_one(
                    "SELECT COUNT(*) FROM outbox_events WHERE matched_at IS NULL",
                    &[],
                )?
                .i64(0)?;
            let r = tx.query_one(
                "SELECT COALESCE(SUM(CASE WHEN state = 'dead' THEN 0 ELSE 1 END), 0), \
                 COALESCE(SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END), 0) \
                 FROM notification_deliveries WHERE state <> 'sent'",
                &[],
            )?;
            let n = |v: i64| u64::try_from(v).unwrap_or(0);
            Ok(OutboxBacklog {
                unmatched: n(unmatched),
                pending: n(r.i64(0)?),
                dead: n(r.i64(1)?),
            })
        })
    }

    /// Events in id order from `after`, for tests and the console.
    pub fn outbox_events(&self, after: i64, limit: u32) -> Result<Vec<Event>> {
        self.tx("outbox events", Mode::Read, |tx| {
            events_where(
                tx,
                "e.id > ? ORDER BY e.id LIMIT ?",
                p![after, i64::from(limit)],
            )
        })
    }

    pub fn channels(&self) -> Result<Vec<Channel>> {
        self.tx("list channels", Mode::Read, |tx| {
            tx.query(
                &format!("SELECT {CHANNEL_COLUMNS} FROM notification_channels ORDER BY name"),
                &[],
            )?
            .iter()
            .map(channel_of)
            .collect()
        })
    }

    pub fn channel(&self, id: i64) -> Result<Option<Channel>> {
        self.tx("read channel", Mode::Read, |tx| {
            tx.query_opt(
                &format!("SELECT {CHANNEL_COLUMNS} FROM notification_channels WHERE id = ?"),
                p![id],
            )?
            .map(|r| channel_of(&r))
            .transpose()
        })
    }

    /// Creates a channel (`id` None) or replaces one's settings; a `None`
    /// secret on update keeps the stored one. The caller has checked the
    /// settings for the kind.
    pub fn put_channel(
        &self,
        id: Option<i64>,
        name: &str,
        kind: &str,
        config: &serde_json::Value,
        secret: Option<&str>,
        at: Timestamp,
    ) -> Result<i64> {
        if !CHANNEL_KINDS.contains(&kind) {
            return Err(StoreError::InvalidArgument(format!(
                "kind: {kind:?} is not one of {}",
                CHANNEL_KINDS.join(", ")
            )));
        }
        let name = name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(StoreError::InvalidArgument(
                "name: 1 to 200 characters".into(),
            ));
        }
        self.tx("put channel", Mode::Write, |tx| {
            let clash = tx
                .query_opt(
                    "SELECT id FROM notification_channels WHERE name = ?",
                    p![name],
                )?
                .map(|r| r.i64(0))
                .transpose()?;
            if clash.is_some() && clash != id {
                return Err(StoreError::InvalidArgument(format!(
                    "name: a channel named {name:?} exists"
                )));
            }
            match id {
                None => tx
                    .query_one(
                        "INSERT INTO notification_channels (name, kind, config, secret, \
                         created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                        p![
                            name,
                            kind,
                            config.clone(),
                            secret,
                            at.unix_ms(),
                            at.unix_ms()
                        ],
                    )?
                    .i64(0),
                Some(id) => {
                    let n = tx.exec(
                        "UPDATE notification_channels SET name = ?, kind = ?, config = ?, \
                         secret = COALESCE(?, secret), updated_at = ? WHERE id = ?",
                        p![name, kind, config.clone(), secret, at.unix_ms(), id],
                    )?;
                    if n == 0 {
                        return Err(StoreError::NotFound {
                            what: format!("channel {id}"),
                        });
                    }
                    Ok(id)
                }
            }
        })
    }

    /// Deletes a channel no rule uses: `false` when there is none of that id.
    pub fn delete_channel(&self, id: i64) -> Result<bool> {
        self.tx("delete channel", Mode::Write, |tx| {
            if let Some(r) = tx.query_opt(
                "SELECT name FROM notification_rules WHERE channel_id = ? LIMIT 1",
                p![id],
            )? {
                return Err(StoreError::InvalidArgument(format!(
                    "channel {id} is used by rule {:?}",
                    r.text(0)?
                )));
            }
            Ok(tx.exec("DELETE FROM notification_channels WHERE id = ?", p![id])? == 1)
        })
    }

    pub fn rules(&self) -> Result<Vec<Rule>> {
        self.tx("list rules", Mode::Read, |tx| {
            tx.query(
                &format!("SELECT {RULE_COLUMNS} FROM notification_rules ORDER BY name"),
                &[],
            )?
            .iter()
            .map(rule_of)
            .collect()
        })
    }

    pub fn rule(&self, id: i64) -> Result<Option<Rule>> {
        self.tx("read rule", Mode::Read, |tx| {
            tx.query_opt(
                &format!("SELECT {RULE_COLUMNS} FROM notification_rules WHERE id = ?"),
                p![id],
            )?
            .map(|r| rule_of(&r))
            .transpose()
        })
    }

    /// Creates a rule (`id` None) or replaces one. Refused with the field
    /// named: an unknown event type or mode, a filter that does not parse
    /// (the term named), a channel that does not exist.
    pub fn put_rule(&self, id: Option<i64>, r: &NewRule, by: &str, at: Timestamp) -> Result<Rule> {
        let filter = check_rule(r)?;
        let name = r.name.trim().to_owned();
        let types = serde_json::json!(r.event_types);
        self.tx("put rule", Mode::Write, |tx| {
            if tx
                .query_opt(
                    "SELECT id FROM notification_channels WHERE id = ?",
                    p![r.channel_id],
                )?
                .is_none()
            {
                return Err(StoreError::InvalidArgument(format!(
                    "channel_id: no channel {}",
                    r.channel_id
                )));
            }
            let clash = tx
                .query_opt(
                    "SELECT id FROM notification_rules WHERE name = ?",
                    p![name.clone()],
                )?
                .map(|r| r.i64(0))
                .transpose()?;
            if clash.is_some() && clash != id {
                return Err(StoreError::InvalidArgument(format!(
                    "name: a rule named {name:?} exists"
                )));
            }
            let t = at.unix_ms();
            let id = match id {
                None => tx
                    .query_one(
                        "INSERT INTO notification_rules (name, event_types, filter, channel_id, \
                         mode, enabled, created_by, created_at, updated_at) \
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                        p![
                            name.clone(),
                            types.clone(),
                            filter.clone(),
                            r.channel_id,
                            r.mode.as_str(),
                            r.enabled,
                            by,
                            t,
                            t
                        ],
                    )?
                    .i64(0)?,
                Some(id) => {
                    let n = tx.exec(
                        "UPDATE notification_rules SET name = ?, event_types = ?, filter = ?, \
                         channel_id = ?, mode = ?, enabled = ?, updated_at = ? WHERE id = ?",
                        p![
                            name.clone(),
                            types.clone(),
                            filter.clone(),
                            r.channel_id,
                            r.mode.as_str(),
                            r.enabled,
                            t,
                            id
                        ],
                    )?;
                    if n == 0 {
                        return Err(StoreError::NotFound {
                            what: format!("rule {id}"),
                        });
                    }
                    id
                }
            };
            tx.query_one(
                &format!("SELECT {RULE_COLUMNS} FROM notification_rules WHERE id = ?"),
                p![id],
            )
            .and_then(|r| rule_of(&r))
        })
    }

    /// Deletes a rule and its messages not yet sent.
    pub fn delete_rule(&self, id: i64) -> Result<bool> {
        self.tx("delete rule", Mode::Write, |tx| {
            Ok(tx.exec("DELETE FROM notification_rules WHERE id = ?", p![id])? == 1)
        })
    }
}

/// Adds the batch's events that `rule` matches to its collecting messages.
fn match_rule(tx: &mut dyn Sql, rule: &Rule, id_list: &str, pacing: &Pacing, t: i64) -> Result<()> {
    let dialect = tx.dialect();
    // A stored filter parsed when saved; one that no longer parses (a
    // newer version's key) matches nothing rather than everything.
    let filter = Filter::parse(&rule.filter)?;
    let mut params: Vec<Val> = Vec::new();
    let types = rule
        .event_types
        .iter()
        .map(|k| {
            params.push(Val::from(k.as_str()));
            "?"
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut cond = format!("e.id IN ({id_list}) AND e.kind IN ({types})");
    if !filter.is_empty() {
        // Finding events: the finding (and its asset) must match; asset
        // events: the asset must (terms on findings: one of its findings);
        // other events (a knowledge update, an export) match on type alone.
        let now = Timestamp::from_unix_ms(t);
        let (fsql, mut fparams) = filter.to_sql(dialect, now)?;
        let (asql, mut aparams) = filter.to_asset_sql(dialect, now)?;
        cond.push_str(&format!(
            " AND ((e.finding_id IS NOT NULL AND EXISTS (SELECT 1 FROM findings f \
             JOIN assets a ON a.id = f.asset_id WHERE f.id = e.finding_id AND {fsql})) \
             OR (e.finding_id IS NULL AND e.asset_id IS NOT NULL AND EXISTS (SELECT 1 \
             FROM assets a WHERE a.id = e.asset_id AND {asql})) \
             OR (e.finding_id IS NULL AND e.asset_id IS NULL))"
        ));
        params.append(&mut fparams);
        params.append(&mut aparams);
    }
    let group = match rule.mode.as_str() {
        "hour" => "'hour:' || CAST(e.at / 3600000 AS TEXT)",
        "day" => "'day:' || CAST(e.at / 86400000 AS TEXT)",
        _ => "'cause:' || e.cause",
    };
    let groups: Vec<String> = tx
        .query(
            &format!("SELECT DISTINCT {group} FROM outbox_events e WHERE {cond}"),
            &params,
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_>>()?;
    for g in groups {
        let delivery = collecting(tx, rule, &g, pacing, t)?;
        let mut ps = vec![Val::from(delivery)];
        ps.extend(params.iter().cloned());
        ps.push(Val::from(g.clone()));
        let n = tx.exec(
            &format!(
                "INSERT INTO notification_delivery_events (delivery_id, event_id) \
                 SELECT CAST(? AS BIGINT), e.id FROM outbox_events e WHERE {cond} AND {group} = ?"
            ),
            &ps,
        )?;
        // Each mode waits for the cause to go quiet, within a bound; the
        // digest modes keep their period's end.
        let run_at = if rule.mode == "each" {
            format!(
                "CASE WHEN created_at + {max} < {next} THEN created_at + {max} ELSE {next} END",
                max = duration_ms(pacing.max_window),
                next = t + duration_ms(pacing.window)
            )
        } else {
            "run_at".to_owned()
        };
        tx.exec(
            &format!(
                "UPDATE notification_deliveries SET event_count = event_count + ?, \
                 run_at = {run_at}, updated_at = ? WHERE id = ?"
            ),
            p![i64::try_from(n).unwrap_or(i64::MAX), t, delivery],
        )?;
    }
    Ok(())
}

/// The rule's collecting message for `group`, created when missing and
/// locked, so that a worker cannot claim it while events are added.
fn collecting(tx: &mut dyn Sql, rule: &Rule, group: &str, pacing: &Pacing, t: i64) -> Result<i64> {
    let lock = match tx.dialect() {
        Dialect::Sqlite => "",
        Dialect::Postgres => " FOR UPDATE",
    };
    let run_at = match rule.mode.as_str() {
        "hour" => (t / 3_600_000 + 1) * 3_600_000,
        "day" => (t / 86_400_000 + 1) * 86_400_000,
        _ => t + duration_ms(pacing.window),
    };
    // A worker may claim the row between the insert and the select (it
    // was due): then a new one is made.
    for _ in 0..3 {
        tx.exec(
            "INSERT INTO notification_deliveries (rule_id, group_key, state, event_count, \
             run_at, created_at, updated_at) VALUES (?, ?, 'collecting', 0, ?, ?, ?) \
             ON CONFLICT (rule_id, group_key) WHERE state = 'collecting' DO NOTHING",
            p![rule.id, group, run_at, t, t],
        )?;
        if let Some(r) = tx.query_opt(
            &format!(
                "SELECT id FROM notification_deliveries WHERE rule_id = ? AND group_key = ? \
                 AND state = 'collecting'{lock}"
            ),
            p![rule.id, group],
        )? {
            return r.i64(0);
        }
    }
    Err(StoreError::Corrupt(format!(
        "rule {}: no collecting message for {group}",
        rule.id
    )))
}

fn delivery_events(tx: &mut dyn Sql, delivery: i64) -> Result<Vec<Event>> {
    events_where(
        tx,
        &format!(
            "e.id IN (SELECT event_id FROM notification_delivery_events WHERE delivery_id = ?) \
             ORDER BY e.id LIMIT {DIGEST_LIST}"
        ),
        p![delivery],
    )
}

fn events_where(tx: &mut dyn Sql, cond: &str, params: &[Val]) -> Result<Vec<Event>> {
    tx.query(
        &format!(
            "SELECT e.id, e.kind, e.at, e.cause, e.asset_id, a.name, e.finding_id, \
             f.vulnerability_id, f.package_name, f.severity, f.kev, e.payload \
             FROM outbox_events e LEFT JOIN findings f ON f.id = e.finding_id \
             LEFT JOIN assets a ON a.id = e.asset_id WHERE {cond}"
        ),
        params,
    )?
    .iter()
    .map(|r| {
        Ok(Event {
            id: r.i64(0)?,
            kind: r.text(1)?,
            at: Timestamp::from_unix_ms(r.i64(2)?),
            cause: r.text(3)?,
            asset_id: r.opt_i64(4)?,
            asset_name: r.opt_text(5)?,
            finding_id: r.opt_i64(6)?,
            vulnerability_id: r.opt_text(7)?,
            package_name: r.opt_text(8)?,
            severity: r.opt_text(9)?,
            kev: match r.val(10)? {
                Val::Null => None,
                _ => Some(r.bool(10)?),
            },
            detail: r.json(11)?,
        })
    })
    .collect()
}
