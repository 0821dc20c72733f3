//! The HTTP side of the protocol (`docs/agent-protocol.md`), on `ureq`:
//! enrolment, `HEAD` and `PUT` of an inventory by its content hash.
//!
//! Every request has timeouts (connect, read, write, and the whole
//! exchange); redirects are not followed (the protocol has none, and a
//! redirect could lead the token elsewhere); plain `http://` is refused.
//! The token travels only in the `Authorization` header and is never
//! logged or put in an error.
//!
//! The status codes are interpreted by the pure functions
//! [`head_verdict`] and [`put_verdict`], which the unit tests exercise;
//! the exchange with a real server is covered by the server's integration
//! tests (there is no server in this crate, and no mock of one).

use std::io::Read;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{AgentError, Result};
use crate::fsutil::encode_segment;
use crate::state::{Credentials, Secret};
use crate::tls::{CaSource, client_config};

/// Timeouts of one request.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// The whole exchange, body included (a 64 MiB inventory gzips to a few
/// MiB: minutes even on a slow link).
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(300);
/// How much of an error body is kept for the message.
const MAX_ERROR_BODY: u64 = 4096;

/// The enrolment request body.
#[derive(Clone, Debug, Serialize)]
pub struct EnrollRequest<'a> {
    pub enrollment_token: &'a str,
    pub hostname: &'a str,
    pub machine_id: &'a str,
    pub agent_version: &'a str,
    /// The token of this state directory's previous enrolment with the
    /// same server, proving that a re-enrolment comes from the agent that
    /// reports for the asset (the server refuses to hand an asset with a
    /// live agent to anyone else).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_token: Option<&'a str>,
}

/// The enrolment response body.
#[derive(Clone, Debug, Deserialize)]
pub struct EnrollResponse {
    pub agent_id: String,
    pub asset_id: String,
    pub token: Secret,
}

/// The `GET /api/v1/agent/self` answer: who this credential is.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct AgentSelf {
    pub agent_id: String,
    pub asset_id: String,
}

/// What a `HEAD /api/v1/agent/inventory/{hash}` answer means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadVerdict {
    /// `204`: the server holds this inventory as the asset's latest and
    /// recorded that the agent reported. Nothing to send.
    Known,
    /// `404`: send it.
    Needed,
    /// Anything else: an error (see [`AgentError::is_retryable`]).
    Unexpected,
}

/// Interpret a `HEAD` status.
pub fn head_verdict(status: u16) -> HeadVerdict {
    match status {
        204 => HeadVerdict::Known,
        404 => HeadVerdict::Needed,
        _ => HeadVerdict::Unexpected,
    }
}

/// What a `PUT /api/v1/agent/inventory/{hash}` answer means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutVerdict {
    /// `202`: stored and its evaluation queued; the spooled copy may be
    /// deleted. (Only `202`: the protocol names no other success.)
    Accepted,
    /// `400` (not an inventory, or its content hash is not the URL's) or
    /// `413` (too large): this body will never be accepted; set it aside
    /// so that it does not block the rest of the spool.
    Rejected,
    /// Anything else (`401`/`403`, `5xx`, ...): keep it and stop.
    Failed,
}

/// Interpret a `PUT` status.
pub fn put_verdict(status: u16) -> PutVerdict {
    match status {
        202 => PutVerdict::Accepted,
        400 | 413 | 415 => PutVerdict::Rejected,
        _ => PutVerdict::Failed,
    }
}

/// Normalise and check a server base URL: `https://host[:port][/prefix]`,
/// no trailing slash, no query, no fragment, no credentials.
pub fn base_url(server: &str) -> Result<String> {
    let s = server.trim().trim_end_matches('/');
    let rest = s.strip_prefix("https://").ok_or_else(|| {
        AgentError::Config(format!(
            "server {s:?}: must be an https:// URL (the agent never falls back to plain HTTP)"
        ))
    })?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(AgentError::Config(format!("server {s:?}: no host")));
    }
    if authority.contains('@') || s.contains('?') || s.contains('#') {
        return Err(AgentError::Config(format!(
            "server {s:?}: user info, query and fragment are not allowed"
        )));
    }
    Ok(s.to_owned())
}

