//! `--ssh`: the agentless collector for one host, from the command line.

use std::path::PathBuf;
use std::time::Duration;

use kensa_agentless::{Reason, ScanOptions, Ssh, SshTarget};
use kensa_inventory::Inventory;

/// The options `kensa inventory` and `kensa scan` share for `--ssh`.
#[derive(clap::Args, Clone, Debug)]
pub struct SshArgs {
    /// Inventory this host over SSH (user@host[:port]) instead of this
    /// machine: read-only, nothing installed there (docs/agentless.md).
    #[arg(long, value_name = "USER@HOST[:PORT]")]
    pub ssh: Option<SshTarget>,
    /// The private key to log in with (default: ssh's own keys and agent).
    #[arg(long, requires = "ssh")]
    pub identity: Option<PathBuf>,
    /// Reach the host through these bastions (ssh -J: [user@]host[:port],...).
    #[arg(long, requires = "ssh")]
    pub jump: Option<String>,
    /// Run `rpm -qa` through `sudo -n` (never prompts).
    #[arg(long, requires = "ssh")]
    pub sudo: bool,
    /// The known-hosts file Kensa pins host keys in (default:
    /// ~/.local/share/kensa/known_hosts). Your ~/.ssh/known_hosts is not used.
    #[arg(long, requires = "ssh")]
    pub known_hosts: Option<PathBuf>,
    /// Confirm the host's key: the fingerprint (SHA256:…) you checked on
    /// the host itself. Needed at first contact and after a key change.
    #[arg(long, requires = "ssh", value_name = "SHA256:…")]
    pub trust_host_key: Option<String>,
    /// The time each command on the host may run.
    #[arg(long, default_value = "2m", value_parser = humantime::parse_duration, requires = "ssh")]
    pub command_timeout: Duration,
    /// The time the whole collection may take.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration, requires = "ssh")]
    pub timeout: Duration,
}

fn default_known_hosts() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("/var/lib"))
        .join("kensa/known_hosts")
}

/// Collect the inventory of `args.ssh`; the error is the message to print.
pub fn collect(args: &SshArgs, target: &SshTarget) -> Result<Inventory, String> {
    let mut ssh = Ssh::new(args.known_hosts.clone().unwrap_or_else(default_known_hosts));
    ssh.identity = args.identity.clone();
    ssh.jump = args.jump.clone();
    ssh.total_timeout = args.timeout;
    if let Some(fp) = &args.trust_host_key {
        let key = ssh.trust(target, fp).map_err(|e| e.to_string())?;
        eprintln!(
            "kensa: pinned {target}'s {} key {} in {}",
            key.key_type,
            key.fingerprint,
            ssh.known_hosts.display()
        );
    }
    let opts = ScanOptions {
        command_timeout: args.command_timeout,
        sudo: args.sudo,
        ..ScanOptions::default()
    };
    kensa_agentless::scan(&ssh, target, &opts).map_err(|e| match e.reason {
        Reason::HostKeyUnknown => {
            let presented = match ssh.scan_host_keys(target) {
                Ok(keys) => keys
                    .iter()
                    .map(|k| format!("{} {}", k.key_type, k.fingerprint))
                    .collect::<Vec<_>>()
                    .join(", "),
                Err(e) => format!("(could not read it: {e})"),
            };
            format!(
                "{target}: host key not confirmed yet. The host presents: {presented}.\n\
                 Compare with `ssh-keygen -lf /etc/ssh/ssh_host_<type>_key.pub` run on the host itself, \
                 then run again with --trust-host-key <fingerprint>."
            )
        }
        Reason::HostKeyChanged => format!(
            "{e}\nrefused: the host's key is not the one pinned in {}; it now presents {}. \
             If the change is expected (reinstalled host), confirm the new key with --trust-host-key.",
            ssh.known_hosts.display(),
            e.fingerprint.as_deref().unwrap_or("an unknown key"),
        ),
        _ => e.to_string(),
    })
}
