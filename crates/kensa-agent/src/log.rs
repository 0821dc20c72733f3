//! Log lines, as `tracing` events: the binary's subscriber writes them
//! (one line each on standard error, under systemd to the journal); the
//! library prints nothing itself. Nothing logged ever contains a token:
//! [`crate::Credentials`] and [`crate::Secret`] print redacted.

use std::fmt::Arguments;

/// Log one line.
pub fn info(args: Arguments<'_>) {
    tracing::info!(target: "kensa_agent", "{args}");
}
