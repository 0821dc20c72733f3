//! `kensa agent enroll`, `kensa agent run` and `kensa agent status`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use kensa_agent::{CaSource, Config, StateDir, Target, Trust};

/// What both subcommands are told.
pub struct Common {
    pub server: Option<String>,
    pub ca: Option<String>,
    pub state: Option<PathBuf>,
}

/// The configuration from the flags, and for `run` from what enrolment
/// stored: `kensa agent run` with no flag at all (as the systemd unit and
/// the SysV script run it) reports to the server enrolled with, trusting
/// the CA enrolled with (`<state>/ca.pem`, or the system's), about the
/// root enrolled (the host when none).
fn config(c: &Common, root: Option<PathBuf>, enrolling: bool) -> Result<Config, String> {
    let state = c
        .state
        .clone()
        .unwrap_or_else(|| PathBuf::from(kensa_agent::DEFAULT_STATE_DIR));
    let enrolled = if enrolling {
        None
    } else {
        match StateDir::open(&state).and_then(|d| d.credentials()) {
            Ok(cr) => Some(cr),
            // Not enrolled: `run` fails later with the clear "enrol first".
            Err(kensa_agent::AgentError::NotEnrolled(_)) => None,
            Err(e) => return Err(e.to_string()),
        }
    };
    let server = match (&c.server, &enrolled) {
        (Some(s), _) => s.clone(),
        (None, Some(cr)) if !cr.server.is_empty() => cr.server.clone(),
        (None, _) if enrolling => return Err("--server is required to enrol".into()),
        (None, _) => {
            return Err(format!(
                "not enrolled: no {} (run `kensa agent enroll --server … --ca … --token …` first, or pass --server)",
                state.join(kensa_agent::state::CREDENTIALS).display()
            ));
        }
    };
    let ca = match (c.ca.as_deref(), &enrolled) {
        (Some("system"), _) => CaSource::System,
        (Some(path), _) => CaSource::Pinned(PathBuf::from(path)),
        (None, Some(cr)) if cr.trust == Trust::System => CaSource::System,
        (None, _) => CaSource::Pinned(state.join(kensa_agent::state::CA)),
    };
    let root = root.or_else(|| enrolled.and_then(|cr| cr.root));
    let mut cfg = Config::new(server, ca, state);
    if let Some(root) = root {
        cfg.target = Target::Root(root);
    }
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

pub fn enroll(c: &Common, root: Option<PathBuf>, token: &str) -> ExitCode {
    let result = config(c, root, true).and_then(|cfg| {
        kensa_agent::enroll(&cfg, token)
            .map(|cr| (cr, cfg))
            .map_err(|e| e.to_string())
    });
    match result {
        Ok((cr, cfg)) => {
            // The state directory is the one thing `run` cannot find by
            // itself: name it in the command when it is not the default.
            let run = if cfg.state_dir == std::path::Path::new(kensa_agent::DEFAULT_STATE_DIR) {
                "kensa agent run".to_string()
            } else {
                format!("kensa agent run --state {}", cfg.state_dir.display())
            };
            println!(
                "enrolled: agent {} for asset {}; credentials in {} (`{run}` needs no other flag now)",
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
    let mut cfg = match config(c, root, false) {
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
                println!("{outcome}");
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

/// `kensa agent status`: the server's verdict on this agent's credential,
/// as a line and an exit status `install.sh` acts on (0 live, 4 refused,
/// 5 not enrolled, 3 the server could not be asked, 2 configuration).
pub fn status(c: &Common) -> ExitCode {
    let cfg = match config(c, None, false) {
        Ok(cfg) => cfg,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(if c.server.is_none() && !enrolled(c) {
                5
            } else {
                2
            });
        }
    };
    match kensa_agent::status(&cfg) {
        Ok(s) => {
            println!("{s}");
            ExitCode::from(u8::try_from(s.exit_code()).unwrap_or(1))
        }
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(match e {
                kensa_agent::AgentError::NotEnrolled(_) => 5,
                e if e.is_retryable() => 3,
                kensa_agent::AgentError::Http { .. } => 3,
                _ => 2,
            })
        }
    }
}

/// Whether the state directory holds credentials at all.
fn enrolled(c: &Common) -> bool {
    let state = c
        .state
        .clone()
        .unwrap_or_else(|| PathBuf::from(kensa_agent::DEFAULT_STATE_DIR));
    state.join(kensa_agent::state::CREDENTIALS).exists()
}
