//! `kensa server`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub struct Args {
    pub data: PathBuf,
    pub listen: SocketAddr,
    pub database: Option<String>,
    pub kb: PathBuf,
    pub names: Vec<String>,
    pub workers: usize,
    pub exports: kensa_server::export::ExportConfig,
    pub agentless: kensa_server::agentless::AgentlessConfig,
    pub capacity: kensa_server::Capacity,
    pub agent_dist: Option<PathBuf>,
    pub observe: kensa_server::observe::ObserveConfig,
}

pub fn run(args: Args) -> ExitCode {
    let mut names = args.names;
    if names.is_empty() {
        names = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
        if let Ok(h) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
            names.push(h.trim().to_owned());
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&stop)) {
            tracing::error!("cannot handle signal {signal}: {e}");
            return ExitCode::from(2);
        }
    }
    let agent_dist = args
        .agent_dist
        .clone()
        .unwrap_or_else(|| args.data.join("agent-dist"));
    let running = match kensa_server::start(kensa_server::Config {
        data_dir: args.data,
        listen: args.listen,
        database: args.database,
        kb_dir: args.kb,
        tls_names: names,
        workers: args.workers,
        exports: args.exports,
        agentless: args.agentless,
        capacity: args.capacity,
        agent_dist: args.agent_dist,
        notify: Default::default(),
        observe: args.observe,
        clock: kensa_server::schedule::Clock::from_env(),
    }) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "kensa server: https://{} ({})",
        running.addr, running.backend
    );
    println!("  agents pin the CA in {}", running.ca_cert.display());
    if let Some(a) = running.metrics_addr {
        println!("  /metrics, /healthz and /readyz also on http://{a}");
    }
    let sums = agent_dist.join(kensa_server::agent_dist::SUMS);
    if sums.exists() {
        println!(
            "  hosts install the agent with /install.sh (artefacts from {})",
            agent_dist.display()
        );
    } else {
        println!(
            "  no agent artefacts in {} (no {}): /install.sh cannot install until scripts/release output is there",
            agent_dist.display(),
            kensa_server::agent_dist::SUMS
        );
    }
    if let Some(t) = &running.admin_token {
        println!("  admin token (shown once; also in the data directory's admin-token): {t}");
    }
    if let Some(p) = &running.admin_password {
        println!(
            "  console user {} (shown once; also in the data directory's admin-password): {p}",
            kensa_server::session::FIRST_ADMIN
        );
    }
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("kensa server: stopping");
    running.stop();
    ExitCode::SUCCESS
}
