//! The one download layer of the feed updaters ([`crate::update`],
//! [`crate::nvd_api`], [`crate::redhat_csaf`]): an HTTP client with the
//! run's timeouts, retries, conditional requests and atomic files.
//!
//! - **Retries.** Connection errors, broken transfers, `429` and `5xx` (and
//!   the statuses a request adds, such as NVD's `403`) are retried with
//!   exponential backoff and jitter, up to [`HttpOptions::attempts`]
//!   attempts, honouring a `Retry-After` given in seconds up to
//!   [`HttpOptions::max_retry_after`] (a longer one fails the file). A host
//!   that cannot be reached at all is not tried again by the same
//!   [`Client`]: offline, every file would wait out every attempt's
//!   connect timeout.
//! - **Conditional requests.** With [`Validators`], `If-None-Match` and
//!   `If-Modified-Since` are sent and `304` keeps the file as it is.
//! - **Atomic files.** A body goes to a temporary file beside its
//!   destination (named with [`crate::cache::PART`], so that the next run
//!   removes a killed run's leftovers) and is renamed over it only when
//!   complete: a `Content-Length` mismatch, a body over
//!   [`Get::max_bytes`] or a body [`Get::check`] refuses never replaces
//!   what was there.
//! - **Progress** goes to a callback the caller owns (the binary draws it
//!   on a terminal); this crate never prints.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cache::PART;

/// Timeouts and retries, shared by every feed's download.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Attempts per file (at least 1).
    pub attempts: u32,
    /// The delay before the first retry; doubled each time, with jitter.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// The longest `Retry-After` honoured; a longer one fails the file.
    pub max_retry_after: Duration,
    pub connect_timeout: Duration,
    /// The longest wait for any read (a stalled transfer).
    pub read_timeout: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            attempts: 4,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
        }
    }
}

/// What a download is doing, for a progress display.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// File `index` of `total` (0 of 0: a file outside the list, such as a
    /// mirror's index) is being fetched into `path`.
    File {
        index: usize,
        total: usize,
        path: &'a str,
    },
    /// `received` bytes of the current file so far, of `expected` when the
    /// server said.
    Bytes {
        received: u64,
        expected: Option<u64>,
    },
    /// The run is over: clear the display.
    Done,
}

/// A progress callback; [`quiet`] for none.
pub type OnProgress<'a> = &'a dyn Fn(Progress<'_>);

/// No progress display.
pub fn quiet(_: Progress<'_>) {}

/// The validators of a cached copy, for a conditional request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    /// The source URL, userinfo and query removed.
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub length: u64,
}

/// What came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// `304`: the destination is current.
    NotModified,
    /// A new body is at the destination.
    Downloaded {
        bytes: u64,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

/// What a body check says about a complete transfer.
#[derive(Debug)]
pub enum Refused {
    /// A broken body worth asking for again.
    Retry(String),
    /// A body that asking again will not mend.
    Fatal(String),
}

/// One GET into a file.
pub struct Get<'a> {
    pub url: &'a str,
    /// Extra request headers (an API key: never put in a message).
    pub headers: Vec<(&'a str, &'a str)>,
    /// A cached copy's validators: the request is conditional.
    pub validators: Option<&'a Validators>,
    /// The largest body accepted (announced or received).
    pub max_bytes: Option<u64>,
    /// Statuses retried besides `429` and `5xx`.
    pub retry_status: &'a [u16],
    /// Called before every attempt (a rate limit's pacing).
    pub before: Option<&'a mut dyn FnMut()>,
    /// Called on the complete temporary file before it is renamed into
    /// place.
    pub check: Option<&'a mut BodyCheck<'a>>,
}

/// A check of a downloaded body (its temporary file and length) before it
/// replaces the cached copy.
pub type BodyCheck<'a> = dyn FnMut(&Path, u64) -> Result<(), Refused> + 'a;

impl<'a> Get<'a> {
    pub fn new(url: &'a str) -> Get<'a> {
        Get {
            url,
            headers: Vec::new(),
            validators: None,
            max_bytes: None,
            retry_status: &[],
            before: None,
            check: None,
        }
    }
}

/// A fetch that failed: why, and how many retries it made first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub reason: String,
    pub retries: u32,
}

/// An HTTP client for one run.
pub struct Client<'p> {
    agent: ureq::Agent,
    opts: HttpOptions,
    progress: OnProgress<'p>,
    /// Hosts found unreachable in this run, and why.
    dead: RefCell<BTreeMap<String, String>>,
}

