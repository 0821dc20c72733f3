//! What the downloaders share about their cache: the partial-file marker,
//! JSON state files written atomically, I/O errors that name the file, and
//! retry delays with jitter.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{KbError, Result};

/// Marks a file being written; a killed run's leftovers carry it and are
/// removed by the next run.
pub(crate) const PART: &str = ".kensa-part-";

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KbError + '_ {
    move |source| KbError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A JSON state file, or the default when it is missing or unreadable (a
/// lost state only costs a full download).
pub(crate) fn load_json<T: DeserializeOwned + Default>(path: &Path) -> T {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Write a JSON state file through a temporary file and a rename, so that a
/// reader never sees half of it.
pub(crate) fn save_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("state");
    let tmp = path.with_file_name(format!("{name}{PART}{}", std::process::id()));
    let text = serde_json::to_vec_pretty(value).map_err(|e| KbError::Format {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    std::fs::write(&tmp, text).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

/// The delay before retry `n` (from 1): `base * 2^(n-1)`, capped at `max`,
/// then a random point in its upper half so that clients spread out.
pub(crate) fn backoff(base: Duration, max: Duration, n: u32) -> Duration {
    let full = base
        .saturating_mul(1u32 << n.saturating_sub(1).min(16))
        .min(max);
    let nanos = full.as_nanos() as u64;
    Duration::from_nanos(nanos / 2 + random() % (nanos / 2 + 1))
}

/// A small xorshift generator, seeded from the clock and the process id:
/// jitter needs no more.
fn random() -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut x = STATE.load(Ordering::Relaxed);
    if x == 0 {
        x = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            ^ (u64::from(std::process::id()) << 32)
            | 1;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    STATE.store(x, Ordering::Relaxed);
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_its_cap_and_jitters_in_the_upper_half() {
        let (base, max) = (Duration::from_millis(100), Duration::from_millis(350));
        for _ in 0..100 {
            let first = backoff(base, max, 1);
            assert!(
                first >= Duration::from_millis(50) && first <= base,
                "{first:?}"
            );
            let third = backoff(base, max, 3);
            assert!(
                third >= Duration::from_millis(175) && third <= max,
                "{third:?}"
            );
        }
    }

    #[test]
    fn state_round_trips_and_a_bad_file_is_the_default() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(".state.json");
        assert_eq!(load_json::<Vec<u32>>(&path), Vec::<u32>::new());
        save_json(&path, &vec![1u32, 2]).expect("save");
        assert_eq!(load_json::<Vec<u32>>(&path), vec![1, 2]);
        std::fs::write(&path, b"{not json").expect("write");
        assert_eq!(load_json::<Vec<u32>>(&path), Vec::<u32>::new());
        let leftovers = std::fs::read_dir(dir.path()).expect("list").count();
        assert_eq!(leftovers, 1, "no temporary file left");
    }
}
