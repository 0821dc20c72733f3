//! The one error type of the server.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ServerError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(String),
    #[error(transparent)]
    KnowledgeBase(#[from] kensa_store::StoreError),
    #[error(transparent)]
    Kb(#[from] kensa_kb::KbError),
    #[error(transparent)]
    Detect(#[from] kensa_detect::DetectError),
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = ServerError> = std::result::Result<T, E>;
