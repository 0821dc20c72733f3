//! The crate's one error type: every variant says where the input is wrong.

/// A document or rules file that cannot be read. Nothing of a document that
/// fails is kept (imports are all or nothing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Not JSON at all.
    #[error("{source_name}: not JSON (line {line}, column {column}): {message}")]
    Json {
        source_name: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// JSON, but a field is missing, of the wrong type or has an impossible
    /// value; `path` is the JSON path (`SecurityGroups[3].IpPermissions[0].FromPort`).
    #[error("{source_name}: {path}: {message}")]
    Field {
        source_name: String,
        path: String,
        message: String,
    },
    /// A line of a rules file.
    #[error("{source_name}, line {line}: {message}")]
    Rules {
        source_name: String,
        line: usize,
        message: String,
    },
}
