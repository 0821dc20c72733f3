//! Notifications: one thread per server process sweeps for time-driven
//! events, matches the outbox's events against the rules and sends the
//! messages that are due ([`kensa_store::notify`] holds the outbox and
//! the delivery state). It runs apart from the evaluation workers, so a
//! slow or dead receiver never holds up an evaluation; several servers on
//! one PostgreSQL share the work through leases.

pub mod api;
pub mod channel;
pub mod message;
pub mod smtp;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kensa_store::{Db, Pacing, SweepPolicy, Timestamp};

/// How notifications are paced.
#[derive(Clone, Debug)]
pub struct NotifyConfig {
    pub pacing: Pacing,
    pub sweep: SweepPolicy,
    /// How often the sweeps run.
    pub sweep_every: Duration,
    /// The longest one send may take (connect, TLS, answer).
    pub timeout: Duration,
    /// How often an idle worker looks for work.
    pub poll: Duration,
    /// Match and send nothing (events still accumulate in the outbox).
    pub paused: bool,
}

/// `KENSA_NOTIFY_<NAME>` in milliseconds: undocumented settings for the
/// tests and for operators who need other pacing than the defaults.
fn env_ms(name: &str) -> Option<Duration> {
    std::env::var(format!("KENSA_NOTIFY_{name}_MS"))
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(Duration::from_millis)
}

impl Default for NotifyConfig {
    fn default() -> NotifyConfig {
        let mut pacing = Pacing::default();
        if let Some(w) = env_ms("WINDOW") {
            pacing.window = w;
        }
        if let Some(b) = env_ms("BACKOFF") {
            pacing.backoff = b;
        }
        if let Some(n) = std::env::var("KENSA_NOTIFY_ATTEMPTS")
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .filter(|n| *n >= 1)
        {
            pacing.max_attempts = n;
        }
        NotifyConfig {
            pacing,
            sweep: SweepPolicy::default(),
            sweep_every: env_ms("SWEEP").unwrap_or(Duration::from_secs(300)),
            timeout: env_ms("TIMEOUT").unwrap_or(Duration::from_secs(10)),
            poll: env_ms("POLL").unwrap_or(Duration::from_secs(1)),
            paused: std::env::var("KENSA_NOTIFY_PAUSED").is_ok_and(|v| v == "1"),
        }
    }
}

/// The notification thread of one server process.
pub struct NotifyWorker {
    pub name: String,
    pub db: Db,
    pub cfg: NotifyConfig,
}

impl NotifyWorker {
    /// One round: sweep when due, match every pending event, send every
    /// message due. `true` when it did anything.
    pub fn step(&self, last_sweep: &mut Option<Instant>) -> kensa_store::Result<bool> {
        if self.cfg.paused {
            return Ok(false);
        }
        let now = Timestamp::now();
        if last_sweep.is_none_or(|t| t.elapsed() >= self.cfg.sweep_every) {
            *last_sweep = Some(Instant::now());
            let c = self.db.sweep_events(&self.cfg.sweep, now)?;
            if c != kensa_store::SweepCounts::default() {
                tracing::info!(?c, "notification sweep");
            }
        }
        let mut busy = false;
        while self.db.match_events(&self.cfg.pacing, Timestamp::now())? > 0 {
            busy = true;
        }
        while let Some(d) = self
            .db
            .claim_delivery(&self.name, crate::lease::duration())?
        {
            busy = true;
            match channel::send(&d, self.cfg.timeout) {
                Ok(()) => {
                    if !self.db.delivery_sent(&d)? {
                        tracing::warn!(
                            "notification {}: sent, but its lease had passed to another worker",
                            d.message_id
                        );
                    }
                }
                Err(e) => {
                    let dead = self
                        .db
                        .delivery_failed(&d, &e.to_string(), &self.cfg.pacing)?;
                    if dead {
                        tracing::error!(
                            "notification {} (rule {}) dead-lettered after {} attempts: {e}",
                            d.message_id,
                            d.rule,
                            d.attempt
                        );
                    } else {
                        tracing::warn!(
                            "notification {} (rule {}) attempt {} failed: {e}",
                            d.message_id,
                            d.rule,
                            d.attempt
                        );
                    }
                }
            }
        }
        Ok(busy)
    }

    pub fn run(self, stop: Arc<AtomicBool>) {
        let mut last_sweep = None;
        while !stop.load(Ordering::Relaxed) {
            match self.step(&mut last_sweep) {
                Ok(true) => {}
                Ok(false) => std::thread::sleep(self.cfg.poll),
                Err(e) => {
                    tracing::error!("notifications: {e}");
                    std::thread::sleep(self.cfg.poll);
                }
            }
        }
    }
}
