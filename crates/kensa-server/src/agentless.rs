//! Server-side agentless targets (issue 15, docs/agentless.md): assets
//! scanned over SSH by the server's own workers, on a schedule.
//!
//! - Credentials are private keys an admin gives once; they are sealed
//!   with AES-256-GCM under the server's key-encryption key
//!   (`<data>/ssh-credentials.kek`, 32 random bytes made at first start,
//!   mode 0600) and stored sealed; the API returns their name, public key,
//!   fingerprint, creation and users, never the key. A scan opens the key
//!   into a 0600 file in a 0700 directory of the data directory for the
//!   time of one `ssh` run.
//! - Host keys are pinned in the database (several server processes share
//!   them). At first contact the key the host offers is stored `pending`
//!   and the scan fails `HOST_KEY_UNCONFIRMED` until an admin confirms its
//!   fingerprint; a changed key fails `HOST_KEY_CHANGED`, the new key is
//!   offered for confirmation, and nothing is scanned meanwhile.
//! - The scheduler (one thread per process) queues an `agentless-scan` job
//!   for each due target, moving its next scan one interval plus jitter
//!   later with a compare-and-set, so of several processes one queues it.
//!   Scanner threads (the concurrency setting) claim those jobs from the
//!   database queue, like evaluations.
//! - A successful scan goes through the push path ([`crate::push`]): the
//!   same ingest as an agent's report, then evaluation, lifecycle and
//!   coverage. A failed one records its reason on the target and touches
//!   nothing else, so the asset's inventory and findings stay.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use kensa_agentless::{Reason, ScanOptions, Ssh, SshTarget};
use kensa_store::{
    AgentlessTarget, AssetId, AssetUpsert, Db, NewSshCredential, ScanOutcome, SshAddress, Timestamp,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Principal, Role};
use crate::error::{Result, ServerError};
use crate::export::Kek;
use crate::kit::{ApiError, ApiResult, AppState, authorize, parse_json, with_db};
use crate::worker::Wake;

/// The job kind: `{ "asset": id }`.
pub const AGENTLESS_SCAN: &str = "agentless-scan";

/// How often the scheduler looks for due targets when not woken.
const POLL: Duration = Duration::from_secs(2);
/// The largest private key accepted (an RSA-16384 PEM is under 13 KiB).
const MAX_KEY: usize = 16 * 1024;

/// The settings of server-side scans.
#[derive(Clone, Debug)]
pub struct AgentlessConfig {
    /// Time between two scans of a target (`--agentless-interval`, default
    /// a day); each next scan is put off by a random jitter of up to a
    /// tenth of it, so that targets registered together spread out.
    pub interval: Duration,
    /// Targets scanned at once by this process (`--agentless-concurrency`).
    pub concurrency: usize,
    /// The `ssh` client.
    pub ssh_program: PathBuf,
    pub connect_timeout: Duration,
    /// The whole scan of one target.
    pub total_timeout: Duration,
    /// Each command on the target.
    pub command_timeout: Duration,
}

impl Default for AgentlessConfig {
    fn default() -> Self {
        AgentlessConfig {
            interval: Duration::from_secs(24 * 3600),
            concurrency: 10,
            ssh_program: "ssh".into(),
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(300),
            command_timeout: Duration::from_secs(120),
        }
    }
}

/// What the scanners and the API share.
pub struct Agentless {
    pub config: AgentlessConfig,
    kek: Kek,
    /// `<data>/agentless`: 0700; opened keys and known-hosts files live
    /// here for the time of one scan.
    scratch: PathBuf,
    /// Wakes the scheduler ("scan now", a confirmed host key).
    pub wake: Wake,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ServerError + '_ {
    move |source| ServerError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// What the sealed key of credential `name` is bound to.
fn aad(name: &str) -> Vec<u8> {
    format!("kensa ssh credential {name}").into_bytes()
}

impl Agentless {
    pub fn new(config: AgentlessConfig, data_dir: &Path) -> Result<Agentless> {
        use std::os::unix::fs::PermissionsExt;
        let kek = Kek::load_or_create(&data_dir.join("ssh-credentials.kek"))?;
        let scratch = data_dir.join("agentless");
        std::fs::create_dir_all(&scratch).map_err(io(&scratch))?;
        std::fs::set_permissions(&scratch, std::fs::Permissions::from_mode(0o700))
            .map_err(io(&scratch))?;
        Ok(Agentless {
            config,
            kek,
            scratch,
            wake: Wake::default(),
        })
    }

