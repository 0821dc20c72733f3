//! Timestamps: integer milliseconds since the Unix epoch, UTC.
//!
//! Stored as `BIGINT` milliseconds on both backends rather than RFC 3339
//! text on SQLite and `timestamptz` on PostgreSQL: one representation means
//! one code path and identical results on both; lease expiry and retry
//! backoff are plain integer arithmetic in SQL; ordering and range indexes
//! work without parsing; and there is no time zone to get wrong. The cost,
//! a raw `SELECT` shows numbers, is paid once by whoever writes the query
//! API (`to_timestamp(x / 1000.0)` on PostgreSQL, `datetime(x / 1000,
//! 'unixepoch')` on SQLite).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn now() -> Timestamp {
        Timestamp::from_system_time(SystemTime::now())
    }

    pub const fn from_unix_ms(ms: i64) -> Timestamp {
        Timestamp(ms)
    }

    pub const fn unix_ms(self) -> i64 {
        self.0
    }

    pub fn from_system_time(t: SystemTime) -> Timestamp {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            Err(e) => Timestamp(-i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX)),
        }
    }

    /// An RFC 3339 time (`2026-11-30T07:00:00Z`, fractions allowed), as the
    /// scan report writes `scanned_at`.
    pub fn parse_rfc3339(s: &str) -> Result<Timestamp> {
        humantime::parse_rfc3339(s)
            .map(Timestamp::from_system_time)
            .map_err(|e| StoreError::InvalidArgument(format!("time {s:?}: {e}")))
    }

    /// RFC 3339 with milliseconds, UTC.
    pub fn to_rfc3339(self) -> String {
        let Ok(ms) = u64::try_from(self.0) else {
            return format!("{} ms before 1970-01-01T00:00:00Z", self.0.unsigned_abs());
        };
        humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
    }

    #[must_use]
    pub fn plus(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(duration_ms(d)))
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

pub(crate) fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        let t = Timestamp::parse_rfc3339("2026-11-30T07:00:00.250Z").expect("parses");
        assert_eq!(t.unix_ms(), 1_796_022_000_250);
        assert_eq!(t.to_string(), "2026-11-30T07:00:00.250Z");
        assert!(Timestamp::parse_rfc3339("yesterday").is_err());
    }
}
