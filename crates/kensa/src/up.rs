//! `kensa up`: everything on one machine in one command. A data directory,
//! the knowledge base (from a mirror, or upstream), the server on SQLite,
//! an agent for this host (or `--root`) enrolled and reporting, its first
//! evaluation awaited and summarised; then both keep running until Ctrl-C.
//! Running it again reuses all of it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kensa_store::{AssetId, Backend, Db, Status, Timestamp};

pub struct Args {
    pub data: PathBuf,
    pub listen: SocketAddr,
    pub mirror: Option<PathBuf>,
    pub root: Option<PathBuf>,
    /// Print the summary and stop (scripts and tests).
    pub once: bool,
    /// Names for the server certificate besides the loopback ones.
    pub tls_names: Vec<String>,
    /// Export destinations, as `kensa server` takes them.
    pub exports: kensa_server::export::ExportConfig,
    pub observe: kensa_server::observe::ObserveConfig,
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    tracing::error!("{e}");
    ExitCode::from(2)
}

/// The knowledge base: kept when there is one; else imported from the
/// mirror, or downloaded.
fn knowledge_base(kb: &Path, mirror: Option<&Path>) -> Result<(), String> {
    if kensa_kb::base::KnowledgeBase::open(kb).is_ok() {
        println!(
            "knowledge base: {} (kept; `kensa db update --kb {0}` refreshes it)",
            kb.display()
        );
        return Ok(());
    }
    match mirror {
        Some(m) => {
            println!("knowledge base: importing the mirror {} …", m.display());
            let mut b =
                kensa_kb::base::KnowledgeBaseBuilder::create(kb).map_err(|e| e.to_string())?;
            let imported = kensa_kb::mirror::import(m, &mut b).map_err(|e| e.to_string())?;
            // Kept as `kensa db import` keeps them: `kensa db status` lists
            // them, and scans warn about dropped records they name.
            for i in imported {
                b.report(&i.feed, i.report);
            }
            let meta = b.finish().map_err(|e| e.to_string())?;
            println!(
                "knowledge base: {} advisory rows for {} namespaces",
                meta.affected_rows,
                meta.namespaces.len()
            );
        }
        None => {
            println!("knowledge base: downloading the feeds (give --mirror DIR to work offline) …");
            let _ = crate::db::update(None, kb, None);
        }
    }
    kensa_kb::base::KnowledgeBase::open(kb)
        .map(|_| ())
        .map_err(|e| format!("no knowledge base at {}: {e}", kb.display()))
}

pub fn run(args: Args) -> ExitCode {
    let kb = args.data.join("kb");
    if let Err(e) = std::fs::create_dir_all(&args.data) {
        return fail(format!("{}: {e}", args.data.display()));
    }
    let mirror = args
        .mirror
        .clone()
        .or_else(|| std::env::var_os("KENSA_MIRROR").map(PathBuf::from));
    if let Err(e) = knowledge_base(&kb, mirror.as_deref()) {
        return fail(e);
    }

    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&stop)) {
            return fail(format!("cannot handle signal {signal}: {e}"));
        }
    }
    let server_dir = args.data.join("server");
    let running = match kensa_server::start(kensa_server::Config {
        data_dir: server_dir.clone(),
        listen: args.listen,
        database: None,
        kb_dir: kb.clone(),
        tls_names: ["localhost", "127.0.0.1", "::1"]
            .into_iter()
            .map(String::from)
            .chain(args.tls_names.iter().cloned())
            .collect(),
        workers: 2,
        exports: args.exports.clone(),
        agentless: Default::default(),
        capacity: Default::default(),
        agent_dist: None,
        notify: Default::default(),
        observe: args.observe.clone(),
        clock: kensa_server::schedule::Clock::from_env(),
    }) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let url = format!("https://127.0.0.1:{}", running.addr.port());
    let admin = secret(running.admin_token.clone(), &server_dir.join("admin-token"));
    let password = secret(
        running.admin_password.clone(),
        &server_dir.join("admin-password"),
    );

    let result = enrol_and_report(&args, &url, &running.ca_cert, &running.backend, &stop);
    let (cfg, asset) = match result {
        Ok(v) => v,
        Err(e) => {
            running.stop();
            return fail(e);
        }
    };
    println!();
    println!("Kensa is up: {url}");
    println!(
        "  console login:   {} / {password}",
        kensa_server::session::FIRST_ADMIN
    );
    println!("  admin API token: {admin}");
    println!("  CA for agents:   {}", running.ca_cert.display());
    if let Err(e) = summary(&running.backend, asset) {
        running.stop();
        return fail(e);
    }
    if args.once {
        running.stop();
        return ExitCode::SUCCESS;
    }
    println!("\nrunning; Ctrl-C stops the server and the agent");
    let agent_stop = Arc::clone(&stop);
    let agent = std::thread::spawn(move || kensa_agent::run(&cfg, &agent_stop));
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200));
    }
    if let Ok(Err(e)) = agent.join() {
        tracing::error!("agent: {e}");
    }
    running.stop();
    println!("stopped");
    ExitCode::SUCCESS
}

