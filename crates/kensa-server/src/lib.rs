//! `kensa server`: the fleet's HTTP API over TLS, and the workers that
//! evaluate what agents report.
//!
//! - Storage is `kensa-store`: SQLite in the data directory by default, or
//!   PostgreSQL when given a URL (several server processes may share it).
//! - TLS always: a private CA is created in the data directory at first
//!   start ([`tls`]); agents pin it.
//! - Auth ([`auth`]): the first start creates an admin API token and
//!   writes it to `<data>/admin-token` (mode 0600); agents enrol with
//!   single-use enrolment tokens and get their own token, which can write
//!   their own asset only.
//! - Users ([`session`]): local users with argon2id passwords log in to
//!   cookie sessions with CSRF tokens; the first start creates the user
//!   `admin` with a random password in `<data>/admin-password`.
//! - Evaluation ([`worker`]): an inventory that changed queues an
//!   `evaluate` job; worker threads claim jobs from the database queue,
//!   match the inventory against the knowledge base and apply the finding
//!   lifecycle.
//!
//! The API is described by `/api/v1/openapi.json` (`src/openapi.json`).
//!
//! Layout, room by room: [`kit`] is what every handler shares (state,
//! [`kit::ApiError`], `with_db`, `authorize`); each feature module
//! (`tokens`, `agents`, `assets`, `findings`, [`export`], [`session`],
//! [`console`]) owns its handlers and lists its paths in a `routes()`;
//! [`api::router`] merges them. What a valid new user or token is lives in
//! one place (`rules`), for the API and the console alike.

pub mod agent_dist;
pub mod agentless;
mod agents;
pub mod api;
pub mod asset_list;
mod assets;
mod audit;
pub mod auth;
pub mod console;
pub mod error;
pub mod export;
mod findings;
pub mod ingest;
pub mod kit;
pub mod lease;
pub mod network;
pub mod notify;
pub mod observe;
mod pool;
mod push;
pub mod register;
pub mod review_render;
mod reviews;
mod rules;
pub mod schedule;
pub mod session;
pub mod tls;
mod tokens;
pub mod unmanaged;
pub mod worker;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use kensa_store::{Backend, Db, Timestamp};

pub use crate::error::{Result, ServerError};
use crate::pool::Pool;

/// How to run the server.
#[derive(Clone, Debug)]
pub struct Config {
    /// Keeps the SQLite database, the CA and the admin token.
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// A PostgreSQL URL; SQLite in `data_dir` when `None`.
    pub database: Option<String>,
    /// The knowledge base store (`kensa db`).
    pub kb_dir: PathBuf,
    /// Names and addresses the server certificate is valid for.
    pub tls_names: Vec<String>,
    /// Evaluation worker threads.
    pub workers: usize,
    /// Export destinations and keys.
    pub exports: export::ExportConfig,
    /// Server-side agentless scans (schedule, concurrency, ssh client).
    pub agentless: agentless::AgentlessConfig,
    /// How much load the server takes on at once.
    pub capacity: Capacity,
    /// The agent artefacts the server hands to hosts (`scripts/release`
    /// output: portable binary, .deb, .rpm, SHA256SUMS); `<data>/agent-dist`
    /// when `None`.
    pub agent_dist: Option<PathBuf>,
    /// Notification pacing and sweeps.
    pub notify: notify::NotifyConfig,
    /// Who may read `/metrics`, and where (docs/operations.md).
    pub observe: observe::ObserveConfig,
    /// The schedules' clock: the system's, except in tests.
    pub clock: schedule::Clock,
}

/// How much the server takes on at once; past it, requests wait, then are
/// answered 503 with `Retry-After` (docs/operations.md).
#[derive(Clone, Copy, Debug)]
pub struct Capacity {
    /// Database connections the request handlers hold at most (the
    /// evaluation and export workers have one each besides). 16 lets five
    /// servers share a PostgreSQL with the default `max_connections=100`.
    pub db_max_connections: usize,
    /// How long a request waits for one of them before it is answered 503.
    pub db_wait: std::time::Duration,
    /// Inventory uploads decoded at once.
    pub max_ingests: usize,
}