    fn ssh(&self, known_hosts: PathBuf) -> Ssh {
        let mut ssh = Ssh::new(known_hosts);
        ssh.program.clone_from(&self.config.ssh_program);
        // The server's own settings only: no user's ssh_config.
        ssh.use_ssh_config = false;
        ssh.connect_timeout = self.config.connect_timeout;
        ssh.total_timeout = self.config.total_timeout;
        ssh
    }

    fn scratch_dir(&self) -> Result<tempfile::TempDir> {
        tempfile::Builder::new()
            .prefix("scan-")
            .tempdir_in(&self.scratch)
            .map_err(io(&self.scratch))
    }

    /// Check and seal a private key: the public key and fingerprint, and
    /// the sealed key (hex), or why the key is refused.
    fn seal_key(&self, name: &str, key: &str) -> ApiResult<(String, String, String)> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let dir = self.scratch_dir()?;
        let path = dir.path().join("key");
        let mut body = key.trim().to_owned();
        body.push('\n');
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)?;
            f.write_all(body.as_bytes())
        };
        write().map_err(io(&path))?;
        let (public, fingerprint) =
            kensa_agentless::ssh::public_key_of(&self.config.ssh_program, &path)
                .map_err(|m| ApiError::bad(format!("private_key: {m}")))?;
        let sealed = self.kek.seal(body.as_bytes(), &aad(name))?;
        Ok((public, fingerprint, hex::encode(sealed)))
    }

    /// Open credential `name` into `dir/identity` (0600).
    fn open_key(&self, db: &Db, name: &str, dir: &Path) -> Result<PathBuf> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let (sealed, kek_id) = db.ssh_credential_sealed(name)?.ok_or_else(|| {
            ServerError::Internal(format!("SSH credential {name:?} no longer exists"))
        })?;
        if kek_id != self.kek.id {
            return Err(ServerError::Internal(format!(
                "SSH credential {name:?} was sealed by key {kek_id}, not this server's {}",
                self.kek.id
            )));
        }
        let bytes = hex::decode(&sealed).map_err(|_| {
            ServerError::Internal(format!(
                "SSH credential {name:?}: the stored value is not hex"
            ))
        })?;
        let key = self.kek.open(&bytes, &aad(name))?;
        let path = dir.join("identity");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io(&path))?;
        f.write_all(&key).map_err(io(&path))?;
        Ok(path)
    }
}

/// A collector reason as coverage shows it: the reasons a person acts on
/// are kept, the collector's own troubles are `INVENTORY_FAILED` (the
/// detail says which).
pub fn coverage_code(r: Reason) -> &'static str {
    match r {
        Reason::AuthenticationFailed
        | Reason::HostKeyChanged
        | Reason::HostKeyUnknown
        | Reason::Unreachable
        | Reason::TimedOut
        | Reason::UnsupportedOs => r.code(),
        Reason::OutputTooLarge | Reason::BadOutput | Reason::Local => "INVENTORY_FAILED",
    }
}

/// Every code a failed scan may leave on a target, for coverage.
pub const FAILURE_CODES: &[&str] = &[
    "AUTHENTICATION_FAILED",
    "HOST_KEY_CHANGED",
    "HOST_KEY_UNCONFIRMED",
    "UNREACHABLE",
    "TIMED_OUT",
    "UNSUPPORTED_OS",
    "INVENTORY_FAILED",
];

/// A random jitter of up to a tenth of `interval`.
fn jitter(interval: Duration) -> Duration {
    let mut b = [0u8; 8];
    if getrandom::getrandom(&mut b).is_err() {
        return Duration::ZERO;
    }
    let tenth = interval.as_millis() as u64 / 10;
    if tenth == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(u64::from_le_bytes(b) % tenth)
}

/// The scheduler: queue a scan of every due target, until `stop`.
pub(crate) fn schedule(db: Db, ag: Arc<Agentless>, scanners: Arc<Wake>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        match schedule_once(&db, &ag) {
            Ok(0) => {}
            Ok(_) => scanners.notify(),
            Err(e) => tracing::error!("agentless scheduler: {e}"),
        }
        ag.wake.wait(POLL);
    }
}

