//! Running the system OpenSSH client, and the known-hosts file Kensa
//! manages.
//!
//! Why the system client rather than a Rust SSH library: the hosts this is
//! for are the oldest ones (CentOS 5/6, appliances), whose servers speak
//! algorithms modern libraries dropped and OpenSSH still offers on request;
//! people already describe their bastions (`ProxyJump`), ports and keys in
//! `ssh_config`; and OpenSSH's host-key checking, `BatchMode` and
//! connection keepalives are the reference behaviour. The client runs with
//! every interactive and forwarding feature off (see [`Ssh::command`]).

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::error::{AgentlessError, Reason, Result};
use crate::target::SshTarget;

/// How to reach hosts.
#[derive(Clone, Debug)]
pub struct Ssh {
    /// The `ssh` executable.
    pub program: PathBuf,
    /// The known-hosts file Kensa manages (the only one consulted).
    pub known_hosts: PathBuf,
    /// `-i`: the private key. Without it, the user's keys and agent.
    pub identity: Option<PathBuf>,
    /// `-J`: bastions, `[user@]host[:port]`, comma-separated, reached as
    /// the user's `ssh_config` says (the CLI).
    pub jump: Option<String>,
    /// A bastion reached with this client's own settings: the same key,
    /// host keys pinned in the same known-hosts file, `BatchMode` and the
    /// rest (the server, which reads no `ssh_config`). `ssh -J` would not
    /// do: the jump connection it starts gets only `-F`, none of the `-o`
    /// options, so it would read `~/.ssh/known_hosts` and the user's keys.
    pub bastion: Option<SshTarget>,
    /// Read the user's `ssh_config` (the CLI) or not (`-F none`: the server).
    pub use_ssh_config: bool,
    pub connect_timeout: Duration,
    /// The whole scan of one host, connection included.
    pub total_timeout: Duration,
    /// The most bytes the target may send.
    pub max_output: usize,
}

impl Ssh {
    pub fn new(known_hosts: impl Into<PathBuf>) -> Self {
        Ssh {
            program: "ssh".into(),
            known_hosts: known_hosts.into(),
            identity: None,
            jump: None,
            bastion: None,
            use_ssh_config: true,
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(300),
            max_output: 512 * 1024 * 1024,
        }
    }

    /// The options every connection gets, the bastion's included: no
    /// TTY, forwarding or prompt, only the given known-hosts file, and
    /// nothing that costs a start-up without serving a scan.
    fn options(&self, known_hosts: &Path, strict: &str, identity: Option<&Path>) -> Vec<String> {
        let mut a: Vec<String> = Vec::new();
        if !self.use_ssh_config {
            a.extend(["-F".into(), "none".into()]);
        }
        // -T: no TTY; -x -a: no X11 or agent forwarding.
        a.extend(["-T".into(), "-x".into(), "-a".into()]);
        let mut o = |v: String| {
            a.push("-o".into());
            a.push(v);
        };
        // BatchMode: never a password or passphrase prompt.
        o("BatchMode=yes".into());
        o(format!("StrictHostKeyChecking={strict}"));
        o(format!("UserKnownHostsFile={}", known_hosts.display()));
        o("GlobalKnownHostsFile=/dev/null".into());
        o("UpdateHostKeys=no".into());
        o("HashKnownHosts=no".into());
        o("CheckHostIP=no".into());
        o("ForwardAgent=no".into());
        o("ClearAllForwardings=yes".into());
        o("PermitLocalCommand=no".into());
        o("ControlMaster=no".into());
        o("ControlPath=none".into());
        o("RequestTTY=no".into());
        o("PasswordAuthentication=no".into());
        o("KbdInteractiveAuthentication=no".into());
        // Start-up work a scan never needs, set explicitly because the
        // system ssh_config may turn it on (Debian's enables GSSAPI, which
        // loads Kerberos and asks the KDC before every key login): no
        // GSSAPI or host-based login, no host key looked up in DNS, no
        // name canonicalisation; only public-key authentication is tried.
        o("GSSAPIAuthentication=no".into());
        o("HostbasedAuthentication=no".into());
        o("VerifyHostKeyDNS=no".into());
        o("CanonicalizeHostname=no".into());
        o("PreferredAuthentications=publickey".into());
        if !self.use_ssh_config {
            // The key exchange that costs least on both ends first; the
            // client's defaults stay behind it for hosts that lack it.
            // OpenSSH 9's default, sntrup761x25519, costs the client tens
            // of milliseconds of CPU per connection in its portable C:
            // most of a scan's client time (scripts/bench-agentless). The
            // inventory a scan carries is read by anyone on the host; the
            // post-quantum exchange protects little here. Only without
            // ssh_config: `-o` would override a user's per-host
            // KexAlgorithms for an old server.
            o(format!("KexAlgorithms=^{FAST_KEX}"));
        }
        o(format!(
            "ConnectTimeout={}",
            self.connect_timeout.as_secs().max(1)
        ));
        // A connection that dies mid-scan is noticed in 15 s, not at the
        // TCP timeout.
        o("ServerAliveInterval=5".into());
        o("ServerAliveCountMax=3".into());
        o("LogLevel=ERROR".into());
        if let Some(key) = identity {
            o("IdentitiesOnly=yes".into());
            a.push("-i".into());
            a.push(key.display().to_string());
        }
        a
    }

