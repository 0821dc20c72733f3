//! The Kensa agent: collects this host's inventory on a schedule and when a
//! package database changes, and reports it to a Kensa server by the
//! protocol of `docs/agent-protocol.md` (client side).
//!
//! ```text
//! collect ─▶ content hash ─▶ same as last confirmed? ── yes ─▶ HEAD (server records "last seen")
//!                                  │ no
//!                                  ▼
//!                    spool (<state>/spool/, bounded, atomic)
//!                                  │ oldest first
//!                                  ▼
//!                 HEAD {hash} ─ 204 ─▶ delete from spool
//!                      │ 404
//!                      ▼
//!                 PUT {hash} (gzip) ─ 202 ─▶ delete from spool, remember hash
//! ```
//!
//! - [`enroll`] exchanges a single-use enrolment token for the agent's own
//!   token, kept in `<state>/agent.json` (mode 0600, written atomically).
//! - [`run_once`] collects, records and delivers once: `kensa agent run
//!   --once`, for cron and tests. [`Outcome::exit_code`] gives its exit
//!   status (0 delivered or unchanged, 3 spooled and not delivered).
//! - [`run`] is the daemon loop: collects every [`Config::interval`]
//!   (±10 % jitter), and when a package database changed (polled every
//!   [`Config::poll`]); retries delivery with exponential backoff and
//!   jitter, capped at the interval; stops when `stop` is set.
//!
//! End-to-end delivery (enrolment, `HEAD`/`PUT` against a real server,
//! `401` on a revoked token, `413` on an oversized body) is tested by the
//! server's integration tests, which run this crate against the real
//! `kensa-server`; this crate's own tests cover everything that needs no
//! server (spool, backoff, schedule, change detection, state files, TLS
//! configuration, encoding, the hash-first decisions, and delivery to a
//! server that cannot be reached). There is no mock server.

pub mod client;
pub mod codec;
pub mod error;
mod fsutil;
pub mod hygiene;
mod log;
pub mod schedule;
pub mod spool;
pub mod state;
pub mod tls;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kensa_inventory::Inventory;

pub use crate::client::Client;
pub use crate::error::{AgentError, Result};
pub use crate::spool::Spool;
pub use crate::state::{Credentials, Secret, StateDir, Trust};
pub use crate::tls::CaSource;
pub use kensa_inventory::Target;

/// Where the state lives by default (the systemd unit's `StateDirectory`).
pub const DEFAULT_STATE_DIR: &str = "/var/lib/kensa-agent";
/// The default schedule: every hour.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(3600);
/// How often the package databases' modification times are polled.
pub const DEFAULT_POLL: Duration = Duration::from_secs(30);
/// The first retry delay after a failed delivery (then doubling, capped at
/// the interval).
pub const RETRY_FIRST: Duration = Duration::from_secs(30);

/// The agent's configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The server's base URL, `https://host[:port]`.
    pub server: String,
    /// Which CA to trust: the server's own, pinned (the default), or the
    /// system's.
    pub ca: CaSource,
    /// `agent.json`, `last.json` and `spool/` live here.
    pub state_dir: PathBuf,
    /// What to inventory: [`Target::Host`] (the default), or
    /// [`Target::Root`] for a mounted root filesystem. Images are not an
    /// agent's business (rejected).
    pub target: Target,
    /// The collection schedule (±10 % jitter).
    pub interval: Duration,
    /// The package-database poll period.
    pub poll: Duration,
    /// The spool's bound, in inventories.
    pub spool_limit: usize,
    /// The nice value to run at (`None`: leave it).
    pub nice: Option<i32>,
    /// The address-space limit in bytes (`None`: leave it).
    pub address_space_limit: Option<u64>,
}

