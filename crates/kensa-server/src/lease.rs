//! Job leases: how long a claimed job stays one worker's, and the renewal
//! that keeps it so while the worker is alive.
//!
//! A worker that dies stops renewing, and its job is claimed again once the
//! lease runs out: the lease is the longest a crashed worker's job waits.
//! Renewing makes a short lease safe for long jobs (a large re-evaluation,
//! an upload), so the lease can be short where a quick takeover matters
//! (the fault tests set a few seconds).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kensa_store::{Db, Job};

/// The default lease: long enough that a busy database never lets a live
/// worker's job slip away between two renewals.
const DEFAULT: Duration = Duration::from_secs(120);

/// The lease for every job this process claims: `KENSA_JOB_LEASE`
/// (seconds, at least 1; undocumented, for tests and operators who need a
/// faster takeover), else two minutes.
pub fn duration() -> Duration {
    static LEASE: OnceLock<Duration> = OnceLock::new();
    *LEASE.get_or_init(|| {
        match std::env::var("KENSA_JOB_LEASE")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
        {
            Some(secs) if secs >= 1 => Duration::from_secs(secs),
            _ => DEFAULT,
        }
    })
}

/// Runs `work` on `job` while a thread renews its lease every quarter of
/// the lease, so that the claim holds through every step of a long job.
pub fn run_leased<T>(db: &Db, job: &Job, work: impl FnOnce() -> T) -> T {
    let lease = duration();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut held = job.clone();
            let mut since = Instant::now();
            let tick = (lease / 8).clamp(Duration::from_millis(50), Duration::from_millis(250));
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(tick);
                if since.elapsed() >= lease / 4 && !stop.load(Ordering::Relaxed) {
                    since = Instant::now();
                    if let Err(e) = db.extend_lease(&mut held, lease) {
                        tracing::error!("job {} ({}): lease: {e}", held.id.0, held.kind);
                        return;
                    }
                }
            }
        });
        let r = work();
        stop.store(true, Ordering::Relaxed);
        r
    })
}
