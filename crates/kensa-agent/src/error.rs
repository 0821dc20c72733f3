//! One error type for the agent, always with its context: the file, the
//! URL, the HTTP status and what the server said. Nothing here ever holds
//! a token.

use std::path::{Path, PathBuf};

/// Everything that can go wrong in the agent.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// Reading, writing or renaming a file of the state directory (or the
    /// CA file) failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file was read but its content is not what it should be.
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    /// The configuration cannot work (a plain `http://` server, an image
    /// target, ...).
    #[error("configuration: {0}")]
    Config(String),
    /// The TLS setup could not be built (an empty or unusable CA file).
    #[error("TLS: {path}: {message}")]
    Tls { path: PathBuf, message: String },
    /// The server could not be reached or the exchange broke off
    /// (connection refused, timeout, TLS handshake failure, ...).
    #[error("{method} {url}: {message}")]
    Transport {
        method: &'static str,
        url: String,
        message: String,
    },
    /// The server answered with a status the protocol does not expect
    /// here; `message` is what the server said (trimmed).
    #[error("{method} {url}: HTTP {status}: {message}")]
    Http {
        method: &'static str,
        url: String,
        status: u16,
        message: String,
    },
    /// The agent has not been enrolled: `<state>/agent.json` is missing.
    #[error("{0}: not enrolled (run `kensa agent enroll` first)")]
    NotEnrolled(PathBuf),
    /// Collecting the inventory failed as a whole (the target cannot be
    /// read at all).
    #[error("collecting the inventory: {0}")]
    Collect(#[from] kensa_inventory::InventoryError),
    /// Setting the process priority or resource limits failed.
    #[error("process limits: {0}")]
    Process(String),
}

impl AgentError {
    pub(crate) fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        AgentError::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    pub(crate) fn invalid(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        AgentError::Invalid {
            path: path.as_ref().to_path_buf(),
            message: message.into(),
        }
    }

    /// Whether trying again later may succeed without anyone changing
    /// anything: the server was unreachable, overloaded or failing (`5xx`,
    /// `408`, `429`). A `401`/`403` (revoked token) or a bad configuration
    /// is not.
    pub fn is_retryable(&self) -> bool {
        match self {
            AgentError::Transport { .. } => true,
            AgentError::Http { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            _ => false,
        }
    }
}

pub type Result<T, E = AgentError> = std::result::Result<T, E>;