impl Config {
    /// A configuration with the defaults: this host, every hour, polling
    /// every 30 s, 64 spooled inventories, nice 10, 1 GiB of address space.
    pub fn new(server: impl Into<String>, ca: CaSource, state_dir: impl Into<PathBuf>) -> Config {
        Config {
            server: server.into(),
            ca,
            state_dir: state_dir.into(),
            target: Target::Host,
            interval: DEFAULT_INTERVAL,
            poll: DEFAULT_POLL,
            spool_limit: spool::DEFAULT_LIMIT,
            nice: Some(hygiene::DEFAULT_NICE),
            address_space_limit: Some(hygiene::DEFAULT_ADDRESS_SPACE),
        }
    }

    /// Check what can be checked without the network.
    pub fn validate(&self) -> Result<()> {
        client::base_url(&self.server)?;
        if matches!(self.target, Target::Image(_)) {
            return Err(AgentError::Config(
                "an agent inventories a host or a root filesystem, not an image".into(),
            ));
        }
        if self.interval < Duration::from_secs(1) || self.poll < Duration::from_millis(10) {
            return Err(AgentError::Config(format!(
                "interval {:?} / poll {:?} too short",
                self.interval, self.poll
            )));
        }
        if self.spool_limit == 0 {
            return Err(AgentError::Config(
                "the spool limit must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The directory whose package databases are watched.
    pub fn root(&self) -> PathBuf {
        match &self.target {
            Target::Root(p) | Target::Image(p) => p.clone(),
            Target::Host => PathBuf::from("/"),
        }
    }
}

/// What one collection-and-delivery cycle achieved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The inventory is the one last delivered: nothing was spooled or
    /// sent but a `HEAD`, which the server answered `204` (recording that
    /// the agent reported).
    Unchanged,
    /// `n` spooled inventories were delivered (or found already held by
    /// the server), the current one included; the spool is empty.
    Delivered { n: usize },
    /// The server could not be reached, or failed (`5xx`, `429`, ...):
    /// `pending` inventories wait in the spool for the next try (0 when
    /// the inventory was unchanged and only its `HEAD` failed). `reason`
    /// is the error.
    Spooled { pending: usize, reason: String },
}

impl Outcome {
    /// The exit status of `kensa agent run --once`: 0 delivered or
    /// unchanged, 3 spooled and not delivered.
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Unchanged | Outcome::Delivered { .. } => 0,
            Outcome::Spooled { .. } => 3,
        }
    }

    fn reported(&self) -> bool {
        self.exit_code() == 0
    }
}

/// One line for people and logs (`kensa agent run --once` prints it).
impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Unchanged => f.write_str("unchanged: the server already holds this inventory"),
            Outcome::Delivered { n: 1 } => f.write_str("delivered 1 inventory"),
            Outcome::Delivered { n } => write!(f, "delivered {n} inventories"),
            Outcome::Spooled { pending, reason } => write!(
                f,
                "not delivered ({reason}); {pending} inventor{} kept in the spool for the next try",
                if *pending == 1 { "y" } else { "ies" }
            ),
        }
    }
}

/// What to do with a freshly collected inventory, from its content hash,
/// the hash the server last confirmed, and the newest spooled hash: the
/// hash-first rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// New content: spool it, then deliver the spool.
    Spool,
    /// The newest spooled entry is this very inventory: deliver the spool,
    /// write nothing.
    AlreadySpooled,
    /// Nothing pending and the server already holds it: `HEAD` only.
    Unchanged,
}

/// The hash-first rule. Compared with the *newest known* state (the
/// newest spooled entry if any, else the last confirmed hash), not with
/// the last delivered one only: if the host went A → B → A while B waits
/// in the spool, A is spooled again after B, so that the server ends with
/// A, the truth.
pub fn decide(
    current: &str,
    last_confirmed: Option<&str>,
    newest_spooled: Option<&str>,
) -> Decision {
    match newest_spooled {
        Some(newest) if newest == current => Decision::AlreadySpooled,
        Some(_) => Decision::Spool,
        None if last_confirmed == Some(current) => Decision::Unchanged,
        None => Decision::Spool,
    }
}

