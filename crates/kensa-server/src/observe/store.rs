//! The gauges read from the database and the knowledge base: findings by
//! status, the job queue per kind, the knowledge base's age. Read at most
//! once per [`TTL`] whatever the number of scrapers, and by one of them at
//! a time (the others wait for its answer), so that scraping never
//! competes with the server's work.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kensa_store::{QueueDepth, Timestamp};

use super::registry::{header, sample};
use crate::kit::{AppState, with_db};

/// How long one reading of the database serves scrapes.
pub const TTL: Duration = Duration::from_secs(10);

/// One reading.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub findings: Vec<(String, u64)>,
    pub queue: Vec<QueueDepth>,
    /// Notification events and messages not yet delivered.
    pub outbox: kensa_store::OutboxBacklog,
    /// When it was read (Unix ms, this server's clock).
    pub read_at_ms: i64,
    /// Whether the reading failed (the families are then left out).
    pub failed: bool,
}

/// The cached reading, behind an async lock held while reading: the
/// single flight.
#[derive(Default)]
pub struct StoreGauges {
    cached: tokio::sync::Mutex<Option<(Instant, Arc<Snapshot>)>>,
}

impl StoreGauges {
    pub(crate) async fn get(&self, state: &Arc<AppState>) -> Arc<Snapshot> {
        let mut cached = self.cached.lock().await;
        if let Some((at, s)) = cached.as_ref()
            && at.elapsed() < TTL
        {
            return Arc::clone(s);
        }
        let read = with_db(state, |db| {
            Ok((
                db.findings_by_status()?,
                db.queue_depth()?,
                db.outbox_backlog()?,
            ))
        })
        .await;
        let snapshot = Arc::new(match read {
            Ok((findings, queue, outbox)) => Snapshot {
                findings,
                queue,
                outbox,
                read_at_ms: Timestamp::now().unix_ms(),
                failed: false,
            },
            Err(e) => {
                tracing::warn!("metrics: reading the database: {}", e.message());
                Snapshot {
                    read_at_ms: Timestamp::now().unix_ms(),
                    failed: true,
                    ..Snapshot::default()
                }
            }
        });
        *cached = Some((Instant::now(), Arc::clone(&snapshot)));
        snapshot
    }
}

/// The build time of the knowledge base's current generation.
pub fn kb_built_at(dir: &Path) -> Result<std::time::SystemTime, String> {
    let generation =
        kensa_kb::base::KnowledgeBase::current_generation(dir).map_err(|e| e.to_string())?;
    let meta = dir.join(&generation).join("meta.json");
    let text = std::fs::read_to_string(&meta).map_err(|e| format!("{}: {e}", meta.display()))?;
    let meta: kensa_kb::base::Meta =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", meta.display()))?;
    humantime::parse_rfc3339(&meta.built_at)
        .map_err(|e| format!("{}: built_at {:?}: {e}", generation, meta.built_at))
}

/// The gauges of `s` and the knowledge base, in the text format.
pub fn write(out: &mut String, s: &Snapshot, kb_dir: &Path) {
    header(
        out,
        "kensa_store_read_ok",
        "Whether the last reading of the database for these metrics succeeded (1) or failed (0).",
        "gauge",
    );
    sample(
        out,
        "kensa_store_read_ok",
        &[],
        if s.failed { 0.0 } else { 1.0 },
    );
    header(
        out,
        "kensa_store_read_timestamp_seconds",
        "When the database was last read for these metrics (they are cached for 10 s).",
        "gauge",
    );
    sample(
        out,
        "kensa_store_read_timestamp_seconds",
        &[],
        s.read_at_ms as f64 / 1000.0,
    );
    if !s.failed {
        header(
            out,
            "kensa_findings",
            "Findings stored, by lifecycle status (ACTIVE, SUPPRESSED, CLOSED).",
            "gauge",
        );
        for (status, n) in &s.findings {
            sample(out, "kensa_findings", &[("status", status)], *n as f64);
        }
        header(
            out,
            "kensa_queue_jobs",
            "Background jobs waiting (queued) or claimed (running), by kind; all servers sharing the database.",
            "gauge",
        );
        for q in &s.queue {
            sample(
                out,
                "kensa_queue_jobs",
                &[("kind", &q.kind), ("state", &q.state)],
                q.jobs as f64,
            );
        }
        header(
            out,
            "kensa_queue_oldest_age_seconds",
            "How long the oldest job of a kind has been due (queued or running).",
            "gauge",
        );
        let mut oldest: std::collections::BTreeMap<&str, i64> = Default::default();
        for q in &s.queue {
            let e = oldest.entry(q.kind.as_str()).or_insert(q.oldest_due_ms);
            *e = (*e).min(q.oldest_due_ms);
        }
        for (kind, due) in oldest {
            let age = (s.read_at_ms - due).max(0) as f64 / 1000.0;
            sample(
                out,
                "kensa_queue_oldest_age_seconds",
                &[("kind", kind)],
                age,
            );
        }
        header(
            out,
            "kensa_outbox_backlog",
            "Notifications not yet delivered: events not yet matched to rules (unmatched), messages waiting or retrying (pending), messages that failed for good (dead).",
            "gauge",
        );
        for (state, n) in [
            ("unmatched", s.outbox.unmatched),
            ("pending", s.outbox.pending),
            ("dead", s.outbox.dead),
        ] {
            sample(out, "kensa_outbox_backlog", &[("state", state)], n as f64);
        }
    }
    header(
        out,
        "kensa_kb_age_seconds",
        "Time since the knowledge base in use was built (absent when there is none).",
        "gauge",
    );
    if let Ok(built) = kb_built_at(kb_dir) {
        let age = std::time::SystemTime::now()
            .duration_since(built)
            .unwrap_or_default();
        sample(out, "kensa_kb_age_seconds", &[], age.as_secs_f64().round());
    }
}
