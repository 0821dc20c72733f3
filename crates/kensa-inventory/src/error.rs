use std::path::PathBuf;

/// Everything that can go wrong while collecting, always naming the file.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file was read but its content is not what its format says.
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    /// A path inside the root tried to leave it (`..` above the root, a
    /// symlink loop, too many links).
    #[error("{path}: {message}")]
    Unsafe { path: String, message: String },
    /// A file is larger than the collector is willing to read.
    #[error("{path}: {size} bytes is over the {limit}-byte limit for this file")]
    TooLarge { path: String, size: u64, limit: u64 },
}

impl InventoryError {
    pub fn parse(path: impl Into<String>, message: impl Into<String>) -> Self {
        InventoryError::Parse {
            path: path.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = InventoryError> = std::result::Result<T, E>;