enum Attempt {
    Retry {
        why: String,
        after: Option<Duration>,
        /// The host could not be reached at all.
        unreachable: bool,
    },
    Fatal(String),
}

fn retry(why: String) -> Attempt {
    Attempt::Retry {
        why,
        after: None,
        unreachable: false,
    }
}

impl<'p> Client<'p> {
    pub fn new(opts: &HttpOptions, progress: OnProgress<'p>) -> Client<'p> {
        Client {
            agent: ureq::AgentBuilder::new()
                .timeout_connect(opts.connect_timeout)
                .timeout_read(opts.read_timeout)
                .timeout_write(opts.read_timeout)
                .user_agent(concat!("kensa/", env!("CARGO_PKG_VERSION")))
                .redirects(5)
                .build(),
            opts: opts.clone(),
            progress,
            dead: RefCell::default(),
        }
    }

    pub fn progress(&self, p: Progress<'_>) {
        (self.progress)(p);
    }

    /// Fetch `get` into `dest` with retries; the retries made come with
    /// the answer.
    pub fn get(&self, mut get: Get<'_>, dest: &Path) -> Result<(Fetched, u32), Failed> {
        let host = host_of(get.url);
        if self.dead.borrow().contains_key(&host) {
            return Err(Failed {
                reason: format!("not tried: {host} was unreachable earlier in this run"),
                retries: 0,
            });
        }
        let attempts = self.opts.attempts.max(1);
        let mut retries = 0;
        let fail = |reason: String, retries: u32| Err(Failed { reason, retries });
        for n in 1..=attempts {
            if let Some(before) = get.before.as_mut() {
                before();
            }
            match self.attempt(&mut get, dest) {
                Ok(f) => return Ok((f, retries)),
                Err(Attempt::Fatal(why)) => return fail(why, retries),
                Err(Attempt::Retry {
                    why,
                    after,
                    unreachable,
                }) => {
                    if n == attempts {
                        if unreachable {
                            self.dead.borrow_mut().insert(host, why.clone());
                        }
                        return fail(format!("{why} (gave up after {n} attempts)"), retries);
                    }
                    let delay = match after {
                        Some(d) if d > self.opts.max_retry_after => {
                            return fail(
                                format!(
                                    "{why}; Retry-After {} s is longer than the {} s allowed",
                                    d.as_secs(),
                                    self.opts.max_retry_after.as_secs()
                                ),
                                retries,
                            );
                        }
                        Some(d) => d,
                        None => crate::cache::backoff(self.opts.backoff, self.opts.max_backoff, n),
                    };
                    retries += 1;
                    std::thread::sleep(delay);
                }
            }
        }
        fail("no attempt made".into(), retries)
    }

    /// A small file's bytes, through a temporary file in `dir`.
    pub fn bytes(&self, get: Get<'_>, dir: &Path) -> Result<Vec<u8>, Failed> {
        let tmp = dir.join(format!(".fetch{PART}{}", std::process::id()));
        let got = self.get(get, &tmp).and_then(|_| {
            std::fs::read(&tmp).map_err(|e| Failed {
                reason: e.to_string(),
                retries: 0,
            })
        });
        let _ = std::fs::remove_file(&tmp);
        got
    }

    fn attempt(&self, get: &mut Get<'_>, dest: &Path) -> Result<Fetched, Attempt> {
        let mut req = self.agent.get(get.url);
        for (name, value) in &get.headers {
            req = req.set(name, value);
        }
        if let Some(v) = get.validators {
            if let Some(etag) = &v.etag {
                req = req.set("If-None-Match", etag);
            }
            if let Some(lm) = &v.last_modified {
                req = req.set("If-Modified-Since", lm);
            }
        }
        let resp = match req.call() {
            Ok(r) => r,
            Err(ureq::Error::Status(code, r))
                if code == 429 || code >= 500 || get.retry_status.contains(&code) =>
            {
                return Err(Attempt::Retry {
                    why: format!("HTTP {code}"),
                    after: r
                        .header("Retry-After")
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs),
                    unreachable: false,
                });
            }
            Err(ureq::Error::Status(code, _)) => {
                return Err(Attempt::Fatal(format!("HTTP {code}")));
            }
            Err(ureq::Error::Transport(t)) => {
                let why = transport_message(&t);
                return Err(match t.kind() {
                    ureq::ErrorKind::Dns
                    | ureq::ErrorKind::ConnectionFailed
                    | ureq::ErrorKind::Io
                    | ureq::ErrorKind::ProxyConnect
                    | ureq::ErrorKind::BadStatus
                    | ureq::ErrorKind::BadHeader => Attempt::Retry {
                        unreachable: matches!(
                            t.kind(),
                            ureq::ErrorKind::Dns
                                | ureq::ErrorKind::ConnectionFailed
                                | ureq::ErrorKind::ProxyConnect
                        ),
                        why,
                        after: None,
                    },
                    _ => Attempt::Fatal(why),
                });
            }
        };
        match resp.status() {
            304 if get.validators.is_some() => return Ok(Fetched::NotModified),
            200 => {}
            code => return Err(Attempt::Fatal(format!("unexpected HTTP {code}"))),
        }
        let expected = resp
            .header("Content-Length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        let max = get.max_bytes.unwrap_or(u64::MAX);
        if expected.is_some_and(|l| l > max) {
            return Err(Attempt::Fatal(format!("larger than {max} bytes")));
        }
        let etag = resp.header("ETag").map(str::to_owned);
        let last_modified = resp.header("Last-Modified").map(str::to_owned);
        let parent = dest.parent().unwrap_or(Path::new("."));
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = parent.join(format!(".{name}{PART}{}", std::process::id()));
        let fatal = |e: std::io::Error| Attempt::Fatal(format!("cannot write the cache: {e}"));
        std::fs::create_dir_all(parent).map_err(fatal)?;
        let result = (|| {
            let mut file = File::create(&tmp).map_err(fatal)?;
            let mut reader = resp.into_reader().take(max.saturating_add(1));
            let mut buf = vec![0u8; 64 * 1024];
            let mut bytes = 0u64;
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        return Err(retry(format!("transfer broken after {bytes} bytes: {e}")));
                    }
                };
                file.write_all(&buf[..n]).map_err(fatal)?;
                bytes += n as u64;
                self.progress(Progress::Bytes {
                    received: bytes,
                    expected,
                });
            }
            if bytes > max {
                return Err(Attempt::Fatal(format!("larger than {max} bytes")));
            }
            if let Some(len) = expected
                && len != bytes
            {
                return Err(retry(format!(
                    "Content-Length {len} but {bytes} bytes received"
                )));
            }
            file.sync_all().map_err(fatal)?;
            drop(file);
            if let Some(check) = get.check.as_mut() {
                check(&tmp, bytes).map_err(|r| match r {
                    Refused::Retry(why) => retry(why),
                    Refused::Fatal(why) => Attempt::Fatal(why),
                })?;
            }
            Ok(bytes)
        })();
        match result.and_then(|b| std::fs::rename(&tmp, dest).map(|()| b).map_err(fatal)) {
            Ok(bytes) => Ok(Fetched::Downloaded {
                bytes,
                etag,
                last_modified,
            }),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }
}

