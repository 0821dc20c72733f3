//! What the server's `/metrics` and `/readyz` read from the database: a
//! few grouped counts, each one statement over an index, so that a scrape
//! never reads finding rows (the server caches them besides).

use crate::error::Result;
use crate::{Db, Mode};

/// Jobs of one kind in one state (`queued` or `running`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueDepth {
    pub kind: String,
    pub state: String,
    pub jobs: u64,
    /// The earliest `run_at` among them (Unix ms): how long the oldest has
    /// been due.
    pub oldest_due_ms: i64,
}

impl Db {
    /// Findings per lifecycle status (`ACTIVE`, `SUPPRESSED`, `CLOSED`),
    /// counted on the `(status, severity)` index.
    pub fn findings_by_status(&self) -> Result<Vec<(String, u64)>> {
        self.tx("findings by status", Mode::Read, |tx| {
            tx.query(
                "SELECT status, COUNT(*) FROM findings GROUP BY status ORDER BY status",
                &[],
            )?
            .iter()
            .map(|r| Ok((r.text(0)?, u64::try_from(r.i64(1)?).unwrap_or(0))))
            .collect()
        })
    }

    /// Jobs waiting or running, per kind and state: the partial indexes on
    /// queued and running jobs keep this small however long the history.
    pub fn queue_depth(&self) -> Result<Vec<QueueDepth>> {
        self.tx("queue depth", Mode::Read, |tx| {
            tx.query(
                "SELECT kind, state, COUNT(*), MIN(run_at) FROM jobs \
                 WHERE state IN ('queued', 'running') GROUP BY kind, state ORDER BY kind, state",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(QueueDepth {
                    kind: r.text(0)?,
                    state: r.text(1)?,
                    jobs: u64::try_from(r.i64(2)?).unwrap_or(0),
                    oldest_due_ms: r.i64(3)?,
                })
            })
            .collect()
        })
    }

    /// One round trip: whether the database answers at all.
    pub fn ping(&self) -> Result<()> {
        self.tx("ping", Mode::Read, |tx| {
            tx.query("SELECT 1", &[])?;
            Ok(())
        })
    }
}