impl Default for Capacity {
    fn default() -> Capacity {
        Capacity {
            db_max_connections: 16,
            db_wait: std::time::Duration::from_secs(10),
            max_ingests: 2,
        }
    }
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    /// The `--metrics-listen` address, when there is one.
    pub metrics_addr: Option<SocketAddr>,
    /// The CA agents pin.
    pub ca_cert: PathBuf,
    /// The admin token, on the start that created it.
    pub admin_token: Option<String>,
    /// The password of the first admin user (`admin`), on the start that
    /// created it.
    pub admin_password: Option<String>,
    pub backend: Backend,
    stop: Arc<AtomicBool>,
    wake: Arc<worker::Wake>,
    exports: Arc<export::Exports>,
    agentless: Arc<agentless::Agentless>,
    scanners: Arc<worker::Wake>,
    http: axum_server::Handle,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Stop accepting requests, let running ones and jobs finish, and
    /// return.
    pub fn stop(self) {
        self.http
            .graceful_shutdown(Some(std::time::Duration::from_secs(10)));
        self.stop.store(true, Ordering::Relaxed);
        self.wake.notify();
        self.exports.wake.notify();
        self.agentless.wake.notify();
        // Every scanner waits on this one; a notification wakes them all.
        self.scanners.notify();
        for t in self.threads {
            let _ = t.join();
        }
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ServerError + '_ {
    move |source| ServerError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Create the admin token if there is none yet.
fn bootstrap_admin(db: &Db, data_dir: &Path) -> Result<Option<String>> {
    if db.has_admin_token()? {
        return Ok(None);
    }
    let token = auth::new_token("kst_")?;
    // Owned by the first admin user, made next: the token lives and dies
    // with that account.
    db.create_owned_api_token(
        "admin",
        auth::Role::Admin.as_str(),
        session::FIRST_ADMIN,
        &auth::digest(&token),
        Timestamp::now(),
    )?;
    write_secret(&data_dir.join("admin-token"), &token)?;
    Ok(Some(token))
}

/// Write a secret to a file only its owner may read.
fn write_secret(path: &Path, secret: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    writeln!(f, "{secret}").map_err(io(path))
}

/// The data directory is its owner's only (0700), and so are the SQLite
/// database and its journals (0600): they hold findings, digests and the
/// CA key. SQLite gives the `-wal` and `-shm` files the database file's
/// mode, so the database is made 0600 before SQLite first opens it, and
/// files an older version left readable are narrowed.
fn private_data(dir: &Path, sqlite: bool) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let set = |p: &Path, mode: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).map_err(io(p))
    };
    set(dir, 0o700)?;
    if !sqlite {
        return Ok(());
    }
    let db = dir.join("kensa.db");
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&db)
        .map_err(io(&db))?;
    for name in [
        "kensa.db",
        "kensa.db-wal",
        "kensa.db-shm",
        "kensa.db-journal",
    ] {
        let p = dir.join(name);
        if p.exists() {
            set(&p, 0o600)?;
        }
    }
    Ok(())
}

