//! The agent's state directory:
//!
//! - `agent.json`: the credentials from enrolment (mode 0600: it holds the
//!   agent token). Refused when group or others can read it, like `ssh`
//!   refuses a readable private key, because the token may already have
//!   leaked.
//! - `last.json`: the content hash last delivered (or confirmed by the
//!   server), so that an unchanged inventory is neither spooled nor sent.
//! - `spool/`: see [`crate::spool`].
//!
//! Every file is written atomically (temporary file, `fsync`, rename).

use std::fmt;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{AgentError, Result};
use crate::fsutil;

pub const CREDENTIALS: &str = "agent.json";
pub const LAST: &str = "last.json";
pub const SPOOL: &str = "spool";
/// The copy of the server's CA taken at enrolment, so that `kensa agent
/// run` (the systemd unit's `ExecStart`) needs no `--ca`.
pub const CA: &str = "ca.pem";

/// The largest state file read (they are a few hundred bytes).
const MAX_STATE_FILE: u64 = 64 << 10;

/// A bearer token: printed redacted by `Debug` and `Display`, so that it
/// cannot reach a log line by accident.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The token itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What enrolment returns and `agent.json` holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub agent_id: String,
    pub asset_id: String,
    pub token: Secret,
    /// The server this agent enrolled with (its base URL), so that a
    /// changed `--server` is noticed rather than sending the token to
    /// another server.
    #[serde(default)]
    pub server: String,
    /// Which CAs the agent trusted when it enrolled: `run` trusts the same
    /// (the pinned CA's copy in the state directory, or the system's).
    #[serde(default)]
    pub trust: Trust,
    /// The root filesystem enrolled (`enroll --root`); absent for the host
    /// itself. `run` inventories it unless told otherwise, so that the
    /// identity enrolled and the inventory reported are of one machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<PathBuf>,
}

/// The CA choice remembered from enrolment. Credentials written before it
/// existed were always enrolled with a pinned CA.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trust {
    /// `<state>/ca.pem`, the copy of the CA enrolled with.
    #[default]
    Pinned,
    /// The operating system's trust store.
    System,
}

/// The last content hash the server confirmed holding (`202` for a `PUT`,
/// or `204` for a `HEAD`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Last {
    pub hash: String,
    /// RFC 3339, UTC.
    pub at: String,
}