fn transport_message(t: &ureq::Transport) -> String {
    let mut parts = vec![t.kind().to_string()];
    parts.extend(t.message().map(str::to_owned));
    parts.extend(std::error::Error::source(t).map(|s| s.to_string()));
    parts.dedup();
    parts.join(": ")
}

/// A URL fit for messages and state files: no userinfo, query or fragment.
/// Something that is not a URL is shown as such rather than as it is, as
/// it might hold a secret.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(e) => format!("<not a URL: {e}>"),
    }
}

/// The host and port of a URL, without userinfo: what "unreachable" is
/// remembered for.
fn host_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => redact(url),
        },
        Err(_) => redact(url),
    }
}

/// Remove the temporary files a killed run left in `dir`, and in its
/// folders down to `depth` levels (the caller holds the cache: no other
/// run is writing).
pub(crate) fn remove_parts(dir: &Path, depth: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if e.file_name().to_string_lossy().contains(PART) {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                let _ = std::fs::remove_dir_all(&path);
            } else {
                let _ = std::fs::remove_file(&path);
            }
        } else if depth > 0 && e.file_type().is_ok_and(|t| t.is_dir()) {
            remove_parts(&path, depth - 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_userinfo_query_and_fragment() {
        assert_eq!(
            redact("https://user:pw@host.example/a/b?token=x#f"),
            "https://host.example/a/b"
        );
        assert_eq!(redact("http://host/a@b"), "http://host/a@b");
        assert!(!redact("not a url with secret").contains("secret"));
    }

    #[test]
    fn hosts() {
        assert_eq!(host_of("https://u:p@h.example:8443/x?q"), "h.example:8443");
        assert_eq!(host_of("http://127.0.0.1/x"), "127.0.0.1");
    }
}