fn schedule_once(db: &Db, ag: &Agentless) -> Result<usize> {
    let now = Timestamp::now();
    let mut queued = 0;
    for t in db.due_agentless_targets(now, 1000)? {
        let wait = ag.config.interval + jitter(ag.config.interval);
        let next = Timestamp::from_unix_ms(now.unix_ms() + wait.as_millis() as i64);
        if db.reschedule_agentless(t.asset_id, t.next_scan_at, next)? {
            db.enqueue(
                AGENTLESS_SCAN,
                &json!({ "asset": t.asset_id.0 }),
                Some(&format!("agentless-scan:{}", t.asset_id.0)),
            )?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// A scanner thread: claim and run scans until `stop`.
///
/// Only the first scanner (`keep`) holds a database connection while the
/// queue is empty, and polls it; the others connect when woken and let the
/// connection go once the queue is drained. Ten idle scanners holding ten
/// connections each would break the per-server connection budget that
/// lets several servers share one PostgreSQL (docs/operations.md).
pub(crate) fn scan_worker(
    name: String,
    backend: kensa_store::Backend,
    keep: bool,
    ag: Arc<Agentless>,
    wake: Arc<Wake>,
    evaluators: Arc<Wake>,
    stop: Arc<AtomicBool>,
) {
    let mut held: Option<Db> = None;
    while !stop.load(Ordering::Relaxed) {
        let db = match held.take() {
            Some(db) => db,
            None => match Db::connect(&backend) {
                Ok(db) => db,
                Err(e) => {
                    tracing::error!("agentless scanner {name}: {e}");
                    wake.wait(POLL);
                    continue;
                }
            },
        };
        drain(&name, &db, &ag, &wake, &evaluators, &stop);
        if keep {
            held = Some(db);
            wake.wait(POLL);
        } else {
            drop(db);
            // Woken by the scheduler, "scan now" or a sibling that found
            // work; the long timeout only bounds a missed wake-up.
            wake.wait(POLL * 30);
        }
    }
}

/// Claims and runs scans until the queue has none for this process.
fn drain(name: &str, db: &Db, ag: &Agentless, wake: &Wake, evaluators: &Wake, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let job = match db.claim(name, &[AGENTLESS_SCAN], crate::lease::duration()) {
            Ok(Some(job)) => job,
            Ok(None) => return,
            Err(e) => {
                tracing::error!("agentless scanner {name}: {e}");
                return;
            }
        };
        // More may be queued: let an idle sibling take the next one.
        wake.notify();
        let asset = job
            .payload
            .get("asset")
            .and_then(Value::as_i64)
            .map(AssetId);
        let result = crate::lease::run_leased(db, &job, || match asset {
            Some(a) => scan_asset(db, ag, a),
            None => Err(ServerError::Internal(format!("job {}: no asset", job.id.0))),
        });
        let done = match result {
            Ok(queued) => {
                if queued {
                    evaluators.notify();
                }
                db.complete(&job)
            }
            Err(e) => {
                tracing::error!("agentless scan job {}: {e}", job.id.0);
                db.fail(&job, &e.to_string()).map(|_| ())
            }
        };
        if let Err(e) = done {
            tracing::error!("agentless scanner {name}: {e}");
        }
    }
}

/// Scan one asset now; whether an evaluation was queued. A scan that
/// fails on the target is recorded on the target (and is no job failure:
/// retrying at once would only repeat it).
pub fn scan_asset(db: &Db, ag: &Agentless, asset: AssetId) -> Result<bool> {
    let Some(t) = db.agentless_target(asset)? else {
        return Ok(false);
    };
    let Some(record) = db.asset(asset)? else {
        return Ok(false);
    };
    let fail = |code: &str, detail: &str, fingerprint: Option<&str>| {
        tracing::warn!(
            "agentless scan of {} ({}@{}:{}): {code}: {detail}",
            record.name,
            t.address.user,
            t.address.host,
            t.address.port
        );
        db.record_agentless_scan(
            asset,
            Timestamp::now(),
            &ScanOutcome::Failure {
                code,
                detail,
                fingerprint,
            },
        )
        .map(|()| false)
        .map_err(ServerError::from)
    };
    let target = match SshTarget::new(&t.address.user, &t.address.host, t.address.port) {
        Ok(t) => t,
        Err(m) => return fail("UNREACHABLE", &m, None),
    };
    let bastion = match t.address.jump.as_deref() {
        Some(j) => match SshTarget::parse_jump(j, &t.address.user) {
            Ok(b) => Some(b),
            Err(m) => return fail("UNREACHABLE", &format!("bastion: {m}"), None),
        },
        None => None,
    };
    let dir = ag.scratch_dir()?;
    let known_hosts = dir.path().join("known_hosts");
    let mut ssh = ag.ssh(known_hosts.clone());
    // A key that does not open (deleted, sealed by another server's key)
    // is the target's failure, shown in coverage, not a job to retry.
    // Opened before the host keys are learnt: a bastion wants it then.
    match ag.open_key(db, &t.address.credential, dir.path()) {
        Ok(path) => ssh.identity = Some(path),
        Err(e) => return fail("INVENTORY_FAILED", &e.to_string(), None),
    }
    // The keys `host` offers, stored pending for an admin to confirm; the
    // fingerprints, or why the host offered none.
    let offer = |ssh: &Ssh,
                 host: &SshTarget|
     -> Result<std::result::Result<String, kensa_agentless::AgentlessError>> {
        let keys = match ssh.scan_host_keys(host) {
            Ok(keys) => keys,
            Err(e) => return Ok(Err(e)),
        };
        let rows: Vec<(String, String, String)> = keys
            .iter()
            .map(|k| (k.key_type.clone(), k.key.clone(), k.fingerprint.clone()))
            .collect();
        db.offer_host_keys(&host.host, host.port, &rows, Timestamp::now())?;
        Ok(Ok(keys
            .iter()
            .map(|k| k.fingerprint.clone())
            .collect::<Vec<_>>()
            .join(" ")))
    };
    let unconfirmed = |what: &str, fps: &str| {
        format!(
            "first contact with {what}: it offers {fps}; an admin compares it with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) and confirms it"
        )
    };
    let mut lines = String::new();
    // The bastion's key is pinned like any host's; until it is confirmed
    // nothing goes through it.
    if let Some(b) = &bastion {
        let pinned = db.confirmed_host_keys(&b.host, b.port)?;
        if pinned.is_empty() {
            return match offer(&ssh, b)? {
                Ok(fps) => fail(
                    "HOST_KEY_UNCONFIRMED",
                    &unconfirmed(&format!("the bastion {}:{}", b.host, b.port), &fps),
                    fps.split(' ').next(),
                ),
                Err(e) => fail(
                    coverage_code(e.reason),
                    &format!("bastion {}:{}: {}", b.host, b.port, e.detail),
                    None,
                ),
            };
        }
        for k in &pinned {
            lines.push_str(&format!(
                "{} {} {}\n",
                b.known_hosts_name(),
                k.key_type,
                k.key
            ));
        }
    }
    let pinned = db.confirmed_host_keys(&t.address.host, t.address.port)?;
    for k in &pinned {
        lines.push_str(&format!(
            "{} {} {}\n",
            target.known_hosts_name(),
            k.key_type,
            k.key
        ));
    }
    std::fs::write(&known_hosts, lines).map_err(io(&known_hosts))?;
    ssh.bastion.clone_from(&bastion);
    if pinned.is_empty() {
        return match offer(&ssh, &target)? {
            Ok(fps) => fail(
                "HOST_KEY_UNCONFIRMED",
                &unconfirmed("the host", &fps),
                fps.split(' ').next(),
            ),
            Err(e) => fail(coverage_code(e.reason), &e.detail, None),
        };
    }
    let opts = ScanOptions {
        command_timeout: ag.config.command_timeout,
        ..ScanOptions::default()
    };
    let inv = match kensa_agentless::scan(&ssh, &target, &opts) {
        Ok(inv) => inv,
        Err(e) => {
            let mut fingerprint = e.fingerprint.clone();
            if e.reason == Reason::HostKeyChanged
                && let Ok(Ok(fps)) = offer(&ssh, &target)
                && fingerprint.is_none()
            {
                fingerprint = fps.split(' ').next().map(str::to_owned);
            }
            // The opened key goes before anything is recorded.
            drop(dir);
            let detail = if e.reason == Reason::HostKeyChanged {
                format!(
                    "the host offers {} instead of the confirmed key: refused; if the host was reinstalled, an admin confirms the new key ({})",
                    fingerprint.as_deref().unwrap_or("another key"),
                    e.detail
                )
            } else {
                e.detail.clone()
            };
            return fail(coverage_code(e.reason), &detail, fingerprint.as_deref());
        }
    };
    drop(dir);
    let now = Timestamp::now();
    let mut facts = AssetUpsert::from_inventory(&inv, now);
    facts.name.clone_from(&record.name);
    let queued = match crate::push::ingest_document(db, asset, &inv, &facts) {
        Ok(q) => q,
        Err(e) => return fail("INVENTORY_FAILED", e.message(), None),
    };
    db.record_agentless_scan(asset, now, &ScanOutcome::Success)?;
    Ok(queued)
}

pub(crate) fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route(
            "/api/v1/ssh-credentials",
            get(list_credentials).post(create_credential),
        )
        .route(
            "/api/v1/ssh-credentials/{name}",
            axum::routing::delete(delete_credential),
        )
        .route("/api/v1/ssh-host-keys", get(list_host_keys))
        .route("/api/v1/ssh-host-keys/confirm", post(confirm_host_key))
        .route("/api/v1/agentless-targets", get(list_targets))
        .route(
            "/api/v1/assets/{id}/ssh-target",
            put(set_target).delete(remove_target),
        )
        .route("/api/v1/assets/{id}/scan", post(scan_now))
}

fn actor(p: &Principal) -> String {
    match p {
        Principal::User { name, .. } => name.clone(),
        Principal::Agent { agent_id, .. } => format!("agent {agent_id}"),
    }
}

fn asset_id(id: &str) -> ApiResult<AssetId> {
    id.parse()
        .map(AssetId)
        .map_err(|_| ApiError::bad(format!("asset id {id:?}: expected a number")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCredential {
    name: String,
    /// The private key file's text (OpenSSH or PEM), without passphrase.
    private_key: String,
}

/// Whether `name` may name a credential (it goes in URLs and CSV cells).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Check, seal and store a new credential (the API and the console).
pub(crate) fn create_credential_in(
    db: &Db,
    ag: &Agentless,
    by: &str,
    name: &str,
    private_key: &str,
) -> ApiResult<kensa_store::SshCredentialInfo> {
    let name = name.trim();
    if !valid_name(name) {
        return Err(ApiError::bad(
            "name: 1 to 100 letters, digits, '.', '_' or '-'",
        ));
    }
    if private_key.len() > MAX_KEY {
        return Err(ApiError::bad(format!(
            "private_key: longer than {MAX_KEY} bytes"
        )));
    }
    let (public, fingerprint, sealed) = ag.seal_key(name, private_key)?;
    db.create_ssh_credential(
        &NewSshCredential {
            name,
            fingerprint: &fingerprint,
            public_key: &public,
            sealed: &sealed,
            kek_id: &ag.kek.id,
            created_by: by,
        },
        Timestamp::now(),
    )?;
    crate::audit::record(db, by, "ssh_credential.created", name, &fingerprint);
    db.ssh_credentials()?
        .into_iter()
        .find(|i| i.name == name)
        .ok_or_else(|| ApiError::from(ServerError::Internal("credential vanished".into())))
}

/// `POST /api/v1/ssh-credentials` (admins): `{name, private_key}`.
async fn create_credential(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let ag = Arc::clone(&state.agentless);
    with_db(&state, move |db| {
        let p = authorize(
            db,
            &headers,
            Role::Admin,
            "creating an SSH credential needs the admin role",
        )?;
        let c: NewCredential = parse_json(&body, "SSH credential")?;
        let info = create_credential_in(db, &ag, &actor(&p), &c.name, &c.private_key)?;
        Ok((StatusCode::CREATED, Json(json!(info))))
    })
    .await
}

/// `GET /api/v1/ssh-credentials` (admins): names, fingerprints, users.
async fn list_credentials(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Admin,
            "listing SSH credentials needs the admin role",
        )?;
        Ok(Json(json!({ "credentials": db.ssh_credentials()? })))
    })
    .await
}

/// `DELETE /api/v1/ssh-credentials/{name}` (admins; refused while used).
async fn delete_credential(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlPath(name): UrlPath<String>,
) -> ApiResult<StatusCode> {
    with_db(&state, move |db| {
        let p = authorize(
            db,
            &headers,
            Role::Admin,
            "deleting an SSH credential needs the admin role",
        )?;
        if db.delete_ssh_credential(&name)? {
            crate::audit::record(db, &actor(&p), "ssh_credential.deleted", &name, "");
            Ok(StatusCode::NO_CONTENT)
        } else {
            Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no SSH credential is named {name:?}"),
            ))
        }
    })
    .await
}

