//! `kensa agent enroll` and `kensa agent run`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use kensa_agent::{CaSource, Config, StateDir, Target};

/// What both subcommands are told.
pub struct Common {
    pub server: Option<String>,
    pub ca: Option<String>,
    pub state: Option<PathBuf>,
}

fn config(c: &Common, root: Option<PathBuf>) -> Result<Config, String> {
    let state = c
        .state
        .clone()
        .unwrap_or_else(|| PathBuf::from(kensa_agent::DEFAULT_STATE_DIR));
    // `run` may omit --server: the one it enrolled with is in agent.json.
    let server = match &c.server {
        Some(s) => s.clone(),
        None => StateDir::open(&state)
            .and_then(|d| d.credentials())
            .map(|cr| cr.server)
            .map_err(|e| format!("{e} (or pass --server)"))?,
    };
    let ca = match c.ca.as_deref() {
        Some("system") => CaSource::System,
        Some(path) => CaSource::Pinned(PathBuf::from(path)),
        None => CaSource::Pinned(state.join("ca.pem")),
    };
    let mut cfg = Config::new(server, ca, state);
    if let Some(root) = root {
        cfg.target = Target::Root(root);
    }
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

pub fn enroll(c: &Common, token: &str) -> ExitCode {
    let result = config(c, None).and_then(|cfg| {
        kensa_agent::enroll(&cfg, token)
            .map(|cr| (cr, cfg))
            .map_err(|e| e.to_string())
    });
    match result {
        Ok((cr, cfg)) => {
            println!(
                "enrolled: agent {} for asset {}; credentials in {}",
                cr.agent_id,
                cr.asset_id,
                cfg.state_dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(2)
        }
    }
}

pub fn run(c: &Common, root: Option<PathBuf>, once: bool, interval: Option<Duration>) -> ExitCode {
    let mut cfg = match config(c, root) {
        Ok(cfg) => cfg,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Some(i) = interval {
        cfg.interval = i;
    }
    if once {
        return match kensa_agent::run_once(&cfg) {
            Ok(outcome) => {
                println!("{outcome:?}");
                ExitCode::from(u8::try_from(outcome.exit_code()).unwrap_or(1))
            }
            Err(e) => {
                tracing::error!("{e}");
                ExitCode::from(2)
            }
        };
    }
    let stop = Arc::new(AtomicBool::new(false));
    // SIGINT and SIGTERM stop the loop between steps.
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&stop)) {
            tracing::error!("cannot handle signal {signal}: {e}");
            return ExitCode::from(2);
        }
    }
    let result = kensa_agent::run(&cfg, &stop);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(2)
        }
    }
}