    /// The client command for `target`, running `remote` there.
    fn command(
        &self,
        target: &SshTarget,
        known_hosts: &Path,
        strict: &str,
        remote: &str,
        identity: Option<&Path>,
    ) -> Command {
        let mut c = Command::new(&self.program);
        c.args(self.options(known_hosts, strict, identity));
        if let Some(jump) = &self.jump {
            c.arg("-J").arg(jump);
        }
        if let Some(bastion) = &self.bastion {
            c.arg("-o")
                .arg(format!("ProxyCommand={}", self.proxy_command(bastion)));
        }
        c.arg("-p").arg(target.port.to_string());
        c.arg("-l").arg(&target.user);
        c.arg("--").arg(&target.host).arg(remote);
        c.env("LC_ALL", "C");
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Its own process group, so that a timeout kills the client and
        // any jump client it started.
        c.process_group(0);
        c
    }

    /// `ssh -W` through `bastion` with this client's own options, the
    /// bastion's key checked strictly against the pinned known-hosts file,
    /// as the `ProxyCommand` line (run by `sh -c`, `%` tokens expanded:
    /// every word is quoted and its `%` doubled).
    fn proxy_command(&self, bastion: &SshTarget) -> String {
        let mut words = vec![self.program.display().to_string()];
        words.extend(self.options(&self.known_hosts, "yes", self.identity.as_deref()));
        words.extend([
            "-W".into(),
            "[%h]:%p".into(),
            "-p".into(),
            bastion.port.to_string(),
            "-l".into(),
            bastion.user.clone(),
            "--".into(),
            bastion.host.clone(),
        ]);
        words
            .iter()
            .map(|w| {
                if w == "[%h]:%p" {
                    format!("'{w}'")
                } else {
                    shell_quote(&w.replace('%', "%%"))
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Run `script` on the target with `/bin/sh -s`; the target's standard
    /// output, or why not.
    pub fn run(&self, target: &SshTarget, script: &str) -> Result<Vec<u8>> {
        let cmd = self.command(
            target,
            &self.known_hosts,
            "yes",
            "/bin/sh -s",
            self.identity.as_deref(),
        );
        let out = self.exec(target, cmd, script.as_bytes())?;
        if out.status == Some(255) || (out.stdout.is_empty() && out.status != Some(0)) {
            return Err(classify(target, &out.stderr, out.status));
        }
        Ok(out.stdout)
    }

    fn exec(&self, target: &SshTarget, mut cmd: Command, input: &[u8]) -> Result<Output> {
        let local = |e: std::io::Error| {
            AgentlessError::new(
                target,
                Reason::Local,
                format!("{}: {e}", self.program.display()),
            )
        };
        let mut child = cmd.spawn().map_err(local)?;
        let pid = child.id();
        let over = Arc::new(AtomicBool::new(false));
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let max = self.max_output;
        let flag = over.clone();
        let out_thread = std::thread::spawn(move || read_capped(stdout, max, &flag));
        let err_flag = Arc::new(AtomicBool::new(false));
        let err_thread = std::thread::spawn(move || read_capped(stderr, 64 * 1024, &err_flag));
        if let Some(mut stdin) = child.stdin.take() {
            // The script is small; a target that closes early is reported
            // from its output, not from this write.
            let _ = stdin.write_all(input);
        }
        let deadline = Instant::now() + self.total_timeout;
        let mut killed = None;
        let status = loop {
            match child.try_wait().map_err(local)? {
                Some(s) => break s,
                None => {
                    let why = if over.load(Ordering::Relaxed) {
                        Some(Reason::OutputTooLarge)
                    } else if Instant::now() >= deadline {
                        Some(Reason::TimedOut)
                    } else {
                        None
                    };
                    if let Some(why) = why {
                        if let Some(pgid) = rustix::process::Pid::from_raw(pid as i32) {
                            let _ = rustix::process::kill_process_group(
                                pgid,
                                rustix::process::Signal::KILL,
                            );
                        }
                        let _ = child.kill();
                        killed = Some(why);
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        };
        let stdout = out_thread.join().unwrap_or_default();
        let stderr = err_thread.join().unwrap_or_default();
        match killed {
            Some(Reason::OutputTooLarge) => Err(AgentlessError::new(
                target,
                Reason::OutputTooLarge,
                format!("the target sent more than {} bytes", self.max_output),
            )),
            Some(r) => Err(AgentlessError::new(
                target,
                r,
                format!(
                    "no complete answer within {}",
                    humantime::format_duration(self.total_timeout)
                ),
            )),
            None => Ok(Output {
                stdout,
                stderr: String::from_utf8_lossy(&stderr).into_owned(),
                status: status.code(),
            }),
        }
    }

    /// The host keys `target` presents, as known-hosts lines, learnt by
    /// connecting once with a scratch known-hosts file (authentication is
    /// not attempted to succeed: only the key exchange matters).
    pub fn scan_host_keys(&self, target: &SshTarget) -> Result<Vec<HostKey>> {
        let scratch = tempfile::tempdir().map_err(|e| {
            AgentlessError::new(target, Reason::Local, format!("temporary directory: {e}"))
        })?;
        let file = scratch.path().join("known_hosts");
        // No key offered to the host itself (its key exchange is all that
        // is wanted); a bastion still gets the real key.
        let cmd = self.command(
            target,
            &file,
            "accept-new",
            "true",
            Some(Path::new("/dev/null")),
        );
        let out = self.exec(target, cmd, b"")?;
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let keys = parse_known_hosts(&text, &self.program);
        if keys.is_empty() {
            return Err(classify(target, &out.stderr, out.status));
        }
        Ok(keys)
    }

    /// Confirm `target`'s key: it must present a key whose fingerprint is
    /// `fingerprint` (what an admin checked); that key replaces any pinned
    /// before for this host.
    pub fn trust(&self, target: &SshTarget, fingerprint: &str) -> Result<HostKey> {
        let keys = self.scan_host_keys(target)?;
        let Some(key) = keys.into_iter().find(|k| k.fingerprint == fingerprint) else {
            return Err(AgentlessError::new(
                target,
                Reason::HostKeyChanged,
                format!("the host does not present a key with fingerprint {fingerprint}"),
            ));
        };
        let name = target.known_hosts_name();
        let current = std::fs::read_to_string(&self.known_hosts).unwrap_or_default();
        let mut lines: Vec<String> = current
            .lines()
            .filter(|l| l.split_whitespace().next() != Some(name.as_str()))
            .map(str::to_owned)
            .collect();
        lines.push(format!("{name} {} {}", key.key_type, key.key));
        let write = || -> std::io::Result<()> {
            if let Some(dir) = self.known_hosts.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = self.known_hosts.with_extension("tmp");
            std::fs::write(&tmp, lines.join("\n") + "\n")?;
            std::fs::rename(&tmp, &self.known_hosts)
        };
        write().map_err(|e| {
            AgentlessError::new(
                target,
                Reason::Local,
                format!("{}: {e}", self.known_hosts.display()),
            )
        })?;
        Ok(key)
    }
}

/// A host key as pinned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostKey {
    pub key_type: String,
    /// Base64 public key blob.
    pub key: String,
    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
}

/// The `ssh-keygen` beside the `ssh` program (or on the PATH).
fn keygen_of(ssh: &Path) -> PathBuf {
    ssh.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(|p| p.join("ssh-keygen"))
        .unwrap_or_else(|| "ssh-keygen".into())
}

/// The public key (`type base64`) and its `SHA256:` fingerprint of the
/// private key file `private`, which must open without a passphrase (a
/// server that scans unattended has nobody to type one). Never prompts.
pub fn public_key_of(ssh: &Path, private: &Path) -> std::result::Result<(String, String), String> {
    let out = Command::new(keygen_of(ssh))
        .args(["-y", "-P", "", "-f"])
        .arg(private)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ssh-keygen: {e}"))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        let why = why.trim();
        // ssh-keygen names the file, a temporary one: only its verdict
        // helps.
        let why = why.rsplit(": ").next().unwrap_or(why);
        return Err(format!(
            "not an OpenSSH or PEM private key that opens without a passphrase ({why})"
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace();
    let (Some(ty), Some(key)) = (parts.next(), parts.next()) else {
        return Err("ssh-keygen printed no public key".into());
    };
    let fp = fingerprint(&keygen_of(ssh), ty, key)
        .ok_or_else(|| "ssh-keygen could not fingerprint the public key".to_owned())?;
    Ok((format!("{ty} {key}"), fp))
}

/// Known-hosts lines (`name type key`) parsed into keys with fingerprints.
pub fn parse_known_hosts(text: &str, ssh: &Path) -> Vec<HostKey> {
    let keygen = keygen_of(ssh);
    let mut keys = Vec::new();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let (Some(_), Some(ty), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if let Some(fingerprint) = fingerprint(&keygen, ty, key) {
            keys.push(HostKey {
                key_type: ty.into(),
                key: key.into(),
                fingerprint,
            });
        }
    }
    keys
}

/// `ssh-keygen -l` of one public key.
fn fingerprint(keygen: &Path, ty: &str, key: &str) -> Option<String> {
    let mut child = Command::new(keygen)
        .args(["-l", "-E", "sha256", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()?
        .write_all(format!("{ty} {key}\n").as_bytes())
        .ok()?;
    let out = child.wait_with_output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .filter(|f| f.starts_with("SHA256:"))
        .map(str::to_owned)
}

/// The key exchanges put first by [`Ssh`] without `ssh_config`.
pub const FAST_KEX: &str = "curve25519-sha256,curve25519-sha256@libssh.org";

/// One word for `sh -c`.
fn shell_quote(w: &str) -> String {
    if !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+%^".contains(c))
    {
        w.to_owned()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

struct Output {
    stdout: Vec<u8>,
    stderr: String,
    status: Option<i32>,
}

fn read_capped(pipe: Option<impl Read>, max: usize, over: &AtomicBool) -> Vec<u8> {
    let mut out = Vec::new();
    let Some(mut pipe) = pipe else { return out };
    let mut buf = [0u8; 64 * 1024];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) | Err(_) => return out,
            Ok(n) => {
                if out.len() + n > max {
                    over.store(true, Ordering::Relaxed);
                    return out;
                }
                out.extend_from_slice(&buf[..n]);
            }
        }
    }
}

/// The reason behind an ssh client failure, from its messages (OpenSSH's
/// wording, stable for two decades; the client runs with `LC_ALL=C`).
pub fn classify(target: &SshTarget, stderr: &str, status: Option<i32>) -> AgentlessError {
    let detail = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("@@@"))
        .take(6)
        .collect::<Vec<_>>()
        .join(" / ");
    let has = |s: &str| stderr.contains(s);
    let reason = if has("REMOTE HOST IDENTIFICATION HAS CHANGED") {
        Reason::HostKeyChanged
    } else if has("host key is known for") || has("Host key verification failed") {
        Reason::HostKeyUnknown
    } else if has("Permission denied") || has("Too many authentication failures") {
        Reason::AuthenticationFailed
    } else if status == Some(255) {
        // Refused, no route, unknown name, connect timeout, connection
        // lost ("Connection closed", "Broken pipe", "Timeout, server not
        // responding"): ssh's own failures all exit 255.
        Reason::Unreachable
    } else {
        // The connection worked but the login shell did not run /bin/sh
        // (nologin, a restricted shell, no /bin/sh).
        Reason::UnsupportedOs
    };
    let detail = if detail.is_empty() {
        format!("ssh exited with status {status:?} and no message")
    } else {
        detail
    };
    let mut e = AgentlessError::new(target, reason, detail);
    if reason == Reason::HostKeyChanged {
        // "The fingerprint for the ED25519 key sent by the remote host is\nSHA256:…."
        e.fingerprint = stderr
            .split_whitespace()
            .find(|w| w.starts_with("SHA256:"))
            .map(|w| w.trim_end_matches('.').to_owned());
    }
    e
}