/// `GET /api/v1/ssh-host-keys` (admins): pinned and offered keys.
async fn list_host_keys(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Admin,
            "listing SSH host keys needs the admin role",
        )?;
        Ok(Json(json!({ "host_keys": db.host_keys()? })))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Confirm {
    pub host: String,
    pub port: u16,
    /// `SHA256:…`: the key offered, as checked on the host.
    pub fingerprint: String,
}

/// Confirm an offered host key (the API and the console).
pub(crate) fn confirm(db: &Db, ag: &Agentless, by: &str, c: &Confirm) -> ApiResult<()> {
    if !db.confirm_host_key(&c.host, c.port, c.fingerprint.trim(), by, Timestamp::now())? {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "{}:{} has offered no key {:?} (GET /api/v1/ssh-host-keys lists the offered ones)",
                c.host, c.port, c.fingerprint
            ),
        ));
    }
    crate::audit::record(
        db,
        by,
        "ssh_host_key.confirmed",
        &format!("{}:{}", c.host, c.port),
        &c.fingerprint,
    );
    ag.wake.notify();
    Ok(())
}

/// `POST /api/v1/ssh-host-keys/confirm` (admins): `{host, port,
/// fingerprint}`; the targets at that address are scanned at once.
async fn confirm_host_key(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let ag = Arc::clone(&state.agentless);
    with_db(&state, move |db| {
        let p = authorize(
            db,
            &headers,
            Role::Admin,
            "confirming an SSH host key needs the admin role",
        )?;
        let c: Confirm = parse_json(&body, "host key confirmation")?;
        confirm(db, &ag, &actor(&p), &c)?;
        Ok(Json(json!({ "confirmed": c.fingerprint })))
    })
    .await
}