/// A secret the first start created, as `up` shows it: new, or read back
/// from its file on later runs.
fn secret(fresh: Option<String>, file: &Path) -> String {
    match fresh {
        Some(s) => format!("{s} (new; also in {})", file.display()),
        None => std::fs::read_to_string(file)
            .map(|s| format!("{} (from {})", s.trim(), file.display()))
            .unwrap_or_else(|_| format!("see {} of the first start", file.display())),
    }
}

/// Enrol the local agent once, report, and wait for the evaluation.
fn enrol_and_report(
    args: &Args,
    url: &str,
    ca: &Path,
    backend: &Backend,
    stop: &AtomicBool,
) -> Result<(kensa_agent::Config, AssetId), String> {
    let mut cfg = kensa_agent::Config::new(
        url.to_owned(),
        kensa_agent::CaSource::Pinned(ca.to_owned()),
        args.data.join("agent"),
    );
    if let Some(root) = &args.root {
        cfg.target = kensa_agent::Target::Root(root.clone());
    }
    // One process: the server's CPU and memory are not an agent's budget.
    cfg.address_space_limit = None;
    cfg.nice = None;
    let state = kensa_agent::StateDir::open(&cfg.state_dir).map_err(|e| e.to_string())?;
    let creds = match state.credentials() {
        // The port may differ from the last run: the credentials are this
        // data directory's own server's either way.
        Ok(c) if c.server == url => c,
        _ => {
            let db = Db::open(backend).map_err(|e| e.to_string())?;
            let token = kensa_server::auth::new_token("ket_").map_err(|e| e.to_string())?;
            let now = Timestamp::now();
            db.create_enrollment_token(
                &kensa_server::auth::digest(&token),
                now,
                Timestamp::from_unix_ms(now.unix_ms() + 600_000),
            )
            .map_err(|e| e.to_string())?;
            kensa_agent::enroll(&cfg, &token).map_err(|e| e.to_string())?
        }
    };
    let asset = AssetId(
        creds
            .asset_id
            .parse()
            .map_err(|_| format!("agent credentials name asset {:?}", creds.asset_id))?,
    );
    let since = Timestamp::now();
    let outcome = kensa_agent::run_once(&cfg).map_err(|e| e.to_string())?;
    println!("agent: {outcome}");
    let db = Db::open(backend).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let a = db
            .asset(asset)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{asset} is not in the database"))?;
        // An unchanged inventory was evaluated on an earlier run.
        let done = match outcome {
            kensa_agent::Outcome::Unchanged => a.evaluated_at.is_some(),
            _ => a.evaluated_at.is_some_and(|t| t >= since),
        };
        if done {
            return Ok((cfg, asset));
        }
        if Instant::now() > deadline || stop.load(Ordering::Relaxed) {
            return Err("the first evaluation did not finish (see the messages above)".into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// This host's open findings, by severity, and the most urgent ones.
fn summary(backend: &Backend, asset: AssetId) -> Result<(), String> {
    let db = Db::open(backend).map_err(|e| e.to_string())?;
    let mut open = db
        .findings(Some(asset), Some(Status::Active))
        .map_err(|e| e.to_string())?;
    let mut report: Vec<kensa_detect::Finding> = open.drain(..).map(|f| f.finding).collect();
    report.sort_by(kensa_detect::Finding::rank_cmp);
    let s = kensa_detect::Summary::of(&report);
    println!(
        "  this host: {} open findings: {} critical, {} high, {} medium, {} low, {} informational, {} untriaged; {} fixable, {} known exploited",
        s.findings,
        s.critical,
        s.high,
        s.medium,
        s.low,
        s.informational,
        s.untriaged,
        s.fixable,
        s.kev
    );
    for f in report.iter().take(10) {
        println!(
            "    {:<13} {:<20} {} {}{}",
            f.severity.as_str(),
            f.vulnerability_id,
            f.package.name,
            f.package.installed_version,
            f.fixed_version
                .as_deref()
                .map(|v| format!(" → {v}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}
