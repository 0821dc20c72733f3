use std::fmt;

/// Why a host could not be scanned, as a person can act on it. The server
/// stores [`Reason::code`] as the asset's coverage reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The key was refused (`Permission denied`).
    AuthenticationFailed,
    /// The host presented a key other than the pinned one.
    HostKeyChanged,
    /// First contact: nobody has confirmed this host's key yet.
    HostKeyUnknown,
    /// No connection (refused, no route, name not resolved, connect timeout).
    Unreachable,
    /// The scan, or one command on the target, ran over its time limit.
    TimedOut,
    /// The host answered but is not something the collector can read: no
    /// POSIX `sh`, a login shell that refuses commands, or output that is
    /// not the collector's.
    UnsupportedOs,
    /// The target sent more than the output cap.
    OutputTooLarge,
    /// The target's answer is not what the collector's script writes:
    /// truncated (a connection lost mid-scan) or garbage.
    BadOutput,
    /// Running the local `ssh` client failed.
    Local,
}

impl Reason {
    /// A stable, machine-readable code (coverage, API, exports).
    pub fn code(self) -> &'static str {
        match self {
            Reason::AuthenticationFailed => "AUTHENTICATION_FAILED",
            Reason::HostKeyChanged => "HOST_KEY_CHANGED",
            Reason::HostKeyUnknown => "HOST_KEY_UNCONFIRMED",
            Reason::Unreachable => "UNREACHABLE",
            Reason::TimedOut => "TIMED_OUT",
            Reason::UnsupportedOs => "UNSUPPORTED_OS",
            Reason::OutputTooLarge => "OUTPUT_TOO_LARGE",
            Reason::BadOutput => "BAD_OUTPUT",
            Reason::Local => "LOCAL_ERROR",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::AuthenticationFailed => "authentication failed",
            Reason::HostKeyChanged => "host key changed",
            Reason::HostKeyUnknown => "host key not confirmed",
            Reason::Unreachable => "unreachable",
            Reason::TimedOut => "timed out",
            Reason::UnsupportedOs => "unsupported OS",
            Reason::OutputTooLarge => "output too large",
            Reason::BadOutput => "unreadable output",
            Reason::Local => "local error",
        })
    }
}

/// A failed scan of one host: the reason, the host, and the detail (the
/// ssh client's own message, the command that timed out, the fingerprint
/// presented).
#[derive(Debug, thiserror::Error)]
#[error("{target}: {reason}: {detail}")]
pub struct AgentlessError {
    pub target: String,
    pub reason: Reason,
    pub detail: String,
    /// The fingerprint (`SHA256:…`) the host presented, when the reason is
    /// about its key: what an admin compares before confirming it.
    pub fingerprint: Option<String>,
}

impl AgentlessError {
    pub fn new(target: impl fmt::Display, reason: Reason, detail: impl Into<String>) -> Self {
        AgentlessError {
            target: target.to_string(),
            reason,
            detail: detail.into(),
            fingerprint: None,
        }
    }
}

pub type Result<T, E = AgentlessError> = std::result::Result<T, E>;