/// `GET /api/v1/agentless-targets` (viewers): every target and its last
/// outcome.
async fn list_targets(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Viewer,
            "listing agentless targets needs a user token",
        )?;
        Ok(Json(json!({ "targets": db.agentless_targets()? })))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetBody {
    host: Option<String>,
    port: Option<u16>,
    user: String,
    credential: String,
    /// A bastion, `[user@]host[:port]`, reached with the same credential.
    jump: Option<String>,
}

/// `PUT /api/v1/assets/{id}/ssh-target` (admins).
async fn set_target(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let ag = Arc::clone(&state.agentless);
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Admin,
            "setting an SSH target needs the admin role",
        )?;
        let id = asset_id(&id)?;
        let b: TargetBody = parse_json(&body, "SSH target")?;
        let record = db
            .asset(id)?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("{id} not found")))?;
        let default_host = record
            .hostname
            .clone()
            .or_else(|| record.ip_addresses.first().cloned());
        let address: SshAddress = crate::register::ssh_address(
            b.host.as_deref().unwrap_or(""),
            &b.port.map(|p| p.to_string()).unwrap_or_default(),
            &b.user,
            &b.credential,
            b.jump.as_deref().unwrap_or(""),
            default_host.as_deref(),
        )
        .map_err(|(column, m)| {
            ApiError::bad(format!("{}: {m}", column.trim_start_matches("ssh_")))
        })?;
        db.set_agentless_target(id, &address, Timestamp::now())?;
        ag.wake.notify();
        Ok(Json(json!(db.agentless_target(id)?)))
    })
    .await
}

