//! The server hosts its agent: `GET /install.sh` (the install script,
//! `contrib/install.sh`, with this server's address in it) and
//! `GET /agent/{file}` (the release artefacts of `scripts/release` in the
//! `--agent-dist` directory, and the systemd unit and SysV init script for
//! a plain-binary install).
//!
//! These are public, like `/ca.pem`: they are the same files as the
//! release, hold no secret, and a host runs the script before it has any
//! credential. Only files named in the directory's `SHA256SUMS` are
//! served, by exact name, so nothing else in or outside the directory can
//! be reached through the path.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::kit::AppState;

const INSTALL_SH: &str = include_str!("../../../contrib/install.sh");
const UNIT: &str = include_str!("../../../contrib/systemd/kensa-agent.service");
const INIT: &str = include_str!("../../../contrib/sysv/kensa-agent");
/// The checksum list `scripts/release` writes beside the artefacts.
pub const SUMS: &str = "SHA256SUMS";

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/install.sh", get(install_sh))
        .route("/agent/{file}", get(artefact))
}

fn not_found(message: String) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({ "error": message })),
    )
        .into_response()
}

/// The address a request reached this server by (its `Host`), when it is
/// a plain host name or address with an optional port: it goes into a
/// shell script and into commands shown to admins, so nothing else is
/// taken.
pub(crate) fn request_host(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let ok = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    ok.then(|| host.to_owned())
}

/// The install script for hosts that reach this server as `host`.
pub fn install_script(host: &str) -> String {
    INSTALL_SH.replacen("@KENSA_SERVER@", &format!("https://{host}"), 1)
}

async fn install_sh(headers: HeaderMap) -> Response {
    let Some(host) = request_host(&headers) else {
        return (
            StatusCode::BAD_REQUEST,
            "Host header missing or not a plain host[:port]\n",
        )
            .into_response();
    };
    tracing::info!("install.sh served (for https://{host})");
    (
        [
            (header::CONTENT_TYPE, "text/x-shellscript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        install_script(&host),
    )
        .into_response()
}

/// The file names `SHA256SUMS` in `dir` lists.
fn listed(dir: &Path) -> std::io::Result<Vec<String>> {
    let sums = std::fs::read_to_string(dir.join(SUMS))?;
    Ok(sums
        .lines()
        // `HASH  name`, or `HASH *name` (binary mode).
        .filter_map(|l| {
            l.split_once(' ')
                .map(|(_, n)| n.trim_start_matches(' ').trim_start_matches('*'))
        })
        .filter(|n| !n.is_empty() && !n.contains('/') && !n.starts_with('.'))
        .map(str::to_owned)
        .collect())
}

async fn artefact(State(state): State<Arc<AppState>>, UrlPath(file): UrlPath<String>) -> Response {
    let text = |body: &'static str| {
        ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
    };
    // Logged, so that an admin sees which hosts fetch what (and a test
    // sees that nothing was fetched).
    tracing::info!("agent artefact {file:?} requested");
    match file.as_str() {
        "kensa-agent.service" => return text(UNIT),
        "kensa-agent.init" => return text(INIT),
        _ => {}
    }
    let dir = state.agent_dist.clone();
    let missing = || {
        not_found(format!(
            "no agent artefacts here: build them with scripts/release and start the server with \
             --agent-dist DIR (this server looks in {})",
            dir.display()
        ))
    };
    let names = match listed(&dir) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!("agent artefacts: {}: {e}", dir.join(SUMS).display());
            return missing();
        }
    };
    let path = if file == SUMS {
        dir.join(SUMS)
    } else if names.contains(&file) {
        dir.join(&file)
    } else {
        return not_found(format!("no agent artefact {file:?} (see /agent/{SUMS})"));
    };
    stream_file(path).await
}

/// A file streamed in chunks from a blocking thread: artefacts are tens
/// of megabytes and a fleet booting from one launch template asks for them
/// all at once, so no whole file is held in memory per request.
async fn stream_file(path: PathBuf) -> Response {
    let file = match std::fs::File::open(&path).and_then(|f| Ok((f.metadata()?.len(), f))) {
        Ok(f) => f,
        Err(e) => {
            tracing::error!("{}: {e}", path.display());
            return not_found(format!(
                "agent artefact {}: listed in {SUMS} but unreadable",
                path.file_name().and_then(|n| n.to_str()).unwrap_or("")
            ));
        }
    };
    let (len, mut f) = file;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; 256 << 10];
        loop {
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx
                        .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
                        .is_err()
                    {
                        break; // the client went away
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    let mut r = Body::from_stream(Chunks(rx)).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, header::HeaderValue::from(len));
    r
}

struct Chunks(tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>);

impl futures_core::Stream for Chunks {
    type Item = std::io::Result<Bytes>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// SHA-256 of the CA certificate file as served at `/ca.pem` (what
/// `sha256sum ca.pem` prints, and what `install.sh --ca-sha256` checks).
pub fn ca_sha256(ca: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    Ok(hex::encode(sha2::Sha256::digest(std::fs::read(ca)?)))
}

/// The install one-liners (run as root) for hosts reaching this server as
/// `host`: with the CA file at hand, and pinning the CA by its
/// fingerprint. The second
/// checks the fingerprint before it fetches the script, so that the script
/// itself arrives over the pinned CA.
pub fn one_liners(host: &str, ca_sha256: &str, token: &str) -> (String, String) {
    let base = format!("https://{host}");
    let with_ca = format!(
        "curl -fsS --cacert ca.pem {base}/install.sh | sh -s -- --ca ca.pem --token {token}"
    );
    let pinned = format!(
        "curl -fsSk -o kensa-ca.pem {base}/ca.pem && echo '{ca_sha256}  kensa-ca.pem' | sha256sum -c - && \
         curl -fsS --cacert kensa-ca.pem {base}/install.sh | sh -s -- --ca-sha256 {ca_sha256} --token {token}"
    );
    (with_ca, pinned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_hosts_go_into_the_script() {
        let mut h = HeaderMap::new();
        assert_eq!(request_host(&h), None);
        for (host, ok) in [
            ("kensa.example:8443", true),
            ("[::1]:8443", true),
            ("10.0.0.1", true),
            ("a'b", false),
            ("a b", false),
            ("a$(reboot)", false),
            ("a/b", false),
        ] {
            h.insert(header::HOST, host.parse().expect("header value"));
            assert_eq!(request_host(&h).is_some(), ok, "{host}");
        }
        let s = install_script("kensa.example:8443");
        assert!(s.contains("SERVER='https://kensa.example:8443'"));
        assert!(!s.contains("@KENSA_SERVER@"));
    }

    #[test]
    fn only_listed_names_are_served() {
        let d = tempfile::tempdir().expect("dir");
        std::fs::write(
            d.path().join(SUMS),
            format!(
                "{}  kensa-0.1.0-x86_64-linux-gnu\n{}  ../etc/passwd\n{}  .hidden\n{} *kensa-agent_0.1.0_amd64.deb\n",
                "a".repeat(64),
                "b".repeat(64),
                "c".repeat(64),
                "d".repeat(64)
            ),
        )
        .expect("write");
        assert_eq!(
            listed(d.path()).expect("listed"),
            [
                "kensa-0.1.0-x86_64-linux-gnu",
                "kensa-agent_0.1.0_amd64.deb"
            ]
        );
    }
}