/// Enrol with the server: `POST /api/v1/agents/enroll` with the
/// `enrollment_token`, and the hostname and machine id of the target (this
/// host, or the root filesystem of [`Config::target`]); the credentials
/// returned are stored in `<state>/agent.json` (mode 0600, atomically; a
/// previous enrolment is replaced) with what [`run`] needs to do without
/// flags: the server's URL, the CA choice (a pinned CA is copied to
/// `<state>/ca.pem`) and the root enrolled.
pub fn enroll(cfg: &Config, enrollment_token: &str) -> Result<Credentials> {
    cfg.validate()?;
    let state = StateDir::open(&cfg.state_dir)?;
    let client = Client::new(&cfg.server, &cfg.ca)?;
    let root = kensa_inventory::fs::DirRoot::new(cfg.root())?;
    let host = kensa_inventory::host::identify(&root, matches!(cfg.target, Target::Host));
    let hostname = host.hostname.unwrap_or_default();
    let machine_id = host.machine_id.unwrap_or_default();
    // Enrolling again from the same state directory (a lost CA, a new
    // version): prove to be the agent already reporting for this host.
    let previous = state
        .credentials()
        .ok()
        .filter(|c| c.server == client.base());
    let mut creds = client.enroll(&client::EnrollRequest {
        enrollment_token,
        hostname: &hostname,
        machine_id: &machine_id,
        agent_version: env!("CARGO_PKG_VERSION"),
        previous_token: previous.as_ref().map(|c| c.token.expose()),
    })?;
    creds.trust = match &cfg.ca {
        CaSource::Pinned(path) => {
            state.save_ca(path)?;
            Trust::Pinned
        }
        CaSource::System => Trust::System,
    };
    if let Target::Root(root) = &cfg.target {
        // Absolute, so that `run` from another directory finds it.
        creds.root = Some(std::path::absolute(root).map_err(|e| AgentError::io(root, e))?);
    }
    state.save_credentials(&creds)?;
    log::info(format_args!(
        "enrolled with {} as {} (asset {}); credentials in {}",
        creds.server,
        creds.agent_id,
        creds.asset_id,
        state.credentials_path().display()
    ));
    Ok(creds)
}

/// What the server says of this state directory's enrolment
/// ([`status`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// The server accepts the credential: it is agent `agent_id`,
    /// reporting for asset `asset_id`.
    Live {
        server: String,
        agent_id: String,
        asset_id: String,
    },
    /// The server refuses the credential (`401`/`403`): revoked by an
    /// admin, or unknown to it. `reason` is what the server said.
    Refused { server: String, reason: String },
}

impl Status {
    /// The exit status of `kensa agent status`: 0 live, 4 refused (the
    /// other outcomes are errors: 5 not enrolled, 3 the server could not
    /// be asked, 2 a bad configuration).
    pub fn exit_code(&self) -> i32 {
        match self {
            Status::Live { .. } => 0,
            Status::Refused { .. } => 4,
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Live {
                server,
                agent_id,
                asset_id,
            } => write!(
                f,
                "enrolled: agent {agent_id} for asset {asset_id}; {server} accepts its credential"
            ),
            Status::Refused { server, reason } => write!(
                f,
                "refused: {server} no longer accepts this agent's credential ({reason}); \
                 an admin revoked it, or the server forgot it: enrol again with a new enrolment token"
            ),
        }
    }
}

/// Ask the server whether it still accepts this state directory's
/// credential (`GET /api/v1/agent/self`), without collecting or reporting
/// anything: how `install.sh` tells a live enrolment from a revoked one.
/// Errors: not enrolled, a bad configuration, or the server could not be
/// asked (unreachable, `5xx`).
pub fn status(cfg: &Config) -> Result<Status> {
    cfg.validate()?;
    let state = StateDir::open(&cfg.state_dir)?;
    let creds = state.credentials()?;
    let client = Client::new(&cfg.server, &cfg.ca)?;
    let server = client.base().to_owned();
    match client.whoami(&creds.token) {
        Ok(me) => Ok(Status::Live {
            server,
            agent_id: me.agent_id,
            asset_id: me.asset_id,
        }),
        Err(AgentError::Http {
            status, message, ..
        }) if matches!(status, 401 | 403) => Ok(Status::Refused {
            server,
            reason: format!("HTTP {status}: {message}"),
        }),
        Err(e) => Err(e),
    }
}

