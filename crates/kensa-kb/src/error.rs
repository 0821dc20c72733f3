/// Errors that stop a whole feed (the file cannot be opened at all). A bad
/// record never does: it becomes a [`crate::model::RecordError`].
#[derive(Debug, thiserror::Error)]
pub enum KbError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Format { path: String, message: String },
}

pub type Result<T, E = KbError> = std::result::Result<T, E>;
