//! Log lines: one line each on standard error, prefixed `kensa-agent:`
//! (under systemd they go to the journal). Nothing logged ever contains a
//! token: [`crate::Credentials`] and [`crate::Secret`] print redacted.

use std::fmt::Arguments;

/// Log one line.
pub fn info(args: Arguments<'_>) {
    eprintln!("kensa-agent: {args}");
}