/// Collect, record and deliver once (`kensa agent run --once`).
///
/// The inventory is spooled before any delivery is tried, so nothing is
/// lost whatever happens next. Returns [`Outcome::Spooled`] when the
/// server could not be reached or failed transiently; an error when it
/// refused the agent (`401`/`403`: re-enrol), refused the current
/// inventory (`400`/`413`: the entry is set aside as `.rejected`), or when
/// the agent is not enrolled or misconfigured.
pub fn run_once(cfg: &Config) -> Result<Outcome> {
    cfg.validate()?;
    hygiene::apply(cfg.nice, cfg.address_space_limit)?;
    let session = Session::open(cfg)?;
    let inv = kensa_inventory::collect(&cfg.target)?;
    session.cycle(Some(&inv))
}

/// The daemon loop (`kensa agent run`): until `stop` is set (checked at
/// least every second), collect on the jittered schedule and when a
/// package database changed and settled, deliver, and retry failed
/// deliveries with exponential backoff and jitter capped at the interval.
/// Errors of a cycle are logged and retried; only what cannot work at all
/// (not enrolled, bad configuration, unusable CA file) returns an error.
pub fn run(cfg: &Config, stop: &AtomicBool) -> Result<()> {
    cfg.validate()?;
    hygiene::apply(cfg.nice, cfg.address_space_limit)?;
    let session = Session::open(cfg)?;
    let mut watch = schedule::DbWatch::new(cfg.root());
    let mut backoff = schedule::Backoff::new(RETRY_FIRST.min(cfg.interval), cfg.interval);
    let mut next_collect = Instant::now();
    let mut next_poll = Instant::now() + cfg.poll;
    let mut next_retry: Option<Instant> = None;
    log::info(format_args!(
        "reporting to {} every {} (±10 %), state in {}",
        session.client.base(),
        humantime::format_duration(cfg.interval),
        cfg.state_dir.display()
    ));
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        let mut collect = now >= next_collect;
        if now >= next_poll {
            next_poll = now + cfg.poll;
            if watch.poll() {
                log::info(format_args!("a package database changed: collecting"));
                collect = true;
            }
        }
        let retry = next_retry.is_some_and(|t| now >= t);
        if collect || retry {
            // A retry with nothing spooled is the unchanged inventory's
            // HEAD that failed: collect again (the server may need it).
            let fresh = collect
                || session
                    .spool
                    .entries()
                    .map(|e| e.is_empty())
                    .unwrap_or(true);
            let result = if fresh {
                watch.collected();
                next_collect = now + schedule::next_collection(cfg.interval, fsutil::random_u64());
                kensa_inventory::collect(&cfg.target)
                    .map_err(AgentError::from)
                    .and_then(|inv| session.cycle(Some(&inv)))
            } else {
                session.cycle(None)
            };
            match result {
                Ok(outcome) if outcome.reported() => {
                    if backoff.failures() > 0 {
                        log::info(format_args!(
                            "delivered again after {} failure(s)",
                            backoff.failures()
                        ));
                    }
                    backoff.reset();
                    next_retry = None;
                    if let Outcome::Delivered { .. } = outcome {
                        log::info(format_args!("{outcome}"));
                    }
                }
                Ok(outcome) => {
                    let wait = backoff.fail(fsutil::random_u64());
                    next_retry = Some(Instant::now() + wait);
                    if let Outcome::Spooled { pending, reason } = outcome {
                        log::info(format_args!(
                            "not delivered ({reason}); {pending} spooled; next try in {}",
                            humantime::format_duration(Duration::from_secs(wait.as_secs()))
                        ));
                    }
                }
                Err(e) => {
                    let wait = backoff.fail(fsutil::random_u64());
                    next_retry = Some(Instant::now() + wait);
                    log::info(format_args!(
                        "{e}; next try in {}",
                        humantime::format_duration(Duration::from_secs(wait.as_secs()))
                    ));
                }
            }
        }
        let mut wake = next_collect.min(next_poll);
        if let Some(t) = next_retry {
            wake = wake.min(t);
        }
        sleep_until(wake, stop);
    }
    log::info(format_args!("stopped"));
    Ok(())
}