/// Start the server: migrations, TLS material, workers, then the listener.
pub fn start(cfg: Config) -> Result<Running> {
    std::fs::create_dir_all(&cfg.data_dir).map_err(io(&cfg.data_dir))?;
    private_data(&cfg.data_dir, cfg.database.is_none())?;
    // Bound before any credential is made: a start that cannot listen
    // leaves no admin password or token nobody was shown.
    let listener = std::net::TcpListener::bind(cfg.listen)
        .map_err(|e| ServerError::Internal(format!("listening on {}: {e}", cfg.listen)))?;
    let metrics_listener = cfg
        .observe
        .metrics_listen
        .map(|a| {
            std::net::TcpListener::bind(a)
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
                .map_err(|e| ServerError::Internal(format!("--metrics-listen {a}: {e}")))
        })
        .transpose()?;
    let metrics = Arc::new(observe::Metrics::default());
    let backend = match &cfg.database {
        Some(url) => Backend::Postgres(url.clone()),
        None => Backend::Sqlite(cfg.data_dir.join("kensa.db")),
    };
    let db = Db::open(&backend)?;
    // SQLite's file is this process's alone: an export still marked
    // running was cut short by the previous process (`kill -9`), and its
    // owner need not wait for the lease to run out. Before the listener
    // serves, so that no caller sees it running.
    match db.fail_interrupted_exports()? {
        0 => {}
        n => tracing::warn!("{n} export(s) interrupted by the last stop marked failed"),
    }
    let admin_token = bootstrap_admin(&db, &cfg.data_dir)?;
    let admin_password = session::bootstrap_user(&db, &cfg.data_dir)?;
    drop(db);

    let tls_files = tls::TlsFiles::in_dir(&cfg.data_dir);
    tls::ensure(&tls_files, &cfg.tls_names)?;
    let tls = tls::server_config(&tls_files)?;

    let stop = Arc::new(AtomicBool::new(false));
    let wake = Arc::new(worker::Wake::default());
    let mut threads = Vec::new();
    // Worker names fence job results (a job's result is accepted only from
    // the worker that holds its lease), so they must be unique across
    // processes and across servers started in one process.
    let instance = auth::new_token("")?;
    let instance = &instance[..8];
    let host = hostname();
    for i in 0..cfg.workers.max(1) {
        let mut w = worker::Worker::new(
            format!("{host}:{}:{instance}:{i}", std::process::id()),
            Db::open(&backend)?,
            cfg.kb_dir.clone(),
        )
        .metrics(Arc::clone(&metrics));
        if i == 0 {
            w = w.watch_kb();
        }
        let (wake, stop) = (Arc::clone(&wake), Arc::clone(&stop));
        threads.push(
            std::thread::Builder::new()
                .name(format!("kensa-eval-{i}"))
                .spawn(move || w.run(wake, stop))
                .map_err(|e| ServerError::Internal(format!("worker thread: {e}")))?,
        );
    }

    // Exports have a worker of their own: a long export never holds up
    // evaluations.
    let exports = Arc::new(export::Exports::new(&cfg.exports, &cfg.data_dir)?);
    {
        let w = export::ExportWorker {
            name: format!("{host}:{}:{instance}:export", std::process::id()),
            db: Db::open(&backend)?,
            exports: Arc::clone(&exports),
            metrics: Arc::clone(&metrics),
        };
        let stop = Arc::clone(&stop);
        threads.push(
            std::thread::Builder::new()
                .name("kensa-export".into())
                .spawn(move || w.run(stop))
                .map_err(|e| ServerError::Internal(format!("export thread: {e}")))?,
        );
    }

    // Notifications: one thread, apart from evaluations, so that a slow
    // receiver never holds one up.
    {
        let w = notify::NotifyWorker {
            name: format!("{host}:{}:{instance}:notify", std::process::id()),
            db: Db::open(&backend)?,
            cfg: cfg.notify.clone(),
        };
        let stop = Arc::clone(&stop);
        threads.push(
            std::thread::Builder::new()
                .name("kensa-notify".into())
                .spawn(move || w.run(stop))
                .map_err(|e| ServerError::Internal(format!("notification thread: {e}")))?,
        );
    }
    // Schedules: one thread that queues due exports for the export worker.
    {
        let (db, ex, clock, stop) = (
            Db::open(&backend)?,
            Arc::clone(&exports),
            cfg.clock.clone(),
            Arc::clone(&stop),
        );
        let name = format!("{host}:{}:{instance}:schedule", std::process::id());
        threads.push(
            std::thread::Builder::new()
                .name("kensa-schedule".into())
                .spawn(move || schedule::run(name, db, ex, clock, stop))
                .map_err(|e| ServerError::Internal(format!("schedule thread: {e}")))?,
        );
    }

    // Agentless scans: one scheduler and `concurrency` scanner threads,
    // apart from evaluations so that slow hosts never hold those up.
    let agentless = Arc::new(agentless::Agentless::new(
        cfg.agentless.clone(),
        &cfg.data_dir,
    )?);
    let scanners = Arc::new(worker::Wake::default());
    {
        let (db, ag, wake, stop) = (
            Db::open(&backend)?,
            Arc::clone(&agentless),
            Arc::clone(&scanners),
            Arc::clone(&stop),
        );
        threads.push(
            std::thread::Builder::new()
                .name("kensa-agentless-schedule".into())
                .spawn(move || agentless::schedule(db, ag, wake, stop))
                .map_err(|e| ServerError::Internal(format!("scheduler thread: {e}")))?,
        );
    }
    for i in 0..cfg.agentless.concurrency.max(1) {
        let (backend, ag, wake, evaluators, stop) = (
            backend.clone(),
            Arc::clone(&agentless),
            Arc::clone(&scanners),
            Arc::clone(&wake),
            Arc::clone(&stop),
        );
        let name = format!("{host}:{}:{instance}:ssh{i}", std::process::id());
        threads.push(
            std::thread::Builder::new()
                .name(format!("kensa-ssh-{i}"))
                .spawn(move || {
                    agentless::scan_worker(name, backend, i == 0, ag, wake, evaluators, stop)
                })
                .map_err(|e| ServerError::Internal(format!("scanner thread: {e}")))?,
        );
    }

    listener
        .set_nonblocking(true)
        .map_err(|e| ServerError::Internal(format!("listener: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServerError::Internal(format!("listener: {e}")))?;
    let state = Arc::new(kit::AppState {
        pool: Pool::new(
            backend.clone(),
            cfg.capacity.db_max_connections,
            cfg.capacity.db_wait,
        ),
        limits: kit::Limits::default(),
        ingests: Arc::new(tokio::sync::Semaphore::new(cfg.capacity.max_ingests.max(1))),
        wake: Arc::clone(&wake),
        login_throttle: Arc::default(),
        ca_cert: tls_files.ca_cert.clone(),
        exports: Arc::clone(&exports),
        agentless: Arc::clone(&agentless),
        agent_dist: cfg
            .agent_dist
            .clone()
            .unwrap_or_else(|| cfg.data_dir.join("agent-dist")),
        observe: observe::Observe::new(&cfg.observe, Arc::clone(&metrics), cfg.kb_dir.clone()),
        clock: cfg.clock.clone(),
    });
    // Kept outside the runtime: pooled PostgreSQL clients run their own
    // runtime when closed, which must not happen on an async thread, so
    // the pool is dropped after `block_on` returns.
    let pool = Arc::clone(&state.pool);
    let private = metrics_listener.map(|l| (l, observe::private_router(Arc::clone(&state))));
    let metrics_addr = private.as_ref().and_then(|(l, _)| l.local_addr().ok());
    let app = api::router(state);
    let http = axum_server::Handle::new();
    let handle = http.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ServerError::Internal(format!("runtime: {e}")))?;
    threads.push(
        std::thread::Builder::new()
            .name("kensa-http".into())
            .spawn(move || {
                runtime.block_on(async move {
                    if let Some((listener, router)) = private {
                        // Plain HTTP, stopped with the main listener.
                        let server = axum_server::from_tcp(listener).handle(handle.clone());
                        tokio::spawn(async move {
                            if let Err(e) = server.serve(router.into_make_service()).await {
                                tracing::error!("metrics listener: {e}");
                            }
                        });
                    }
                    let config = axum_server::tls_rustls::RustlsConfig::from_config(tls);
                    let server = axum_server::from_tcp_rustls(listener, config);
                    if let Err(e) = server
                        .handle(handle)
                        .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                        .await
                    {
                        tracing::error!("{e}");
                    }
                });
                drop(runtime);
                drop(pool);
            })
            .map_err(|e| ServerError::Internal(format!("http thread: {e}")))?,
    );
    Ok(Running {
        addr,
        metrics_addr,
        ca_cert: tls_files.ca_cert,
        admin_token,
        admin_password,
        backend,
        stop,
        wake,
        exports,
        agentless,
        scanners,
        http,
        threads,
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "kensa".to_owned())
}