/// A connection to one server.
pub struct Client {
    agent: ureq::Agent,
    base: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `server` trusting `ca`.
    pub fn new(server: &str, ca: &CaSource) -> Result<Client> {
        let base = base_url(server)?;
        let agent = ureq::AgentBuilder::new()
            .tls_config(client_config(ca)?)
            .https_only(true)
            .redirects(0)
            .timeout_connect(CONNECT_TIMEOUT)
            .timeout_read(IO_TIMEOUT)
            .timeout_write(IO_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            .user_agent(&format!("kensa-agent/{}", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Client { agent, base })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The URL of an inventory by its content hash (the hash URL-encoded:
    /// `sha256%3A<hex>`).
    pub fn inventory_url(&self, hash: &str) -> String {
        format!(
            "{}/api/v1/agent/inventory/{}",
            self.base,
            encode_segment(hash)
        )
    }

    pub fn enroll_url(&self) -> String {
        format!("{}/api/v1/agents/enroll", self.base)
    }

    /// `POST /api/v1/agents/enroll` → `201` and the credentials.
    pub fn enroll(&self, req: &EnrollRequest<'_>) -> Result<Credentials> {
        let url = self.enroll_url();
        let body = serde_json::to_vec(req).map_err(|e| AgentError::Config(e.to_string()))?;
        let resp = self
            .agent
            .post(&url)
            .set("Content-Type", "application/json")
            .set("Accept", "application/json")
            .send_bytes(&body);
        let resp = match resp {
            Ok(r) if r.status() == 201 => r,
            Ok(r) => return Err(http_error("POST", &url, r)),
            Err(e) => return Err(ureq_error("POST", &url, e)),
        };
        let mut text = Vec::new();
        resp.into_reader()
            .take(1 << 20)
            .read_to_end(&mut text)
            .map_err(|e| transport("POST", &url, e.to_string()))?;
        let r: EnrollResponse = serde_json::from_slice(&text).map_err(|e| AgentError::Http {
            method: "POST",
            url: url.clone(),
            status: 201,
            message: format!("the response is not the enrolment answer: {e}"),
        })?;
        Ok(Credentials {
            agent_id: r.agent_id,
            asset_id: r.asset_id,
            token: r.token,
            server: self.base.clone(),
            trust: crate::state::Trust::Pinned,
            root: None,
        })
    }

    /// `GET /api/v1/agent/self`: which agent and asset the server takes
    /// `token` for. A revoked credential is an [`AgentError::Http`] with
    /// status `401`; nothing is reported or recorded.
    pub fn whoami(&self, token: &Secret) -> Result<AgentSelf> {
        let url = format!("{}/api/v1/agent/self", self.base);
        let resp = self
            .agent
            .get(&url)
            .set("Authorization", &format!("Bearer {}", token.expose()))
            .set("Accept", "application/json")
            .call();
        let resp = match resp {
            Ok(r) if r.status() == 200 => r,
            Ok(r) => return Err(http_error("GET", &url, r)),
            Err(e) => return Err(ureq_error("GET", &url, e)),
        };
        let mut text = Vec::new();
        resp.into_reader()
            .take(1 << 16)
            .read_to_end(&mut text)
            .map_err(|e| transport("GET", &url, e.to_string()))?;
        serde_json::from_slice(&text).map_err(|e| AgentError::Http {
            method: "GET",
            url: url.clone(),
            status: 200,
            message: format!("the response is not the agent's identity: {e}"),
        })
    }

    /// `HEAD` an inventory: `Ok(true)` when the server already holds it as
    /// the asset's latest (`204`), `Ok(false)` when it wants it (`404`).
    pub fn head(&self, token: &Secret, hash: &str) -> Result<bool> {
        let url = self.inventory_url(hash);
        let resp = self
            .agent
            .head(&url)
            .set("Authorization", &format!("Bearer {}", token.expose()))
            .call();
        let resp = match resp {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => return Err(ureq_error("HEAD", &url, e)),
        };
        match head_verdict(resp.status()) {
            HeadVerdict::Known => Ok(true),
            HeadVerdict::Needed => Ok(false),
            HeadVerdict::Unexpected => Err(http_error("HEAD", &url, resp)),
        }
    }

    /// `PUT` a gzipped inventory; the verdict, or the error of a failed
    /// exchange. A status other than `2xx` is returned as the error too
    /// (with the server's message), alongside the verdict.
    pub fn put(&self, token: &Secret, hash: &str, gz: &[u8]) -> (PutVerdict, Result<()>) {
        let url = self.inventory_url(hash);
        let resp = self
            .agent
            .put(&url)
            .set("Authorization", &format!("Bearer {}", token.expose()))
            .set("Content-Type", "application/json")
            .set("Content-Encoding", "gzip")
            .send_bytes(gz);
        match resp {
            Ok(r) => match put_verdict(r.status()) {
                PutVerdict::Accepted => (PutVerdict::Accepted, Ok(())),
                v => (v, Err(http_error("PUT", &url, r))),
            },
            Err(ureq::Error::Status(code, r)) => {
                (put_verdict(code), Err(http_error("PUT", &url, r)))
            }
            Err(e) => (PutVerdict::Failed, Err(ureq_error("PUT", &url, e))),
        }
    }
}

fn transport(method: &'static str, url: &str, message: String) -> AgentError {
    AgentError::Transport {
        method,
        url: url.to_owned(),
        message,
    }
}

fn ureq_error(method: &'static str, url: &str, e: ureq::Error) -> AgentError {
    match e {
        ureq::Error::Status(_, r) => http_error(method, url, r),
        ureq::Error::Transport(t) => {
            let mut message = t.kind().to_string();
            if let Some(m) = t.message() {
                message.push_str(": ");
                message.push_str(m);
            }
            if let Some(src) = std::error::Error::source(&t) {
                message.push_str(": ");
                message.push_str(&src.to_string());
            }
            transport(method, url, message)
        }
    }
}

/// An error from a response: its status and what the server said (the
/// `error` or `message` field of a JSON body, else the text, trimmed).
fn http_error(method: &'static str, url: &str, r: ureq::Response) -> AgentError {
    let status = r.status();
    let status_text = r.status_text().to_owned();
    let mut body = Vec::new();
    let _ = r.into_reader().take(MAX_ERROR_BODY).read_to_end(&mut body);
    AgentError::Http {
        method,
        url: url.to_owned(),
        status,
        message: server_message(&body).unwrap_or(status_text),
    }
}

/// The message of an error body: a JSON object's `error` or `message`
/// string, else the body as text, on one line, at most 300 characters.
pub fn server_message(body: &[u8]) -> Option<String> {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body) {
        for key in ["error", "message", "detail"] {
            if let Some(serde_json::Value::String(s)) = map.get(key) {
                return Some(one_line(s));
            }
        }
    }
    let text = String::from_utf8_lossy(body);
    let line = one_line(&text);
    (!line.is_empty()).then_some(line)
}

fn one_line(s: &str) -> String {
    let joined = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match joined.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &joined[..i]),
        None => joined,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hash_first_verdicts() {
        assert_eq!(head_verdict(204), HeadVerdict::Known);
        assert_eq!(head_verdict(404), HeadVerdict::Needed);
        for s in [200, 401, 403, 500, 503, 301] {
            assert_eq!(head_verdict(s), HeadVerdict::Unexpected, "{s}");
        }
        assert_eq!(put_verdict(202), PutVerdict::Accepted);
        assert_eq!(put_verdict(400), PutVerdict::Rejected);
        assert_eq!(put_verdict(413), PutVerdict::Rejected);
        for s in [200, 201, 401, 403, 500, 502, 429, 307] {
            assert_eq!(put_verdict(s), PutVerdict::Failed, "{s}");
        }
    }

    #[test]
    fn server_urls() {
        assert_eq!(
            base_url("https://k.example:8443/").unwrap(),
            "https://k.example:8443"
        );
        assert_eq!(base_url(" https://k/prefix ").unwrap(), "https://k/prefix");
        for bad in [
            "http://k",
            "k.example",
            "https://",
            "https://u:p@k",
            "https://k/?x=1",
        ] {
            assert!(matches!(base_url(bad), Err(AgentError::Config(_))), "{bad}");
        }
    }

    #[test]
    fn messages_from_bodies() {
        assert_eq!(
            server_message(br#"{"error":"token revoked"}"#).as_deref(),
            Some("token revoked")
        );
        assert_eq!(
            server_message(b"  bad\n  request ").as_deref(),
            Some("bad request")
        );
        assert_eq!(server_message(b""), None);
        let long = "x".repeat(1000);
        assert_eq!(
            server_message(long.as_bytes()).unwrap().chars().count(),
            301
        );
    }
}
