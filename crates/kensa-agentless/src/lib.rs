//! Agentless collection: the inventory of a remote host over SSH, for the
//! servers that cannot or will not run an agent.
//!
//! One `ssh` connection per scan runs `/bin/sh -s` on the target and feeds
//! it a read-only script ([`script`]): `cat` of the OS release files and
//! package databases, directory listings by shell built-ins, `uname`, the
//! kernel's socket tables and `rpm -qa`. Each command runs under `timeout`,
//! `nice` and `ionice` where the target has them. The answer is parsed here
//! by the same parsers as `kensa inventory --root` ([`collect`]), so both
//! give the same packages for the same root.
//!
//! A separate crate rather than a module of `kensa-inventory`: that crate
//! only reads files, and this one runs a network client and keeps host-key
//! pins; the CLI and the server depend on it, nothing else does.

pub mod collect;
pub mod error;
pub mod script;
pub mod sockets;
pub mod ssh;
pub mod target;

use std::time::{Duration, Instant, SystemTime};

pub use error::{AgentlessError, Reason, Result};
use kensa_inventory::Inventory;
pub use ssh::{HostKey, Ssh};
pub use target::SshTarget;

/// What one scan may do on the target.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// Each command on the target is killed after this long.
    pub command_timeout: Duration,
    /// Run `rpm -qa` through `sudo -n` (never prompts; fails if sudo wants
    /// a password).
    pub sudo: bool,
    /// Where to look for language packages, and the caps; `None`: not at
    /// all.
    pub lang: Option<script::LangOptions>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            command_timeout: Duration::from_secs(120),
            sudo: false,
            lang: Some(script::LangOptions::default()),
        }
    }
}

/// Inventory `target` over SSH.
pub fn scan(ssh: &Ssh, target: &SshTarget, opts: &ScanOptions) -> Result<Inventory> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let mut token = [0u8; 16];
    getrandom::getrandom(&mut token)
        .map_err(|e| AgentlessError::new(target, Reason::Local, format!("random: {e}")))?;
    let boundary = format!("KENSA-{}", hex::encode(token));
    if let Some(lang) = &opts.lang {
        lang.check()
            .map_err(|e| AgentlessError::new(target, Reason::Local, e))?;
    }
    let script = script::build(
        &boundary,
        &script::ScriptOptions {
            command_timeout: opts.command_timeout.as_secs().max(1),
            sudo_rpm: opts.sudo,
            lang: opts.lang.clone(),
        },
    );
    let out = ssh.run(target, &script)?;
    let answer = script::parse(&out, &boundary).map_err(|e| {
        let reason = if memchr::memmem::find(&out, boundary.as_bytes()).is_some() {
            Reason::BadOutput
        } else {
            // Nothing of the script came back: the login shell did not run
            // /bin/sh -s.
            Reason::UnsupportedOs
        };
        AgentlessError::new(target, reason, e)
    })?;
    let mut inv = collect::inventory(target, &answer)?;
    if inv.os.is_none() {
        return Err(AgentlessError::new(
            target,
            Reason::UnsupportedOs,
            "no os-release or older release file identifies the OS",
        ));
    }
    inv.collection = kensa_inventory::model::Collection {
        collector: "kensa-ssh".into(),
        collector_version: env!("CARGO_PKG_VERSION").into(),
        started_at: humantime::format_rfc3339_seconds(started).to_string(),
        duration_ms: clock.elapsed().as_millis() as u64,
    };
    Ok(inv)
}