/// Sleep until `t`, waking at least every second to check `stop`.
fn sleep_until(t: Instant, stop: &AtomicBool) {
    loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let now = Instant::now();
        if now >= t {
            return;
        }
        std::thread::sleep((t - now).min(Duration::from_secs(1)));
    }
}

/// Everything a cycle needs, opened once.
struct Session {
    state: StateDir,
    spool: Spool,
    client: Client,
    creds: Credentials,
}

impl Session {
    fn open(cfg: &Config) -> Result<Session> {
        let state = StateDir::open(&cfg.state_dir)?;
        let creds = state.credentials()?;
        let client = Client::new(&cfg.server, &cfg.ca)?;
        if !creds.server.is_empty() && creds.server != client.base() {
            return Err(AgentError::Config(format!(
                "{}: enrolled with {}, configured for {}; enrol again to change servers",
                state.credentials_path().display(),
                creds.server,
                client.base()
            )));
        }
        let spool = Spool::open(state.spool_path(), cfg.spool_limit)?;
        Ok(Session {
            state,
            spool,
            client,
            creds,
        })
    }

    /// Record `inv` (when given) by the hash-first rule, then deliver the
    /// spool oldest first.
    fn cycle(&self, inv: Option<&Inventory>) -> Result<Outcome> {
        let mut unchanged = None;
        // The canonical bytes are both what is hashed and what is sent:
        // made once.
        let current = inv.map(|i| {
            let bytes = i.content_bytes();
            let hash = kensa_inventory::model::content_hash_of(&bytes);
            (bytes, hash)
        });
        if let Some((bytes, hash)) = &current {
            let last = self.state.last()?.map(|l| l.hash);
            let newest = self.spool.newest()?.map(|e| e.hash);
            match decide(hash, last.as_deref(), newest.as_deref()) {
                Decision::Spool => {
                    self.push(bytes, hash)?;
                }
                Decision::AlreadySpooled => {}
                Decision::Unchanged => unchanged = Some(hash.as_str()),
            }
        }
        if let Some(hash) = unchanged {
            match self.client.head(&self.creds.token, hash) {
                Ok(true) => return Ok(Outcome::Unchanged),
                Ok(false) => {
                    // The server lost it (restored from a backup, or the
                    // asset was reset): send it again.
                    if let Some((bytes, hash)) = &current {
                        self.push(bytes, hash)?;
                    }
                }
                Err(e) if e.is_retryable() => {
                    return Ok(Outcome::Spooled {
                        pending: 0,
                        reason: e.to_string(),
                    });
                }
                Err(e) => return Err(e),
            }
        }
        self.deliver(current.as_ref().map(|(_, h)| h.as_str()))
    }

    /// Spool `bytes` ([`Inventory::content_bytes`]) gzipped.
    fn push(&self, bytes: &[u8], hash: &str) -> Result<()> {
        let gz = codec::gzip(bytes).map_err(|e| AgentError::io(self.spool.dir(), e))?;
        let entry = self.spool.push(hash, &gz, spool::now_ms())?;
        log::info(format_args!(
            "spooled {} ({} bytes gzipped)",
            entry.hash,
            gz.len()
        ));
        Ok(())
    }