/// `DELETE /api/v1/assets/{id}/ssh-target` (admins).
async fn remove_target(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> ApiResult<StatusCode> {
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Admin,
            "removing an SSH target needs the admin role",
        )?;
        let id = asset_id(&id)?;
        if db.remove_agentless_target(id)? {
            Ok(StatusCode::NO_CONTENT)
        } else {
            Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("{id} has no SSH target"),
            ))
        }
    })
    .await
}

/// Queue a scan of `asset` now (the API and the console).
pub(crate) fn scan_now_in(db: &Db, ag: &Agentless, asset: AssetId) -> ApiResult<()> {
    if !db.scan_agentless_now(asset)? {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("{asset} has no SSH target"),
        ));
    }
    ag.wake.notify();
    Ok(())
}

/// `POST /api/v1/assets/{id}/scan` (analysts and admins): scan now.
async fn scan_now(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let ag = Arc::clone(&state.agentless);
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Analyst,
            "scanning an asset now needs the analyst or admin role",
        )?;
        let id = asset_id(&id)?;
        scan_now_in(db, &ag, id)?;
        Ok((StatusCode::ACCEPTED, Json(json!({ "queued": true }))))
    })
    .await
}

/// An asset's scan method and its last successful scan, for coverage.
pub(crate) fn method_of(agent: bool, target: Option<&AgentlessTarget>) -> &'static str {
    if agent {
        "agent"
    } else if target.is_some() {
        "agentless"
    } else {
        "none"
    }
}