/// The files of one state directory.
#[derive(Clone, Debug)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// The state directory `dir`, created mode 0700 if missing.
    pub fn open(dir: impl Into<PathBuf>) -> Result<StateDir> {
        let dir = dir.into();
        fsutil::private_dir(&dir)?;
        // A crash may have left a temporary file of `agent.json` or
        // `last.json` behind: never a valid file, remove it.
        fsutil::remove_stale_temps(&dir)?;
        Ok(StateDir { dir })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn credentials_path(&self) -> PathBuf {
        self.dir.join(CREDENTIALS)
    }

    pub fn last_path(&self) -> PathBuf {
        self.dir.join(LAST)
    }

    pub fn spool_path(&self) -> PathBuf {
        self.dir.join(SPOOL)
    }

    pub fn ca_path(&self) -> PathBuf {
        self.dir.join(CA)
    }

    /// Keep a copy of the CA file `from` as `<state>/ca.pem` (atomically,
    /// mode 0644: a CA is public), unless `from` is that very file. Only
    /// certificates are copied: the file is checked to hold at least one.
    pub fn save_ca(&self, from: &Path) -> Result<()> {
        let to = self.ca_path();
        let same = match (fs::canonicalize(from), fs::canonicalize(&to)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same {
            return Ok(());
        }
        crate::tls::read_pem_certs(from)?;
        let bytes = fs::read(from).map_err(|e| AgentError::io(from, e))?;
        fsutil::write_atomic(&to, &bytes, 0o644)
    }

    /// Store the credentials, mode 0600, atomically.
    pub fn save_credentials(&self, c: &Credentials) -> Result<()> {
        let path = self.credentials_path();
        let json =
            serde_json::to_vec_pretty(c).map_err(|e| AgentError::invalid(&path, e.to_string()))?;
        fsutil::write_atomic(&path, &json, 0o600)
    }

    /// The stored credentials. Missing: [`AgentError::NotEnrolled`].
    /// Readable by group or others: refused (the token may have leaked;
    /// re-enrol, or `chmod 600` it if that is known not to be the case).
    pub fn credentials(&self) -> Result<Credentials> {
        let path = self.credentials_path();
        let meta = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(AgentError::NotEnrolled(path));
            }
            Err(e) => return Err(AgentError::io(&path, e)),
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(AgentError::invalid(
                &path,
                format!("mode {mode:04o} lets others read the agent token; it must be 0600"),
            ));
        }
        let bytes = read_small(&path)?;
        serde_json::from_slice(&bytes).map_err(|e| AgentError::invalid(&path, e.to_string()))
    }

    /// The last confirmed hash; `None` when there is none yet. A corrupt
    /// `last.json` is treated as none (the worst case is one inventory sent
    /// again, which the server's `HEAD` answers cheaply).
    pub fn last(&self) -> Result<Option<Last>> {
        let path = self.last_path();
        match fs::metadata(&path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(AgentError::io(&path, e)),
        }
        let bytes = read_small(&path)?;
        match serde_json::from_slice::<Last>(&bytes) {
            Ok(last) => Ok(Some(last)),
            Err(e) => {
                crate::log::info(format_args!(
                    "{}: unreadable ({e}); treating the last delivery as unknown",
                    path.display()
                ));
                Ok(None)
            }
        }
    }

    /// Record `hash` as the last one the server confirmed.
    pub fn set_last(&self, hash: &str) -> Result<()> {
        let last = Last {
            hash: hash.to_owned(),
            at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        };
        let path = self.last_path();
        let json = serde_json::to_vec_pretty(&last)
            .map_err(|e| AgentError::invalid(&path, e.to_string()))?;
        fsutil::write_atomic(&path, &json, 0o600)
    }
}

fn read_small(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    fs::File::open(path)
        .and_then(|f| f.take(MAX_STATE_FILE + 1).read_to_end(&mut bytes))
        .map_err(|e| AgentError::io(path, e))?;
    if bytes.len() as u64 > MAX_STATE_FILE {
        return Err(AgentError::invalid(
            path,
            format!("larger than {MAX_STATE_FILE} bytes"),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn secrets_never_print() {
        let c = Credentials {
            agent_id: "agt_1".into(),
            asset_id: "ast_1".into(),
            token: Secret::new("kat_supersecret"),
            server: "https://k".into(),
            trust: Trust::Pinned,
            root: None,
        };
        let shown = format!("{c:?} {}", c.token);
        assert!(!shown.contains("supersecret"), "{shown}");
        assert!(shown.contains("agt_1"));
    }

    #[test]
    fn corrupt_last_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let st = StateDir::open(dir.path()).unwrap();
        assert_eq!(st.last().unwrap(), None);
        fs::write(st.last_path(), b"{not json").unwrap();
        assert_eq!(st.last().unwrap(), None);
        st.set_last("sha256:ab").unwrap();
        assert_eq!(st.last().unwrap().unwrap().hash, "sha256:ab");
    }

    #[test]
    fn credentials_of_an_older_agent_still_read() {
        // agent.json as agents before `trust` and `root` wrote it.
        let dir = tempfile::tempdir().unwrap();
        let st = StateDir::open(dir.path()).unwrap();
        fsutil::write_atomic(
            &st.credentials_path(),
            br#"{"agent_id":"agt_1","asset_id":"2","token":"kat_x","server":"https://k"}"#,
            0o600,
        )
        .unwrap();
        let c = st.credentials().unwrap();
        assert_eq!((c.trust, c.root), (Trust::Pinned, None));
    }

    #[test]
    fn missing_credentials_mean_not_enrolled() {
        let dir = tempfile::tempdir().unwrap();
        let st = StateDir::open(dir.path()).unwrap();
        assert!(matches!(st.credentials(), Err(AgentError::NotEnrolled(_))));
    }
}
