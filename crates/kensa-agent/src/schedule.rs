//! When to collect and when to retry: the jittered schedule, the
//! exponential backoff, and the package-database watch.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The schedule's jitter: ±10 % so that a fleet started together does not
/// report in step.
pub const JITTER: f64 = 0.10;

/// `base` moved by up to ±`fraction` of itself, uniformly, from the random
/// number `r`.
pub fn jittered(base: Duration, fraction: f64, r: u64) -> Duration {
    // r / 2^64 in [0, 1) → [-1, 1).
    let unit = (r >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
    let secs = base.as_secs_f64() * (1.0 + fraction * unit);
    Duration::from_secs_f64(secs.max(0.0))
}

/// The delay until the next scheduled collection: `interval` ±10 %.
pub fn next_collection(interval: Duration, r: u64) -> Duration {
    jittered(interval, JITTER, r)
}

/// Exponential backoff with jitter, capped: the n-th consecutive failure
/// waits about `first × 2^(n-1)`, never more than `cap` (the schedule
/// interval: a server outage never delays a report by more than one
/// interval once the server is back). "Full jitter" on the upper half: a
/// delay is drawn from [d/2, d], so that agents that failed together do not
/// retry together, yet every retry still waits at least half the step.
#[derive(Clone, Debug)]
pub struct Backoff {
    first: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(first: Duration, cap: Duration) -> Backoff {
        Backoff {
            first,
            cap: cap.max(first),
            failures: 0,
        }
    }

    /// The un-jittered delay after the current number of failures.
    pub fn step(&self) -> Duration {
        let exp = self.failures.saturating_sub(1).min(32);
        self.first
            .checked_mul(1u32 << exp.min(31))
            .map_or(self.cap, |d| d.min(self.cap))
    }

    /// Record a failure and return how long to wait before the next try,
    /// jittered from `r`.
    pub fn fail(&mut self, r: u64) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let d = self.step();
        let unit = (r >> 11) as f64 / (1u64 << 53) as f64;
        d.mul_f64(0.5 + 0.5 * unit).min(self.cap)
    }

    /// A success: start again from the first step.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// The package databases whose change triggers a collection, relative to
/// the root: `var/lib/dpkg/status`, `lib/apk/db/installed`, and every file
/// in `var/lib/rpm/` and `usr/lib/sysimage/rpm/`.
const FILES: &[&str] = &["var/lib/dpkg/status", "lib/apk/db/installed"];
const DIRS: &[&str] = &["var/lib/rpm", "usr/lib/sysimage/rpm"];

/// What is observed of one database file: its modification time and size
/// (a missing file is simply absent from the snapshot).
pub type Snapshot = Vec<(PathBuf, Option<SystemTime>, u64)>;

/// Take a snapshot of the package databases under `root` (`/` for the
/// host). Only metadata is read (`stat`), so this is cheap enough to do
/// every 30 s. The paths here are the host's own paths under `root`, read
/// directly rather than through the collector's in-root resolution: a
/// symlink only changes what is watched, nothing is read from it.
pub fn snapshot(root: &Path) -> Snapshot {
    let mut out = Vec::new();
    let mut add = |p: PathBuf| {
        if let Ok(m) = std::fs::metadata(&p)
            && m.is_file()
        {
            out.push((p, m.modified().ok(), m.len()));
        }
    };
    for f in FILES {
        add(root.join(f));
    }
    for d in DIRS {
        if let Ok(rd) = std::fs::read_dir(root.join(d)) {
            for e in rd.flatten() {
                add(e.path());
            }
        }
    }
    out.sort();
    out
}

/// Notices when a package database changed since the last collection, and
/// waits for it to settle: a package manager rewrites its database several
/// times during one upgrade, so a change triggers a collection only once
/// two polls in a row saw the same (changed) state.
#[derive(Clone, Debug)]
pub struct DbWatch {
    root: PathBuf,
    collected: Snapshot,
    previous: Snapshot,
}

impl DbWatch {
    /// Start watching `root`, taking the current state as collected.
    pub fn new(root: impl Into<PathBuf>) -> DbWatch {
        let root = root.into();
        let now = snapshot(&root);
        DbWatch {
            root,
            collected: now.clone(),
            previous: now,
        }
    }

    /// Poll: `true` when the databases differ from the last collection and
    /// did not change since the previous poll.
    pub fn poll(&mut self) -> bool {
        let now = snapshot(&self.root);
        let settled = now == self.previous;
        let changed = now != self.collected;
        self.previous = now;
        changed && settled
    }

    /// A collection happened: what was seen at the last poll is what it
    /// read (call right before collecting).
    pub fn collected(&mut self) {
        let now = snapshot(&self.root);
        self.collected = now.clone();
        self.previous = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_extremes_stay_within_ten_percent() {
        let base = Duration::from_secs(3600);
        let lo = next_collection(base, 0);
        let hi = next_collection(base, u64::MAX);
        assert!(
            lo >= Duration::from_secs(3240) && lo <= Duration::from_secs(3241),
            "{lo:?}"
        );
        assert!(
            hi <= Duration::from_secs(3960) && hi >= Duration::from_secs(3959),
            "{hi:?}"
        );
    }

    #[test]
    fn backoff_first_step_is_the_first_delay() {
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(3600));
        let d = b.fail(u64::MAX);
        assert!(
            d <= Duration::from_secs(10) && d >= Duration::from_secs(9),
            "{d:?}"
        );
        assert_eq!(b.failures(), 1);
    }
}