    /// Deliver the spool oldest first; stop at the first failure.
    fn deliver(&self, current: Option<&str>) -> Result<Outcome> {
        let mut delivered = 0;
        let mut rejected_current = None;
        for entry in self.spool.entries()? {
            let body = match entry.read() {
                Ok(b) => b,
                Err(AgentError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    continue;
                }
                Err(e) => {
                    self.spool
                        .set_aside(&entry, "bad", &format!("unreadable: {e}"))?;
                    continue;
                }
            };
            if let Err(why) = codec::verify(&body, &entry.hash) {
                self.spool
                    .set_aside(&entry, "bad", &format!("corrupt: {why}"))?;
                continue;
            }
            let failure = match self.client.head(&self.creds.token, &entry.hash) {
                Ok(true) => None,
                Ok(false) => match self.client.put(&self.creds.token, &entry.hash, &body) {
                    (client::PutVerdict::Accepted, _) => None,
                    (client::PutVerdict::Rejected, Err(e)) => {
                        self.spool.set_aside(
                            &entry,
                            "rejected",
                            &format!("refused by the server: {e}"),
                        )?;
                        if current == Some(entry.hash.as_str()) {
                            rejected_current = Some(e);
                        }
                        continue;
                    }
                    (_, Err(e)) => Some(e),
                    (_, Ok(())) => None,
                },
                Err(e) => Some(e),
            };
            if let Some(e) = failure {
                let pending = self.spool.entries()?.len();
                if e.is_retryable() {
                    return Ok(Outcome::Spooled {
                        pending,
                        reason: e.to_string(),
                    });
                }
                return Err(e);
            }
            self.spool.remove(&entry)?;
            self.state.set_last(&entry.hash)?;
            delivered += 1;
        }
        match rejected_current {
            Some(e) => Err(e),
            None => Ok(Outcome::Delivered { n: delivered }),
        }
    }
}

/// The state directory's spool, for inspection (`kensa agent status`).
pub fn spool_entries(state_dir: &Path, limit: usize) -> Result<Vec<spool::Entry>> {
    Spool::open(StateDir::open(state_dir)?.spool_path(), limit)?.entries()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_first_decisions() {
        use Decision::*;
        // First run: nothing known.
        assert_eq!(decide("A", None, None), Spool);
        // Unchanged since the last confirmed delivery: HEAD only.
        assert_eq!(decide("A", Some("A"), None), Unchanged);
        // Changed: spool.
        assert_eq!(decide("B", Some("A"), None), Spool);
        // Still undelivered from a previous run: no duplicate entry.
        assert_eq!(decide("B", Some("A"), Some("B")), AlreadySpooled);
        // A → B → A with B pending: A again, after B.
        assert_eq!(decide("A", Some("A"), Some("B")), Spool);
    }

    #[test]
    fn exit_codes() {
        assert_eq!(Outcome::Unchanged.exit_code(), 0);
        assert_eq!(Outcome::Delivered { n: 2 }.exit_code(), 0);
        let spooled = Outcome::Spooled {
            pending: 1,
            reason: String::new(),
        };
        assert_eq!(spooled.exit_code(), 3);
    }

    #[test]
    fn outcomes_read_as_sentences() {
        assert_eq!(
            Outcome::Delivered { n: 1 }.to_string(),
            "delivered 1 inventory"
        );
        assert_eq!(
            Outcome::Unchanged.to_string(),
            "unchanged: the server already holds this inventory"
        );
        let spooled = Outcome::Spooled {
            pending: 2,
            reason: "connection refused".into(),
        };
        assert_eq!(
            spooled.to_string(),
            "not delivered (connection refused); 2 inventories kept in the spool for the next try"
        );
    }

    #[test]
    fn config_validation() {
        let ok = Config::new("https://k:8443", CaSource::System, "/tmp/x");
        assert!(ok.validate().is_ok());
        let mut c = ok.clone();
        c.server = "http://k".into();
        assert!(c.validate().is_err());
        let mut c = ok.clone();
        c.target = Target::Image("/x.tar".into());
        assert!(c.validate().is_err());
        let mut c = ok;
        c.spool_limit = 0;
        assert!(c.validate().is_err());
    }
}
