//! The one error type of detection.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum DetectError {
    /// The knowledge base could not answer (a damaged generation).
    #[error("knowledge base: {message}")]
    Knowledge { message: String },
    #[error(transparent)]
    Kb(#[from] kensa_kb::KbError),
    /// A report could not be written.
    #[error("writing the {format} report: {message}")]
    Report {
        format: &'static str,
        message: String,
    },
}

pub type Result<T, E = DetectError> = std::result::Result<T, E>;
